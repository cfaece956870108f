"""`strategy/<A>/lambda_kept`: the GRL strength at the kept checkpoint's step, and the selection warning for
adversarial candidates whose kept checkpoints predate the adversary (those trials measured ERM)."""

from types import SimpleNamespace

import pytest

from aqa.model.grl import grl_lambda
from aqa.sweep.ranking import Candidate, Row
from aqa.sweep.records import TrialRecord
from aqa.sweep.report import kept_notes
from aqa.training.strategy import kept_lambda_key, kept_lambdas, strategy_key

ADVERSARY = SimpleNamespace(warmup_fraction=0.3)
SETTINGS = {
    "PQ": SimpleNamespace(adversarial=True, lambda_max=1.0, gamma=10.0),
    "PC": SimpleNamespace(adversarial=False, lambda_max=1.0, gamma=10.0),  # e.g. the bias handling
    "CE": SimpleNamespace(adversarial=True, lambda_max=0.3, gamma=10.0),  # no domains found: ERM
}
DOMAINS = SimpleNamespace(num_domains={"PQ": 4, "PC": 4, "CE": 1})


def test_kept_lambda_follows_the_schedule_after_the_warm_up():
    before = kept_lambdas(list(SETTINGS), DOMAINS, SETTINGS, ADVERSARY, progress=0.2)
    assert before == {kept_lambda_key(a): 0.0 for a in SETTINGS}  # kept inside the warm-up: no adversary
    late = kept_lambdas(list(SETTINGS), DOMAINS, SETTINGS, ADVERSARY, progress=0.65)
    assert late[kept_lambda_key("PQ")] == pytest.approx(grl_lambda(0.5, 1.0, 10.0))
    assert late[kept_lambda_key("PC")] == 0.0 and late[kept_lambda_key("CE")] == 0.0


DEFINER = {"domain.definer": {"name": "dataset", "lambda_max": 0.3}}


def trial(seed: int, kept: float) -> TrialRecord:
    metrics = {
        "val/PQ/within_srcc": 0.4,
        strategy_key("PQ", "handling"): "adversarial",
        strategy_key("PQ", "lambda"): 0.3,
        kept_lambda_key("PQ"): kept,
    }
    return TrialRecord(id=f"t{seed}", params=DEFINER | {"seed": seed}, metrics=metrics)


def ranking(trials: list[TrialRecord]) -> dict:
    candidate = Candidate(params=DEFINER, trials=trials)
    row = Row(candidate, len(trials), 0.4, 0.0, None, None, 0.0, 0.0, None)
    return {"PQ": SimpleNamespace(rows=[row])}


def test_a_candidate_kept_before_its_adversary_is_flagged():
    notes = kept_notes(ranking([trial(0, 0.0), trial(1, 0.0), trial(2, 0.25)]))
    assert len(notes) == 1 and "2 of 3 trials" in notes[0] and "PQ: dataset lambda_max=0.3" in notes[0]
    assert kept_notes(ranking([trial(0, 0.2), trial(1, 0.25)])) == []


def test_console_notes_keep_two_per_aspect_and_count_the_rest():
    from aqa.sweep.report import console_notes

    notes = [f"PQ: candidate {i}" for i in range(5)] + ["CE: one candidate"]
    assert console_notes(notes) == [
        "PQ: candidate 0",
        "PQ: candidate 1",
        "PQ: 3 more like these (selection.md lists them)",
        "CE: one candidate",
    ]
    assert console_notes([]) == []
