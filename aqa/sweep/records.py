"""Finished trials of a sweep, offline (a sweep directory) or online (a W&B sweep), in one shape."""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from aqa.metrics.predictions import PREDICTIONS_DIR, read_predictions
from aqa.sweep.state import SweepDir


@dataclass
class TrialRecord:
    id: str
    params: dict  # the swept parameters {key: value}
    metrics: dict  # flat metrics: metrics.json, or the W&B run summary
    config: dict = field(default_factory=dict)  # the resolved config the run used ({} if unknown)
    # {stage: per-clip frame (id, dataset, system, target_<A>, pred_<A>)}: the run's predictions/*.csv
    predictions: dict = field(default_factory=dict)


def definer_params(params: dict) -> dict:
    """The DefinerConfig fields a trial's parameters set: `domain.definer` (a dict, or a name) and
    `domain.definer.<field>` keys, merged in that order."""
    settings = {}
    value = params.get("domain.definer")
    if isinstance(value, dict):
        settings.update(value)
    elif value is not None:
        settings["name"] = value
    for key, value in params.items():
        if key.startswith("domain.definer."):
            settings[key.removeprefix("domain.definer.")] = value
    return settings


def offline_records(directory: str | Path) -> tuple[dict, list[TrialRecord], int]:
    """(sweep config, finished trials, number of failed trials) of an `aqa sweep` directory."""
    sweep_dir = SweepDir(directory)
    if not (sweep_dir.root / "sweep.yaml").is_file():
        raise FileNotFoundError(f"{directory} is not an `aqa sweep` directory (no sweep.yaml)")
    records, failed = [], 0
    for trial in sweep_dir.trials():
        if trial.state != "finished":
            failed += trial.state == "failed"
            continue
        config_file = sweep_dir.run_dir(trial) / "config.yaml"
        config = yaml.safe_load(config_file.read_text()) if config_file.is_file() else {}
        predictions = read_predictions(sweep_dir.run_dir(trial) / PREDICTIONS_DIR)
        records.append(TrialRecord(trial.id, trial.params, trial.metrics, config or {}, predictions))
    return sweep_dir.sweep(), records, failed


def online_records(path: str) -> tuple[dict, list[TrialRecord], int]:
    """The same from a W&B sweep `entity/project/sweep_id`, through the public API."""
    import wandb

    sweep = wandb.Api().sweep(path)
    keys = list(sweep.config.get("parameters", {}))
    records, failed = [], 0
    for run in sweep.runs:
        if run.state != "finished":
            failed += run.state in ("failed", "crashed")
            continue
        params = {k: run.config[k] for k in keys if k in run.config}
        records.append(TrialRecord(run.id, params, dict(run.summary_metrics), dict(run.config)))
    return sweep.config, records, failed
