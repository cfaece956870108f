"""`acoustic`: classic signal descriptors of each window (numpy; no model): level, noise floor, spectral shape.

Frames of N_FFT samples (Hann, hop N_FFT/2) -> power spectra; descriptors of the frames and of the long-term
(frame-mean) spectrum. Fast (about a millisecond per second of audio) and independent of any encoder.
"""

import numpy as np

from aqa.features.base import Extractor

N_FFT = 1024  # 43 ms at 24 kHz
MEL_BANDS = 64  # log-mel shape of the long-term spectrum (8 and 32 bands found fewer sources: docs/corpus.md)
EPS = 1e-12
DESCRIPTORS = (
    "loudness_db",  # mean power, dB
    "noise_floor_db",  # 10th percentile of frame power, dB
    "dynamic_range_db",  # 95th minus 10th percentile of frame power
    "tilt_db_per_octave",  # slope of the long-term spectrum (dB) over log2 frequency, 50 Hz..Nyquist
    "centroid_khz",
    "bandwidth_khz",  # spread of the long-term spectrum around its centroid
    "rolloff85_khz",  # frequency below which 85% of the power lies
    "rolloff99_khz",  # ...99% (low for band-limited or low-bitrate audio)
    "flatness",  # mean over frames of log(geometric / arithmetic mean power): 0 = white noise
    "high_band_ratio_db",  # power above 4 kHz relative to the total
    "zero_crossing_rate",
    "flux",  # mean change of the log spectrum between frames
) + tuple(f"mel{i}_db" for i in range(MEL_BANDS))  # band power relative to the mean band power


def _frames(x: np.ndarray) -> np.ndarray:
    """(T,) -> (F, N_FFT) Hann-windowed frames, hop N_FFT // 2 (short input is zero-padded to one frame)."""
    if len(x) < N_FFT:
        x = np.pad(x, (0, N_FFT - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[:: N_FFT // 2]
    return frames * np.hanning(N_FFT)


def mel_bank(sample_rate: int) -> np.ndarray:
    """(N_FFT // 2 + 1, MEL_BANDS) triangular mel filters (transformers' implementation)."""
    from transformers.audio_utils import mel_filter_bank

    return mel_filter_bank(
        num_frequency_bins=N_FFT // 2 + 1,
        num_mel_filters=MEL_BANDS,
        min_frequency=0.0,
        max_frequency=sample_rate / 2,
        sampling_rate=sample_rate,
    )


def descriptors(x: np.ndarray, sample_rate: int, mel: np.ndarray) -> np.ndarray:
    """(T,) waveform -> (len(DESCRIPTORS),) float64."""
    x = np.asarray(x, dtype=np.float64)
    power = np.abs(np.fft.rfft(_frames(x), axis=1)) ** 2 + EPS  # (F, bins)
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / sample_rate)
    frame_db = 10 * np.log10(power.mean(1))
    floor, peak = np.percentile(frame_db, [10, 95])
    spectrum = power.mean(0)  # (bins,) long-term spectrum
    share = spectrum / spectrum.sum()
    centroid = (freqs * share).sum()
    bandwidth = np.sqrt(((freqs - centroid) ** 2 * share).sum())
    cumulative = np.cumsum(share)
    rolloff85, rolloff99 = freqs[np.minimum(np.searchsorted(cumulative, [0.85, 0.99]), len(freqs) - 1)]
    band = freqs >= 50
    tilt = np.polyfit(np.log2(freqs[band]), 10 * np.log10(spectrum[band]), 1)[0]
    flatness = (np.log(power).mean(1) - np.log(power.mean(1))).mean()
    high = 10 * np.log10(share[freqs >= 4000].sum() + EPS)
    zcr = np.mean(np.abs(np.diff(np.signbit(x).astype(np.int8)))) if len(x) > 1 else 0.0
    log_power = np.log(power)
    flux = np.abs(np.diff(log_power, axis=0)).mean() if len(power) > 1 else 0.0
    mel_db = 10 * np.log10(spectrum @ mel + EPS)
    level = 10 * np.log10(np.mean(x**2) + EPS)
    scalars = [level, floor, peak - floor, tilt, centroid / 1e3, bandwidth / 1e3, rolloff85 / 1e3]
    scalars += [rolloff99 / 1e3, flatness, high, zcr, flux]
    return np.concatenate([scalars, mel_db - mel_db.mean()])


class AcousticExtractor(Extractor):
    name = "acoustic"
    description = (
        "signal descriptors (level, noise floor, tilt, bandwidth, rolloff, flatness) + log-mel shape"
    )

    def identity(self, settings):
        return {"descriptors": list(DESCRIPTORS), "n_fft": N_FFT}

    def open(self, settings, sample_rate):
        mel = mel_bank(sample_rate)

        def features(audio, lengths):  # (B, T), (B,) -> (B, D)
            audio = audio.double().cpu().numpy()
            return np.stack([descriptors(a[: int(n)], sample_rate, mel) for a, n in zip(audio, lengths)])

        return features
