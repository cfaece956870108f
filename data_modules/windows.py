"""Deterministic evaluation windows of a clip."""

import numpy as np


def eval_windows(length: int, window: int) -> list[tuple[int, int, int]]:
    """[(start, size, weight)] covering a clip of `length` samples.

    A clip no longer than `window` is one window (the whole clip). A longer one is cut into windows of
    exactly `window` samples, the last aligned to the clip end; each weight is the number of samples it
    newly covers, so the weights sum to `length` (a length-weighted mean over the clip).
    """
    if length <= window:
        return [(0, length, length)]
    n = -(-length // window)
    starts = [i * window for i in range(n - 1)] + [length - window]
    weights = [window] * (n - 1) + [length - (n - 1) * window]
    return [(int(s), window, int(w)) for s, w in zip(starts, weights)]


def combine_windows(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(W, A) window scores of one clip + (W,) weights -> (A,) length-weighted mean."""
    weights = np.asarray(weights, dtype=float)
    return (np.asarray(scores, dtype=float) * weights[:, None]).sum(0) / weights.sum()
