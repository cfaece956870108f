"""Pretraining settings (no torch import: `aqa pretrain --help` reads the defaults from here)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class PretrainSettings:
    """What a pretraining run does; everything here is part of a run's identity (resume checks it)."""

    steps: int = 400
    batch_size: int = 8
    segment_seconds: float = 2.0  # crop per clip and step (shorter clips shorten every crop)
    clusters: int = 50  # k-means codes of log-mel frames (HuBERT iteration 1)
    n_mels: int = 64
    recon_weight: float = 1.0  # weight of the masked log-mel reconstruction (MERT's spectral teacher)
    mask_prob: float = 0.08  # probability that a frame starts a masked span
    mask_length: int = 5  # frames per masked span
    lr: float = 5e-4
    warmup_steps: int = 40
    seed: int = 0
    checkpoint_every: int = 50
    # architecture of a new encoder (ignored with `--from`): the project's tiny MERT-architecture config
    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    intermediate_size: int = 128
    conv_dim: int = 32
    sample_rate: int = 24000
