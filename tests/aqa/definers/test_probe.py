"""domain_probe: accuracy against chance, deterministic, robust to unknown labels and tiny classes."""

import numpy as np
import pytest

from aqa.definers.probe import domain_probe


def test_probe_finds_domain_information(blobs):
    features, labels = blobs(150, 3, dim=8)
    result = domain_probe(features, labels)
    assert result["acc"] == pytest.approx(1.0)
    assert result["chance"] == pytest.approx(50 / 150)
    assert (result["n"], result["k"]) == (150, 3)


def test_probe_is_at_chance_without_domain_information():
    rng = np.random.default_rng(0)
    labels = np.array([0] * 120 + [1] * 60 + [2] * 20)
    result = domain_probe(rng.normal(size=(200, 8)), labels)
    assert result["chance"] == pytest.approx(0.6)
    assert result["acc"] < 0.7  # no signal: about chance (a sure 1.0 with signal, above)


def test_probe_is_deterministic_and_drops_unknown_rows(blobs):
    features, labels = blobs(90, 3, dim=4, spread=1.0)
    labels = labels.copy()
    labels[:10] = -1
    features[10] = np.nan
    a, b = domain_probe(features, labels, seed=3), domain_probe(features, labels, seed=3)
    assert a == b
    assert a["n"] == 79


def test_probe_degenerate_inputs():
    assert domain_probe(np.zeros((5, 2)), np.zeros(5)) == {"acc": 1.0, "chance": 1.0, "n": 5.0, "k": 1.0}
    single = domain_probe(np.r_[np.zeros((6, 2)), np.ones((1, 2))], np.array([0] * 6 + [1]))  # a class of 1
    assert single == {"acc": 1.0, "chance": 1.0, "n": 6.0, "k": 1.0}
    rng = np.random.default_rng(0)
    small = domain_probe(rng.normal(size=(9, 2)), np.array([0] * 6 + [1, 2, 2]))  # 1 left out, 2 folds
    assert small["n"] == 8 and small["k"] == 2 and small["chance"] == pytest.approx(6 / 8)
    with pytest.raises(ValueError, match="do not match"):
        domain_probe(np.zeros((5, 2)), np.zeros(4))
