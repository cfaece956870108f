import numpy as np
import pandas as pd
import pytest
from scipy import stats

from aqa.metrics.rows import combine_windows
from aqa.metrics.scores import pair_metrics, split_metrics


def test_pair_metrics_equal_scipy():
    rng = np.random.default_rng(0)
    target = rng.uniform(1, 10, 50)
    pred = target + rng.normal(0, 1.5, 50)
    m = pair_metrics(pred, target)
    assert m["mse"] == pytest.approx(np.mean((pred - target) ** 2))
    assert m["lcc"] == pytest.approx(stats.pearsonr(pred, target)[0])
    assert m["srcc"] == pytest.approx(stats.spearmanr(pred, target)[0])
    assert m["ktau"] == pytest.approx(stats.kendalltau(pred, target)[0])


def test_known_values():
    m = pair_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 5.0]))
    assert m["srcc"] == 1.0 and m["ktau"] == 1.0 and m["mse"] == 0.25
    assert np.isnan(pair_metrics(np.ones(4), np.arange(4.0))["srcc"])  # constant predictions


def test_system_level_is_mean_per_system():
    clips = pd.DataFrame(
        {
            "id": list("abcdef"),
            "system": ["s1", "s1", "s2", "s2", "s3", "s3"],
            "pred_PQ": [1.0, 3.0, 2.0, 6.0, 5.0, 5.0],
            "target_PQ": [2.0, 2.0, 4.0, 4.0, 9.0, 7.0],
            "domain_PQ": [0, 0, 1, 1, 1, 0],
        }
    )
    m = split_metrics(clips, ["PQ"], "val", {"PQ": ["d0", "d1"]})
    sys_pred, sys_target = np.array([2.0, 4.0, 5.0]), np.array([2.0, 4.0, 8.0])
    assert m["val/PQ/sys_lcc"] == pytest.approx(stats.pearsonr(sys_pred, sys_target)[0])
    assert m["val/PQ/sys_srcc"] == 1.0
    assert m["val/mean/sys_srcc"] == m["val/PQ/sys_srcc"]
    assert "val/PQ/utt_srcc_dom_d0" in m and "val/PQ/utt_srcc_dom_d1" in m


def test_combine_windows_dedups_and_weights():
    frame = pd.DataFrame(
        {
            "id": ["a", "a", "a", "b", "b"],  # ("a", 0) repeated: DDP padding
            "system": ["s"] * 5,
            "window": [0, 1, 0, 0, 0],
            "weight": [3.0, 1.0, 3.0, 2.0, 2.0],
            "pred_PQ": [2.0, 6.0, 2.0, 5.0, 5.0],
            "target_PQ": [4.0, 4.0, 4.0, 1.0, 1.0],
            "domain_PQ": [0] * 5,
        }
    )
    clips = combine_windows(frame, ["PQ"])
    assert list(clips["id"]) == ["a", "b"]
    assert clips["pred_PQ"].tolist() == [3.0, 5.0]  # (3*2 + 1*6) / 4
    shuffled = combine_windows(frame.sample(frac=1, random_state=1), ["PQ"])
    pd.testing.assert_frame_equal(shuffled, clips)


def test_system_means_use_only_clips_with_a_target():
    clips = pd.DataFrame(
        {
            "id": list("abcd"),
            "system": ["s1", "s1", "s2", "s2"],
            "pred_PQ": [1.0, 9.0, 4.0, 4.0],
            "target_PQ": [1.0, np.nan, 4.0, 5.0],
        }
    )
    m = split_metrics(clips, ["PQ"], "val")
    # s1: only clip a is rated -> (pred 1, target 1); s2 -> (pred 4, target 4.5)
    assert m["val/PQ/sys_mse"] == pytest.approx((0.0 + 0.25) / 2)
