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
    frame = pd.DataFrame({"pred": pred, "target": target, "source": sources}).dropna()
    total, weight, used = 0.0, 0, 0
    for _, part in frame.groupby("source", sort=True):
        p, t = part["pred"].to_numpy(np.float64), part["target"].to_numpy(np.float64)
        if len(part) < max(2, min_clips) or is_constant(t):
            continue
        if is_constant(p):
            srcc = 0.0
        else:
            srcc = spearman_rho(p, t)
        total += len(part) * srcc
        weight += len(part)
        used += 1
    return (total / weight if weight else math.nan), used
