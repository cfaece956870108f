"""The extractor interface: evaluation windows of audio -> one feature vector per window."""

from collections.abc import Callable

import numpy as np
import torch

WindowFn = Callable[[torch.Tensor, torch.Tensor], np.ndarray]  # (audio (B, T), lengths (B,)) -> (B, H)


class Extractor:
    """Subclasses set `name` and `description` (one line, shown by `EXTRACTORS` users) and implement
    `identity` (what the features depend on besides the rows, rate and windows: the cache key) and
    `open` (load what is needed once and return the per-window function); both get the
    `FeatureSettings` (aqa/features/settings.py). `arg` is the text after `name:` in the spec
    (`run:<checkpoint>` -> the checkpoint), None when absent."""

    name = ""
    description = ""

    def __init__(self, arg: str | None = None):
        self.arg = arg

    def identity(self, settings) -> dict:
        raise NotImplementedError

    def open(self, settings, sample_rate: int) -> WindowFn:
        raise NotImplementedError
