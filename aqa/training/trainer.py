"""Build the Lightning Trainer (loggers, checkpointing, early stopping, progress) from the config."""

import math
import os
import time
import warnings
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger, WandbLogger
from omegaconf import OmegaConf

from aqa.metrics.scores import HIGHER_IS_BETTER
from aqa.training.cluster import cluster_environment
from aqa.training.wandb_run import wandb_run_id

# Epoch metrics (`stage/ASPECT/metric`) are computed from the rows gathered from every rank, so they are
# identical on all ranks: no sync is needed, and Lightning's advice to add sync_dist=True (once per key
# and process) does not apply. rank_zero_only=True would hide the monitor from the other ranks' callbacks.
warnings.filterwarnings(
    "ignore", message=r"It is recommended to use `self\.log\('[^'/]+/[^'/]+/[^']+', \.\.\., sync_dist=True\)`"
)


class BestMetrics(Callback):
    """Tracks the best value of every val metric over epochs (`best/val/PQ/sys_srcc`, ...)."""

    def __init__(self):
        self.best: dict[str, float] = {}

    def on_validation_end(self, trainer, pl_module) -> None:  # after the module's epoch-end metrics
        if trainer.sanity_checking:
            return
        for key, value in pl_module.last_metrics.items():
            if not key.startswith("val/"):
                continue
            higher = HIGHER_IS_BETTER.get(key.rsplit("_", 1)[-1], True)
            old = self.best.get(f"best/{key}")
            if math.isnan(value):
                continue
            if old is None or (value > old if higher else value < old):
                self.best[f"best/{key}"] = value

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best = dict(state_dict.get("best", {}))


def parse_devices(value):
    """trainer.devices -> L.Trainer's devices: 2, [0, 1] (also from "0,1" or "[0,1]"), or "auto"."""
    if isinstance(value, (list, tuple)) or OmegaConf.is_list(value):
        return [int(v) for v in value]
    value = str(value).strip()
    if value == "auto":
        return "auto"
    if "," in value or value.startswith("["):
        return [int(v) for v in value.strip("[]").split(",") if v.strip()]
    return int(value)


def resolve_deterministic(value, accelerator: str):
    """trainer.deterministic=auto: true on CPU, false on CUDA (see aqa/config/train.py); else as given."""
    if value != "auto":
        return value
    if accelerator == "cpu":
        return True
    if accelerator in ("gpu", "cuda"):
        return False
    import torch

    return not torch.cuda.is_available()


SET_BY_AQA = {
    "callbacks",
    "logger",
    "default_root_dir",
    "use_distributed_sampler",
    "enable_checkpointing",
    "plugins",  # the cluster environment: trainer.cluster
}


def trainer_kwargs(t) -> dict:
    """The `trainer:` section as L.Trainer keyword arguments (typed fields, then `extra`)."""
    from aqa.config.load import ConfigError

    kwargs = {
        "accelerator": t.accelerator,
        "devices": parse_devices(t.devices),
        "num_nodes": t.num_nodes,
        "strategy": t.strategy,
        "precision": t.precision,
        "max_epochs": t.max_epochs,
        "max_steps": t.max_steps,
        "max_time": t.max_time,
        "gradient_clip_val": t.gradient_clip_val,
        "accumulate_grad_batches": t.accumulate_grad_batches,
        "deterministic": resolve_deterministic(t.deterministic, str(t.accelerator)),
        "benchmark": t.benchmark,
        "log_every_n_steps": t.log_every_n_steps,
        "check_val_every_n_epoch": t.check_val_every_n_epoch,
        "val_check_interval": t.val_check_interval,
        "limit_train_batches": t.limit_train_batches,
        "limit_val_batches": t.limit_val_batches,
        "limit_test_batches": t.limit_test_batches,
        "num_sanity_val_steps": t.num_sanity_val_steps,
        "fast_dev_run": t.fast_dev_run,
        "profiler": t.profiler,
        "enable_progress_bar": t.enable_progress_bar,
    }
    extra = OmegaConf.to_container(t.extra, resolve=True) if OmegaConf.is_config(t.extra) else dict(t.extra)
    clash = sorted(set(extra) & (set(kwargs) | SET_BY_AQA))
    if clash:
        raise ConfigError(f"trainer.extra sets {clash}: use the typed trainer.<key>, or leave it to aqa")
    return kwargs | extra


