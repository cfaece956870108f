"""The learners of benchmarks/known_answer_probes.py on synthetic data: the group-indicator ridge removes
per-group rating offsets that the plain ridge learns, and the paired bootstrap of a gain."""

import importlib.util
from pathlib import Path

import numpy as np

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
    x = np.column_stack([truth + rng.normal(0, 0.5, n), np.eye(4)[groups] + rng.normal(0, 0.1, (n, 4))])
    offsets = np.array([-2.0, -2 / 3, 2 / 3, 2.0])
    train = np.arange(n) < n // 2
    rated = np.where(train, truth + offsets[groups], truth)
    return x, rated, truth, train, groups


def test_group_indicators_remove_the_planted_offsets():
    x, rated, truth, train, groups = offset_data()
    test = ~train
    erm = bench.fit_predict(x, rated, train, None)
    corrected = bench.fit_predict(x, rated, train, groups)
    oracle = bench.fit_predict(x, truth, train, None)
    erm_srcc = spearman(erm[test], truth[test])
    corrected_srcc = spearman(corrected[test], truth[test])
    assert corrected_srcc > erm_srcc + 0.2  # the plain ridge predicts the offsets on neutral clips
    assert abs(corrected_srcc - spearman(oracle[test], truth[test])) < 0.05
    # predicted at the train shares: most of the group-dependent shift is gone on the neutral clips (the
    # features identify the groups too, so the penalised ridge keeps a little of it there)

    def shift(pred):
        return np.ptp(
            [pred[test & (groups == g)].mean() - truth[test & (groups == g)].mean() for g in range(4)]
        )

    assert shift(erm) > 3.0  # the plain ridge carries most of the 4-point offset range
    assert shift(corrected) < 0.2 * shift(erm)


def test_indicators_do_not_see_test_groups_or_targets():
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
