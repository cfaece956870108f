"""Shared test settings: no network, no W&B traffic, caches in a per-session temporary folder."""

import os

import pytest

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory):
    """One cache folder per test session (tiny encoder, audio cache, embeddings)."""
    return tmp_path_factory.mktemp("aqa-cache")


@pytest.fixture(scope="session")
def tiny_overrides(cache_root):
    """Overrides that make any experiment use the tiny random encoder and test-local caches."""
    return [
        "model.encoder.name=tiny",
        f"model.encoder.cache_dir={cache_root}/encoders",
        f"data.cache_dir={cache_root}/audio",
        f"domain.embeddings.cache_dir={cache_root}/embeddings",
        f"data.corpus.dir={cache_root}/corpus",
        "data.num_workers=0",
        "logger.wandb=false",
    ]
