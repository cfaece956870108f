"""The interface of a training objective: one term of the loss, summed with its weight.

loss = sum over the registered objectives that apply of `weight(loss_cfg) * term(step)`
(aqa/model/objectives/registry.py, in registry order). A term returns a scalar and the values to log.
"""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Step:
    """What every objective may read about one training batch (normalised units)."""

    model: object  # the AspectModel (aqa/model/aspect_model.py): settings, handlings, normalise
    out: object  # its ModelOutput: preds (B, A), features (B, A, D), var (B, A) | None
    batch: dict  # the data module's batch: targets (B, A), domains (B, A), ratings, labels, ...
    targets: torch.Tensor  # (B, A) normalised targets, NaN = missing
    lambdas: torch.Tensor  # (A,) each aspect's gradient-reversal strength at this step
    loss_cfg: object  # the `loss:` section
    label_columns: list  # `data.label_columns` (the columns of batch["labels"])


class Objective:
    """Subclasses set `name` and `description` and implement `weight`, `applies` and `term`."""

    name = ""
    description = ""

    def weight(self, loss_cfg) -> float:
        raise NotImplementedError

    def applies(self, model, loss_cfg) -> bool:
        """False: the term is not computed at all (e.g. its weight is 0, or the model has no adversary)."""
        return True

    def term(self, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """-> (scalar, {log key: detached value})."""
        raise NotImplementedError
