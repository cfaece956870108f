"""`aqa final`: the selected per-aspect model trained over the sweep's seeds, measured against ERM and the
aspect's winning trial (paired over seeds), with extra override sets (variants) side by side."""

import json
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from aqa.sweep import final as final_mod
from aqa.sweep import offline
from aqa.sweep.select import select
from aqa.sweep.state import SweepDir

FAKE = Path(__file__).with_name("fake_train.py")


def _selected(tmp_path, definers: list[str], extra: dict | None = None) -> Path:
    sweep = {
        "name": "fake",
        "method": "grid",
        "metric": {"name": "val/mean/within_srcc", "goal": "maximize"},
        "program": str(FAKE),
        "command": ["${interpreter}", "${program}", "${args_no_hyphens}"],
        "parameters": {
            "domain.definer.name": {"values": definers},
            "score": {"value": 0.5},  # a constant setting: the final model gets it too
            "seed": {"values": [0, 1, 2]},
        }
        | (extra or {}),
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep))
    out = tmp_path / "sweep"
    assert offline.main([str(path), "--dir", str(out)]) == 0
    select(str(out), console=Console(record=True))
    return out


@pytest.fixture
def selected_sweep(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TRAIN_NO_SLEEP", "1")
    return _selected(tmp_path, ["none", "random", "kmeans"])  # kmeans beats ERM and the control


def test_when_erm_is_selected_no_winner_column_repeats_it(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TRAIN_NO_SLEEP", "1")
    sweep = _selected(tmp_path, ["none", "random"])  # the control scores lower and is never eligible
    rows = {r[0].split(" (")[0]: r for r in final_mod.final(sweep, console=Console(record=True))["PQ"]}
    assert list(rows) == ["ERM", "final model"]
    assert rows["final model"][3:5] == ["+0.000 ± 0.000", ""]


def test_final_model_is_trained_per_seed_and_paired_with_erm_and_the_winner(selected_sweep):
    console = Console(record=True, width=120)
    tables = final_mod.final(selected_sweep, variants=[("boost", ["boost=0.05"])], console=console)
    for name in ("final", "boost"):
        trials = SweepDir(selected_sweep / "final" / name).trials()
        assert sorted(t.params["seed"] for t in trials) == [0, 1, 2] and {t.state for t in trials} == {
            "finished"
        }
        env = json.loads((selected_sweep / "final" / name / "runs" / trials[0].id / "env.json").read_text())
        assert f"domain.selection={(selected_sweep / 'selection.yaml').resolve()}" in env["argv"]
        assert "score=0.5" in env["argv"] and ("boost=0.05" in env["argv"]) == (name == "boost")
    rows = {r[0].split(" (")[0]: r for r in tables["PQ"]}
    assert list(rows) == ["ERM", "winning trial", "final model", "boost model"]
    assert rows["winning trial"][3] == "+0.101 ± 0.004"  # kmeans vs none, same seeds (0.1, 0.103, 0.1)
    assert rows["final model"][1:5] == ["3", "0.411 ± 0.025", "+0.101 ± 0.004", "+0.000 ± 0.000"]
    assert rows["boost model"][4] == "+0.050 ± 0.000"
    assert "boost model" in (selected_sweep / "final.md").read_text()
    assert "Δ vs winner" in console.export_text()


def test_seeds_can_be_chosen_and_pairs_follow_them(selected_sweep):
    tables = final_mod.final(selected_sweep, seeds=[1, 2], console=Console(record=True))
    final_row = next(r for r in tables["PQ"] if r[0] == "final model")
    assert final_row[1] == "2" and final_row[3] == "+0.102 ± 0.019"  # seeds 1, 2: 0.103, 0.1


def test_variants_are_parsed_and_a_missing_selection_is_reported(tmp_path):
    assert final_mod.parse_variant("separate:model.aspect_capacity=separate,seed=1") == (
        "separate",
        ["model.aspect_capacity=separate", "seed=1"],
    )
    for bad in ("separate", "x:novalue", ":a=b"):
        with pytest.raises(ValueError, match="--variant"):
            final_mod.parse_variant(bad)
    SweepDir(tmp_path / "s").init({"method": "grid", "parameters": {"seed": {"values": [0]}}})
    assert final_mod.main([str(tmp_path / "s")]) == 2


def test_final_table_has_the_probe_row_and_flags_a_model_below_its_probe(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TRAIN_NO_SLEEP", "1")
    sweep = _selected(
        tmp_path, ["none", "random", "kmeans"], {"probe": {"value": 0.35}}
    )  # ERM 0.30-0.32, kmeans 0.4+
    console = Console(record=True, width=200)
    rows = {r[0].split(" (")[0]: r for r in final_mod.final(sweep, console=console)["PQ"]}
    assert rows["linear probe"][0] == "linear probe (encoder)" and rows["linear probe"][2] == "0.350"
    assert rows["ERM"][2].endswith("< probe 0.350")
    assert "probe" not in rows["winning trial"][2] and "probe" not in rows["final model"][2]
    assert "warning: PQ: ERM" in console.export_text() and "< probe 0.350" in (sweep / "final.md").read_text()
