"""`gmm`: Gaussian-mixture components of the (reduced) features (`features`: encoder|acoustic|run:...); auto-K by BIC."""

import numpy as np

from aqa.definers.base import DefinerError
from aqa.definers.cluster import ClusterDefiner

COVARIANCES = ("full", "tied", "diag", "spherical")


class GMMDefiner(ClusterDefiner):
    name = "gmm"
    simplicity = 50

    @classmethod
    def label_extras(cls, cfg):
        return [str(cfg.covariance)]

    def fit_k(self, z, k):
        from sklearn.mixture import GaussianMixture

        if self.cfg.covariance not in COVARIANCES:
            raise DefinerError(f"domain definer gmm: covariance must be one of {COVARIANCES}")
        model = GaussianMixture(k, covariance_type=self.cfg.covariance, random_state=self.seed).fit(z)
        return {
            "weights": model.weights_,
            "means": model.means_,
            "covariances": model.covariances_,
            "precisions_cholesky": model.precisions_cholesky_,
        }

    def _model(self, params):
        from sklearn.mixture import GaussianMixture

        model = GaussianMixture(len(params["weights"]), covariance_type=self.cfg.covariance)
        model.weights_ = np.asarray(params["weights"], dtype=np.float64)
        model.means_ = np.asarray(params["means"], dtype=np.float64)
        model.covariances_ = np.asarray(params["covariances"], dtype=np.float64)
        model.precisions_cholesky_ = np.asarray(params["precisions_cholesky"], dtype=np.float64)
        return model

    def assign(self, z, params):
        return self._model(params).predict(np.asarray(z, dtype=np.float64)).astype(np.int64)

    def score(self, z, params, labels):
        return -self._model(params).bic(np.asarray(z, dtype=np.float64))  # lower BIC is better
