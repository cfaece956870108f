"""The interface of a domain handling: what one aspect does with its K >= 2 domain labels.

Labels are int64 (B,), -1 = unknown (a label outside [0, K) counts as unknown too). A handling is an
nn.Module built once per aspect by the per-aspect model (aqa/model/aspect_model.py); each hook defaults to
"do nothing", so a handling overrides only the hooks it needs:

- `head_extra`: extra input size of the MOS head (what `head_input` appends);
- `head_input(x (B, D), labels) -> (B, D + head_extra)`: what the head sees;
- `output(mean (B,), var (B,) | None, labels) -> (mean, var)`: a correction of the prediction;
- `logits(features (B, D), lambda_ (), target (B,)) -> (B, K) | None`: a domain classifier's logits
  (behind gradient reversal); an aspect with logits gets the `domain` objective (aqa/model/objectives).
"""

import torch
from torch import nn


class DomainHandling(nn.Module):
    """Subclasses set `name` and `description` and take (num_domains, dim, model_cfg, class_weights)."""

    name = ""
    description = ""
    adversarial = False  # True: `logits` trains a domain classifier (counted by the `domain` objective)
    before_heads = False  # built before the MOS heads (required when head_extra > 0)

    def __init__(self, num_domains: int, dim: int, model_cfg, class_weights: list[float] | None = None):
        super().__init__()
        self.num_domains = num_domains
        self.head_extra = 0

    def head_input(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return x

    def output(self, mean: torch.Tensor, var: torch.Tensor | None, labels: torch.Tensor):
        return mean, var

    def logits(self, features: torch.Tensor, lambda_: torch.Tensor, target: torch.Tensor):
        return None
