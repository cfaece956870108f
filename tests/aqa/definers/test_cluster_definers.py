"""k-means and GMM definers recover planted clusters; auto-K picks the planted K; reduction; state."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from aqa.config.domain import DefinerConfig
from aqa.definers.base import UNKNOWN
from aqa.definers.registry import build_definer


def rows(n):
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)]})


@pytest.mark.parametrize("name", ["kmeans", "gmm"])
@pytest.mark.parametrize("reduce", ["none", "pca"])
def test_recovers_planted_clusters(name, reduce, blobs):
    x, truth = blobs(300, 4, dim=24)
    definer = build_definer(DefinerConfig(name=name, k=4, reduce=reduce, reduce_dim=8, seed=0)).fit(
        rows(300), x
    )
    labels = definer.predict(rows(300), x)
    assert labels.dtype == np.int64
    assert adjusted_rand_score(truth, labels) == pytest.approx(1.0)
    assert definer.names == [f"{name}{i}" for i in range(4)]


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
def test_gmm_covariance_types(covariance, blobs):
    x, truth = blobs(200, 3, dim=6)
    cfg = DefinerConfig(name="gmm", k=3, covariance=covariance, reduce="none", seed=0)
    definer = build_definer(cfg).fit(rows(200), x)
    assert adjusted_rand_score(truth, definer.predict(rows(200), x)) == pytest.approx(1.0)


def test_gmm_rejects_unknown_covariance(blobs):
    x, _ = blobs(50, 2, dim=4)
    with pytest.raises(ValueError, match="covariance"):
        build_definer(DefinerConfig(name="gmm", k=2, covariance="diagonal", seed=0)).fit(rows(50), x)


@pytest.mark.parametrize("name", ["kmeans", "gmm"])
@pytest.mark.parametrize("planted", [3, 5])
def test_auto_k_picks_planted_k(name, planted, blobs):
    x, truth = blobs(400, planted, dim=16, seed=planted)
    cfg = DefinerConfig(name=name, k=None, k_range=[2, 3, 4, 5, 6, 8], reduce="pca", reduce_dim=8, seed=0)
    definer = build_definer(cfg).fit(rows(400), x)
    assert len(definer.names) == planted
    assert sorted(definer.scores) == [2, 3, 4, 5, 6, 8]
    assert adjusted_rand_score(truth, definer.predict(rows(400), x)) == pytest.approx(1.0)


def test_clusters_are_numbered_by_size(blobs):
    x = np.concatenate([blobs(size, 1, dim=8, seed=i)[0] + 40 * i for i, size in enumerate([30, 200, 70])])
    definer = build_definer(DefinerConfig(name="kmeans", k=3, reduce="none", seed=0)).fit(rows(300), x)
    assert np.bincount(definer.predict(rows(300), x)).tolist() == [200, 70, 30]


@pytest.mark.parametrize("name", ["kmeans", "gmm"])
def test_deterministic_for_a_seed(name, blobs):
    x, _ = blobs(200, 6, dim=8, spread=1.5)  # overlapping: the seed matters
    labels = [
        build_definer(DefinerConfig(name=name, k=4, seed=3)).fit(rows(200), x).predict(rows(200), x)
        for _ in range(2)
    ]
    assert labels[0].tolist() == labels[1].tolist()


@pytest.mark.parametrize("name", ["kmeans", "gmm"])
def test_k_larger_than_train_set_is_an_error(name, blobs):
    x, _ = blobs(5, 2, dim=4)
    with pytest.raises(ValueError, match="larger than the train set"):
        build_definer(DefinerConfig(name=name, k=6, seed=0)).fit(rows(5), x)
    with pytest.raises(ValueError, match="no k in k_range"):
        build_definer(DefinerConfig(name=name, k_range=[5, 8], seed=0)).fit(rows(5), x)


def test_needs_features_of_matching_rows():
    with pytest.raises(ValueError, match="needs features"):
        build_definer(DefinerConfig(name="kmeans", k=2, seed=0)).fit(rows(4), None)
    with pytest.raises(ValueError, match="do not match"):
        build_definer(DefinerConfig(name="kmeans", k=2, seed=0)).fit(rows(4), np.zeros((5, 3)))


def test_rows_without_embeddings_are_unknown_and_left_out_of_the_fit(blobs):
    x, truth = blobs(120, 3, dim=8)
    x[:4] = np.nan
    definer = build_definer(DefinerConfig(name="kmeans", k=3, reduce="pca", reduce_dim=4, seed=0)).fit(
        rows(120), x
    )
    labels = definer.predict(rows(120), x)
    assert (labels[:4] == UNKNOWN).all()
    assert adjusted_rand_score(truth[4:], labels[4:]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "cfg",
    [
        DefinerConfig(name="kmeans", k=None, k_range=[2, 3, 4], reduce="pca", reduce_dim=5, seed=0),
        DefinerConfig(name="gmm", k=3, covariance="full", reduce="pca", reduce_dim=5, seed=0),
        DefinerConfig(name="gmm", k=3, covariance="tied", standardize=False, reduce="none", seed=0),
    ],
)
def test_state_round_trip(cfg, blobs):
    x, _ = blobs(150, 3, dim=10)
    new, _ = blobs(40, 3, dim=10, seed=9)  # unseen rows
    fitted = build_definer(cfg).fit(rows(150), x)
    restored = build_definer(cfg).load_state_dict(fitted.state_dict())
    assert restored.predict(rows(40), new).tolist() == fitted.predict(rows(40), new).tolist()
    assert restored.names == fitted.names


@pytest.mark.slow
def test_umap_reduction_recovers_clusters_and_round_trips(blobs):
    x, truth = blobs(300, 3, dim=16)
    cfg = DefinerConfig(name="kmeans", k=3, reduce="umap", reduce_dim=2, seed=0)
    fitted = build_definer(cfg).fit(rows(300), x)
    assert adjusted_rand_score(truth, fitted.predict(rows(300), x)) == pytest.approx(1.0)
    restored = build_definer(cfg).load_state_dict(fitted.state_dict())
    new, _ = blobs(30, 3, dim=16, seed=0)
    assert restored.predict(rows(30), new).tolist() == fitted.predict(rows(30), new).tolist()


def plain(value) -> bool:
    """True if `value` is built from dict/list/str/int/float/bool/None only (no bytes, no pickle text)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def assert_checkpoint_safe(state: dict) -> None:
    """Plain values only, and torch's weights_only loader (what checkpoints use) reads them back."""
    import io
    import json

    import torch

    assert plain(state)
    assert "pickle" not in json.dumps(state) and "gASV" not in json.dumps(state)  # base64 pickle header
    buffer = io.BytesIO()
    torch.save({"aqa_domains": state}, buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True)["aqa_domains"] == state


