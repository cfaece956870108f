"""Feature preparation before clustering: optional z-scoring, then PCA or UMAP (or nothing)."""

import base64
import os
import pickle
import warnings

import numpy as np

from aqa.definers.base import DefinerError

REDUCERS = ("none", "pca", "umap")


def import_umap():
    """`import umap` with a persistent numba cache (its first call compiles for tens of seconds)."""
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.expanduser("~/.cache/aqa/numba"))
    import umap

    # a seeded UMAP runs single-threaded (that is the price of determinism): no need to say so each time
    warnings.filterwarnings("ignore", message="n_jobs value .* overridden", category=UserWarning)

    return umap


class Reducer:
    """fit_transform(x (N, H)) -> (N, d); transform(x (M, H)) -> (M, d). d = min(dim, N, H) for PCA."""

    def __init__(self, standardize: bool, method: str, dim: int, seed: int):
        if method not in REDUCERS:
            raise DefinerError(f"domain definer: reduce must be one of {REDUCERS}, got {method!r}")
        self.standardize, self.method, self.dim, self.seed = standardize, method, dim, seed
        self.mean = self.scale = self.components = self.center = self.umap = None

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if self.standardize:
            self.mean = x.mean(0)
            std = x.std(0)
            self.scale = np.where(std > 1e-8, std, 1.0).astype(np.float32)
        z = self._standardized(x)
        if self.method == "pca":
            from sklearn.decomposition import PCA

            dim = min(self.dim, *z.shape)
            pca = PCA(dim, svd_solver="randomized" if dim < min(z.shape) else "full", random_state=self.seed)
            pca.fit(z)
            self.center, self.components = pca.mean_.astype(np.float32), pca.components_.astype(np.float32)
        elif self.method == "umap":
            umap = import_umap()
            n_neighbors = max(2, min(15, len(z) - 1))
            self.umap = umap.UMAP(n_components=self.dim, n_neighbors=n_neighbors, random_state=self.seed)
            return self.umap.fit_transform(z).astype(np.float32)
        return self.transform(x)

    def _standardized(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return (x - self.mean) / self.scale if self.standardize else x

    def transform(self, x: np.ndarray) -> np.ndarray:
        z = self._standardized(x)
        if self.method == "pca":
            return (z - self.center) @ self.components.T
        if self.method == "umap":
            return self.umap.transform(z).astype(np.float32)
        return z

    def state_dict(self) -> dict:
        """Plain lists; a fitted UMAP is kept as base64 pickle text."""

        def plain(a):
            return None if a is None else a.tolist()

        umap_blob = None if self.umap is None else base64.b64encode(pickle.dumps(self.umap)).decode()
        return {
            "mean": plain(self.mean),
            "scale": plain(self.scale),
            "center": plain(self.center),
            "components": plain(self.components),
            "umap": umap_blob,
        }

    def load_state_dict(self, state: dict) -> "Reducer":
        def array(v):
            return None if v is None else np.asarray(v, dtype=np.float32)

        self.mean, self.scale = array(state["mean"]), array(state["scale"])
        self.center, self.components = array(state["center"]), array(state["components"])
        if state["umap"] is not None:
            import_umap()
            self.umap = pickle.loads(base64.b64decode(state["umap"]))
        return self
