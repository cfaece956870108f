"""`aqa final SWEEP_DIR [--seeds 0,1,2] [--variant NAME:key=value,...]`: train the per-aspect final model
(the sweep's selection.yaml applied) over the sweep's seeds and measure it beside ERM and beside each
aspect's winning trial, paired over seeds, under the selection protocol.

Each variant is a small offline sweep in SWEEP_DIR/final/<variant>/ (rerun to resume) running the sweep's
own command with `domain.selection=SWEEP_DIR/selection.yaml`, the sweep's constant parameters and the
variant's overrides (e.g. `--variant projected:model.aspect_capacity=projected`). Writes final.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aqa.console import make_console
from aqa.sweep.protocols import AUTO, DEFAULT_PROTOCOL, PROTOCOLS, get_protocol

if TYPE_CHECKING:
    from aqa.sweep.ranking import Candidate

BASE_VARIANT = "final"  # the final model with the experiment's own settings (no extra overrides)


def parse_variant(text: str) -> tuple[str, list[str]]:
    """`name:key=value,key=value` -> (name, [key=value, ...])."""
    name, _, body = text.partition(":")
    overrides = [o for o in body.split(",") if o]
    if not name or not name.replace("-", "").replace("_", "").isalnum() or not overrides:
        raise ValueError(f"--variant {text!r}: expected NAME:key=value[,key=value...]")
    if bad := [o for o in overrides if "=" not in o]:
        raise ValueError(f"--variant {text!r}: overrides must look like key=value, got {bad}")
    return name, overrides


def _values(spec: dict) -> list:
    return list(spec["values"]) if "values" in spec else [spec["value"]] if "value" in spec else []


def final_sweep(
    sweep: dict, selection: Path, seeds: list[int] | None, overrides: list[str], name: str
) -> dict:
    """The grid over the sweep's seed-like parameters that trains the final model with `overrides`."""
    from aqa.sweep.ranking import (  # (scipy) not for --help
        SEED_KEYS,
    )

    params = sweep["parameters"]
    grid = {k: {"values": _values(params[k])} for k in SEED_KEYS if k in params and _values(params[k])}
    if seeds is not None:
        grid["seed"] = {"values": list(seeds)}
    if "seed" not in grid:
        raise ValueError("the sweep sweeps no `seed`: give --seeds 0,1,2")
    constant = [
        f"{k}={spec['value']}"
        for k, spec in params.items()
        if "value" in spec and k not in SEED_KEYS and not k.startswith("domain.definer")
    ]
    command = list(sweep["command"])
    at = command.index("${args_no_hyphens}")
    command[at:at] = [f"domain.selection={selection.resolve()}", *constant, *overrides]
    metric = sweep.get("metric", {"name": "val/mean/within_srcc", "goal": "maximize"})
    label = f"{sweep.get('name', 'sweep')}-{name}"
    sweep = {k: v for k, v in sweep.items() if k not in ("run_cap", "early_terminate", "description")}
    return {
        **sweep,
        "name": label,
        "method": "grid",
        "metric": metric,
        "command": command,
        "parameters": grid,
    }


def _row(
    label: str, c: Candidate, key: str, erm: Candidate | None, winner: Candidate | None, ood: str
) -> list:
    from aqa.metrics.references import ENCODER_PROBE, below_probe
    from aqa.sweep.ranking import (  # (scipy) not for --help
        mean_ci,
        paired,
    )
    from aqa.sweep.report import delta, num, pm, reference_value

    values = c.values(key)
    if not values:
        return [label, "0", "", "", "", ""]
    oods = c.values(ood)
    mean, ci = mean_ci(values)
    probe = reference_value([c], ENCODER_PROBE, key)
    return [
        label,
        str(len(values)),
        pm(mean, ci) + (f" < probe {probe:.3f}" if below_probe(mean, probe, key.rsplit("/", 1)[-1]) else ""),
        delta(paired(c, erm, key), len(values)) if erm is not None and c is not erm else "",
        delta(paired(c, winner, key), len(values)) if winner is not None and c is not winner else "",
        num(sum(oods) / len(oods)) if oods else "",
    ]


