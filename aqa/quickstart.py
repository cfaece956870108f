"""`aqa quickstart`: which domain definer helps which MOS aspect, on the generated corpus, screened then confirmed.

`aqa quickstart [--dir DIR] [--seeds N] [--definers a,b] [--jobs N] [--confirm-seeds N] [--screen-only]
[--waveform] [key=value ...]` generates the corpus, then runs two stages (docs/quickstart_stages.md):

1. screening: the offline grid `sweeps/quickstart_grid.yaml` (every definer x seed, 20 seeds; screening
   trials on the frozen encoder's layer cache unless --waveform), ranked by `aqa select` under the default
   protocol (every protocol's table, the shortcut row, paired comparisons against ERM and the random
   control, minimum detectable effects; selection.md and selection.png in DIR/sweep/, no selection.yaml),
   then a lenient shortlist: at most one candidate per aspect (aqa/sweep/confirm.py);
2. confirmation: the shortlist deployed on every aspect at once (the final model), ERM and the random
   control trained end to end (the experiment's LoRA encoder) on fresh seeds, compared with a fresh bootstrap
   resample of the same val clips and the same statistics; only a confirmed candidate enters DIR/selection.yaml.
"""

import argparse
import copy
import os
from pathlib import Path

import yaml
from rich.markup import escape
from rich.table import Table

from aqa.config.screening import SCREENING  # the screening trials' overrides unless --waveform
from aqa.config.train import RUNS_ROOT
from aqa.console import make_console
from aqa.sweep.command import load_sweep

REPO = Path(__file__).resolve().parents[1]
GRID = REPO / "sweeps" / "quickstart_grid.yaml"
SCREEN_SEEDS = 20  # screening seeds 0 .. 19
JOBS = min(2, os.cpu_count() or 1)  # trials at once (screening workers, confirmation controllers)
CONFIRM_SEEDS = 4  # seeds 1000 .. 1003 x 3 deployments = 12 waveform trials; with --jobs 2 as long as 3 seeds


def quickstart_sweep(
    sweep: dict, seeds: int | None = None, definers: list[str] | None = None, overrides: list[str] = ()
) -> dict:
    """The quickstart grid narrowed to `seeds` (0..N-1) and `definers` (by name), with fixed `overrides`
    placed before `${args_no_hyphens}` and the experiment path made absolute (runs from any folder)."""
    sweep = copy.deepcopy(sweep)
    params = sweep["parameters"]
    if seeds is not None:
        params["seed"] = {"values": list(range(seeds))}
    if definers is not None:
        values = [v for v in params["domain.definer"]["values"] if v["name"] in definers]
        unknown = set(definers) - {v["name"] for v in values}
        if unknown:
            raise ValueError(f"no definer named {sorted(unknown)} in the quickstart grid")
        params["domain.definer"]["values"] = values
    command = sweep["command"]
    experiment = next(i for i, word in enumerate(command) if word.endswith(".yaml"))
    command[experiment] = str((REPO / command[experiment]).resolve())
    at = command.index("${args_no_hyphens}")
    command[at:at] = list(overrides)
    return sweep


def _table(title: str, header: list[str], rows: list[list[str]], caption: str = "") -> Table:
    table = Table(title=title, caption=caption)
    for i, column in enumerate(header):
        table.add_column(column, justify="left" if i < 2 else "right", overflow="fold")
    for cells in rows:
        table.add_row(*[escape(c) for c in cells])
    return table


