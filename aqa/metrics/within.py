"""Within-source SRCC: the utterance SRCC inside each source dataset, averaged over sources (by clips).

Offsets between sources cannot score here: a predictor that only knows a clip's source is constant within
every source and gets 0. Keys: `stage/ASPECT/within_srcc`, `stage/ASPECT/within_sources`.
"""

import math

import numpy as np
import pandas as pd

from aqa.metrics.constant import is_constant
from aqa.metrics.spearman import spearman_rho


def within_source_srcc(
    pred: np.ndarray, target: np.ndarray, sources: np.ndarray, min_clips: int
) -> tuple[float, int]:
    """(N,), (N,), (N,) -> (clip-weighted mean of each source's SRCC, number of sources used).

    Rows with a NaN prediction or target are dropped first. A source is left out when it has fewer than
    `min_clips` rows or constant targets (nothing to rank); constant predictions within a source count as
    SRCC 0 (they rank nothing). NaN when no source is left.
    """
    pred, target = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    rated = ~(np.isnan(pred) | np.isnan(target) | pd.isna(sources))
    pred, target, sources = pred[rated], target[rated], np.asarray(sources)[rated]
    total, weight, used = 0.0, 0, 0
    for _, rows in group_rows(sources):
        p, t = pred[rows], target[rows]
        if len(rows) < max(2, min_clips) or is_constant(t):
            continue
        srcc = 0.0 if is_constant(p) else spearman_rho(p, t)
        total += len(rows) * srcc
        weight += len(rows)
        used += 1
    return (total / weight if weight else math.nan), used


def group_rows(keys: np.ndarray) -> list[tuple[object, np.ndarray]]:
    """(N,) keys -> [(key, row indices)] in sorted key order, rows in their order, missing keys left out:
    the groups of `DataFrame.groupby(key, sort=True)` without building a frame (metrics run every epoch)."""
    codes, uniques = pd.factorize(np.asarray(keys), sort=True)  # a missing key: code -1
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return [(uniques[i], order[bounds[i] : bounds[i + 1]]) for i in range(len(uniques))]
