"""Fixtures of the data-stage tests: placeholder audio (sine tones) and small generic manifests."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from aqa.config.load import load_config

SR = 16000  # the "encoder rate" of these tests


def write_tone(path, seconds: float, rate: int = SR, channels: int = 1, freq: float = 440.0) -> str:
    """A sine tone (different phase per channel) as wav/flac/ogg (by suffix); returns the path."""
    t = np.arange(int(round(seconds * rate))) / rate
    wav = np.stack([0.3 * np.sin(2 * np.pi * freq * t + c) for c in range(channels)], 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wav, rate)
    return str(path)


def make_clips(folder, specs) -> pd.DataFrame:
    """specs: [(seconds, rate, channels, split, system)] -> a generic manifest table (relative paths)."""
    rows = []
    for k, (seconds, rate, channels, split, system) in enumerate(specs):
        write_tone(folder / "audio" / f"c{k}.wav", seconds, rate, channels, freq=200 + 37 * k)
        rows.append(
            {
                "id": f"c{k}",
                "path": f"audio/c{k}.wav",
                "PQ": 1 + k % 9,
                "CE": 9 - k % 7,
                "split": split,
                "system": system,
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture
def tone():
    """`write_tone(path, seconds, rate, channels, freq)` as a fixture."""
    return write_tone


@pytest.fixture
def clips():
    """`make_clips(folder, specs)` as a fixture."""
    return make_clips


@pytest.fixture
def data_cfg(tmp_path):
    """cfg.data for a manifest in tmp_path; call with the manifest path and extra overrides."""

    def make(manifest, *overrides):
        return load_config(
            None,
            [
                f"data.manifest={manifest}",
                "data.aspects=[PQ,CE]",
                f"data.cache_dir={tmp_path}/cache",
                "data.num_workers=0",
                *overrides,
            ],
        ).data

    return make


@pytest.fixture
def mixed_manifest(tmp_path):
    """A generic CSV of 24 tones: 0.3-3.1 s, 8/16/22.05/44.1 kHz, mono and stereo, 3 splits."""
    rng = np.random.default_rng(0)
    specs = []
    for k in range(24):
        split = ["train", "train", "val", "test"][k % 4]
        rate = [8000, 16000, 22050, 44100][k % 4]
        specs.append((round(float(rng.uniform(0.3, 3.1)), 3), rate, 1 + k % 2, split, f"s{k % 6}"))
    table = make_clips(tmp_path, specs)
    path = tmp_path / "manifest.csv"
    table.to_csv(path, index=False)
    return path
