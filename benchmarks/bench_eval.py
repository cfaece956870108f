"""Evaluation throughput on a track-2-like length distribution: windows per second for batches of one,
for the previous equal-length batches, and for the padded length-sorted batches aqa uses now
(data_modules.samplers.SortedBatchSampler), with each one's padding fraction and the largest prediction
difference against batches of one.

    OMP_NUM_THREADS=2 python benchmarks/bench_eval.py                    # tiny encoder, 300 clips
    OMP_NUM_THREADS=2 python benchmarks/bench_eval.py --arch base --clips 24   # MERT-v1-95M sizes

Clip lengths (a documented stand-in: the published lists hold no durations). The clips' sources are drawn
in the proportions of the AudioMOS 2025 track-2 train list (../shared/data or the counts below); each
source's length: AudioSet segments from the `_<start ms>_<end ms>` of their names (10 s), MusicCaps 10 s,
Common Voice log-normal (median 5 s, sigma 0.3, 1.5-12 s), LibriTTS log-normal (median 6 s, sigma 0.6,
1-30 s), EARS uniform 3-20 s, MUSDB18 uniform 5-30 s. Windows as in evaluation: `--window` seconds
(10, the default of data.eval_window_seconds), the last one aligned to the clip end.
The model is the whole AQAModule forward (encoder + pooling + heads), eval mode, inference_mode; audio is
random noise held in memory (decoding is not timed), collate is timed. `windows/s` is wall clock;
`/CPU s` is windows per CPU second of this process (all its threads), the fairer number on a shared
machine; the speed-up line uses it.
"""

import argparse
import re
import time
from pathlib import Path

import numpy as np
import torch

from aqa.config import load_config
from aqa.model.module import AQAModule
from aqa.model.sections import module_sections
from data_modules.datasets import collate
from data_modules.samplers import SortedBatchSampler
from data_modules.windows import eval_windows

SR = 24000
TRAIN_LIST = (
    Path(__file__).resolve().parents[1]
    / "../shared/data/audiomos2025_track2/audiomos2025-track2-train_list.csv"
)
SOURCE_COUNTS = {  # rows per source of the track-2 train list (used when the list is not beside the repo)
    "unbalanced_train_segments": 900,
    "musiccaps": 496,
    "cv-corpus-13.0-2023-03-09": 476,
    "MUSDB18": 400,
    "LibriTTS": 283,
    "EARS": 141,
}
ARCHS = {
    "tiny": [],
    "base": [  # MERT-v1-95M dimensions (HubertConfig() defaults), random weights
        "model.encoder.tiny.hidden_size=768",
        "model.encoder.tiny.num_hidden_layers=12",
        "model.encoder.tiny.num_attention_heads=12",
        "model.encoder.tiny.intermediate_size=3072",
        "model.encoder.tiny.conv_dim=512",
    ],
}


def source_paths() -> list[str]:
    """data_path of every train-list row, or synthetic paths in SOURCE_COUNTS' proportions."""
    if TRAIN_LIST.is_file():
        lines = TRAIN_LIST.read_text().splitlines()[1:]
        return [line.split(",")[1] for line in lines if line.count(",") >= 2]
    return [f"/your_path/{s}/x.wav" for s, n in SOURCE_COUNTS.items() for _ in range(n)]


def clip_seconds(path: str, rng: np.random.Generator) -> float:
    segment = re.search(r"_(\d+)_(\d+)\.\w+$", path)
    if "unbalanced_train_segments" in path and segment:
        return (int(segment.group(2)) - int(segment.group(1))) / 1000
    if "cv-corpus" in path:
        return float(np.clip(5.0 * np.exp(0.3 * rng.standard_normal()), 1.5, 12))
    if "LibriTTS" in path:
        return float(np.clip(6.0 * np.exp(0.6 * rng.standard_normal()), 1, 30))
    if "EARS" in path:
        return float(rng.uniform(3, 20))
    if "MUSDB18" in path:
        return float(rng.uniform(5, 30))
    return 10.0  # musiccaps, and AudioSet rows without a segment in the name


