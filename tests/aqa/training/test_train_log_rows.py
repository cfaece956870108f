"""The training-step rows that AQAModule writes to the loggers itself are the rows Lightning's `self.log_dict`
path writes: the CSV log is byte-identical (stale values between logging steps, epoch ends, steps)."""

import pytest

from aqa.config import load_config
from aqa.model.module import AQAModule
from aqa.training.train import train

pytestmark = pytest.mark.slow


def _csv(train_overrides, run_dir) -> str:
    overrides = [
        *train_overrides,
        "model.encoder.mode=cached",
        "domain.definer=dataset",
        "data.batch_size=2",  # several steps per epoch
        "trainer.log_every_n_steps=3",  # written on other steps than logged: the last logged values
        "trainer.max_epochs=3",
        f"run.dir={run_dir}",
    ]
    train(load_config(None, overrides))
    (csv,) = run_dir.glob("csv/**/metrics.csv")
    return csv.read_text()


def test_training_rows_equal_lightnings(train_overrides, tmp_path, monkeypatch):
    direct = _csv(train_overrides, tmp_path / "direct")
    monitors = AQAModule._monitors
    # a monitored train key sends every training value through self.log_dict (Lightning's own rows)
    monkeypatch.setattr(AQAModule, "_monitors", lambda self: monitors(self) | {"train/loss"})
    lightning = _csv(train_overrides, tmp_path / "lightning")
    assert "train/loss" in direct.splitlines()[0]
    assert direct == lightning
