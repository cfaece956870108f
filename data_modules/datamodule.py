"""Stage 2 of docs/ARCHITECTURE.md: clip table -> batches (training crops, evaluation windows)."""

import logging
import os
from dataclasses import dataclass

import lightning as L
import numpy as np
import pandas as pd
from torch.utils.data import DataLoader

from data_modules.audio import AudioCache
from data_modules.datasets import Clips, CropDataset, WindowDataset, collate
from data_modules.samplers import BucketBatchSampler, SortedBatchSampler, rank_and_world
from data_modules.usable import DataError, check_clips, enforce_skip_limit, skip_summary
from data_modules.windows import eval_windows

log = logging.getLogger(__name__)


def require_splits(table: pd.DataFrame, names: list[str], what: str = "rows") -> None:
    """DataError naming the first of `names` that has no row in `table` (with the rows per split)."""
    present = set(table["split"])
    for name in names:
        if name not in present:
            counts = table["split"].value_counts().to_dict()
            raise DataError(f"split {name!r} is empty; {what} per split: {counts}")


@dataclass(frozen=True)
class UsableRows:
    """The usable rows of a clip table (index 0..N-1), their length in samples (N,) and the skipped rows
    (id, path, reason)."""

    table: pd.DataFrame
    lengths: np.ndarray
    skipped: list[tuple[str, str, str]]

    def with_table(self, table: pd.DataFrame) -> "UsableRows":
        """The same rows with other columns (e.g. domain labels attached): lengths and skipped kept."""
        if not table["id"].reset_index(drop=True).equals(self.table["id"].reset_index(drop=True)):
            raise ValueError("with_table: the new table must hold the same rows in the same order")
        return UsableRows(table.reset_index(drop=True), self.lengths, self.skipped)


def usable_rows(cfg_data, table: pd.DataFrame, sample_rate: int, aspects: list[str]) -> UsableRows:
    """Checks every clip once (cached) and drops the unusable ones; DataError when more than
    `max_skip_fraction` would be dropped."""
    cache = AudioCache(cfg_data.cache_dir if cfg_data.cache else None, int(sample_rate))
    lengths, skipped = check_clips(
        table, aspects, cache, progress=rank_and_world()[0] == 0, threads=max(1, int(cfg_data.num_workers))
    )
    message = enforce_skip_limit(skipped, len(table), float(cfg_data.max_skip_fraction))
    if skipped:
        log.warning(message)
    keep = lengths >= 0
    return UsableRows(table[keep].reset_index(drop=True), lengths[keep], skipped)


