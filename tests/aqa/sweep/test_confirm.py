"""Two-stage selection (aqa/sweep/confirm.py) on simulated sweeps with a known answer
(tests/aqa/sweep/simulate.py): the lenient shortlist at screening, the deployments of the confirmation, and
that only a confirmed candidate enters selection.yaml."""

import numpy as np
import pandas as pd
import pytest
import yaml

from aqa.sweep import confirm as stage
from aqa.sweep.protocols import PROTOCOLS
from aqa.sweep.ranking import ERM_ENTRY, group, rank
from tests.aqa.sweep.simulate import STAGE, sweep

MIXED = PROTOCOLS["mixed"]
ASPECTS = ["PQ", "PC"]


def screening(sigmas: dict[str, float], seed: int = 0, seeds: int = 20) -> dict:
    rng = np.random.default_rng(seed)
    return rank(group(sweep(rng, sigmas, ASPECTS, seeds=seeds, clips=120)), ASPECTS, MIXED, n_boot=100)


def test_shortlist_takes_the_candidate_that_beats_erm_and_the_control():
    # kmeans's predictions are much closer to the truth than ERM's and the control's; gmm's are worse
    short = stage.shortlist(screening({"none": 1.0, "random": 1.0, "kmeans": 0.6, "gmm": 1.4}))
    for aspect in ASPECTS:
        s = short[aspect]
        assert s.candidate.name == "kmeans" and s.control.name == "random"
        assert s.lower > 0 and s.vs_control.mean > 0 and s.mde > 0
        assert s.lower > s.vs_erm.lower  # unadjusted (lenient) bound above the family-wise one


def test_shortlist_is_empty_without_a_gain_over_erm_or_over_the_control():
    worse = stage.shortlist(screening({"none": 1.0, "random": 1.0, "kmeans": 1.6}, seed=1))
    assert all(s.candidate is None and s.why == "no candidate passed the screen" for s in worse.values())
    # kmeans beats ERM, but the random control beats kmeans: never shortlisted, and the control itself never
    control_wins = stage.shortlist(screening({"none": 1.0, "random": 0.5, "kmeans": 0.7}, seed=2))
    assert all(s.candidate is None for s in control_wins.values())


def test_shortlist_pairs_each_candidate_with_the_control_at_its_own_lambda():
    # the quickstart grid: candidates and random controls at several lambdas (lambda inside the definer)
    records = []
    for lam in (0.1, 1.0):
        for r in sweep(
            np.random.default_rng(3), {"none": 1.0, "random": 1.0, "kmeans": 0.6}, ASPECTS, 20, 120
        ):
            definer = r.params["domain.definer"]
            if definer["name"] == "none" and lam != 0.1:
                continue
            if definer["name"] != "none":
                definer["lambda_max"] = lam
            records.append(r)
    short = stage.shortlist(rank(group(records), ASPECTS, MIXED, n_boot=100))
    for s in short.values():
        assert s.candidate is not None and s.candidate.name == "kmeans", s.why
        assert s.control.name == "random"
        assert s.control.definer["lambda_max"] == s.candidate.definer["lambda_max"]


def test_shortlist_refuses_without_a_random_control():
    short = stage.shortlist(screening({"none": 1.0, "kmeans": 0.6}, seeds=6))
    assert all(s.candidate is None for s in short.values())


def test_deployments_list_every_aspect_and_seeds_are_fresh():
    short = stage.shortlist(screening({"none": 1.0, "random": 1.0, "kmeans": 0.6}, seeds=6))
    short["PC"] = stage.Shortlisted("PC", None, None, None, None, float("nan"), float("nan"), "none")
    files = stage.deployments(short)
    assert files["shortlist"] == {"PQ": {"definer": {"name": "kmeans", "k": 4}}, "PC": ERM_ENTRY}
    assert files["control"] == {"PQ": {"definer": {"name": "random", "k": 4}}, "PC": ERM_ENTRY}
    assert files["erm"] == {"PQ": ERM_ENTRY, "PC": ERM_ENTRY}
    assert "&id" not in yaml.safe_dump(files["erm"])  # fresh dicts: no yaml anchors and aliases
    assert stage.confirm_seeds(3, list(range(20))) == [1000, 1001, 1002]
    with pytest.raises(ValueError, match="fresh"):
        stage.confirm_seeds(2, [1001])


