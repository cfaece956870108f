"""aqa builds every L.Trainer in one place (aqa/training/trainer.py `build_trainer`): `aqa eval` runs under
the training run's settings, without its loggers, checkpoints and early stopping."""

from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

from aqa.config import load_config
from aqa.training.trainer import BestMetrics, build_trainer

OVERRIDES = [
    "trainer.accelerator=cpu",
    "trainer.precision=bf16-mixed",
    "trainer.limit_val_batches=3",
    "trainer.limit_test_batches=0.5",
    "trainer.deterministic=true",
    "trainer.enable_progress_bar=false",
    "checkpoint.early_stopping_patience=2",
    "logger.csv=true",
    "logger.wandb=false",
]


def _settings(trainer) -> dict:
    return {
        "accelerator": type(trainer.accelerator).__name__,
        "strategy": type(trainer.strategy).__name__,
        "devices": trainer.num_devices,
        "precision": trainer.precision,
        "limit_val_batches": trainer.limit_val_batches,
        "limit_test_batches": trainer.limit_test_batches,
        "nodes": trainer.num_nodes,
    }


def test_evaluation_runs_under_the_training_settings_without_writing(tmp_path):
    cfg = load_config(None, OVERRIDES)
    best = BestMetrics()
    training = build_trainer(cfg, tmp_path / "run", callbacks=[best])
    evaluation = build_trainer(cfg, evaluation=True)

    assert _settings(evaluation) == _settings(training)
    assert _settings(training)["precision"] == "bf16-mixed" and _settings(training)["limit_val_batches"] == 3
    assert best in training.callbacks
    assert isinstance(training.checkpoint_callback, ModelCheckpoint) and training.loggers
    assert any(isinstance(c, EarlyStopping) for c in training.callbacks)
    # evaluation writes nothing: no logger, no checkpoint, no early stopping
    assert evaluation.loggers == [] and evaluation.checkpoint_callback is None
    assert not any(isinstance(c, (EarlyStopping, ModelCheckpoint, BestMetrics)) for c in evaluation.callbacks)
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())
