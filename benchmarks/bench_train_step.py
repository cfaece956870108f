"""Training-step time of the whole AQAModule (encoder + per-aspect pooling/heads/adversaries + losses +
logging) against a bare encoder forward+backward on the same batch. Prints the ratio (target <= 1.10).

    python benchmarks/bench_train_step.py                 # MERT-v1-95M architecture (random weights), LoRA
    python benchmarks/bench_train_step.py --arch tiny     # the tiny test encoder

The module step is timed inside a real Lightning fit (optimizer step and logging included), per batch,
between on_train_batch_start and on_train_batch_end; the bare step is `Encoder` forward + backward of the
last hidden state's mean. Both run in this process, alternating, on the same batch; medians are reported.
"""

import argparse
import os
import statistics
import tempfile
import time
import warnings

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader

from aqa.config import load_config
from aqa.model.encoder import Encoder
from aqa.model.module import AQAModule

ARCHS = {
    "tiny": [],
    "base": [  # MERT-v1-95M dimensions
        "model.encoder.tiny.hidden_size=768",
        "model.encoder.tiny.num_hidden_layers=12",
        "model.encoder.tiny.num_attention_heads=12",
        "model.encoder.tiny.intermediate_size=3072",
        "model.encoder.tiny.conv_dim=512",
    ],
}


class StepTimer(Callback):
    def __init__(self):
        self.times: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.times.append(time.perf_counter() - self._start)


def make_batch(batch: int, seconds: float, aspects: list[str], num_domains: int) -> dict:
    g = torch.Generator().manual_seed(0)
    samples = int(24000 * seconds)
    lengths = torch.full((batch,), samples)
    lengths[batch // 2 :] = int(samples * 0.8)  # some padding, as bucketed batches have
    return {
        "audio": torch.randn(batch, samples, generator=g) * 0.1,
        "lengths": lengths,
        "targets": torch.rand(batch, len(aspects), generator=g) * 9 + 1,
        "domains": torch.randint(0, num_domains, (batch, len(aspects)), generator=g),
        "window": torch.zeros(batch, dtype=torch.long),
        "weight": torch.ones(batch),
        "ids": [f"c{i}" for i in range(batch)],
        "systems": ["s"] * batch,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--arch", choices=sorted(ARCHS), default="base")
    parser.add_argument("--mode", choices=["lora", "full", "frozen"], default="lora")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per side (after 2 warm-up steps)")
    parser.add_argument(
        "--log-every", type=int, default=10, help="trainer.log_every_n_steps (1: log every step)"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    cache = tempfile.mkdtemp(prefix="aqa-bench-")
    cfg = load_config(
        None,
        [
            "model.encoder.name=tiny",
            f"model.encoder.cache_dir={cache}",
            f"model.encoder.mode={args.mode}",
            "trainer.deterministic=false",
            *ARCHS[args.arch],
        ],
    )
    aspects = list(cfg.data.aspects)
    batch = make_batch(args.batch, args.seconds, aspects, num_domains=6)
    torch.manual_seed(0)

    encoder = Encoder(cfg.model.encoder).train()

    def bare_step() -> float:
        start = time.perf_counter()
        hidden, _ = encoder(batch["audio"], batch["lengths"])
        hidden[-1].mean().backward()
        encoder.zero_grad(set_to_none=True)
        return time.perf_counter() - start

    from aqa.model.sections import module_sections

    fitted = {"num_domains": {a: 6 for a in aspects}, "target_mean": [5.0] * 4, "target_std": [2.0] * 4}
    module = AQAModule(**module_sections(cfg), **fitted)
    timer = StepTimer()
    steps = 2 + args.steps
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
        log_every_n_steps=args.log_every,
        default_root_dir=cache,
    )
    loader = DataLoader([batch] * steps, batch_size=None, collate_fn=lambda b: b)
    bare = [bare_step() for _ in range(steps)]
    trainer.fit(module, train_dataloaders=loader)
    bare += [bare_step() for _ in range(steps)]  # again after the fit: a drifting machine shows up here
    bare_med = statistics.median(bare[2:])
    module_med = statistics.median(timer.times[2:])
    print(
        f"arch={args.arch} mode={args.mode} batch={args.batch}x{args.seconds:g}s threads={torch.get_num_threads()} cpus={os.cpu_count()}"
    )
    print(f"bare encoder fwd+bwd      median {bare_med * 1000:8.1f} ms  (n={len(bare) - 2})")
    print(f"AQAModule training step   median {module_med * 1000:8.1f} ms  (n={len(timer.times) - 2})")
    print(f"ratio module / bare       {module_med / bare_med:.3f}  (target <= 1.10)")


if __name__ == "__main__":
    main()
