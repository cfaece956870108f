"""Per-clip features of any extractor, computed once and cached on disk for all definers, K and seeds.

Cache key: the rows (id, path, start, end), the extractor and what it depends on (encoder identity and
layer, descriptor list, checkpoint hash), the sample rate and the evaluation window. Windows of one clip
-> weighted mean (the data module's evaluation windows).
"""

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from aqa.features.registry import extractor_for
from aqa.features.settings import FeatureSettings
from aqa.features.windows import eval_batches, pool_windows
from data_modules.atomic import atomic_path
from data_modules.locks import file_lock

log = logging.getLogger(__name__)


def features_identity(
    settings: FeatureSettings, table: pd.DataFrame, sample_rate: int, spec: str = "encoder"
) -> dict:
    """Everything the features of `spec` depend on (the cache key is its hash)."""
    extractor = extractor_for(spec)
    columns = table.reindex(columns=["id", "path", "start", "end"])  # start/end: NaN = whole file
    # str() per value: NaN -> "nan" on pandas 2 and 3 (pandas 3's astype(str) keeps NaN), same keys on both
    rows = sorted(columns.astype(object).map(str).to_numpy().tolist())  # order-free
    return {
        "features": extractor.name,
        **extractor.identity(settings),
        "rows": hashlib.sha256(json.dumps(rows).encode()).hexdigest(),
        "n_rows": len(table),
        "sample_rate": int(sample_rate),
        "window_seconds": float(settings.data.eval_window_seconds),
    }


def features_cache_path(
    settings: FeatureSettings, table: pd.DataFrame, sample_rate: int, spec: str = "encoder"
) -> Path:
    if extractor_for(spec).name == "encoder":  # read from the per-layer cache
        spec = "layers:mean"
    identity = features_identity(settings, table, sample_rate, spec)
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]
    return Path(os.path.expanduser(settings.embeddings.cache_dir)) / f"{identity['features']}-{key}.npz"


def _stored_identity(path: Path) -> dict | None:
    """The identity written beside a cache file (None for files written before it was kept)."""
    meta = path.with_suffix(".json")
    return json.loads(meta.read_text()) if meta.is_file() else None


def check_same_encoder(path: Path, stored: dict | None, expected: dict) -> None:
    """A cache built from another encoder is never read: refused, naming both (ConfigError: exit 2)."""
    if stored is None or stored.get("encoder") == expected.get("encoder"):
        return
    from aqa.config.load import ConfigError

    raise ConfigError(
        f"feature cache {path} was built from encoder {stored.get('encoder')} but this run uses encoder "
        f"{expected.get('encoder')}; delete the file (or point domain.embeddings.cache_dir elsewhere)"
    )


def compute_features(
    settings: FeatureSettings, table: pd.DataFrame, sample_rate: int, spec: str = "encoder"
) -> np.ndarray:
    """(N, H) float32 aligned with `table` rows; NaN rows for clips the data module skipped as unusable.

    Cached on disk (file lock: concurrent processes compute once); a second call only reads the file.
    """
    if extractor_for(spec).name == "encoder":  # a reduction of the per-layer cache (aqa/features/layers.py)
        from aqa.features.encoder import layer_index
        from aqa.features.layers import compute_layers

        layers = compute_layers(settings, table, sample_rate)  # (N, L+1, H)
        index = layer_index(settings.embeddings.layer, layers.shape[1])
        reduced = layers.astype(np.float64).mean(1) if index is None else layers[:, index]
        return reduced.astype(np.float32)
    path = features_cache_path(settings, table, sample_rate, spec)
    ids = table["id"].astype(str).tolist()
    with file_lock(path.with_suffix(".lock")):
        if path.is_file():
            expected = json.loads(json.dumps(features_identity(settings, table, sample_rate, spec)))
            stored = _stored_identity(path)
            check_same_encoder(path, stored, expected)
            with np.load(path) as cached:  # stored in id order: any row order of the same rows hits
                index = pd.Index(cached["ids"]).get_indexer(ids)
                if (index >= 0).all() and stored in (None, expected):
                    log.info("features %s: cache hit %s", spec, path)
                    return cached["emb"][index]
            log.warning("features %s: %s does not match these rows or windows: rebuilding it", spec, path)
        window_fn = extractor_for(spec).open(settings, sample_rate)
        batches = eval_batches(settings.data, table, sample_rate)
        values = pool_windows(window_fn, batches, ids, f"features {spec}")
        order = np.argsort(np.array(ids, dtype=object), kind="stable")
        with atomic_path(path) as tmp:
            np.savez(tmp, ids=np.array(ids)[order], emb=values[order])
        identity = features_identity(settings, table, sample_rate, spec)
        path.with_suffix(".json").write_text(json.dumps(identity, indent=1, sort_keys=True))
        log.info("features %s: %s computed and cached at %s", spec, values.shape, path)
        return values
