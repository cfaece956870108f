"""Screening trials in an offline sweep run in the controller's process (no subprocess), and `--jobs 2`
(two spawned workers) gives the same trials and metrics as one at a time."""

import math
import os

import pytest
import yaml

from aqa.sweep import offline
from aqa.sweep.inprocess import screening_call
from aqa.sweep.state import SweepDir


def write_sweep(tmp_path, train_overrides):
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text("seed: 0\n")
    sweep = {
        "method": "grid",
        "metric": {"name": "val/mean/within_srcc", "goal": "maximize"},
        "program": "aqa/cli.py",
        "command": [
            "aqa",
            "train",
            str(experiment),
            *train_overrides,
            "trainer.max_epochs=1",
            "model.encoder.mode=cached",
            "${args_no_hyphens}",
        ],
        "parameters": {
            "domain.definer": {"values": [{"name": "none"}, {"name": "dataset"}]},
            "seed": {"values": [0, 1]},
        },
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep))
    return path, experiment


def test_screening_call_only_for_cached_aqa_train(tmp_path, train_overrides):
    _, experiment = write_sweep(tmp_path, train_overrides)
    cached = ["aqa", "train", str(experiment), *train_overrides, "model.encoder.mode=cached"]
    assert screening_call(cached) == (str(experiment), cached[3:])
    assert screening_call(["python", "-m", "aqa.cli", *cached[1:]]) == (str(experiment), cached[3:])
    assert screening_call(cached[:-1]) is None  # the waveform: a subprocess
    assert screening_call(["python", "train.py", *cached[2:]]) is None


def sweep_results(tmp_path, train_overrides, jobs):
    sweep_file, _ = write_sweep(tmp_path, train_overrides)
    out = tmp_path / f"jobs{jobs}"
    assert offline.main([str(sweep_file), "--dir", str(out), "--jobs", str(jobs)]) == 0
    trials = SweepDir(out).trials()
    assert [t.state for t in trials] == ["finished"] * 4
    assert all(t.status["in_process"] for t in trials)
    return {(t.id, str(t.params)): t.metrics for t in trials}


@pytest.mark.slow
def test_jobs_two_gives_the_same_trials_and_metrics(tmp_path, train_overrides):
    one = sweep_results(tmp_path, train_overrides, 1)
    two = sweep_results(tmp_path, train_overrides, 2)
    assert one.keys() == two.keys()
    for key, metrics in one.items():
        assert metrics.keys() == two[key].keys()
        for name, value in metrics.items():
            if name.startswith("run/"):
                continue  # paths and times
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(two[key][name]), name
            else:
                assert two[key][name] == value, (key, name)


@pytest.mark.parametrize(
    ("error", "state", "code"),
    [(offline.Interrupted("SIGINT"), "interrupted", 130), (RuntimeError("boom"), "failed", 1)],
)
def test_in_process_trial_records_interrupted_and_failed(
    tmp_path, train_overrides, monkeypatch, error, state, code
):
    import aqa.training.train

    def fail(cfg):
        raise error

    monkeypatch.setattr(aqa.training.train, "train", fail)
    monkeypatch.delenv("AQA_RUN_DIR", raising=False)
    sweep_file, _ = write_sweep(tmp_path, train_overrides)
    assert offline.main([str(sweep_file), "--dir", str(tmp_path / "out"), "--count", "1"]) == code
    trial = SweepDir(tmp_path / "out").trials()[0]
    assert trial.state == state and trial.status["in_process"]
    assert "AQA_RUN_DIR" not in os.environ  # restored
