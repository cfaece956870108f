"""Schema of the `trainer:`, `checkpoint:`, `logger:` and `run:` sections."""

from dataclasses import dataclass, field
from pathlib import Path

# the one place that knows the runs root: parent of default run folders, sweeps and the quickstart
RUNS_ROOT = Path("runs")
SWEEPS_ROOT = RUNS_ROOT / "sweeps"  # default folder of `aqa sweep` / `aqa select` outputs


@dataclass
class TrainerConfig:
    accelerator: str = "auto"  # cpu|gpu|auto
    devices: str = "1"  # number, list, or auto (kept as a string so "0,1" and "auto" both fit)
    num_nodes: int = 1
    # who starts the DDP processes: auto (Lightning's detection, but under `sbatch --ntasks-per-node=1` with
    # several devices Lightning starts them) | slurm (one `srun` task per device) | lightning | torchelastic
    cluster: str = "auto"
    strategy: str = "auto"  # auto|ddp|ddp_spawn|...
    precision: str = "32-true"  # 32-true|bf16-mixed|16-mixed
    max_epochs: int = 10
    max_steps: int = -1  # -1: limited by max_epochs
    gradient_clip_val: float | None = 1.0
    accumulate_grad_batches: int = 1
    deterministic: bool = True
    log_every_n_steps: int = 10
    check_val_every_n_epoch: int = 1
    limit_train_batches: float = 1.0
    num_sanity_val_steps: int = 0
    enable_progress_bar: bool = True


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
