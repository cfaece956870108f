"""Encode and decode with real codecs through PyAV (its wheels bundle libopus, libmp3lame, FFmpeg's AAC).

Everything runs at 48 kHz (ViSQOL audio mode's rate) except where a codec cannot code a bitrate there:
MPEG-1 layer III has a 32 kbps floor (LAME silently raises 16/24 kbps to 32 at 48 kHz), so MP3 below
32 kbps is coded at the MPEG-2 rate 24 kHz and resampled back; the rate used is returned as `coding_rate`.
"""

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import soxr
from scipy import signal

from data_modules.surrogate import BITRATES, CODECS, RATE  # noqa: F401 (re-exported)

MAX_LAG = 2048  # samples searched either side when measuring the residual lag

# codec name -> (PyAV encoder, PyAV decoder, whether the decoder drops the encoder delay itself). Measured
# on av 18: the Opus and MP3 decoders honour the skip-samples side data; FFmpeg's AAC decoder does not, so
# its first `-pts` (1024) samples are priming that we cut.
_CODERS = {
    "opus": ("libopus", "libopus", True),
    "mp3": ("libmp3lame", "mp3", True),
    "aac": ("aac", "aac", False),
}
_SCALE = {"s16": 32767.0, "s16p": 32767.0, "s32": 2**31 - 1.0, "s32p": 2**31 - 1.0, "flt": 1.0, "fltp": 1.0}
_DTYPE = {"s16": np.int16, "s16p": np.int16, "s32": np.int32, "s32p": np.int32, "flt": np.float32}
_DTYPE["fltp"] = np.float32


@dataclass
class Coded:
    audio: np.ndarray  # (N,) float32 at RATE, aligned to the input and of its length
    coding_rate: int  # sample rate the codec ran at
    priming: int  # encoder delay samples removed (at coding_rate)
    lag: int  # residual lag (samples at RATE) measured by cross-correlation after compensation
    kbps: float  # measured bitrate of the coded stream


def coding_rate(codec: str, kbps: int) -> int:
    """The sample rate the codec runs at for this bitrate (see the module docstring)."""
    if codec not in _CODERS:
        raise ValueError(f"unknown codec {codec!r}: choose from {', '.join(CODECS)}")
    return 24000 if codec == "mp3" and kbps < 32 else RATE


def _encode(x: np.ndarray, encoder: str, kbps: int, rate: int) -> tuple[list, object]:
    enc = av.CodecContext.create(encoder, "w")
    enc.sample_rate, enc.layout, enc.bit_rate = rate, "mono", int(kbps * 1000)
    fmt = enc.codec.audio_formats[0].name
    enc.format, enc.time_base = fmt, Fraction(1, rate)
    enc.open()
    size = enc.frame_size or 1024
    packets = []
    for start in range(0, len(x), size):
        chunk = np.clip(x[start : start + size], -1.0, 1.0) * _SCALE[fmt]
        frame = av.AudioFrame.from_ndarray(chunk.astype(_DTYPE[fmt])[None, :], format=fmt, layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, start, enc.time_base
        packets += enc.encode(frame)
    packets += enc.encode(None)
    return packets, enc


def _decode(packets: list, decoder: str, rate: int, extradata) -> np.ndarray:
    dec = av.CodecContext.create(decoder, "r")
    dec.sample_rate, dec.layout = rate, "mono"
    if extradata:
        dec.extradata = extradata
    chunks = []
    for packet in packets:
        for frame in dec.decode(packet):
            chunks.append(frame.to_ndarray().reshape(-1).astype(np.float64) / _SCALE[frame.format.name])
    return np.concatenate(chunks)


def measure_lag(reference: np.ndarray, coded: np.ndarray, max_lag: int = MAX_LAG) -> int:
    """Samples by which `coded` lags `reference` (peak of the cross-correlation within +-max_lag)."""
    corr = signal.correlate(coded, reference, mode="full", method="fft")
    zero = len(reference) - 1
    window = corr[max(0, zero - max_lag) : zero + max_lag + 1]
    return int(np.argmax(window)) - min(zero, max_lag)


def code(x: np.ndarray, codec: str, kbps: int) -> Coded:
    """(N,) float at RATE -> the decoded signal, priming removed, trimmed/padded to N samples."""
    rate = coding_rate(codec, kbps)
    encoder, decoder, decoder_trims = _CODERS[codec]
    source = x if rate == RATE else soxr.resample(x, RATE, rate, quality="VHQ")
    packets, enc = _encode(source, encoder, kbps, rate)
    decoded = _decode(packets, decoder, rate, enc.extradata)
    priming = 0 if decoder_trims else max(0, -int(packets[0].pts or 0))  # encoder delay: negative first pts
    decoded = decoded[priming:]
    kbps_real = sum(p.size for p in packets) * 8 / (len(source) / rate) / 1000
    if rate != RATE:
        decoded = soxr.resample(decoded, rate, RATE, quality="VHQ")
    out = np.zeros(len(x), dtype=np.float32)
    out[: min(len(x), len(decoded))] = decoded[: len(x)]
    return Coded(out, rate, priming, measure_lag(x, out), round(kbps_real, 2))
