"""`aqa eval CHECKPOINT [key=value ...]`: metrics of a checkpoint on the configured val and eval splits."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # lightning is imported where it is used: `aqa eval --help` stays fast
    import lightning as L


def evaluate_splits(trainer: L.Trainer, module, datamodule, ckpt_path: str | None = None) -> dict[str, float]:
    """Validate, then test every eval split present; the module's float64 metrics of those stages."""
    trainer.validate(module, datamodule=datamodule, ckpt_path=ckpt_path, verbose=False, weights_only=True)
    metrics = {k: v for k, v in module.last_metrics.items() if k.startswith("val/")}
    if datamodule.eval_split_names:
        trainer.test(module, datamodule=datamodule, ckpt_path=ckpt_path, verbose=False, weights_only=True)
        prefixes = tuple(f"{s}/" for s in datamodule.eval_split_names)
        metrics |= {k: v for k, v in module.last_metrics.items() if k.startswith(prefixes)}
    return metrics


def evaluate(checkpoint: str | Path, overrides: list[str] = ()) -> tuple[dict[str, float], list[str]]:
    """-> (metrics, aspects). Same data pipeline, labels and metric code as training: reproduces metrics.json."""
    import lightning as L

    from aqa.training.checkpoint import domains_from_checkpoint, load_checkpoint
    from aqa.training.cluster import cluster_environment
    from aqa.training.trainer import check_strategy, parse_devices
    from data_modules.datamodule import AQADataModule
    from data_modules.manifest import load_table

    module, cfg, sample_rate = load_checkpoint(checkpoint, overrides)
    aspects = list(cfg.data.aspects)
    table = domains_from_checkpoint(module, load_table(cfg.data), aspects, list(cfg.data.neutral_splits))
    datamodule = AQADataModule(cfg.data, table, sample_rate, aspects)
    check_strategy(cfg.trainer.strategy)
    t = cfg.trainer
    environment = cluster_environment(t.cluster, t.accelerator, parse_devices(t.devices), t.num_nodes)
    trainer = L.Trainer(
        accelerator=cfg.trainer.accelerator,
        devices=parse_devices(cfg.trainer.devices),
        plugins=[environment] if environment else None,
        strategy=cfg.trainer.strategy,
        precision=cfg.trainer.precision,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=cfg.trainer.enable_progress_bar,
        use_distributed_sampler=False,
    )
    return evaluate_splits(trainer, module, datamodule), aspects


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
