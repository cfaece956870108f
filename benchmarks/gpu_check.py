"""GPU check (not run by CI; about 3-6 minutes on one H100/H200): the MERT-v1-95M architecture (random
weights; HubertConfig() defaults) + LoRA + per-aspect heads and adversaries, at bf16-mixed and 32-true.

    python benchmarks/gpu_check.py                  # on a GPU node
    python benchmarks/gpu_check.py --cpu-smoke      # tiny sizes on CPU (what the test runs)

Prints one row per precision:
- step ms / clips/s: a whole AQAModule training step inside a Lightning fit (forward, losses, backward,
  optimizer, logging), median over the timed steps, CUDA synchronised; clips/s = batch / step time.
- GFLOP/step: FLOPs of one module forward + backward as executed, counted by
  torch.utils.flop_counter.FlopCounterMode (matmuls and convolutions; under LoRA the frozen weights get no
  weight-gradient matmuls, so they are not counted). MFU = FLOP/step / step time / the GPU's dense bf16
  peak (the same peak for 32-true, so its MFU shows what fp32 gives up). Peaks assumed, by device name:
  H100/H200 SXM 989 TFLOPS, H100 PCIe 756, A100 312, L40S 362, L4 121, A10 125; `--peak-tflops` overrides.
- module/bare: step time over a bare encoder forward + backward (mean of the last hidden state) on the same
  batch: what heads, adversaries, losses, optimizer and Lightning add (CPU: 1.018).
- peak GiB: torch.cuda.max_memory_allocated during the fit.
- layer cache: clips/s of the per-layer cache extraction (screening input) and its bytes per clip
  (MERT-95M sizes: 13 x 768 float32 = 39936 bytes).
- eval win/s one | padded: evaluation windows per second (inference, track-2-like lengths as in
  benchmarks/bench_eval.py) for batches of one and for aqa's padded length-sorted batches.
With two or more GPUs it then trains the tiny encoder with 2-GPU DDP through `aqa train` and evaluates the
kept checkpoint in one process with `aqa eval`: every val/test metric must agree (max |diff| printed).
"""

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_eval import equal_length_batches, run, track2_like_windows  # noqa: E402
from bench_train_step import ARCHS, StepTimer, make_batch  # noqa: E402

from aqa.config import load_config  # noqa: E402
from aqa.model.encoder import Encoder  # noqa: E402
from aqa.model.module import AQAModule  # noqa: E402
from aqa.model.sections import module_sections  # noqa: E402
from data_modules.samplers import SortedBatchSampler  # noqa: E402

PEAK_BF16_TFLOPS = {"H200": 989.0, "H100 PCIe": 756.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0}
PEAK_BF16_TFLOPS |= {"L4": 121.0, "A10": 125.0}  # dense (no sparsity), by substring of the device name


def peak_tflops(override: float | None) -> tuple[float | None, str]:
    if override:
        return override, f"{override:g} TFLOPS (--peak-tflops)"
    if not torch.cuda.is_available():
        return None, "none (CPU: MFU not computed)"
    name = torch.cuda.get_device_name()
    for key, value in PEAK_BF16_TFLOPS.items():  # longer names first where they overlap (H100 PCIe)
        if key in name:
            return value, f"{value:g} TFLOPS dense bf16 ({name})"
    return None, f"unknown for {name!r}: pass --peak-tflops"


