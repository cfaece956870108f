"""spearman_rho gives scipy.stats.spearmanr's statistic to the last bit (ties, NaN, constants, short)."""

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from aqa.metrics.spearman import average_ranks, spearman_rho


def _cases():
    rng = np.random.default_rng(0)
    for t in range(400):
        n = int(rng.integers(0, 60))
        x = rng.normal(size=n)
        y = x * rng.normal() + rng.normal(size=n)
        if t % 3 == 1:  # ties
            x, y = np.round(x, 1), np.round(y)
        if t % 7 == 2 and n:
            y[rng.integers(0, n)] = np.nan
        if t % 11 == 3 and n:
            x[:] = 2.5
        yield x, y


def test_spearman_rho_is_scipys_statistic():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x, y in _cases():
            expected = float(stats.spearmanr(x, y)[0])
            got = spearman_rho(x, y)
            assert got == expected or (math.isnan(got) and math.isnan(expected)), (x, y)


@pytest.mark.parametrize("values", [[3.0, 1.0, 2.0], [1.0, 1.0, 2.0, 0.5, 1.0], [4.0]])
def test_average_ranks_are_rankdata(values):
    assert np.array_equal(average_ranks(np.array(values)), stats.rankdata(values))


def test_pearson_r_is_scipys_statistic():
    """To the last bits (scipy's own centring and scaling), from tiny to huge scales."""
    from aqa.metrics.spearman import pearson_r

    rng = np.random.default_rng(1)
    for t in range(300):
        n = int(rng.integers(2, 60))
        x = rng.normal(size=n) * 10.0 ** rng.integers(-6, 7)
        y = x * rng.normal() + rng.normal(size=n) * 10.0 ** rng.integers(-6, 7)
        if t % 3 == 1:  # ties
            x, y = np.round(x, 1) + np.arange(n) % 2, np.round(y) + np.arange(n) % 3
        assert pearson_r(x, y) == pytest.approx(float(stats.pearsonr(x, y)[0]), rel=1e-12, abs=1e-14)
