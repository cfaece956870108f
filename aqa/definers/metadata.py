"""`metadata`: one domain per value (or combination of values) of metadata columns, e.g. modality+language."""

import numpy as np
import pandas as pd

from aqa.definers.base import UNKNOWN, Definer, DefinerError

MISSING = "<NA>"  # how an empty/NaN metadata value is named (it is a value like any other)


def combined_values(rows: pd.DataFrame, columns: list[str]) -> list[str]:
    """One string per row: the values of `columns` joined with ' | '."""
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise DefinerError(
            f"domain definer: column(s) {missing} not in the table (has {sorted(rows.columns)})"
        )
    parts = [rows[c].astype(object).where(rows[c].notna(), MISSING).astype(str) for c in columns]
    return [" | ".join(values) for values in zip(*parts)]


class MetadataDefiner(Definer):
    """Domains = the sorted distinct values seen in train; a value not seen in train -> UNKNOWN."""

    name = "metadata"
    simplicity = 30

    @classmethod
    def label(cls, cfg):
        return f"metadata({'+'.join(cfg.columns)})"

    @property
    def needs_columns(self):
        if not self.cfg.columns:
            raise DefinerError(
                "domain definer metadata needs columns (e.g. domain.definer.columns=[language])"
            )
        return list(self.cfg.columns)

    def fit(self, train_rows, features):
        self.names = sorted(set(combined_values(train_rows, self.needs_columns)))
        return self

    def predict(self, rows, features):
        index = {name: i for i, name in enumerate(self.names)}
        values = combined_values(rows, self.needs_columns)
        return np.array([index.get(v, UNKNOWN) for v in values], dtype=np.int64)
