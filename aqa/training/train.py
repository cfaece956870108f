"""`aqa train EXPERIMENT.yaml [key=value ...]`: fit domain labels, train, evaluate the best checkpoint,
write the run folder (config.yaml, metrics.json, checkpoints/, domains/, adapters/)."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

# Only light imports up here: `aqa train --help` must not pay for torch/Lightning (imported in _train).


def target_stats(table, aspects: list[str], train_split: str) -> tuple[list[float], list[float]]:
    """Per-aspect mean and std of the train targets (normalisation kept in the checkpoint)."""
    import numpy as np

    train = table[table["split"] == train_split]
    mean = [float(np.nanmean(train[a])) for a in aspects]
    std = [float(np.nanstd(train[a])) for a in aspects]
    return mean, [s if s > 1e-6 else 1.0 for s in std]


def fit_on_usable(cfg, run_dir: Path, sample_rate: int):
    """-> (data module, DomainLabels, (target mean, std)), all fitted on the usable rows: the data module
    drops unusable clips first, so a source whose train clips were all skipped counts no domain."""
    from aqa.definers.labels import fit_domain_labels  # noqa: PLC0415 (heavy: sklearn)
    from aqa.features import FeatureSettings
    from aqa.metrics.monitorable import require_monitor
    from data_modules.datamodule import AQADataModule, require_splits
    from data_modules.manifest import load_table
    from data_modules.manifest.columns import attach_domains

    aspects = list(cfg.data.aspects)
    neutral = list(cfg.data.neutral_splits)  # rated in one neutral test: domain -1 there (every aspect)
    if cfg.data.train_split in neutral:
        from aqa.config.load import ConfigError

        raise ConfigError(f"data.neutral_splits {neutral} names the train split {cfg.data.train_split!r}")
    table = load_table(cfg.data)
    require_splits(table, [cfg.data.train_split, cfg.data.val_split])  # before any model is built
    datamodule = AQADataModule(cfg.data, table, sample_rate, aspects)
    datamodule.setup()  # checks every clip once (cached) and drops the unusable ones
    require_monitor(cfg, datamodule.table)  # a NaN checkpoint monitor: refused before any model is built
    domains = fit_domain_labels(
        cfg.domain,
        datamodule.table,
        run_dir,
        sample_rate,
        aspects=aspects,
        train_split=cfg.data.train_split,
        seed=cfg.seed,
        feature_settings=FeatureSettings.from_config(cfg),
    )
    datamodule.table = attach_domains(datamodule.table, domains.ids, domains.labels, aspects, neutral)
    return datamodule, domains, target_stats(datamodule.table, aspects, cfg.data.train_split)


def check_screening(cfg) -> None:
    """A screening run (`model.encoder.mode=cached`) has no trainable encoder: options that need the
    waveform (LoRA settings, one encoder per aspect) are refused (ConfigError: `aqa train` exits 2)."""
    from dataclasses import asdict

    from omegaconf import OmegaConf

    from aqa.config.load import ConfigError
    from aqa.config.model import LoraConfig

    if cfg.model.encoder.mode != "cached":
        return
    wrong = []
    lora = OmegaConf.to_container(cfg.model.encoder.lora, resolve=True)
    wrong += [f"model.encoder.lora.{k}={v}" for k, v in lora.items() if v != asdict(LoraConfig())[k]]
    if cfg.model.aspect_capacity == "separate":
        wrong.append("model.aspect_capacity=separate")
    if wrong:
        raise ConfigError(
            f"model.encoder.mode=cached (screening on the frozen encoder's layer cache) cannot take {wrong}: "
            "they need the waveform; use model.encoder.mode=lora|full for them"
        )


def train(cfg) -> dict:
    """Runs one experiment; returns the metrics written to metrics.json (on every rank)."""
    from aqa.training.run_dir import RUN_DIR_ENV

    check_screening(cfg)
    previous = os.environ.get(RUN_DIR_ENV)
    try:
        return _train(cfg)
    finally:  # the run dir is exported for DDP children only: a second run in this process gets its own
        if previous is None:
            os.environ.pop(RUN_DIR_ENV, None)
        else:
            os.environ[RUN_DIR_ENV] = previous


def _train(cfg) -> dict:
    import lightning as L
    from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

    from aqa.config import save_config
    from aqa.metrics.shortcut import shortcut_metrics
    from aqa.model.encoder import encoder_sample_rate
    from aqa.model.module import AQAModule
    from aqa.model.sections import module_sections
    from aqa.training.callbacks import LabelAgreement
    from aqa.training.evaluate import evaluate_splits
    from aqa.training.probe_report import probe_metrics
    from aqa.training.references import reference_metrics
    from aqa.training.run_dir import resolve_run_dir, resume_path
    from aqa.training.strategy import strategy_metrics
    from aqa.training.trainer import build_trainer
    from data_modules.manifest.columns import domain_column
    from data_modules.validate import system_level_warnings

    started = time.time()
    run_dir = resolve_run_dir(cfg)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    aspects = list(cfg.data.aspects)
    sample_rate = encoder_sample_rate(cfg.model.encoder)
    datamodule, domains, (mean, std) = fit_on_usable(cfg, run_dir, sample_rate)
    table = datamodule.table
    if cfg.model.encoder.mode == "cached":  # screening: the per-layer cache of the frozen encoder
        from aqa.features import FeatureSettings
        from aqa.features.layers import compute_layers
        from aqa.training.cached_data import CachedLayers

        layers = compute_layers(FeatureSettings.from_config(cfg), table, sample_rate)  # (N, L+1, H)
        datamodule = CachedLayers(cfg.data, table, layers, aspects, cfg.seed)
    module = AQAModule(
        **module_sections(cfg),
        num_domains=dict(domains.num_domains),
        target_mean=mean,
        target_std=std,
        class_weights=domains.class_weights,
        domain_names=domains.names,
        domain_state=domains.state_dict(),
        domain_table={
            "ids": table["id"].tolist(),
            "labels": {a: table[domain_column(a)].tolist() for a in aspects},
        },
    )
    for message in system_level_warnings(table, [cfg.data.val_split, *cfg.data.eval_splits]):
        rank_zero_warn(f"[aqa] {message}")
    trainer, best = build_trainer(cfg, run_dir)
    trainer.callbacks.append(LabelAgreement(domains.digest()))
    if trainer.is_global_zero:
        save_config(cfg, run_dir / "config.yaml")
        for a in aspects:
            rank_zero_info(f"[aqa] {a}: definer with {domains.num_domains.get(a, 0)} domains")
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_path(cfg, run_dir), weights_only=True)

    # Final evaluation of the best checkpoint on val and every extra eval split.
    best_path = trainer.checkpoint_callback.best_model_path or None
    module.collect_features = True
    metrics = evaluate_splits(trainer, module, datamodule, ckpt_path=best_path)
    # the source-lookup reference, scored on the same clips: what the source alone earns on each key
    metrics |= shortcut_metrics(
        table, aspects, module.eval_clips, cfg.data.train_split, cfg.metrics.min_source_clips
    )
    metrics |= reference_metrics(cfg, table, sample_rate, module.eval_clips)  # train mean, linear probes
    val_clips = module.eval_clips.get("val")
    metrics |= best.best
    metrics |= strategy_metrics(aspects, domains, module.aspect_model.settings)
    if val_clips is not None:
        metrics |= probe_metrics(val_clips, table, aspects, domains.names, seed=cfg.seed)
    metrics |= {
        "run/global_step": int(trainer.global_step),
        "run/epochs": int(trainer.current_epoch),
        "run/seconds": round(time.time() - started, 1),
        "run/best_checkpoint": str(best_path or ""),
        "data/skipped": len(getattr(datamodule, "skipped", [])),
    }
    if trainer.is_global_zero:
        _write_outputs(trainer, module, metrics, run_dir, cfg)
    return metrics


def _write_outputs(trainer, module, metrics: dict, run_dir: Path, cfg) -> None:
    from lightning.pytorch.utilities import rank_zero_info

    from aqa.metrics.predictions import PREDICTIONS_DIR, write_predictions
    from aqa.training.report import finite

    (run_dir / "metrics.json").write_text(json.dumps(finite(metrics), indent=2, sort_keys=True))
    write_predictions(module.eval_clips, list(cfg.data.aspects), run_dir / PREDICTIONS_DIR)  # per clip
    module.save_adapters(run_dir / "adapters")  # lora only
    summary = {k: v for k, v in metrics.items() if not k.startswith("run/best")}
    for logger in trainer.loggers:
        if logger.__class__.__name__ == "WandbLogger":
            logger.experiment.summary.update(finite(summary))
            logger.experiment.finish()  # flushed now; a next run in this process gets its own W&B run
    rank_zero_info(f"[aqa] run folder: {run_dir}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="aqa train", description=__doc__)
    parser.add_argument("experiment", help="experiment YAML (see experiments/)")
    parser.add_argument("overrides", nargs="*", help="key=value config overrides")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    args = parser.parse_args(argv)
    from aqa.config import load_config
    from aqa.config.load import to_yaml

    cfg = load_config(args.experiment, args.overrides)
    if args.print_config:
        print(to_yaml(cfg), end="")
        return 0
    from lightning.pytorch.utilities import rank_zero_only

    from aqa.training.report import print_metric_table

    metrics = train(cfg)
    if rank_zero_only.rank == 0:
        print_metric_table(metrics, list(cfg.data.aspects))
    return 0
