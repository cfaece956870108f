"""Reference rows: the train mean and ridge probes on frozen features, scored like the model."""

import math

import numpy as np
import pandas as pd
import pytest

from aqa.metrics.references import (
    ALPHAS,
    below_probe,
    constant_metrics,
    fit_probes,
    linear_metrics,
    linear_prefix,
)

STAGES = ("val", "test", "test_ood")


def _data(seed=0, n=(40, 15, 15, 15)):
    """Features (N, 6) of which the first two carry PQ; 3 sources; every split of STAGES."""
    rng = np.random.default_rng(seed)
    rows = []
    for split, count in zip(("train", *STAGES), n, strict=True):
        for k in range(count):
            rows.append(
                {"id": f"{split}{k}", "split": split, "dataset": f"s{k % 3}", "system": f"{split}{k % 5}"}
            )
    table = pd.DataFrame(rows)
    features = rng.normal(size=(len(table), 6))
    table["PQ"] = 5 + 2 * features[:, 0] - features[:, 1] + rng.normal(0, 0.3, len(table))
    return table, features


def _stages(table):
    out = {}
    for stage in STAGES:
        clips = table[table["split"] == stage].rename(columns={"PQ": "target_PQ"})
        out[stage] = clips.assign(pred_PQ=np.nan)  # the model's predictions: replaced, not used
    return out


def test_probe_rows_on_every_stage_under_the_model_keys():
    table, features = _data()
    m = linear_metrics(features, table, ["PQ"], _stages(table), "train", linear_prefix("encoder"))
    for stage in STAGES:
        for metric in ("utt_srcc", "utt_mse", "sys_srcc", "within_srcc", "utt_ktau"):
            assert f"linear/encoder/{stage}/PQ/{metric}" in m
        assert m[f"linear/encoder/{stage}/PQ/utt_srcc"] > 0.8  # the features carry PQ
        assert f"linear/encoder/{stage}/mean/within_srcc" in m


def test_probe_penalty_and_fit_see_train_only():
    table, features = _data()
    probes = fit_probes(features, table, ["PQ"], "train")
    noisy = table.copy()
    held = noisy["split"] != "train"
    noisy.loc[held, "PQ"] = np.random.default_rng(1).normal(0, 100, held.sum())  # other targets
    again = fit_probes(features, noisy, ["PQ"], "train")
    for a, b in ((probes["PQ"], again["PQ"]),):
        assert a[-1].alpha_ == b[-1].alpha_
        np.testing.assert_array_equal(a[-1].coef_, b[-1].coef_)
    stages = _stages(table)
    before = linear_metrics(features, table, ["PQ"], stages, "train", "linear/encoder")
    after = linear_metrics(features, noisy, ["PQ"], stages, "train", "linear/encoder")
    assert before == pytest.approx(after, nan_ok=True)
    # train targets do reach the fit (the check above can fail)
    moved = table.copy()
    moved.loc[~held, "PQ"] = np.random.default_rng(2).normal(0, 1, (~held).sum())
    other = fit_probes(features, moved, ["PQ"], "train")["PQ"][-1]
    assert not np.allclose(other.coef_, probes["PQ"][-1].coef_)


def test_probe_penalty_is_chosen_from_the_grid():
    table, features = _data()
    alpha = fit_probes(features, table, ["PQ"], "train")["PQ"][-1].alpha_
    assert alpha in ALPHAS
    pure_noise = table.assign(PQ=np.random.default_rng(3).normal(size=len(table)))
    assert fit_probes(features, pure_noise, ["PQ"], "train")["PQ"][-1].alpha_ > alpha  # noise: more penalty


def test_clip_without_features_is_left_out():
    table, features = _data()
    features[table.index[table["split"] == "val"][:3]] = np.nan
    m = linear_metrics(features, table, ["PQ"], _stages(table), "train", "linear/acoustic")
    assert math.isfinite(m["linear/acoustic/val/PQ/utt_srcc"])


def test_constant_predicts_the_train_mean():
    table, _ = _data()
    m = constant_metrics(table, ["PQ"], _stages(table), "train")
    mean = table.loc[table["split"] == "train", "PQ"].mean()
    val = table.loc[table["split"] == "val", "PQ"]
    assert m["constant/val/PQ/utt_mse"] == pytest.approx(((val - mean) ** 2).mean())
    assert math.isnan(m["constant/val/PQ/utt_srcc"])  # a constant ranks nothing


def test_below_probe_follows_the_metric_direction():
    assert below_probe(0.40, 0.41, "within_srcc") and below_probe(0.41, 0.41, "utt_srcc")
    assert not below_probe(0.42, 0.41, "within_srcc")
    assert below_probe(2.0, 1.0, "utt_mse") and not below_probe(1.0, 2.0, "utt_mse")
    assert not below_probe(math.nan, 0.4, "within_srcc") and not below_probe(0.4, math.nan, "within_srcc")


def test_too_few_train_clips_give_nan_rows_not_an_error():
    table, features = _data(n=(2, 15, 15, 15))
    m = linear_metrics(features, table, ["PQ"], _stages(table), "train", "linear/encoder")
    assert math.isnan(m["linear/encoder/val/PQ/utt_srcc"]) and math.isnan(m["linear/encoder/val/PQ/utt_mse"])