def report(sweep_dir: Path, variants: dict[str, Path], protocol: str) -> dict[str, list[list[str]]]:
    """{aspect: rows}: ERM, the aspect's winning trial and every final variant, paired over seeds."""
    from aqa.metrics.references import REFERENCES
    from aqa.sweep.ranking import Candidate, aspects_of, group, rank_aspect, resolve_protocol  # (scipy)
    from aqa.sweep.records import offline_records
    from aqa.sweep.report import num, reference_value

    _, records, _ = offline_records(sweep_dir)
    chosen, _ = resolve_protocol(protocol, records)
    candidates = group(records)
    finals = {}
    for name, directory in variants.items():
        _, trials, _ = offline_records(directory)
        finals[name] = Candidate({"variant": name}, trials)
    tables = {}
    for aspect in aspects_of(records):
        key, ood = chosen.key(aspect), PROTOCOLS["oracle"].key(aspect)
        ranking = rank_aspect(candidates, aspect, chosen)
        erm = ranking.erm.candidate if ranking.erm else None
        winner = ranking.selected.candidate if ranking.selected else None
        winner = None if winner is erm else winner  # ERM selected: "vs winner" would repeat "vs ERM"
        rows = []
        if erm is not None:
            rows.append(_row(f"ERM ({erm.label})", erm, key, None, None, ood))
        if winner is not None and winner is not erm:
            rows.append(_row(f"winning trial ({winner.label})", winner, key, erm, None, ood))
        for name, c in finals.items():
            rows.append(_row(f"{name} model", c, key, erm, winner, ood))
        everyone = [*candidates, *finals.values()]
        for prefix, label in REFERENCES.items():  # the source lookup, the train mean, the linear probes
            value, ood_value = reference_value(everyone, prefix, key), reference_value(everyone, prefix, ood)
            if num(value) or num(ood_value):  # a reference the trials did not log is left out
                rows.append([label, "", num(value), "", "", num(ood_value)])
        tables[aspect] = rows
    return tables


HEADER = ["model", "n", "mean ± CI", "Δ vs ERM", "Δ vs winner", "ood utt srcc"]


def final(
    sweep_dir: str | Path,
    seeds: list[int] | None = None,
    variants: list[tuple[str, list[str]]] = (),
    protocol: str = DEFAULT_PROTOCOL,
    console: Console | None = None,
) -> dict[str, list[list[str]]]:
    """Train every variant of the final model over the seeds, then print and write final.md."""

    from aqa.sweep.offline import run_sweep
    from aqa.sweep.state import SweepDir

    console = console or make_console()
    sweep_dir = Path(sweep_dir)
    selection = sweep_dir / "selection.yaml"
    if not selection.is_file():
        raise FileNotFoundError(f"{selection} not found: run `aqa select {sweep_dir}` first")
    sweep = SweepDir(sweep_dir).sweep()
    dirs = {}
    for name, overrides in [(BASE_VARIANT, []), *variants]:
        spec = final_sweep(sweep, selection, seeds, overrides, name)
        folder = sweep_dir / "final" / name
        folder.mkdir(parents=True, exist_ok=True)
        sweep_file = sweep_dir / "final" / f"{name}.yaml"
        sweep_file.write_text(yaml.safe_dump(spec, sort_keys=False))
        console.rule(f"final model: {name} {' '.join(overrides)}")
        if run_sweep(sweep_file, folder, console=console) != 0:
            raise RuntimeError(
                f"no trial of the final model {name!r} finished (see {folder}/trials/*/log.txt)"
            )
        dirs[name] = folder
    tables = report(sweep_dir, dirs, protocol)
    from aqa.sweep.ranking import resolve_protocol
    from aqa.sweep.records import offline_records

    protocol = resolve_protocol(protocol, offline_records(sweep_dir)[1])[0].name  # `auto` resolved
    key = get_protocol(protocol).key("<A>")
    lines = [f"# Final model vs ERM and each aspect's winning trial (`{key}`)", ""]
    lines += [
        f"Selection: `{selection}`. Paired differences over the same seeds (+folds): mean ± 95% t-CI; "
        "`ood` (test_ood) is shown, never used to choose. Reference rows: mean over every trial; "
        "`< probe P`: the model does not beat the linear probe on its own frozen encoder's features (P).",
        "",
    ]
    for aspect, rows in tables.items():
        table = Table(title=f"{aspect}: final model ({protocol}: {key.replace('<A>', aspect)})")
        table.add_column(HEADER[0], overflow="fold", max_width=34)
        for column in HEADER[1:]:
            table.add_column(column, justify="right")
        for cells in rows:
            table.add_row(*[escape(c) for c in cells])
        console.print(table)
        lines += [f"## {aspect}", "", "| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
        lines += ["| " + " | ".join(cells) + " |" for cells in rows] + [""]
    for aspect, rows in tables.items():
        for cells in rows:
            if "< probe" in cells[2]:
                console.print(
                    f"[yellow]warning: {aspect}: {escape(cells[0])} {cells[2]} (linear probe, encoder)[/]"
                )
    (sweep_dir / "final.md").write_text("\n".join(lines))
    console.print(f"wrote {sweep_dir / 'final.md'}")
    return tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aqa final", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", help="an `aqa sweep` directory on which `aqa select` has run")
    parser.add_argument("--seeds", help="comma-separated seeds (default: the sweep's seed values)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="an extra override set NAME:key=value,... (e.g. separate:model.aspect_capacity=separate)",
    )
    choosers = [AUTO] + [n for n, p in PROTOCOLS.items() if p.choose_allowed]
    parser.add_argument("--protocol", default=DEFAULT_PROTOCOL, choices=choosers)
    args = parser.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
        variants = [parse_variant(v) for v in args.variant]
        final(args.sweep_dir, seeds, variants, args.protocol)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        Console(stderr=True).print(f"[red]aqa final:[/] {err}")
        return 2
    return 0