def track2_like_windows(clips: int, window_seconds: float, seed: int) -> np.ndarray:
    """(W,) window sizes in samples of `clips` clips drawn like the track-2 sources."""
    rng = np.random.default_rng(seed)
    paths = source_paths()
    chosen = rng.choice(len(paths), size=clips, replace=True)
    window = int(round(window_seconds * SR))
    sizes = [n for i in chosen for _, n, _ in eval_windows(int(clip_seconds(paths[i], rng) * SR), window)]
    return np.array(sizes, dtype=np.int64)


def equal_length_batches(sizes: np.ndarray, batch_size: int) -> list[list[int]]:
    """The previous evaluation batching: windows of identical length only (no padding)."""
    batches = []
    for length in sorted(set(sizes.tolist()), reverse=True):
        items = np.flatnonzero(sizes == length).tolist()
        batches += [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    return batches


@torch.inference_mode()
def run(
    module, batches: list[list[int]], sizes: np.ndarray, noise: np.ndarray
) -> tuple[float, float, float, dict]:
    """Wall seconds, CPU seconds of this process, padding fraction, {window: (A,) prediction}."""
    preds, valid, total = {}, 0, 0
    start, cpu = time.perf_counter(), time.process_time()
    for batch_ids in batches:
        items = [
            {"audio": noise[k % 997 : k % 997 + sizes[k]], "target": np.zeros(1, np.float32)}
            | {"domain": np.zeros(1, np.int64), "window": 0, "weight": 1.0, "id": str(k), "system": "s"}
            | {"dataset": "d"}
            for k in batch_ids
        ]
        batch = collate(items)
        out = module(batch["audio"], batch["lengths"]).preds
        valid += int(batch["lengths"].sum())
        total += batch["audio"].numel()
        for k, row in zip(batch_ids, out.numpy()):
            preds[k] = row
    return time.perf_counter() - start, time.process_time() - cpu, 1 - valid / max(total, 1), preds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--arch", choices=list(ARCHS), default="tiny")
    parser.add_argument("--clips", type=int, default=300, help="clips drawn (all their windows are scored)")
    parser.add_argument("--batch-size", type=int, default=16, help="data.eval_batch_size")
    parser.add_argument("--window", type=float, default=10.0, help="data.eval_window_seconds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    cfg = load_config(None, ["model.encoder.name=tiny", "model.encoder.mode=lora", *ARCHS[args.arch]])
    torch.manual_seed(0)
    module = AQAModule(
        **module_sections(cfg), num_domains={}, target_mean=[5.0] * 4, target_std=[2.0] * 4
    ).eval()
    sizes = track2_like_windows(args.clips, args.window, args.seed)
    noise = np.random.default_rng(1).normal(0, 0.1, int(sizes.max()) + 1000).astype(np.float32)
    run(module, [[0]], sizes, noise)  # warm-up
    padded = SortedBatchSampler(sizes, args.batch_size, distributed=False).batches
    modes = {
        "batches of one": [[k] for k in range(len(sizes))],
        f"equal lengths only (<= {args.batch_size}, before)": equal_length_batches(sizes, args.batch_size),
        f"padded, length-sorted ({args.batch_size}, now)": padded,
    }
    print(
        f"{args.arch} encoder, {args.clips} clips -> {len(sizes)} windows of <= {args.window:g} s "
        f"(median {np.median(sizes) / SR:.1f} s), torch threads: {torch.get_num_threads()}"
    )
    print(
        f"{'batching':<40} {'batches':>8} {'windows/s':>10} {'/CPU s':>8} {'padding':>8} {'max |diff|':>11}"
    )
    results, one = {}, None
    for name, batches in modes.items():
        seconds, cpu, padding, preds = run(module, batches, sizes, noise)
        results[name] = len(sizes) / cpu
        one = preds if one is None else one  # the first mode: batches of one
        diff = max(float(np.abs(preds[k] - one[k]).max()) for k in preds)
        print(
            f"{name:<40} {len(batches):>8} {len(sizes) / seconds:>10.1f} {results[name]:>8.1f}"
            f" {padding:>8.3f} {diff:>11.2e}",
            flush=True,
        )
    rates = list(results.values())
    print(
        f"speed-up (windows per CPU second) of padded batches: {rates[2] / rates[0]:.2f}x vs batches of one, {rates[2] / rates[1]:.2f}x vs before"
    )


if __name__ == "__main__":
    main()
