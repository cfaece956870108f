"""The source-lookup reference: what a predictor that only knows each clip's source dataset scores.

It outputs each train source's mean train MOS (no audio; a source unseen in train gets the global train
mean) and is scored with the same metric code on the same clips as the model. Keys: `shortcut/<key>`.
"""

import numpy as np
import pandas as pd

from aqa.metrics.scores import split_metrics

PREFIX = "shortcut"


def source_lookup(table: pd.DataFrame, aspects: list[str], train_split: str, datasets) -> pd.DataFrame:
    """(N,) dataset names -> (N, A) predictions of the lookup fitted on `table`'s train rows."""
    train = table[table["split"] == train_split]
    out = {}
    for a in aspects:
        means = train.groupby("dataset")[a].mean()  # NaN targets are left out of each mean
        out[a] = pd.Series(datasets).map(means).fillna(float(np.nanmean(train[a]))).to_numpy(float)
    return pd.DataFrame(out)


def shortcut_metrics(
    table: pd.DataFrame,
    aspects: list[str],
    stages: dict[str, pd.DataFrame],
    train_split: str,
    min_source_clips: int = 5,
) -> dict[str, float]:
    """Every metric of `split_metrics` for the source lookup, per stage: {stage: per-clip frame (id, system,
    dataset, target_<A>, ...) as the model was scored on} -> `shortcut/<stage>/<ASPECT>/<metric>`."""
    out: dict[str, float] = {}
    for stage, clips in stages.items():
        if clips is None or not len(clips):
            continue
        clips = clips.copy()
        lookup = source_lookup(table, aspects, train_split, clips["dataset"].to_numpy())
        for a in aspects:
            clips[f"pred_{a}"] = lookup[a].to_numpy()
        out |= split_metrics(clips, aspects, f"{PREFIX}/{stage}", min_source_clips=min_source_clips)
    return out
