"""Per-aspect domain handling, adversary strength and capacity: built on the tiny encoder, no training loop."""

from types import SimpleNamespace

import pytest
import torch

from aqa.config import load_config
from aqa.model.aspects import aspect_settings
from aqa.model.module import AQAModule
from aqa.model.objectives.base import Step
from aqa.model.objectives.domain import DomainAdversary
from aqa.model.objectives.mos import MOSRegression
from aqa.model.sections import module_sections

ASPECTS = ["PQ", "PC", "CE", "CU"]
K = 3


def build(tiny_overrides, num_domains, *overrides, seed=0):
    cfg = load_config(None, [*tiny_overrides, "model.encoder.mode=full", "model.head_hidden=16", *overrides])
    torch.manual_seed(seed)
    module = AQAModule(
        **module_sections(cfg), num_domains=num_domains, target_mean=[5.0] * 4, target_std=[2.0] * 4
    )
    return module.eval()  # dropout off: gradients and outputs are deterministic


def batch(labels=None, n=4, seconds=0.5, rate=24000):
    generator = torch.Generator().manual_seed(1)
    audio = torch.randn(n, int(seconds * rate), generator=generator)
    lengths = torch.full((n,), audio.shape[1], dtype=torch.long)
    domains = torch.tensor(labels) if labels is not None else torch.full((n, 4), -1)
    targets = torch.rand(n, 4, generator=generator) * 4 + 3
    return audio, lengths, domains.long(), targets


def step(module, out, targets, domains) -> Step:
    """targets: normalised (B, A)."""
    batch = {"domains": domains, "targets": targets}
    return Step(module.aspect_model, out, batch, targets, module.grl_lambdas, module.loss_cfg, [])


def domain_objective(module, out, targets, domains):
    """-> (the `domain` objective's weighted sum over adversarial aspects, its logs)."""
    return DomainAdversary().term(step(module, out, targets, domains))


def encoder_grad_norm(module, domains, targets, audio, lengths) -> float:
    module.zero_grad()
    module.grl_lambdas.fill_(1.0)
    out = module(audio, lengths, domains)
    total, _ = domain_objective(module, out, module.normalise(targets), domains)
    total.backward()
    grads = [p.grad.flatten() for p in module.encoder.parameters() if p.grad is not None]
    return float(torch.cat(grads).norm())


def test_an_aspects_reversed_gradient_does_not_depend_on_other_adversaries(tiny_overrides):
    alone = build(tiny_overrides, {"PQ": K})
    all_four = build(tiny_overrides, {a: K for a in ASPECTS})
    missing, unexpected = all_four.load_state_dict(alone.state_dict(), strict=False)
    assert not unexpected and all(
        k.startswith("aspect_model.handlings.") and ".PQ." not in k for k in missing
    )
    audio, lengths, _, targets = batch()
    pq_only = torch.tensor([[0, -1, -1, -1], [1, -1, -1, -1], [2, -1, -1, -1], [0, -1, -1, -1]])
    # the other aspects' labels are unknown: their adversaries exist (so a mean would divide by 4) but add
    # no gradient, so what reaches the encoder is PQ's adversary alone in both modules
    ratio = encoder_grad_norm(all_four, pq_only, targets, audio, lengths) / encoder_grad_norm(
        alone, pq_only, targets, audio, lengths
    )
    assert ratio == pytest.approx(1.0, abs=1e-4)  # was 4.000 with the mean over adversarial aspects


@pytest.mark.parametrize("reduction", ["mean", "sum", None])
def test_per_aspect_lambda_gamma_and_weight(tiny_overrides, reduction):
    module = build(
        tiny_overrides,
        {a: K for a in ASPECTS},
        "model.aspects.PQ.lambda_max=0.5",
        "model.aspects.PC.gamma=1.0",
        "model.aspects.CE.weight=3.0",
        *([f"loss.domain_reduction={reduction}"] if reduction else []),  # None: the default (mean)
    )
    module._trainer = SimpleNamespace(global_step=5, estimated_stepping_batches=10)  # progress 0.5
    module.on_train_batch_start(None, 0)
    lambdas = dict(zip(ASPECTS, module.grl_lambdas.tolist(), strict=True))
    from aqa.model.grl import grl_lambda

    assert lambdas["PQ"] == pytest.approx(grl_lambda(0.5, 0.5, 10.0))
    assert lambdas["PC"] == pytest.approx(grl_lambda(0.5, 1.0, 1.0))
    assert lambdas["CE"] == lambdas["CU"] == pytest.approx(grl_lambda(0.5, 1.0, 10.0))
    audio, lengths, _, targets = batch(labels=[[0, 1, 2, 0]] * 4)
    domains = torch.tensor([[0, 1, 2, 0]] * 4)
    with torch.no_grad():
        out = module(audio, lengths, domains)
        total, logs = domain_objective(module, out, module.normalise(targets), domains)
    weights = {"PQ": 1.0, "PC": 1.0, "CE": 3.0, "CU": 1.0}
    summed = sum(weights[a] * logs[f"train/{a}/domain_loss"] for a in ASPECTS)
    # mean (DANN per aspect): over the A aspects, as the MOS term is; sum: the pre-issue-21 form
    expected = summed if reduction == "sum" else summed / len(ASPECTS)
    assert float(total) == pytest.approx(float(expected))


