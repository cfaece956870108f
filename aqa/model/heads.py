"""Per-aspect MOS regression head, domain classifier (behind gradient reversal) and projection."""

import torch
from torch import nn

from aqa.model.grl import reverse_grad


class MOSHead(nn.Module):
    """(B, D) -> (B, outputs): normalised MOS (outputs=1), or MOS and a raw variance (outputs=2)."""

    def __init__(self, in_dim: int, hidden: int, dropout: float, outputs: int = 1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, outputs)
        )

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.net(pooled)


class DomainClassifier(nn.Module):
    """(B, D) -> GRL -> (B, K) domain logits. With condition_dim > 0 the classifier also receives a
    condition (B, C) beside the reversed features (no gradient flows into the condition)."""

    def __init__(self, in_dim: int, num_domains: int, hidden: int, dropout: float, condition_dim: int = 0):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim + condition_dim, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_domains),
        )

    def forward(
        self, pooled: torch.Tensor, lambda_: torch.Tensor, condition: torch.Tensor | None = None
    ) -> torch.Tensor:
        reversed_ = reverse_grad(pooled, lambda_)
        if condition is not None:
            reversed_ = torch.cat([reversed_, condition.detach().to(reversed_.dtype)], dim=-1)
        return self.net(reversed_)


class Projection(nn.Module):
    """(B, D) -> (B, out_dim): an aspect's own capacity between the shared encoder and its head/adversary."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, out_dim), nn.GELU())
        self.out_dim = out_dim

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.net(pooled)
