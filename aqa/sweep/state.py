"""The offline sweep directory: one folder per trial holding its parameters, status, log and metrics.

```
SWEEP_DIR/
  sweep.yaml               the sweep file this directory runs (resuming with another one is an error)
  sweep.lock               held while a controller (or a trial it started) runs
  trials/<id>/config.json  proposed parameters {key: value}
  trials/<id>/status.json  {"state": pending|running|finished|failed|interrupted, "exitcode", "command", ...}
  trials/<id>/log.txt      the trial's stdout + stderr
  trials/<id>/metrics.json copy of the run's metrics.json (finished trials)
  runs/<id>/               the trial's run dir (AQA_RUN_DIR)
```
"""

import fcntl
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from data_modules.atomic import atomic_write_text

TERMINAL = ("finished", "failed")


@dataclass
class Trial:
    id: str
    params: dict
    status: dict = field(default_factory=lambda: {"state": "pending"})
    metrics: dict = field(default_factory=dict)

    @property
    def state(self) -> str:
        return self.status.get("state", "pending")


class SweepDirError(RuntimeError):
    """A sweep directory that cannot be used as asked (the message says why)."""


class SweepLockedError(SweepDirError):
    """Another controller, or a trial left running by a killed one, still uses this sweep directory."""


def _write_json(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")  # a kill never leaves half a file


class SweepDir:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.trials_dir = self.root / "trials"
        self.runs_dir = self.root / "runs"

    def init(self, sweep: dict) -> None:
        """Create the directory for `sweep`, or check that it already holds the same sweep."""
        stored = self.root / "sweep.yaml"
        if stored.is_file():
            if yaml.safe_load(stored.read_text()) != sweep:
                raise SweepDirError(f"{self.root} holds a different sweep ({stored}); use another --dir")
            return
        self.trials_dir.mkdir(parents=True, exist_ok=True)
        self.runs_dir.mkdir(exist_ok=True)
        stored.write_text(yaml.safe_dump(sweep, sort_keys=False))

    def sweep(self) -> dict:
        return yaml.safe_load((self.root / "sweep.yaml").read_text())

    def lock(self) -> int:
        """Take the directory lock; returns its file descriptor (pass it on to trials so it outlives us)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "sweep.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SweepLockedError(
                f"{self.root} is in use by another `aqa sweep` or by a trial it left running"
            ) from None
        return fd

    def trials(self) -> list[Trial]:
        """All trials, oldest first."""
        if not self.trials_dir.is_dir():
            return []
        return [self.load(p.name) for p in sorted(self.trials_dir.iterdir()) if (p / "config.json").is_file()]

    def load(self, trial_id: str) -> Trial:
        folder = self.trials_dir / trial_id
        status = folder / "status.json"
        metrics = folder / "metrics.json"
        return Trial(
            id=trial_id,
            params=json.loads((folder / "config.json").read_text()),
            status=json.loads(status.read_text()) if status.is_file() else {"state": "pending"},
            metrics=json.loads(metrics.read_text()) if metrics.is_file() else {},
        )

    def add(self, params: dict) -> Trial:
        """Record a newly proposed trial (state `pending`)."""
        trial = Trial(id=f"t{len(self.trials()):03d}", params=params)
        folder = self.trials_dir / trial.id
        folder.mkdir(parents=True, exist_ok=True)  # left without config.json by a kill here: reused
        _write_json(folder / "config.json", params)
        self.save(trial)
        return trial

    def save(self, trial: Trial) -> None:
        """Write the trial's metrics (if any), then its status: a status never says `finished` before its
        metrics are on disk. Each file is replaced atomically."""
        folder = self.trials_dir / trial.id
        if trial.metrics:
            _write_json(folder / "metrics.json", trial.metrics)
        _write_json(folder / "status.json", trial.status)

    def log_path(self, trial: Trial) -> Path:
        return self.trials_dir / trial.id / "log.txt"

    def run_dir(self, trial: Trial) -> Path:
        return self.runs_dir / trial.id


def finish(sweep_dir: SweepDir, trial: Trial, exitcode: int) -> Trial:
    """Record a trial that exited: finished (exit 0 and a metrics.json) or failed (subprocess and in-process
    trials alike)."""
    metrics_file = sweep_dir.run_dir(trial).resolve() / "metrics.json"
    trial.status.update(exitcode=exitcode, ended=time.time())
    if exitcode == 0 and metrics_file.is_file():
        trial.status["state"] = "finished"
        trial.metrics = json.loads(metrics_file.read_text())
    else:
        reason = f"exit code {exitcode}" if exitcode else f"no {metrics_file}"
        trial.status.update(state="failed", reason=reason)
    sweep_dir.save(trial)
    return trial
