"""Decoding: formats, downmix, resampling, segments."""

import numpy as np
import pytest
import soundfile as sf

from data_modules.audio import decode


@pytest.mark.parametrize("suffix", ["wav", "flac", "ogg", "mp3"])
def test_formats_decode_to_mono_at_target_rate(tmp_path, suffix, tone):
    if suffix.upper() not in sf.available_formats():
        pytest.skip(f"libsndfile without {suffix}")
    path = tone(tmp_path / f"t.{suffix}", 1.0, rate=44100, channels=2)
    wav = decode(path, 16000)
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert abs(len(wav) - 16000) <= 1200  # lossy codecs add encoder delay/padding
    assert 0.05 < np.abs(wav).max() < 0.5


def test_downmix_is_channel_mean(tmp_path):
    path = tmp_path / "s.wav"
    sf.write(path, np.stack([np.full(100, 0.5), np.full(100, -0.1)], 1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(decode(str(path), 16000), 0.2, atol=1e-7)


def test_resampled_length_and_frequency(tmp_path, tone):
    path = tone(tmp_path / "t.wav", 2.0, rate=22050, freq=1000)
    wav = decode(path, 16000)
    assert len(wav) == 32000
    peak = np.argmax(np.abs(np.fft.rfft(wav))) * 16000 / len(wav)
    assert abs(peak - 1000) < 2


def test_start_end_segment(tmp_path):
    path = tmp_path / "ramp.wav"
    sf.write(path, np.arange(8000) / 8000.0, 8000, subtype="FLOAT")
    seg = decode(str(path), 8000, start=0.25, end=0.5)
    assert len(seg) == 2000
    assert seg[0] == pytest.approx(0.25) and seg[-1] == pytest.approx(0.5 - 1 / 8000)
    assert len(decode(str(path), 8000, start=0.5)) == 4000
    assert len(decode(str(path), 8000, end=0.1)) == 800
