"""MOS losses (registry) and the pairwise ranking term. All take (B,) predictions and targets in normalised
units and ignore NaN targets."""

import torch
import torch.nn.functional as F


def l1(pred: torch.Tensor, target: torch.Tensor, tau: float) -> torch.Tensor:
    return F.l1_loss(pred, target)


def mse(pred: torch.Tensor, target: torch.Tensor, tau: float) -> torch.Tensor:
    return F.mse_loss(pred, target)


def clipped_mse(pred: torch.Tensor, target: torch.Tensor, tau: float) -> torch.Tensor:
    """MSE that ignores errors smaller than tau (UTMOS-style): the model is not pushed to fit rating noise."""
    err = pred - target
    return torch.where(err.abs() > tau, err**2, torch.zeros_like(err)).mean()


LOSSES = {"l1": l1, "mse": mse, "clipped_mse": clipped_mse}


def ranking_loss(pred: torch.Tensor, target: torch.Tensor, margin: float) -> torch.Tensor:
    """Pairwise margin ranking over every ordered pair with target_i > target_j: max(0, margin - (p_i - p_j))."""
    diff_t = target[:, None] - target[None, :]  # (B, B)
    diff_p = pred[:, None] - pred[None, :]
    ordered = diff_t > 0
    if not ordered.any():
        return pred.sum() * 0.0
    return torch.relu(margin - diff_p[ordered]).mean()


def mos_loss(pred: torch.Tensor, target: torch.Tensor, cfg) -> torch.Tensor:
    """(B,), (B,) -> scalar: cfg.loss.name term + cfg.loss.ranking_weight * ranking term, NaN targets masked."""
    if cfg.name not in LOSSES:
        raise ValueError(f"loss.name must be one of {sorted(LOSSES)}, got {cfg.name!r}")
    valid = ~torch.isnan(target)
    if not valid.any():
        return pred.sum() * 0.0
    pred, target = pred[valid], target[valid]
    loss = LOSSES[cfg.name](pred, target, cfg.tau)
    if cfg.ranking_weight > 0:
        loss = loss + cfg.ranking_weight * ranking_loss(pred, target, cfg.margin)
    return loss
