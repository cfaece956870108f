"""The learners of benchmarks/known_answer_probes.py on synthetic data: the group-offset ridge removes
per-group rating offsets that the plain ridge learns, the paired bootstrap of a gain, and the MDE's
multiplier."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from aqa.metrics.scores import spearman

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "known_answer_probes", ROOT / "benchmarks/known_answer_probes.py"
)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def offset_data(n: int = 400, seed: int = 0):
    """Four groups that the features identify, identical true quality in every group, train ratings with
    per-group offsets of -2..+2, neutral (test) ratings without."""
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 4, n)
    truth = rng.normal(0, 1, n)
    quality = truth + rng.normal(0, 0.5, n)
    x = np.column_stack([quality, np.eye(4)[groups] + rng.normal(0, 0.1, (n, 4)), rng.normal(size=(n, 20))])
    offsets = np.array([-2.0, -2 / 3, 2 / 3, 2.0])
    train = np.arange(n) < n // 2
    rated = np.where(train, truth + offsets[groups], truth)
    return x, rated, truth, train, groups


def shift(pred, truth, groups, rows):
    """Range over groups of the mean prediction error on `rows`: the group-dependent shift left."""
    return np.ptp([pred[rows & (groups == g)].mean() - truth[rows & (groups == g)].mean() for g in range(4)])


def test_group_offsets_remove_the_planted_offsets():
    x, rated, truth, train, groups = offset_data()
    test = ~train
    erm = bench.fit_predict(x, rated, train, None)
    corrected = bench.fit_predict(x, rated, train, groups)
    oracle = bench.fit_predict(x, truth, train, None)
    erm_srcc = spearman(erm[test], truth[test])
    corrected_srcc = spearman(corrected[test], truth[test])
    assert corrected_srcc > erm_srcc + 0.2  # the plain ridge predicts the offsets on neutral clips
    assert abs(corrected_srcc - spearman(oracle[test], truth[test])) < 0.05
    assert shift(erm, truth, groups, test) > 3.0  # the plain ridge carries most of the 4-point range
    assert shift(corrected, truth, groups, test) < 0.1 * shift(erm, truth, groups, test)


def test_offsets_do_not_see_test_groups_or_targets():
    x, rated, truth, train, groups = offset_data()
    a = bench.fit_predict(x, rated, train, groups)
    changed = rated.copy()
    changed[~train] += 100.0  # targets of non-train rows never reach the fit
    other = groups.copy()
    other[~train] = 0  # nor do the groups of the predicted rows
    np.testing.assert_allclose(bench.fit_predict(x, changed, train, other), a)


def test_paired_gain_sd():
    rng = np.random.default_rng(1)
    target = rng.normal(size=60)
    pred = target + rng.normal(size=60)
    assert bench.paired_gain_sd(pred, pred, target, n_boot=50) == 0.0  # the same resample for both
    other = target + rng.normal(size=60)
    sd = bench.paired_gain_sd(pred, other, target, n_boot=300)
    assert 0.02 < sd < 0.3


def test_mde_multiplier_is_one_sided_five_percent_at_80_percent_power():
    z = bench.Z80
    assert z == pytest.approx(norm.ppf(0.95) + norm.ppf(0.8))
    assert z == pytest.approx(2.486, abs=1e-3)


def test_group_centred_train_rows_only():
    values = np.array([1.0, 3.0, 10.0, 20.0, 7.0])
    groups = np.array([0, 0, 1, 1, 1])
    train = np.array([True, True, True, True, False])
    np.testing.assert_allclose(bench.group_centred(values, groups, train), [-1.0, 1.0, -5.0, 5.0, 7.0])
