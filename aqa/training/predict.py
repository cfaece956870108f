"""`aqa predict CHECKPOINT in.jsonl|in.csv|audio-dir > out.jsonl`: one JSON line per clip, every aspect on the
original scale; deterministic windows for long audio (length-weighted mean), batched, progress on stderr."""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rich.console import Console
from rich.progress import Progress

from aqa.metrics.rows import EvalRows, combine_windows
from aqa.training.checkpoint import load_checkpoint

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".opus", ".mp3"}


def input_table(source: str | Path, aspects: list[str]) -> pd.DataFrame:
    """A prediction table (id, path, ...) from a CSV/JSONL list of files or a folder of audio."""
    source = Path(source)
    if source.is_dir():
        paths = sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        if not paths:
            raise FileNotFoundError(f"no audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) under {source}")
        table = pd.DataFrame(
            {"id": [str(p.relative_to(source)) for p in paths], "path": [str(p) for p in paths]}
        )
    elif source.suffix.lower() in (".jsonl", ".csv"):
        table = pd.read_json(source, lines=True) if source.suffix.lower() == ".jsonl" else pd.read_csv(source)
        if "path" not in table:
            raise ValueError(f"{source}: needs a `path` column")
        table["path"] = [
            str(p if Path(p).is_absolute() else (source.parent / p).resolve()) for p in table["path"]
        ]
        table["id"] = table["id"].astype(str) if "id" in table else table["path"]
    else:
        raise ValueError(f"input must be a .jsonl/.csv list or a folder of audio, got {source}")
    if table["id"].duplicated().any():
        raise ValueError(f"duplicate ids in {source}: {table['id'][table['id'].duplicated()].tolist()[:5]}")
    table["split"] = "predict"
    table["system"] = table.get("system", table["id"]).astype(str)
    table["dataset"] = table.get("dataset", pd.Series(["unknown"] * len(table))).astype(str)
    for col in ("start", "end"):
        table[col] = pd.to_numeric(table[col], errors="coerce") if col in table else np.nan
    for a in aspects:
        table[a] = np.nan
        table[f"domain_{a}"] = 0
    return table


@torch.inference_mode()
def predict(
    checkpoint: str | Path, source: str | Path, overrides: list[str] = (), batch_size: int | None = None
):
    """Yields {"id", "path", <aspect>: score, ...} per clip, in input order."""
    from data_modules.datamodule import AQADataModule

    overrides = list(overrides) + ([f"data.eval_batch_size={batch_size}"] if batch_size else [])
    module, cfg, sample_rate = load_checkpoint(checkpoint, overrides)
    aspects = list(cfg.data.aspects)
    table = input_table(source, aspects)
    loader = AQADataModule(cfg.data, table, sample_rate, aspects).eval_loader(table)
    device = torch.device("cuda" if cfg.trainer.accelerator != "cpu" and torch.cuda.is_available() else "cpu")
    module.to(device)
    rows = EvalRows()
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("scoring", total=len(loader))
        for batch in loader:
            on_device = batch | {"audio": batch["audio"].to(device), "lengths": batch["lengths"].to(device)}
            rows.add(batch, module.predict_step(on_device, 0)["preds"])
            progress.advance(task)
    if not rows.ids:
        raise ValueError(f"no usable audio in {source}: every clip was skipped (see the warning above)")
    clips = combine_windows(rows.frame(aspects), aspects).set_index("id")
    for clip_id, path in zip(table["id"], table["path"], strict=True):
        if clip_id not in clips.index:
            continue  # unusable clip: reported by the data module on stderr
        yield {"id": clip_id, "path": path} | {
            a: round(float(clips.at[clip_id, f"pred_{a}"]), 4) for a in aspects
        }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="aqa predict", description=__doc__)
    parser.add_argument("checkpoint")
    parser.add_argument(
        "input", help="a .jsonl/.csv list of files (column `path`, optional `id`) or a folder"
    )
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the stored config")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--reference-column", help="DeePAQ full-reference: distance to this column's file")
    parser.add_argument("--references", help="DeePAQ mismatched-reference: folder/list of clean references")
    args = parser.parse_args(argv)
    if args.reference_column or args.references:  # DeePAQ scoring by reference distance (aqa/deepaq/score.py)
        from aqa.deepaq.score import score_rows  # noqa: PLC0415

        overrides = list(args.overrides) + (
            [f"data.eval_batch_size={args.batch_size}"] if args.batch_size else []
        )
        rows = score_rows(args.checkpoint, args.input, overrides, args.reference_column, args.references)
        for line in rows:
            sys.stdout.write(json.dumps(line) + "\n")
        return 0
    for line in predict(args.checkpoint, args.input, args.overrides, args.batch_size):
        sys.stdout.write(json.dumps(line) + "\n")
    return 0
