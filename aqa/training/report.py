"""Rich tables of a run's metrics: one row per split x aspect."""

import math

from rich.console import Console
from rich.table import Table

from aqa.console import make_console
from aqa.metrics.references import ENCODER_PROBE, REFERENCES, below_probe, reference_key


def finite(metrics: dict) -> dict:
    """NaN -> None, so the metrics are valid JSON (`null`) for metrics.json and W&B summaries."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()}


COLUMNS = ("utt_srcc", "within_srcc", "utt_lcc", "utt_mse", "sys_srcc", "sys_lcc", "sys_ktau", "sys_mse")


def print_metric_table(metrics: dict, aspects: list[str], console: Console | None = None) -> None:
    console = console or make_console()
    stages = _stages(metrics)
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
    print_reference_table(metrics, aspects, console)


REFERENCE_COLUMNS = ("within_srcc", "utt_srcc", "utt_mse")


def below_probe_cells(metrics: dict, aspects: list[str], metric: str = "within_srcc") -> dict:
    """{(stage, aspect): (model, probe)} where the model does not beat its own encoder's linear probe."""
    out = {}
    for stage in _stages(metrics):
        for a in aspects:
            model = _value(metrics, f"{stage}/{a}/{metric}")
            probe = _value(metrics, reference_key(ENCODER_PROBE, f"{stage}/{a}/{metric}"))
            if below_probe(model, probe, metric):
                out[stage, a] = model, probe
    return out


def probe_warnings(metrics: dict, aspects: list[str], metric: str = "within_srcc") -> list[str]:
    """One line per (stage, aspect) where the model does not beat its own encoder's linear probe."""
    return [
        f"{stage} {a}: the model's {metric} {model:.3f} does not beat the linear probe on its frozen "
        f"encoder's features ({probe:.3f})"
        for (stage, a), (model, probe) in below_probe_cells(metrics, aspects, metric).items()
    ]


def print_reference_table(metrics: dict, aspects: list[str], console: Console | None = None) -> None:
    """Per split: the model and every reference row (source lookup, train mean, linear probes) on
    `within_srcc / utt_srcc / utt_mse` per aspect; `below probe`: the model does not beat the encoder probe
    on within_srcc. Then one warning line per such aspect."""
    if not any(k.startswith(tuple(f"{p}/" for p in REFERENCES)) for k in metrics):
        return  # e.g. `aqa eval`: no reference rows were scored
    console = console or make_console()
    table = Table(title=f"model vs reference predictors ({' / '.join(REFERENCE_COLUMNS)})")
    table.add_column("split")
    table.add_column("predictor")
    for a in aspects:
        table.add_column(a, justify="right")
    flagged = below_probe_cells(metrics, aspects)
    for stage in _stages(metrics):
        for prefix, label in {"": "model", **REFERENCES}.items():
            cells = []
            for a in aspects:
                keys = [f"{stage}/{a}/{c}" for c in REFERENCE_COLUMNS]
                values = [_value(metrics, reference_key(prefix, k) if prefix else k) for k in keys]
                cell = " / ".join("-" if math.isnan(v) else f"{v:.3f}" for v in values)
                cells.append(cell + (" below probe" if not prefix and (stage, a) in flagged else ""))
            if any(c.strip("-/ ") for c in cells):
                table.add_row(stage, label, *cells, style=None if prefix else "bold")
    console.print(table)
    for line in probe_warnings(metrics, aspects):
        console.print(f"[yellow]warning: {line}[/]")


def _value(metrics: dict, key: str) -> float:
    v = metrics.get(key)
    return math.nan if v is None else float(v)


def _stages(metrics: dict) -> list[str]:
    stages = {k.split("/")[0] for k in metrics if k.count("/") == 2 and not k.startswith(("best", "run"))}
    return sorted(stages, key=lambda s: (s != "val", s))