class SyncStepTimer(StepTimer):
    """StepTimer that waits for the GPU before reading the clock."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        super().on_train_batch_start(trainer, pl_module, batch, batch_idx)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _autocast(device: str, precision: str):
    return torch.autocast(device, dtype=torch.bfloat16, enabled=precision.startswith("bf16"))


def bare_step_times(cfg, batch: dict, device: str, precision: str, steps: int) -> list[float]:
    """Seconds of `steps` bare encoder forward + backward (mean of the last hidden state)."""
    encoder = Encoder(cfg.model.encoder).train().to(device)
    times = []
    for _ in range(steps):
        _sync()
        start = time.perf_counter()
        with _autocast(device, precision):
            hidden, _ = encoder(batch["audio"], batch["lengths"])
        hidden[-1].float().mean().backward()
        encoder.zero_grad(set_to_none=True)
        _sync()
        times.append(time.perf_counter() - start)
    return times


def check_precision(args, precision: str, device: str, peak: float | None, cache: str) -> dict:
    cfg = load_config(
        None,
        [
            "model.encoder.name=tiny",
            f"model.encoder.cache_dir={cache}",
            "model.encoder.mode=lora",
            *ARCHS[args.arch],
        ],
    )
    aspects = list(cfg.data.aspects)
    cpu_batch = make_batch(args.batch, args.seconds, aspects, num_domains=6)
    batch = cpu_batch | {k: v.to(device) for k, v in cpu_batch.items() if torch.is_tensor(v)}
    torch.manual_seed(0)

    bare = bare_step_times(cfg, batch, device, precision, 2 + args.steps)[2:]

    fitted = {"num_domains": {a: 6 for a in aspects}, "target_mean": [5.0] * 4, "target_std": [2.0] * 4}
    module = AQAModule(**module_sections(cfg), **fitted).to(device)
    flops = FlopCounterMode(display=False)
    with flops, _autocast(device, precision):
        out = module(batch["audio"], batch["lengths"])
        preds, pooled = out.preds, out.features
        (preds.float().mean() + pooled.float().mean()).backward()
    module.zero_grad(set_to_none=True)
    step_flops = flops.get_total_flops()

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    timer = SyncStepTimer()
    steps = 2 + args.steps
    trainer = L.Trainer(
        accelerator="gpu" if device == "cuda" else "cpu",
        devices=1,
        precision=precision,
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
        default_root_dir=cache,
    )
    loader = DataLoader([cpu_batch] * steps, batch_size=None, collate_fn=lambda b: b)
    trainer.fit(module, train_dataloaders=loader)
    step = statistics.median(timer.times[2:])
    peak_mem = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")

    module = module.to(device).eval()
    sizes = track2_like_windows(args.eval_clips, args.window, seed=0)
    noise = np.random.default_rng(1).normal(0, 0.1, int(sizes.max()) + 1000).astype(np.float32)
    on_device = _OnDevice(module, device, precision)
    run(on_device, [[0]], sizes, noise)  # warm-up
    one_s, *_ = run(on_device, [[k] for k in range(len(sizes))], sizes, noise)
    padded_s, *_ = run(
        on_device, SortedBatchSampler(sizes, args.eval_batch, distributed=False).batches, sizes, noise
    )
    equal_s, *_ = run(on_device, equal_length_batches(sizes, args.eval_batch), sizes, noise)
    return {
        "precision": precision,
        "step_ms": step * 1000,
        "clips_s": args.batch / step,
        "gflop": step_flops / 1e9,
        "mfu": step_flops / step / (peak * 1e12) if peak else float("nan"),
        "ratio": step / statistics.median(bare),
        "peak_gib": peak_mem,
        "eval_one": len(sizes) / one_s,
        "eval_equal": len(sizes) / equal_s,
        "eval_padded": len(sizes) / padded_s,
    }


class _OnDevice(torch.nn.Module):
    """Moves a CPU batch to the device, runs the module under the precision's autocast, returns CPU float."""

    def __init__(self, module, device: str, precision: str):
        super().__init__()
        self.module, self.device, self.precision = module, device, precision

    def forward(self, audio, lengths):
        with _autocast(self.device, self.precision):
            out = self.module(audio.to(self.device), lengths.to(self.device))
        _sync()
        return dataclasses.replace(out, preds=out.preds.float().cpu())