def test_unknown_domain_reduction_is_refused(tiny_overrides):
    module = build(tiny_overrides, {a: K for a in ASPECTS}, "loss.domain_reduction=median")
    with pytest.raises(ValueError, match="loss.domain_reduction must be one of"):
        DomainAdversary().applies(module.aspect_model, module.loss_cfg)


def test_aspect_settings_reject_unknown_names(tiny_overrides):
    cfg = load_config(None, ["model.aspects.XX.weight=2"])
    with pytest.raises(ValueError, match=r"model.aspects names \['XX'\]"):
        aspect_settings(cfg.model, ASPECTS)
    cfg = load_config(None, ["model.aspects.PQ.domain_handling=magic"])
    with pytest.raises(ValueError, match="model.aspects.PQ.domain_handling must be one of"):
        aspect_settings(cfg.model, ASPECTS)
    cfg = load_config(None, ["model.domain_handling=none", "model.aspects.CE.domain_handling=bias"])
    handling = {a: s.domain_handling for a, s in aspect_settings(cfg.model, ASPECTS).items()}
    assert handling == {"PQ": "none", "PC": "none", "CE": "bias", "CU": "none"}


@pytest.mark.parametrize("handling", ["conditioned", "bias"])
def test_conditioned_and_bias_use_known_domains_and_are_neutral_on_unseen_ones(tiny_overrides, handling):
    module = build(tiny_overrides, {a: K for a in ASPECTS}, f"model.domain_handling={handling}")
    assert not module.adversaries
    if handling == "bias":  # a fitted correction (the trained state): distinct scale and offset per domain
        for bias in (h.bias for h in module.handlings.values()):
            with torch.no_grad():
                bias.log_scale.copy_(torch.tensor([0.3, -0.2, 0.1]))
                bias.offset.copy_(torch.tensor([1.0, -0.5, 0.2]))
    audio, lengths, _, targets = batch(n=1)
    audio, lengths = audio.expand(K, -1), lengths.expand(K)
    with torch.no_grad():
        known = module(audio, lengths, torch.arange(K)[:, None].expand(K, 4)).preds
        assert len(set(known[:, 0].tolist())) == K, "each known domain changes the prediction"
        unseen = [
            module(audio[:1], lengths[:1], torch.full((1, 4), label)).preds for label in (-1, -7, K, K + 5)
        ]
        for other in unseen[1:]:
            assert torch.equal(other, unseen[0]), "an unseen domain's label does not matter"
        assert torch.equal(module(audio[:1], lengths[:1]).preds, unseen[0])  # no labels = unknown
        features = module.features(audio[:1], lengths[:1])
        if handling == "bias":  # unseen = identity = the head's own output
            raw = torch.stack([module.heads[a](features[:, i])[:, 0] for i, a in enumerate(ASPECTS)], 1)
            assert torch.allclose(unseen[0], raw)
        else:  # unseen = the mean of the learned embeddings
            mean = module.handlings["PQ"].embedding.table.weight.mean(0, keepdim=True)
            raw = module.heads["PQ"](torch.cat([features[:, 0], mean], -1))[:, 0]
            assert torch.allclose(unseen[0][:, 0], raw)
    # training uses the clip's domain: the MOS loss reaches that domain's parameters only
    module.zero_grad()
    labels = torch.tensor([[1] * 4])
    out = module(audio[:1], lengths[:1], labels)
    MOSRegression().term(step(module, out, module.normalise(targets[:1]), labels))[0].backward()
    grad = (
        module.handlings["PQ"].embedding.table.weight.grad.abs().sum(1)
        if handling == "conditioned"
        else module.handlings["PQ"].bias.offset.grad.abs()
    )
    assert grad[1] > 0
    if handling == "conditioned":
        assert grad[0] == 0 and grad[2] == 0


