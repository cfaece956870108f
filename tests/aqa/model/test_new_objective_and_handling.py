"""The recipes of docs/ARCHITECTURE.md: an objective and a domain handling defined here alone (one class
+ one registry entry each) train through the module without touching aqa/model."""

import pytest
import torch

from aqa.config import load_config
from aqa.model.handling.base import DomainHandling
from aqa.model.handling.registry import HANDLINGS
from aqa.model.module import AQAModule
from aqa.model.objectives.base import Objective, Step
from aqa.model.objectives.registry import OBJECTIVES, total_loss
from aqa.model.sections import module_sections


class PredictionShrinkage(Objective):
    """Pulls the normalised predictions towards 0 (the train mean), weight 0.5."""

    name = "shrink"
    description = "mean squared normalised prediction"

    def weight(self, loss_cfg):
        return 0.5

    def term(self, step):
        value = (step.out.preds**2).mean()
        return value, {"train/shrink": value.detach()}


class DomainOffset(DomainHandling):
    """A learned additive offset per known domain (0 for an unknown one)."""

    name = "offset"
    description = "per-domain additive offset"

    def __init__(self, num_domains, dim, model_cfg, class_weights=None):
        super().__init__(num_domains, dim, model_cfg, class_weights)
        self.offset = torch.nn.Parameter(torch.zeros(num_domains))

    def output(self, mean, var, labels):
        known = (labels >= 0) & (labels < self.num_domains)
        return mean + torch.where(known, self.offset[labels.clamp(0, self.num_domains - 1)], 0.0), var


def build(tiny_overrides, *overrides) -> AQAModule:
    cfg = load_config(None, [*tiny_overrides, "model.encoder.mode=frozen", "model.head_hidden=8", *overrides])
    torch.manual_seed(0)
    module = AQAModule(
        **module_sections(cfg), num_domains={"PQ": 2}, target_mean=[5.0] * 4, target_std=[2.0] * 4
    )
    return module.eval()


def batch():
    g = torch.Generator().manual_seed(0)
    return {
        "ids": ["a", "b", "c"],
        "audio": torch.randn(3, 8000, generator=g),
        "lengths": torch.tensor([8000, 6000, 4000]),
        "domains": torch.tensor([[0, -1, -1, -1], [1, -1, -1, -1], [-1, -1, -1, -1]]),
        "targets": torch.tensor([[5.0, 4.0, 6.0, 5.0], [7.0, 5.0, 5.0, 6.0], [3.0, 2.0, 6.5, 5.2]]),
    }


def loss_of(module, data):
    out = module.output(data)
    targets = module.aspect_model.normalise(data["targets"])
    step = Step(module.aspect_model, out, data, targets, module.grl_lambdas, module.loss_cfg, [])
    return total_loss(step, module.objectives), out


def test_a_new_objective_is_one_class_and_one_registry_line(tiny_overrides, monkeypatch):
    plain = build(tiny_overrides, "model.domain_handling=none")
    (before, _), out = loss_of(plain, batch())
    monkeypatch.setitem(OBJECTIVES, "shrink", PredictionShrinkage)
    module = build(tiny_overrides, "model.domain_handling=none")
    (after, logs), _ = loss_of(module, batch())
    assert after.item() == pytest.approx(before.item() + 0.5 * (out.preds**2).mean().item(), abs=1e-6)
    assert "train/shrink" in logs


def test_a_new_domain_handling_is_one_class_and_one_registry_line(tiny_overrides, monkeypatch):
    monkeypatch.setitem(HANDLINGS, "offset", DomainOffset)
    module = build(tiny_overrides, "model.domain_handling=offset")
    assert isinstance(module.handlings["PQ"], DomainOffset) and not module.adversaries
    with torch.no_grad():
        module.handlings["PQ"].offset.copy_(torch.tensor([1.0, -1.0]))
        data = batch()
        shifted = module.output(data).preds[:, 0]
        unknown = module.output(data | {"domains": torch.full((3, 4), -1)}).preds[:, 0]
    torch.testing.assert_close(shifted - unknown, torch.tensor([1.0, -1.0, 0.0]))
    assert "aspect_model.handlings.PQ.offset" in module.state_dict()  # saved with the checkpoint
    (loss, _), _ = loss_of(module, batch())
    loss.backward()
    assert module.handlings["PQ"].offset.grad.abs().sum() > 0  # it trains
