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
    """The spine: table -> domain labels -> data -> model -> trainer -> fit -> evaluate -> write. Each step
    builds a new object from the previous ones; nothing is changed on an object after it is built."""
    import lightning as L

    from aqa.model.encoder import encoder_sample_rate
    from aqa.training.run_dir import resolve_run_dir

    started = time.time()
    run_dir = resolve_run_dir(cfg)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    sample_rate = encoder_sample_rate(cfg.model.encoder)
    rows = build_table(cfg, sample_rate)
    domains = build_domain_labels(cfg, rows, run_dir, sample_rate)
    rows = label_rows(cfg, rows, domains)
    data = build_data(cfg, rows, sample_rate)
    module = build_model(cfg, rows.table, domains)
    trainer, best = build_fit_trainer(cfg, run_dir, domains)
    best_path = fit(cfg, trainer, module, data, rows.table, domains, run_dir)
    evaluation = evaluate_best(trainer, module, data, best_path)
    metrics = run_metrics(cfg, rows, domains, module, evaluation, sample_rate)
    metrics |= kept_strength(cfg, domains, module, best_path, trainer.estimated_stepping_batches)
    metrics |= best.best | {
        "run/global_step": int(trainer.global_step),
        "run/epochs": int(trainer.current_epoch),
        "run/seconds": round(time.time() - started, 1),
        "run/best_checkpoint": str(best_path or ""),
        "data/skipped": len(rows.skipped),
    }
    if trainer.is_global_zero:
        write(trainer, module, metrics, evaluation.clips, run_dir, cfg)
    return metrics


def build_table(cfg, sample_rate: int):
    """-> UsableRows: the clip table's usable rows (each clip checked once, cached; unusable ones dropped),
    refused before any model is built when a needed split is empty or the checkpoint monitor cannot be
    computed on them."""
    from aqa.config.load import ConfigError
    from aqa.metrics.monitorable import require_monitor
    from data_modules.datamodule import require_splits, usable_rows
    from data_modules.manifest import load_table

    neutral = list(cfg.data.neutral_splits)
    if cfg.data.train_split in neutral:
        raise ConfigError(f"data.neutral_splits {neutral} names the train split {cfg.data.train_split!r}")
    table = load_table(cfg.data)
    require_splits(table, [cfg.data.train_split, cfg.data.val_split])
    rows = usable_rows(cfg.data, table, sample_rate, list(cfg.data.aspects))
    usable = "after skipping unusable clips; usable rows"
    require_splits(rows.table, [cfg.data.train_split, cfg.data.val_split], usable)
    require_monitor(cfg, rows.table)  # a NaN checkpoint monitor: refused before any model is built
    return rows


def build_domain_labels(cfg, rows, run_dir: Path, sample_rate: int):
    """-> DomainLabels fitted on the usable rows (a source whose train clips were all skipped counts no
    domain), saved under `run_dir/domains/` (reused by DDP ranks and resumed runs)."""
    from aqa.definers.labels import fit_domain_labels  # noqa: PLC0415 (heavy: sklearn)
    from aqa.features import FeatureSettings

    return fit_domain_labels(
        cfg.domain,
        rows.table,
        run_dir,
        sample_rate,
        aspects=list(cfg.data.aspects),
        train_split=cfg.data.train_split,
        seed=cfg.seed,
        feature_settings=FeatureSettings.from_config(cfg),
    )


def label_rows(cfg, rows, domains):
    """-> UsableRows with int64 `domain_<A>` columns (-1: unseen in train, or a `data.neutral_splits` row)."""
    from data_modules.manifest.columns import attach_domains

    aspects, neutral = list(cfg.data.aspects), list(cfg.data.neutral_splits)
    return rows.with_table(attach_domains(rows.table, domains.ids, domains.labels, aspects, neutral))


def build_data(cfg, rows, sample_rate: int):
    """-> the data module of the labelled rows: waveform batches, or for a screening run
    (`model.encoder.mode=cached`) batches of the frozen encoder's per-layer cache (N, L+1, H)."""
    aspects = list(cfg.data.aspects)
    if cfg.model.encoder.mode != "cached":
        from data_modules.datamodule import AQADataModule

        return AQADataModule(cfg.data, rows, sample_rate, aspects)
    from aqa.features import FeatureSettings
    from aqa.features.layers import compute_layers
    from aqa.training.cached_data import CachedLayers

    layers = compute_layers(FeatureSettings.from_config(cfg), rows.table, sample_rate)  # (N, L+1, H)
    return CachedLayers(cfg.data, rows.table, layers, aspects, cfg.seed)


