"""Schema of the `trainer:`, `checkpoint:`, `logger:` and `run:` sections."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# the one place that knows the runs root: parent of default run folders, sweeps and the quickstart
RUNS_ROOT = Path("runs")
SWEEPS_ROOT = RUNS_ROOT / "sweeps"  # default folder of `aqa sweep` / `aqa select` outputs


@dataclass
class TrainerConfig:
    """Lightning Trainer arguments. Anything not listed goes in `extra` (passed to L.Trainer as is)."""

    accelerator: str = "auto"  # cpu|gpu|auto
    devices: Any = 1  # a count (2), a list of device ids ([0, 1] or "0,1"), or auto
    num_nodes: int = 1
    # who starts the DDP processes: auto (Lightning's detection, but under `sbatch --ntasks-per-node=1` with
    # several devices Lightning starts them) | slurm (one `srun` task per device) | lightning | torchelastic
    cluster: str = "auto"
    strategy: str = "auto"  # auto|ddp|ddp_spawn|...
    precision: str = "32-true"  # 32-true|bf16-mixed|16-mixed
    max_epochs: int = 10
    max_steps: int = -1  # -1: limited by max_epochs
    max_time: str | None = None  # wall-clock limit "DD:HH:MM:SS" (e.g. "00:04:00:00"); None: no limit
    gradient_clip_val: float | None = 1.0
    accumulate_grad_batches: int = 1
    # auto: true on CPU (bit-reproducible), false on CUDA (deterministic kernels are slower and some have
    # none: Lightning then raises); true|false|warn force it (warn: deterministic where a kernel allows)
    deterministic: bool | str = "auto"
    benchmark: bool | None = None  # cudnn.benchmark; None: Lightning's default (off when deterministic)
    log_every_n_steps: int = 10
    check_val_every_n_epoch: int | None = 1  # None: validate by val_check_interval steps only
    val_check_interval: int | float | None = None  # float: fraction of an epoch; int: every N train batches
    limit_train_batches: int | float = 1.0  # float: fraction of the batches; int: number of batches
    limit_val_batches: int | float = 1.0
    limit_test_batches: int | float = 1.0
    num_sanity_val_steps: int = 0
    fast_dev_run: int | bool = False  # true or N: run N train/val/test batches only (a smoke test)
    profiler: str | None = None  # simple|advanced|pytorch
    enable_progress_bar: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # more L.Trainer kwargs, e.g. {detect_anomaly: true}


@dataclass
class CheckpointConfig:
    monitor: str = (
        "val/mean/within_srcc"  # any logged key; sys_srcc across sources rewards the source shortcut
    )
    mode: str = "max"
    save_top_k: int = 1
    save_last: bool = True
    early_stopping_patience: int = 0  # 0 disables early stopping


@dataclass
class LoggerConfig:
    wandb: bool = True  # honours WANDB_MODE (online|offline|disabled); only rank 0 creates a run
    project: str = "aqa"
    entity: str | None = None
    tags: list[str] = field(default_factory=list)
    csv: bool = True
    # checkpoints as W&B artifacts (`model-<run id>`, aliases best/latest): false | true (at the end of
    # training: the kept best and last) | all (each time one is saved). Fetch: wandb artifact get ...
    log_model: str = "false"


@dataclass
class RunConfig:
    dir: str | None = None  # default: RUNS_ROOT/<name>-<timestamp>; shared by all DDP ranks
    name: str = "aqa"
    resume: str | None = None  # checkpoint path, or `last` for the run dir's last.ckpt
