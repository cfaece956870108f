"""The definer interface: (train rows, their features) -> fitted state -> one int64 domain label per row.

A definer is pure: it reads table columns and the features it is handed (computed by `aqa.features`), never
files or models. It describes itself on the class: what it needs (`needs_columns`, `needs_embeddings` and
`features(cfg)`), its `simplicity` rank, whether it is a `control`, and its `label(cfg)`.
"""

import numpy as np
import pandas as pd

from aqa.config.domain import DefinerConfig
from data_modules.errors import UserError
from data_modules.manifest.columns import UNKNOWN_DOMAIN as UNKNOWN  # noqa: F401 (a row no domain fits)


class DefinerError(UserError):
    """A definer setting that cannot work on this data (unknown name or aspect, k too large, missing column)."""


class Definer:
    """Base class. Subclasses set `name` and implement `fit` / `predict` (and extend the state).

    fit(train_rows: DataFrame (N_train rows), features: (N_train, H) | None) -> self
    predict(rows: DataFrame (N rows), features: (N, H) | None) -> (N,) int64 in [0, K) or UNKNOWN
    """

    name = ""
    needs_embeddings = False  # True: fit/predict need per-clip features (`features(cfg)` names which)
    adversary = True  # False: the definer means "no adversary" (ERM)
    simplicity = 100  # rank among definers when tied (lower = simpler; ERM `none` is 0)
    control = False  # True: a control (random labels): reported, never selected

    @classmethod
    def features(cls, cfg: DefinerConfig) -> str | None:
        """The `aqa.features` spec fit/predict need (e.g. `encoder`, `acoustic`), None if no features."""
        return str(cfg.features) if cls.needs_embeddings else None

    @classmethod
    def label(cls, cfg: DefinerConfig) -> str:
        """Short readable name of a configuration, e.g. `kmeans(k=4)` (reports, ranking, `aqa domains`)."""
        return cls.name

    def __init__(self, cfg: DefinerConfig):
        self.cfg = cfg
        self.names: list[str] = []  # domain names, index = label

    @property
    def seed(self) -> int:
        """The definer's seed; `resolve_definers` fills a None seed with the run's top-level `seed`."""
        if self.cfg.seed is None:
            raise ValueError(
                f"domain definer {self.name}: seed is None (resolve_definers(..., seed=cfg.seed) sets it)"
            )
        return int(self.cfg.seed)

    @property
    def needs_columns(self) -> list[str]:
        """Table columns that fit/predict read."""
        return []

    def fit(self, train_rows: pd.DataFrame, features: np.ndarray | None) -> "Definer":
        raise NotImplementedError

    def predict(self, rows: pd.DataFrame, features: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Plain Python values only (it goes into the checkpoint, loaded with weights_only=True)."""
        return {"names": list(self.names)}

    def load_state_dict(self, state: dict) -> "Definer":
        self.names = list(state["names"])
        return self

    def check_k(self, k: int, n_train: int) -> None:
        """K must be at least 1 and at most the number of train rows."""
        if k < 1:
            raise DefinerError(f"domain definer {self.name}: k must be >= 1, got {k}")
        if k > n_train:
            raise DefinerError(
                f"domain definer {self.name}: k={k} is larger than the train set ({n_train} rows)"
            )
