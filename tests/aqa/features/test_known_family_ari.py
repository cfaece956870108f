"""Design gate of the known-answer corpus: k-means on `acoustic` features (as the `kmeans` definer runs it,
k = number of hidden families, fitted on train) recovers the hidden family with ARI >= 0.8, at two corpus
seeds, before any training. The same measurement on the full corpus: benchmarks/feature_ari.py."""

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from aqa.config import load_config
from aqa.config.domain import DefinerConfig
from aqa.definers.labels import fit_definer, train_mask
from aqa.features import FeatureSettings, compute_features
from data_modules.corpus import known
from data_modules.corpus.generate import TRUTH, ensure_corpus
from data_modules.manifest import load_table

MIN_ARI = 0.8


def family_ari(cfg, features: str) -> float:
    table = load_table(cfg.data)
    truth = pd.read_csv(ensure_corpus(cfg.data.corpus).parent / TRUTH, dtype={"id": str})
    family = table["id"].map(dict(zip(truth["id"], truth["family"]))).to_numpy()
    x = compute_features(FeatureSettings.from_config(cfg), table, cfg.data.corpus.sample_rate, features)
    train = train_mask(cfg.data.train_split, table)
    spec = DefinerConfig(name="kmeans", k=len(known.FAMILIES), features=features, seed=0)
    _, labels = fit_definer(spec, table, train, x)
    return adjusted_rand_score(family[train], labels[train])


@pytest.mark.parametrize("seed", [0, 1])
def test_kmeans_on_acoustic_features_recovers_the_hidden_family(tiny_overrides, seed):
    corpus = [
        f"data.corpus.{k}={v}" for k, v in dict(recipe="known", seed=seed, size=120, seconds=1.5).items()
    ]
    cfg = load_config(
        None, [*tiny_overrides, "data.corpus.enabled=true", "data.corpus.sample_rate=16000", *corpus]
    )
    assert family_ari(cfg, "acoustic") >= MIN_ARI
