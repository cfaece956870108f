"""Split assignment: the manifest's split column, or deterministic ratios over groups; OOD hold-outs."""

import numpy as np
import pandas as pd

from data_modules.errors import UserError

OOD = "test_ood"
HELDOUT = "val_ood"  # sources held out of training, for validation (data.heldout_sources)


class SplitError(UserError):
    """The split settings cannot be honoured (unknown hold-out name, too few groups, ...)."""


def ratio_split(groups: pd.Series, ratios: dict[str, float], seed: int) -> pd.Series:
    """Deterministic split names per row, whole groups at a time (no group in two splits).

    Groups are shuffled with `seed`, then cut where the cumulative row share crosses each ratio, so
    splits get close to their share of rows. Every split with a ratio > 0 gets at least one group.
    """
    names = [n for n, r in ratios.items() if r > 0]
    weights = np.array([ratios[n] for n in names], dtype=float)
    if not names or weights.sum() <= 0:
        raise SplitError(f"split ratios must have a positive entry, got {dict(ratios)}")
    sizes = groups.value_counts(sort=False)
    order = sorted(sizes.index, key=str)
    if len(order) < len(names):
        raise SplitError(
            f"{len(order)} group(s) in `{groups.name}` cannot fill {len(names)} splits {names}; "
            "lower the number of splits or group by a finer column (data.split.group_by)"
        )
    order = [order[i] for i in np.random.default_rng(seed).permutation(len(order))]
    counts = sizes.loc[order].to_numpy(dtype=float)
    middle = (np.cumsum(counts) - counts / 2) / counts.sum()  # each group's position in row share
    bounds = np.cumsum(weights / weights.sum())
    index = np.minimum(np.searchsorted(bounds, middle, side="right"), len(names) - 1)
    # a tiny split may get no group: give it the group nearest to its share, from the largest split
    for k in range(len(names)):
        if not (index == k).any():
            donors = [j for j in range(len(order)) if (index == index[j]).sum() > 1]
            j = min(donors, key=lambda j: abs(middle[j] - (bounds[k] - weights[k] / weights.sum() / 2)))
            index[j] = k
    mapping = dict(zip(order, (names[i] for i in index)))
    return groups.map(mapping).rename("split")


def assign_splits(table: pd.DataFrame, cfg_split) -> pd.Series:
    """Split name per row: `cfg_split.column` when the manifest has it, else ratios grouped by
    `cfg_split.group_by`; rows of `ood_datasets` / `ood_systems` become `test_ood` in either case."""
    held = _held_out(table, list(cfg_split.ood_datasets), list(cfg_split.ood_systems))
    if cfg_split.column in table.columns and table[cfg_split.column].notna().any():
        column = table[cfg_split.column]
        if column.isna().any():
            first = table.loc[column.isna(), "id"].iloc[0]
            raise SplitError(
                f"{int(column.isna().sum())} row(s) have no `{cfg_split.column}` (first: id {first})"
            )
        split = column.astype(str).str.strip().rename("split")
    else:
        if cfg_split.group_by not in table.columns:
            raise SplitError(f"data.split.group_by={cfg_split.group_by!r} is not a column of the table")
        split = pd.Series(OOD, index=table.index, name="split")
        if (~held).any():
            kept = table.loc[~held, cfg_split.group_by].astype(str)
            split[~held] = ratio_split(kept, dict(cfg_split.ratios), int(cfg_split.seed))
    split[held] = OOD
    return split


def _held_out(table: pd.DataFrame, datasets: list[str], systems: list[str]) -> pd.Series:
    held = pd.Series(False, index=table.index)
    for column, names in (("dataset", datasets), ("system", systems)):
        unknown = sorted(set(names) - set(table[column].astype(str)))
        if unknown:
            raise SplitError(f"held-out {column}(s) {unknown} not found in the manifest's `{column}` column")
        held |= table[column].astype(str).isin(names)
    return held


def hold_out_sources(
    table: pd.DataFrame, split: pd.Series, sources: list[str], moved: list[str]
) -> pd.Series:
    """`split` with the rows of datasets `sources` that are in a split of `moved` (train, val) set to
    `val_ood`: those sources are never trained on and validate as unseen sources."""
    if not sources:
        return split
    unknown = sorted(set(sources) - set(table["dataset"].astype(str)))
    if unknown:
        raise SplitError(
            f"data.heldout_sources {unknown} not found in the manifest's `dataset` column "
            f"(datasets: {sorted(set(table['dataset'].astype(str)))})"
        )
    split = split.copy()
    split[table["dataset"].astype(str).isin(sources) & split.isin(moved)] = HELDOUT
    return split