def _md(title: str, header: list[str], rows: list[list[str]], lines: list[str]) -> list[str]:
    """A stages.md section: title, the table (a `|` inside a cell written `/`), then `lines`."""
    from aqa.sweep.report import md_table

    table = md_table(header, [[c.replace("|", "/") for c in cells] for cells in rows])
    return [f"## {title}", "", *table, "", *lines]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aqa quickstart", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir", default=str(RUNS_ROOT / "quickstart"), help="output folder (rerun to resume)"
    )
    parser.add_argument(
        "--seeds", type=int, default=SCREEN_SEEDS, help=f"screening seeds (default {SCREEN_SEEDS})"
    )
    parser.add_argument("--definers", help="comma-separated definer names (default: all in the sweep file)")
    parser.add_argument(
        "--waveform",
        action="store_true",
        help="screen with end-to-end trials on the waveform (the experiment's LoRA encoder): slow",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=JOBS,
        help=f"trials at once in both stages (default {JOBS}; each trial uses cores / jobs threads)",
    )
    parser.add_argument(
        "--confirm-seeds",
        type=int,
        default=CONFIRM_SEEDS,
        help=f"fresh seeds of the confirmation (default {CONFIRM_SEEDS}; 3 waveform trials each)",
    )
    parser.add_argument("--screen-only", action="store_true", help="stop after the shortlist")
    parser.add_argument("overrides", nargs="*", help="key=value overrides for every trial of both stages")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.jobs < 1 or args.confirm_seeds < 0:
        parser.error("--seeds and --jobs need at least 1, --confirm-seeds at least 0")
    from aqa.config import load_config
    from aqa.sweep import confirm as stage

    if args.seeds > stage.CONFIRM_SEED_BASE:
        parser.error(
            f"--seeds {args.seeds}: screening seeds 0..N-1 must stay below the confirmation's fresh "
            f"seeds ({stage.CONFIRM_SEED_BASE}, ...)"
        )
    from aqa.sweep.offline import run_sweep
    from aqa.sweep.protocols import DEFAULT_PROTOCOL
    from aqa.sweep.ranking import resolve_protocol
    from aqa.sweep.records import offline_records
    from aqa.sweep.select import select
    from data_modules.corpus.generate import ensure_corpus

    console = make_console()
    out = Path(args.dir)
    definers = args.definers.split(",") if args.definers else None
    # trials write no W&B runs unless asked (logger.wandb=true): an offline W&B run per trial only costs time
    # screening by default: the per-aspect model on the frozen encoder's layer cache, in-process trials
    # (docs/screening.md); the experiment's LoRA settings are LoraConfig's defaults, which screening accepts
    common = ["logger.wandb=false", *args.overrides]
    screening = [] if args.waveform else list(SCREENING)
    grid = load_sweep(GRID)
    try:
        sweep = quickstart_sweep(grid, args.seeds, definers, [*common[:1], *screening, *common[1:]])
    except ValueError as err:  # an unknown definer name
        parser.error(str(err))
    out.mkdir(parents=True, exist_ok=True)
    (out / "selection.yaml").unlink(missing_ok=True)  # an earlier run's selection never outlives this one
    sweep_file = out / "quickstart_grid.yaml"
    sweep_file.write_text(yaml.safe_dump(sweep, sort_keys=False))

    experiment = next(word for word in sweep["command"] if word.endswith(".yaml"))
    console.rule("1. generated corpus")
    console.print(f"manifest: {ensure_corpus(load_config(experiment, common).data.corpus)}")
    console.rule(f"2. screening: every definer x {args.seeds} seeds (offline sweep)")
    if run_sweep(sweep_file, out / "sweep", console=console, jobs=args.jobs) != 0:
        return 1
    console.rule("3. screening verdicts: every protocol, paired against ERM (validation only)")
    by_protocol = select(str(out / "sweep"), console=console, write_selection=False)
    protocol, _ = resolve_protocol(DEFAULT_PROTOCOL, offline_records(out / "sweep")[1])
    short = stage.shortlist(by_protocol[protocol.name])
    rule = (
        f"shortlist (lenient; {protocol.name}): per aspect the candidate with the largest mean gain over ERM "
        f"among those whose unadjusted one-sided {1 - stage.SCREEN_ALPHA:.0%} bound vs ERM is above 0 and "
        "whose mean beats the random control"
    )
    rows = stage.shortlist_rows(short)
    console.print(_table("screening -> shortlist", stage.SHORTLIST_HEADER, rows, rule))
    report = [f"# aqa quickstart {out}: screen -> confirm", ""]
    report += _md("Screening shortlist", stage.SHORTLIST_HEADER, rows, [rule, ""])
    if args.screen_only:
        (out / "stages.md").write_text("\n".join(report))
        console.print(f"--screen-only: stopped before the confirmation; wrote {out / 'stages.md'}")
        return 0

    console.rule("4. confirmation: the shortlist end to end on fresh seeds")
    confirmed = {}
    if not any(s.candidate is not None for s in short.values()):
        console.print("confirmation: no aspect has a shortlisted candidate: nothing to train; ERM everywhere")
        report += ["## Confirmation", "", "No aspect has a shortlisted candidate: nothing trained.", ""]
    else:
        seeds = stage.confirm_seeds(args.confirm_seeds, sweep["parameters"]["seed"]["values"])
        command = quickstart_sweep(grid, overrides=common)["command"]
        files = list(stage.prepare(out / "confirm", short, command, seeds, "quickstart-confirm").values())
        console.print(
            f"{len(seeds)} fresh seeds x {len(stage.VARIANTS)} deployments ({', '.join(stage.VARIANTS)}), "
            f"waveform trials, {args.jobs} at once: {files[0].parent}"
        )
        if stage.run_sweeps(files, args.jobs, console):
            return 1
        records = stage.records_of(files)
        confirmed = stage.confirm(records, short, protocol)
        rows = stage.confirm_rows(confirmed)
        caption = (
            f"{protocol.key('<A>')} over seeds {seeds[0]}..{seeds[-1]}, clip resample seed "
            f"{stage.CONFIRM_BOOT_SEED}; Δ: mean paired difference (≥ simultaneous lower bound over the "
            "shortlisted aspects); confirmed: both bounds above 0"
        )
        console.print(_table("confirmation (waveform, LoRA)", stage.CONFIRM_HEADER, rows, caption))
        power = stage.power_line(confirmed)
        console.print(power)
        report += _md(
            f"Confirmation ({files[0].parent})",
            stage.CONFIRM_HEADER,
            rows,
            [caption, "", power, ""],
        )
    selection = stage.selection_file(short, confirmed)
    header = f"# aqa quickstart {out}: confirmed candidates only (ERM elsewhere); docs/quickstart_stages.md\n"
    (out / "selection.yaml").write_text(header + yaml.safe_dump(selection, sort_keys=False))
    (out / "stages.md").write_text("\n".join(report))
    for a, e in selection.items():
        console.print(
            f"{a}: {e['definer']['name']}"
            + (" (confirmed)" if a in confirmed and confirmed[a].confirmed else "")
        )
    console.print(f"wrote {out / 'selection.yaml'} and {out / 'stages.md'}")
    console.print(f"next: aqa train {experiment} domain.selection={out / 'selection.yaml'}")
    return 0
