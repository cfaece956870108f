"""Reference-distance scores: the L2 distance between a clip's DeePAQ embedding (the first aspect's pooled
output, 256-d under `model.pooling: deepaq`) and a reference embedding.

- full-reference: each clip's own reference (a manifest column, default `reference`, paths relative to the
  manifest's folder);
- mismatched-reference: the mean embedding of a set of clean references (a folder or a list of files).
A mapping stored in the checkpoint (`aqa deepaq-eval --save`) turns distances into MOS.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rich.console import Console
from rich.progress import Progress

from aqa.deepaq.mapping import apply_mapping
from aqa.metrics.rows import EvalRows, combine_windows
from data_modules.manifest.inputs import AUDIO_SUFFIXES, input_table

MAPPING_KEY = "aqa_deepaq_mapping"  # checkpoint entry: {"cubic": {...}, "mlp": {...}} (plain lists)


@torch.inference_mode()
def embed_paths(module, cfg, sample_rate: int, paths: list[str]) -> np.ndarray:
    """Unique audio paths -> (N, D) float64 embeddings (window embeddings averaged by their weights)."""
    from data_modules.datamodule import AQADataModule  # noqa: PLC0415

    aspects = list(cfg.data.aspects)
    table = input_table_from_paths(paths, aspects, input_table)
    loader = AQADataModule(cfg.data, table, sample_rate, aspects).eval_loader(table)
    device = next(module.parameters()).device
    rows = EvalRows()
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("embedding", total=len(loader))
        for batch in loader:
            out = module(batch["audio"].to(device), batch["lengths"].to(device))
            rows.add(batch, out.preds, out.features)
            progress.advance(task)
    clips = combine_windows(rows.frame(aspects), aspects).set_index("id")
    missing = [p for p in table["id"] if p not in clips.index]
    if missing:
        raise ValueError(f"unusable audio (skipped by the data module): {missing[:5]}")
    return np.stack([clips.at[p, "_feature"][0] for p in table["id"]]).astype(np.float64)


def input_table_from_paths(paths: list[str], aspects: list[str], input_table) -> pd.DataFrame:
    """A predict table whose ids are the paths themselves."""
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "paths.csv"
        pd.DataFrame({"id": paths, "path": paths}).to_csv(listing, index=False)
        return input_table(listing)


def reference_paths(table: pd.DataFrame, column: str, manifest_dir: Path) -> list[str]:
    if column not in table:
        raise ValueError(f"no reference column {column!r} in the input (columns: {list(table.columns)})")
    missing = table[column].isna()
    if missing.any():
        raise ValueError(f"column {column!r} is empty for rows {table['id'][missing].tolist()[:5]}")
    return [str(p if Path(p).is_absolute() else (manifest_dir / p).resolve()) for p in table[column]]


def clean_set(references: str | Path) -> list[str]:
    """A folder of audio or a CSV/JSONL list (`path`) -> absolute paths of the clean references."""
    references = Path(references)
    if references.is_dir():
        paths = sorted(str(p) for p in references.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    else:
        listing = (
            pd.read_csv(references) if references.suffix == ".csv" else pd.read_json(references, lines=True)
        )
        paths = [
            str(p if Path(p).is_absolute() else (references.parent / p).resolve()) for p in listing["path"]
        ]
    if not paths:
        raise FileNotFoundError(f"no clean references in {references}")
    return paths


def distances(
    module,
    cfg,
    sample_rate: int,
    paths: list[str],
    refs: list[str] | None = None,
    clean: list[str] | None = None,
) -> np.ndarray:
    """(N,) distances: to each clip's own reference (`refs`, full-reference) or to the mean embedding of
    `clean` (mismatched-reference). Every distinct file is embedded once."""
    if (refs is None) == (clean is None):
        raise ValueError(
            "give exactly one of: per-clip references (full-reference) or a clean set (mismatched)"
        )
    unique = list(dict.fromkeys(list(paths) + list(refs or clean)))
    emb = dict(zip(unique, embed_paths(module, cfg, sample_rate, unique), strict=True))
    clips = np.stack([emb[p] for p in paths])
    target = np.stack([emb[p] for p in refs]) if refs is not None else np.mean([emb[p] for p in clean], 0)
    return np.linalg.norm(clips - target, axis=-1)


def stored_mappings(checkpoint: str | Path) -> dict:
    """The distance -> MOS mappings saved in a checkpoint (plain lists; read with weights_only=True)."""
    from aqa.training.checkpoint import read_checkpoint

    if Path(checkpoint).is_dir():  # an `aqa export` folder carries no mapping
        return {}
    return read_checkpoint(checkpoint).get(MAPPING_KEY) or {}


def score_rows(checkpoint, source, overrides=(), reference_column: str | None = None, references=None):
    """`aqa predict --reference-column/--references`: yields {"id", "path", "distance", "mos_<kind>"...}."""
    from aqa.training.checkpoint import load_checkpoint  # noqa: PLC0415

    module, cfg, sample_rate = load_checkpoint(checkpoint, list(overrides))
    table = input_table(source)
    refs = reference_paths(table, reference_column, Path(source).parent) if reference_column else None
    clean = clean_set(references) if references else None
    dist = distances(module, cfg, sample_rate, table["path"].tolist(), refs, clean)
    mapped = {f"mos_{k}": apply_mapping(m, dist) for k, m in stored_mappings(checkpoint).items()}
    for i, (clip_id, path) in enumerate(zip(table["id"], table["path"], strict=True)):
        yield {"id": clip_id, "path": path, "distance": round(float(dist[i]), 6)} | {
            k: round(float(v[i]), 4) for k, v in mapped.items()
        }
