"""Decode one clip: soundfile (wav/flac/ogg/opus/mp3) -> mono float32 at the target rate (soxr)."""

import math

import numpy as np
import soundfile as sf
import soxr


class AudioError(ValueError):
    """A file that cannot be used: missing, unreadable, empty, silent or with NaN/inf samples."""

    def __init__(self, reason: str, path: str, detail: str = ""):
        self.reason, self.path = reason, path
        super().__init__(f"{reason}: {path}" + (f" ({detail})" if detail else ""))


def decode(path: str, sample_rate: int, start: float = math.nan, end: float = math.nan) -> np.ndarray:
    """(T,) float32 mono at `sample_rate`; `start`/`end` in seconds (NaN = file start / end)."""
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
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if rate != sample_rate and len(mono):
        mono = soxr.resample(mono, rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


# HuBERT/MERT's conv front end needs 400 samples for its first frame; shorter clips crash the conv stack
MIN_SAMPLES = 400


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
