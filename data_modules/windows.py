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


def window_mean(values, weights, clips=None, n_clips: int | None = None) -> np.ndarray:
    """The one window combination: length-weighted mean of window values per clip.

    values (W, ...) per window, weights (W,), clips (W,) int clip index in [0, n_clips) (None: all one clip)
    -> (n_clips, ...) float64, or (...) for one clip. A clip without windows (or zero weight) gets NaN.
    """
    values, weights = np.asarray(values, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    one = clips is None
    clips = np.zeros(len(weights), np.int64) if one else np.asarray(clips, dtype=np.int64)
    n = 1 if one else (int(clips.max()) + 1 if n_clips is None and len(clips) else int(n_clips or 0))
    sums = np.zeros((n,) + values.shape[1:])
    totals = np.zeros(n)
    np.add.at(sums, clips, values * weights.reshape((-1,) + (1,) * (values.ndim - 1)))
    np.add.at(totals, clips, weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = sums / totals.reshape((-1,) + (1,) * (values.ndim - 1))
    out[totals <= 0] = np.nan
    return out[0] if one else out
