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
from typing import TYPE_CHECKING

from aqa.training.devices import DEVICES, PRECISIONS
from data_modules.atomic import atomic_path

if TYPE_CHECKING:  # pandas/torch are imported where they are used: `aqa predict --help` stays fast
    import pandas as pd

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".opus", ".mp3"}
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
    parser.add_argument("--out", help="write rows to this file: .jsonl or .csv (default: JSONL on stdout)")
    parser.add_argument(
        "--domain", help="a trained domain name for conditioned/bias aspects (default: neutral)"
    )
    return parser


def input_table(source: str | Path) -> pd.DataFrame:
    """The inputs (id, path, optional start/end, ...) from a CSV/JSONL list (ids kept as written) or a
    folder of audio (id = path relative to the folder, sorted)."""
    import pandas as pd

    from data_modules.manifest.columns import ID, PATH
    from data_modules.manifest.readers import read_audio_list

    source = Path(source)
    if source.is_dir():
        paths = sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        if not paths:
            raise FileNotFoundError(f"no audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) under {source}")
        return pd.DataFrame({ID: [str(p.relative_to(source)) for p in paths], PATH: [str(p) for p in paths]})
    if source.suffix.lower() not in (".jsonl", ".csv"):
        raise ValueError(f"input must be a .jsonl/.csv list or a folder of audio, got {source}")
    table = read_audio_list(source)
    duplicated = table[ID][table[ID].duplicated()]
    if len(duplicated):
        raise ValueError(
            f"{source}: duplicate ids {duplicated.tolist()[:5]} (rows without an `id` use their path: "
            "add an `id` column to score several segments of one file)"
        )
    return table


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
    rows = predict(
        args.checkpoint, args.input, args.overrides, args.batch_size, args.device, args.precision, args.domain
    )
    with _writer(args.out) as write:
        for row in rows:
            write(row)
    return 0
