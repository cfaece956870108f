"""Quality degradations whose amounts set the true PQ (scores.degradation_penalties)."""

import numpy as np
from scipy import signal

LEVEL = 10 ** (-23 / 20)  # RMS the clean content is set to before degrading (-23 dBFS)


def normalise(x: np.ndarray, rms: float = LEVEL) -> np.ndarray:
    return x * (rms / (np.sqrt(np.mean(x**2)) + 1e-12))


def degrade(
    x: np.ndarray, sr: int, rng, snr_db: float, drive_db: float, cutoff_hz: float, bits: int
) -> np.ndarray:
    """Band-limit, add noise at an SNR, clip, quantise; in that order, on a signal at LEVEL."""
    x = normalise(x)
    if cutoff_hz < 0.45 * sr:  # a cutoff above the corpus' own band changes nothing
        x = signal.sosfilt(signal.butter(8, cutoff_hz, "lowpass", fs=sr, output="sos"), x)
    noise = rng.standard_normal(x.size)
    x = x + noise * np.sqrt(np.mean(x**2) / 10 ** (snr_db / 10) / np.mean(noise**2))
    if drive_db > 0:  # the clipping level sits drive_db below the peak
        level = np.abs(x).max() * 10 ** (-drive_db / 20)
        x = np.clip(x, -level, level)
    x = normalise(x)
    step = 2.0 ** (1 - bits)  # `bits`-bit quantiser on [-1, 1]
    return np.round(x / step) * step
