"""Non-adversarial uses of an aspect's domain labels: a domain embedding for the head (conditioned), a
per-domain affine output correction (bias), and the target condition of the conditional adversary.

Labels are int64 (B,), -1 = unknown; a label outside [0, K) is treated as unknown too. Unknown domains get
the neutral choice: the mean embedding (conditioned), the identity correction (bias).
"""

import torch
from torch import nn


def known_mask(labels: torch.Tensor, num_domains: int) -> torch.Tensor:
    """(B,) int64 -> (B,) bool: a label the model was trained with."""
    return (labels >= 0) & (labels < num_domains)


class DomainEmbedding(nn.Module):
    """labels (B,) -> (B, E): a learned vector per domain; an unknown domain gets the mean of the K vectors
    (the neutral choice: no domain is preferred, and it is the embedding an average train clip sees)."""

    def __init__(self, num_domains: int, dim: int):
        super().__init__()
        self.num_domains = num_domains
        self.table = nn.Embedding(num_domains, dim)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        known = known_mask(labels, self.num_domains)
        own = self.table(labels.clamp(0, self.num_domains - 1))  # (B, E)
        neutral = self.table.weight.mean(0, keepdim=True).expand_as(own)
        return torch.where(known[:, None], own, neutral)


class DomainBias(nn.Module):
    """pred (B,), labels (B,) -> (B,) scale_d * pred + offset_d, learned with the model on train.

    Centred (offsets sum to 0, log-scales sum to 0), so the identity used for unknown domains is also the
    average correction; each scale starts at 1 and each offset at 0 (the model starts as without bias).
    `scale(labels)` (B,) is returned for variances (scaled by scale^2).
    """

    def __init__(self, num_domains: int):
        super().__init__()
        self.num_domains = num_domains
        self.log_scale = nn.Parameter(torch.zeros(num_domains))
        self.offset = nn.Parameter(torch.zeros(num_domains))

    def _per_row(self, values: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        centred = values - values.mean()
        own = centred[labels.clamp(0, self.num_domains - 1)]
        return torch.where(known_mask(labels, self.num_domains), own, torch.zeros_like(own))

    def scale(self, labels: torch.Tensor) -> torch.Tensor:
        return torch.exp(self._per_row(self.log_scale, labels))

    def forward(self, pred: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.scale(labels).to(pred.dtype) * pred + self._per_row(self.offset, labels).to(pred.dtype)


def target_condition(target: torch.Tensor) -> torch.Tensor:
    """Normalised target (B,) (NaN = missing) -> (B, 2): [target or 0, 1 if missing] for the conditional
    adversary (a missing target reads as 'quality unknown', not as average quality)."""
    missing = torch.isnan(target)
    return torch.stack([torch.where(missing, torch.zeros_like(target), target), missing.to(target.dtype)], -1)
