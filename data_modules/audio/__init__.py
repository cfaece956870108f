"""Audio: decode + resample, quality checks, the on-disk waveform cache."""

from data_modules.audio.cache import AudioCache
from data_modules.audio.decode import AudioError, check_waveform, decode

__all__ = ["AudioCache", "AudioError", "check_waveform", "decode"]
