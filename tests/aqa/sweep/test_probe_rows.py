"""`aqa select` / `aqa final` / `aqa train` tables: reference rows beside the source lookup, and a model
that does not beat its own encoder's linear probe flagged with a warning naming the aspect and both numbers."""

import io

from rich.console import Console

from aqa.sweep.protocols import get_protocol
from aqa.sweep.ranking import group, rank_aspect
from aqa.sweep.records import TrialRecord
from aqa.sweep.report import _protocol_cells, markdown, probe_notes
from aqa.training.report import print_metric_table, probe_warnings

# PQ: ERM (none) 0.30 is below its probe 0.45, kmeans 0.60 above it. PC: both above their probe 0.10.
MODEL = {"none": {"PQ": 0.30, "PC": 0.30}, "kmeans": {"PQ": 0.60, "PC": 0.35}}
PROBE = {"PQ": 0.45, "PC": 0.10}


def _records():
    records = []
    for name, scores in MODEL.items():
        for seed, effect in enumerate((-0.01, 0.0, 0.01)):
            metrics = {}
            for a, value in scores.items():
                metrics |= {
                    f"val/{a}/within_srcc": value + effect,
                    f"shortcut/val/{a}/within_srcc": 0.0,
                    f"constant/val/{a}/utt_mse": 2.0,
                    f"linear/encoder/val/{a}/within_srcc": PROBE[a],
                    f"linear/acoustic/val/{a}/within_srcc": 0.7,
                }
            params = {"domain.definer": {"name": name}, "seed": seed}
            records.append(TrialRecord(f"{name}-{seed}", params, metrics))
    return records


def _rankings():
    candidates = group(_records())
    return {a: rank_aspect(candidates, a, get_protocol("within")) for a in ("PQ", "PC")}


def test_protocol_table_has_probe_rows_and_flags_the_model_below_its_probe():
    header, lines = _protocol_cells(_rankings())
    rows = {cells[0]: cells[1:] for cells in lines}
    assert header == ["candidate", "PQ", "PC"]
    assert rows["linear probe (encoder)"] == ["0.450", "0.100"]
    assert rows["linear probe (acoustic)"] == ["0.700", "0.700"]
    assert "source lookup (shortcut)" in rows and "train mean (constant)" in rows
    erm = next(cells for label, cells in rows.items() if "none" in label)
    kmeans = next(cells for label, cells in rows.items() if "kmeans" in label)
    assert erm[0].endswith("<") and not erm[1].endswith("<")  # below its probe on PQ only
    assert not kmeans[0].endswith("<") and not kmeans[1].endswith("<")


def test_probe_warning_names_the_aspect_and_both_numbers():
    notes = probe_notes(_rankings())
    assert len(notes) == 1
    assert notes[0].startswith("PQ:") and "0.300" in notes[0] and "0.450" in notes[0]
    text = markdown({"within": _rankings()}, "within", {}, "note")
    assert "below probe: PQ:" in text and "linear probe (encoder)" in text


def test_train_table_flags_a_model_below_its_probe():
    metrics = {
        "val/PQ/within_srcc": 0.30,
        "val/PC/within_srcc": 0.50,
        "val/PQ/utt_srcc": 0.4,
        "val/PC/utt_srcc": 0.6,
        "linear/encoder/val/PQ/within_srcc": 0.41,
        "linear/encoder/val/PC/within_srcc": 0.32,
        "linear/acoustic/val/PQ/within_srcc": 0.78,
        "shortcut/val/PQ/within_srcc": 0.0,
    }
    lines = probe_warnings(metrics, ["PQ", "PC"])
    assert len(lines) == 1 and lines[0].startswith("val PQ:") and "0.300" in lines[0] and "0.410" in lines[0]
    out = io.StringIO()
    print_metric_table(metrics, ["PQ", "PC"], Console(file=out, width=200))
    text = out.getvalue()
    for label in ("linear probe (encoder)", "linear probe (acoustic)", "source lookup (shortcut)"):
        assert label in text
    assert "below probe" in text and "warning: val PQ" in text


def test_train_table_without_reference_rows_prints_no_reference_table():
    out = io.StringIO()
    print_metric_table({"val/PQ/within_srcc": 0.3}, ["PQ"], Console(file=out, width=200))  # e.g. aqa eval
    assert "reference predictors" not in out.getvalue() and "warning" not in out.getvalue()
