"""Confirmation stage: the screening's shortlist trained end to end on fresh seeds; only what it confirms is
selected (docs/quickstart_stages.md).

1. Shortlist (`shortlist`, lenient on purpose): per aspect, from the screening rankings of the chosen
   protocol, the non-control candidate with the largest mean gain over ERM among those whose unadjusted
   one-sided (1 - SCREEN_ALPHA) lower bound against ERM is above zero and whose mean beats the random
   control (the one it was paired with at screening). At most one per aspect.
2. Confirmation trials (`confirmation_sweep`): three deployments, each a selection file applied to every
   aspect at once (`domain.selection`), on fresh seeds: `shortlist` (each shortlisted aspect on its
   candidate, the others on ERM: the model that would be deployed), `erm` (every aspect on ERM) and
   `control` (each shortlisted aspect on the random control it was paired with at screening).
3. Verdict (`confirm`): per shortlisted aspect, the deployment against ERM and against the control, paired
   over the fresh seeds, with a fresh bootstrap resample of the same val clips (seed CONFIRM_BOOT_SEED) and the screening's
   statistics (aqa/sweep/stats.py: one family per reference over the shortlisted aspects). Confirmed only
   when both simultaneous lower bounds are above zero; `selection_file` lists confirmed candidates only.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy import stats as sps

from aqa.sweep import stats
from aqa.sweep.protocols import Protocol
from aqa.sweep.ranking import (
    TIE_DECIMALS,
    AspectRanking,
    Candidate,
    compare,
    erm_entry,
    mean_ci,
    measure,
    reference,
)
from aqa.sweep.records import TrialRecord
from aqa.sweep.report import bound, num

SCREEN_ALPHA = 0.2  # one-sided, unadjusted: a null candidate passes the screen about 20% of the time
CONFIRM_SEED_BASE = 1000  # confirmation seeds are 1000, 1001, ...: never a screening seed (0 .. N-1)
CONFIRM_BOOT_SEED = 1  # the screening's clip resample is drawn with seed 0 (ranking.rank's default)
VARIANTS = ("shortlist", "erm", "control")  # the deployments of a confirmation seed
SELECTION_KEY = "domain.selection"


@dataclass
class Shortlisted:
    """One aspect's screening outcome: the shortlisted candidate (None: nothing passed) and why."""

    aspect: str
    candidate: Candidate | None
    control: Candidate | None  # the random control it was paired with at screening
    vs_erm: stats.Interval | None  # its screening comparisons (simultaneous bounds of the screening family)
    vs_control: stats.Interval | None
    lower: float  # its unadjusted one-sided (1 - SCREEN_ALPHA) lower bound against ERM at screening
    mde: float  # the aspect's median screening MDE (80% power, family-wise alpha)
    why: str = ""


def unadjusted_lower(i: stats.Interval, alpha: float = SCREEN_ALPHA) -> float:
    """mean - t_(1 - alpha, df) * se: the comparison's own one-sided bound, no multiplicity correction."""
    if not (math.isfinite(i.se) and i.n >= 2):
        return math.nan
    return float(i.mean - sps.t.ppf(1 - alpha, i.df) * i.se)


def shortlist(rankings: dict[str, AspectRanking], alpha: float = SCREEN_ALPHA) -> dict[str, Shortlisted]:
    """{aspect: Shortlisted} from the screening rankings of the choosing protocol (module text, step 1)."""
    out = {}
    for aspect, r in rankings.items():
        controls = [row.candidate for row in r.rows if row.candidate.is_control]
        passed = []
        for row in r.rows:
            if row.candidate.is_erm or row.candidate.is_control or row.vs_erm is None:
                continue
            lower = unadjusted_lower(row.vs_erm, alpha)
            if not (lower > 0 and row.vs_control is not None and row.vs_control.mean > 0):
                continue
            control, _ = reference(row.candidate, controls, control=True, aspect=aspect)
            if control is not None:
                passed.append((row, lower, control))
        if not r.chooses or not passed:
            why = r.note if not r.chooses else "no candidate passed the screen"
            out[aspect] = Shortlisted(aspect, None, None, None, None, math.nan, r.mde, why)
            continue
        best = max(round(row.vs_erm.mean, TIE_DECIMALS) for row, _, _ in passed)
        tied = [p for p in passed if round(p[0].vs_erm.mean, TIE_DECIMALS) == best]
        row, lower, control = min(tied, key=lambda p: p[0].candidate.simplicity())
        out[aspect] = Shortlisted(
            aspect, row.candidate, control, row.vs_erm, row.vs_control, lower, r.mde, f"{len(passed)} passed"
        )
    return out


def deployments(short: dict[str, Shortlisted]) -> dict[str, dict]:
    """{variant: selection file content}: every aspect listed (ERM where nothing is shortlisted)."""
    picked = {a: s for a, s in short.items() if s.candidate is not None}
    return {
        "shortlist": {a: picked[a].candidate.entry(a) if a in picked else erm_entry() for a in short},
        "erm": {a: erm_entry() for a in short},
        "control": {a: picked[a].control.entry(a) if a in picked else erm_entry() for a in short},
    }


