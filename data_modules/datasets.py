"""Map-style datasets over a clip table (training crops, evaluation windows) and the batch collate."""

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from data_modules.audio import AudioCache
from data_modules.manifest.columns import domain_matrix


@dataclass
class Clips:
    """Columns of a clip table as arrays, in the order the datasets index them (N rows, A aspects)."""

    ids: list[str]
    systems: list[str]
    datasets: list[str]  # source dataset per clip (`unknown` without a dataset column)
    paths: list[str]
    starts: np.ndarray  # (N,) seconds, NaN = file start
    ends: np.ndarray  # (N,) seconds, NaN = file end
    targets: np.ndarray  # (N, A) float32, NaN = missing
    domains: np.ndarray  # (N, A) int64, from `domain_<ASPECT>` (missing column -> -1, unknown)
    ratings: np.ndarray | None = None  # (N, A, R) float32 from `<ASPECT>_ratings` lists, NaN-padded
    labels: np.ndarray | None = None  # (N, R) float64 of data.label_columns (NaN = missing), None if R = 0

    @classmethod
    def from_table(cls, table: pd.DataFrame, aspects: list[str], label_columns=()) -> "Clips":
        n = len(table)
        targets = np.stack(
            [
                table[a].to_numpy(np.float32) if a in table else np.full(n, np.nan, np.float32)
                for a in aspects
            ],
            1,
        ).reshape(n, len(aspects))
        domains = domain_matrix(table, aspects)
        return cls(
            ids=table["id"].astype(str).tolist(),
            systems=table["system"].astype(str).tolist()
            if "system" in table
            else table["id"].astype(str).tolist(),
            datasets=table["dataset"].astype(str).tolist() if "dataset" in table else ["unknown"] * n,
            paths=table["path"].astype(str).tolist(),
            starts=_seconds(table, "start"),
            ends=_seconds(table, "end"),
            targets=targets,
            domains=domains,
            ratings=_ratings(table, aspects),
            labels=np.stack(
                [
                    pd.to_numeric(table[c], errors="coerce").to_numpy(np.float64)
                    if c in table
                    else np.full(n, np.nan)
                    for c in label_columns
                ],
                1,
            )
            if label_columns
            else None,
        )

    def audio(self, cache: AudioCache, i: int, offset: int, size: int) -> np.ndarray:
        """(size,) float32 samples [offset, offset + size) of clip i (copied out of the cache's mmap)."""
        wav = cache.load(self.paths[i], float(self.starts[i]), float(self.ends[i]), mmap=True)
        return np.array(wav[offset : offset + size], dtype=np.float32)

    def item(self, i: int, audio: np.ndarray, window: int = 0, weight: float = 1.0) -> dict:
        extra = {} if self.ratings is None else {"ratings": self.ratings[i]}
        if self.labels is not None:
            extra["labels"] = self.labels[i]
        return extra | {
            "audio": audio,
            "target": self.targets[i],
            "domain": self.domains[i],
            "window": window,
            "weight": weight,
            "id": self.ids[i],
            "system": self.systems[i],
            "dataset": self.datasets[i],
        }


def _ratings(table: pd.DataFrame, aspects: list[str]) -> np.ndarray | None:
    """(N, A, R) individual ratings from the `<ASPECT>_ratings` list columns (NaN-padded), None if none."""
    columns = [f"{a}_ratings" for a in aspects]
    if not any(c in table for c in columns):
        return None
    lists = [
        [list(v) if isinstance(v, list | tuple | np.ndarray) else [] for v in table[c]]
        if c in table
        else [[] for _ in range(len(table))]
        for c in columns
    ]
    width = max((len(r) for col in lists for r in col), default=0)
    out = np.full((len(table), len(aspects), width), np.nan, np.float32)
    for j, col in enumerate(lists):
        for i, r in enumerate(col):
            out[i, j, : len(r)] = _numbers(r)
    return out


