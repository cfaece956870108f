"""Pooled frozen-encoder embeddings of every clip, computed once and cached on disk for all definers/K/seeds.

Cache key: the rows (id, path, start, end), the encoder identity (name + revision, or the tiny architecture),
the layer choice, the sample rate and the evaluation window. Windows of one clip -> weighted mean.
"""

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from aqa.definers.base import DefinerError
from aqa.model.encoder import Encoder, encoder_identity
from data_modules.locks import file_lock

log = logging.getLogger(__name__)


def embedding_identity(cfg, table: pd.DataFrame, sample_rate: int) -> dict:
    """Everything the embeddings depend on (the cache key is its hash)."""
    columns = table.reindex(columns=["id", "path", "start", "end"])  # start/end: NaN = whole file
    rows = sorted(columns.astype(str).to_numpy().tolist())  # order-free
    return {
        "rows": hashlib.sha256(json.dumps(rows).encode()).hexdigest(),
        "n_rows": len(table),
        "encoder": encoder_identity(cfg.model.encoder),
        "layer": str(cfg.domain.embeddings.layer),
        "sample_rate": int(sample_rate),
        "window_seconds": float(cfg.data.eval_window_seconds),
    }


def embedding_cache_path(cfg, table: pd.DataFrame, sample_rate: int) -> Path:
    identity = embedding_identity(cfg, table, sample_rate)
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]
    return Path(os.path.expanduser(cfg.domain.embeddings.cache_dir)) / f"emb-{key}.npz"


def compute_embeddings(cfg, table: pd.DataFrame, sample_rate: int) -> np.ndarray:
    """(N, H) float32 aligned with `table` rows; NaN rows for clips the data module skipped as unusable.

    Cached on disk (file lock: concurrent processes compute once); a second call only reads the file.
    """
    path = embedding_cache_path(cfg, table, sample_rate)
    ids = table["id"].astype(str).tolist()
    with file_lock(path.with_suffix(".lock")):
        if path.is_file():
            log.info("embeddings: cache hit %s", path)
            with np.load(path) as cached:  # stored in id order: any row order of the same rows hits
                return cached["emb"][pd.Index(cached["ids"]).get_indexer(ids)]
        encoder = frozen_encoder(cfg)
        emb = pool_clips(encoder, eval_batches(cfg, table, sample_rate), ids, cfg)
        order = np.argsort(np.array(ids, dtype=object), kind="stable")
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, ids=np.array(ids)[order], emb=emb[order])
        os.replace(tmp, path)
        identity = embedding_identity(cfg, table, sample_rate)
        path.with_suffix(".json").write_text(json.dumps(identity, indent=1, sort_keys=True))
        log.info("embeddings: %s computed and cached at %s", emb.shape, path)
        return emb


def frozen_encoder(cfg) -> Encoder:
    """The pretrained encoder (no LoRA, no training), in eval mode."""
    enc = OmegaConf.merge(cfg.model.encoder, {"mode": "frozen"})
    return Encoder(enc).eval()


def eval_batches(cfg, table: pd.DataFrame, sample_rate: int):
    """The data module's deterministic evaluation windows of the usable rows of `table`."""
    from data_modules.datamodule import AQADataModule

    dm = AQADataModule(cfg.data, table, sample_rate, list(cfg.data.aspects))
    dm.setup("test")
    if dm.skipped:
        log.warning("embeddings: %d unusable clips get no embedding (NaN)", len(dm.skipped))
    return dm.eval_loader(dm.table, distributed=False)


def _layer_index(layer: str, num_layers: int) -> int | None:
    """None for the mean over all hidden states, else a validated layer index."""
    if str(layer) == "mean":
        return None
    try:
        index = int(layer)
    except ValueError:
        raise DefinerError(f"domain.embeddings.layer must be `mean` or an integer, got {layer!r}") from None
    if not -num_layers <= index < num_layers:
        raise DefinerError(f"domain.embeddings.layer={index} out of range for {num_layers} hidden states")
    return index


@torch.inference_mode()
def pool_clips(encoder: Encoder, batches, ids: list[str], cfg) -> np.ndarray:
    """Masked mean over frames, layer mean (or one layer), weighted mean over a clip's windows.

    batches: iterable of dicts with audio (B, T), lengths (B,), weight (B,), ids list[str] (B).
    Returns (len(ids), H) float32; ids never seen in the batches get NaN.
    """
    from rich.progress import Progress

    layer = _layer_index(cfg.domain.embeddings.layer, encoder.num_layers)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    encoder = encoder.to(device)
    row = {i: n for n, i in enumerate(ids)}
    sums = np.zeros((len(ids), encoder.hidden_size), dtype=np.float64)
    weights = np.zeros(len(ids), dtype=np.float64)
    total = len(batches) if hasattr(batches, "__len__") else None
    with Progress(transient=True) as progress:
        task = progress.add_task("embeddings", total=total)
        for batch in batches:
            hidden, mask = encoder(batch["audio"].to(device), batch["lengths"].to(device))  # (L+1, B, F, H)
            m = mask[None, :, :, None].to(hidden.dtype)
            pooled = (hidden * m).sum(2) / m.sum(2).clamp(min=1)  # (L+1, B, H)
            pooled = pooled.mean(0) if layer is None else pooled[layer]  # (B, H)
            w = batch["weight"].double().numpy()
            index = np.array([row[str(i)] for i in batch["ids"]])
            np.add.at(sums, index, pooled.double().cpu().numpy() * w[:, None])
            np.add.at(weights, index, w)
            progress.advance(task)
    with np.errstate(invalid="ignore", divide="ignore"):
        emb = sums / weights[:, None]
    emb[weights <= 0] = np.nan
    return emb.astype(np.float32)