def confirm_seeds(n: int, screening_seeds: list) -> list[int]:
    """n fresh seeds, disjoint from the screening's."""
    seeds = list(range(CONFIRM_SEED_BASE, CONFIRM_SEED_BASE + n))
    if clash := sorted(set(seeds) & {int(s) for s in screening_seeds}):
        raise ValueError(
            f"confirmation seeds {clash} were screening seeds: the confirmation needs fresh ones"
        )
    return seeds


def confirmation_sweep(command: list[str], files: dict[str, Path], seed: int, name: str) -> dict:
    """A grid over the deployment files at one seed, running `command` (with `${args_no_hyphens}`)."""
    return {
        "name": f"{name}-seed{seed}",
        "description": "confirmation: the shortlisted deployment, ERM and the random control at one fresh seed",
        "method": "grid",
        "metric": {"name": "val/mean/within_srcc", "goal": "maximize"},
        "command": list(command),
        "parameters": {
            SELECTION_KEY: {"values": [str(files[v].resolve()) for v in VARIANTS]},
            "seed": {"values": [seed]},
        },
    }


def prepare(
    root: Path, short: dict[str, Shortlisted], command: list[str], seeds: list[int], name: str
) -> dict[int, Path]:
    """Write the three selection files into ROOT/<digest>/ (the digest of the deployments and the command:
    a rerun with the same shortlist resumes there, more seeds add to it) and one sweep file per seed
    -> {seed: its sweep file}; the seed's sweep directory is the file's path without `.yaml`."""
    files_content = deployments(short)
    digest = hashlib.sha1(
        json.dumps([files_content, list(command)], sort_keys=True, default=str).encode()
    ).hexdigest()[:10]
    folder = root / digest
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for variant, content in files_content.items():
        files[variant] = folder / f"{variant}.yaml"
        files[variant].write_text(
            f"# confirmation deployment `{variant}` (aqa/sweep/confirm.py)\n"
            + yaml.safe_dump(content, sort_keys=False)
        )
    sweeps = {}
    for seed in seeds:
        sweeps[seed] = folder / f"seed{seed}.yaml"
        sweeps[seed].write_text(
            yaml.safe_dump(confirmation_sweep(command, files, seed, name), sort_keys=False)
        )
    return sweeps


def run_sweeps(sweep_files: list[Path], jobs: int, console) -> int:
    """Run each sweep file with its own `aqa sweep` controller (a subprocess in this process group: Ctrl-C
    stops its trials, a rerun resumes them), up to `jobs` at once; each trial gets cores // jobs torch
    threads unless OMP_NUM_THREADS is set. Returns the number of sweeps whose controller failed."""
    from concurrent.futures import ThreadPoolExecutor

    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // max(1, jobs))))

    def run(file: Path) -> int:
        log = file.with_suffix(".log")
        command = [sys.executable, "-m", "aqa.cli", "sweep", str(file), "--dir", str(file.with_suffix(""))]
        with open(log, "w") as out:
            code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
        colour = "green" if code == 0 else "red"
        console.print(f"[{colour}]{file.stem}: aqa sweep exit {code}[/] (log {log})")
        return code

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        codes = list(pool.map(run, sweep_files))
    return sum(code != 0 for code in codes)


def records_of(sweep_files: list[Path]) -> list[TrialRecord]:
    """The finished confirmation trials of every seed's sweep directory."""
    from aqa.sweep.records import offline_records

    records = []
    for file in sweep_files:
        if (file.with_suffix("") / "sweep.yaml").is_file():
            records += offline_records(file.with_suffix(""))[1]
    return records


class Deployment(Candidate):
    """The trials of one confirmation deployment (shortlist, erm or control)."""

    @property
    def label(self) -> str:
        return str(self.params["variant"])


def variant_of(record: TrialRecord) -> str:
    """The deployment a confirmation trial ran: the stem of its `domain.selection` file."""
    path = record.params.get(SELECTION_KEY) or (record.config.get("domain") or {}).get("selection")
    return Path(str(path)).stem


@dataclass
class Confirmed:
    """One shortlisted aspect after confirmation."""

    aspect: str
    shortlisted: Shortlisted
    erm: tuple[float, float]  # ERM's mean ± 95% t half-width over the confirmation seeds
    deployed: tuple[float, float]  # the same for the shortlist deployment
    vs_erm: stats.Interval | None
    vs_control: stats.Interval | None
    note: str = ""  # why a comparison is missing

    @property
    def confirmed(self) -> bool:
        return bool(
            self.vs_erm is not None
            and self.vs_erm.above_zero
            and self.vs_control is not None
            and self.vs_control.above_zero
        )


