"""Calibration numbers: Gaussian NLL and central-90% coverage, per clip over its ratings or its target."""

import math

import numpy as np
import pandas as pd
import pytest

from aqa.metrics.calibration import calibration_metrics, clip_observations, covered, gaussian_nll


def test_coverage_of_gaussian_samples_is_ninety_percent():
    rng = np.random.default_rng(0)
    mean, std = rng.uniform(2, 8, 4000), rng.uniform(0.3, 2.0, 4000)
    x = mean[:, None] + std[:, None] * rng.standard_normal((4000, 10))
    assert np.nanmean(covered(mean, std, x, 0.9)) == pytest.approx(0.90, abs=0.01)
    assert np.nanmean(covered(mean, 2 * std, x, 0.9)) > 0.99  # too wide
    assert np.nanmean(covered(mean, std / 2, x, 0.9)) == pytest.approx(0.59, abs=0.02)  # too narrow
    nll = np.nanmean(gaussian_nll(mean, std, x) - np.log(std)[:, None])
    assert nll == pytest.approx(0.5 * math.log(2 * math.pi) + 0.5, abs=0.02)  # entropy of N(0, 1)


def test_metrics_use_each_clips_ratings_and_fall_back_to_the_target():
    ratings = np.array([[[4.0, 6.0, np.nan]], [[np.nan, np.nan, np.nan]]])  # (N, A=1, R)
    clips = pd.DataFrame(
        {"pred_PQ": [5.0, 5.0], "std_PQ": [1.0, 1.0], "target_PQ": [5.0, 9.0], "_ratings": list(ratings)}
    )
    out = calibration_metrics(clips, ["PQ"], "val")
    # clip 0: ratings 4 and 6, both inside 5 ± 1.645; clip 1: no list, its target 9 is outside
    assert out["val/PQ/coverage90"] == pytest.approx(0.5)
    expected = (0.5 * math.log(2 * math.pi) + 0.5 + 0.5 * math.log(2 * math.pi) + 8.0) / 2
    assert out["val/PQ/nll"] == pytest.approx(expected)
    assert out["val/mean/nll"] == out["val/PQ/nll"]
    obs = clip_observations(np.array([5.0, 9.0]), ratings[:, 0])
    assert obs[1, 0] == 9.0 and np.isnan(obs[1, 1:]).all()
