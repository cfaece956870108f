"""Data-stage benchmark on a generated manifest of mixed lengths (placeholder tones, written to a temp dir).

Prints (all measured in this one run):
  - padding fraction of training batches with and without length bucketing;
  - data-loading time of one training epoch: decode + resample every clip vs the warm waveform cache.

    python benchmarks/bench_data.py [--clips 160] [--batch-size 8] [--workers 0] [--epochs 3]
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from omegaconf import OmegaConf

from data_modules.config import DataConfig
from data_modules.datamodule import AQADataModule
from data_modules.manifest import load_table
from data_modules.samplers import BucketBatchSampler

ENCODER_RATE = 24000  # MERT's rate


def write_manifest(folder: Path, clips: int, seed: int) -> Path:
    """Tones of 0.5-20 s (log-uniform), at 16/22.05/44.1/48 kHz, mono and stereo, as wav and flac."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(clips):
        seconds = float(np.exp(rng.uniform(np.log(0.5), np.log(20.0))))
        rate = int(rng.choice([16000, 22050, 44100, 48000]))
        channels = 1 + k % 2
        t = np.arange(int(seconds * rate)) / rate
        wav = 0.2 * np.sin(2 * np.pi * rng.uniform(100, 2000) * t)[:, None].repeat(channels, 1)
        path = folder / f"c{k}.{'flac' if k % 3 == 0 else 'wav'}"
        sf.write(path, wav.astype(np.float32), rate)
        rows.append({"id": f"c{k}", "path": path.name, "PQ": rng.uniform(1, 10)})
    manifest = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def padding_fraction(lengths: np.ndarray, batch_size: int, bucketing: bool, epochs: int) -> float:
    real = padded = 0
    for epoch in range(epochs):
        sampler = BucketBatchSampler(lengths, batch_size, seed=0, bucketing=bucketing)
        sampler.set_epoch(epoch)
        for batch in sampler:
            real += int(lengths[batch].sum())
            padded += len(batch) * int(lengths[batch].max())
    return 1 - real / padded


def epoch_seconds(dm: AQADataModule) -> float:
    start = time.perf_counter()
    for _ in dm.train_dataloader():
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=3, help="epochs averaged for the padding fraction")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest = write_manifest(folder, args.clips, args.seed)
        cfg = OmegaConf.structured(DataConfig)
        cfg.manifest, cfg.aspects, cfg.split.ratios = str(manifest), ["PQ"], {"train": 0.9, "val": 0.1}
        cfg.split.group_by, cfg.batch_size, cfg.num_workers = "id", args.batch_size, args.workers
        cfg.max_seconds, cfg.cache_dir = args.max_seconds, str(folder / "cache")
        table = load_table(cfg)

        cfg.cache = False
        direct = AQADataModule(cfg, table, ENCODER_RATE, ["PQ"], seed=args.seed)
        direct.setup("fit")
        crops = np.minimum(direct.lengths, int(args.max_seconds * ENCODER_RATE))
        seconds = direct.lengths / ENCODER_RATE
        print(
            f"manifest: {args.clips} clips, {seconds.min():.1f}-{seconds.max():.1f} s (median {np.median(seconds):.1f} s),"
        )
        print(
            f"          training crops <= {args.max_seconds:g} s, batch size {args.batch_size}, {args.workers} workers"
        )
        plain = padding_fraction(crops, args.batch_size, False, args.epochs)
        bucketed = padding_fraction(crops, args.batch_size, True, args.epochs)
        print(
            f"padding fraction: {plain:.3f} without bucketing, {bucketed:.3f} with bucketing "
            f"({plain / max(bucketed, 1e-9):.1f}x less padding)"
        )

        decode_time = epoch_seconds(direct)
        cfg.cache = True
        cached = AQADataModule(cfg, table, ENCODER_RATE, ["PQ"], seed=args.seed)
        start = time.perf_counter()
        cached.prepare_data()
        build = time.perf_counter() - start
        cached.setup("fit")
        cache_time = epoch_seconds(cached)
        print(
            f"one training epoch: decode+resample {decode_time:.2f} s, warm cache {cache_time:.2f} s "
            f"({decode_time / cache_time:.1f}x faster); building the cache took {build:.2f} s once"
        )


if __name__ == "__main__":
    main()
