"""Lightning Trainer arguments pass through the `trainer:` section; devices lists; `key=None` is null."""

import pytest
from lightning.pytorch import Trainer

from aqa.config import load_config
from aqa.config.load import ConfigError
from aqa.training.trainer import parse_devices, resolve_deterministic, trainer_kwargs


def _trainer(*overrides) -> Trainer:
    cfg = load_config(None, ["trainer.accelerator=cpu", "trainer.enable_progress_bar=false", *overrides])
    return Trainer(**trainer_kwargs(cfg.trainer), logger=False, enable_checkpointing=False)


def test_trainer_arguments_reach_the_trainer():
    t = _trainer(
        "trainer.max_time=00:00:02:00",
        "trainer.val_check_interval=5",
        "trainer.limit_val_batches=3",
        "trainer.limit_test_batches=0.5",
        "trainer.limit_train_batches=7",
        "trainer.num_sanity_val_steps=2",
        "trainer.benchmark=false",
        "trainer.profiler=simple",
        "trainer.check_val_every_n_epoch=null",
    )
    assert t.limit_val_batches == 3 and isinstance(t.limit_val_batches, int)
    assert t.limit_test_batches == 0.5 and t.limit_train_batches == 7
    assert t.val_check_interval == 5 and t.check_val_every_n_epoch is None
    assert t.num_sanity_val_steps == 2
    assert type(t.profiler).__name__ == "SimpleProfiler"
    stop = next(cb for cb in t.callbacks if type(cb).__name__ == "Timer")
    assert stop._duration == 120


def test_fast_dev_run_and_extra_kwargs():
    t = _trainer("trainer.fast_dev_run=2", "trainer.extra.detect_anomaly=true")
    assert t.fast_dev_run == 2 and t._detect_anomaly is True


def test_extra_cannot_shadow_typed_or_aqa_owned_keys():
    for key in ("max_epochs", "callbacks"):
        with pytest.raises(ConfigError, match=key):
            trainer_kwargs(load_config(None, [f"trainer.extra.{key}=1"]).trainer)


def test_typos_stay_errors():
    with pytest.raises(ConfigError, match="trainer.max_epoch"):
        load_config(None, ["trainer.max_epoch=3"])


@pytest.mark.parametrize(
    "value, devices", [("[0,1]", [0, 1]), ("2", 2), ("auto", "auto"), ("'0,1'", [0, 1]), ("1", 1)]
)
def test_devices(value, devices):
    assert parse_devices(load_config(None, [f"trainer.devices={value}"]).trainer.devices) == devices


@pytest.mark.parametrize("value", ["null", "None"])
def test_null_on_the_command_line_is_none(value):
    cfg = load_config(None, [f"logger.entity={value}", f"run.dir={value}", f"trainer.max_time={value}"])
    assert cfg.logger.entity is None and cfg.run.dir is None and cfg.trainer.max_time is None


def test_deterministic_auto_depends_on_the_accelerator(monkeypatch):
    assert load_config(None, []).trainer.deterministic == "auto"
    assert resolve_deterministic("auto", "cpu") is True
    assert resolve_deterministic("auto", "gpu") is False and resolve_deterministic("auto", "cuda") is False
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    assert resolve_deterministic("auto", "auto") is False
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert resolve_deterministic("auto", "auto") is True
    assert resolve_deterministic("warn", "gpu") == "warn" and resolve_deterministic(True, "gpu") is True


def test_print_config(capsys, tmp_path):
    from aqa.cli import main

    exp = tmp_path / "e.yaml"
    exp.write_text("trainer:\n  max_epochs: 3\n")
    assert main(["train", str(exp), "trainer.devices=[0,1]", "logger.entity=None", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert "max_epochs: 3" in out and "entity: null" in out and "- 0\n" in out
