"""Calibration of predicted rating spread: Gaussian NLL and coverage of the central 90% interval.

Per clip the observations are its individual ratings when it has a rating list, else its MOS target alone
(the same observations the Gaussian NLL trains on); each clip counts once (mean over its observations),
then the mean over clips. Keys: `stage/ASPECT/nll`, `stage/ASPECT/coverage90`, and their mean over aspects
`stage/mean/nll`, `stage/mean/coverage90`. Original rating scale.
"""

import math

import numpy as np
import pandas as pd
from scipy import stats


def gaussian_nll(mean: np.ndarray, std: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(N,), (N,), (N, R) NaN = missing -> (N, R) full NLL -log N(x; mean, std^2) (NaN where x is NaN)."""
    z = (x - mean[:, None]) / std[:, None]
    return 0.5 * np.log(2 * math.pi) + np.log(std[:, None]) + 0.5 * z**2


def covered(mean: np.ndarray, std: np.ndarray, x: np.ndarray, level: float = 0.9) -> np.ndarray:
    """(N,), (N,), (N, R) -> (N, R) float: 1 where x lies in the central `level` interval, NaN where x is NaN."""
    half = stats.norm.ppf(0.5 + level / 2) * std[:, None]
    inside = (np.abs(x - mean[:, None]) <= half).astype(float)
    return np.where(np.isnan(x), np.nan, inside)


def clip_observations(target: np.ndarray, ratings: np.ndarray | None) -> np.ndarray:
    """(N,), (N, R) or None -> (N, max(R, 1)): each clip's ratings if it has any, else its target alone."""
    alone = target[:, None].astype(float)
    if ratings is None or ratings.shape[1] == 0:
        return alone
    has_list = (~np.isnan(ratings)).any(1, keepdims=True)
    padded = np.concatenate([alone, np.full((len(target), ratings.shape[1] - 1), np.nan)], 1)
    return np.where(has_list, ratings, padded)


def _per_clip_mean(values: np.ndarray) -> float:
    rows = values[(~np.isnan(values)).any(1)]
    return float(np.nanmean(rows, axis=1).mean()) if len(rows) else math.nan


def _ratings(clips: pd.DataFrame, index: int) -> np.ndarray | None:
    """(N, R) ratings of aspect `index` from the `_ratings` column ((A, R) per clip), NaN-padded."""
    if "_ratings" not in clips.columns or not len(clips):
        return None
    per_clip = [np.asarray(r, dtype=float)[index] for r in clips["_ratings"]]
    width = max(len(r) for r in per_clip)
    out = np.full((len(per_clip), width), np.nan)
    for row, r in enumerate(per_clip):
        out[row, : len(r)] = r
    return out


def calibration_metrics(clips: pd.DataFrame, aspects: list[str], stage: str) -> dict[str, float]:
    """Per-clip rows with pred_<A>, std_<A>, target_<A> (and optionally `_ratings`) -> NLL and coverage90."""
    out: dict[str, float] = {}
    for i, a in enumerate(aspects):
        mean, std = clips[f"pred_{a}"].to_numpy(float), clips[f"std_{a}"].to_numpy(float)
        obs = clip_observations(clips[f"target_{a}"].to_numpy(float), _ratings(clips, i))
        out[f"{stage}/{a}/nll"] = _per_clip_mean(gaussian_nll(mean, std, obs))
        out[f"{stage}/{a}/coverage90"] = _per_clip_mean(covered(mean, std, obs, 0.9))
    for name in ("nll", "coverage90"):
        finite = [out[f"{stage}/{a}/{name}"] for a in aspects if not math.isnan(out[f"{stage}/{a}/{name}"])]
        out[f"{stage}/mean/{name}"] = float(np.mean(finite)) if finite else math.nan
    return out
