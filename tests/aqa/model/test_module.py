import pytest
import torch

from aqa.config import load_config
from aqa.model.module import AQAModule
from aqa.model.objectives.domain import domain_loss
from aqa.model.sections import module_sections
from aqa.training.trainer import check_strategy


@pytest.fixture(scope="module")
def module(tiny_overrides):
    cfg = load_config(None, tiny_overrides)
    weights = {"PQ": [1.0, 3.0]}
    return AQAModule(
        **module_sections(cfg),
        num_domains={"PQ": 2, "PC": 2},
        target_mean=[5.0] * 4,
        target_std=[1.0] * 4,
        class_weights=weights,
    )


def test_domain_loss_ignores_unknown_labels_and_is_never_nan(module):
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [5.0, -5.0]], requires_grad=True)
    labels = torch.tensor([0, 1, -1])
    plain = domain_loss(logits, labels, module.handlings["PC"].class_weight)
    expected = torch.nn.functional.cross_entropy(logits[:2], labels[:2])
    assert torch.allclose(plain, expected)
    weighted = domain_loss(logits, labels, module.handlings["PQ"].class_weight)  # class weights 1 and 3
    ce = torch.nn.functional.cross_entropy(logits[:2], labels[:2], reduction="none")
    assert torch.allclose(weighted, (ce[0] * 1 + ce[1] * 3) / 4)
    nothing_known = domain_loss(logits, torch.tensor([-1, -1, -1]), None)
    nothing_known.backward()
    assert nothing_known == 0 and torch.isfinite(logits.grad).all()


def test_new_module_saves_a_checkpoint_without_domain_state(module):
    checkpoint: dict = {}
    module.on_save_checkpoint(checkpoint)
    assert "aqa_domains" not in checkpoint


@pytest.mark.parametrize(
    "strategy", ["ddp_spawn", "ddp_fork", "ddp_notebook", "ddp_spawn_find_unused_parameters_true"]
)
def test_spawn_strategies_are_refused(strategy):
    with pytest.raises(ValueError, match="trainer.strategy=ddp"):
        check_strategy(strategy)
    check_strategy("ddp")
