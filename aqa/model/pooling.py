"""Frame pooling: masked mean per layer, then per-aspect layer mixing (or DeepAQ concatenation)."""

import torch
from torch import nn


def masked_layer_means(hidden: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """(L, B, F, H), (B, F) bool -> (L, B, H): mean over valid frames only (padding never leaks)."""
    mask = frame_mask.to(hidden.dtype)[None, :, :, None]  # (1, B, F, 1)
    count = mask.sum(dim=2).clamp(min=1.0)  # (1, B, 1)
    return (hidden * mask).sum(dim=2) / count


class LayerWeightedPool(nn.Module):
    """(L, B, H) layer means -> (B, H) with learned softmax weights over layers.

    Mixing layer means equals the masked mean of mixed frames (both are linear), so the frame mean is
    computed once and shared by every aspect.
    """

    def __init__(self, num_layers: int, hidden_size: int):
        super().__init__()
        self.layer_logits = nn.Parameter(torch.zeros(num_layers))
        self.out_dim = hidden_size

    def forward(self, layer_means: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.layer_logits, dim=0).to(layer_means.dtype)
        return torch.einsum("l,lbh->bh", weights, layer_means)


class DeepAQPool(nn.Module):
    """(L, B, H) layer means -> concat (B, L*H) -> ReLU -> Linear -> (B, out_dim)."""

    def __init__(self, num_layers: int, hidden_size: int, out_dim: int = 256):
        super().__init__()
        self.proj = nn.Linear(num_layers * hidden_size, out_dim)
        self.out_dim = out_dim

    def forward(self, layer_means: torch.Tensor) -> torch.Tensor:
        concat = layer_means.permute(1, 0, 2).flatten(1)  # (B, L*H)
        return self.proj(torch.relu(concat))


def build_pool(kind: str, num_layers: int, hidden_size: int, deepaq_dim: int) -> nn.Module:
    if kind == "layer_weights":
        return LayerWeightedPool(num_layers, hidden_size)
    if kind == "deepaq":
        return DeepAQPool(num_layers, hidden_size, deepaq_dim)
    raise ValueError(f"model.pooling must be layer_weights|deepaq, got {kind!r}")
