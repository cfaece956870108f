"""The refactored module (per-aspect model + objective registry + handling registry) gives the outputs,
loss and gradients of the pre-refactor AQAModule (main e442412) on fixed inputs and weights, and loads
its state dict (old key names). The pinned values come from tests/aqa/model/old/make_fixtures.py, run
on the old code."""

from pathlib import Path

import pytest
import torch

from aqa.config import load_config
from aqa.model.aspect_model import AspectModel, upgrade_state_dict
from aqa.model.module import AQAModule
from aqa.model.objectives.base import Step
from aqa.model.objectives.registry import total_loss
from aqa.model.pooling import masked_layer_means
from aqa.model.sections import module_sections

OLD = Path(__file__).parent / "old"
# the old module summed the domain terms over adversarial aspects: the pre-issue-21 form, set explicitly
BASE = [
    "model.encoder.name=tiny",
    "model.head_hidden=8",
    "model.adversary.hidden=8",
    "logger.wandb=false",
    "loss.domain_reduction=sum",
]
NAMES = sorted(p.stem for p in OLD.glob("*.pt"))


def build(pinned: dict, cache_root) -> AQAModule:
    cfg = load_config(None, [*BASE, f"model.encoder.cache_dir={cache_root}/encoders", *pinned["overrides"]])
    module = AQAModule(
        **module_sections(cfg),
        num_domains=pinned["num_domains"],
        target_mean=[5.0, 4.0, 6.0, 5.5],
        target_std=[1.5, 2.0, 1.0, 0.5],
        class_weights={"PQ": [1.0, 2.0, 0.5]},
        domain_names={"PQ": ["a", "b", "c"], "PC": ["x", "y"], "CU": ["u", "v"]},
    )
    state = module.state_dict()  # the pretrained encoder weights (rebuilt from the tiny seed)
    old = pinned["state_dict"]
    encoder = {k: v for k, v in state.items() if k.startswith("encoder.") and "lora_" not in k}
    module.load_state_dict(encoder | old)  # strict: every old key finds its new place
    return module.eval()


@pytest.fixture(scope="module", params=NAMES)
def case(request, cache_root):
    pinned = torch.load(OLD / f"{request.param}.pt", weights_only=True)
    return build(pinned, cache_root), pinned


def test_fixtures_exist():
    assert len(NAMES) == 4


def test_outputs_loss_and_gradients_match_the_old_module(case):
    module, pinned = case
    batch = pinned["batch"]
    module.grl_lambdas.fill_(0.5)
    module.zero_grad()
    out = module(batch["audio"], batch["lengths"], batch["domains"])
    torch.testing.assert_close(out.preds, pinned["preds"], rtol=0, atol=1e-6)
    torch.testing.assert_close(out.features, pinned["features"], rtol=0, atol=1e-6)
    if pinned["var"] is None:
        assert out.var is None
    else:
        torch.testing.assert_close(out.var, pinned["var"], rtol=0, atol=1e-6)
    targets = module.aspect_model.normalise(batch["targets"])
    step = Step(module.aspect_model, out, batch, targets, module.grl_lambdas, module.loss_cfg, [])
    loss, logs = total_loss(step, module.objectives)
    torch.testing.assert_close(loss, pinned["loss"], rtol=0, atol=1e-6)
    for a, value in pinned["domain_losses"].items():
        torch.testing.assert_close(logs[f"train/{a}/domain_loss"], value, rtol=0, atol=1e-6)
    loss.backward()
    grads = {k: p.grad for k, p in module.named_parameters() if p.grad is not None and "lora_" not in k}
    assert len(grads) == len(pinned["grads"])
    new_names = module.state_dict()
    for old_key, grad in pinned["grads"].items():
        renamed = {old_key: grad}
        upgrade_state_dict(renamed, "", "aspect_model.")
        (new_key,) = renamed
        assert new_key in new_names
        torch.testing.assert_close(grads[new_key], grad, rtol=0, atol=1e-6)


def test_plain_model_takes_hidden_states_or_pooled_layers(case):
    """The same AspectModel from (L+1, B, F, H) + mask and from (B, L+1, H) pooled features."""
    module, pinned = case
    batch = pinned["batch"]
    model: AspectModel = module.aspect_model
    with torch.no_grad():
        hidden, mask = module.encoder(batch["audio"], batch["lengths"])
        from_hidden = model.forward_hidden(hidden, mask, batch["domains"])
        pooled = masked_layer_means(hidden, mask).transpose(0, 1)  # (B, L+1, H)
        from_pooled = model(pooled, batch["domains"])
    torch.testing.assert_close(from_hidden.preds, pinned["preds"], rtol=0, atol=1e-6)
    torch.testing.assert_close(from_pooled.preds, pinned["preds"], rtol=0, atol=1e-5)