def confirmation_records(sigmas: dict[str, dict[str, float]], seeds: int, seed: int = 3) -> list:
    """Confirmation trials: {aspect: {variant: sigma}} -> one record per variant x seed, as the
    confirmation sweep leaves them (`domain.selection` names the deployment file)."""
    rng = np.random.default_rng(seed)
    per_aspect = {a: sweep(rng, s, [a], seeds=seeds, clips=120) for a, s in sigmas.items()}
    records = []
    for i, first in enumerate(per_aspect[ASPECTS[0]]):
        frame = first.predictions[STAGE].copy()
        for a in ASPECTS[1:]:
            other = per_aspect[a][i].predictions[STAGE]
            frame = frame.assign(**{c: other[c] for c in other if c.endswith(f"_{a}")})
        variant, s = first.params["domain.definer"]["name"], first.params["seed"]
        first.params = {stage.SELECTION_KEY: f"/x/{variant}.yaml", "seed": stage.CONFIRM_SEED_BASE + s}
        first.config = {**first.config, "data": {"aspects": ASPECTS, "neutral_splits": [STAGE]}}
        first.predictions = {STAGE: pd.DataFrame(frame)}
        records.append(first)
    return records


def test_only_a_confirmed_candidate_enters_selection_yaml():
    short = stage.shortlist(screening({"none": 1.0, "random": 1.0, "kmeans": 0.6}, seeds=6))
    assert all(s.candidate is not None for s in short.values())
    # end to end, the shortlisted kmeans really helps PQ and does nothing for PC
    records = confirmation_records(
        {
            "PQ": {"shortlist": 0.4, "erm": 1.0, "control": 1.0},
            "PC": {"shortlist": 1.0, "erm": 1.0, "control": 1.0},
        },
        seeds=6,
    )
    confirmed = stage.confirm(records, short, MIXED, n_boot=100)
    assert confirmed["PQ"].confirmed and not confirmed["PC"].confirmed
    assert (
        confirmed["PQ"].vs_erm.family == 2 and confirmed["PQ"].vs_erm.n == 6 and confirmed["PQ"].vs_erm.clips
    )
    assert confirmed["PQ"].deployed[0] > confirmed["PQ"].erm[0]
    assert stage.selection_file(short, confirmed) == {
        "PQ": {"definer": {"name": "kmeans", "k": 4}},
        "PC": ERM_ENTRY,
    }
    assert "confirmed" in stage.confirm_rows(confirmed)[0][-1]
    assert "confirmation: minimum detectable effect" in stage.power_line(confirmed)


def test_a_candidate_that_only_beats_erm_at_confirmation_is_not_confirmed():
    short = stage.shortlist(screening({"none": 1.0, "random": 1.0, "kmeans": 0.6}, seeds=6))
    # the deployment beats ERM on PQ, but so does the random control: strength, not the domains, helps
    records = confirmation_records(
        {
            "PQ": {"shortlist": 0.4, "erm": 1.0, "control": 0.4},
            "PC": {"shortlist": 1.0, "erm": 1.0, "control": 1.0},
        },
        seeds=6,
    )
    confirmed = stage.confirm(records, short, MIXED, n_boot=100)
    assert confirmed["PQ"].vs_erm.above_zero and not confirmed["PQ"].confirmed
    assert stage.selection_file(short, confirmed) == {a: ERM_ENTRY for a in ASPECTS}


def test_no_confirmation_trials_confirm_nothing():
    short = stage.shortlist(screening({"none": 1.0, "random": 1.0, "kmeans": 0.6}, seeds=6))
    records = confirmation_records({a: {"shortlist": 0.6, "erm": 1.0} for a in ASPECTS}, seeds=3)
    confirmed = stage.confirm(records, short, MIXED, n_boot=50)  # no control trials finished
    assert not any(c.confirmed for c in confirmed.values())
    assert all("no finished control" in c.note for c in confirmed.values())
