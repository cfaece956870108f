"""The data side of `aqa prepare` (build the audio cache ahead) and `aqa validate` (check a manifest and its
audio). Each takes the `data:` section and the encoder's sample rate; `aqa.data_commands` parses the
command line and the experiment config (data never imports the application)."""

from rich.console import Console
from rich.markup import escape


def prepare_cache(data_cfg, rate: int, console: Console) -> int:
    """Decode, check and cache every clip of the manifest at `rate` (reused by all runs); exit code."""
    from data_modules.audio import AudioCache
    from data_modules.manifest import load_table
    from data_modules.usable import DataError, check_clips, enforce_skip_limit

    if not data_cfg.cache:
        console.print("data.cache is false: there is no cache to build")
        return 1
    table = load_table(data_cfg)
    cache = AudioCache(data_cfg.cache_dir, rate)
    threads = max(1, int(data_cfg.num_workers))
    lengths, skipped = check_clips(
        table, list(data_cfg.aspects), cache, threads=threads, description="caching audio"
    )
    hours = lengths[lengths > 0].sum() / rate / 3600
    console.print(f"cached {int((lengths >= 0).sum())} clip(s), {hours:.2f} h at {rate} Hz in {cache.dir}")
    try:
        summary = enforce_skip_limit(skipped, len(table), float(data_cfg.max_skip_fraction))
        console.print(summary, markup=False, highlight=False, soft_wrap=True)
    except DataError as err:
        console.print(f"[red]error:[/red] {escape(str(err))}", soft_wrap=True)
        return 1
    return 0


def validate_data(data_cfg, rate: int, console: Console, more_checks=None) -> int:
    """Print a report of every problem of the manifest and its audio; 1 if training would stop.
    `more_checks()` -> [Problem] runs when the data itself is fine (aqa adds the domain definers').
    A manifest that cannot be read at all raises its UserError (aqa/cli.py prints it, exit 2)."""
    from data_modules.validate import print_report, validate_manifest

    report = validate_manifest(data_cfg, rate)
    if report.ok and more_checks is not None:
        report.problems += more_checks()
    print_report(report, console)
    return 0 if report.ok else 1
