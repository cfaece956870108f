"""`aqa eval CHECKPOINT [key=value ...]`: metrics of a checkpoint on the configured val and eval splits."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # lightning is imported where it is used: `aqa eval --help` stays fast
    import lightning as L


@dataclass(frozen=True)
class Evaluation:
    """metrics: the module's float64 `stage/ASPECT/metric` values of val and every eval split present;
    clips: stage -> per-clip frame scored (predictions, targets, domains; `_feature` where the module
    keeps evaluation features)."""

    metrics: dict[str, float]
    clips: dict


def evaluate_splits(trainer: L.Trainer, module, datamodule, ckpt_path: str | None = None) -> Evaluation:
    """Validate, then test every eval split present."""
    trainer.validate(module, datamodule=datamodule, ckpt_path=ckpt_path, verbose=False, weights_only=True)
    metrics = {k: v for k, v in module.last_metrics.items() if k.startswith("val/")}
    if datamodule.eval_split_names:
        trainer.test(module, datamodule=datamodule, ckpt_path=ckpt_path, verbose=False, weights_only=True)
        prefixes = tuple(f"{s}/" for s in datamodule.eval_split_names)
        metrics |= {k: v for k, v in module.last_metrics.items() if k.startswith(prefixes)}
    return Evaluation(metrics, dict(module.eval_clips))


def evaluate(checkpoint: str | Path, overrides: list[str] = ()) -> tuple[dict[str, float], list[str]]:
    """-> (metrics, aspects). Same data pipeline, labels, trainer settings and metric code as training:
    reproduces metrics.json."""
    from aqa.training.checkpoint import domains_from_checkpoint, load_checkpoint
    from aqa.training.trainer import build_trainer
    from data_modules.datamodule import AQADataModule
    from data_modules.manifest import load_table

    module, cfg, sample_rate = load_checkpoint(checkpoint, overrides)
    aspects = list(cfg.data.aspects)
    table = domains_from_checkpoint(module, load_table(cfg.data), aspects, list(cfg.data.neutral_splits))
    datamodule = AQADataModule(cfg.data, table, sample_rate, aspects)
    trainer = build_trainer(cfg, evaluation=True)
    return evaluate_splits(trainer, module, datamodule).metrics, aspects


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="aqa eval", description=__doc__)
    parser.add_argument("checkpoint")
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the stored config")
    parser.add_argument("--out", help="also write the metrics to this JSON file")
    args = parser.parse_args(argv)
    from lightning.pytorch.utilities import rank_zero_only

    from aqa.training.report import finite, print_metric_table

    metrics, aspects = evaluate(args.checkpoint, args.overrides)
    if rank_zero_only.rank != 0:
        return 0
    print_metric_table(metrics, aspects)
    if args.out:
        Path(args.out).write_text(json.dumps(finite(metrics), indent=2, sort_keys=True))
    return 0
