"""Gradient reversal: identity forward, -lambda * grad backward; and the DANN lambda schedule."""

import math

import torch


class _ReverseGrad(torch.autograd.Function):
    generate_vmap_rule = True  # torch.func.vmap over stacked models (several seeds trained as one batch)

    @staticmethod
    def forward(x: torch.Tensor, lambda_: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.save_for_backward(inputs[1])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (lambda_,) = ctx.saved_tensors
        return -lambda_.to(grad.dtype) * grad, None


def reverse_grad(x: torch.Tensor, lambda_: torch.Tensor) -> torch.Tensor:
    """(…) -> (…) unchanged; the gradient flowing back is multiplied by -lambda_."""
    return _ReverseGrad.apply(x, lambda_)


def after_warmup(progress: float, warmup_fraction: float) -> float:
    """Training progress rescaled so the ramp starts after the first `warmup_fraction` of training (0 before)."""
    return max(progress - warmup_fraction, 0.0) / max(1.0 - warmup_fraction, 1e-9)


def grl_lambda(progress: float, lambda_max: float, gamma: float) -> float:
    """lambda_p = lambda_max * (2 / (1 + exp(-gamma * p)) - 1), p = training progress in [0, 1]."""
    p = min(max(progress, 0.0), 1.0)
    return lambda_max * (2.0 / (1.0 + math.exp(-gamma * p)) - 1.0)
