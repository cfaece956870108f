"""Decode one clip: soundfile (wav/flac/ogg/opus/mp3) -> mono float32 at the target rate (soxr)."""

import math
import os

import numpy as np
import soundfile as sf
import soxr

from data_modules.audio.errors import MIN_SAMPLES, AudioError


def decode(path: str, sample_rate: int, start: float = math.nan, end: float = math.nan) -> np.ndarray:
    """(T,) float32 mono at `sample_rate`; `start`/`end` in seconds (NaN = file start / end)."""
    if not os.path.isfile(path):  # libsndfile reports a missing file as an opening error
        raise AudioError("missing_file", path)
    try:
        with sf.SoundFile(path) as f:
            rate = f.samplerate
            first = 0 if math.isnan(start) else min(int(round(start * rate)), f.frames)
            last = f.frames if math.isnan(end) else min(int(round(end * rate)), f.frames)
            if first > 0:
                f.seek(first)
            data = f.read(max(last - first, 0), dtype="float32", always_2d=True)  # (T, C)
    except FileNotFoundError:
        raise AudioError("missing_file", path) from None
    except (sf.LibsndfileError, RuntimeError, ValueError) as err:
        raise AudioError("unreadable", path, str(err)) from None
    return to_mono(data, rate, sample_rate)


def to_mono(data: np.ndarray, rate: int, sample_rate: int) -> np.ndarray:
    """(T,) or (T, C) samples at `rate` -> (T',) float32 mono at `sample_rate` (channel mean, soxr HQ)."""
    data = np.asarray(data, dtype=np.float32)
    mono = data if data.ndim == 1 else data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if rate != sample_rate and len(mono):
        mono = soxr.resample(mono, rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def check_waveform(wav: np.ndarray, path: str, silence: float = 1e-6) -> None:
    """Raise AudioError for an empty, too short, non-finite or all-silent waveform."""
    if wav.size == 0:
        raise AudioError("empty", path, "zero samples (or an empty start/end segment)")
    if wav.size < MIN_SAMPLES:
        raise AudioError("too_short", path, f"{wav.size} samples: the encoder needs at least {MIN_SAMPLES}")
    if not np.isfinite(wav).all():
        raise AudioError("non_finite", path, f"{int((~np.isfinite(wav)).sum())} NaN/inf samples")
    if float(np.abs(wav).max()) < silence:
        raise AudioError("silent", path, f"peak amplitude below {silence:g}")
