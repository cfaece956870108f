"""resolve_definers, fit_domain_labels: train-only fitting, sharing, saving, degenerate cases."""

import io
import logging

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

import aqa.definers.labels as labels_module
from aqa.definers.labels import DomainLabels, fit_domain_labels, fit_labels
from aqa.definers.resolve import resolve_definers
from tests.aqa.stage_args import domain_label_args, label_args


@pytest.fixture
def planted(blobs, make_table):
    """A table whose embeddings hold 3 planted clusters (cluster = dataset), and those (N, 16) embeddings."""
    features, truth = blobs(240, 3, dim=16)
    return make_table(240, truth=truth), features


@pytest.fixture
def embeddings_of(monkeypatch):
    """Serve `features` from compute_features (counting calls) instead of running the encoder."""
    calls = []

    def serve(features):
        def fake(cfg, table, sample_rate, spec="encoder"):
            calls.append(len(table))
            return features

        monkeypatch.setattr(labels_module, "compute_features", fake)
        return calls

    return serve


# -- resolve_definers ---------------------------------------------------------------------------------
def test_resolve_precedence(make_cfg, tmp_path):
    selection = tmp_path / "selection.yaml"
    selection.write_text("PQ: {name: kmeans, k: 4}\nPC: {name: gmm, k: 3}\n")
    cfg = make_cfg(
        "data.aspects=[PQ,PC,CE]",
        "domain.definer=dataset",
        "domain.definer.reduce_dim=8",
        f"domain.selection={selection}",
        "domain.definers.PC=random",
        "domain.definers.PC.k=5",
    )
    specs = resolve_definers(cfg.domain, ["PQ", "PC", "CE"], seed=cfg.seed)
    assert (specs["PQ"].name, specs["PQ"].k, specs["PQ"].reduce_dim) == ("kmeans", 4, 8)  # selection on base
    assert (specs["PC"].name, specs["PC"].k) == ("random", 5)  # per-aspect override wins
    assert specs["CE"].name == "dataset"  # domain.definer for the rest


def test_resolve_rejects_unknown_aspects_and_names(make_cfg, tmp_path):
    with pytest.raises(ValueError, match=r"\['XX'\]"):
        resolve_definers(make_cfg("domain.definers.XX=dataset").domain, ["PQ", "PC"])
    with pytest.raises(ValueError, match="unknown domain definer 'kmean'"):
        resolve_definers(make_cfg("domain.definer=kmean").domain, ["PQ", "PC"])
    with pytest.raises(ValueError, match="not found"):
        resolve_definers(make_cfg(f"domain.selection={tmp_path}/none.yaml").domain, ["PQ"])


# -- fitting ------------------------------------------------------------------------------------------
def test_per_aspect_definers_and_shared_fit(make_cfg, planted, embeddings_of):
    table, features = planted
    calls = embeddings_of(features)
    cfg = make_cfg(
        "data.aspects=[PQ,PC,CE]", "domain.definer=kmeans", "domain.definer.k=3", "domain.definers.PQ=dataset"
    )
    table["CE"] = table["PC"]
    out = fit_labels(
        cfg.domain,
        table,
        resolve_definers(cfg.domain, ["PQ", "PC", "CE"], seed=cfg.seed),
        24000,
        **label_args(cfg),
    )
    assert calls == [240]  # embeddings computed once for both clustering aspects
    assert len(out.fitted) == 2  # PC and CE share one kmeans fit
    assert out.fitted_index["PC"] == out.fitted_index["CE"] != out.fitted_index["PQ"]
    assert out.num_domains == {"PQ": 3, "PC": 3, "CE": 3}
    assert out.names["PQ"] == ["tta", "ttm", "tts"]
    expected = table["dataset"].map({"tta": 0, "ttm": 1, "tts": 2}).to_numpy()
    assert out.labels["PQ"].tolist() == expected.tolist()
    assert adjusted_rand_score(expected, out.labels["PC"]) == pytest.approx(1.0)
    assert all(v.dtype == np.int64 and len(v) == 240 for v in out.labels.values())


def test_no_embeddings_without_a_clustering_definer(make_cfg, make_table, embeddings_of):
    calls = embeddings_of(None)
    cfg = make_cfg("domain.definer=dataset", "domain.definers.PC=none")
    out = fit_labels(
        cfg.domain,
        make_table(),
        resolve_definers(cfg.domain, ["PQ", "PC"], seed=cfg.seed),
        24000,
        **label_args(cfg),
    )
    assert calls == []
    assert out.num_domains == {"PQ": 3, "PC": 0}


