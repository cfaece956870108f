"""Selection outputs: markdown tables, an aspect x candidate heatmap, and rich tables for the terminal."""

import math
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from aqa.sweep.ranking import Row, beside_keys


def _pm(mean: float, ci: float) -> str:
    return f"{mean:.3f} ± {ci:.3f}" if math.isfinite(ci) else f"{mean:.3f} (n=1)"


def _beside_columns(ranking: dict[str, list[Row]], metric: str) -> list[str]:
    """The test/OOD/probe columns that at least one row has."""
    return [k for k in beside_keys(metric) if any(k in r.beside for rows in ranking.values() for r in rows)]


def _cells(row: Row, columns: list[str]) -> list[str]:
    beside = [f"{row.beside[c]:.3f}" if c in row.beside else "" for c in columns]
    return [row.candidate.label, str(row.n), _pm(row.mean, row.ci), *beside]


def markdown(ranking: dict[str, list[Row]], metric: str, tolerance: float, note: str = "") -> str:
    """One table per aspect (validation mean ± 95% CI over seeds; test/OOD and probe beside)."""
    columns = _beside_columns(ranking, metric)
    lines = [f"# Best domain definer per aspect ({metric})", ""]
    lines += [
        f"Chosen on `best/val/<ASPECT>/{metric}` only: mean ± 95% CI (t) over seeds. Candidates within "
        f"{tolerance} of the best mean are tied; the simplest of them wins. Test/OOD and probe columns are "
        "shown for information and never used to choose.",
        "",
    ]
    if note:
        lines += [note, ""]
    lines += ["| aspect | selected | val " + metric + " |", "| --- | --- | --- |"]
    for aspect, rows in ranking.items():
        best = next(r for r in rows if r.selected)
        lines.append(f"| {aspect} | {best.candidate.label} | {_pm(best.mean, best.ci)} |")
    for aspect, rows in ranking.items():
        lines += ["", f"## {aspect}", ""]
        header = ["definer", "seeds", f"val {metric}", *columns, ""]
        lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        for row in rows:
            mark = "**selected**" if row.selected else ("tied" if row.tied else "")
            lines.append("| " + " | ".join([*_cells(row, columns), mark]) + " |")
    return "\n".join(lines) + "\n"


def rich_tables(ranking: dict[str, list[Row]], metric: str) -> list[Table]:
    """Narrow tables for the terminal: validation score, OOD test and the domain probe (markdown has all)."""
    hidden = ("test/", "probe/acc", "probe/chance")  # the terminal shows the dataset-ID probe only
    columns = [c for c in _beside_columns(ranking, metric) if not c.startswith(hidden)]
    return [_rich_table(aspect, rows, metric, columns) for aspect, rows in ranking.items()]


def _rich_table(aspect: str, rows: list[Row], metric: str, columns: list[str]) -> Table:
    caption = "n: seeds, ood: test_ood, probe: dataset-ID probe on val embeddings (acc vs chance); * selected, = tied"
    table = Table(title=f"{aspect}: {metric}, val mean ± 95% CI over seeds", caption=caption)
    table.add_column("definer", overflow="fold")
    table.add_column("n")
    table.add_column(f"val {metric}", no_wrap=True)
    family = metric.split("_", 1)[-1]
    for column in columns:  # test_ood/utt_srcc -> ood utt (srcc, as in the title), probe/acc -> probe acc
        table.add_column(
            column.replace("test_ood/", "ood ")
            .replace(f"_{family}", "")
            .replace("dataset_", "")
            .replace("/", " "),
            justify="right",
        )
    table.add_column("")
    for row in rows:
        mark = "*" if row.selected else ("=" if row.tied else "")
        cells = [escape(c) for c in _cells(row, columns)]  # labels like columns=[modality] are not markup
        table.add_row(*cells, mark, style="bold green" if row.selected else None)
    return table


def heatmap(ranking: dict[str, list[Row]], metric: str, path: str | Path) -> None:
    """Aspect x candidate heatmap of the validation mean; the selected cell is outlined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Rectangle

    labels = []
    for rows in ranking.values():
        for row in sorted(rows, key=lambda r: r.candidate.simplicity()):
            if row.candidate.label not in labels:
                labels.append(row.candidate.label)
    aspects = list(ranking)
    grid = np.full((len(aspects), len(labels)), np.nan)
    cells = [(i, labels.index(r.candidate.label), r) for i, a in enumerate(aspects) for r in ranking[a]]
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
    ax.set_title(f"val {metric}, mean over seeds (red: selected)", fontsize=9)
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