@pytest.mark.parametrize("name", ["kmeans", "gmm"])
def test_fitted_state_is_plain_arrays(blobs, name):
    x, _ = blobs(90, 3, dim=6)
    cfg = DefinerConfig(name=name, k=3, reduce="pca", reduce_dim=4, seed=0)
    assert_checkpoint_safe(build_definer(cfg).fit(rows(90), x).state_dict())


@pytest.mark.slow
def test_umap_state_has_no_pickle_and_places_new_rows(blobs):
    x, truth = blobs(200, 3, dim=16)
    cfg = DefinerConfig(name="kmeans", k=3, reduce="umap", reduce_dim=2, seed=0)
    fitted = build_definer(cfg).fit(rows(200), x)
    state = fitted.state_dict()
    assert_checkpoint_safe(state)
    restored = build_definer(cfg).load_state_dict(state)
    new, new_truth = blobs(60, 3, dim=16, seed=0)  # same centres, new noise
    new = new + np.random.default_rng(5).normal(scale=0.1, size=new.shape).astype(np.float32)
    assert adjusted_rand_score(new_truth, restored.predict(rows(60), new)) == pytest.approx(1.0)
    assert restored.predict(rows(200), x).tolist() == fitted.predict(rows(200), x).tolist()
    with pytest.raises(ValueError, match="pickle"):
        build_definer(cfg).load_state_dict({**state, "reducer": {**state["reducer"], "umap": "gASV..."}})
