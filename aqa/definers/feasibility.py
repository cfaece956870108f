"""What `fit_domain_labels` would refuse, found from the config and the table alone (no embeddings),
so `aqa validate` reports it before any training."""

import pandas as pd

from aqa.definers.base import DefinerError
from aqa.definers.cluster import ClusterDefiner
from aqa.definers.labels import train_mask
from aqa.definers.random_labels import RandomDefiner
from aqa.definers.registry import build_definer
from aqa.definers.resolve import resolve_definers


def definer_problems(
    domain, table: pd.DataFrame, *, aspects: list[str], train_split: str, seed: int
) -> list[str]:
    """One message per aspect whose definer cannot be fitted on `table` (empty: all feasible).

    domain: the `domain:` section; aspects, train_split: `data.aspects`, `data.train_split`; seed: `seed`.
    """
    try:
        specs = resolve_definers(domain, list(aspects), seed)  # unknown aspects, definers
        n_train = int(train_mask(train_split, table).sum())
    except DefinerError as err:
        return [str(err)]
    problems = []
    for aspect, spec in specs.items():
        try:
            definer = build_definer(spec)
            missing = [c for c in definer.needs_columns if c not in table.columns]
            if missing:
                raise DefinerError(f"domain definer {spec.name}: column(s) {missing} not in the table")
            if isinstance(definer, RandomDefiner) and spec.k is None:
                raise DefinerError("domain definer random needs k (e.g. domain.definer.k=4)")
            if isinstance(definer, (ClusterDefiner, RandomDefiner)) and spec.k is not None:
                definer.check_k(spec.k, n_train)
            fits = any(2 <= k < n_train for k in spec.k_range)
            if isinstance(definer, ClusterDefiner) and spec.k is None and not fits:
                raise DefinerError(
                    f"domain definer {spec.name}: no k in k_range={list(spec.k_range)} fits {n_train} train rows"
                )
        except DefinerError as err:
            problems.append(f"aspect {aspect}: {err}")
    return problems
