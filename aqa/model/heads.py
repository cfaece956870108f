"""Per-aspect MOS regression head and domain classifier (behind gradient reversal)."""

import torch
from torch import nn

from aqa.model.grl import reverse_grad


class MOSHead(nn.Module):
    """(B, D) -> (B,) normalised MOS."""

    def __init__(self, in_dim: int, hidden: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, 1)
        )

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.net(pooled).squeeze(-1)


class DomainClassifier(nn.Module):
    """(B, D) -> GRL -> (B, K) domain logits."""

    def __init__(self, in_dim: int, num_domains: int, hidden: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_domains)
        )

    def forward(self, pooled: torch.Tensor, lambda_: torch.Tensor) -> torch.Tensor:
        return self.net(reverse_grad(pooled, lambda_))
