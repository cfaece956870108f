"""After training: how much domain information is left in each aspect's learned pooled embedding (val split)."""

import numpy as np
import pandas as pd

from data_modules.manifest.columns import domain_column


def probe_metrics(clips, table, aspects: list[str], domain_names: dict, seed: int = 0) -> dict[str, float]:
    """clips: per-clip frame with `_feature` (A, D) per clip and `domain_<A>` labels.

    Two probes per aspect: against the run's own domain labels (`probe/<A>/acc`, `/chance`; only where the
    aspect has domains) and against the dataset ID (`probe/<A>/dataset_acc`, `/dataset_chance`), which every
    run has, so ERM and DAT runs compare on the same labels. Beside chance, the floor a representation of
    quality alone reaches (sources differ in true quality): the same dataset-ID probe on the MOS targets
    alone, this aspect's (`probe/<A>/target_floor_acc`) and every aspect's (`probe/target_floor_acc`).
    """
    from aqa.definers.probe import domain_probe

    if "_feature" not in clips or len(clips) < 4:
        return {}
    features = np.stack(clips["_feature"].to_numpy())  # (N, A, D)
    dataset_names = clips["id"].map(dict(zip(table["id"], table["dataset"], strict=False))).astype(str)
    dataset = pd.factorize(dataset_names, sort=True)[0]
    out: dict[str, float] = {}
    several = len(np.unique(dataset)) >= 2
    targets = clips[[f"target_{a}" for a in aspects]].to_numpy(dtype=np.float64)  # (N, A); NaN rows left out
    if several:
        out["probe/target_floor_acc"] = domain_probe(targets, dataset, seed=seed)["acc"]
    for i, a in enumerate(aspects):
        if several:
            res = domain_probe(features[:, i], dataset, seed=seed)
            out[f"probe/{a}/dataset_acc"], out[f"probe/{a}/dataset_chance"] = res["acc"], res["chance"]
            out[f"probe/{a}/target_floor_acc"] = domain_probe(targets[:, i : i + 1], dataset, seed=seed)[
                "acc"
            ]
        labels = clips[domain_column(a)].to_numpy()
        known = labels >= 0
        if len(domain_names.get(a) or []) >= 2 and len(np.unique(labels[known])) >= 2:
            res = domain_probe(features[known, i], labels[known], seed=seed)
            out[f"probe/{a}/acc"], out[f"probe/{a}/chance"] = res["acc"], res["chance"]
    return out
