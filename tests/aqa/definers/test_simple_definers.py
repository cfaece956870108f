"""none / random / dataset / metadata definers on small known tables."""

import numpy as np
import pandas as pd
import pytest

from aqa.config.domain import DefinerConfig
from aqa.definers.base import UNKNOWN
from aqa.definers.registry import DEFINERS, build_definer


def rows(**columns):
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)], **columns})


def test_registry_declares_needs():
    assert set(DEFINERS) == {"none", "random", "dataset", "metadata", "kmeans", "gmm"}
    assert [n for n, cls in DEFINERS.items() if cls.needs_embeddings] == ["kmeans", "gmm"]
    assert build_definer(DefinerConfig(name="dataset")).needs_columns == ["dataset"]
    assert build_definer(DefinerConfig(name="metadata", columns=["a", "b"])).needs_columns == ["a", "b"]
    with pytest.raises(ValueError, match="unknown domain definer 'kmean'"):
        build_definer(DefinerConfig(name="kmean"))


def test_none_is_one_domain_without_adversary():
    definer = build_definer(DefinerConfig(name="none")).fit(rows(x=[1, 2, 3]), None)
    assert not definer.adversary
    assert definer.predict(rows(x=[1, 2, 3, 4]), None).tolist() == [0, 0, 0, 0]


def test_dataset_labels_are_exact_and_unseen_is_unknown():
    train = rows(dataset=["b", "a", "c", "a"])
    definer = build_definer(DefinerConfig(name="dataset")).fit(train, None)
    assert definer.names == ["a", "b", "c"]
    assert definer.predict(train, None).tolist() == [1, 0, 2, 0]
    labels = definer.predict(rows(dataset=["c", "new", "a"]), None)
    assert labels.dtype == np.int64
    assert labels.tolist() == [2, UNKNOWN, 0]


def test_metadata_combines_columns_and_names_missing_values():
    train = rows(modality=["speech", "music", "speech", "music"], language=["en", "en", "zh", None])
    definer = build_definer(DefinerConfig(name="metadata", columns=["modality", "language"])).fit(train, None)
    assert definer.names == ["music | <NA>", "music | en", "speech | en", "speech | zh"]
    assert definer.predict(train, None).tolist() == [2, 1, 3, 0]
    other = rows(modality=["music", "sound", "speech"], language=["zh", "en", "en"])
    assert definer.predict(other, None).tolist() == [UNKNOWN, UNKNOWN, 2]


def test_metadata_needs_existing_columns():
    with pytest.raises(ValueError, match="needs columns"):
        build_definer(DefinerConfig(name="metadata")).fit(rows(a=[1]), None)
    definer = build_definer(DefinerConfig(name="metadata", columns=["generator"]))
    with pytest.raises(ValueError, match="generator"):
        definer.fit(rows(a=[1, 2]), None)


def test_random_is_seeded_and_balanced():
    train = rows(x=range(103))

    def fit(seed, k=4):
        return build_definer(DefinerConfig(name="random", k=k, seed=seed)).fit(train, None)

    a, b, c = fit(0).predict(train, None), fit(0).predict(train, None), fit(1).predict(train, None)
    assert a.tolist() == b.tolist()
    assert a.tolist() != c.tolist()
    assert sorted(np.bincount(a).tolist()) == [25, 26, 26, 26]
    other = rows(x=range(50)).assign(id=[f"new{i}" for i in range(50)])
    assert fit(0).predict(other, None).tolist() == fit(0).predict(other, None).tolist()
    assert set(fit(0).predict(other, None)) <= {0, 1, 2, 3}


def test_random_needs_k_and_k_at_most_train_size():
    with pytest.raises(ValueError, match="needs k"):
        build_definer(DefinerConfig(name="random", seed=0)).fit(rows(x=[1, 2]), None)
    with pytest.raises(ValueError, match="larger than the train set"):
        build_definer(DefinerConfig(name="random", k=5, seed=0)).fit(rows(x=[1, 2, 3]), None)


@pytest.mark.parametrize(
    "cfg",
    [
        DefinerConfig(name="random", k=3, seed=7),
        DefinerConfig(name="metadata", columns=["language"], seed=0),
        DefinerConfig(name="dataset"),
        DefinerConfig(name="none"),
    ],
)
def test_state_round_trip(cfg):
    train = rows(dataset=list("abcab"), language=list("xyxyz"))
    other = rows(dataset=list("cbaq"), language=list("zzyq")).assign(id=["r1", "n1", "n2", "n3"])
    fitted = build_definer(cfg).fit(train, None)
    restored = build_definer(cfg).load_state_dict(fitted.state_dict())
    assert restored.names == fitted.names
    assert restored.predict(other, None).tolist() == fitted.predict(other, None).tolist()


def test_package_exports_load_lazily():
    import subprocess
    import sys

    code = "import sys, aqa.config.schema; print('sklearn' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    )
    import aqa.definers as definers
    from aqa.definers.labels import fit_domain_labels

    assert definers.fit_domain_labels is fit_domain_labels
    assert callable(definers.domain_probe) and "kmeans" in definers.DEFINERS
