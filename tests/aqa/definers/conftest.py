"""Synthetic tables and planted-cluster features for the definer tests."""

import numpy as np
import pandas as pd
import pytest

from aqa.config.load import load_config


def planted_blobs(n: int, k: int, dim: int = 16, spread: float = 8.0, seed: int = 0):
    """(n, dim) float32 features around k well-separated centres, and the (n,) true cluster of each row."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * spread
    truth = np.arange(n) % k
    rng.shuffle(truth)
    return (centres[truth] + rng.normal(size=(n, dim))).astype(np.float32), truth


def synthetic_table(n: int = 240, seed: int = 0, truth=None) -> pd.DataFrame:
    """Rows with split (train 2/3, val, test), dataset, two metadata columns and aspects PQ, PC.
    PQ depends on the dataset (a shortcut), PC is noise."""
    rng = np.random.default_rng(seed)
    datasets = np.array(["tts", "tta", "ttm"])
    ds = truth % 3 if truth is not None else rng.integers(0, 3, n)
    return pd.DataFrame(
        {
            "id": [f"clip{i:04d}" for i in range(n)],
            "path": [f"/audio/clip{i:04d}.wav" for i in range(n)],
            "split": np.array(["train", "train", "train", "train", "val", "test"])[np.arange(n) % 6],
            "start": np.nan,
            "end": np.nan,
            "dataset": datasets[ds],
            "system": [f"sys{i % 7}" for i in range(n)],
            "language": rng.choice(["en", "zh"], n),
            "modality": rng.choice(["speech", "music"], n),
            "PQ": 3.0 * ds + rng.normal(size=n),
            "PC": rng.normal(size=n),
        }
    )


@pytest.fixture
def make_cfg(tiny_overrides):
    """make_cfg(*overrides) -> the typed config with test-local caches and aspects PQ, PC."""

    def make(*overrides):
        return load_config(
            None, [*tiny_overrides, "data.manifest=unused.csv", "data.aspects=[PQ,PC]", *overrides]
        )

    return make


@pytest.fixture
def blobs():
    """The `planted_blobs` function."""
    return planted_blobs


@pytest.fixture
def make_table():
    """The `synthetic_table` function."""
    return synthetic_table