def build_model(cfg, table, domains):
    """-> AQAModule from the config sections and what was fitted on the labelled usable rows: target
    statistics, domain counts, class weights and names, the definers and labels (kept in checkpoints).
    Its final evaluation keeps the pooled features for the domain probe."""
    from aqa.model.module import AQAModule
    from aqa.model.sections import module_sections
    from data_modules.manifest.columns import domain_column

    aspects = list(cfg.data.aspects)
    mean, std = target_stats(table, aspects, cfg.data.train_split)
    return AQAModule(
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
        collect_features=True,
    )


def build_fit_trainer(cfg, run_dir: Path, domains):
    """-> (trainer, BestMetrics): aqa's one trainer (aqa/training/trainer.py) with the best-value tracker
    and the DDP check that every rank holds the same domain labels."""
    from aqa.training.callbacks import LabelAgreement
    from aqa.training.trainer import BestMetrics, build_trainer

    best = BestMetrics()
    return build_trainer(cfg, run_dir, callbacks=[best, LabelAgreement(domains.digest())]), best


def fit(cfg, trainer, module, data, table, domains, run_dir: Path) -> str | None:
    """Writes config.yaml, trains (resuming `run.resume`); -> the best checkpoint's path (None: none)."""
    from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

    from aqa.config import save_config
    from aqa.training.run_dir import resume_path
    from data_modules.validate import system_level_warnings

    for message in system_level_warnings(table, [cfg.data.val_split, *cfg.data.eval_splits]):
        rank_zero_warn(f"[aqa] {message}")
    if trainer.is_global_zero:
        save_config(cfg, run_dir / "config.yaml")
        for a in cfg.data.aspects:
            rank_zero_info(f"[aqa] {a}: definer with {domains.num_domains.get(a, 0)} domains")
    trainer.fit(module, datamodule=data, ckpt_path=resume_path(cfg, run_dir), weights_only=True)
    return trainer.checkpoint_callback.best_model_path or None


def evaluate_best(trainer, module, data, best_path: str | None):
    """-> Evaluation (metrics, per-clip frames) of the best checkpoint on val and every extra eval split."""
    from aqa.training.evaluate import evaluate_splits

    return evaluate_splits(trainer, module, data, ckpt_path=best_path)


def run_metrics(cfg, rows, domains, module, evaluation, sample_rate: int) -> dict:
    """The evaluation's metrics, beside the references scored on the same clips (source lookup, train mean,
    linear probes), the resolved per-aspect strategy and the dataset-ID probe of the pooled features."""
    from aqa.metrics.shortcut import shortcut_metrics
    from aqa.training.probe_report import probe_metrics
    from aqa.training.references import reference_metrics
    from aqa.training.strategy import strategy_metrics

    aspects, table, clips = list(cfg.data.aspects), rows.table, evaluation.clips
    metrics = dict(evaluation.metrics)
    metrics |= shortcut_metrics(table, aspects, clips, cfg.data.train_split, cfg.metrics.min_source_clips)
    metrics |= reference_metrics(cfg, table, sample_rate, clips)  # train mean, linear probes
    metrics |= strategy_metrics(aspects, domains, module.aspect_model.settings)
    if clips.get("val") is not None:
        metrics |= probe_metrics(clips["val"], table, aspects, domains.names, seed=cfg.seed)
    return metrics


def kept_strength(cfg, domains, module, best_path: str | None, total_steps: int) -> dict:
    """`strategy/<A>/lambda_kept`: each adversary's GRL strength at the kept checkpoint's step (a model kept
    before the adversary's warm-up ended measured ERM, whatever its strategy says)."""
    import torch

    from aqa.training.strategy import kept_lambdas

    if not best_path:
        return {}
    # mmap: the step without reading the weights (hundreds of MB for a real MERT checkpoint)
    step = torch.load(best_path, map_location="cpu", weights_only=True, mmap=True)["global_step"]
    progress = step / max(1, total_steps)
    return kept_lambdas(
        list(cfg.data.aspects), domains, module.aspect_model.settings, cfg.model.adversary, progress
    )


def write(trainer, module, metrics: dict, clips: dict, run_dir: Path, cfg) -> None:
    """metrics.json, predictions/ (per clip), adapters/ (lora), the W&B summary."""
    from lightning.pytorch.utilities import rank_zero_info

    from aqa.metrics.predictions import PREDICTIONS_DIR, write_predictions
    from aqa.training.report import finite

    (run_dir / "metrics.json").write_text(json.dumps(finite(metrics), indent=2, sort_keys=True))
    write_predictions(clips, list(cfg.data.aspects), run_dir / PREDICTIONS_DIR)  # per clip
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
