"""Metrics computed from the gathered rows of a whole split (exact under DDP)."""

from aqa.metrics.rows import EvalRows, combine_windows
from aqa.metrics.scores import split_metrics

__all__ = ["EvalRows", "combine_windows", "split_metrics"]
