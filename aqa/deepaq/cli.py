"""Command lines of DeePAQ mode (`aqa surrogate`, `aqa deepaq-eval`, `aqa deepaq-quick`): arguments are
parsed here, before the heavy imports (PyAV, ViSQOL, torch), so `--help` stays fast."""

import argparse
import json
import math
import os
import resource
import time
from pathlib import Path

from data_modules.surrogate import BITRATES, CODECS


def _doc(module: str) -> str:
    """The first line of a module's docstring, read without importing it."""
    import ast
    import importlib.util

    source = Path(importlib.util.find_spec(module).origin).read_text()
    return (ast.get_docstring(ast.parse(source)) or "").splitlines()[0]


def surrogate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="aqa surrogate", description=_doc("data_modules.surrogate.build"))
    parser.add_argument("input", help="folder of clean audio, or a CSV/JSONL manifest with `path`")
    parser.add_argument("--out", required=True, help="output folder (resumable: finished clips are kept)")
    parser.add_argument("--codecs", default=",".join(CODECS))
    parser.add_argument("--bitrates", default=",".join(map(str, BITRATES)), help="kbps, comma-separated")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument(
        "--splits", default="train=0.8,val=0.1,test=0.1", help="by reference; a manifest's own `split` wins"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from data_modules.surrogate.build import _ratios, build

    manifest, speed = build(
        args.input,
        args.out,
        [c for c in args.codecs.split(",") if c],
        [int(b) for b in args.bitrates.split(",") if b],
        args.workers,
        _ratios(args.splits),
        args.seed,
    )
    print(f"[aqa] surrogate manifest: {manifest}")
    print(json.dumps(speed))
    return 0


def deepaq_eval(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="aqa deepaq-eval", description=_doc("aqa.deepaq.evaluate"))
    parser.add_argument("checkpoint")
    parser.add_argument("manifest", help="CSV/JSONL with path, split, the target and the reference column")
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the stored config")
    parser.add_argument("--target", default="visqol", help="label column (MOS or ViSQOL)")
    parser.add_argument("--fit-split", default="val", help="split whose labels fit the mapping")
    parser.add_argument("--reference-column", default="reference")
    parser.add_argument("--references", help="mismatched-reference: folder/list of clean references")
    parser.add_argument(
        "--include-references", action="store_true", help="keep clips that are their own reference"
    )
    parser.add_argument("--save", help="write the checkpoint with the fitted mappings to this path")
    parser.add_argument("--out", help="also write the metrics to this JSON file")
    args = parser.parse_args(argv)
    from aqa.deepaq.evaluate import print_table, run, save_with_mappings

    metrics, mappings = run(
        args.checkpoint,
        args.manifest,
        args.overrides,
        args.target,
        args.fit_split,
        args.reference_column,
        args.references,
        args.include_references,
    )
    print_table(metrics)
    if args.save:
        print(f"[aqa] checkpoint with mappings: {save_with_mappings(args.checkpoint, mappings, args.save)}")
    if args.out:
        clean = {k: (None if not math.isfinite(v) else v) for k, v in metrics.items()}
        Path(args.out).write_text(json.dumps(clean, indent=2, sort_keys=True))
    return 0


def deepaq_quick(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="aqa deepaq-quick", description=_doc("aqa.deepaq.quick"))
    parser.add_argument("--out", default="runs/deepaq-quick", help="working folder (clean, surrogate, runs)")
    parser.add_argument(
        "--refs", type=int, default=14, help="clean references (1/4 test, 1/6 val, rest train)"
    )
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("overrides", nargs="*", help="key=value overrides for both trainings (e.g. caches)")
    args = parser.parse_args(argv)
    from aqa.deepaq.quick import quick

    started = time.time()
    report = quick(
        Path(args.out), args.refs, args.seconds, args.epochs, args.workers, args.seed, args.overrides
    )
    report["seconds"]["total_s"] = round(time.time() - started, 1)
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    report["seconds"]["cpu_s"] = round(sum(u.ru_utime + u.ru_stime for u in usage), 1)  # this + workers
    print(json.dumps(report, indent=2))
    (Path(args.out) / "deepaq_quick.json").write_text(json.dumps(report, indent=2))
    return 0
