"""Schema of the `metrics:` section (how evaluation metrics are computed)."""

from dataclasses import dataclass


@dataclass
class MetricsConfig:
    min_source_clips: int = 5  # within_srcc leaves out sources with fewer clips than this (too few to rank)
