"""Issue 21 item 4: lambda swept inside each adversarial candidate. A candidate is (definer, handling,
lambda); the random control is matched on the aspect's resolved handling and lambda (the runs'
`strategy/<A>/...` metrics); every (candidate, lambda) is in the multiplicity family; the report and
selection.yaml name the lambda."""

import numpy as np
import pytest
import yaml
from rich.console import Console

from aqa.config import load_config
from aqa.sweep import select as select_mod
from aqa.sweep.protocols import PROTOCOLS
from aqa.sweep.ranking import group, rank, reference
from aqa.sweep.state import SweepDir
from aqa.training.strategy import strategy_key

SEEDS = [0, 1, 2]
ASPECTS = ["PQ", "PC"]
LAMBDAS = [0.1, 0.3, 1.0]
# within-source SRCC gain over ERM per strategy (the same on both aspects, plus a seed wobble). The random
# control hurts more as lambda grows (strength, not the domain definition, does harm); dataset at 0.3 is
# the one strategy that beats both ERM and its own lambda's control.
GAIN = {
    ("none", None, None): 0.0,
    ("random", None, 0.1): 0.0,
    ("random", None, 0.3): -0.05,
    ("random", None, 1.0): -0.3,
    ("random", "conditioned", None): 0.0,
    ("dataset", None, 0.1): 0.01,
    ("dataset", None, 0.3): 0.1,
    ("dataset", None, 1.0): -0.1,
    ("dataset", "conditioned", None): 0.0,
}


def definer_value(name, handling, lam) -> dict:
    value = {"name": name} | ({"k": 4} if name == "random" else {})
    value |= {"handling": handling} if handling else {}
    return value | ({"lambda_max": lam} if lam is not None else {})


def strategy(name, handling, lam) -> dict:
    """What aqa train writes for each aspect (aqa/training/strategy.py)."""
    if name == "none":
        handling, lam = "none", 0.0
    handling = handling or "adversarial"
    lam = lam if handling == "adversarial" else 0.0
    out = {}
    for a in ASPECTS:
        out |= {strategy_key(a, "definer"): name, strategy_key(a, "handling"): handling}
        out |= {strategy_key(a, "lambda"): lam, strategy_key(a, "k"): 4 if name != "none" else 0}
    return out


@pytest.fixture
def sweep_dir(tmp_path):
    directory = SweepDir(tmp_path / "sweep")
    values = [definer_value(*key) for key in GAIN]
    directory.init({"name": "l", "method": "grid", "parameters": {"domain.definer": {"values": values}}})
    for i, (key, gain) in enumerate(GAIN.items()):
        for s in SEEDS:
            trial = directory.add({"domain.definer": definer_value(*key), "seed": s})
            wobble = np.random.default_rng([i, s]).normal(0, 0.004)  # paired differences vary
            metrics = {f"val/{a}/within_srcc": 0.3 + 0.05 * s + gain + wobble for a in ASPECTS}
            trial.status, trial.metrics = {"state": "finished"}, metrics | strategy(*key)
            directory.save(trial)
    return directory.root


def test_each_lambda_is_a_candidate_and_the_control_is_matched_on_lambda(sweep_dir):
    from aqa.sweep.records import offline_records

    candidates = group(offline_records(sweep_dir)[1])
    assert len(candidates) == len(GAIN)  # 1 ERM + 4 controls + 4 dataset strategies
    labels = {c.label for c in candidates}
    assert {f"dataset lambda_max={lam:g}" for lam in LAMBDAS} <= labels  # the label names the lambda
    controls = [c for c in candidates if c.is_control]
    for c in candidates:
        if c.is_erm or c.is_control:
            continue
        for a in ASPECTS:
            control, why = reference(c, controls, control=True, aspect=a)
            assert why == "" and control.strength(a) == c.strength(a), (c.label, why)
    # without a control at its lambda a candidate is refused, never paired with another lambda's control
    unmatched = [c for c in controls if c.strength("PQ")[1] != 0.3]
    dataset_03 = next(c for c in candidates if c.label == "dataset lambda_max=0.3")
    control, why = reference(dataset_03, unmatched, control=True, aspect="PQ")
    assert control is None and "lambda 0.3 on PQ" in why


def test_every_lambda_counts_in_the_family_and_the_selection_names_it(sweep_dir):
    from aqa.sweep.records import offline_records

    rankings = rank(group(offline_records(sweep_dir)[1]), ASPECTS, PROTOCOLS["within"])
    for a in ASPECTS:
        tested = [r for r in rankings[a].rows if not r.candidate.is_erm and not r.candidate.is_control]
        assert len(tested) == 4
        # one family over every (candidate, lambda) x aspect: 4 x 2 against ERM
        assert {r.vs_erm.family for r in tested} == {4 * len(ASPECTS)}
        assert rankings[a].selected.candidate.label == "dataset lambda_max=0.3"
        # dataset at lambda 1 is compared with random at lambda 1 (gain -0.1 vs -0.3), not a weaker one
        strong = next(r for r in tested if r.candidate.label == "dataset lambda_max=1")
        assert strong.vs_control.mean == pytest.approx(0.2, abs=0.01)
    select_mod.select(str(sweep_dir), console=Console(record=True))
    selection = yaml.safe_load((sweep_dir / "selection.yaml").read_text())
    assert selection["PQ"]["definer"] == {"name": "dataset", "lambda_max": 0.3}
    assert "dataset lambda_max=0.3" in (sweep_dir / "selection.md").read_text()
    # the final model deploys that lambda on that aspect only (aqa.config.load expands the definer)
    cfg = load_config(None, [f"domain.selection={sweep_dir / 'selection.yaml'}", "data.aspects=[PQ,PC,CE]"])
    assert cfg.model.aspects.PQ.lambda_max == 0.3 and cfg.model.aspects.PC.lambda_max == 0.3
    assert "CE" not in cfg.model.aspects and cfg.model.adversary.lambda_max == 1.0


def test_a_definer_lambda_sets_the_adversary_strength():
    cfg = load_config(None, ["domain.definer={name: dataset, lambda_max: 0.3}"])
    assert cfg.model.adversary.lambda_max == 0.3
    cfg = load_config(None, ["domain.definers.PQ={name: dataset, lambda_max: 0.1}"])
    assert cfg.model.aspects.PQ.lambda_max == 0.1 and cfg.model.adversary.lambda_max == 1.0
    explicit = ["domain.definers.PQ={name: dataset, lambda_max: 0.1}", "model.aspects.PQ.lambda_max=3.0"]
    assert load_config(None, explicit).model.aspects.PQ.lambda_max == 3.0  # an explicit setting wins
