"""Whether the checkpoint monitor can be computed on the validation rows at all (before any training).

A monitor that is NaN on every epoch keeps an arbitrary checkpoint. It is NaN whatever the model predicts when
the validation targets leave nothing to rank: `within_srcc` with no source of `metrics.min_source_clips`
rated clips and varied targets, a correlation over fewer than 2 rated clips (or systems) or constant targets.
Keys: `val/ASPECT/LEVEL_METRIC`, `val/mean/...` (computable when one aspect is); other keys pass unchecked.
"""

import pandas as pd

from aqa.metrics.constant import is_constant

_CORRELATIONS = ("srcc", "lcc", "ktau")


def _within_ok(rated: pd.DataFrame, aspect: str, min_clips: int) -> bool:
    if "dataset" not in rated:
        return False
    return any(
        len(part) >= max(2, min_clips) and not is_constant(part[aspect].to_numpy(float))
        for _, part in rated.groupby("dataset")
    )


def _pairs_ok(targets: pd.Series) -> bool:
    return len(targets) >= 2 and not is_constant(targets.to_numpy(float))


def _computable(rated: pd.DataFrame, aspect: str, metric: str, min_clips: int) -> bool:
    if metric == "within_srcc":
        return _within_ok(rated, aspect, min_clips)
    level, _, name = metric.partition("_")
    if name not in _CORRELATIONS:
        return len(rated) > 0
    if level == "sys":
        return "system" in rated and _pairs_ok(rated.groupby("system")[aspect].mean())
    return _pairs_ok(rated[aspect])


def monitor_problem(
    monitor: str, table: pd.DataFrame, aspects: list[str], val_split: str, min_source_clips: int
) -> str | None:
    """-> why `monitor` is NaN on the `val_split` rows of `table` whatever the model predicts, with the fix;
    None when it can be computed (or is not a key this check knows)."""
    parts = monitor.split("/")
    if len(parts) != 3 or parts[0] != "val" or (parts[1] != "mean" and parts[1] not in aspects):
        return None
    _, aspect, metric = parts
    val = table[table["split"] == val_split]
    chosen = aspects if aspect == "mean" else [aspect]
    if any(_computable(val[val[a].notna()], a, metric, min_source_clips) for a in chosen if a in val):
        return None
    if metric == "within_srcc":
        counts = val.groupby("dataset").size().to_dict() if "dataset" in val else {}
        cause = (
            f"no validation source has {max(2, min_source_clips)} rated clips with varied targets "
            f"(metrics.min_source_clips={min_source_clips}; clips per source: {counts})"
        )
    else:
        cause = f"the {len(val)} validation clip(s) give fewer than 2 rated points or constant targets"
    return (
        f"checkpoint.monitor {monitor!r} cannot be computed on split {val_split!r}: {cause}, so every epoch "
        "would score NaN and the kept checkpoint would be arbitrary. Fix: more validation clips per source, "
        "another monitor (e.g. checkpoint.monitor=val/mean/utt_srcc), or a lower metrics.min_source_clips."
    )


def require_monitor(cfg, table: pd.DataFrame) -> None:
    """Raise ConfigError (exit 2) when `cfg.checkpoint.monitor` cannot be computed on `table`'s val rows."""
    from aqa.config.load import ConfigError  # noqa: PLC0415

    args = (list(cfg.data.aspects), cfg.data.val_split, cfg.metrics.min_source_clips)
    if problem := monitor_problem(cfg.checkpoint.monitor, table, *args):
        raise ConfigError(problem)
