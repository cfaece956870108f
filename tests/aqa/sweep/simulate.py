"""Simulated sweeps with a known answer, for the statistics tests (tests/aqa/sweep/test_stats.py).

Each clip has a true MOS y ~ N(0, 1); a candidate's prediction at one seed is y + error, the error
N(0, sigma^2) per clip with sigma = the candidate's sigma x exp(tau x seed effect), split into a part
every seed of the candidate shares (the clip's difficulty for that model, correlated between candidates)
and a part new at every seed. The population Spearman correlation at a given sigma is
(6 / pi) arcsin(rho / 2), rho = 1 / sqrt(1 + sigma^2), so a candidate's true score is known exactly.
"""

import numpy as np
import pandas as pd

from aqa.sweep.records import TrialRecord

STAGE = "val_mixed"
TAU = 0.15  # seed-to-seed spread of the error scale (log)
SHARED = 0.5  # share of the error variance that every seed of a candidate has in common
ACROSS = 0.5  # correlation of the shared part between candidates


def true_score(sigma: float, tau: float = TAU) -> float:
    """E over seeds of the population Spearman correlation of y and y + N(0, (sigma e^(tau eta))^2)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    s = sigma * np.exp(tau * nodes)
    rho = 1 / np.sqrt(1 + s**2)
    return float(np.sum(weights * 6 / np.pi * np.arcsin(rho / 2)) / np.sum(weights))


def sweep(
    rng: np.random.Generator,
    sigmas: dict[str, float],
    aspects: list[str],
    seeds: int,
    clips: int,
    sources: int = 3,
) -> list[TrialRecord]:
    """Trial records (definer name -> error scale sigma) x seeds, each with `predictions[STAGE]`."""
    ids = [f"c{i:04d}" for i in range(clips)]
    dataset = [f"s{i % sources}" for i in range(clips)]
    y = {a: rng.standard_normal(clips) for a in aspects}
    common = {a: rng.standard_normal(clips) for a in aspects}
    shared = {
        (name, a): np.sqrt(ACROSS) * common[a] + np.sqrt(1 - ACROSS) * rng.standard_normal(clips)
        for name in sigmas
        for a in aspects
    }
    records = []
    for s in range(seeds):
        for name, sigma in sigmas.items():
            frame = {"id": ids, "dataset": dataset, "system": dataset}
            for a in aspects:
                scale = sigma * np.exp(TAU * rng.standard_normal())
                noise = np.sqrt(SHARED) * shared[name, a] + np.sqrt(1 - SHARED) * rng.standard_normal(clips)
                frame[f"target_{a}"] = y[a]
                frame[f"pred_{a}"] = y[a] + scale * noise
            config = {"seed": s, "data": {"aspects": aspects, "neutral_splits": [STAGE]}}
            params = {
                "domain.definer": {"name": name, "k": 4} if name != "none" else {"name": name},
                "seed": s,
            }
            records.append(TrialRecord(f"{name}{s}", params, {}, config, {STAGE: pd.DataFrame(frame)}))
    return records
