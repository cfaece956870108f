"""Audio: decode + resample, quality checks, the on-disk waveform cache."""

from data_modules.audio.cache import AudioCache
from data_modules.audio.decode import check_waveform, decode
from data_modules.audio.errors import SKIP_REASONS, AudioError

__all__ = ["SKIP_REASONS", "AudioCache", "AudioError", "check_waveform", "decode"]
