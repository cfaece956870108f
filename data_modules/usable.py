"""Which clips of a table can be used: a counted list of skips, never a silent drop."""

import math
from collections import Counter

import numpy as np
import pandas as pd
from rich.progress import track

from data_modules.audio import AudioCache, AudioError


class DataError(ValueError):
    """Too many unusable clips, or a split that is needed but empty."""


def check_clips(
    table: pd.DataFrame, aspects: list[str], cache: AudioCache, progress: bool = True
) -> tuple[np.ndarray, list[tuple[str, str, str]]]:
    """Length in samples per row (-1 = unusable) and the skipped rows as (id, path, reason).

    A clip is unusable when all its aspect targets are NaN (`no_mos`) or its audio is missing, unreadable,
    empty, non-finite or silent. With the cache enabled, a clip is decoded once ever: later calls read
    the cached length (or the cached reason) without decoding.
    """
    lengths = np.full(len(table), -1, dtype=np.int64)
    skipped = []
    present = [a for a in aspects if a in table]
    no_mos = table[present].isna().all(axis=1).to_numpy() if present else np.zeros(len(table), bool)
    rows = zip(table["id"].astype(str), table["path"].astype(str), _col(table, "start"), _col(table, "end"))
    show = progress and len(table) > 100
    for i, (id_, path, start, end) in enumerate(track(rows, "checking audio", len(table), disable=not show)):
        if no_mos[i]:
            skipped.append((id_, path, "no_mos"))
            continue
        try:
            lengths[i] = cache.length(path, start, end)
        except AudioError as err:
            skipped.append((id_, path, err.reason))
    return lengths, skipped


def enforce_skip_limit(skipped: list[tuple[str, str, str]], total: int, max_fraction: float) -> str:
    """A one-line summary of the skips; raises DataError when more than `max_fraction` were skipped."""
    counts = Counter(reason for _, _, reason in skipped)
    summary = f"skipped {len(skipped)}/{total} unusable clip(s): " + ", ".join(
        f"{n} {reason}" for reason, n in counts.most_common()
    )
    first = "; ".join(f"id {id_} ({reason}): {path}" for id_, path, reason in skipped[:5])
    if total and len(skipped) / total > max_fraction:
        raise DataError(f"{summary} > data.max_skip_fraction={max_fraction:g}. First: {first}")
    return f"{summary}. First: {first}" if skipped else "no clips skipped"


def _col(table: pd.DataFrame, col: str):
    return table[col].astype(float).tolist() if col in table else [math.nan] * len(table)
