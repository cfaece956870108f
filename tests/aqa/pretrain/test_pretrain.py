"""aqa pretrain: loss falls, the folder loads like MERT through aqa's Encoder, resume == uninterrupted, bad input."""

import sys
from dataclasses import replace

import numpy as np
import soundfile as sf
import torch
from safetensors.torch import load_file

from aqa.cli import main as aqa_main
from aqa.config.model import EncoderConfig
from aqa.model.encoder import Encoder
from aqa.pretrain.run import pretrain, resume_path
from aqa.pretrain.settings import PretrainSettings

RATE = 24000
TINY = PretrainSettings(
    steps=30,
    batch_size=4,
    segment_seconds=0.5,
    clusters=8,
    n_mels=16,
    lr=2e-3,
    warmup_steps=3,
    checkpoint_every=10,
)


def _audio_folder(path, count=6, seconds=1.0, rate=RATE):
    """Tones and noise bursts: two kinds of frame the codes can tell apart."""
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    for i in range(count):
        wav = 0.3 * np.sin(2 * np.pi * (200 + 150 * i) * t) * (t < seconds / 2)
        wav = wav + 0.2 * rng.standard_normal(len(t)) * (t >= seconds / 2)
        sf.write(path / f"clip{i}.wav", wav.astype(np.float32), rate)
    return path


def test_loss_falls_and_folder_loads_like_mert(tmp_path):
    summary = pretrain(
        _audio_folder(tmp_path / "audio"), tmp_path / "enc", replace(TINY, steps=60), progress=False
    )
    losses = np.array(summary["losses"]).sum(1)
    assert losses[-10:].mean() < 0.8 * losses[:10].mean(), losses
    out = tmp_path / "enc"
    assert {"config.json", "model.safetensors", "preprocessor_config.json"} <= {p.name for p in out.iterdir()}
    assert not resume_path(out).exists()
    enc = Encoder(EncoderConfig(name=str(out), mode="frozen"))  # the same from_pretrained path as MERT
    written = load_file(str(out / "model.safetensors"))
    loaded = enc.base.state_dict()
    assert set(written) - {"masked_spec_embed"} <= set(loaded)
    for key in loaded:
        assert torch.equal(loaded[key], written[key]), key
    hidden, mask = enc(torch.randn(2, RATE // 2), torch.tensor([RATE // 2, RATE // 4]))
    assert hidden.shape[:2] == (TINY.num_hidden_layers + 1, 2) and mask.shape[0] == 2


def test_resume_gives_the_same_weights(tmp_path):
    audio = _audio_folder(tmp_path / "audio", count=3)
    s = replace(TINY, steps=8, checkpoint_every=3)
    pretrain(audio, tmp_path / "whole", s, progress=False)
    first = pretrain(audio, tmp_path / "parts", s, stop_after=5, progress=False)
    assert (
        first["steps"] == 5 and not (tmp_path / "parts").exists() and resume_path(tmp_path / "parts").exists()
    )
    pretrain(audio, tmp_path / "parts", s, progress=False)
    a = load_file(str(tmp_path / "whole" / "model.safetensors"))
    b = load_file(str(tmp_path / "parts" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_continued_pretraining_from_a_folder(tmp_path):
    audio = _audio_folder(tmp_path / "audio", count=3)
    pretrain(audio, tmp_path / "a", replace(TINY, steps=2), progress=False)
    summary = pretrain(
        audio, tmp_path / "b", replace(TINY, steps=2), start=str(tmp_path / "a"), progress=False
    )
    assert summary["steps"] == 2 and (tmp_path / "b" / "model.safetensors").is_file()


def _refused(capsys, argv, words):
    assert aqa_main(["pretrain", *argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err


def test_bad_input_refused_nothing_written(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "broken.wav").write_bytes(b"not audio")
    _refused(capsys, [str(empty), "--out", str(tmp_path / "o1")], ["no readable audio", "broken.wav"])
    short = tmp_path / "short"
    short.mkdir()
    sf.write(short / "tiny.wav", np.zeros(200, np.float32) + 0.1, RATE)
    _refused(capsys, [str(short), "--out", str(tmp_path / "o2")], ["tiny.wav", "receptive field"])
    audio = _audio_folder(tmp_path / "audio", count=1, seconds=0.1)
    _refused(
        capsys, [str(audio), "--out", str(tmp_path / "o3"), "--clusters", "500"], ["500 clusters", "frames"]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audio", "empty", "short"]


def test_help_does_not_import_torch():
    code = (
        "import sys; from aqa.cli import main\ntry: main(['pretrain', '--help'])\nexcept SystemExit: pass\n"
    )
    code += "assert 'torch' not in sys.modules"
    import subprocess

    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_tiny_pretrained_is_built_once_and_cached(tmp_path, monkeypatch):
    import aqa.pretrain.default as default
    from aqa.model.encoder import encoder_identity, resolve_encoder_path

    audio = _audio_folder(tmp_path / "audio", count=2)
    monkeypatch.setattr(default, "ensure_corpus", lambda cfg: audio)
    monkeypatch.setattr(default, "default_settings", lambda tiny: replace(TINY, steps=2))
    enc = EncoderConfig(name="tiny-pretrained", cache_dir=str(tmp_path / "cache"))
    path = resolve_encoder_path(enc)
    assert path.startswith(str(tmp_path / "cache")) and "tiny-pretrained-" in path
    stamp = (tmp_path / "cache").joinpath(path.split("/")[-1], "model.safetensors").stat().st_mtime_ns
    assert resolve_encoder_path(enc) == path  # cached: not pretrained again
    assert (tmp_path / "cache").joinpath(path.split("/")[-1], "model.safetensors").stat().st_mtime_ns == stamp
    assert encoder_identity(enc)["pretrain"]["steps"] == 2
    assert Encoder(enc).hidden_size == TINY.hidden_size


def test_embedded_default_is_the_pretrained_encoder_with_lora():
    from pathlib import Path

    from aqa.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[3] / "experiments" / "quickstart.yaml", [])
    enc = cfg.model.encoder
    assert enc.name == "tiny-pretrained" and enc.mode == "lora"
    assert sorted(enc.lora.target_modules) == ["q_proj", "v_proj"]
    assert 0 < cfg.model.adversary.warmup_fraction < 1
