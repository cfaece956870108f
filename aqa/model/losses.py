"""MOS losses (registry) and the pairwise ranking term. All take (B,) predictions and targets in normalised
units and ignore NaN targets, with masks rather than boolean indexing (no host sync on GPUs)."""

import torch


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def l1(err: torch.Tensor, valid: torch.Tensor, tau: float) -> torch.Tensor:
    return _masked_mean(err.abs(), valid)


def mse(err: torch.Tensor, valid: torch.Tensor, tau: float) -> torch.Tensor:
    return _masked_mean(err**2, valid)


def clipped_mse(err: torch.Tensor, valid: torch.Tensor, tau: float) -> torch.Tensor:
    """MSE that ignores errors smaller than tau (UTMOS-style): the model is not pushed to fit rating noise."""
    return _masked_mean(torch.where(err.abs() > tau, err**2, torch.zeros_like(err)), valid)


LOSSES = {"l1": l1, "mse": mse, "clipped_mse": clipped_mse}


def ranking_loss(pred: torch.Tensor, target: torch.Tensor, margin: float, valid: torch.Tensor | None = None):
    """Pairwise margin ranking over every ordered pair with target_i > target_j: max(0, margin - (p_i - p_j))."""
    valid = torch.ones_like(pred, dtype=torch.bool) if valid is None else valid
    ordered = (target[:, None] - target[None, :] > 0) & valid[:, None] & valid[None, :]  # (B, B)
    return _masked_mean(torch.relu(margin - (pred[:, None] - pred[None, :])), ordered)


def mos_loss(pred: torch.Tensor, target: torch.Tensor, cfg) -> torch.Tensor:
    """(B,), (B,) -> scalar: cfg.loss.name term + cfg.loss.ranking_weight * ranking term, NaN targets masked."""
    if cfg.name not in LOSSES:
        raise ValueError(f"loss.name must be one of {sorted(LOSSES)}, got {cfg.name!r}")
    valid = ~torch.isnan(target)
    target = torch.where(valid, target, pred.detach())  # error 0 where the target is missing
    loss = LOSSES[cfg.name](pred - target, valid, cfg.tau)
    if cfg.ranking_weight > 0:
        loss = loss + cfg.ranking_weight * ranking_loss(pred, target, cfg.margin, valid)
    return loss


def observations(target: torch.Tensor, ratings: torch.Tensor | None) -> torch.Tensor:
    """(B,), (B, R) or None -> (B, max(R, 1)): a clip's individual ratings when it has any, else its target
    alone (NaN = no observation)."""
    alone = target[:, None]
    if ratings is None or ratings.shape[-1] == 0:
        return alone
    has_list = (~torch.isnan(ratings)).any(-1, keepdim=True)  # (B, 1)
    padded = torch.cat([alone, torch.full_like(ratings[:, 1:], float("nan"))], -1)  # (B, R)
    return torch.where(has_list, ratings, padded)


def gaussian_nll(mean: torch.Tensor, var: torch.Tensor, target: torch.Tensor, ratings=None) -> torch.Tensor:
    """(B,) mean and variance, (B,) target, (B, R) ratings or None, normalised units -> scalar.

    Per clip: the mean over its observations (`observations`) of 0.5 * (log var + (x - mean)^2 / var);
    then the mean over clips that have one. With equal variances it is MSE to the ratings' mean plus a
    constant, so the mean it fits is the MOS.
    """
    obs = observations(target, ratings)  # (B, R)
    valid = ~torch.isnan(obs)
    x = torch.where(valid, obs, mean.detach()[:, None])
    var = var[:, None]
    per_obs = 0.5 * (torch.log(var) + (x - mean[:, None]) ** 2 / var)  # (B, R)
    count = valid.sum(-1)
    per_clip = (per_obs * valid).sum(-1) / count.clamp(min=1)
    return _masked_mean(per_clip, count > 0)


def variance_loss(mean, var, target, ratings, cfg) -> torch.Tensor:
    """The MOS term under `model.head_variance`: Gaussian NLL (+ cfg.ranking_weight * ranking on the mean)."""
    loss = gaussian_nll(mean, var, target, ratings)
    if cfg.ranking_weight > 0:
        valid = ~torch.isnan(target)
        loss = loss + cfg.ranking_weight * ranking_loss(
            mean, torch.where(valid, target, mean.detach()), cfg.margin, valid
        )
    return loss
