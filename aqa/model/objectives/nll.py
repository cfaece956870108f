"""`nll`: under model.head_variance, the Gaussian NLL of each clip's ratings (+ ranking on the mean)."""

import torch

from aqa.model.losses import variance_loss
from aqa.model.objectives.base import Objective
from aqa.model.objectives.mos import log_per_aspect


class GaussianNLL(Objective):
    name = "nll"
    description = "Gaussian NLL of the ratings (model.head_variance), weight loss.mos_weight"

    def weight(self, loss_cfg):
        return loss_cfg.mos_weight

    def applies(self, model, loss_cfg):
        return model.head_variance

    def term(self, step):
        out, targets = step.out, step.targets
        ratings = step.batch.get("ratings")
        ratings = step.model.normalise(ratings) if ratings is not None else None
        values = torch.stack(
            [
                variance_loss(
                    out.preds[:, i],
                    out.var[:, i],
                    targets[:, i],
                    ratings[:, i] if ratings is not None else None,
                    step.loss_cfg,
                )
                for i in range(targets.shape[1])
            ]
        )
        return values.mean(), log_per_aspect(values, step.model.aspects)
