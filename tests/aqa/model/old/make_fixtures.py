"""Writes the pinned outputs of the pre-refactor AQAModule (main e442412) that test_aspect_model.py and
test_old_metrics.py compare the new code with. Run it against the OLD code only:

    PYTHONPATH=<checkout of e442412> python tests/aqa/model/old/make_fixtures.py

It refuses to run on code that has aqa.model.aspect_model (the new code cannot pin its own answers).
"""

import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).parent
CONFIGS = {  # name -> overrides of the module config (tiny encoder, small heads)
    "lora_adversarial": [],
    "frozen_conditioned_projected": [
        "model.encoder.mode=frozen",
        "model.domain_handling=conditioned",
        "model.aspect_capacity=projected",
        "model.projection_dim=8",
    ],
    "frozen_bias_variance": [
        "model.encoder.mode=frozen",
        "model.domain_handling=bias",
        "model.head_variance=true",
    ],
    "frozen_conditional_rnc_deepaq": [
        "model.encoder.mode=frozen",
        "model.domain_handling=adversarial_conditional",
        "model.pooling=deepaq",
        "model.deepaq_dim=8",
        "loss.rnc_weight=0.5",
        "loss.ranking_weight=0.3",
        "model.aspects.PC.domain_handling=none",
    ],
}
BASE = ["model.encoder.name=tiny", "model.head_hidden=8", "model.adversary.hidden=8", "logger.wandb=false"]
NUM_DOMAINS = {"PQ": 3, "PC": 2, "CE": 1, "CU": 2}


def module_outputs(name: str, cache: str) -> dict:
    from aqa.config import load_config
    from aqa.model.module import AQAModule
    from aqa.model.sections import module_sections

    cfg = load_config(None, [*BASE, f"model.encoder.cache_dir={cache}", *CONFIGS[name]])
    torch.manual_seed(1)
    module = AQAModule(
        **module_sections(cfg),
        num_domains=NUM_DOMAINS,
        target_mean=[5.0, 4.0, 6.0, 5.5],
        target_std=[1.5, 2.0, 1.0, 0.5],
        class_weights={"PQ": [1.0, 2.0, 0.5]},
        domain_names={"PQ": ["a", "b", "c"], "PC": ["x", "y"], "CU": ["u", "v"]},
    )
    module.train()  # dropout off below via eval for outputs; the loss is computed in eval mode too
    module.eval()
    g = torch.Generator().manual_seed(2)
    audio = torch.randn(5, 4000, generator=g)
    lengths = torch.tensor([4000, 3000, 2000, 4000, 1000])
    domains = torch.tensor([[0, 1, -1, 0], [2, 0, -1, 1], [1, -1, -1, 1], [-1, 1, -1, 0], [0, 0, -1, 1]])
    targets = torch.tensor(
        [
            [5.0, 4.0, 6.0, 5.0],
            [7.0, float("nan"), 5.0, 6.0],
            [3.0, 2.0, 6.5, 5.2],
            [6.0, 5.0, 7.0, 4.9],
            [4.0, 3.0, float("nan"), 5.1],
        ]
    )
    batch = {
        "ids": [f"c{i}" for i in range(5)],
        "audio": audio,
        "lengths": lengths,
        "domains": domains,
        "targets": targets,
        "labels": torch.zeros(5, 0),
    }
    module.grl_lambdas.fill_(0.5)
    out = module(audio, lengths, domains)
    norm = module.normalise(targets)
    mos = module.mos_losses(out, norm, None)
    _, domain_losses = module.domain_terms(out, norm, domains)
    loss = module.loss_cfg.mos_weight * mos.mean() + module.weighted_domain_loss(domain_losses)
    if module.loss_cfg.rnc_weight > 0:
        from aqa.model.rnc import batch_rnc

        loss = loss + module.loss_cfg.rnc_weight * batch_rnc(
            out.features[:, 0], batch, module.aspects, module.loss_cfg, module.label_columns
        )
    loss.backward()
    grads = {
        k: p.grad.clone() for k, p in module.named_parameters() if p.grad is not None and "lora_" not in k
    }
    return {
        "overrides": CONFIGS[name],
        "num_domains": NUM_DOMAINS,
        # the pretrained encoder weights are rebuilt from the tiny seed: only what training changes is kept
        "state_dict": {
            k: v.clone()
            for k, v in module.state_dict().items()
            if not k.startswith("encoder.") or "lora_" in k
        },
        "batch": batch,
        "preds": out.preds.detach(),
        "features": out.features.detach(),
        "var": None if out.var is None else out.var.detach(),
        "mos": mos.detach(),
        "domain_losses": {a: v.detach() for a, v in domain_losses.items()},
        "loss": loss.detach(),
        "grads": grads,
    }


def main() -> int:
    if importlib.util.find_spec("aqa.model.aspect_model") is not None:
        print("refusing: this is the new code; run with PYTHONPATH=<checkout of main e442412>")
        return 1
    cache = tempfile.mkdtemp()
    try:
        for name in CONFIGS:
            torch.save(module_outputs(name, cache), HERE / f"{name}.pt")
            print("wrote", HERE / f"{name}.pt")
    finally:
        shutil.rmtree(cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