def confirm(
    records: list[TrialRecord],
    short: dict[str, Shortlisted],
    protocol: Protocol,
    n_boot: int = stats.N_BOOT,
    boot_seed: int = CONFIRM_BOOT_SEED,
    alpha: float = stats.ALPHA,
) -> dict[str, Confirmed]:
    """{shortlisted aspect: Confirmed} from the confirmation trials (module text, step 3)."""
    groups = {v: Deployment({"variant": v}, [r for r in records if variant_of(r) == v]) for v in VARIANTS}
    picked = [a for a, s in short.items() if s.candidate is not None]
    m = measure(records, list(short), protocol, n_boot, boot_seed)
    sign = 1.0 if protocol.goal == "maximize" else -1.0
    families: dict[str, list] = {"vs_erm": [], "vs_control": []}
    out = {}
    for aspect in picked:

        def summary(group: Deployment, a: str = aspect) -> tuple[float, float]:
            values = [m.point(t, a) for t in group.trials]
            values = [v for v in values if math.isfinite(v)]
            return mean_ci(values) if values else (math.nan, math.nan)

        result = Confirmed(
            aspect, short[aspect], summary(groups["erm"]), summary(groups["shortlist"]), None, None
        )
        notes = []
        for which, ref in (("vs_erm", groups["erm"]), ("vs_control", groups["control"])):
            if not ref.trials or not groups["shortlist"].trials:
                notes.append(f"{which}: no finished {ref.label} or shortlist trials")
                continue
            comparison, note = compare(groups["shortlist"], ref, m, aspect, sign)
            if note:
                notes.append(f"{which}: {note}")
            if comparison is not None:
                families[which].append((result, comparison))
        result.note = "; ".join(notes)
        out[aspect] = result
    for which, members in families.items():
        for (result, _), interval in zip(members, stats.simultaneous([c for _, c in members], alpha)):
            setattr(result, which, interval)
    if not m.clips and m.note:
        for result in out.values():
            result.note = "; ".join(x for x in (result.note, m.note) if x)
    return out


def selection_file(short: dict[str, Shortlisted], confirmed: dict[str, Confirmed]) -> dict:
    """selection.yaml: a confirmed aspect's candidate, ERM for every other aspect."""
    return {
        a: s.candidate.entry(a) if a in confirmed and confirmed[a].confirmed else erm_entry()
        for a, s in short.items()
    }


def median_mde(confirmed: dict[str, Confirmed]) -> float:
    values = [
        c.vs_erm.mde for c in confirmed.values() if c.vs_erm is not None and math.isfinite(c.vs_erm.mde)
    ]
    return float(np.median(values)) if values else math.nan


# ---- the two stages' tables (rows of strings, for the terminal and stages.md) ----
SHORTLIST_HEADER = ["aspect", "shortlisted", "Δ vs ERM (≥ unadj.)", "Δ vs random", "screen MDE", "note"]
CONFIRM_HEADER = [
    "aspect",
    "candidate",
    "ERM",
    "deployed",
    "Δ vs ERM (≥)",
    "Δ vs random (≥)",
    "MDE",
    "verdict",
]


def shortlist_rows(short: dict[str, Shortlisted]) -> list[list[str]]:
    rows = []
    for a, s in short.items():
        if s.candidate is None:
            rows.append([a, "none", "", "", num(s.mde), s.why])
            continue
        vs_erm = f"{s.vs_erm.mean:+.3f} (≥ {s.lower:+.3f})"
        rows.append(
            [
                a,
                s.candidate.label,
                vs_erm,
                f"{s.vs_control.mean:+.3f}" if math.isfinite(s.vs_control.mean) else "",
                num(s.mde),
                s.why,
            ]
        )
    return rows


def confirm_rows(confirmed: dict[str, Confirmed]) -> list[list[str]]:
    rows = []
    for a, c in confirmed.items():
        mde = num(c.vs_erm.mde) if c.vs_erm is not None else ""
        verdict = "confirmed" if c.confirmed else "not confirmed" + (f" ({c.note})" if c.note else "")
        rows.append(
            [
                a,
                c.shortlisted.candidate.label,
                f"{num(c.erm[0])} ± {num(c.erm[1])}",
                f"{num(c.deployed[0])} ± {num(c.deployed[1])}",
                bound(c.vs_erm),
                bound(c.vs_control),
                mde,
                verdict,
            ]
        )
    return rows


def power_line(confirmed: dict[str, Confirmed]) -> str:
    """The confirmation's minimum detectable effect at its measured spread."""
    tested = [c.vs_erm for c in confirmed.values() if c.vs_erm is not None and math.isfinite(c.vs_erm.mde)]
    if not tested:
        return "confirmation: minimum detectable effect: none computed (fewer than 2 paired seeds)"
    i = tested[0]
    clips = "clip sampling + seeds" if i.clips else "seeds only (no per-clip predictions)"
    return (
        f"confirmation: minimum detectable effect {median_mde(confirmed):.3f} (median over {len(tested)} "
        f"aspects; {stats.POWER:.0%} power, family-wise alpha {stats.ALPHA} over {i.family} comparisons, "
        f"critical {i.critical:.2f}, df {i.df:.0f}, {i.n} fresh seeds; {clips}): smaller true gains over ERM "
        "are likely missed"
    )
