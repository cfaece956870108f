"""Selection outputs: one table per protocol (with the shortcut row), paired comparisons per aspect,
markdown, the heatmap, and narrow rich tables for the terminal."""

import math
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from aqa.metrics.references import ENCODER_PROBE, REFERENCES, below_probe, reference_key
from aqa.metrics.shortcut import PREFIX as SHORTCUT_PREFIX
from aqa.sweep.ranking import AspectRanking, Candidate, Paired, Row
from aqa.sweep.stats import ALPHA, POWER, Interval
from aqa.training.strategy import kept_lambda_key

SHORTCUT_LABEL = REFERENCES[SHORTCUT_PREFIX]
BELOW_PROBE = "below probe"  # a candidate that does not beat the linear probe on its own encoder's features
RULE = (
    "Selection rule: a candidate is selected for an aspect only when its paired difference has a "
    f"simultaneous one-sided lower bound above zero (family-wise alpha {ALPHA} over every candidate x "
    "aspect; clip bootstrap within source + seeds, Dunnett-type critical value) against ERM (`none`) AND "
    "against the random control (matched on the aspect's handling and lambda: each lambda is its own "
    "candidate), each run with the same other settings on the same seeds (n >= 2; folds "
    "are averaged within a seed, never counted as seeds); no other pairing is made. Among several, the "
    "largest mean gain over ERM, ties to the simpler definer. Controls are never selected. Otherwise `none` "
    "is selected."
)


def pm(mean: float, ci: float) -> str:
    if not math.isfinite(mean):
        return ""
    return f"{mean:.3f} ± {ci:.3f}" if math.isfinite(ci) else f"{mean:.3f} (n=1)"


def delta(p: Paired | None, n: int | None = None) -> str:
    """`+0.050 ± 0.004`, with the number of pairs when it differs from `n` (or `n` is not given)."""
    if p is None:
        return ""
    ci = f" ± {p.ci:.3f}" if math.isfinite(p.ci) else ""
    return f"{p.mean:+.3f}{ci}" + (f" (n={p.n})" if p.n != n else "")


def bound(i: Interval | None, n: int | None = None) -> str:
    """`+0.050 (>= +0.012)`: mean paired difference and its simultaneous lower bound (n when it differs)."""
    if i is None:
        return ""
    low = f" (≥ {i.lower:+.3f})" if math.isfinite(i.lower) else ""
    return f"{i.mean:+.3f}{low}" + (f" n={i.n}" if i.n != n else "")


def power_lines(rankings: dict[str, AspectRanking]) -> list[str]:
    """Per aspect: the minimum detectable effect at the measured spread (printed in every report)."""
    lines = []
    for a, r in rankings.items():
        tested = r.tested
        if not tested:
            why = r.note or "no candidate has 2 or more seeds paired with ERM"
            lines.append(f"{a}: minimum detectable effect: none computed ({why})")
            continue
        i = tested[0]
        clips = "clip sampling + seeds" if r.clips else f"seeds only: {r.note or 'clip sampling left out'}"
        lines.append(
            f"{a}: minimum detectable effect {r.mde:.3f} (median over {len(tested)} candidates; "
            f"{POWER:.0%} power, family-wise alpha {ALPHA} over {i.family} comparisons, critical "
            f"{i.critical:.2f}, df {i.df:.0f}; {clips}): smaller true gains over ERM are likely missed"
        )
    return lines


