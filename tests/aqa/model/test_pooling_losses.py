import torch

from aqa.config import load_config
from aqa.model.losses import clipped_mse, mos_loss, ranking_loss
from aqa.model.pooling import DeepAQPool, LayerWeightedPool, masked_layer_means


def test_masked_mean_ignores_padding():
    hidden = torch.randn(3, 2, 6, 4)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], dtype=torch.bool)
    means = masked_layer_means(hidden, mask)
    assert torch.allclose(means[:, 1], hidden[:, 1, :3].mean(dim=1))
    garbage = hidden.clone()
    garbage[:, 1, 3:] = 1e6  # whatever sits in the padding must not change the result
    assert torch.allclose(masked_layer_means(garbage, mask), means)


def test_layer_weights_equal_masked_mean_of_mixed_frames():
    hidden = torch.randn(3, 2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=torch.bool)
    pool = LayerWeightedPool(3, 4)
    with torch.no_grad():
        pool.layer_logits.copy_(torch.tensor([0.1, 1.0, -0.5]))
    w = torch.softmax(pool.layer_logits, 0)
    mixed = torch.einsum("l,lbfh->bfh", w, hidden)
    expected = torch.stack([mixed[0].mean(0), mixed[1, :2].mean(0)])
    assert torch.allclose(pool(masked_layer_means(hidden, mask)), expected, atol=1e-6)


def test_deepaq_shape():
    pool = DeepAQPool(13, 768, 256)
    assert pool.proj.in_features == 9984
    assert pool(torch.randn(13, 2, 768)).shape == (2, 256)


def test_clipped_mse_ignores_small_errors():
    err, valid = torch.tensor([-0.1, -1.0]), torch.tensor([True, True])
    assert clipped_mse(err, valid, tau=0.25) == torch.tensor(0.5)


def test_all_targets_missing_gives_zero_loss_with_a_graph():
    pred = torch.tensor([1.0, 2.0], requires_grad=True)
    cfg = load_config(None, ["loss.ranking_weight=1.0"]).loss
    loss = mos_loss(pred, torch.tensor([float("nan"), float("nan")]), cfg)
    loss.backward()
    assert loss == 0 and pred.grad is not None


def test_ranking_loss_zero_when_order_is_right_with_margin():
    target = torch.tensor([1.0, 2.0, 3.0])
    assert ranking_loss(torch.tensor([0.0, 1.0, 2.0]), target, margin=0.5) == 0
    assert ranking_loss(torch.tensor([2.0, 1.0, 0.0]), target, margin=0.5) > 0


def test_mos_loss_masks_nan_and_adds_ranking():
    cfg = load_config(None, ["loss.name=mse"]).loss
    pred, target = torch.tensor([1.0, 2.0, 5.0]), torch.tensor([1.0, float("nan"), 3.0])
    assert mos_loss(pred, target, cfg) == torch.tensor(2.0)
    cfg.ranking_weight = 1.0
    cfg.margin = 0.0
    assert mos_loss(pred, target, cfg) == torch.tensor(2.0)  # order is right: ranking adds nothing
