"""Reference predictors scored beside the model with the same metric code on the same clips: the train
mean (`constant/...`) and ridge probes on frozen features (`linear/<features>/...`). The source lookup
is `shortcut.py`. This module owns the reference-row vocabulary (prefixes, labels) and the flag for a
model that does not beat its own encoder's linear probe.

A probe is a standardised ridge regression per aspect whose penalty RidgeCV chooses on the train split
alone (efficient leave-one-out CV over `ALPHAS`); val/test targets never reach the fit.
"""

import math

import numpy as np
import pandas as pd

from aqa.metrics.memo import Memo, array_key, frame_key
from aqa.metrics.scores import HIGHER_IS_BETTER, split_metrics
from aqa.metrics.shortcut import PREFIX as SHORTCUT_PREFIX

CONSTANT_PREFIX = "constant"
PROBE_FEATURES = ("encoder", "acoustic")  # feature specs of aqa.features the probes read
ALPHAS = np.logspace(-3, 5, 17)  # ridge penalties RidgeCV chooses from (on train only)
MIN_TRAIN = 3  # rated train clips with features a probe needs


def linear_prefix(features: str) -> str:
    """`linear/<features>`: the key prefix of the ridge probe on those features."""
    return f"linear/{features}"


ENCODER_PROBE = linear_prefix("encoder")  # the probe a trained model must beat
REFERENCES = {  # key prefix -> label of the row in every table, in display order
    SHORTCUT_PREFIX: "source lookup (shortcut)",
    CONSTANT_PREFIX: "train mean (constant)",
    ENCODER_PROBE: "linear probe (encoder)",
    linear_prefix("acoustic"): "linear probe (acoustic)",
}


def reference_key(prefix: str, key: str) -> str:
    """`linear/encoder` + `val/PQ/within_srcc` -> `linear/encoder/val/PQ/within_srcc`."""
    return f"{prefix}/{key}"


def below_probe(model: float, probe: float, metric: str) -> bool:
    """The model does not beat the probe on `metric` (e.g. `within_srcc`, `utt_mse`); False if either is NaN."""
    if not (math.isfinite(model) and math.isfinite(probe)):
        return False
    higher = HIGHER_IS_BETTER.get(metric.rsplit("_", 1)[-1], True)  # `within_srcc` -> srcc, `utt_mse` -> mse
    return model <= probe if higher else model >= probe


def fit_ridge(x: np.ndarray, y: np.ndarray):
    """(N, H) train features, (N,) train targets -> fitted scaler + RidgeCV, rows with NaN left out; None
    with fewer than `MIN_TRAIN` such rows (the probe's rows are then NaN: a reference never stops a run)."""
    from sklearn.linear_model import RidgeCV  # noqa: PLC0415 (heavy: not for the report tables)
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    ok = ~(np.isnan(x).any(axis=1) | np.isnan(y))
    if ok.sum() < MIN_TRAIN:
        return None
    return make_pipeline(StandardScaler(), RidgeCV(alphas=ALPHAS)).fit(x[ok], y[ok])


def fit_probes(features: np.ndarray, table: pd.DataFrame, aspects: list[str], train_split: str) -> dict:
    """features (N, H) aligned with `table` rows -> {aspect: ridge fitted on the train rows alone}."""
    train = (table["split"] == train_split).to_numpy()
    return {a: fit_ridge(features[train], table[a].to_numpy(np.float64)[train]) for a in aspects}


def _score(prefix: str, stages: dict, predict, aspects: list[str], min_source_clips: int) -> dict:
    out: dict[str, float] = {}
    for stage, clips in stages.items():
        if clips is None or not len(clips):
            continue
        clips = clips.copy()
        for a in aspects:
            clips[f"pred_{a}"] = predict(clips, a)
        out |= split_metrics(clips, aspects, f"{prefix}/{stage}", min_source_clips=min_source_clips)
    return out


def constant_metrics(
    table: pd.DataFrame, aspects: list[str], stages: dict, train_split: str, min_source_clips: int = 5
) -> dict[str, float]:
    """The train mean per aspect, scored per stage: `constant/<stage>/<A>/<metric>` (correlations NaN)."""
    train = table[table["split"] == train_split]
    means = {a: float(np.nanmean(train[a])) for a in aspects}
    return _score(CONSTANT_PREFIX, stages, lambda c, a: np.full(len(c), means[a]), aspects, min_source_clips)


def linear_metrics(
    features: np.ndarray,
    table: pd.DataFrame,
    aspects: list[str],
    stages: dict,
    train_split: str,
    prefix: str,
    min_source_clips: int = 5,
) -> dict[str, float]:
    """features (N, H) aligned with `table` rows -> a ridge per aspect fitted on the train rows, scored on
    every stage's clips {stage: frame (id, system, dataset, target_<A>, ...)}: `<prefix>/<stage>/<A>/<metric>`.
    A clip without features (NaN row, unusable) gets a NaN prediction and is left out of the scores.
    Equal inputs (features, table rows, clips) return the memoised result of an earlier call."""
    clip_columns = ["id", "system", "dataset", *(f"target_{a}" for a in aspects)]
    key = (
        array_key(features),
        frame_key(table, ["id", "split", *aspects]),
        tuple((stage, None if c is None else frame_key(c, clip_columns)) for stage, c in stages.items()),
        tuple(aspects),
        train_split,
        prefix,
        min_source_clips,
    )
    args = (features, table, aspects, stages, train_split, prefix, min_source_clips)
    return _MEMO.get(key, lambda: _linear_metrics(*args))


_MEMO = Memo()  # the probes of every screening trial on the same table and features


def _linear_metrics(features, table, aspects, stages, train_split, prefix, min_source_clips) -> dict:
    rows = pd.Series(np.arange(len(table)), index=table["id"].astype(str).to_numpy())
    probes = fit_probes(features, table, aspects, train_split)

    def predict(clips: pd.DataFrame, aspect: str) -> np.ndarray:
        x = features[rows.loc[clips["id"].astype(str).to_numpy()].to_numpy()]
        pred = np.full(len(x), np.nan)
        ok = ~np.isnan(x).any(axis=1)
        if ok.any() and probes[aspect] is not None:
            pred[ok] = probes[aspect].predict(x[ok])
        return pred

    return _score(prefix, stages, predict, aspects, min_source_clips)
