"""Time the clustering definers on embedding-sized data (target: each fit <= 30 s for 100k x 768 on 2 cores).

    python benchmarks/bench_definers.py [--rows 100000] [--dim 768] [--k 8] [--reduce-dim 32] [--auto]

Synthetic float32 embeddings with K planted clusters (separable after PCA, so ARI checks the labels too). Each line
is one definer through the real code path (z-score -> PCA -> clustering; `fit` then `predict` on all rows),
with the agreement (ARI) with the planted clusters. `--auto` also times choosing K over k_range
(silhouette on a 5000-row sample for k-means, BIC for GMM).
"""

import argparse
import os
import time

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from aqa.config.domain import DefinerConfig
from aqa.definers.registry import build_definer

TARGET_S = 30.0


def planted(rows: int, dim: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rows, dim) float32 around k centres, and the (rows,) true cluster."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)).astype(np.float32) * 0.35
    truth = rng.integers(0, k, rows)
    x = rng.standard_normal((rows, dim), dtype=np.float32)
    x += centres[truth]
    return x, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--reduce-dim", type=int, default=32)
    parser.add_argument("--auto", action="store_true", help="also time automatic K over k_range")
    args = parser.parse_args()

    t0 = time.perf_counter()
    x, truth = planted(args.rows, args.dim, args.k)
    rows = pd.DataFrame({"id": np.arange(args.rows).astype(str)})
    print(
        f"data: {args.rows} x {args.dim} float32, {args.k} planted clusters ({time.perf_counter() - t0:.1f} s)"
    )
    print(f"cpus: {os.cpu_count()}, reduce: z-score + PCA to {args.reduce_dim}")

    common = {"standardize": True, "reduce": "pca", "reduce_dim": args.reduce_dim, "seed": 0}
    configs = [
        DefinerConfig(name="kmeans", k=args.k, **common),
        DefinerConfig(name="gmm", k=args.k, covariance="diag", **common),
        DefinerConfig(name="gmm", k=args.k, covariance="full", **common),
    ]
    if args.auto:
        configs += [
            DefinerConfig(name="kmeans", k=None, **common),
            DefinerConfig(name="gmm", k=None, covariance="diag", **common),
        ]
    print(f"{'definer':<26}{'fit s':>8}{'predict s':>11}{'K':>4}{'ARI':>7}  target <= {TARGET_S:.0f} s")
    worst = 0.0
    for cfg in configs:
        definer = build_definer(cfg)
        t0 = time.perf_counter()
        definer.fit(rows, x)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        labels = definer.predict(rows, x)
        predict_s = time.perf_counter() - t0
        worst = max(worst, fit_s)
        k = "auto" if cfg.k is None else cfg.k
        cov = f",{cfg.covariance}" if cfg.name == "gmm" else ""
        name = f"{cfg.name}(k={k}{cov})"
        ari = adjusted_rand_score(truth, labels)
        ok = "ok" if fit_s <= TARGET_S else "SLOW"
        print(f"{name:<26}{fit_s:>8.1f}{predict_s:>11.1f}{len(definer.names):>4}{ari:>7.3f}  {ok}")
    print(
        f"slowest fit: {worst:.1f} s ({'within' if worst <= TARGET_S else 'over'} the {TARGET_S:.0f} s target)"
    )


if __name__ == "__main__":
    main()
