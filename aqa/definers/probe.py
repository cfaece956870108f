"""Domain probe: how well a linear classifier recovers the domain from learned embeddings (vs. chance)."""

import numpy as np

from aqa.metrics.memo import Memo, array_key

_MEMO = Memo(1024)  # the target-floor probes see the same targets and labels in every trial of a sweep


def domain_probe(features: np.ndarray, labels: np.ndarray, folds: int = 5, seed: int = 0) -> dict[str, float]:
    """Cross-validated accuracy of a logistic regression predicting `labels` from `features`.

    features: (N, D) e.g. the learned per-aspect pooled embeddings of the val split; labels: (N,) int,
    rows with label < 0, non-finite features or a domain of a single row are left out.
    Deterministic for `seed` (stratified folds, at most `folds`, at most the smallest domain's size).
    Returns {"acc", "chance" (majority-class rate), "n" (rows probed), "k" (domains present)}.
    With fewer than two domains there is nothing to probe: acc = chance = 1. Equal inputs return the
    memoised result of an earlier call.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64)
    key = (array_key(x), array_key(y), folds, seed)
    return _MEMO.get(key, lambda: _domain_probe(x, y, folds, seed))


def _domain_probe(x: np.ndarray, y: np.ndarray, folds: int, seed: int) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"domain_probe: features {x.shape} and labels {y.shape} do not match")
    keep = (y >= 0) & np.isfinite(x).all(1)
    classes, counts = np.unique(y[keep], return_counts=True)
    keep &= np.isin(y, classes[counts >= 2])  # a domain of one row cannot be cross-validated
    x, y = x[keep], y[keep]
    classes, counts = np.unique(y, return_counts=True)
    n = len(y)
    if len(classes) < 2:
        return {"acc": 1.0, "chance": 1.0, "n": float(n), "k": float(len(classes))}
    chance = counts.max() / n
    cv = StratifiedKFold(n_splits=int(min(folds, counts.min())), shuffle=True, random_state=seed)
    predicted = np.empty_like(y)
    # cross_val_predict(make_pipeline(StandardScaler(), model)) fold by fold, without its overhead
    for train, test in cv.split(x, y):
        scaler = StandardScaler().fit(x[train])
        model = LogisticRegression(max_iter=1000).fit(scaler.transform(x[train]), y[train])
        predicted[test] = model.predict(scaler.transform(x[test]))
    return {
        "acc": float((predicted == y).mean()),
        "chance": float(chance),
        "n": float(n),
        "k": float(len(classes)),
    }