def _numbers(values: list) -> np.ndarray:
    """A list of ratings -> float32, as `pd.to_numeric(errors="coerce")` converts it; plain int or float lists
    (the common case) without the per-list pandas Series (which cost about a second per table)."""
    if all(type(v) is float or type(v) is int for v in values):
        return np.asarray(values).astype(np.float32)  # int64 (all int) or float64, as to_numeric gives
    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(np.float32)


def _seconds(table: pd.DataFrame, col: str) -> np.ndarray:
    return table[col].to_numpy(np.float64) if col in table else np.full(len(table), math.nan)


class CropDataset(Dataset):
    """Training items: a random crop of at most `max_samples` (torch RNG: seeded, per worker)."""

    def __init__(self, clips: Clips, lengths: np.ndarray, cache: AudioCache, max_samples: int):
        self.clips, self.cache, self.max_samples = clips, cache, int(max_samples)
        self.lengths = np.asarray(lengths, dtype=np.int64)

    def crop_lengths(self) -> np.ndarray:
        return np.minimum(self.lengths, self.max_samples)

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> dict:
        length = int(self.lengths[i])
        size = min(length, self.max_samples)
        offset = int(torch.randint(0, length - size + 1, ()).item())
        return self.clips.item(i, self.clips.audio(self.cache, i, offset, size))


class WindowDataset(Dataset):
    """Evaluation items: one per window (see `windows.eval_windows`), always the same samples."""

    def __init__(self, clips: Clips, windows: list[tuple[int, int, int, int, int]], cache: AudioCache):
        self.clips, self.windows, self.cache = clips, windows, cache  # (clip, window, start, size, weight)

    def sizes(self) -> np.ndarray:
        return np.array([w[3] for w in self.windows], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, k: int) -> dict:
        i, window, start, size, weight = self.windows[k]
        return self.clips.item(i, self.clips.audio(self.cache, i, start, size), window, float(weight))


def collate(items: list[dict]) -> dict:
    """Items -> the batch dict of docs/ARCHITECTURE.md (audio zero-padded to the longest row), plus
    `padding_fraction` (float): share of `audio` that is padding, for logging."""
    lengths = torch.tensor([len(it["audio"]) for it in items], dtype=torch.long)
    ratings = _collate_ratings(items)
    audio = np.zeros((len(items), int(lengths.max()) if len(items) else 0), dtype=np.float32)  # (B, T)
    for row, it in enumerate(items):
        audio[row, : len(it["audio"])] = it["audio"]  # numpy: several times faster than torch item copies
    return (
        {
            "audio": torch.from_numpy(audio),
            "lengths": lengths,
            "targets": torch.from_numpy(np.stack([it["target"] for it in items])).float(),  # (B, A)
            "domains": torch.from_numpy(np.stack([it["domain"] for it in items])).long(),  # (B, A)
            "window": torch.tensor([it["window"] for it in items], dtype=torch.long),
            "weight": torch.tensor([it["weight"] for it in items], dtype=torch.float32),
            "ids": [it["id"] for it in items],
            "systems": [it["system"] for it in items],
            "datasets": [it["dataset"] for it in items],
            "padding_fraction": 1.0 - float(lengths.sum()) / max(audio.size, 1),
        }
        | ratings
        | _collate_labels(items)
    )


def _collate_labels(items: list[dict]) -> dict:
    """{"labels": (B, R) float64 of data.label_columns} when the items carry them, else {}."""
    return (
        {"labels": torch.from_numpy(np.stack([it["labels"] for it in items]))}
        if items and "labels" in items[0]
        else {}
    )


def _collate_ratings(items: list[dict]) -> dict:
    """{"ratings": (B, A, R) float32, NaN = no rating} when the items carry rating lists, else {}."""
    if not items or "ratings" not in items[0]:
        return {}
    width = max(it["ratings"].shape[-1] for it in items)
    out = np.full((len(items), *items[0]["ratings"].shape[:-1], width), np.nan, np.float32)
    for row, it in enumerate(items):
        out[row, :, : it["ratings"].shape[-1]] = it["ratings"]
    return {"ratings": torch.from_numpy(out)}
