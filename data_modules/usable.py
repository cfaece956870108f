"""Which clips of a table can be used: a counted list of skips, never a silent drop."""

import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from rich.progress import track

from data_modules.audio import SKIP_REASONS, AudioCache, AudioError
from data_modules.errors import UserError


class DataError(UserError):
    """Too many unusable clips, or a split that is needed but empty."""


def check_clips(
    table: pd.DataFrame,
    aspects: list[str],
    cache: AudioCache,
    progress: bool = True,
    threads: int = 1,
    description: str = "checking audio",
) -> tuple[np.ndarray, list[tuple[str, str, str]]]:
    """Length in samples per row (-1 = unusable) and the skipped rows as (id, path, reason).

    A clip is unusable when all its aspect targets are NaN (`no_mos`) or its audio is missing, unreadable,
    empty, non-finite or silent. With the cache enabled, a clip is decoded once ever: later calls read
    the cached length (or the cached reason) without decoding. `threads` decode in parallel (libsndfile
    and soxr release the GIL).
    """
    present = [a for a in aspects if a in table]
    no_mos = table[present].isna().all(axis=1).to_numpy() if present else np.zeros(len(table), bool)
    jobs = list(zip(table["path"].astype(str), _col(table, "start"), _col(table, "end"), no_mos))

    def probe(job) -> int | str:
        path, start, end, missing_mos = job
        if missing_mos:
            return "no_mos"
        try:
            return cache.length(path, start, end)
        except AudioError as err:
            return err.reason

    with ThreadPoolExecutor(max(1, threads)) as pool:
        results = track(
            pool.map(probe, jobs), description, len(jobs), disable=not progress or len(jobs) < 100
        )
        results = list(results)
    lengths = np.array([r if isinstance(r, int) else -1 for r in results], dtype=np.int64)
    skipped = [
        (str(id_), path, r)
        for id_, (path, *_), r in zip(table["id"], jobs, results)
        if not isinstance(r, int)
    ]
    return lengths, skipped


def skip_summary(skipped: list[tuple[str, str, str]], total: int) -> str:
    """`skipped 3/10 unusable clip(s): 2 too_short (<message>), 1 silent (<message>)`."""
    counts = Counter(reason for _, _, reason in skipped)
    return f"skipped {len(skipped)}/{total} unusable clip(s): " + ", ".join(
        f"{n} {reason} ({SKIP_REASONS[reason].message})" for reason, n in counts.most_common()
    )


def enforce_skip_limit(skipped: list[tuple[str, str, str]], total: int, max_fraction: float) -> str:
    """A one-line summary of the skips; raises DataError when more than `max_fraction` were skipped."""
    summary = skip_summary(skipped, total)
    first = "; ".join(f"id {id_} ({reason}): {path}" for id_, path, reason in skipped[:5])
    if total and len(skipped) / total > max_fraction:
        raise DataError(f"{summary} > data.max_skip_fraction={max_fraction:g}. First: {first}")
    return f"{summary}. First: {first}" if skipped else "no clips skipped"


def _col(table: pd.DataFrame, col: str) -> list[float]:
    return table[col].astype(float).tolist() if col in table else [math.nan] * len(table)
