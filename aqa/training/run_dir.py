"""Where a run writes: one folder that every DDP rank and sweep trial agrees on."""

import os
import secrets
import time
from pathlib import Path

from aqa.config.train import RUNS_ROOT
from data_modules.errors import MissingFileError

RUN_DIR_ENV = "AQA_RUN_DIR"


def resolve_run_dir(cfg) -> Path:
    """`run.dir`, else $AQA_RUN_DIR, else the resumed checkpoint's run, else runs/<name>-<time>-<hex>.

    The chosen folder is exported as $AQA_RUN_DIR so DDP child processes (which re-run the command with
    the parent's environment) use the same folder.
    """
    if cfg.run.dir:
        path = Path(cfg.run.dir)
    elif os.environ.get(RUN_DIR_ENV):
        path = Path(os.environ[RUN_DIR_ENV])
    elif cfg.run.resume and cfg.run.resume != "last":
        path = Path(cfg.run.resume).resolve().parent.parent
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = RUNS_ROOT / f"{cfg.run.name}-{stamp}-{secrets.token_hex(2)}"
    path = path.resolve()
    os.environ[RUN_DIR_ENV] = str(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def resume_path(cfg, run_dir: Path) -> str | None:
    if not cfg.run.resume:
        return None
    path = run_dir / "checkpoints" / "last.ckpt" if cfg.run.resume == "last" else Path(cfg.run.resume)
    if not path.is_file():
        raise MissingFileError(f"run.resume: checkpoint not found: {path}")
    return str(path)
