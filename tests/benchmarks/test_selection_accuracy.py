"""The scoring of benchmarks/selection_accuracy.py on synthetic records and verdicts: recommendation ->
answer class, the Clopper-Pearson interval, regret and oracle gap, and the counts per protocol."""

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from aqa.sweep.ranking import choose, group
from aqa.sweep.records import TrialRecord

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("selection_accuracy", ROOT / "benchmarks/selection_accuracy.py")
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench  # dataclasses look their module up
spec.loader.exec_module(bench)

ANSWERS = {"PQ": "dataset", "PC": "none", "CE": "clusters", "CU": "none"}


def test_recommendations_map_to_answer_classes():
    assert bench.answer_class("none") == "none"
    assert bench.answer_class("dataset") == "dataset"
    assert bench.answer_class("kmeans") == "clusters"
    assert bench.answer_class("gmm") == "clusters"
    assert bench.answer_class("random") == "random"  # a control is never a right answer
    assert bench.answer_class("metadata") == "metadata"


@pytest.mark.parametrize("k,n", [(0, 10), (10, 10), (3, 10), (17, 20)])
def test_clopper_pearson_is_the_beta_quantile_interval(k, n):
    low, high = bench.clopper_pearson(k, n)
    want_low = 0.0 if k == 0 else sps.beta.ppf(0.025, k, n - k + 1)
    want_high = 1.0 if k == n else sps.beta.ppf(0.975, k + 1, n - k)
    assert low == pytest.approx(want_low, abs=1e-9) and high == pytest.approx(want_high, abs=1e-9)
    assert low <= k / n <= high
    assert all(math.isnan(v) for v in bench.clopper_pearson(0, 0))


def verdict(aspect, chosen, chosen_class, scores, oracle=0.6, corpus=0):
    return bench.Verdict(
        corpus,
        aspect,
        ANSWERS[aspect],
        chosen,
        chosen_class,
        {stage: scores for stage in bench.TEST_STAGES},
        {stage: oracle for stage in bench.TEST_STAGES},
    )


def test_regret_is_the_test_chosen_score_minus_the_recommended_one():
    scores = {"none": 0.30, "dataset": 0.50, "kmeans k=3": 0.20}
    erm = verdict("PQ", "none", "none", scores)
    assert erm.regret("test_mixed") == pytest.approx(0.20)
    assert erm.oracle_gap("test_mixed") == pytest.approx(0.30)
    assert not erm.right and erm.planted
    best = verdict("PQ", "dataset", "dataset", scores)
    assert best.regret("test_mixed") == 0 and best.right
    assert math.isnan(verdict("PQ", "", "n/a", scores).regret("test_mixed"))  # no choice: no regret


def test_summary_counts_right_planted_and_false_selections():
    scores = {"none": 0.3, "dataset": 0.4, "kmeans": 0.35}
    verdicts = [
        verdict("PQ", "dataset", "dataset", scores),  # right
        verdict("CE", "none", "none", scores),  # planted effect missed
        verdict("PC", "none", "none", scores),  # right
        verdict("CU", "dataset", "dataset", scores),  # a false selection on the trap
    ]
    s = bench.summarize(verdicts)
    assert (s["accuracy"]["k"], s["accuracy"]["n"]) == (2, 4)
    assert (s["planted"]["k"], s["planted"]["n"]) == (1, 2)
    assert (s["false_selection"]["k"], s["false_selection"]["n"]) == (1, 2)
    assert s["false_selection"]["low"] == pytest.approx(sps.beta.ppf(0.025, 1, 2))
    assert s["regret/test_mixed"] == pytest.approx((0 + 0.1 + 0.1 + 0) / 4)
    assert s["per_aspect"]["CU"] == {"truth": "none", "right": 0, "n": 1, "chosen": ["dataset"]}
    assert s["undecided"] == 0
    # a protocol that made no choice on an aspect: counted apart, neither wrong nor a false selection
    s = bench.summarize([*verdicts, verdict("PC", "", "n/a", scores), verdict("PQ", "", "n/a", scores)])
    assert s["undecided"] == 2
    assert (s["accuracy"]["k"], s["accuracy"]["n"]) == (2, 4)
    assert (s["false_selection"]["k"], s["false_selection"]["n"]) == (1, 2)