def layer_cache_check(args, cache: str) -> str:
    """The per-layer cache's extraction (features `layers`, the screening input): clips/s through the
    frozen encoder (fp32, as the cache computes it) and bytes per clip of the cached (L+1, H) float32."""
    from aqa.features import FeatureSettings
    from aqa.features.layers import LayersExtractor

    cfg = load_config(
        None, ["model.encoder.name=tiny", f"model.encoder.cache_dir={cache}", *ARCHS[args.arch]]
    )
    window_fn = LayersExtractor("mean").open(FeatureSettings.from_config(cfg), 24000)
    n = int(args.window * 24000)
    audio, lengths = torch.randn(args.eval_batch, n) * 0.1, torch.full((args.eval_batch,), n)
    window_fn(audio, lengths)  # warm-up
    _sync()
    batches = max(1, args.eval_clips // args.eval_batch)
    started = time.perf_counter()
    for _ in range(batches):
        out = window_fn(audio, lengths)  # (B, (L+1) * H) float64 on the host
    _sync()
    rate = batches * args.eval_batch / (time.perf_counter() - started)
    per_clip = out.shape[1] * 4  # stored as float32
    return (
        f"layer cache: {rate:.1f} clips/s ({args.window:g} s clips, batch {args.eval_batch}); "
        f"{per_clip} bytes per clip ({out.shape[1]} floats)"
    )


def ddp_check(folder: Path) -> str:
    """2-GPU DDP `aqa train` vs one-process `aqa eval` of the kept checkpoint: max |diff| of the metrics."""
    manifest = _small_manifest(folder)
    exp = folder / "exp.yaml"
    exp.write_text("seed: 0\n")
    common = [
        "model.encoder.name=tiny",
        f"model.encoder.cache_dir={folder}/enc",
        f"data.cache_dir={folder}/audio",
        f"data.manifest={manifest}",
        "data.num_workers=0",
        "data.max_seconds=1.0",
        "logger.wandb=false",
        "trainer.max_epochs=2",
        "trainer.accelerator=gpu",
        "trainer.enable_progress_bar=false",
        "domain.definer=dataset",
    ]
    env = os.environ | {"WANDB_MODE": "disabled", "AQA_RUN_DIR": ""}
    aqa = [sys.executable, "-m", "aqa.cli"]
    run_dir = folder / "ddp-run"
    ddp = ["trainer.strategy=ddp", "trainer.devices=2"]
    subprocess.run([*aqa, "train", str(exp), *common, *ddp, f"run.dir={run_dir}"], check=True, env=env)
    stored = json.loads((run_dir / "metrics.json").read_text())
    out = folder / "single.json"
    single = [stored["run/best_checkpoint"], "trainer.strategy=auto", "trainer.devices=1", f"--out={out}"]
    subprocess.run([*aqa, "eval", *single], check=True, env=env)
    one = json.loads(out.read_text())
    keys = [k for k in one if k.startswith(("val/", "test/")) and isinstance(one[k], float)]
    diffs = [abs(one[k] - stored[k]) for k in keys if one[k] == one[k] and stored.get(k) is not None]
    worst = max(diffs) if diffs else float("nan")
    verdict = "equal" if worst <= 1e-5 else "DIFFERENT"
    return f"2-GPU DDP vs one process: {len(diffs)} metrics, max |diff| {worst:.2e} -> {verdict}"


def _small_manifest(folder: Path) -> Path:
    import soundfile as sf

    rng = np.random.default_rng(0)
    lines = ["id,path,split,system,dataset,PQ,PC,CE,CU"]
    for i, split in enumerate(["train"] * 36 + ["val"] * 9 + ["test"] * 7):
        seconds, quality = 1.0 + 0.25 * (i % 3), rng.uniform(1, 10)
        t = np.arange(int(16000 * seconds)) / 16000
        audio = 0.3 * np.sin(2 * np.pi * (150 + 15 * i) * t) + rng.normal(0, 0.04 * (10 - quality), t.shape)
        sf.write(folder / f"c{i}.wav", audio.astype(np.float32), 16000)
        q = round(quality, 2)
        lines.append(f"c{i},c{i}.wav,{split},sys{i % 6},source{i % 3},{q},{q},{q},{q}")
    path = folder / "manifest.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny encoder on CPU, a few steps")
    parser.add_argument("--batch", type=int, default=8, help="training clips per step")
    parser.add_argument("--seconds", type=float, default=10.0, help="training clip length")
    parser.add_argument("--steps", type=int, default=10, help="timed steps (after 2 warm-up steps)")
    parser.add_argument("--eval-clips", type=int, default=200, help="track-2-like clips for eval win/s")
    parser.add_argument("--eval-batch", type=int, default=16, help="data.eval_batch_size")
    parser.add_argument("--window", type=float, default=10.0, help="data.eval_window_seconds")
    parser.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak of this GPU")
    parser.add_argument("--precisions", nargs="+", default=["bf16-mixed", "32-true"])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    started = time.time()
    if args.cpu_smoke:
        device, args.arch = "cpu", "tiny"
        args.batch, args.seconds, args.steps, args.eval_clips = 2, 1.0, 2, 6
    elif not torch.cuda.is_available():
        sys.exit("no CUDA device: run on a GPU node, or pass --cpu-smoke")
    else:
        device, args.arch = "cuda", "base"
        torch.backends.cuda.matmul.allow_tf32 = False  # 32-true means fp32 matmuls
    peak, peak_text = peak_tflops(args.peak_tflops)
    print(f"device: {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}; peak: {peak_text}")
    print(
        f"encoder: {args.arch} (MERT-v1-95M sizes when base), LoRA; batch {args.batch} x {args.seconds:g} s"
    )
    header = (
        f"{'precision':<11} {'step ms':>8} {'clips/s':>8} {'GFLOP/step':>10} {'MFU':>6} {'mod/bare':>8}"
        f" {'peak GiB':>8} {'eval win/s one | eq | padded':>29}"
    )
    print(header, flush=True)
    with tempfile.TemporaryDirectory(prefix="aqa-gpu-check-") as cache:
        for precision in args.precisions:
            r = check_precision(args, precision, device, peak, cache)
            evals = f"{r['eval_one']:.1f} | {r['eval_equal']:.1f} | {r['eval_padded']:.1f}"
            print(
                f"{r['precision']:<11} {r['step_ms']:>8.1f} {r['clips_s']:>8.2f} {r['gflop']:>10.4g}"
                f" {r['mfu']:>6.1%} {r['ratio']:>8.3f} {r['peak_gib']:>8.2f} {evals:>29}",
                flush=True,
            )
        print(layer_cache_check(args, cache), flush=True)
        if device == "cuda" and torch.cuda.device_count() >= 2:
            print(ddp_check(Path(cache)), flush=True)
        else:
            print("2-GPU DDP: skipped (fewer than 2 GPUs)")
    print(f"done in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