def num(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else ""


def verdict(r: AspectRanking) -> str:
    """One line: what was selected for the aspect under this protocol, and why."""
    if not r.protocol.choose_allowed:
        return f"{r.aspect}: {r.protocol.name} is an upper bound, never used to choose"
    if r.selected is None and not r.rows:
        return f"{r.aspect}: no trial has {r.protocol.key(r.aspect)}"
    if not r.chooses:
        return f"{r.aspect}: {r.note}"
    if r.selected is None:
        return f"{r.aspect}: no ERM (`none`) trials to compare with: no definer beat ERM, none selected"
    if r.no_winner:
        above = [
            x for x in r.rows if x.vs_erm is not None and x.vs_erm.above_zero and not x.candidate.is_control
        ]
        if above:
            return (
                f"{r.aspect}: no definer beat both ERM and the random control ({above[0].candidate.label} "
                f"beat ERM but not the control{': ' + above[0].control_note if above[0].control_note else ''}): "
                "none selected"
            )
        return f"{r.aspect}: no definer beat ERM: none selected"
    s = r.selected
    return (
        f"{r.aspect}: {s.candidate.label} beat ERM by {bound(s.vs_erm)} and the random control by "
        f"{bound(s.vs_control)}: selected"
    )


def reference_value(candidates: list[Candidate], prefix: str, key: str) -> float:
    """A reference predictor's score on `key`, mean over the candidates' trials (NaN if not logged)."""
    values = [v for c in candidates for v in c.values(reference_key(prefix, key))]
    return float(sum(values) / len(values)) if values else math.nan


def probe_of(row: Row, key: str) -> float:
    """The linear probe on the candidate's own frozen encoder, scored on `key` over its trials."""
    return reference_value([row.candidate], ENCODER_PROBE, key)


def is_below_probe(row: Row, key: str) -> bool:
    return below_probe(row.mean, probe_of(row, key), key.rsplit("/", 1)[-1])


def reference_lines(candidates: list[Candidate], keys: list[str]) -> list[list[str]]:
    """One row per reference predictor except the source lookup: its mean score on each key."""
    return [
        [label, *[num(reference_value(candidates, prefix, k)) for k in keys]]
        for prefix, label in REFERENCES.items()
        if prefix != SHORTCUT_PREFIX
    ]


def _mark(row: Row, key: str) -> str:
    marks = ["*" if row.selected else ""]
    if row.candidate.is_control:
        marks.append("control")
    if is_below_probe(row, key):
        marks.append(BELOW_PROBE)
    if row.probe_unmoved:
        marks.append("probe unmoved")
    return " ".join(m for m in marks if m)


def _labels(rankings: dict[str, AspectRanking]) -> list[Candidate]:
    seen: dict[str, Candidate] = {}
    for r in rankings.values():
        for row in r.rows:
            seen.setdefault(row.candidate.label, row.candidate)
    return sorted(seen.values(), key=Candidate.simplicity)


def _protocol_cells(rankings: dict[str, AspectRanking]) -> tuple[list[str], list[list[str]]]:
    """Rows of one protocol's table: candidate, then `mean ± CI` per aspect; the shortcut row last."""
    aspects = list(rankings)
    lines = []
    for c in _labels(rankings):
        cells = [c.label]
        for a in aspects:
            row = next((r for r in rankings[a].rows if r.candidate.label == c.label), None)
            if row is None:
                cells.append("")
                continue
            marks = (" *" if row.selected else "") + (" <" if is_below_probe(row, _key(rankings[a])) else "")
            cells.append(pm(row.mean, row.ci) + marks)
        lines.append(cells)
    shortcut = [SHORTCUT_LABEL]
    for a in aspects:
        r = rankings[a]
        shortcut.append(num(r.shortcut) + (" !" if r.shortcut_flagged else ""))
    lines.append(shortcut)
    candidates = _labels(rankings)
    lines += reference_lines(candidates, [_key(rankings[a]) for a in aspects])
    return ["candidate", *aspects], lines


def _paired_cells(r: AspectRanking, narrow: bool = False) -> tuple[list[str], list[list[str]]]:
    """Per candidate: n, mean ± CI, paired Δ (≥ simultaneous lower bound) vs ERM and vs the random control,
    the MDE, test_ood, the probe and its paired change vs ERM, and why a comparison was refused.
    `narrow` (the terminal) leaves out mean and ood: the protocol tables have them."""
    header = ["candidate", "n", "mean ± CI", "Δ vs ERM", "Δ vs random", "MDE", "ood", "probe", "Δ probe", ""]
    lines = []
    for row in r.rows:
        refused = "; ".join(n for n in (row.erm_note, row.control_note) if n)
        lines.append(
            [
                row.candidate.label,
                str(row.n),
                pm(row.mean, row.ci),
                bound(row.vs_erm, row.n),
                bound(row.vs_control, row.n),
                num(row.vs_erm.mde) if row.vs_erm is not None else "",
                num(row.ood),
                num(row.probe),
                delta(row.probe_vs_erm, row.n),
                " ".join(m for m in (_mark(row, _key(r)), refused) if m),
            ]
        )
    if narrow:
        keep = [i for i, column in enumerate(header) if column not in ("mean ± CI", "ood")]
        header, lines = [header[i] for i in keep], [[cells[i] for i in keep] for cells in lines]
    return header, lines


def shortcut_notes(by_protocol: dict[str, dict[str, AspectRanking]]) -> list[str]:
    notes = []
    for name, rankings in by_protocol.items():
        flagged = [a for a, r in rankings.items() if r.shortcut_flagged]
        if flagged:
            notes.append(
                f"protocol {name}: the source-lookup predictor (no audio) scores above zero and within ERM's "
                f"CI or above on {', '.join(flagged)}: this protocol rewards the dataset shortcut there"
            )
    return notes


def _key(r: AspectRanking) -> str:
    return r.protocol.key(r.aspect)


def probe_notes(rankings: dict[str, AspectRanking]) -> list[str]:
    """One line per (aspect, candidate) of one protocol that does not beat its own encoder's linear probe."""
    notes = []
    for a, r in rankings.items():
        for row in r.rows:
            if is_below_probe(row, _key(r)):
                notes.append(
                    f"{a}: {row.candidate.label} scores {_key(r)} {row.mean:.3f}, not above the linear probe "
                    f"on its frozen encoder's features ({probe_of(row, _key(r)):.3f})"
                )
    return notes


def kept_notes(rankings: dict[str, AspectRanking]) -> list[str]:
    """One line per (aspect, adversarial candidate) with trials whose kept checkpoint predates the adversary
    (`strategy/<A>/lambda_kept` 0, e.g. kept before the warm-up ended): those trials measured ERM."""
    notes = []
    for a, r in rankings.items():
        for row in r.rows:
            kept = row.candidate.values(kept_lambda_key(a))
            off = sum(v == 0 for v in kept)
            if off and row.candidate.strength(a)[1] > 0:
                notes.append(
                    f"{a}: {row.candidate.label}: the adversary was off (lambda 0) at the kept checkpoint in "
                    f"{off} of {len(kept)} trials, which measured ERM there (more epochs, or a shorter "
                    "model.adversary.warmup_fraction)"
                )
    return notes


def console_notes(notes: list[str], per_aspect: int = 2) -> list[str]:
    """Notes (`<A>: ...` each) for the console: the first `per_aspect` of each aspect, then one line that
    counts the rest (selection.md lists every one). A quickstart grid otherwise prints ~40 warning lines."""
    by_aspect: dict[str, list[str]] = {}
    for note in notes:
        by_aspect.setdefault(note.split(":", 1)[0], []).append(note)
    out = []
    for aspect, lines in by_aspect.items():
        out += lines[:per_aspect]
        if len(lines) > per_aspect:
            out.append(f"{aspect}: {len(lines) - per_aspect} more like these (selection.md lists them)")
    return out


def md_table(header: list[str], lines: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return out + ["| " + " | ".join(cells) + " |" for cells in lines]


def markdown(by_protocol: dict[str, dict[str, AspectRanking]], chosen: str, floors: dict, note: str) -> str:
    """The whole report: verdicts, one table per protocol with the shortcut row, paired comparisons."""
    lines = [f"# Domain definer per aspect (protocol `{chosen}`)", "", note, "", RULE, ""]
    lines += [f"- {verdict(r)}" for r in by_protocol[chosen].values()]
    lines += [""] + [f"- {line}" for line in power_lines(by_protocol[chosen])]
    lines += [""] + [f"- **{n}**" for n in shortcut_notes(by_protocol)]
    lines += [f"- {BELOW_PROBE}: {n}" for n in probe_notes(by_protocol[chosen])]
    lines += [f"- adversary off: {n}" for n in kept_notes(by_protocol[chosen])]
    for name, rankings in by_protocol.items():
        protocol = next(iter(rankings.values())).protocol
        lines += ["", f"## Protocol `{name}`: {protocol.description}", ""]
        lines += [
            f"Key `{protocol.key('<A>')}`; mean ± 95% CI (t) over seeds; `*` selected; `!` the source-lookup "
            "predictor scores above zero and within ERM's CI or above; `<` not above the linear probe on the "
            "candidate's own frozen encoder (ridge fitted on train); blank: not logged, or undefined "
            "(constant predictions)."
        ]
        lines += [""] + md_table(*_protocol_cells(rankings))
        for aspect, r in rankings.items():
            lines += ["", f"### {name} / {aspect}", "", verdict(r), ""]
            lines += [line for line in power_lines({aspect: r})] + [""]
            lines += md_table(*_paired_cells(r))
    lines += ["", "## Domain probe floors (dataset ID from val embeddings)", ""]
    lines += [
        "`probe`: accuracy of a logistic probe predicting the source dataset from each aspect's val "
        "embedding; `Δ probe`: paired change vs ERM (`probe unmoved`: an adversary whose change covers 0). "
        "Floors: chance (majority class) and the same probe on the MOS targets alone (no audio).",
        "",
    ]
    header = ["aspect", "chance", "targets alone (this aspect)", "targets alone (all aspects)"]
    lines += md_table(
        header, [[a, num(f["chance"]), num(f["target"]), num(f["all"])] for a, f in floors.items()]
    )
    return "\n".join(lines) + "\n"


def _rich(title: str, header: list[str], lines: list[list[str]], caption: str = "") -> Table:
    table = Table(title=title, caption=caption or None, title_justify="left")
    table.add_column(header[0], overflow="fold", max_width=28)
    for column in header[1:]:
        table.add_column(column, justify="right")
    for cells in lines:
        style = "bold green" if cells[-1].startswith("*") else None  # the paired tables' mark column
        if cells[0] in REFERENCES.values():
            style = "yellow"
        table.add_row(*[escape(c) for c in cells], style=style)
    return table


def rich_tables(by_protocol: dict[str, dict[str, AspectRanking]], chosen: str, floors: dict) -> list:
    """Narrow terminal output: one table per protocol, then the chosen protocol's paired tables."""
    out = []
    for name, rankings in by_protocol.items():
        protocol = next(iter(rankings.values())).protocol
        role = "chooses" if name == chosen else ("never chooses" if not protocol.choose_allowed else "shown")
        caption = (
            f"{protocol.description}; * selected, ! the shortcut scores > 0 and within ERM's CI or above, "
            "< below the candidate's own encoder probe"
        )
        out.append(_rich(f"{name} ({role}): {protocol.key('<A>')}", *_protocol_cells(rankings), caption))
    for aspect, r in by_protocol[chosen].items():
        f = floors.get(aspect, {})
        caption = (
            f"Δ: mean paired difference (≥ simultaneous lower bound), paired over seeds, folds averaged within "
            f"a seed; probe floors: chance {num(f.get('chance', math.nan))}, "
            f"targets alone {num(f.get('target', math.nan))}"
        )
        out.append(
            _rich(f"{aspect} ({chosen}): paired vs ERM and the random control", *_paired_cells(r), caption)
        )
    return out


def heatmap(rankings: dict[str, AspectRanking], path: str | Path) -> None:
    """Aspect x candidate heatmap of the chosen protocol's mean; the selected cell is outlined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Rectangle

    labels = [c.label for c in _labels(rankings)]
    aspects = list(rankings)
    grid = np.full((len(aspects), max(1, len(labels))), np.nan)
    cells = [(i, labels.index(r.candidate.label), r) for i, a in enumerate(aspects) for r in rankings[a].rows]
    for i, j, row in cells:
        grid[i, j] = row.mean
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(labels), 1.0 + 0.6 * len(aspects)))
    image = ax.imshow(grid, cmap="viridis", aspect="auto")
    for i, j, row in cells:
        color = "black" if image.norm(row.mean) > 0.6 else "white"  # readable on light and dark cells
        ax.text(j, i, f"{row.mean:.3f}", ha="center", va="center", fontsize=8, color=color)
        if row.selected:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5))
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(aspects)), aspects)
    protocol = next(iter(rankings.values())).protocol
    ax.set_title(f"{protocol.key('<A>')}, mean over seeds (red: selected)", fontsize=9)
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
