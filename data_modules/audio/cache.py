"""Decoded-waveform cache on disk, shared by epochs, runs, sweep trials and DDP ranks.

Key = file identity (absolute path, size, mtime) + segment + rate. A good clip is stored as `<key>.npy`
(float32 mono); a clip that failed its check as `<key>.bad` holding the reason, so later runs skip it
without decoding. Writes go to a temporary file renamed into place (atomic), so concurrent processes
never see partial files; two writers of one key write the same bytes.
"""

import hashlib
import math
import os
from pathlib import Path

import numpy as np

from data_modules.atomic import atomic_path
from data_modules.audio.decode import check_waveform, decode
from data_modules.audio.errors import AudioError

VERSION = 1  # bump when decoding changes, so old entries are not reused
_LENGTHS: dict[tuple[str, str], int] = {}  # (cache dir, key) -> samples of a good clip, this process


class AudioCache:
    """`load()` a checked clip (decoding and storing it once); `length()` without reading samples."""

    def __init__(self, directory: str | Path | None, sample_rate: int):
        self.dir = None if directory is None else Path(directory).expanduser()
        self.sample_rate = int(sample_rate)

    def key(self, path: str, start: float, end: float) -> str:
        try:
            st = os.stat(path)
        except OSError:
            raise AudioError("missing_file", path) from None
        seg = "-".join("x" if math.isnan(v) else f"{v:.6f}" for v in (start, end))
        ident = f"v{VERSION}|{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}|{seg}|{self.sample_rate}"
        return hashlib.sha1(ident.encode()).hexdigest()

    def _file(self, key: str, suffix: str) -> Path:
        return self.dir / key[:2] / f"{key}{suffix}"

    def load(
        self, path: str, start: float = math.nan, end: float = math.nan, mmap: bool = False
    ) -> np.ndarray:
        """(T,) float32; raises AudioError (reason recorded in the cache) for unusable clips."""
        if self.dir is None:
            wav = decode(path, self.sample_rate, start, end)
            check_waveform(wav, path)
            return wav
        key = self.key(path, start, end)
        good, bad = self._file(key, ".npy"), self._file(key, ".bad")
        if good.exists():
            return np.load(good, mmap_mode="r" if mmap else None)
        if bad.exists():
            raise AudioError(bad.read_text().strip() or "unreadable", path, "recorded in the audio cache")
        try:
            wav = decode(path, self.sample_rate, start, end)
            check_waveform(wav, path)
        except AudioError as err:
            reason = err.reason.encode()
            if err.reason != "missing_file":  # a missing file may appear later: not recorded
                self._write(bad, lambda f: f.write(reason))
            raise
        self._write(good, lambda f: np.save(f, wav))
        return wav

    def length(self, path: str, start: float = math.nan, end: float = math.nan) -> int:
        """Samples at the cache's rate, checking (and caching) the clip on first use. A good clip's length is
        remembered in this process under its cache key (file identity, segment, rate: the entry's bytes never
        change), so a later check of an unchanged file only stats it (in-process sweeps check every trial)."""
        if self.dir is None:
            return int(self.load(path, start, end, mmap=True).shape[0])
        memo = (str(self.dir), self.key(path, start, end))
        if memo not in _LENGTHS:
            _LENGTHS[memo] = int(self.load(path, start, end, mmap=True).shape[0])
        return _LENGTHS[memo]

    def _write(self, target: Path, write) -> None:
        with atomic_path(target) as tmp, open(tmp, "wb") as f:
            write(f)
