"""`aqa deepaq-eval CHECKPOINT MANIFEST`: reference distances of a manifest's clips, a distance->MOS mapping
(cubic, MLP) fitted on one split, and PCC(lcc)/SRCC/KTAU/MSE at utterance and system level on the others,
before (score = -distance) and after mapping. `--save OUT.ckpt` stores the mappings in a copy of the
checkpoint (plain lists under `aqa_deepaq_mapping`), which `aqa predict --reference-column` then applies.

Clips that are their own reference (distance 0 by construction) are left out unless --include-references.
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rich.console import Console
from rich.table import Table

from aqa.deepaq.mapping import apply_mapping, fit_mappings
from aqa.deepaq.score import MAPPING_KEY, clean_set, distances, reference_paths
from aqa.metrics.scores import METRICS, pair_metrics


def level_metrics(
    score: np.ndarray, target: np.ndarray, systems: np.ndarray, prefix: str
) -> dict[str, float]:
    """Utterance and system level (mean per system of score and of target) metrics under `prefix/`."""
    out = {f"{prefix}/utt_{k}": v for k, v in pair_metrics(score, target).items()}
    frame = pd.DataFrame({"s": score, "t": target, "g": systems}).groupby("g").mean()
    out |= {
        f"{prefix}/sys_{k}": v for k, v in pair_metrics(frame["s"].to_numpy(), frame["t"].to_numpy()).items()
    }
    return out


def evaluate_distances(
    table: pd.DataFrame, dist: np.ndarray, target: str, fit_split: str, seed: int = 0
) -> tuple[dict[str, float], dict]:
    """Fits the mappings on `fit_split` rows, scores every other split; -> (metrics, mappings)."""
    y = pd.to_numeric(table[target], errors="coerce").to_numpy(np.float64)
    split = table["split"].astype(str).to_numpy()
    fit = split == fit_split
    if not fit.any():
        raise ValueError(
            f"no rows of split {fit_split!r} to fit the mapping on (splits: {sorted(set(split))})"
        )
    mappings = fit_mappings(dist[fit], y[fit], seed)
    systems = (
        table["system"].astype(str).to_numpy() if "system" in table else table["id"].astype(str).to_numpy()
    )
    metrics = {}
    for name in sorted(set(split)):
        rows = split == name
        metrics |= level_metrics(-dist[rows], y[rows], systems[rows], f"{name}/raw")
        for kind, mapping in mappings.items():
            metrics |= level_metrics(
                apply_mapping(mapping, dist[rows]), y[rows], systems[rows], f"{name}/{kind}"
            )
    for key in [k for k in metrics if k.endswith("/raw/utt_mse") or k.endswith("/raw/sys_mse")]:
        metrics[key] = math.nan  # -distance is not on the MOS scale
    return metrics, mappings


def print_table(metrics: dict[str, float]) -> None:
    table = Table(title="DeePAQ reference-distance scores (raw = -distance)")
    table.add_column("split/mapping")
    cols = [f"{lvl}_{m}" for lvl in ("utt", "sys") for m in METRICS]
    for c in cols:
        table.add_column(c, justify="right")
    for prefix in sorted({k.rsplit("/", 1)[0] for k in metrics}):
        table.add_row(prefix, *[f"{metrics.get(f'{prefix}/{c}', math.nan):.3f}" for c in cols])
    Console().print(table)


def run(
    checkpoint,
    manifest,
    overrides=(),
    target="visqol",
    fit_split="val",
    reference_column="reference",
    references=None,
    include_references=False,
    seed=0,
):
    """-> (metrics, mappings) of a checkpoint (a path) or of (module, cfg, sample_rate) already built."""
    from aqa.training.checkpoint import load_checkpoint  # noqa: PLC0415

    loaded = checkpoint if isinstance(checkpoint, tuple) else load_checkpoint(checkpoint, list(overrides))
    module, cfg, sample_rate = loaded
    manifest = Path(manifest)
    table = pd.read_csv(manifest) if manifest.suffix == ".csv" else pd.read_json(manifest, lines=True)
    table["path"] = [
        str(p if Path(p).is_absolute() else (manifest.parent / p).resolve()) for p in table["path"]
    ]
    for col in ("split", target):
        if col not in table:
            raise ValueError(f"{manifest}: needs a {col!r} column")
    if not include_references and reference_column in table:
        own = reference_paths(table, reference_column, manifest.parent)
        table = table[[p != r for p, r in zip(table["path"], own, strict=True)]].reset_index(drop=True)
    refs = None if references else reference_paths(table, reference_column, manifest.parent)
    clean = clean_set(references) if references else None
    dist = distances(module, cfg, sample_rate, table["path"].tolist(), refs, clean)
    metrics, mappings = evaluate_distances(table, dist, target, fit_split, seed)
    return metrics, mappings


def save_with_mappings(checkpoint, mappings: dict, out) -> Path:
    from aqa.training.checkpoint import read_checkpoint

    state = read_checkpoint(checkpoint)
    state[MAPPING_KEY] = mappings
    torch.save(state, out)
    Path(out).with_suffix(".mapping.json").write_text(json.dumps(mappings, indent=1))
    return Path(out)
