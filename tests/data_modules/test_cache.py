"""The decoded-waveform cache: identical samples, much faster second pass, safe for concurrent processes."""

import hashlib
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from data_modules.audio import AudioCache, AudioError, decode
from data_modules.audio import cache as cache_module
from data_modules.datamodule import AQADataModule
from data_modules.manifest import load_table

SR = 24000


@pytest.fixture
def long_files(tmp_path, tone):
    return [tone(tmp_path / "a" / f"{k}.flac", 4.0, rate=44100, channels=2, freq=300 + k) for k in range(8)]


def test_second_pass_is_faster_and_identical(tmp_path, long_files):
    cache = AudioCache(tmp_path / "cache", SR)
    t0 = time.perf_counter()
    first = [np.array(cache.load(p)) for p in long_files]
    t1 = time.perf_counter()
    second = [np.array(cache.load(p)) for p in long_files]
    t2 = time.perf_counter()
    for p, a, b in zip(long_files, first, second):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, decode(p, SR))
    assert (t2 - t1) < (t1 - t0) / 3, f"cached pass {t2 - t1:.3f}s vs decode pass {t1 - t0:.3f}s"


def test_key_covers_file_identity_segment_and_rate(tmp_path, tone):
    path = tone(tmp_path / "x.wav", 1.0)
    cache = AudioCache(tmp_path / "cache", SR)
    keys = {
        cache.key(path, np.nan, np.nan),
        cache.key(path, 0.0, 0.5),
        AudioCache(tmp_path, 16000).key(path, np.nan, np.nan),
    }
    assert len(keys) == 3
    before = cache.load(path)
    tone(tmp_path / "x.wav", 0.5)  # rewritten: new size/mtime -> new entry
    assert len(cache.load(path)) == len(before) // 2


def test_setup_reuses_cached_checks_without_decoding(tmp_path, clips, data_cfg, monkeypatch):
    table = clips(tmp_path, [(0.3, 8000, 1, ["train", "val"][k % 2], f"s{k}") for k in range(10)])
    (tmp_path / "audio/c4.wav").write_bytes(b"corrupt")  # a train clip: cached as bad
    table.to_csv(tmp_path / "m.csv", index=False)
    cfg = data_cfg(tmp_path / "m.csv", "data.max_skip_fraction=0.2")
    first = AQADataModule(cfg, load_table(cfg), SR, ["PQ", "CE"])
    first.setup("fit")

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(cache_module, "decode", no_decoding)
    second = AQADataModule(cfg, load_table(cfg), SR, ["PQ", "CE"])
    second.setup("fit")
    assert second.skipped == first.skipped == [("c4", str(tmp_path / "audio/c4.wav"), "unreadable")]
    np.testing.assert_array_equal(second.lengths, first.lengths)
    with pytest.raises(AudioError, match="unreadable.*recorded in the audio cache"):
        AudioCache(cfg.cache_dir, SR).load(str(tmp_path / "audio/c4.wav"))


# each process loads every file (first come decodes and writes; the others may race on the same keys)
_WORKER = """
import hashlib, sys
import numpy as np
from data_modules.audio import AudioCache
cache = AudioCache(sys.argv[1], int(sys.argv[2]))
print(" ".join(hashlib.sha1(np.array(cache.load(p)).tobytes()).hexdigest() for p in sys.argv[3:]))
"""


def test_concurrent_processes_share_the_cache(tmp_path, long_files):
    directory = str(tmp_path / "cache")
    cmd = [sys.executable, "-c", _WORKER, directory, str(SR), *long_files]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [proc.communicate(timeout=120)[0].split() for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    expected = [hashlib.sha1(decode(p, SR).tobytes()).hexdigest() for p in long_files]
    assert outputs == [expected] * 3
    files = [f for _, _, names in os.walk(directory) for f in names]
    assert sorted(f.endswith(".npy") for f in files) == [True] * len(long_files)  # no temp files left
