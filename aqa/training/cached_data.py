"""Batches of the per-layer cache for screening runs (`model.encoder.mode=cached`): the same rows, targets,
domain labels, systems and sources as the waveform data module, with `layers` (B, L+1, H) instead of audio.
Holds the (N, L+1, H) array only, never decoded audio."""

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from data_modules.datasets import Clips


class CachedLayers(L.LightningDataModule):
    """data: the `data:` section; table: the usable rows with domain columns; layers: (N, L+1, H) aligned
    with `table`; seed: the shuffling seed of the train batches."""

    def __init__(self, data, table, layers: np.ndarray, aspects: list[str], seed: int):
        super().__init__()
        self.cfg = data
        self.table = table.reset_index(drop=True)
        self.clips = Clips.from_table(self.table, aspects, data.label_columns)
        self.layers = torch.from_numpy(np.ascontiguousarray(layers, dtype=np.float32))
        self.seed = int(seed)
        self.skipped: list = []

    @property
    def eval_split_names(self) -> list[str]:
        present = set(self.table["split"])
        return [s for s in self.cfg.eval_splits if s in present]

    def _indices(self, split: str) -> list[int]:
        return np.flatnonzero(self.table["split"].to_numpy() == split).tolist()

    def _collate(self, rows: list[int]) -> dict:
        c = self.clips
        batch = {
            "ids": [c.ids[i] for i in rows],
            "systems": [c.systems[i] for i in rows],
            "datasets": [c.datasets[i] for i in rows],
            "layers": self.layers[rows],
            "targets": torch.from_numpy(c.targets[rows]),
            "domains": torch.from_numpy(c.domains[rows]),
            "window": torch.zeros(len(rows), dtype=torch.long),
            "weight": torch.ones(len(rows)),
        }
        if c.ratings is not None:
            batch["ratings"] = torch.from_numpy(c.ratings[rows])
        if c.labels is not None:
            batch["labels"] = torch.from_numpy(c.labels[rows])
        return batch

    def _loader(self, rows: list[int], shuffle: bool, batch_size: int) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        return DataLoader(
            rows, batch_size=batch_size, shuffle=shuffle, generator=generator, collate_fn=self._collate
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self._indices(self.cfg.train_split), True, self.cfg.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self._indices(self.cfg.val_split), False, self.cfg.eval_batch_size)

    def test_dataloader(self) -> list[DataLoader]:
        return [
            self._loader(self._indices(s), False, self.cfg.eval_batch_size) for s in self.eval_split_names
        ]