class AQADataModule(L.LightningDataModule):
    """Batches of `table` rows for the configured aspects at the encoder's `sample_rate`.

    `setup()` checks every clip once (cached), drops unusable ones into `self.skipped` (id, path, reason)
    and raises DataError when more than `max_skip_fraction` would be dropped or a needed split is empty.
    Each batch is the dict of the contract plus `padding_fraction` (float, share of `audio` that is
    padding) for logging. `seed` drives shuffling; default: the global seed set by `seed_everything`.
    `table` may instead be UsableRows (from `usable_rows`, e.g. with domain labels attached): its rows are
    checked already, and the module is complete at construction (setup() checks nothing).
    """

    def __init__(
        self,
        cfg_data,
        table: "pd.DataFrame | UsableRows",
        sample_rate: int,
        aspects: list[str],
        seed: int | None = None,
    ):
        super().__init__()
        self.cfg, self.aspects, self.sample_rate = cfg_data, list(aspects), int(sample_rate)
        self.seed = int(os.environ.get("PL_GLOBAL_SEED", 0)) if seed is None else int(seed)
        self.cache = AudioCache(cfg_data.cache_dir if cfg_data.cache else None, self.sample_rate)
        self.checked = isinstance(table, UsableRows)
        self.source = table.table if self.checked else table
        # usable rows and their (N,) lengths in samples: given, or set by setup()
        self.table: pd.DataFrame | None = table.table if self.checked else None
        self.lengths: np.ndarray | None = table.lengths if self.checked else None
        self.skipped: list[tuple[str, str, str]] = list(table.skipped) if self.checked else []

    # -- setup -----------------------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Lightning runs this once per node before `setup()`: fill the cache, so other ranks only read it."""
        if self.cache.dir is not None and not self.checked:
            check_clips(
                self.source, self.aspects, self.cache, threads=self._threads, description="caching audio"
            )

    def setup(self, stage: str | None = None) -> None:
        if self.table is None:
            usable = usable_rows(self.cfg, self.source, self.sample_rate, self.aspects)
            self.table, self.lengths, self.skipped = usable.table, usable.lengths, usable.skipped
        if stage in (None, "fit"):
            for name in (self.cfg.train_split, self.cfg.val_split):
                self._rows(name)

    @property
    def eval_split_names(self) -> list[str]:
        """The configured `eval_splits` that are present and non-empty (after skipping)."""
        self.setup("test")
        present = set(self.table["split"])
        return [s for s in self.cfg.eval_splits if s in present]

    def _rows(self, split: str) -> pd.DataFrame:
        self.setup("test")
        require_splits(self.table, [split], "after skipping unusable clips; usable rows")
        return self.table[self.table["split"] == split]

    @property
    def _threads(self) -> int:
        return max(1, int(self.cfg.num_workers))

    # -- loaders ---------------------------------------------------------------------------------------
    def train_dataloader(self) -> DataLoader:
        rows = self._rows(self.cfg.train_split)
        max_samples = int(round(self.cfg.max_seconds * self.sample_rate))
        dataset = CropDataset(
            Clips.from_table(rows, self.aspects, self.cfg.label_columns),
            self.lengths[rows.index],
            self.cache,
            max_samples,
        )
        sampler = BucketBatchSampler(
            dataset.crop_lengths(), self.cfg.batch_size, seed=self.seed, bucketing=self.cfg.bucketing
        )
        return self._loader(dataset, sampler)

    def val_dataloader(self) -> DataLoader:
        return self.eval_loader(self._rows(self.cfg.val_split), distributed=True)

    def test_dataloader(self) -> list[DataLoader]:
        return [self.eval_loader(self._rows(name), distributed=True) for name in self.eval_split_names]

    def eval_loader(self, rows: pd.DataFrame, distributed: bool = False) -> DataLoader:
        """Deterministic windows of any rows, in length-sorted padded batches (see SortedBatchSampler).
        Rows of this module's table reuse setup()'s lengths; others are checked (cached) here, and
        unusable ones are left out with a counted warning (their ids get no batch)."""
        lengths = self._lengths_of(rows)
        size = int(round(self.cfg.eval_window_seconds * self.sample_rate))
        windows = [
            (i, w, start, n, weight)
            for i, length in enumerate(lengths)
            if length >= 0
            for w, (start, n, weight) in enumerate(eval_windows(int(length), size))
        ]
        dataset = WindowDataset(
            Clips.from_table(rows, self.aspects, self.cfg.label_columns), windows, self.cache
        )
        sampler = SortedBatchSampler(dataset.sizes(), self.cfg.eval_batch_size, distributed=distributed)
        return self._loader(dataset, sampler)

    def _lengths_of(self, rows: pd.DataFrame) -> np.ndarray:
        """(N,) samples per row, -1 = unusable."""
        own = self.table is not None and rows.index.isin(self.table.index).all()
        if own and rows["id"].equals(self.table.loc[rows.index, "id"]):
            return self.lengths[rows.index]
        lengths, skipped = check_clips(rows, [], self.cache, progress=False, threads=self._threads)
        if skipped:
            first = "; ".join(f"id {i} ({reason}): {path}" for i, path, reason in skipped[:5])
            log.warning(f"eval_loader: {skip_summary(skipped, len(rows))}. First: {first}")
        return lengths

    def _loader(self, dataset, batch_sampler) -> DataLoader:
        workers = int(self.cfg.num_workers)
        return DataLoader(
            dataset,
            batch_sampler=batch_sampler,
            collate_fn=collate,
            num_workers=workers,
            persistent_workers=workers > 0,
        )
