"""Reports of `aqa domains` and `aqa select` to W&B: into the active run, or a run of their own (`--wandb`).

Honours WANDB_MODE (offline writes a run folder to `wandb sync` later; disabled logs nothing).
"""

import os
from pathlib import Path

import pandas as pd


def _plain(value):
    """A table cell W&B can hold: numbers and text as they are, anything else as its text."""
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)


def table_rows(items) -> list[dict]:
    """Dicts or dataclass-like objects -> flat dicts of plain cells (nested dicts become `key/sub` columns)."""
    rows = []
    for item in items:
        fields = (
            item if isinstance(item, dict) else {k: v for k, v in vars(item).items() if not k.startswith("_")}
        )
        row = {}
        for key, value in fields.items():
            if isinstance(value, dict):
                row |= {f"{key}/{k}": _plain(v) for k, v in value.items()}
            else:
                row[key] = _plain(value)
        if not isinstance(item, dict) and hasattr(item, "candidate"):  # a selection row: its definer label
            row["candidate"] = item.candidate.label
        rows.append(row)
    return rows


def log_report(
    kind: str,
    out_dir: str | Path,
    images: dict[str, str | Path] = None,
    tables: dict[str, list] = None,
    files: list[str | Path] = (),
    enabled: bool = False,
    project: str | None = None,
    entity: str | None = None,
) -> str | None:
    """Log images, tables (rows: dicts or objects) and files (as one artifact of type `kind`) to W&B.

    Into `wandb.run` when a run is active; else, when `enabled`, into a new run (job_type `kind`, folder
    `out_dir/wandb`) that is finished here. Returns the run's id, or None when nothing was logged.
    """
    if os.environ.get("WANDB_MODE", "").lower() == "disabled":
        return None
    import wandb  # noqa: PLC0415 (slow import, only when logging)

    run, own = wandb.run, False
    if run is None:
        if not enabled:
            return None
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        run = wandb.init(
            project=project or os.environ.get("WANDB_PROJECT", "aqa"),
            entity=entity,
            job_type=kind,
            dir=str(out_dir),
        )
        own = True
    data = {key: wandb.Image(str(path)) for key, path in (images or {}).items() if Path(path).is_file()}
    for key, rows in (tables or {}).items():
        data[key] = wandb.Table(dataframe=pd.DataFrame(table_rows(rows)))
    if data:
        run.log(data)
    existing = [Path(f) for f in files if Path(f).is_file()]
    if existing:
        artifact = wandb.Artifact(f"{kind}-{run.id}", type=kind)
        for path in existing:
            artifact.add_file(str(path), name=path.name)
        run.log_artifact(artifact)
    run_id = run.id
    if own:
        run.finish()
    return run_id


def sweep_target(source: str) -> dict:
    """{entity, project} of an online sweep path `entity/project/sweep_id` (an offline folder: {})."""
    parts = str(source).split("/")
    if Path(source).is_dir() or len(parts) != 3:
        return {}
    return {"entity": parts[0], "project": parts[1]}
