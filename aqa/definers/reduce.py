"""Feature preparation before clustering: optional z-scoring, then PCA or UMAP (or nothing).

The fitted state is plain arrays only (it goes into checkpoints loaded with weights_only=True; no pickle).
UMAP has no plain-array form of its model, so `umap` keeps the train rows instead: their PCA coordinates
(at most UMAP_INPUT_DIM dims) and their UMAP embedding. New rows are placed at the distance-weighted mean
of the embeddings of their nearest train rows (in PCA space); a train row gets its own embedding back. The
state grows with the train set: N_train x (UMAP_INPUT_DIM + dim) floats.
"""

import os
import warnings

import numpy as np

from aqa.definers.base import DefinerError

REDUCERS = ("none", "pca", "umap")
UMAP_INPUT_DIM = 50  # umap: PCA to this many dims first (the stored train rows and the neighbour search)
UMAP_NEIGHBORS = 15  # umap's n_neighbors, and the neighbours that place a new row


def import_umap():
    """`import umap` with a persistent numba cache (its first call compiles for tens of seconds)."""
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.expanduser("~/.cache/aqa/numba"))
    import umap

    # a seeded UMAP runs single-threaded (that is the price of determinism): no need to say so each time
    warnings.filterwarnings("ignore", message="n_jobs value .* overridden", category=UserWarning)

    return umap


def fit_pca(z: np.ndarray, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(center (H,), components (d, H)) of a seeded PCA of z (N, H), d = min(dim, N, H)."""
    from sklearn.decomposition import PCA

    dim = min(dim, *z.shape)
    pca = PCA(dim, svd_solver="randomized" if dim < min(z.shape) else "full", random_state=seed).fit(z)
    return pca.mean_.astype(np.float32), pca.components_.astype(np.float32)


class Reducer:
    """fit_transform(x (N, H)) -> (N, d); transform(x (M, H)) -> (M, d). d = min(dim, N, H) for PCA."""

    def __init__(self, standardize: bool, method: str, dim: int, seed: int):
        if method not in REDUCERS:
            raise DefinerError(f"domain definer: reduce must be one of {REDUCERS}, got {method!r}")
        self.standardize, self.method, self.dim, self.seed = standardize, method, dim, seed
        self.mean = self.scale = self.components = self.center = None
        self.train_inputs = self.train_embedding = None  # umap: (N_train, p) PCA coords, (N_train, dim)

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if self.standardize:
            self.mean = x.mean(0)
            std = x.std(0)
            self.scale = np.where(std > 1e-8, std, 1.0).astype(np.float32)
        z = self._standardized(x)
        if self.method == "pca":
            self.center, self.components = fit_pca(z, self.dim, self.seed)
        elif self.method == "umap":
            self.center, self.components = fit_pca(z, UMAP_INPUT_DIM, self.seed)
            self.train_inputs = (z - self.center) @ self.components.T
            umap = import_umap()
            n_neighbors = max(2, min(UMAP_NEIGHBORS, len(z) - 1))
            model = umap.UMAP(n_components=self.dim, n_neighbors=n_neighbors, random_state=self.seed)
            self.train_embedding = model.fit_transform(self.train_inputs).astype(np.float32)
            return self.train_embedding.copy()
        return self.transform(x)

    def _standardized(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return (x - self.mean) / self.scale if self.standardize else x

    def transform(self, x: np.ndarray) -> np.ndarray:
        z = self._standardized(x)
        if self.method == "pca":
            return (z - self.center) @ self.components.T
        if self.method == "umap":
            return self._place((z - self.center) @ self.components.T)
        return z

    def _place(self, p: np.ndarray) -> np.ndarray:
        """(M, p) PCA coords -> (M, dim): inverse-distance mean of the nearest train rows' embeddings."""
        from sklearn.neighbors import NearestNeighbors

        k = min(UMAP_NEIGHBORS, len(self.train_inputs))
        distance, index = NearestNeighbors(n_neighbors=k).fit(self.train_inputs).kneighbors(p)
        exact = distance[:, 0] <= 1e-6
        weights = 1.0 / np.maximum(distance, 1e-6)
        weights[exact] = 0.0
        weights[exact, 0] = 1.0  # a train row (or a copy of one) gets its own embedding
        weights /= weights.sum(1, keepdims=True)
        return np.einsum("mk,mkd->md", weights, self.train_embedding[index]).astype(np.float32)

    def state_dict(self) -> dict:
        """Plain lists (None where unused)."""

        def plain(a):
            return None if a is None else np.asarray(a).tolist()

        names = ("mean", "scale", "center", "components", "train_inputs", "train_embedding")
        return {name: plain(getattr(self, name)) for name in names}

    def load_state_dict(self, state: dict) -> "Reducer":
        if "umap" in state and state["umap"] is not None:
            raise ValueError(
                "this checkpoint's UMAP reducer is a pickle (older aqa): refit the domain labels (aqa train)"
            )
        for name in ("mean", "scale", "center", "components", "train_inputs", "train_embedding"):
            value = state.get(name)
            setattr(self, name, None if value is None else np.asarray(value, dtype=np.float32))
        return self