def _records(seeds=6):
    """ERM, the random control, a dataset adversary that gains on PQ only and k-means on CE only, on the
    val_mixed metric; test_mixed scores where the dataset adversary is best on PQ."""
    rng = np.random.default_rng(0)
    gains = {"none": {}, "random": {}, "dataset": {"PQ": 0.3}, "kmeans": {"CE": 0.3}}
    config = {"data": {"aspects": list(ANSWERS), "neutral_splits": ["val_mixed", "test_mixed"]}}
    records = []
    for s in range(seeds):
        for name, gain in gains.items():
            definer = {"name": name} if name in ("none", "dataset") else {"name": name, "k": 3}
            metrics = {}
            for a in ANSWERS:
                metrics[f"val_mixed/{a}/utt_srcc"] = 0.3 + gain.get(a, 0.0) + 0.01 * rng.standard_normal()
                metrics[f"test_mixed/{a}/utt_srcc"] = 0.2 + gain.get(a, 0.0)
                metrics[f"test_ood/{a}/utt_srcc"] = 0.1
            params = {"domain.definer": definer, "seed": s}
            records.append(TrialRecord(f"{name}{s}", params, metrics, config | {"seed": s}))
    return records


def test_verdicts_from_a_real_choice_on_synthetic_records():
    records = _records()
    _, _, rankings = choose(records, "mixed", n_boot=50)
    oracle = {a: {stage: 0.7 for stage in bench.TEST_STAGES} for a in ANSWERS}
    verdicts = {v.aspect: v for v in bench.verdicts_for(rankings, ANSWERS, 0, group(records), oracle)}
    assert {a: v.chosen_class for a, v in verdicts.items()} == {
        "PQ": "dataset",
        "PC": "none",
        "CE": "clusters",
        "CU": "none",
    }
    assert all(v.right for v in verdicts.values())
    assert verdicts["PQ"].regret("test_mixed") == pytest.approx(0.0)
    assert verdicts["PQ"].oracle_gap("test_mixed") == pytest.approx(0.7 - 0.5)
    assert verdicts["PC"].regret("test_mixed") == pytest.approx(0.0)  # every candidate scores 0.2 there
    assert set(verdicts["PQ"].scores["test_mixed"]) == {"none", "dataset", "kmeans k=3"}  # no control
    assert verdicts["PQ"].right_gain == pytest.approx(0.3, abs=0.02)  # dataset's gain on val_mixed
    assert verdicts["CE"].right_gain == pytest.approx(0.3, abs=0.02)  # k-means'
    assert set(verdicts["PQ"].gains) == {"dataset", "kmeans k=3"}


def test_lambda_rides_inside_every_adversary_and_each_strategy_has_its_control():
    values = bench.definers([0.1, 1.0])
    assert {"name": "none"} in values and all("lambda_max" not in v for v in values if v["name"] == "none")
    bias = [v for v in values if v.get("handling") == "bias"]
    assert all("lambda_max" not in v for v in bias)  # no adversary: no strength to sweep
    adversaries = [v for v in values if v["name"] in ("dataset", "kmeans") and "handling" not in v]
    assert sorted(v["lambda_max"] for v in adversaries) == [0.1, 0.1, 1.0, 1.0]
    controls = [v for v in values if v["name"] == "random"]
    want = [bench.CONTROL | {"lambda_max": 0.1}, bench.CONTROL | {"lambda_max": 1.0}]
    assert sorted(map(str, controls)) == sorted(map(str, [*want, bench.CONTROL | {"handling": "bias"}]))
    plain = bench.definers(None)
    assert plain == [*bench.CANDIDATES, bench.CONTROL, bench.CONTROL | {"handling": "bias"}]
    grid = bench.trial_grid(3, None)
    assert len(grid) == 3 * len(plain) and {p["seed"] for p in grid} == {0, 1, 2}
