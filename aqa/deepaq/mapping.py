"""Distance -> MOS mappings fitted on a small labelled set, stored as plain arrays (a dict of lists).

- cubic: a cubic polynomial in the distance, least squares under the constraint that it is non-increasing
  on the fitted distance range (derivative <= 0 on a grid; scipy SLSQP); distances outside the range are
  clipped to it, so the mapping is monotone everywhere.
- mlp: scikit-learn MLPRegressor (one small ReLU hidden layer, L-BFGS for small data) on the standardised distance; its weights are
  exported and applied with numpy (no pickle). It is not constrained to be monotone.
"""

import numpy as np
from scipy import optimize
from sklearn.neural_network import MLPRegressor

GRID = 101  # points where the cubic's derivative is constrained


def _unit(d: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (np.clip(d, lo, hi) - lo) / max(hi - lo, 1e-12)


def fit_cubic(distance: np.ndarray, mos: np.ndarray) -> dict:
    """(N,), (N,) -> {"kind": "cubic", "coef": [c0..c3] in u = (d - lo) / (hi - lo), "lo", "hi"}."""
    d, y = np.asarray(distance, np.float64), np.asarray(mos, np.float64)
    lo, hi = float(d.min()), float(d.max())
    u = _unit(d, lo, hi)
    design = np.stack([u**0, u, u**2, u**3], 1)  # (N, 4)
    grid = np.linspace(0, 1, GRID)
    slope = np.stack([0 * grid, grid**0, 2 * grid, 3 * grid**2], 1)  # d/du of each basis, (G, 4)
    start = np.linalg.lstsq(design[:, :2], y, rcond=None)[0]
    start = np.array([start[0], min(start[1], 0.0), 0.0, 0.0])
    result = optimize.minimize(
        lambda c: np.mean((design @ c - y) ** 2),
        start,
        jac=lambda c: 2 * design.T @ (design @ c - y) / len(y),
        constraints=[{"type": "ineq", "fun": lambda c: -(slope @ c), "jac": lambda c: -slope}],
        method="SLSQP",
    )
    return {"kind": "cubic", "coef": [float(c) for c in result.x], "lo": lo, "hi": hi}


def fit_mlp(distance: np.ndarray, mos: np.ndarray, hidden: int = 16, seed: int = 0) -> dict:
    """(N,), (N,) -> {"kind": "mlp", "weights": [...], "biases": [...], "mean", "std"} (ReLU hidden layer)."""
    d = np.asarray(distance, np.float64)
    mean, std = float(d.mean()), float(d.std()) or 1.0
    net = MLPRegressor(
        hidden_layer_sizes=(hidden,), solver="lbfgs", max_iter=2000, random_state=seed, alpha=1e-3
    )
    net.fit(((d - mean) / std)[:, None], np.asarray(mos, np.float64))
    return {
        "kind": "mlp",
        "weights": [w.tolist() for w in net.coefs_],
        "biases": [b.tolist() for b in net.intercepts_],
        "mean": mean,
        "std": std,
    }


def apply_mapping(mapping: dict, distance: np.ndarray) -> np.ndarray:
    """(N,) distances -> (N,) MOS with a mapping dict from fit_cubic / fit_mlp."""
    d = np.asarray(distance, np.float64)
    if mapping["kind"] == "cubic":
        u = _unit(d, mapping["lo"], mapping["hi"])
        return np.polynomial.polynomial.polyval(u, mapping["coef"])
    if mapping["kind"] == "mlp":
        h = ((d - mapping["mean"]) / mapping["std"])[:, None]
        layers = list(zip(mapping["weights"], mapping["biases"]))
        for k, (w, b) in enumerate(layers):
            h = h @ np.asarray(w) + np.asarray(b)
            if k < len(layers) - 1:
                h = np.maximum(h, 0.0)
        return h[:, 0]
    raise ValueError(f"unknown mapping kind {mapping['kind']!r} (cubic|mlp)")


def fit_mappings(distance: np.ndarray, mos: np.ndarray, seed: int = 0) -> dict[str, dict]:
    ok = np.isfinite(distance) & np.isfinite(mos)
    if ok.sum() < 4:
        raise ValueError(f"fitting a distance->MOS mapping needs >= 4 labelled clips, got {int(ok.sum())}")
    return {"cubic": fit_cubic(distance[ok], mos[ok]), "mlp": fit_mlp(distance[ok], mos[ok], seed=seed)}
