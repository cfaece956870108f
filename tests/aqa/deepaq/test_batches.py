"""DeePAQ's training batches mix references: RnC ranks clips of several references against each other, and
length bucketing would group a reference's codings (they all have the reference's length)."""

from pathlib import Path

import numpy as np

from aqa.config import load_config
from data_modules.samplers import BucketBatchSampler

YAML = Path(__file__).resolve().parents[3] / "experiments" / "deepaq_quick.yaml"


def _references_per_batch(bucketing: bool) -> list[int]:
    cfg = load_config(YAML, ["data.manifest=unused.csv"])
    refs = np.repeat(np.arange(20), 9)  # 20 references x (clean + 4 codecs x 2 bitrates)
    lengths = 24000 + 997 * refs  # each reference its own length, shared by its codings
    sampler = BucketBatchSampler(lengths, cfg.data.batch_size, seed=0, bucketing=bucketing)
    return [len(set(refs[b])) for b in sampler.global_batches()]


def test_deepaq_quick_batches_mix_references():
    cfg = load_config(YAML, ["data.manifest=unused.csv"])
    assert cfg.data.bucketing is False
    counts = _references_per_batch(cfg.data.bucketing)
    assert min(counts[:-1]) >= 10, counts  # 32 clips drawn from 20 references


def test_bucketing_would_group_references():  # why the quick run turns it off
    assert max(_references_per_batch(True)) <= 5
