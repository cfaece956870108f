"""`aqa validate`: check a manifest and its audio; count every problem and show the first offending rows."""

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from data_modules.audio import SKIP_REASONS, AudioCache
from data_modules.audio.errors import SKIP, WARN
from data_modules.manifest import Problem, read_manifest
from data_modules.manifest.paths import PLACEHOLDER
from data_modules.usable import check_clips

# audio / label problems that training skips (counted) or warns about; every other problem stops training
SKIPPED = tuple(r for r, reason in SKIP_REASONS.items() if reason.effect == SKIP)
WARNINGS = tuple(r for r, reason in SKIP_REASONS.items() if reason.effect == WARN)
MIN_SYSTEMS = 5  # fewer systems than this in a split: a system-level correlation has too few points


@dataclass
class Report:
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    splits: dict[str, tuple[int, int]] = field(default_factory=dict)  # split -> (rows, usable rows)
    notes: list[str] = field(default_factory=list)  # warnings about what the metrics can measure
    max_skip_fraction: float = 0.0

    @property
    def skipped(self) -> int:
        return sum(p.kind in SKIPPED for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        errors = [p for p in self.problems if p.kind not in SKIPPED + WARNINGS]
        if self.rows and self.skipped / self.rows > self.max_skip_fraction:
            errors.append(
                Problem(
                    "too_many_skips",
                    f"{self.skipped}/{self.rows} clips unusable > data.max_skip_fraction={self.max_skip_fraction:g}",
                )
            )
        return errors

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_manifest(cfg_data, sample_rate: int, progress: bool = True) -> Report:
    """Every problem of the manifest (labels, ids, splits) and of its audio (decoded once, cached)."""
    report = Report(max_skip_fraction=float(cfg_data.max_skip_fraction))
    table, report.problems = read_manifest(cfg_data)
    report.rows = len(table)
    if any(p.kind == "missing_aspect" for p in report.problems):
        return report
    aspects = list(cfg_data.aspects)
    partial = table[aspects].isna().any(axis=1) & table[aspects].notna().any(axis=1)
    for i in np.flatnonzero(partial.to_numpy()):
        missing = [a for a in aspects if pd.isna(table[a][i])]
        report.problems.append(_row_problem(table, i, "missing_mos", f"no MOS for {missing}"))
    cache = AudioCache(cfg_data.cache_dir if cfg_data.cache else None, sample_rate)
    threads = max(1, int(cfg_data.num_workers))
    lengths, skipped = check_clips(table, aspects, cache, progress=progress, threads=threads)
    for i, (_, path, reason) in zip(np.flatnonzero(lengths < 0), skipped):  # both in row order
        hint = " (set data.root to replace /your_path)" if path.startswith(PLACEHOLDER + "/") else ""
        report.problems.append(_row_problem(table, i, reason, SKIP_REASONS[reason].message + hint))
    usable = pd.Series(lengths >= 0, index=table.index)
    for split, rows in table.groupby("split").groups.items():
        report.splits[str(split)] = (len(rows), int(usable[rows].sum()))
    for split in (cfg_data.train_split, cfg_data.val_split):
        if report.splits.get(split, (0, 0))[1] == 0:
            report.problems.append(Problem("empty_split", f"split {split!r} has no usable rows"))
    report.notes = system_level_warnings(table, [cfg_data.val_split, *cfg_data.eval_splits])
    return report


def system_level_warnings(table: pd.DataFrame, splits: list[str]) -> list[str]:
    """One message per evaluated split whose system-level metrics (`sys_*`) degenerate: every system is a
    whole source dataset, or fewer than MIN_SYSTEMS systems."""
    messages = []
    for split in dict.fromkeys(splits):
        rows = table[table["split"] == split]
        if rows.empty:
            continue
        systems = rows.groupby("system")["dataset"].nunique()
        n_systems, n_datasets = len(systems), rows["dataset"].nunique()
        if n_datasets > 1 and (systems == 1).all() and n_systems == n_datasets:
            messages.append(
                f"split {split!r}: every system is a whole source dataset ({n_systems} systems = "
                f"{n_datasets} datasets), so {split}/*/sys_* is a correlation across source means, which a "
                "predictor that only knows the source can score; within_srcc and val_ood do not reward that"
            )
        elif n_systems < MIN_SYSTEMS:
            messages.append(
                f"split {split!r} has {n_systems} system(s) (< {MIN_SYSTEMS}): {split}/*/sys_* correlates "
                f"only {n_systems} system means and says little"
            )
    return messages


def _row_problem(table: pd.DataFrame, i: int, kind: str, what: str) -> Problem:
    id_, path = str(table["id"][i]), str(table["path"][i])
    return Problem(kind, f"row {i} (id {id_}, file {path}): {what}", row=int(i), id=id_, path=path)


def print_report(report: Report, console: Console, shown: int = 3) -> None:
    """Counts per problem (with what training does about it), the first offending rows, rows per split."""
    by_kind: dict[str, list[Problem]] = defaultdict(list)
    for p in report.problems + [p for p in report.errors if p.kind == "too_many_skips"]:
        by_kind[p.kind].append(p)
    splits = Table(title=f"{report.rows} rows per split")
    for col in ("split", "rows", "usable"):
        splits.add_column(col)
    for split, (n, ok) in sorted(report.splits.items()):
        splits.add_row(split, str(n), str(ok))
    console.print(splits)
    for note in report.notes:
        console.print(f"[yellow]warning:[/yellow] {escape(note)}", highlight=False, soft_wrap=True)
    if not by_kind:
        console.print("[green]no problems found[/green]")
        return
    counts = Table(title="problems")
    for col in ("problem", "count", "effect"):
        counts.add_column(col)
    for kind, items in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
        effect = SKIP_REASONS[kind].effect if kind in SKIP_REASONS else "error"
        counts.add_row(kind, str(len(items)), effect)
    console.print(counts)
    for kind, items in by_kind.items():
        console.print(f"[bold]{kind}[/bold] (first {min(shown, len(items))} of {len(items)}):")
        for p in items[:shown]:
            console.print(f"  {p.message}", markup=False, highlight=False, soft_wrap=True)
    verdict = "[green]OK for training[/green]" if report.ok else f"[red]{len(report.errors)} error(s)[/red]"
    console.print(f"{report.skipped} clip(s) would be skipped; {verdict}")
