"""Objective registry, in summation order. The one owner of the objective names; a new objective is one
small file plus one line here (it says itself when it applies and with which weight)."""

from aqa.model.objectives.base import Objective, Step
from aqa.model.objectives.domain import DomainAdversary
from aqa.model.objectives.mos import MOSRegression
from aqa.model.objectives.nll import GaussianNLL
from aqa.model.objectives.rnc import RankNContrast

OBJECTIVES: dict[str, type[Objective]] = {
    "mos": MOSRegression,
    "nll": GaussianNLL,
    "domain": DomainAdversary,
    "rnc": RankNContrast,
}


def total_loss(step: Step, objectives=None) -> tuple:
    """-> (loss = sum of weight * term over the objectives that apply, {log key: value} of every term)."""
    objectives = objectives if objectives is not None else [cls() for cls in OBJECTIVES.values()]
    loss, logs = None, {}
    for objective in objectives:
        if not objective.applies(step.model, step.loss_cfg):
            continue
        value, term_logs = objective.term(step)
        weighted = objective.weight(step.loss_cfg) * value
        loss = weighted if loss is None else loss + weighted
        logs |= term_logs
    return loss, logs
