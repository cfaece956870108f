"""`aqa select` tables: reference rows beside the source lookup, and a model
that does not beat its own encoder's linear probe flagged with a warning naming the aspect and both numbers."""

from aqa.sweep.protocols import get_protocol
from aqa.sweep.ranking import group, rank_aspect
from aqa.sweep.records import TrialRecord
from aqa.sweep.report import _protocol_cells, markdown, probe_notes

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
