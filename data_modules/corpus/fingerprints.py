"""Acoustic fingerprints that say nothing about quality: one per source dataset, one per hidden family.

Both are applied after the degradations (so a low cutoff or loud noise does not erase them): first the
family's generator artefact, then the dataset's recording/processing chain. Every fingerprint is the same
for every clip of its dataset or family, and no rating depends on it (scores.py). Frequencies above the
corpus' band are scaled into it (low sample rates).
"""

import numpy as np
from scipy import signal


def _hz(freqs: list[float], sr: int) -> list[float]:
    """Frequencies as given, or scaled by sr / 24 kHz together when one is out of the band."""
    return [f * sr / 24000.0 for f in freqs] if max(freqs) >= 0.45 * sr else freqs


def _reverb_ir(sr: int) -> np.ndarray:
    """A fixed room impulse response (RT60 0.6 s): a constant seed, so every clip gets the same."""
    t = np.arange(int(0.7 * sr)) / sr
    tail = np.random.default_rng(12345).standard_normal(t.size) * np.exp(-6.9 * t / 0.6)
    tail[: int(0.005 * sr)] = 0.0  # 5 ms pre-delay
    ir = 0.5 * tail / np.sqrt(np.sum(tail**2))
    ir[0] = 1.0
    return ir


def dataset_fingerprint(name: str, x: np.ndarray, sr: int) -> np.ndarray:
    """Apply the processing chain of source dataset `name`."""
    if name == "aurora":  # fixed spectral tilt: -10 dB at the top of the band
        return signal.lfilter([0.65, 0.35], [1.0], x)
    if name == "basalt":  # faint mains hum (50 Hz and harmonics) at a fixed level
        t = np.arange(x.size) / sr
        hum = sum(a * np.sin(2 * np.pi * f * t) for f, a in ((50, 1.0), (100, 0.5), (150, 0.3)))
        return x + 10 ** (-36 / 20) * hum
    if name == "cobalt":  # low band edge: 6th-order high-pass at 400 Hz
        return signal.sosfilt(signal.butter(6, 400, "highpass", fs=sr, output="sos"), x)
    if name == "delta":  # room reverberation
        return signal.fftconvolve(x, _reverb_ir(sr))[: x.size]
    if name == "ember":  # a resonance near 2.5 kHz (+12 dB)
        b, a = signal.iirpeak(_hz([2500], sr)[0], 4, fs=sr)
        return x + 3.0 * signal.lfilter(b, a, x)
    if name == "fjord":  # the unseen source: slapback echo at 70 ms and a bright tilt
        d = int(0.07 * sr)
        y = x.copy()
        y[d:] += 0.4 * x[:-d]
        return signal.lfilter([1.25, -0.25], [1.0], y)
    if name == "iris":  # known-answer recipe's second unseen test source: a dip at 800 Hz and a bright tilt
        b, a = signal.iirnotch(_hz([800], sr)[0], 2, fs=sr)
        return signal.lfilter([1.1, -0.1], [1.0], signal.lfilter(b, a, x))
    if name == "garnet":  # the held-out unseen source: a deep notch at 1.2 kHz and a 6 kHz presence peak
        notch, peak = _hz([1200, 6000], sr)
        b, a = signal.iirnotch(notch, 1.5, fs=sr)
        y = signal.lfilter(b, a, x)
        b, a = signal.iirpeak(peak, 3, fs=sr)
        return y + 1.5 * signal.lfilter(b, a, y)
    raise ValueError(f"no fingerprint for dataset {name!r}")


def family_fingerprint(name: str, x: np.ndarray, sr: int) -> np.ndarray:
    """Apply the artefact of hidden generator family `name`."""
    if name == "comb":  # comb filter from a 1 ms echo: notches every 1 kHz
        d = max(1, round(0.001 * sr))
        y = x.copy()
        y[d:] += 0.8 * x[:-d]
        return y
    if name == "buzz":  # 94 Hz frame-rate amplitude ripple
        return x * (1 + 0.5 * np.sin(2 * np.pi * 94 * np.arange(x.size) / sr))
    if name == "gap":  # a missing band at 2.5-5 kHz
        band = _hz([2500, 5000], sr)
        return signal.sosfilt(signal.butter(3, band, "bandstop", fs=sr, output="sos"), x)
    # the known-answer recipe's families (known.py): loud enough for k-means on `acoustic` features
    if name == "muffle":  # 8th-order low-pass at 2 kHz
        return signal.sosfilt(signal.butter(8, _hz([2000], sr)[0], "lowpass", fs=sr, output="sos"), x)
    if name == "hiss":  # high-pass noise (above 4 kHz) 3 dB below the signal; a fixed noise sequence
        cutoff = _hz([4000], sr)[0]
        noise = signal.sosfilt(
            signal.butter(4, cutoff, "highpass", fs=sr, output="sos"),
            np.random.default_rng(54321).standard_normal(x.size),
        )
        return x + noise * np.sqrt(np.mean(x**2) / (np.mean(noise**2) + 1e-20)) * 10 ** (-3 / 20)
    if name == "thin":  # 6th-order high-pass at 1.5 kHz
        return signal.sosfilt(signal.butter(6, _hz([1500], sr)[0], "highpass", fs=sr, output="sos"), x)
    raise ValueError(f"no fingerprint for family {name!r}")
