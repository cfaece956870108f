"""`aqa predict CHECKPOINT in.jsonl|in.csv|audio-dir [--out out.jsonl|out.csv]`: one row per input, in input
order, every aspect on the original scale; an input that cannot be scored gets a row whose `error` says why.
Inputs are decoded in memory (never into the training cache); long audio is scored in deterministic
windows (length-weighted mean). `start`/`end` or `start_time`/`end_time` (seconds) score a segment."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from aqa.training.devices import DEVICES, PRECISIONS
from data_modules.atomic import atomic_path

# pandas/torch are imported where they are used: `aqa predict --help` stays fast
OUTPUT_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv"}


def build_parser() -> argparse.ArgumentParser:
    """Every option of `aqa predict` (the one place they are declared)."""
    parser = argparse.ArgumentParser(prog="aqa predict", description=__doc__)
    parser.add_argument("checkpoint", help="a .ckpt written by `aqa train`")
    parser.add_argument(
        "input",
        help="a .jsonl/.csv list of files (column `path`; optional `id`, `start`/`end` or "
        "`start_time`/`end_time` in seconds) or a folder of audio",
    )
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the stored config")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="windows per batch (data.eval_batch_size)"
    )
    parser.add_argument(
        "--device", choices=DEVICES, default="auto", help="auto: the GPU when one is visible (default)"
    )
    parser.add_argument("--precision", choices=list(PRECISIONS), default="32", help="autocast precision")
    parser.add_argument("--reference-column", help="DeePAQ full-reference: distance to this column's file")
    parser.add_argument("--references", help="DeePAQ mismatched-reference: folder/list of clean references")
    parser.add_argument("--out", help="write rows to this file: .jsonl or .csv (default: JSONL on stdout)")
    parser.add_argument(
        "--domain", help="a trained domain name for conditioned/bias aspects (default: neutral)"
    )
    return parser


def predict(
    checkpoint: str | Path,
    source: str | Path,
    overrides: list[str] = (),
    batch_size: int | None = None,
    device: str = "auto",
    precision: str = "32",
    domain: str | None = None,
):
    """Yields {"id", "path", <aspect>: score | None, ..., "error": None | why} per input, in input order."""
    from rich.console import Console
    from rich.progress import Progress

    from aqa.training.predictor import Predictor, clips_from_table
    from data_modules.manifest.inputs import input_table

    overrides = list(overrides) + ([f"data.eval_batch_size={batch_size}"] if batch_size else [])
    table = input_table(source)
    predictor = Predictor.load(
        checkpoint, device=device, precision=precision, overrides=overrides, domain=domain
    )
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("scoring", total=len(table))
        for row in predictor.predict_clips(clips_from_table(table)):
            progress.advance(task)
            yield row


@contextmanager
def _writer(out: str | None):
    """`write(row)` to stdout (JSONL) or to `out` (.jsonl/.csv by extension; the file appears when done)."""
    if out is None:
        yield lambda row: sys.stdout.write(json.dumps(row) + "\n")
        return
    fmt = OUTPUT_FORMATS.get(Path(out).suffix.lower())
    if fmt is None:
        raise ValueError(f"--out {out}: use a .jsonl or .csv file name")
    with atomic_path(out) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        if fmt == "jsonl":
            yield lambda row: f.write(json.dumps(row) + "\n")
        else:
            writer = None

            def write(row):
                nonlocal writer
                if writer is None:
                    writer = csv.DictWriter(f, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)

            yield write


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.reference_column or args.references:  # DeePAQ scoring by reference distance (aqa/deepaq/score.py)
        from aqa.deepaq.score import score_rows

        overrides = list(args.overrides) + (
            [f"data.eval_batch_size={args.batch_size}"] if args.batch_size else []
        )
        rows = score_rows(args.checkpoint, args.input, overrides, args.reference_column, args.references)
    else:
        rows = predict(
            args.checkpoint,
            args.input,
            args.overrides,
            args.batch_size,
            args.device,
            args.precision,
            args.domain,
        )
    with _writer(args.out) as write:
        for row in rows:
            write(row)
    return 0
