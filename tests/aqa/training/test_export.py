"""`aqa export`: small (adapters + aqa's tensors) and merged exports predict what the checkpoint predicts;
loading a checkpoint never unpickles code."""

import json
import re

import pytest
import torch
from safetensors.torch import load_file

from aqa.cli import main as aqa
from aqa.config import load_config
from aqa.features.registry import extractor_for
from aqa.model.module import AQAModule
from aqa.model.sections import UnsafeCheckpointError, module_sections
from aqa.training.checkpoint import load_checkpoint
from aqa.training.export import load_export


def _module(train_overrides) -> AQAModule:
    cfg = load_config(None, train_overrides)
    torch.manual_seed(0)
    module = AQAModule(
        **module_sections(cfg),
        num_domains={"PQ": 3},
        target_mean=[5.0, 4.0, 6.0, 5.5],
        target_std=[2.0, 1.5, 1.0, 2.5],
        domain_names={"PQ": ["a", "b", "c"]},
    )
    with torch.no_grad():  # trained adapters: lora_B starts at zero, which would hide a missing merge
        for name, p in module.encoder.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    module.domain_table = {"ids": ["x", "y"], "labels": {"PQ": [0, 2]}}
    module.domain_state = {"fitted": []}
    return module


@pytest.fixture
def checkpoint(train_overrides, tmp_path):
    """A checkpoint as Lightning writes it (the keys load_checkpoint reads)."""
    module = _module(train_overrides)
    ckpt = {"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}
    module.on_save_checkpoint(ckpt)
    path = tmp_path / "model.ckpt"
    torch.save(ckpt, path)
    return path


def _predict(module, seed: int = 1) -> torch.Tensor:
    torch.manual_seed(seed)
    audio = 0.1 * torch.randn(3, 24000)
    lengths = torch.tensor([24000, 17000, 9000])
    with torch.no_grad():
        return module.denormalise(module(audio, lengths).preds)


@pytest.mark.parametrize("merged", [False, True], ids=["small", "merged"])
def test_export_predicts_like_the_checkpoint(checkpoint, tmp_path, merged, capsys):
    out = tmp_path / "export"
    assert aqa(["export", str(checkpoint), "--out", str(out), *(["--merged"] if merged else [])]) == 0
    assert "wrote" in capsys.readouterr().out
    reference, _, _ = load_checkpoint(checkpoint)
    exported, cfg = load_export(out)
    via_loader, cfg2, rate = load_checkpoint(out)  # what `aqa predict` / `aqa eval` call
    expected = _predict(reference)
    torch.testing.assert_close(_predict(exported), expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(_predict(via_loader), expected, atol=1e-5, rtol=0)
    assert rate == 24000 and list(cfg.data.aspects) == ["PQ", "PC", "CE", "CU"]
    assert exported.domain_table == {"ids": ["x", "y"], "labels": {"PQ": [0, 2]}}
    assert exported.domain_names == {"PQ": ["a", "b", "c"]} and set(exported.adversaries) == {"PQ"}
    torch.testing.assert_close(exported.target_std, torch.tensor([2.0, 1.5, 1.0, 2.5]))
    tensors = load_file(str(out / "aqa_model.safetensors"))
    meta = json.loads((out / "aqa_export.json").read_text())
    assert meta["base_encoder"]["name"] == "tiny" and meta["kind"] == ("merged" if merged else "small")
    encoder_keys = {k for k in tensors if k.startswith("encoder.")}
    if merged:  # the whole encoder is in encoder/, LoRA folded in: no adapters anywhere
        assert not encoder_keys and (out / "encoder/model.safetensors").is_file()
        assert cfg.model.encoder.mode == "frozen"
        assert not any("lora" in k for k in load_file(str(out / "encoder/model.safetensors")))
    else:  # only the adapters of the encoder: the base weights come from name + revision
        assert encoder_keys and all("lora_" in k for k in encoder_keys)
        assert (out / "adapters/adapter_model.safetensors").is_file()
        assert len(meta["base_encoder"]["sha256"]) == 64
    assert not list(out.rglob("*.ckpt")) and not list(out.rglob("*.pkl")) and not list(out.rglob("*.bin"))


def test_small_export_refuses_another_base_encoder(checkpoint, tmp_path):
    out = tmp_path / "export"
    assert aqa(["export", str(checkpoint), "--out", str(out)]) == 0
    # the same architecture with other random weights stands in for a moved hub revision
    with pytest.raises(ValueError, match="not the one the model was trained on"):
        load_export(out, ["model.encoder.tiny.seed=7"])


def test_export_does_not_overwrite(checkpoint, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep")
    with pytest.raises(FileExistsError, match="not empty"):
        aqa(["export", str(checkpoint), "--out", str(tmp_path / "full")])


class _WritesAFile:
    """Unpickling this object opens (creates) a file: any code could run in its place."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_malicious_checkpoint_is_refused_and_runs_nothing(checkpoint, tmp_path, capsys):
    target = tmp_path / "pwned.txt"
    ckpt = torch.load(checkpoint, weights_only=True)
    ckpt["aqa_domains"] = {"fitted": [_WritesAFile(target)]}
    evil = tmp_path / "evil.ckpt"
    torch.save(ckpt, evil)
    assert not target.exists()
    unsafe = re.escape(f"Unsupported global: GLOBAL {open.__module__}.open)")  # `_io.open` on Python 3.13
    with pytest.raises(UnsafeCheckpointError, match=rf"refusing to load .*evil.ckpt: .*{unsafe}"):
        load_checkpoint(evil)
    assert not target.exists()
    with pytest.raises(UnsafeCheckpointError):
        aqa(["export", str(evil), "--out", str(tmp_path / "out")])
    assert not target.exists()
    with pytest.raises(UnsafeCheckpointError):  # `run:` features read checkpoints the same way
        extractor_for(f"run:{evil}").open(None, 16000)
    assert not target.exists()
    # and unpickling it the unsafe way really would have written the file: the test can fail
    torch.load(evil, weights_only=False)
    assert target.exists()


@pytest.mark.slow
def test_trained_run_export_scores_files_like_its_checkpoint(train_overrides, tmp_path):
    """A real run (LoRA, dataset definer) -> both exports -> the prediction API gives the checkpoint's scores."""
    import numpy as np
    import soundfile as sf

    from aqa.training.predict import predict
    from aqa.training.train import train

    cfg = load_config(None, [*train_overrides, "trainer.max_epochs=1", f"run.dir={tmp_path / 'run'}"])
    best = train(cfg)["run/best_checkpoint"]
    clips = tmp_path / "clips"
    clips.mkdir()
    rng = np.random.default_rng(5)
    for name, seconds in (("a.wav", 0.9), ("b.wav", 2.3)):
        sf.write(clips / name, rng.normal(0, 0.1, int(16000 * seconds)).astype(np.float32), 16000)
    expected = list(predict(best, clips))
    for merged in (False, True):
        out = tmp_path / f"export-{merged}"
        assert aqa(["export", best, "--out", str(out), *(["--merged"] if merged else [])]) == 0
        got = list(predict(out, clips))
        assert [g["id"] for g in got] == [e["id"] for e in expected]
        for g, e in zip(got, expected):
            for aspect in ("PQ", "PC", "CE", "CU"):  # predict rounds to 4 decimals
                assert abs(g[aspect] - e[aspect]) <= 1.01e-4, (merged, aspect)
    # `aqa eval` on the export: the checkpoint's metrics (same labels from domains.json, same predictions)
    from aqa.training.evaluate import evaluate

    from_ckpt, _ = evaluate(best, ["trainer.enable_progress_bar=false"])
    from_export, _ = evaluate(tmp_path / "export-False", ["trainer.enable_progress_bar=false"])
    assert len(from_ckpt) > 20 and from_ckpt.keys() == from_export.keys()
    for key, value in from_ckpt.items():
        assert from_export[key] == pytest.approx(value, abs=1e-5, nan_ok=True), key
