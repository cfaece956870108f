"""`aqa quickstart`: the quickstart grid narrowed and run end to end on the generated corpus, screening then
confirmation (the statistics of both stages: tests/aqa/sweep/test_confirm.py)."""

from pathlib import Path

import pytest
import yaml

from aqa.quickstart import GRID, main, quickstart_sweep
from aqa.sweep import confirm as stage
from aqa.sweep.command import load_sweep
from aqa.sweep.ranking import ERM_ENTRY, reference
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


SMALL = [
    "data.corpus.size=120",
    "metrics.min_source_clips=2",  # ~4 val clips per source at this size
    "trainer.max_epochs=1",
    "trainer.enable_progress_bar=false",
]


@pytest.mark.slow
def test_quickstart_runs_sweep_and_selection(tmp_path, tiny_overrides):
    overrides = [*SMALL, *tiny_overrides]
    argv = ["--dir", str(tmp_path), "--seeds", "1", "--definers", "none,dataset", "--jobs", "1", *overrides]
    assert main(argv) == 0
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
    # one seed and no random control: nothing is shortlisted, nothing is confirmed, nothing trained end to end
    assert not (tmp_path / "sweep" / "selection.yaml").exists()  # the screening's verdict is not a selection
    assert not (tmp_path / "confirm").exists()
    selection = yaml.safe_load((tmp_path / "selection.yaml").read_text())
    assert selection == {a: ERM_ENTRY for a in ("PQ", "PC", "CE", "CU")}
    assert "nothing trained" in (tmp_path / "stages.md").read_text()
    table = (tmp_path / "sweep" / "selection.md").read_text()
    for protocol in ("within", "heldout", "pooled", "oracle"):
        assert f"## Protocol `{protocol}`" in table
    assert "source lookup (shortcut)" in table
    assert "Δ vs ERM" in table and "linear probe (encoder)" in table and "linear probe (acoustic)" in table


@pytest.mark.slow
def test_quickstart_confirms_the_shortlist_end_to_end(tmp_path, tiny_overrides, monkeypatch):
    """A shortlist forced for PQ (the real rule rarely passes on 2 tiny seeds): the confirmation trains the
    deployment, ERM and the random control end to end on fresh seeds; only what it confirms is selected."""

    rule = stage.shortlist

    def forced(rankings):
        short = rule(rankings)
        row = next(r for r in rankings["PQ"].rows if r.candidate.label == "dataset lambda_max=0.3")
        controls = [r.candidate for r in rankings["PQ"].rows if r.candidate.is_control]
        control, why = reference(row.candidate, controls, control=True, aspect="PQ")
        assert control is not None, why  # the random control at the same handling and lambda
        short["PQ"] = stage.Shortlisted("PQ", row.candidate, control, row.vs_erm, row.vs_control, 0.0, 0.0)
        return short

    monkeypatch.setattr(stage, "shortlist", forced)
    argv = [
        "--dir",
        str(tmp_path),
        "--seeds",
        "2",
        "--definers",
        "none,random,dataset",
        "--confirm-seeds",
        "2",
    ]
    assert main([*argv, "--jobs", "2", *SMALL, *tiny_overrides]) == 0
    [folder] = (tmp_path / "confirm").iterdir()
    assert yaml.safe_load((folder / "shortlist.yaml").read_text())["PQ"]["definer"]["name"] == "dataset"
    assert yaml.safe_load((folder / "control.yaml").read_text())["PQ"]["definer"]["name"] == "random"
    records = stage.records_of(sorted(folder.glob("seed*.yaml")))
    assert sorted((stage.variant_of(r), r.config["seed"]) for r in records) == sorted(
        (v, s) for v in stage.VARIANTS for s in (1000, 1001)
    )  # every deployment at both fresh seeds, none at a screening seed
    assert all(r.config["model"]["encoder"]["mode"] == "lora" for r in records)  # end to end, not cached
    deployed = next(r for r in records if stage.variant_of(r) == "shortlist")
    assert deployed.config["domain"]["definers"]["PQ"]["name"] == "dataset"
    assert deployed.config["domain"]["definers"]["PC"]["name"] == "none"
    text = (tmp_path / "stages.md").read_text()
    assert "## Confirmation" in text and "confirmation: minimum detectable effect" in text
    selection = yaml.safe_load((tmp_path / "selection.yaml").read_text())
    assert all(selection[a] == ERM_ENTRY for a in ("PC", "CE", "CU"))  # never shortlisted
    confirmed = "| PQ | dataset |" in text and "| confirmed |" in text
    assert selection["PQ"]["definer"]["name"] == ("dataset" if confirmed else "none")
    # a rerun resumes: every trial is kept, nothing is trained again
    assert main([*argv, "--jobs", "1", *SMALL, *tiny_overrides]) == 0
    assert len(stage.records_of(sorted(folder.glob("seed*.yaml")))) == len(records)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--definers", "nope"], "no definer named ['nope']"),
        (["--seeds", "0"], "--seeds and --jobs need at least 1"),
        (["--seeds", "1001"], "must stay below the confirmation's fresh seeds"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["--dir", str(tmp_path), *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
