"""`aqa quickstart`: the quickstart grid narrowed and run end to end on the generated corpus."""

from pathlib import Path

import pytest
import yaml

from aqa.quickstart import GRID, main, quickstart_sweep
from aqa.sweep.command import load_sweep
from aqa.sweep.state import SweepDir


def test_quickstart_sweep_narrows_the_grid_and_places_overrides():
    base = load_sweep(GRID)
    sweep = quickstart_sweep(base, seeds=2, definers=["none", "kmeans"], overrides=["trainer.max_epochs=1"])
    # kmeans at three adversary strengths (issue 21: lambda swept inside each adversarial candidate)
    values = sweep["parameters"]["domain.definer"]["values"]
    assert [v["name"] for v in values] == ["none", "kmeans", "kmeans", "kmeans"]
    assert [v.get("lambda_max") for v in values] == [None, 0.1, 0.3, 1.0]
    assert sweep["parameters"]["seed"] == {"values": [0, 1]}
    assert sweep["command"][-2:] == ["trainer.max_epochs=1", "${args_no_hyphens}"]
    experiment = Path(sweep["command"][2])
    assert experiment.is_absolute() and experiment.name == "quickstart.yaml"
    assert base == load_sweep(GRID)  # the file's config is not modified in place
    with pytest.raises(ValueError, match="nope"):
        quickstart_sweep(base, definers=["nope"])


@pytest.mark.slow
def test_quickstart_runs_sweep_and_selection(tmp_path, tiny_overrides):
    overrides = [
        "data.corpus.size=120",
        "metrics.min_source_clips=2",  # ~4 val clips per source at this size
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        *tiny_overrides,
    ]
    assert main(["--dir", str(tmp_path), "--seeds", "1", "--definers", "none,dataset", *overrides]) == 0
    trials = SweepDir(tmp_path / "sweep").trials()
    strategies = sorted(
        (
            t.params["domain.definer"]["name"],
            t.params["domain.definer"].get("handling") or "",
            t.params["domain.definer"].get("lambda_max") or 0.0,
        )
        for t in trials
    )  # the dataset labels come with three handlings: adversarial (at three lambdas), conditioned, bias
    assert strategies == [
        ("dataset", "", 0.1),
        ("dataset", "", 0.3),
        ("dataset", "", 1.0),
        ("dataset", "bias", 0.0),
        ("dataset", "conditioned", 0.0),
        ("none", "", 0.0),
    ]
    assert all(t.state == "finished" for t in trials)
    assert all(t.status["in_process"] and "model.encoder.mode=cached" in t.status["command"] for t in trials)
    selection = yaml.safe_load((tmp_path / "sweep" / "selection.yaml").read_text())
    assert selection and {s["definer"]["name"] for s in selection.values()} <= {"none", "dataset"}
    table = (tmp_path / "sweep" / "selection.md").read_text()
    for protocol in ("within", "heldout", "pooled", "oracle"):
        assert f"## Protocol `{protocol}`" in table
    assert "source lookup (shortcut)" in table and "Δ vs ERM" in table
    assert "linear probe (encoder)" in table and "linear probe (acoustic)" in table
