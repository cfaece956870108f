"""`domain`: the domain classifiers' cross-entropy of the adversarial aspects, each times its own
`model.aspects.<A>.weight` (so an aspect's strength does not depend on the other aspects).

`loss.domain_reduction` (the one owner of its vocabulary: `REDUCTIONS`):
    mean  (default, DANN per aspect) the sum over adversarial aspects divided by the number of aspects A, as
          the `mos` term is the mean over aspects: loss = mean over aspects of (mos_a + w_a * domain_a), so
          one aspect's adversary stands to its own MOS term as in DANN (loss = mos + w * domain) whatever the
          other aspects do (docs/measured_deployed.md)
    sum   the pre-issue-21 form: the plain sum over adversarial aspects (about A x w against one averaged
          MOS term when every aspect is adversarial)
"""

import torch
import torch.nn.functional as F

from aqa.model.objectives.base import Objective

REDUCTIONS = {"mean": lambda num_aspects: 1.0 / num_aspects, "sum": lambda num_aspects: 1.0}


def reduction_scale(loss_cfg, num_aspects: int) -> float:
    """The factor of the summed per-aspect domain terms under `loss.domain_reduction`."""
    name = loss_cfg.get("domain_reduction", "mean")
    if name not in REDUCTIONS:
        raise ValueError(f"loss.domain_reduction must be one of {sorted(REDUCTIONS)}, got {name!r}")
    return REDUCTIONS[name](num_aspects)


def domain_loss(logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """(B, K), (B,) (-1 = unknown), (K,) class weights or None -> class-weighted cross-entropy over the known
    rows; 0, not NaN, when no row is known (masked mean, no host sync)."""
    known = labels >= 0
    per_row = F.cross_entropy(logits, labels.clamp(min=0), reduction="none")
    row_weight = known.to(per_row.dtype) * (weight[labels.clamp(min=0)] if weight is not None else 1.0)
    return (per_row * row_weight).sum() / row_weight.sum().clamp(min=1e-8)


class DomainAdversary(Objective):
    name = "domain"
    description = (
        "domain cross-entropy of every adversarial aspect (per-aspect weights inside, loss.domain_reduction)"
    )

    def weight(self, loss_cfg):
        return 1.0  # each aspect's own weight and the reduction are applied inside the term

    def applies(self, model, loss_cfg):
        reduction_scale(loss_cfg, 1)  # an unknown reduction fails here, before any term
        return any(h.adversarial for h in model.handlings.values())

    def term(self, step):
        model, domains = step.model, step.batch["domains"]
        scale = reduction_scale(step.loss_cfg, len(model.aspects))
        total, logs = 0, {}
        for i, a in enumerate(model.aspects):
            handling = model.handlings[a] if a in model.handlings else None  # noqa: SIM401 (ModuleDict has no get)
            if handling is None or not handling.adversarial:
                continue
            logits = handling.logits(step.out.features[:, i], step.lambdas[i], step.targets[:, i])
            loss = domain_loss(logits, domains[:, i], handling.class_weight)
            total = total + model.settings[a].weight * loss
            known = (domains[:, i] >= 0).float()
            correct = (logits.argmax(-1) == domains[:, i]).float() * known
            logs[f"train/{a}/domain_loss"] = loss.detach()
            logs[f"train/{a}/domain_acc"] = correct.sum() / known.sum().clamp(min=1.0)
            logs[f"train/{a}/domain_chance"] = torch.tensor(1.0 / logits.shape[-1])
            logs[f"train/{a}/grl_lambda"] = step.lambdas[i]
        return scale * total, logs
