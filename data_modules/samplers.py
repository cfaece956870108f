"""Batch samplers that shard themselves across DDP ranks (the Trainer runs with
`use_distributed_sampler=False`). Rank and world size are read from torch.distributed at iteration
time; every rank gets the same number of batches, padded by repeating batches (metrics de-duplicate)."""

import math

import numpy as np
import torch.distributed as dist
from torch.utils.data import Sampler


def rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard(batches: list[list[int]], rank: int, world: int) -> list[list[int]]:
    """This rank's batches: round-robin after padding the list to a multiple of `world` by repetition."""
    if not batches or world == 1:
        return batches
    total = math.ceil(len(batches) / world) * world
    padded = [batches[i % len(batches)] for i in range(total)]
    return padded[rank::world]


class EpochHolder:
    """Lightning calls `set_epoch` on `loader.sampler` and `loader.batch_sampler.sampler`, never on the
    batch sampler itself: batch samplers expose one of these as `.sampler`."""

    def __init__(self):
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)


class BucketBatchSampler(Sampler[list[int]]):
    """Training batches, shuffled per epoch from `seed + epoch`.

    With `bucketing`, the shuffled items are cut into pools of `pool_batches` batches, each pool is
    sorted by length and cut into batches, and the batch order is shuffled: batches hold clips of
    similar length (little padding) while staying random across epochs.
    """

    def __init__(
        self,
        lengths,
        batch_size: int,
        seed: int = 0,
        bucketing: bool = True,
        shuffle: bool = True,
        drop_last: bool = False,
        pool_batches: int = 50,
    ):
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size, self.seed, self.sampler = int(batch_size), int(seed), EpochHolder()
        self.bucketing, self.shuffle, self.drop_last = bucketing, shuffle, drop_last
        self.pool = int(pool_batches) * self.batch_size

    @property
    def epoch(self) -> int:
        return self.sampler.epoch

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def global_batches(self) -> list[list[int]]:
        """All batches of this epoch, before sharding (identical on every rank)."""
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths)) if self.shuffle else np.arange(len(self.lengths))
        if self.bucketing:
            pools = [order[i : i + self.pool] for i in range(0, len(order), self.pool)]
            order = np.concatenate([p[np.argsort(-self.lengths[p], kind="stable")] for p in pools] or [order])
        batches = [order[i : i + self.batch_size].tolist() for i in range(0, len(order), self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if self.bucketing and self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __iter__(self):
        return iter(shard(self.global_batches(), *rank_and_world()))

    def __len__(self) -> int:
        n = (
            len(self.lengths) // self.batch_size
            if self.drop_last
            else math.ceil(len(self.lengths) / self.batch_size)
        )
        return math.ceil(n / rank_and_world()[1])


class SortedBatchSampler(Sampler[list[int]]):
    """Evaluation batches in a fixed order: items sorted by length (longest first, ties in item order),
    cut into batches of `batch_size`. Neighbours in that order differ little in length, so padding stays
    small; the encoder masks it (attention mask + masked first-layer norm), so a window's score does not
    depend on its batch. `distributed=False` gives every batch to this process."""

    def __init__(self, lengths, batch_size: int, distributed: bool = True):
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size, self.distributed = int(batch_size), distributed
        order = np.argsort(-self.lengths, kind="stable").tolist()
        self.batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def _world(self) -> tuple[int, int]:
        return rank_and_world() if self.distributed else (0, 1)

    def __iter__(self):
        return iter(shard(self.batches, *self._world()))

    def __len__(self) -> int:
        return math.ceil(len(self.batches) / self._world()[1])
