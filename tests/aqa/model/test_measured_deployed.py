"""Issue 21 item 4, measured = deployed (docs/measured_deployed.md): in a screening module (cached mode,
separate parameters per aspect) an aspect's gradient is exactly the one of the deployed model (the
candidate on that aspect only, ERM elsewhere): no other aspect's loss reaches its parameters, the domain
term stands to the aspect's own MOS term as in DANN, and gradient clipping is per aspect."""

import pytest
import torch

from aqa.config import load_config
from aqa.model.losses import mos_loss
from aqa.model.module import AQAModule, encoder_dims
from aqa.model.objectives.base import Step
from aqa.model.objectives.domain import domain_loss
from aqa.model.objectives.registry import total_loss
from aqa.model.sections import module_sections

ASPECTS = ["PQ", "PC", "CE", "CU"]
K = 3


def build(tiny_overrides, num_domains, *overrides):
    cfg = load_config(
        None, [*tiny_overrides, "model.encoder.mode=cached", "model.head_hidden=16", *overrides]
    )
    torch.manual_seed(0)
    module = AQAModule(
        **module_sections(cfg), num_domains=num_domains, target_mean=[5.0] * 4, target_std=[2.0] * 4
    )
    return module.eval()  # dropout off: the gradients are deterministic


def batch(module, n=6):
    g = torch.Generator().manual_seed(1)
    layers = torch.randn(n, *encoder_dims(module.model_cfg.encoder), generator=g)  # (B, L+1, H)
    domains = torch.randint(0, K, (n, 4), generator=g)
    targets = torch.rand(n, 4, generator=g) * 4 + 3
    return layers, domains, targets


def grads(module, layers, domains, targets, keep=None) -> dict:
    """{name: grad} of the aspect parameters after backward of the total loss (or of `keep(logs)`)."""
    module.zero_grad()
    module.grl_lambdas.fill_(0.7)
    out = module.aspect_model(layers, domains)
    norm = module.aspect_model.normalise(targets)
    step = Step(module.aspect_model, out, {"domains": domains, "targets": targets}, norm, module.grl_lambdas,
                module.loss_cfg, [])  # fmt: skip
    loss, logs = total_loss(step, module.objectives)
    (keep(loss, logs) if keep else loss).backward()
    return {k: p.grad.clone() for k, p in module.aspect_model.named_parameters() if p.grad is not None}


def own(params: dict, aspect: str) -> dict:
    return {k: v for k, v in params.items() if k.split(".")[1] == aspect}


@pytest.fixture(scope="module")
def modules(tiny_overrides):
    everywhere = build(tiny_overrides, {a: K for a in ASPECTS})  # the screening trial: all aspects
    deployed = {}
    for a in ASPECTS:  # the deployed model of aspect a: the candidate on a only, ERM elsewhere
        deployed[a] = build(tiny_overrides, {a: K})
        state = everywhere.aspect_model.state_dict()
        deployed[a].aspect_model.load_state_dict(
            {k: v for k, v in state.items() if not k.startswith("handlings.") or k.split(".")[1] == a}
        )
    return everywhere, deployed


def test_every_trainable_parameter_belongs_to_one_aspect(modules):
    everywhere, _ = modules
    per_aspect = everywhere.aspect_parameters()
    assert sum(len(v) for v in per_aspect.values()) == len(
        [p for p in everywhere.parameters() if p.requires_grad]
    )


def test_an_aspect_gets_the_gradient_of_its_deployed_model_exactly(modules):
    everywhere, deployed = modules
    layers, domains, targets = batch(everywhere)
    trial = grads(everywhere, layers, domains, targets)
    for a in ASPECTS:
        alone = grads(deployed[a], layers, domains, targets)
        mine, theirs = own(trial, a), own(alone, a)
        assert mine.keys() == theirs.keys() and any(k.startswith("handlings.") for k in mine)
        for name in mine:
            assert torch.equal(mine[name], theirs[name]), name  # bit-exact, not merely close


def aspect_loss(module, layers, domains, targets, i: int) -> torch.Tensor:
    """mos_a + w_a * domain_a of aspect i, by hand (w = 1, the handling's class weights None)."""
    module.grl_lambdas.fill_(0.7)
    out = module.aspect_model(layers, domains)
    norm = module.aspect_model.normalise(targets)
    a = ASPECTS[i]
    logits = module.aspect_model.handlings[a].logits(out.features[:, i], module.grl_lambdas[i], norm[:, i])
    return mos_loss(out.preds[:, i], norm[:, i], module.loss_cfg), domain_loss(logits, domains[:, i], None)


def test_no_other_aspect_loss_reaches_an_aspect(modules):
    everywhere, _ = modules
    layers, domains, targets = batch(everywhere)
    everywhere.zero_grad()
    mos, dom = aspect_loss(everywhere, layers, domains, targets, 1)  # PC's MOS and domain terms only
    (mos + dom).backward()
    reached = {
        k
        for k, p in everywhere.aspect_model.named_parameters()
        if p.grad is not None and p.grad.abs().sum() > 0
    }
    assert reached and {k.split(".")[1] for k in reached} == {"PC"}


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_the_adversary_stands_to_its_own_mos_term_as_in_dann(tiny_overrides, reduction):
    """mean: an aspect's gradient is that of (mos_a + w * domain_a) / A, the DANN loss of that aspect
    (scaled as the MOS mean scales it); sum (the old form): mos_a / A + w * domain_a, A x w against it."""
    module = build(tiny_overrides, {a: K for a in ASPECTS}, f"loss.domain_reduction={reduction}")
    layers, domains, targets = batch(module)
    trial = own(grads(module, layers, domains, targets), "PQ")
    module.zero_grad()
    mos, dom = aspect_loss(module, layers, domains, targets, 0)
    dann = (mos + dom) / len(ASPECTS) if reduction == "mean" else mos / len(ASPECTS) + dom
    dann.backward()
    by_hand = {k: p.grad for k, p in module.aspect_model.named_parameters() if k.split(".")[1] == "PQ"}
    assert trial.keys() == {k for k, g in by_hand.items() if g is not None}
    for name, grad in trial.items():
        torch.testing.assert_close(grad, by_hand[name], rtol=1e-5, atol=1e-7)


def test_screening_clips_each_aspect_on_its_own_norm(modules):
    everywhere, _ = modules
    layers, domains, targets = batch(everywhere)
    grads(everywhere, layers, domains, targets)
    with torch.no_grad():  # make PC's gradient huge: global clipping would shrink PQ's too
        for p in everywhere.aspect_parameters()["PC"]:
            p.grad.mul_(1e4)
    before = {a: [p.grad.clone() for p in ps] for a, ps in everywhere.aspect_parameters().items()}
    norms = {a: torch.linalg.vector_norm(torch.stack([g.norm() for g in gs])) for a, gs in before.items()}
    everywhere.configure_gradient_clipping(None, gradient_clip_val=1.0, gradient_clip_algorithm="norm")
    for a, ps in everywhere.aspect_parameters().items():
        after = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in ps]))
        if norms[a] <= 1.0:  # an aspect under the threshold is untouched whatever the others do
            assert all(torch.equal(p.grad, g) for p, g in zip(ps, before[a], strict=True)), a
        else:
            assert after == pytest.approx(1.0, rel=1e-4), a
    assert norms["PC"] > 1.0 and min(norms.values()) <= 1.0
