"""Per-clip predictions of a run's final evaluation, saved so that selection can resample clips.

`<run dir>/predictions/<stage>.csv`: one row per clip, columns `id, dataset, system, target_<A>, pred_<A>`
(the frame the stage's metrics were computed from, sorted by id). `aqa select` bootstraps clips within
each source from these files (aqa/sweep/stats.py).
"""

from pathlib import Path

import pandas as pd

PREDICTIONS_DIR = "predictions"
CORE = ["id", "dataset", "system"]


def prediction_columns(aspects: list[str]) -> list[str]:
    return CORE + [f"{kind}_{a}" for a in aspects for kind in ("target", "pred")]


def write_predictions(stages: dict[str, pd.DataFrame], aspects: list[str], folder: str | Path) -> None:
    """{stage: per-clip frame (as the module scored it)} -> `folder/<stage>.csv` per non-empty stage."""
    folder = Path(folder)
    for stage, clips in stages.items():
        if clips is None or not len(clips):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        columns = [c for c in prediction_columns(aspects) if c in clips.columns]
        clips[columns].sort_values("id").to_csv(folder / f"{stage}.csv", index=False)


def read_predictions(folder: str | Path) -> dict[str, pd.DataFrame]:
    """{stage: per-clip frame} of `folder/*.csv` ({} when the run saved none)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {
        f.stem: pd.read_csv(f, dtype={"id": str, "dataset": str, "system": str})
        for f in sorted(folder.glob("*.csv"))
    }
