"""The data module's deterministic evaluation windows, and their weighted mean per clip."""

import logging

import numpy as np
import pandas as pd
import torch

from aqa.features.base import WindowFn
from data_modules.windows import window_mean

log = logging.getLogger(__name__)


def eval_batches(data, table: pd.DataFrame, sample_rate: int):
    """The evaluation windows (of the `data:` section) of the usable rows of `table` (unusable clips are
    left out, counted)."""
    from data_modules.datamodule import AQADataModule

    dm = AQADataModule(data, table, sample_rate, list(data.aspects))
    dm.setup("test")
    if dm.skipped:
        log.warning("features: %d unusable clips get no features (NaN)", len(dm.skipped))
    return dm.eval_loader(dm.table, distributed=False)


@torch.inference_mode()
def pool_windows(window_fn: WindowFn, batches, ids: list[str], label: str = "features") -> np.ndarray:
    """Weighted mean over each clip's windows of `window_fn`'s (B, H) features.

    batches: iterable of dicts with audio (B, T), lengths (B,), weight (B,), ids list[str] (B).
    Returns (len(ids), H) float32; ids never seen in the batches get NaN.
    """
    from rich.progress import Progress

    row = {i: n for n, i in enumerate(ids)}
    values, weights, index = [], [], []
    total = len(batches) if hasattr(batches, "__len__") else None
    with Progress(transient=True) as progress:
        task = progress.add_task(label, total=total)
        for batch in batches:
            values.append(np.asarray(window_fn(batch["audio"], batch["lengths"]), dtype=np.float64))  # (B, H)
            weights.append(batch["weight"].double().numpy())
            index += [row[str(i)] for i in batch["ids"]]
            progress.advance(task)
    if not values:
        raise ValueError(f"{label}: no usable clip to compute features of")
    return window_mean(np.concatenate(values), np.concatenate(weights), index, len(ids)).astype(np.float32)
