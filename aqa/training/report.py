"""Rich tables of a run's metrics: one row per split x aspect."""

import math

from rich.console import Console
from rich.table import Table

from aqa.console import make_console


def finite(metrics: dict) -> dict:
    """NaN -> None, so the metrics are valid JSON (`null`) for metrics.json and W&B summaries."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()}


COLUMNS = ("utt_srcc", "within_srcc", "utt_lcc", "utt_mse", "sys_srcc", "sys_lcc", "sys_ktau", "sys_mse")


def print_metric_table(metrics: dict, aspects: list[str], console: Console | None = None) -> None:
    console = console or make_console()
    stages = sorted(
        {k.split("/")[0] for k in metrics if k.count("/") == 2 and not k.startswith(("best", "run"))}
    )
    stages = sorted(stages, key=lambda s: (s != "val", s))
    table = Table(title="aqa metrics (best checkpoint)")
    table.add_column("split")
    table.add_column("aspect")
    for col in COLUMNS:
        table.add_column(col, justify="right")
    for stage in stages:
        for a in [*aspects, "mean"]:
            values = [metrics.get(f"{stage}/{a}/{c}") for c in COLUMNS]
            if all(v is None for v in values):
                continue
            cells = [
                "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}" for v in values
            ]
            table.add_row(stage, a, *cells)
    console.print(table)
