"""The clip table's columns (stage 1 of docs/ARCHITECTURE.md): the one place that names them.

Core: `id` (str, unique), `path` (str, absolute), `split`, `system`, `dataset` (str), `start`, `end` (float
seconds, NaN = whole file). One float column per configured aspect (its name as configured), optional
`<ASPECT>_ratings` (per-rater lists), and int64 `domain_<ASPECT>` labels added by the trainer
(`UNKNOWN_DOMAIN` = -1: no label). Every other column is metadata.
"""

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

ID, PATH, SPLIT, SYSTEM, DATASET, START, END = "id", "path", "split", "system", "dataset", "start", "end"
CORE = [ID, PATH, SPLIT, SYSTEM, DATASET, START, END]
# audiobox-aesthetics' names of the segment columns, read as `start` / `end`
SEGMENT_ALIASES = {"start_time": START, "end_time": END}
UNKNOWN_DOMAIN = -1  # the one meaning of "no domain label" (unseen value, unlabelled row, no definer)


def domain_column(aspect: str) -> str:
    """`domain_<ASPECT>`: the int64 domain labels of one aspect."""
    return f"domain_{aspect}"


def ratings_column(aspect: str) -> str:
    """`<ASPECT>_ratings`: the per-rater scores of one aspect (JSONL lists), when the manifest has them."""
    return f"{aspect}_ratings"


def attach_domains(
    table: pd.DataFrame,
    ids: Sequence,
    labels: Mapping[str, Sequence[int]],
    aspects: Sequence[str] | None = None,
    neutral_splits: Sequence[str] = (),
) -> pd.DataFrame:
    """`table` with int64 `domain_<ASPECT>` columns, matched by id.

    labels: aspect -> (len(ids),) labels aligned with `ids` (unique). A table id not in `ids`, and every row
    of an aspect in `aspects` that `labels` lacks, gets UNKNOWN_DOMAIN. So does every row of a split in
    `neutral_splits` (`data.neutral_splits`: rated in one neutral listening test), for every aspect: the
    conditioned and bias handlings then predict for the neutral (average) test, not for the clip's source.
    """
    position = pd.Index([str(i) for i in ids]).get_indexer(table[ID].astype(str))
    if len(neutral_splits) and SPLIT in table:
        position = np.where(table[SPLIT].astype(str).isin([str(s) for s in neutral_splits]), -1, position)
    columns = {}
    for aspect in list(aspects) if aspects is not None else list(labels):
        values = np.asarray(labels.get(aspect, []), dtype=np.int64)
        if len(values) and len(values) != len(ids):
            raise ValueError(f"domain labels of {aspect}: {len(values)} labels for {len(ids)} ids")
        found = (position >= 0) & (len(values) > 0)
        picked = values[np.maximum(position, 0)] if len(values) else np.zeros(len(table), np.int64)
        columns[domain_column(aspect)] = np.where(found, picked, UNKNOWN_DOMAIN).astype(np.int64)
    return table.assign(**columns)


def domain_matrix(table: pd.DataFrame, aspects: Sequence[str]) -> np.ndarray:
    """(N, A) int64 labels from the `domain_<ASPECT>` columns; a missing column is all UNKNOWN_DOMAIN."""
    n = len(table)
    cols = [
        table[domain_column(a)].to_numpy(np.int64)
        if domain_column(a) in table
        else np.full(n, UNKNOWN_DOMAIN, np.int64)
        for a in aspects
    ]
    return np.stack(cols, 1).reshape(n, len(aspects)) if cols else np.zeros((n, 0), np.int64)
