"""`rnc`: DeePAQ's Rank-N-Contrast on the first aspect's features (aqa/model/rnc.py), weight loss.rnc_weight."""

from aqa.model.objectives.base import Objective
from aqa.model.rnc import batch_rnc


class RankNContrast(Objective):
    name = "rnc"
    description = "Rank-N-Contrast on the first aspect's pooled embedding"

    def weight(self, loss_cfg):
        return loss_cfg.rnc_weight

    def applies(self, model, loss_cfg):
        return loss_cfg.rnc_weight > 0

    def term(self, step):
        value = batch_rnc(
            step.out.features[:, 0], step.batch, step.model.aspects, step.loss_cfg, step.label_columns
        )
        return value, {"train/rnc_loss": value.detach()}
