"""`random`: K balanced random labels for a fixed seed (the control)."""

import hashlib

import numpy as np

from aqa.definers.base import Definer, DefinerError


class RandomDefiner(Definer):
    """Train rows: a seeded permutation of 0..K-1 repeated (sizes differ by at most one).
    Other rows: a seeded hash of the row id (stable, no meaning: for diagnostics only)."""

    name = "random"
    simplicity = 10
    control = True

    @classmethod
    def label(cls, cfg):
        return f"random(k={cfg.k})"

    @property
    def needs_columns(self):
        return ["id"]

    def fit(self, train_rows, features):
        k = self.cfg.k
        if k is None:
            raise DefinerError("domain definer random needs k (e.g. domain.definer.k=4)")
        self.check_k(k, len(train_rows))
        rng = np.random.default_rng(self.seed)
        labels = rng.permutation(np.arange(len(train_rows)) % k)
        self.train = dict(zip(train_rows["id"].astype(str), labels.tolist()))
        self.names = [f"random{i}" for i in range(k)]
        return self

    def _hashed(self, row_id: str) -> int:
        digest = hashlib.sha1(f"{self.seed}:{row_id}".encode()).digest()
        return int.from_bytes(digest[:8], "little") % len(self.names)

    def predict(self, rows, features):
        ids = rows["id"].astype(str)
        return np.array([self.train.get(i, self._hashed(i)) for i in ids], dtype=np.int64)

    def state_dict(self):
        return {
            **super().state_dict(),
            "train_ids": list(self.train),
            "train_labels": list(self.train.values()),
        }

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.train = dict(zip(state["train_ids"], (int(v) for v in state["train_labels"])))
        return self
