"""A small manifest of generated audio (tones + noise whose level sets PQ) for end-to-end training tests."""

import csv

import numpy as np
import pytest
import soundfile as sf

SPLITS = {"train": 36, "val": 9, "test": 7}  # 9 val clips: uneven across 2 DDP ranks on purpose


def write_small_manifest(folder, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows, i = [], 0
    for split, count in SPLITS.items():
        for _ in range(count):
            sr = 16000 if i % 2 else 24000  # mixed rates: resampling is exercised
            seconds = 1.0 + 0.25 * (i % 3)
            t = np.arange(int(sr * seconds)) / sr
            quality = rng.uniform(1, 10)
            audio = 0.3 * np.sin(2 * np.pi * (150 + 15 * i) * t) + rng.normal(
                0, 0.04 * (10 - quality), t.shape
            )
            sf.write(folder / f"clip{i:03d}.wav", audio.astype(np.float32), sr)
            rows.append(
                {
                    "id": f"clip{i:03d}",
                    "path": f"clip{i:03d}.wav",
                    "split": split,
                    "system": f"sys{i % 6}",
                    "dataset": f"source{i % 3}",
                    "PQ": round(quality, 2),
                    "PC": round(rng.uniform(1, 10), 2),
                    "CE": round(0.5 * quality + 3 + rng.normal(0, 0.5), 2),
                    "CU": round(0.8 * quality + 1, 2),
                }
            )
            i += 1
    path = folder / "manifest.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def small_manifest(tmp_path_factory):
    return write_small_manifest(tmp_path_factory.mktemp("small-corpus"))


@pytest.fixture(scope="session")
def train_overrides(small_manifest, tiny_overrides):
    """A fast CPU run of the tiny encoder on the small manifest."""
    return [
        *tiny_overrides,
        f"data.manifest={small_manifest}",
        "data.batch_size=6",
        "data.eval_batch_size=4",
        "data.max_seconds=1.0",
        "trainer.accelerator=cpu",
        "trainer.max_epochs=2",
        "trainer.log_every_n_steps=1",
        "trainer.enable_progress_bar=false",
        "model.head_hidden=32",
        "model.adversary.hidden=32",
        "metrics.min_source_clips=3",  # the 9 val clips: 3 per source
    ]
