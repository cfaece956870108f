"""`kmeans`: k-means clusters of the (reduced) features (`features`: encoder|acoustic|run:...); auto-K by silhouette."""

import numpy as np

from aqa.definers.cluster import ClusterDefiner

SILHOUETTE_ROWS = 5000  # silhouette is O(n^2): scored on a seeded sample of this many rows


class KMeansDefiner(ClusterDefiner):
    name = "kmeans"
    simplicity = 40

    def fit_k(self, z, k):
        from sklearn.cluster import KMeans

        model = KMeans(n_clusters=k, n_init=4, random_state=self.seed).fit(z)
        return {"centers": model.cluster_centers_.astype(np.float32)}

    def assign(self, z, params):
        centers = np.asarray(params["centers"], dtype=np.float32)  # (K, d)
        distances = (z**2).sum(1, keepdims=True) - 2 * z @ centers.T + (centers**2).sum(1)  # (N, K)
        return distances.argmin(1).astype(np.int64)

    def score(self, z, params, labels):
        from sklearn.metrics import silhouette_score

        if len(np.unique(labels)) < 2:
            return -1.0
        sample = min(len(z), SILHOUETTE_ROWS)
        return silhouette_score(z, labels, sample_size=sample, random_state=self.seed)
