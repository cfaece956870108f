import math

import pytest
import torch

from aqa.model.grl import grl_lambda, reverse_grad


def test_forward_is_identity_and_backward_is_minus_lambda():
    x = torch.randn(4, 3, requires_grad=True)
    lam = torch.tensor(0.7)
    y = reverse_grad(x, lam)
    assert torch.equal(y, x)
    upstream = torch.randn(4, 3)
    y.backward(upstream)
    assert torch.allclose(x.grad, -0.7 * upstream)


def test_zero_lambda_blocks_the_gradient():
    x = torch.randn(5, requires_grad=True)
    reverse_grad(x, torch.tensor(0.0)).sum().backward()
    assert torch.count_nonzero(x.grad) == 0


def test_reversal_under_vmap_per_model_lambda():
    """Stacked models (torch.func.vmap) each reverse their gradient with their own lambda."""
    x = torch.randn(3, 4)
    lams = torch.tensor([0.0, 0.5, 2.0])
    weights = torch.randn(3, 4)

    def loss(xi, lam, w):
        return (reverse_grad(xi, lam) * w).sum()

    grads = torch.func.vmap(torch.func.grad(loss))(x, lams, weights)
    torch.testing.assert_close(grads, -lams[:, None] * weights)


@pytest.mark.parametrize("p", [0.0, 0.1, 0.25, 0.5, 1.0])
def test_schedule_values(p):
    expected = 2.0 * (2.0 / (1.0 + math.exp(-10.0 * p)) - 1.0)
    assert grl_lambda(p, lambda_max=2.0, gamma=10.0) == pytest.approx(expected)


def test_schedule_shape():
    assert grl_lambda(0.0, 1.0, 10.0) == 0.0
    assert grl_lambda(1.0, 1.0, 10.0) == pytest.approx(0.99991, abs=1e-4)
    values = [grl_lambda(p / 10, 1.0, 10.0) for p in range(11)]
    assert values == sorted(values)
    assert grl_lambda(2.0, 1.0, 10.0) == grl_lambda(1.0, 1.0, 10.0)  # progress is clamped


def test_warmup_holds_lambda_at_zero_then_ramps_over_the_rest():
    from aqa.model.grl import after_warmup

    assert grl_lambda(after_warmup(0.2, 0.3), 1.0, 10.0) == 0.0
    assert after_warmup(0.3, 0.3) == 0.0 and after_warmup(1.0, 0.3) == pytest.approx(1.0)
    assert after_warmup(0.65, 0.3) == pytest.approx(0.5)
    assert after_warmup(0.4, 0.0) == 0.4
