"""`aqa train`'s printed tables: the reference rows and a model below its own encoder's linear probe flagged
with a warning naming the split, the aspect and both numbers."""

import io

from rich.console import Console

from aqa.training.report import print_metric_table, probe_warnings


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
