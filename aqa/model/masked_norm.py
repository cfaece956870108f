"""Length-aware replacement for the GroupNorm of MERT/HuBERT's first conv layer.

With `feat_extract_norm="group"` the first conv layer normalises each channel over the whole time axis,
so zero padding changes every valid frame of a shorter clip in the batch. Later conv layers only produce
valid frames from valid samples, so normalising over the valid frames alone makes the whole encoder
output independent of padding (and of batch composition).
"""

import torch
from torch import nn


class MaskedGroupNormConvLayer(nn.Module):
    """conv -> per-channel norm over valid frames only -> activation. Same parameters as the wrapped layer.

    Set `.lengths` (B,) in samples before each forward; None falls back to the unmasked statistics.
    """

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.conv = layer.conv
        self.layer_norm = layer.layer_norm  # nn.GroupNorm(C, C): affine weight/bias and eps are reused
        self.activation = layer.activation
        self.lengths: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)  # (B, 1, T) -> (B, C, T')
        if self.lengths is None:
            return self.activation(self.layer_norm(x))
        kernel, stride = self.conv.kernel_size[0], self.conv.stride[0]
        valid = torch.div(self.lengths - kernel, stride, rounding_mode="floor") + 1  # (B,)
        mask = (torch.arange(x.shape[-1], device=x.device)[None, :] < valid[:, None]).to(x.dtype)[:, None, :]
        n = mask.sum(-1, keepdim=True).clamp(min=1.0)  # (B, 1, 1)
        mean = (x * mask).sum(-1, keepdim=True) / n
        var = (((x - mean) * mask) ** 2).sum(-1, keepdim=True) / n
        norm = self.layer_norm
        x = (x - mean) / torch.sqrt(var + norm.eps) * norm.weight[None, :, None] + norm.bias[None, :, None]
        return self.activation(x)


def install_masked_group_norm(hubert) -> MaskedGroupNormConvLayer | None:
    """Swap the first conv layer of a group-norm HubertModel in place; returns it (None if not group norm)."""
    if hubert.config.feat_extract_norm != "group":
        return None
    layers = hubert.feature_extractor.conv_layers
    layers[0] = MaskedGroupNormConvLayer(layers[0])
    return layers[0]
