"""`aqa select SWEEP_DIR | ENTITY/PROJECT/SWEEP_ID`: best domain definer per aspect on validation data.

Writes `selection.yaml` ({aspect: DefinerConfig fields}, for `aqa train EXP.yaml domain.selection=...`),
`selection.md` (tables) and `selection.png` (aspect x definer heatmap).
"""

import argparse
import copy
from pathlib import Path

import yaml
from rich.console import Console

from aqa.console import make_console
from aqa.sweep.ranking import aspects_of, goal_of, group, rank_aspect
from aqa.sweep.records import offline_records, online_records
from aqa.sweep.report import heatmap, markdown, rich_tables
from aqa.wandb_io import log_report, sweep_target

DEFAULT_METRIC = "sys_srcc"
DEFAULT_TOLERANCE = 0.005  # means closer than this to the best are a tie (the simpler definer wins)


def select(
    source: str,
    out: str | Path | None = None,
    metric: str = DEFAULT_METRIC,
    tolerance: float = DEFAULT_TOLERANCE,
    console: Console | None = None,
    wandb: bool = False,
) -> dict:
    """Rank, write the three files into `out`, print the tables; returns {aspect: ranked rows}."""
    console = console or make_console()
    if Path(source).is_dir():
        sweep, records, failed = offline_records(source)
        out = Path(out or source)
    else:
        sweep, records, failed = online_records(source)
        out = Path(out or Path("runs/sweeps") / source.replace("/", "-"))
    if not records:
        raise ValueError(f"{source}: no finished trials to select from")
    candidates = group(records)
    goal = goal_of(metric)
    ranking = {a: rank_aspect(candidates, a, metric, goal, tolerance) for a in aspects_of(records, metric)}
    ranking = {a: rows for a, rows in ranking.items() if rows}
    if not ranking:
        raise ValueError(f"{source}: no trial has best/val/<ASPECT>/{metric}")
    # a fresh dict per aspect: yaml would write shared values as anchors
    selection = {
        a: copy.deepcopy(next(r for r in rows if r.selected).candidate.definer) for a, rows in ranking.items()
    }
    name = f" ({sweep['name']})" if sweep.get("name") else ""
    note = f"Source: `{source}`{name}; {len(records)} finished trials, {failed} failed."
    out.mkdir(parents=True, exist_ok=True)
    header = f"# aqa select {source}: best definer per aspect on best/val/<ASPECT>/{metric}\n"
    (out / "selection.yaml").write_text(header + yaml.safe_dump(selection, sort_keys=False))
    (out / "selection.md").write_text(markdown(ranking, metric, tolerance, note))
    heatmap(ranking, metric, out / "selection.png")
    for table in rich_tables(ranking, metric):
        console.print(table)
    console.print(note)
    for file in ("selection.yaml", "selection.md", "selection.png"):
        console.print(f"wrote {out / file}")
    log_report(
        "selection",
        out,
        {"selection/heatmap": out / "selection.png"},
        {"selection/ranking": [r for rows in ranking.values() for r in rows]},
        [out / "selection.yaml", out / "selection.md"],
        wandb,
        **sweep_target(source),
    )
    return ranking


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aqa select", description=__doc__.splitlines()[0])
    parser.add_argument(
        "source", help="an `aqa sweep` directory, or a W&B sweep path entity/project/sweep_id"
    )
    parser.add_argument("--metric", default=DEFAULT_METRIC, help="ranked as best/val/<ASPECT>/<metric>")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, help="tie margin on the mean")
    parser.add_argument("--out", help="output folder (default: the sweep directory)")
    parser.add_argument("--wandb", action="store_true", help="log tables, heatmap and selection.yaml to W&B")
    args = parser.parse_args(argv)
    try:
        select(args.source, args.out, args.metric, args.tolerance, wandb=args.wandb)
    except (ValueError, FileNotFoundError) as err:
        Console(stderr=True).print(f"[red]aqa select:[/] {err}")
        return 2
    return 0
