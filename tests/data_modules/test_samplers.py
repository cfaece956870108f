"""Batch samplers: coverage, seeding, bucketing, DDP sharding with equal batch counts."""

import numpy as np
import pytest

from data_modules import samplers
from data_modules.samplers import BucketBatchSampler, SortedBatchSampler


def _padding(batches, lengths):
    total = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return 1 - sum(lengths[i] for b in batches for i in b) / total


@pytest.mark.parametrize("bucketing", [True, False])
def test_each_item_once_per_epoch(bucketing):
    lengths = np.random.default_rng(0).integers(100, 5000, 103)
    sampler = BucketBatchSampler(lengths, 8, seed=3, bucketing=bucketing, pool_batches=4)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 13
    assert sorted(i for b in batches for i in b) == list(range(103))


def test_seed_and_epoch_drive_the_order():
    lengths = np.arange(50) + 100
    a, b = BucketBatchSampler(lengths, 4, seed=1), BucketBatchSampler(lengths, 4, seed=1)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
    assert list(BucketBatchSampler(lengths, 4, seed=2)) != list(a)


def test_bucketing_reduces_padding():
    lengths = np.random.default_rng(1).integers(1000, 100000, 400)
    plain = _padding(list(BucketBatchSampler(lengths, 8, bucketing=False)), lengths)
    bucketed = _padding(list(BucketBatchSampler(lengths, 8, bucketing=True)), lengths)
    assert bucketed < plain / 3


@pytest.mark.parametrize("world", [2, 3])
def test_ddp_shards_have_equal_counts_and_cover_all(monkeypatch, world):
    lengths = np.random.default_rng(2).integers(100, 900, 37)
    shards = []
    for rank in range(world):
        monkeypatch.setattr(samplers, "rank_and_world", lambda rank=rank: (rank, world))
        train = BucketBatchSampler(lengths, 4, seed=5)
        shards.append((list(train), len(train), list(SortedBatchSampler(lengths % 3, 4))))
    assert len({len(s[0]) for s in shards}) == 1 and all(len(s[0]) == s[1] for s in shards)
    assert {i for s in shards for b in s[0] for i in b} == set(range(37))
    assert len({len(s[2]) for s in shards}) == 1
    assert {i for s in shards for b in s[2] for i in b} == set(range(37))


def test_eval_batches_are_sorted_by_length_and_cover_all_once():
    lengths = np.array([5, 7, 5, 7, 7, 9, 5])
    batches = list(SortedBatchSampler(lengths, 2, distributed=False))
    assert batches == [[5, 1], [3, 4], [0, 2], [6]]  # longest first, ties in item order
    assert sorted(i for b in batches for i in b) == list(range(7))


def test_sorted_eval_batches_pad_little():
    lengths = np.random.default_rng(3).integers(24000, 240000, 500)
    assert _padding(list(SortedBatchSampler(lengths, 16, distributed=False)), lengths) < 0.05