def test_fitted_on_train_rows_only(make_cfg, planted, embeddings_of):
    table, features = planted
    cfg = make_cfg(
        "domain.definer=kmeans",
        "domain.definer.k=3",
        "domain.definers.PC=metadata",
        "domain.definers.PC.columns=[language]",
    )
    specs = resolve_definers(cfg.domain, ["PQ", "PC"], seed=cfg.seed)
    embeddings_of(features)
    before = fit_labels(cfg.domain, table, specs, 24000, **label_args(cfg))
    # change every non-train row: far-away embeddings and a language never seen in train
    changed, moved = table.copy(), features.copy()
    other = (table["split"] != "train").to_numpy()
    changed.loc[other, "language"] = "fr"
    moved[other] += 100.0
    embeddings_of(moved)
    after = fit_labels(cfg.domain, changed, specs, 24000, **label_args(cfg))
    assert after.fitted == before.fitted  # same definer state: only train rows were used
    train = ~other
    for aspect in ("PQ", "PC"):
        assert after.labels[aspect][train].tolist() == before.labels[aspect][train].tolist()
    assert (after.labels["PC"][other] == -1).all()  # unseen metadata value -> unknown
    assert (after.labels["PQ"][other] >= 0).all()  # clusters still label val/test rows


def test_no_train_rows_is_an_error(make_cfg, make_table):
    table = make_table().assign(split="val")
    cfg = make_cfg("domain.definer=dataset")
    with pytest.raises(ValueError, match="no rows in train split"):
        fit_labels(
            cfg.domain, table, resolve_definers(cfg.domain, ["PQ", "PC"], seed=cfg.seed), **label_args(cfg)
        )


# -- degenerate cases ---------------------------------------------------------------------------------
def test_one_domain_warns_and_disables_the_adversary(make_cfg, make_table, caplog):
    table = make_table()
    table.loc[table["split"] == "train", "language"] = "en"
    cfg = make_cfg(
        "domain.definer=dataset", "domain.definers.PC=metadata", "domain.definers.PC.columns=[language]"
    )
    with caplog.at_level(logging.WARNING):
        out = fit_labels(
            cfg.domain, table, resolve_definers(cfg.domain, ["PQ", "PC"], seed=cfg.seed), **label_args(cfg)
        )
    assert out.num_domains == {"PQ": 3, "PC": 0}
    assert any("aspect PC" in w and "no adversary" in w for w in out.warnings)
    assert "no adversary for PC" in caplog.text


def test_k_larger_than_train_set(make_cfg, make_table):
    cfg = make_cfg("domain.definer=random", "domain.definer.k=500")
    with pytest.raises(ValueError, match="larger than the train set"):
        fit_labels(
            cfg.domain,
            make_table(),
            resolve_definers(cfg.domain, ["PQ", "PC"], seed=cfg.seed),
            **label_args(cfg),
        )


def test_class_weights_inverse_frequency(make_cfg, make_table, caplog):
    table = make_table(300)
    train = (table["split"] == "train").to_numpy()
    table.loc[train, "dataset"] = np.where(np.arange(train.sum()) < 190, "big", "small")  # 190 vs 10
    cfg = make_cfg("domain.definer=dataset")
    with caplog.at_level(logging.WARNING):
        plain = fit_labels(
            cfg.domain, table, resolve_definers(cfg.domain, ["PQ", "PC"], seed=cfg.seed), **label_args(cfg)
        )
    assert plain.class_weights is None
    assert "very unequal domain sizes [190, 10]" in caplog.text
    cfg = make_cfg("domain.definer=dataset", "domain.class_weights=true", "domain.definers.PC=none")
    weighted = fit_labels(
        cfg.domain, table, resolve_definers(cfg.domain, ["PQ", "PC"], seed=cfg.seed), **label_args(cfg)
    )
    assert weighted.class_weights["PQ"] == pytest.approx([200 / (2 * 190), 200 / (2 * 10)])
    assert weighted.class_weights["PC"] == []


