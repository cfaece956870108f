"""`aqa generate`: write the generated MOS corpus (and print its shortcut report)."""

import argparse
import sys
import time
from dataclasses import fields
from pathlib import Path

from data_modules.corpus.config import RECIPES, CorpusConfig


def main(argv: list[str] | None = None) -> int:
    defaults = {f.name: f.default for f in fields(CorpusConfig)}
    parser = argparse.ArgumentParser(
        prog="aqa generate",
        description="Generate the embedded MOS corpus (audio + manifest.jsonl + hidden truth.csv).",
    )
    parser.add_argument(
        "--out",
        help=f"write into this folder (default: a cached folder per settings under {defaults['dir']})",
    )
    parser.add_argument("--size", type=int, default=defaults["size"], help="number of clips, all splits")
    parser.add_argument("--seed", type=int, default=defaults["seed"])
    parser.add_argument("--sample-rate", type=int, default=defaults["sample_rate"])
    parser.add_argument("--seconds", type=float, default=defaults["seconds"], help="nominal clip length")
    parser.add_argument(
        "--recipe",
        choices=RECIPES,
        default=defaults["recipe"],
        help="default, or known (the known-answer corpus: answers.json, oracle manifest, design gates)",
    )
    parser.add_argument(
        "--workers", type=int, help="processes (default: all cores); output does not depend on it"
    )
    parser.add_argument("--report", action="store_true", help="print clips per split and shortcut strengths")
    parser.add_argument(
        "--probe", action="store_true", help="print how findable the fingerprints are (slower)"
    )
    args = parser.parse_args(argv)
    from data_modules.corpus.generate import ensure_corpus, generate_corpus  # (numpy) not for `--help`
    from data_modules.corpus.report import format_report, load_corpus

    cfg = CorpusConfig(
        size=args.size,
        seed=args.seed,
        sample_rate=args.sample_rate,
        seconds=args.seconds,
        recipe=args.recipe,
    )
    start = time.perf_counter()
    try:
        if args.out:
            manifest = generate_corpus(args.out, cfg, workers=args.workers)
        else:
            manifest = ensure_corpus(cfg, workers=args.workers)
    except (FileExistsError, ValueError) as err:
        print(f"aqa generate: error: {err}", file=sys.stderr)
        return 1
    print(
        f"corpus: {manifest} ({time.perf_counter() - start:.1f} s, including any reuse of a finished corpus)"
    )
    if args.report or args.probe:
        clips = load_corpus(Path(manifest).parent)
        print(format_report(clips))
        if args.recipe == "known":
            from data_modules.corpus.gates import format_gates, load_known

            print("\n" + format_gates(load_known(Path(manifest).parent)))
    if args.probe:
        from data_modules.corpus.probe import format_probe

        print("\n" + format_probe(clips, Path(manifest).parent))
    return 0
