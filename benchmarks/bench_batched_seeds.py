"""How much faster could S seeds of a screening trial train as one batched model? (issue 18, speed)

    python benchmarks/bench_batched_seeds.py [--seeds 20] [--looped 3] [--definer dataset] [--threads 1]

A prototype measurement, not a training path of aqa: the optimiser steps of the screening profile (the
per-aspect model of `experiments/quickstart.yaml` under `aqa/config/screening.py`, 30 epochs of batch 64 on
330 clips = 180 steps, the objectives registry's loss, AdamW foreach) on random per-layer features of the
embedded encoder's shape, timed two ways:

- looped: one model per seed, trained one after another (what a screening sweep does now, without
  Lightning, validation, metrics or probes), `--looped` seeds timed, per seed;
- batched: the `--seeds` models stacked (`torch.func.stack_module_state`) and trained as one by
  `torch.func.vmap` over seeds (each seed its own batches and initial weights, independent dropout masks,
  though not those of the seed's own looped run), one AdamW over
  the stacked parameters (elementwise, so per seed the same update as its own optimiser).

Gradient clipping (per aspect in aqa) is left out of both; both run a few warm-up steps first. Prints seconds per seed-trial of optimiser
steps for each, and the ratio. What a whole trial also costs (validation every epoch, metrics, probes,
Lightning) is in docs/screening.md.
"""

import argparse
import copy
import time

import torch
from torch import nn

from aqa.config import load_config
from aqa.config.screening import SCREENING
from aqa.definers.registry import definer_class
from aqa.model.aspect_model import AspectModel
from aqa.model.module import encoder_dims
from aqa.model.objectives.base import Step
from aqa.model.objectives.registry import OBJECTIVES, total_loss

CLIPS = 330  # train clips of the embedded corpus
DOMAINS = 4


class TrainLoss(nn.Module):
    """The per-aspect model and its summed objectives as one module, so that `functional_call` swaps the
    parameters of the adversaries' logits too: (x (B, L+1, H), domains (B, A), targets (B, A)) -> loss."""

    def __init__(self, model: AspectModel, loss_cfg, lambdas: torch.Tensor):
        super().__init__()
        self.model = model
        self.loss_cfg = loss_cfg
        self.register_buffer("lambdas", lambdas)
        self.objectives = [cls() for cls in OBJECTIVES.values()]

    def forward(self, x, domains, targets):
        out = self.model(x, domains)
        step = Step(self.model, out, {"domains": domains}, targets, self.lambdas, self.loss_cfg, [])
        return total_loss(step, self.objectives)[0]


def build(cfg, seed: int) -> TrainLoss:
    torch.manual_seed(seed)
    aspects = list(cfg.data.aspects)
    num_layers, hidden = encoder_dims(cfg.model.encoder)
    num_domains = {a: DOMAINS if cfg.domain.definer.name != "none" else 0 for a in aspects}
    zeros, ones = [0.0] * len(aspects), [1.0] * len(aspects)
    model = AspectModel(cfg.model, aspects, num_layers, hidden, num_domains, zeros, ones)
    return TrainLoss(model, cfg.loss, torch.full((len(aspects),), 0.5))


def batches(seed: int, steps: int, batch: int) -> list[torch.Tensor]:
    """`steps` index tensors of a shuffled loader (a fresh permutation per epoch, the last batch short)."""
    g = torch.Generator().manual_seed(seed)
    rows: list[torch.Tensor] = []
    while len(rows) < steps:
        rows += list(torch.randperm(CLIPS, generator=g).split(batch))
    return rows[:steps]


def looped(cfg, data, seeds: int, steps: int, batch: int) -> float:
    x, domains, targets = data
    started = time.perf_counter()
    for seed in range(seeds):
        module = build(cfg, seed).train()
        opt = torch.optim.AdamW(module.parameters(), lr=cfg.optim.lr, foreach=True)
        for idx in batches(seed, steps, batch):
            loss = module(x[idx], domains[idx], targets[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return (time.perf_counter() - started) / seeds


def batched(cfg, data, seeds: int, steps: int, batch: int) -> float:
    x, domains, targets = data
    started = time.perf_counter()
    modules = [build(cfg, seed).train() for seed in range(seeds)]
    params, buffers = torch.func.stack_module_state(modules)
    base = copy.deepcopy(modules[0]).to("meta")
    opt = torch.optim.AdamW(params.values(), lr=cfg.optim.lr, foreach=True)
    per_seed = [batches(seed, steps, batch) for seed in range(seeds)]
    order = [torch.stack(step) for step in zip(*per_seed, strict=True)]  # steps x (S, batch)

    def one(p, b, xb, db, tb):
        return torch.func.functional_call(base, (p, b), (xb, db, tb))

    step_all = torch.func.vmap(one, randomness="different")
    for idx in order:
        losses = step_all(params, buffers, x[idx], domains[idx], targets[idx])  # (S,)
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()  # the seeds share no parameter: each gets its own gradient
        opt.step()
    return (time.perf_counter() - started) / seeds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds trained as one batched model")
    parser.add_argument("--looped", type=int, default=3, help="seeds timed one after another")
    parser.add_argument("--definer", default="dataset", help="domain.definer.name (none: ERM)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (screening workers use 1)")
    args = parser.parse_args(argv)
    if min(args.seeds, args.looped, args.threads) < 1:
        parser.error("--seeds, --looped and --threads must be at least 1")
    try:
        definer_class(args.definer)
    except ValueError as error:
        parser.error(str(error))
    torch.set_num_threads(args.threads)
    cfg = load_config("experiments/quickstart.yaml", [*SCREENING, f"domain.definer.name={args.definer}"])
    batch = int(cfg.data.batch_size)
    steps = int(cfg.trainer.max_epochs) * -(-CLIPS // batch)
    num_layers, hidden = encoder_dims(cfg.model.encoder)
    aspects = len(cfg.data.aspects)
    g = torch.Generator().manual_seed(0)
    data = (
        torch.randn(CLIPS, num_layers, hidden, generator=g),
        torch.randint(0, DOMAINS, (CLIPS, aspects), generator=g),
        torch.randn(CLIPS, aspects, generator=g),
    )
    print(
        f"definer {args.definer}, {steps} steps of batch {batch}, features ({num_layers}, {hidden}), "
        f"{aspects} aspects, {args.threads} torch thread(s)"
    )
    looped(cfg, data, 1, 5, batch)  # warm-up: first-call costs (kernels per shape, allocator) in neither
    batched(cfg, data, 2, 5, batch)
    one_by_one = looped(cfg, data, args.looped, steps, batch)
    print(f"looped:  {one_by_one:.2f} s per seed ({args.looped} seeds timed)")
    together = batched(cfg, data, args.seeds, steps, batch)
    print(f"batched: {together:.2f} s per seed ({args.seeds} seeds as one model)")
    print(f"ratio looped / batched: {one_by_one / together:.1f}x")


if __name__ == "__main__":
    main()
