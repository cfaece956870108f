"""`aqa select SWEEP_DIR | ENTITY/PROJECT/SWEEP_ID`: domain definer per aspect, every protocol side by side.

Writes `selection.yaml` ({aspect: {definer: DefinerConfig fields, model: swept per-aspect settings}}, for
`aqa train EXP.yaml domain.selection=...`), `selection.md` (every protocol's table, the shortcut row, the
paired comparisons) and `selection.png` (aspect x candidate heatmap of the chosen protocol).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml
from rich.console import Console

from aqa.config.train import SWEEPS_ROOT
from aqa.console import make_console
from aqa.sweep.protocols import AUTO, DEFAULT_PROTOCOL, PROTOCOLS, get_protocol

if TYPE_CHECKING:
    from aqa.sweep.ranking import AspectRanking


def selection_entry(ranking: AspectRanking) -> dict:
    """selection.yaml's entry for one aspect: the selected candidate's definer and per-aspect model settings."""
    from aqa.sweep.ranking import erm_entry

    if ranking.selected is None:
        return erm_entry()
    return ranking.selected.candidate.entry(ranking.aspect)


def probe_floors(records, aspects: list[str]) -> dict[str, dict[str, float]]:
    """{aspect: {chance, target (this aspect's MOS alone), all (every aspect's MOS)}}, means over trials."""

    def mean(key: str) -> float:
        values = [r.metrics[key] for r in records if isinstance(r.metrics.get(key), int | float)]
        values = [v for v in values if math.isfinite(v)]
        return float(np.mean(values)) if values else math.nan

    return {
        a: {
            "chance": mean(f"probe/{a}/dataset_chance"),
            "target": mean(f"probe/{a}/target_floor_acc"),
            "all": mean("probe/target_floor_acc"),
        }
        for a in aspects
    }


def select(
    source: str,
    out: str | Path | None = None,
    protocol: str = DEFAULT_PROTOCOL,
    console: Console | None = None,
    wandb: bool = False,
    write_selection: bool = True,
) -> dict[str, dict[str, AspectRanking]]:
    """Rank under every protocol, choose under `protocol`, write the three files into `out`, print the
    tables; returns {protocol: {aspect: AspectRanking}}. `write_selection` False: no selection.yaml (a
    screening stage whose verdicts still need confirming, aqa/sweep/confirm.py)."""
    from aqa.sweep.ranking import aspects_of, group, neutral_declared, rank, resolve_protocol  # (scipy)
    from aqa.sweep.records import offline_records, online_records
    from aqa.sweep.report import (
        console_notes,
        heatmap,
        kept_notes,
        markdown,
        power_lines,
        probe_notes,
        rich_tables,
        shortcut_notes,
        verdict,
    )
    from aqa.wandb_io import log_report, sweep_target

    console = console or make_console()
    if protocol != AUTO and not get_protocol(protocol).choose_allowed:
        raise ValueError(f"protocol {protocol!r} is an upper bound and never chooses")
    if Path(source).is_dir():
        sweep, records, failed = offline_records(source)
        out = Path(out or source)
    else:
        sweep, records, failed = online_records(source)
        out = Path(out or SWEEPS_ROOT / source.replace("/", "-"))
    if not records:
        raise ValueError(f"{source}: no finished trials to select from")
    chosen, why = resolve_protocol(protocol, records)
    if chosen.name == "mixed" and not neutral_declared(records, chosen.stage):
        raise ValueError(
            f"protocol mixed: `{chosen.stage}` is not declared rated in one neutral listening test "
            f"(data.neutral_splits) in every trial's config"
        )
    protocol = chosen.name
    candidates = group(records)
    aspects = aspects_of(records)
    by_protocol = {name: rank(candidates, aspects, p) for name, p in PROTOCOLS.items()}
    rankings = by_protocol[protocol]
    if not any(r.rows for r in rankings.values()):
        hint = " (too few clips per val source? see val/<ASPECT>/within_sources and metrics.min_source_clips)"
        raise ValueError(
            f"{source}: no trial has a finite {chosen.key('<ASPECT>')} (protocol {protocol})"
            + (hint if protocol == "within" else "")
        )
    selection = {a: selection_entry(r) for a, r in rankings.items() if r.rows}
    name = f" ({sweep['name']})" if sweep.get("name") else ""
    note = f"Source: `{source}`{name}; {len(records)} finished trials, {failed} failed. Protocol: {why}."
    varied = {
        k for c in candidates for k, v in c.global_settings().items() if v != candidates[0].params.get(k)
    }
    ignored = sorted(varied)
    if ignored:
        note += (
            f" Swept settings that belong to no single aspect (not in selection.yaml): {', '.join(ignored)}."
        )
    floors = probe_floors(records, aspects)
    out.mkdir(parents=True, exist_ok=True)
    header = f"# aqa select {source}: definer per aspect, protocol {protocol} ({chosen.key('<A>')})\n"
    if write_selection:
        (out / "selection.yaml").write_text(header + yaml.safe_dump(selection, sort_keys=False))
    (out / "selection.md").write_text(markdown(by_protocol, protocol, floors, note))
    heatmap({a: r for a, r in rankings.items() if r.rows}, out / "selection.png")
    for table in rich_tables(by_protocol, protocol, floors):
        console.print(table)
    for r in rankings.values():
        console.print(verdict(r))
    for line in power_lines(rankings):
        console.print(line)
    for line in shortcut_notes(by_protocol):
        console.print(f"[yellow]{line}[/]")
    for line in console_notes(probe_notes(rankings)) + console_notes(kept_notes(rankings)):
        console.print(f"[yellow]warning: {line}[/]")
    console.print(note)
    written = ["selection.yaml"] if write_selection else []
    for file in (*written, "selection.md", "selection.png"):
        console.print(f"wrote {out / file}")
    log_report(
        "selection",
        out,
        {"selection/heatmap": out / "selection.png"},
        {"selection/ranking": [row for r in rankings.values() for row in r.rows]},
        [out / f for f in (*written, "selection.md")],
        wandb,
        **sweep_target(source),
    )
    return by_protocol


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aqa select", description=__doc__.splitlines()[0])
    parser.add_argument(
        "source", help="an `aqa sweep` directory, or a W&B sweep path entity/project/sweep_id"
    )
    choosers = [AUTO] + [n for n, p in PROTOCOLS.items() if p.choose_allowed]
    parser.add_argument(
        "--protocol",
        default=DEFAULT_PROTOCOL,
        choices=choosers,
        help="the one that chooses (auto: mixed if a neutral split is declared, else heldout with k >= 2 "
        "held-out sources, else within)",
    )
    parser.add_argument("--out", help="output folder (default: the sweep directory)")
    parser.add_argument("--wandb", action="store_true", help="log tables, heatmap and selection.yaml to W&B")
    args = parser.parse_args(argv)
    try:
        select(args.source, args.out, args.protocol, wandb=args.wandb)
    except (ValueError, FileNotFoundError) as err:
        Console(stderr=True).print(f"[red]aqa select:[/] {err}")
        return 2
    return 0