def build_loggers(cfg, run_dir: Path) -> list:
    loggers = []
    if cfg.logger.csv:
        # a resumed run logs to its own file instead of rewriting the first one
        version = f"resumed-{time.strftime('%Y%m%d-%H%M%S')}" if cfg.run.resume else ""
        loggers.append(CSVLogger(save_dir=str(run_dir), name="csv", version=version))
    if cfg.logger.wandb and os.environ.get("WANDB_MODE", "").lower() != "disabled":
        loggers.append(
            WandbLogger(
                project=cfg.logger.project,
                entity=cfg.logger.entity,
                name=run_dir.name,
                save_dir=str(run_dir),
                tags=list(cfg.logger.tags),
                config=OmegaConf.to_container(cfg, resolve=True),
                log_model=log_model_flag(cfg.logger.log_model),
                id=wandb_run_id(run_dir, resume=bool(cfg.run.resume)),
                resume="allow",  # `run.resume` continues the run whose id the run folder keeps
            )
        )
    return loggers


def log_model_flag(value) -> bool | str:
    """`logger.log_model` as WandbLogger takes it: False, True or "all"."""
    text = str(value).strip().lower()
    if text not in ("false", "true", "all"):
        raise ValueError(f"logger.log_model={value!r}: expected false, true or all")
    return "all" if text == "all" else text == "true"


SPAWN_STRATEGIES = ("ddp_spawn", "ddp_fork", "ddp_notebook")


def check_strategy(strategy: str) -> None:
    """aqa reads metrics from the module after fit/validate; spawned workers would keep them to themselves."""
    if str(strategy).split("_find")[0] in SPAWN_STRATEGIES:
        raise ValueError(
            f"trainer.strategy={strategy} runs training in spawned/forked workers whose metrics never reach "
            "this process; use trainer.strategy=ddp (Lightning re-launches the same command per rank)"
        )


def build_trainer(cfg, run_dir: Path | None = None, callbacks=(), evaluation: bool = False) -> L.Trainer:
    """The one L.Trainer of aqa: the `trainer:` section (devices, strategy, precision, cluster, limits,
    determinism, `extra`), with aqa's own samplers (no distributed sampler).

    Training (`aqa train`): checkpoints in `run_dir/checkpoints`, early stopping, the loggers, and the
    given `callbacks` (e.g. BestMetrics). evaluation=True (`aqa eval`): the same settings without
    loggers, checkpoints or early stopping, writing nothing (`run_dir` unused).
    """
    check_strategy(cfg.trainer.strategy)
    t = cfg.trainer
    environment = cluster_environment(t.cluster, t.accelerator, parse_devices(t.devices), t.num_nodes)
    everything = [] if evaluation else [checkpoint_callback(cfg.checkpoint, run_dir)]
    everything += list(callbacks)
    patience = cfg.checkpoint.early_stopping_patience
    if patience > 0 and not evaluation:
        # check_finite=False: a NaN correlation (constant predictions early on) is no reason to stop
        monitor, mode = cfg.checkpoint.monitor, cfg.checkpoint.mode
        everything.append(EarlyStopping(monitor=monitor, mode=mode, patience=patience, check_finite=False))
    if t.enable_progress_bar:
        everything.append(RichProgressBar(leave=True))
    return L.Trainer(
        **trainer_kwargs(t),
        plugins=[environment] if environment else None,
        callbacks=everything,
        logger=False if evaluation else (build_loggers(cfg, run_dir) or False),
        enable_checkpointing=not evaluation,
        default_root_dir=None if evaluation else str(run_dir),
        use_distributed_sampler=False,  # aqa's samplers shard by rank themselves
    )


def checkpoint_callback(ckpt, run_dir: Path) -> ModelCheckpoint:
    """The `checkpoint:` section -> ModelCheckpoint writing `run_dir/checkpoints/`."""
    monitor_name = ckpt.monitor.replace("/", "_")
    return ModelCheckpoint(
        dirpath=str(run_dir / "checkpoints"),
        # the metric's value goes in the name; its key (with '/') does not: no sub-folders
        filename="epoch{epoch:03d}-step{step:06d}-" + monitor_name + "{" + ckpt.monitor + ":.4f}",
        auto_insert_metric_name=False,
        monitor=ckpt.monitor,
        mode=ckpt.mode,
        save_top_k=ckpt.save_top_k,
        save_last=ckpt.save_last,
    )
