"""`aqa prepare` (build the audio cache ahead) and `aqa validate` (check a manifest and its audio)."""

import argparse

from rich.console import Console
from rich.markup import escape


def _parse(argv: list[str], prog: str, help_: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"aqa {prog}", description=help_)
    parser.add_argument("experiment", help="experiment YAML")
    parser.add_argument("overrides", nargs="*", help="key=value config overrides")
    return parser.parse_args(argv)


def _config(args):
    from aqa.config.load import load_config
    from aqa.model.encoder import encoder_sample_rate

    cfg = load_config(args.experiment, args.overrides)
    return cfg, encoder_sample_rate(cfg.model.encoder)


def prepare(argv: list[str]) -> int:
    """Decode, check and cache every clip of the manifest at the encoder's rate (reused by all runs)."""
    args = _parse(argv, "prepare", "build the decoded-waveform cache of an experiment's manifest")
    from data_modules.audio import AudioCache
    from data_modules.manifest import load_table
    from data_modules.usable import DataError, check_clips, enforce_skip_limit

    console = Console()
    cfg, rate = _config(args)
    if not cfg.data.cache:
        console.print("data.cache is false: there is no cache to build")
        return 1
    table = load_table(cfg.data)
    cache = AudioCache(cfg.data.cache_dir, rate)
    threads = max(1, int(cfg.data.num_workers))
    lengths, skipped = check_clips(
        table, list(cfg.data.aspects), cache, threads=threads, description="caching audio"
    )
    hours = lengths[lengths > 0].sum() / rate / 3600
    console.print(f"cached {int((lengths >= 0).sum())} clip(s), {hours:.2f} h at {rate} Hz in {cache.dir}")
    try:
        summary = enforce_skip_limit(skipped, len(table), float(cfg.data.max_skip_fraction))
        console.print(summary, markup=False, highlight=False, soft_wrap=True)
    except DataError as err:
        console.print(f"[red]error:[/red] {escape(str(err))}", soft_wrap=True)
        return 1
    return 0


def validate(argv: list[str]) -> int:
    """Print a report of every problem of the manifest, its audio and the domain definers; exit 1 if
    training would stop. Config errors (unknown key, missing manifest) are user errors (aqa/cli.py)."""
    args = _parse(argv, "validate", "check a manifest, its audio and the domain definers; print a report")
    from data_modules.validate import print_report, validate_manifest

    console = Console()
    cfg, rate = _config(args)
    report = validate_manifest(cfg.data, rate)
    if report.ok:  # the table loads: check what fitting the domain labels would refuse
        from aqa.definers.feasibility import definer_problems
        from data_modules.manifest import Problem, load_table

        report.problems += [Problem("domain_definer", m) for m in definer_problems(cfg, load_table(cfg.data))]
    print_report(report, console)
    return 0 if report.ok else 1
