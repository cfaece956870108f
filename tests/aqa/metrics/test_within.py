"""within_srcc: clip-weighted mean over sources of the SRCC inside each source."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from aqa.metrics.scores import split_metrics
from aqa.metrics.within import within_source_srcc


def _clips(seed=0):
    rng = np.random.default_rng(seed)
    parts = []
    for source, n, offset in (("a", 12, 0.0), ("b", 7, 3.0), ("c", 4, 6.0), ("d", 9, -2.0), ("e", 6, 1.0)):
        target = rng.uniform(1, 10, n) + offset
        pred = target + rng.normal(0, 2.0, n)
        if source == "d":
            target[:] = 5.0  # constant targets: nothing to rank, left out
        if source == "e":
            pred[:] = 4.0  # constant predictions: count as 0
        parts.append(pd.DataFrame({"dataset": source, "pred_PQ": pred, "target_PQ": target}))
    clips = pd.concat(parts, ignore_index=True)
    clips["id"] = [f"c{i}" for i in range(len(clips))]
    clips["system"] = clips["dataset"] + "-sys"
    return clips


def test_within_equals_a_direct_computation():
    clips = _clips()
    got, used = within_source_srcc(
        clips["pred_PQ"].to_numpy(), clips["target_PQ"].to_numpy(), clips["dataset"].to_numpy(), 5
    )
    # direct: sources a (12 clips), b (7) by scipy; c has 4 < 5 clips; d constant targets; e counts as 0
    a, b = (clips[clips["dataset"] == s] for s in "ab")
    srcc_a = stats.spearmanr(a["pred_PQ"], a["target_PQ"])[0]
    srcc_b = stats.spearmanr(b["pred_PQ"], b["target_PQ"])[0]
    assert used == 3
    assert got == pytest.approx((12 * srcc_a + 7 * srcc_b + 6 * 0.0) / (12 + 7 + 6))


def test_min_clips_and_nan_rows():
    clips = _clips()
    pred, target, src = (clips[c].to_numpy() for c in ("pred_PQ", "target_PQ", "dataset"))
    _, used = within_source_srcc(pred, target, src, 3)
    assert used == 4  # source c (4 clips) is now counted
    target = target.copy()
    target[clips.index[clips["dataset"] == "a"][:8]] = np.nan  # a keeps 4 rated clips: < 5
    _, used = within_source_srcc(pred, target, src, 5)
    assert used == 2
    assert math.isnan(within_source_srcc(pred[:3], target[:3], src[:3], 5)[0])  # no source left


def test_split_metrics_keys_and_mean():
    clips = _clips()
    clips["pred_CE"], clips["target_CE"] = -clips["pred_PQ"], clips["target_PQ"]
    m = split_metrics(clips, ["PQ", "CE"], "val", min_source_clips=5)
    assert m["val/PQ/within_sources"] == 3 and m["val/CE/within_sources"] == 3
    assert m["val/CE/within_srcc"] == pytest.approx(-m["val/PQ/within_srcc"])
    assert m["val/mean/within_srcc"] == pytest.approx(0.0, abs=1e-12)
    # pooled over sources the offsets make the utterance SRCC high; within sources they do not count
    assert m["val/PQ/utt_srcc"] > m["val/PQ/within_srcc"]
    assert "val/PQ/within_srcc" not in split_metrics(clips.drop(columns="dataset"), ["PQ"], "val")


@pytest.mark.parametrize(
    "keys",
    [
        np.array(["b", "a", "c", "a", "b", "b"], dtype=object),
        np.array([3, 1, 3, 0, 1, 1]),
        np.array(["b", None, "a", np.nan, "b", "a"], dtype=object),  # missing keys are no group
        np.array([], dtype=object),
    ],
)
def test_group_rows_are_groupbys_groups(keys):
    from aqa.metrics.within import group_rows

    got = [(key, rows.tolist()) for key, rows in group_rows(keys)]
    frame = pd.DataFrame({"key": keys})
    expected = [(key, part.index.tolist()) for key, part in frame.groupby("key", sort=True)]
    assert got == expected


def test_split_metrics_equal_a_pandas_computation():
    """The numpy groupings give pandas' groups: system means (float64), per-source and per-domain SRCC."""
    rng = np.random.default_rng(3)
    n = 80
    clips = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "system": rng.choice([f"s{i}" for i in range(12)], n),
            "dataset": rng.choice(list("abcd"), n),
            "pred_PQ": rng.normal(size=n).astype(np.float32),
            "target_PQ": rng.normal(size=n),
            "domain_PQ": rng.integers(-1, 3, n),
        }
    )
    clips.loc[rng.choice(n, 9, replace=False), "target_PQ"] = np.nan
    clips.loc[rng.choice(n, 6, replace=False), "pred_PQ"] = np.nan  # a reference row's clip without features
    m = split_metrics(clips, ["PQ"], "val", {"PQ": ["x", "y", "z"]}, min_source_clips=5)
    rated = clips.dropna(subset=["target_PQ"])
    systems = rated.groupby("system")[["pred_PQ", "target_PQ"]].mean(numeric_only=True)
    sys_pred = rated.groupby("system")["pred_PQ"].apply(lambda v: np.nanmean(v.to_numpy(np.float64)))
    assert m["val/PQ/sys_srcc"] == pytest.approx(stats.spearmanr(sys_pred, systems["target_PQ"])[0])
    assert m["val/PQ/sys_mse"] == pytest.approx(float(((sys_pred - systems["target_PQ"]) ** 2).mean()))
    both = rated.dropna(subset=["pred_PQ"])  # SRCC: rows with a prediction and a target
    per_source = [
        (len(p), stats.spearmanr(p["pred_PQ"], p["target_PQ"])[0]) for _, p in both.groupby("dataset")
    ]
    expected = sum(k * r for k, r in per_source) / sum(k for k, _ in per_source)
    assert m["val/PQ/within_srcc"] == pytest.approx(expected)
    for label, name in enumerate("xyz"):
        part = both[both["domain_PQ"] == label]
        assert m[f"val/PQ/utt_srcc_dom_{name}"] == pytest.approx(
            stats.spearmanr(part["pred_PQ"], part["target_PQ"])[0]
        )
    assert m["val/PQ/utt_srcc_dom_unknown"] == pytest.approx(
        stats.spearmanr(*both[both["domain_PQ"] == -1][["pred_PQ", "target_PQ"]].to_numpy().T)[0]
    )