def test_bias_correction_is_centred_so_identity_is_the_average_domain(tiny_overrides):
    module = build(tiny_overrides, {"PQ": K}, "model.domain_handling=bias")
    bias = module.handlings["PQ"].bias
    with torch.no_grad():
        bias.log_scale.copy_(torch.tensor([0.5, 0.5, 0.5]))  # a common shift is absorbed by the head
        bias.offset.copy_(torch.tensor([2.0, 2.0, 2.0]))
    pred = torch.tensor([0.3, -1.0, 0.7])
    assert torch.allclose(bias(pred, torch.arange(K)), pred)


def test_conditional_adversary_sees_the_target_and_prediction_does_not_need_it(tiny_overrides):
    module = build(tiny_overrides, {a: K for a in ASPECTS}, "model.domain_handling=adversarial_conditional")
    adv = module.adversaries["PQ"].net[0]
    assert adv.in_features == module.pools["PQ"].out_dim + 2  # features + [target, target missing]
    audio, lengths, _, targets = batch(labels=[[0] * 4] * 4)
    domains = torch.zeros(4, 4, dtype=torch.long)
    out = module(audio, lengths, domains)  # no target needed to predict
    handling, lambda_ = module.handlings["PQ"], torch.tensor(1.0)
    logits_a = handling.logits(out.features[:, 0], lambda_, module.normalise(targets)[:, 0])
    logits_b = handling.logits(out.features[:, 0], lambda_, module.normalise(targets + 1.0)[:, 0])
    assert not torch.allclose(logits_a, logits_b)
    nan = torch.full_like(targets, float("nan"))
    logits_nan = handling.logits(out.features[:, 0], lambda_, nan[:, 0])
    total, _ = domain_objective(module, out, nan, domains)
    assert torch.isfinite(logits_nan).all() and torch.isfinite(total)


def test_none_handling_builds_no_domain_parameters(tiny_overrides):
    module = build(tiny_overrides, {a: K for a in ASPECTS}, "model.domain_handling=none")
    assert not module.adversaries and not any(list(h.parameters()) for h in module.handlings.values())


def _sgd_step_on_pq_adversary(module, audio, lengths):
    domains = torch.tensor([[0, -1, -1, -1], [1, -1, -1, -1], [2, -1, -1, -1], [0, -1, -1, -1]])
    module.zero_grad()
    module.grl_lambdas.fill_(1.0)
    out = module(audio, lengths, domains)
    total, _ = domain_objective(module, out, torch.zeros(4, 4), domains)
    total.backward()
    with torch.no_grad():
        for p in module.parameters():
            if p.grad is not None:
                p -= 0.5 * p.grad


@pytest.mark.parametrize("capacity", ["shared", "projected", "separate"])
def test_only_separate_keeps_one_aspects_adversary_out_of_another_aspects_head_input(
    tiny_overrides, capacity
):
    module = build(tiny_overrides, {"PQ": K}, f"model.aspect_capacity={capacity}")
    audio, lengths, _, _ = batch()
    with torch.no_grad():
        before = module.features(audio, lengths)
    _sgd_step_on_pq_adversary(module, audio, lengths)
    with torch.no_grad():
        after = module.features(audio, lengths)
    assert not torch.allclose(before[:, 0], after[:, 0]), "PQ's adversary changes PQ's features"
    others_unchanged = torch.equal(before[:, 1:], after[:, 1:])
    assert others_unchanged == (capacity == "separate")


def test_parameter_counts_per_capacity(tiny_overrides):
    def count(module):
        return sum(p.numel() for p in module.parameters())

    hidden = 64  # the tiny encoder's size = the pooled size, so heads keep their input size
    shared = build(tiny_overrides, {"PQ": K})
    projected = build(
        tiny_overrides, {"PQ": K}, "model.aspect_capacity=projected", f"model.projection_dim={hidden}"
    )
    separate = build(tiny_overrides, {"PQ": K}, "model.aspect_capacity=separate")
    encoder = sum(p.numel() for p in shared.encoder.parameters())
    assert count(separate) - count(shared) == 3 * encoder  # one encoder per aspect
    assert count(projected) - count(shared) == 4 * (hidden * hidden + hidden)  # a Linear per aspect
    assert len(separate.encoder_modules()) == 4 and not hasattr(separate, "encoder")