# -- saving, loading, sharing -------------------------------------------------------------------------
def test_save_load_round_trip_and_reuse(make_cfg, planted, embeddings_of, tmp_path, monkeypatch):
    table, features = planted
    embeddings_of(features)
    cfg = make_cfg(
        "domain.definer=gmm", "domain.definer.k=3", "domain.definers.PC=random", "domain.definers.PC.k=4"
    )
    first = fit_domain_labels(cfg.domain, table, tmp_path, 24000, **domain_label_args(cfg))
    assert (tmp_path / "domains" / "labels.csv").is_file() and (
        tmp_path / "domains" / "domains.json"
    ).is_file()

    def must_not_fit(*args, **kwargs):
        raise AssertionError("refitted although the run dir holds the labels")

    monkeypatch.setattr(labels_module, "fit_labels", must_not_fit)
    shuffled = table.sample(frac=1.0, random_state=0)  # same rows, other order: reused and re-aligned
    again = fit_domain_labels(cfg.domain, shuffled, tmp_path, 24000, **domain_label_args(cfg))
    assert again.align(table["id"]).digest() == first.digest()
    assert again.ids == shuffled["id"].tolist()
    # a different definer for the same run dir is refitted
    monkeypatch.setattr(labels_module, "fit_labels", fit_labels)
    dataset = make_cfg("domain.definer=dataset")
    other = fit_domain_labels(dataset.domain, table, tmp_path, 24000, **domain_label_args(dataset))
    assert other.digest() != first.digest()
    assert DomainLabels.load(tmp_path / "domains").digest() == other.digest()


def test_checkpoint_state_is_plain_and_round_trips(make_cfg, planted, embeddings_of):
    table, features = planted
    embeddings_of(features)
    cfg = make_cfg("domain.definer=kmeans", "domain.definers.PC=dataset", "domain.class_weights=true")
    out = fit_labels(
        cfg.domain, table, resolve_definers(cfg.domain, ["PQ", "PC"], seed=cfg.seed), 24000, **label_args(cfg)
    )
    buffer = io.BytesIO()
    torch.save({"aqa_domains": out.state_dict()}, buffer)
    buffer.seek(0)
    restored = DomainLabels.from_state_dict(torch.load(buffer, weights_only=True)["aqa_domains"])
    assert restored.digest() == out.digest()
    assert restored.num_domains == out.num_domains and restored.class_weights == out.class_weights
    for aspect in ("PQ", "PC"):  # the restored definers label rows exactly as the fitted ones did
        assert restored.definer(aspect).predict(table, features).tolist() == out.labels[aspect].tolist()


def test_add_columns_aligns_by_id(make_cfg, make_table):
    table = make_table()
    cfg = make_cfg("domain.definer=dataset")
    out = fit_labels(
        cfg.domain, table, resolve_definers(cfg.domain, ["PQ", "PC"], seed=cfg.seed), **label_args(cfg)
    )
    subset = table.iloc[::-3].copy()
    subset.loc[subset.index[0], "id"] = "not-in-labels"
    with_columns = out.add_columns(subset)
    assert with_columns["domain_PQ"].dtype == np.int64
    expected = subset["dataset"].map({"tta": 0, "ttm": 1, "tts": 2}).to_numpy(copy=True)
    expected[0] = -1
    assert with_columns["domain_PQ"].tolist() == expected.tolist()


def test_digest_changes_with_any_label(make_cfg, make_table):
    cfg = make_cfg("domain.definer=dataset")
    out = fit_labels(
        cfg.domain, make_table(), resolve_definers(cfg.domain, ["PQ", "PC"], seed=cfg.seed), **label_args(cfg)
    )
    changed = DomainLabels.from_state_dict(out.state_dict())
    changed.labels["PC"][5] = (changed.labels["PC"][5] + 1) % 3
    assert changed.digest() != out.digest()


def test_corrupt_saved_labels_are_refitted(make_cfg, make_table, tmp_path):
    cfg = make_cfg("domain.definer=dataset")
    first = fit_domain_labels(cfg.domain, make_table(), tmp_path, None, **domain_label_args(cfg))
    csv = tmp_path / "domains" / "labels.csv"
    saved = pd.read_csv(csv, dtype={"id": str})
    saved.loc[0, "domain_PQ"] = (saved.loc[0, "domain_PQ"] + 1) % 3  # one label edited by hand
    saved.to_csv(csv, index=False)
    assert DomainLabels.load(tmp_path / "domains") is None
    assert (
        fit_domain_labels(cfg.domain, make_table(), tmp_path, None, **domain_label_args(cfg)).digest()
        == first.digest()
    )
