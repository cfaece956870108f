"""Gaussian NLL of individual ratings (variance heads)."""

import torch

from aqa.model.losses import gaussian_nll, observations


def _ratings():
    generator = torch.Generator().manual_seed(0)
    ratings = torch.randint(1, 11, (6, 10), generator=generator).float()
    ratings[0, 7:] = float("nan")  # fewer raters on some clips
    ratings[3, 2:] = float("nan")
    return ratings


def test_nll_with_equal_variances_is_mse_to_the_rating_mean_plus_a_constant():
    ratings = _ratings()
    rating_mean = torch.nanmean(ratings, dim=1)
    var = torch.full((6,), 0.7)
    differences = []
    for shift in (-2.0, -0.5, 0.0, 0.3, 1.5):
        mean = rating_mean + shift * torch.linspace(0.5, 1.5, 6)
        nll = gaussian_nll(mean, var, torch.full((6,), float("nan")), ratings)
        differences.append(float(nll - (0.5 * (mean - rating_mean) ** 2 / var).mean()))
    assert max(differences) - min(differences) < 1e-5
    mean = torch.zeros(6, requires_grad=True)  # its minimiser is the MOS (the mean of the ratings)
    optimizer = torch.optim.SGD([mean], lr=0.5)
    for _ in range(200):
        optimizer.zero_grad()
        gaussian_nll(mean, var, torch.full((6,), float("nan")), ratings).backward()
        optimizer.step()
    assert torch.allclose(mean.detach(), rating_mean, atol=1e-4)


def test_clips_without_a_rating_list_use_their_target_alone():
    ratings = _ratings()
    ratings[2] = float("nan")
    target = torch.arange(6.0)
    obs = observations(target, ratings)
    assert obs[2, 0] == 2.0 and torch.isnan(obs[2, 1:]).all()
    assert torch.equal(obs[1], ratings[1])
    mean, var = torch.full((6,), 3.0), torch.full((6,), 1.0)
    alone = gaussian_nll(mean[2:3], var[2:3], target[2:3], None)
    assert torch.allclose(alone, 0.5 * (3.0 - 2.0) ** 2 * torch.ones(()))
    nothing = gaussian_nll(mean, var, torch.full((6,), float("nan")), torch.full((6, 10), float("nan")))
    assert nothing == 0


def test_nll_trains_the_variance_towards_the_rater_spread():
    ratings = torch.randn(400, 10, generator=torch.Generator().manual_seed(1)) * 1.5
    mean = torch.zeros(400)
    log_var = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.Adam([log_var], lr=0.05)
    for _ in range(300):
        optimizer.zero_grad()
        gaussian_nll(mean, log_var.exp().expand(400), torch.full((400,), float("nan")), ratings).backward()
        optimizer.step()
    assert abs(float(log_var.detach().exp().sqrt()) - 1.5) < 0.05
