"""ARI of k-means clusters with the planted hidden family and with the source, per feature extractor.

    python benchmarks/feature_ari.py [EXPERIMENT.yaml] [key=value ...] [--features SPEC,SPEC,...] [--probe]
    (defaults: experiments/quickstart.yaml; --features encoder,acoustic)

On the generated corpus (the hidden `family` of each clip is in its truth.csv, beside the manifest): for each extractor (`encoder` = the
experiment's encoder, the tiny random one by default; `acoustic`), k-means as the `kmeans` definer runs it
(z-score, PCA, seeds 0-2) with k = number of sources and k = number of hidden families, fitted on the train
split; ARI on the train rows, mean and range over the seeds. Prints a markdown table. `--features` replaces
the extractor list, e.g. `run:<checkpoint>@CE` for the pooled CE embedding of a trained run.
`--probe` adds a linear probe per extractor: RidgeCV on the z-scored train features, val within-source SRCC
per aspect and their mean.
"""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeCV
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aqa.config import load_config
from aqa.config.domain import DefinerConfig
from aqa.definers.labels import fit_definer, train_mask
from aqa.definers.resolve import as_definer_config
from aqa.features import FeatureSettings, compute_features
from aqa.metrics.within import within_source_srcc
from aqa.model.encoder import encoder_sample_rate
from data_modules.corpus.generate import TRUTH, ensure_corpus
from data_modules.manifest import load_table

EXTRACTORS = ("encoder", "acoustic")
SEEDS = (0, 1, 2)


def probe_row(
    table: pd.DataFrame, features: np.ndarray, aspects: list[str], train: np.ndarray
) -> list[float]:
    """Val within-source SRCC per aspect of a ridge probe fitted on the train rows, then their mean."""
    val = (table["split"] == "val").to_numpy()
    scores = []
    for aspect in aspects:
        y = table[aspect].to_numpy(np.float64)
        fit = train & np.isfinite(y)
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 5, 15)))
        model.fit(features[fit], y[fit])
        pred = model.predict(features[val])
        scores.append(within_source_srcc(pred, y[val], table["dataset"].to_numpy()[val], min_clips=5)[0])
    return [*scores, float(np.mean(scores))]


def main(argv: list[str]) -> int:
    extractors = list(EXTRACTORS)
    probe = "--probe" in argv
    argv = [a for a in argv if a != "--probe"]
    if "--features" in argv:
        at = argv.index("--features")
        if at + 1 == len(argv):
            raise SystemExit("--features needs a comma-separated list, e.g. encoder,acoustic,run:CKPT@PQ")
        extractors = argv[at + 1].split(",")
        argv = argv[:at] + argv[at + 2 :]
    experiment = argv[0] if argv and argv[0].endswith(".yaml") else "experiments/quickstart.yaml"
    overrides = argv[1:] if argv and argv[0].endswith(".yaml") else argv
    cfg = load_config(Path(experiment), overrides)
    if not cfg.data.corpus.enabled:
        raise SystemExit("needs the generated corpus (data.corpus.enabled=true): its hidden families")
    table = load_table(cfg.data)
    truth = pd.read_csv(ensure_corpus(cfg.data.corpus).parent / TRUTH, dtype={"id": str})
    table["family"] = table["id"].astype(str).map(dict(zip(truth["id"], truth["family"])))
    rate = encoder_sample_rate(cfg.model.encoder)
    train = train_mask(cfg.data.train_split, table)
    family = table["family"].astype(str).to_numpy()[train]
    source = table["dataset"].astype(str).to_numpy()[train]
    ks = {"sources": len(set(source)), "families": len(set(family))}
    base = as_definer_config(cfg.domain.definer, seed=0)
    print(
        f"{experiment} {' '.join(overrides)}: {train.sum()} train clips, {ks['sources']} sources, "
        f"{ks['families']} hidden families; ARI on train rows, mean [min, max] over seeds {list(SEEDS)}\n"
    )
    print("| features | dims | k | ARI family | ARI source |")
    print("| --- | --- | --- | --- | --- |")
    probes = {}
    for spec in extractors:
        features = compute_features(FeatureSettings.from_config(cfg), table, rate, spec)
        if probe:
            probes[spec] = probe_row(table, features, list(cfg.data.aspects), train)
        for what, k in ks.items():
            scores = {"family": [], "source": []}
            for seed in SEEDS:
                definer_cfg = dataclasses.replace(base, name="kmeans", k=k, features=spec, seed=seed)
                _, labels = fit_definer(
                    DefinerConfig(**dataclasses.asdict(definer_cfg)), table, train, features
                )
                scores["family"].append(adjusted_rand_score(family, labels[train]))
                scores["source"].append(adjusted_rand_score(source, labels[train]))
            cells = [f"{np.mean(v):.3f} [{min(v):.3f}, {max(v):.3f}]" for v in scores.values()]
            print(f"| {spec} | {features.shape[1]} | {k} ({what}) | {cells[0]} | {cells[1]} |")
    if probe:
        aspects = list(cfg.data.aspects)
        print("\nRidge probe (RidgeCV on train features), val within-source SRCC\n")
        print(f"| features | {' | '.join(aspects)} | mean |")
        print("| --- |" + " --- |" * (len(aspects) + 1))
        for spec, row in probes.items():
            print(f"| {spec} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (ValueError, FileNotFoundError) as err:  # a bad spec or path: the message, no traceback
        sys.exit(f"feature_ari: {err}")
