"""An in-process memo for pure metric functions whose inputs repeat from trial to trial (the reference rows,
the target-floor probes: the same clips, targets and seed in every screening trial of a sweep).

A key holds the inputs themselves (array bytes, dtype and shape; the values of object columns), never a
hash of them, so a hit means equal inputs and the memo returns exactly the numbers a fresh call would.
"""

from collections import OrderedDict

import numpy as np
import pandas as pd


def array_key(values) -> tuple:
    """An array (or a frame column) -> a hashable key equal only for equal dtype, shape and values."""
    array = np.asarray(values)
    if array.dtype == object:
        return ("object", array.shape, tuple(array.ravel().tolist()))
    return (array.dtype.str, array.shape, np.ascontiguousarray(array).tobytes())


def frame_key(frame: pd.DataFrame, columns: list[str]) -> tuple:
    """The named columns of `frame` (absent ones marked absent) as a key."""
    return tuple((c, array_key(frame[c].to_numpy()) if c in frame.columns else None) for c in columns)


class Memo:
    """At most `size` results by key, least recently used dropped first; each hit returns a copy of a dict."""

    def __init__(self, size: int = 64):
        self.size = size
        self.results: OrderedDict = OrderedDict()

    def get(self, key, compute):
        if key in self.results:
            self.results.move_to_end(key)
            return dict(self.results[key])
        value = compute()
        self.results[key] = dict(value)
        if len(self.results) > self.size:
            self.results.popitem(last=False)
        return value
