"""Shared code of the clustering definers: reduce the features, fit K (given or chosen), name clusters by size."""

import logging

import numpy as np

from aqa.definers.base import UNKNOWN, Definer, DefinerError
from aqa.definers.reduce import Reducer

log = logging.getLogger(__name__)


class ClusterDefiner(Definer):
    """Subclasses implement `fit_k(z, k) -> params`, `assign(z, params) -> labels` and
    `score(z, params, labels) -> float` (higher is better; used to choose K when `k` is None).
    Cluster 0 is the largest on the train rows. Rows with non-finite features get UNKNOWN."""

    needs_embeddings = True
    DEFAULT_FEATURES = "encoder"  # named in the label only when another extractor is used

    @classmethod
    def label(cls, cfg):
        parts = [f"k={cfg.k if cfg.k is not None else 'auto'}", *cls.label_extras(cfg)]
        if str(cfg.features) != cls.DEFAULT_FEATURES:
            parts.append(str(cfg.features))
        return f"{cls.name}({','.join(parts)})"

    @classmethod
    def label_extras(cls, cfg) -> list[str]:
        """Settings beside k that tell two configurations apart (gmm: the covariance type)."""
        return []

    def fit_k(self, z: np.ndarray, k: int) -> dict:
        raise NotImplementedError

    def assign(self, z: np.ndarray, params: dict) -> np.ndarray:
        raise NotImplementedError

    def score(self, z: np.ndarray, params: dict, labels: np.ndarray) -> float:
        raise NotImplementedError

    def _checked(self, features, n_rows: int) -> np.ndarray:
        if features is None:
            raise ValueError(f"domain definer {self.name} needs features ({self.cfg.features})")
        x = np.asarray(features, dtype=np.float32)
        if x.ndim != 2 or len(x) != n_rows:
            raise ValueError(f"domain definer {self.name}: features {x.shape} do not match {n_rows} rows")
        return x

    def fit(self, train_rows, features):
        x = self._checked(features, len(train_rows))
        finite = np.isfinite(x).all(1)
        if not finite.all():
            log.warning(
                "domain definer %s: %d train rows without features left out", self.name, (~finite).sum()
            )
            x = x[finite]
        cfg = self.cfg
        if cfg.k is not None:
            self.check_k(cfg.k, len(x))
            candidates = [cfg.k]
        else:
            candidates = sorted({k for k in cfg.k_range if 2 <= k < len(x)})
            if not candidates:
                raise DefinerError(
                    f"domain definer {self.name}: no k in k_range={list(cfg.k_range)} fits {len(x)} train rows"
                )
        self.reducer = Reducer(cfg.standardize, cfg.reduce, cfg.reduce_dim, self.seed)
        z = self.reducer.fit_transform(x)
        fits = {k: self.fit_k(z, k) for k in candidates}
        self.scores = {}
        if len(candidates) > 1:
            self.scores = {k: float(self.score(z, p, self.assign(z, p))) for k, p in fits.items()}
            log.info("domain definer %s: scores by k %s", self.name, self.scores)
        k = max(self.scores, key=self.scores.get) if self.scores else candidates[0]
        self.params = fits[k]
        counts = np.bincount(self.assign(z, self.params), minlength=k)
        self.rank = np.empty(k, dtype=np.int64)
        self.rank[np.argsort(-counts, kind="stable")] = np.arange(k)  # old label -> new label (by size)
        self.names = [f"{self.name}{i}" for i in range(k)]
        return self

    def predict(self, rows, features):
        x = self._checked(features, len(rows))
        labels = np.full(len(x), UNKNOWN, dtype=np.int64)
        finite = np.isfinite(x).all(1)
        if finite.any():
            labels[finite] = self.rank[self.assign(self.reducer.transform(x[finite]), self.params)]
        return labels

    def state_dict(self):
        return {
            **super().state_dict(),
            "reducer": self.reducer.state_dict(),
            "params": {key: np.asarray(v).tolist() for key, v in self.params.items()},
            "rank": self.rank.tolist(),
            "scores": {str(k): v for k, v in self.scores.items()},
        }

    def load_state_dict(self, state):
        super().load_state_dict(state)
        cfg = self.cfg
        self.reducer = Reducer(cfg.standardize, cfg.reduce, cfg.reduce_dim, self.seed).load_state_dict(
            state["reducer"]
        )
        self.params = {key: np.asarray(v) for key, v in state["params"].items()}
        self.rank = np.asarray(state["rank"], dtype=np.int64)
        self.scores = {int(k): float(v) for k, v in state["scores"].items()}
        return self
