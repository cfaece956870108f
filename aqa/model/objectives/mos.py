"""`mos`: each aspect's MOS regression (loss.name + loss.ranking_weight * ranking), averaged over aspects."""

import torch

from aqa.model.losses import mos_loss
from aqa.model.objectives.base import Objective


def log_per_aspect(values: torch.Tensor, aspects: list[str]) -> dict:
    """(A,) per-aspect MOS terms -> the train log entries."""
    logs = {"train/mos_loss": values.mean().detach()}
    return logs | {f"train/{a}/mos_loss": values[i].detach() for i, a in enumerate(aspects)}


class MOSRegression(Objective):
    name = "mos"
    description = "MOS regression (l1|mse|clipped_mse + ranking), weight loss.mos_weight"

    def weight(self, loss_cfg):
        return loss_cfg.mos_weight

    def applies(self, model, loss_cfg):
        return not model.head_variance

    def term(self, step):
        out, targets = step.out, step.targets
        values = torch.stack(
            [mos_loss(out.preds[:, i], targets[:, i], step.loss_cfg) for i in range(targets.shape[1])]
        )
        return values.mean(), log_per_aspect(values, step.model.aspects)
