"""The offline controller, driven by a fake training command (tests/aqa/sweep/fake_train.py)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from aqa.sweep import offline
from aqa.sweep.state import SweepDir, SweepLockedError

FAKE = Path(__file__).with_name("fake_train.py")


def write_sweep(tmp_path, method="grid", parameters=None, **extra) -> Path:
    sweep = {
        "method": method,
        "metric": {"name": "val/mean/sys_srcc", "goal": "maximize"},
        "program": str(FAKE),
        "command": ["${interpreter}", "${program}", "${args_no_hyphens}"],
        "parameters": parameters or {"score": {"values": [0.1, 0.3]}, "seed": {"values": [0, 1]}},
        **extra,
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep))
    return path


def test_grid_runs_every_point_once_with_offline_wandb_and_run_dir(tmp_path):
    sweep_file = write_sweep(tmp_path)
    assert offline.main([str(sweep_file), "--dir", str(tmp_path / "out")]) == 0
    trials = SweepDir(tmp_path / "out").trials()
    assert sorted((t.params["score"], t.params["seed"]) for t in trials) == [
        (0.1, 0),
        (0.1, 1),
        (0.3, 0),
        (0.3, 1),
    ]
    for t in trials:
        assert t.state == "finished"
        assert t.metrics["val/mean/sys_srcc"] == t.params["score"]
        env = json.loads((tmp_path / "out" / "runs" / t.id / "env.json").read_text())
        assert env["WANDB_MODE"] == "offline"
        assert env["argv"][1:] == [f"score={t.params['score']}", f"seed={t.params['seed']}"]
        assert "fake_train done" in (tmp_path / "out" / "trials" / t.id / "log.txt").read_text()


def test_crashing_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    sweep_file = write_sweep(tmp_path, parameters={"crash": {"values": [0, 1]}, "score": {"values": [0.5]}})
    out = tmp_path / "out"
    assert offline.main([str(sweep_file), "--dir", str(out)]) == 0
    states = {t.params["crash"]: t for t in SweepDir(out).trials()}
    assert states[1].state == "failed" and states[1].status["exitcode"] == 1
    assert "crash requested" in Path(states[1].status["log"]).read_text()
    assert states[0].state == "finished"
    # a second call finds the grid done: nothing is rerun, the failure stays recorded
    assert offline.main([str(sweep_file), "--dir", str(out)]) == 0
    again = SweepDir(out).trials()
    assert [t.status["attempt"] for t in again] == [1, 1]
    assert [t.state for t in again] == [t.state for t in states.values()]


def test_all_trials_failing_is_an_error(tmp_path):
    sweep_file = write_sweep(tmp_path, parameters={"crash": {"value": 1}})
    assert offline.main([str(sweep_file), "--dir", str(tmp_path / "out")]) == 1


def test_killed_sweep_resumes_without_rerunning_finished_trials(tmp_path, monkeypatch):
    sweep_file = write_sweep(tmp_path, parameters={"sleep": {"values": [0, 30, 2]}})
    out = tmp_path / "out"
    command = [sys.executable, "-m", "aqa.cli", "sweep", str(sweep_file), "--dir", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    status = out / "trials" / "t001" / "status.json"
    deadline = time.time() + 240  # generous: trials start slowly on a loaded 2-core machine
    while not (status.is_file() and json.loads(status.read_text())["state"] == "running"):
        assert time.time() < deadline and proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130
    trials = SweepDir(out).trials()
    assert [t.state for t in trials] == ["finished", "interrupted"]
    with pytest.raises(ProcessLookupError):  # the trial was stopped with the controller
        os.kill(trials[1].status["pid"], 0)

    monkeypatch.setenv("FAKE_TRAIN_NO_SLEEP", "1")
    assert offline.main([str(sweep_file), "--dir", str(out)]) == 0
    trials = SweepDir(out).trials()
    assert [t.state for t in trials] == ["finished"] * 3
    assert [t.status["attempt"] for t in trials] == [1, 2, 1]
    assert [t.params["sleep"] for t in trials] == [0, 30, 2]


def test_second_controller_on_the_same_dir_is_refused(tmp_path):
    sweep_file = write_sweep(tmp_path)
    lock_fd = SweepDir(tmp_path / "out").lock()
    try:
        assert offline.main([str(sweep_file), "--dir", str(tmp_path / "out")]) == 2
    finally:
        os.close(lock_fd)


def test_a_dir_holding_another_sweep_is_refused(tmp_path):
    out = tmp_path / "out"
    assert offline.main([str(write_sweep(tmp_path)), "--dir", str(out)]) == 0
    other = write_sweep(tmp_path, parameters={"score": {"values": [0.9]}})
    assert offline.main([str(other), "--dir", str(out)]) == 2


def test_bayes_needs_a_count_and_proposes_within_bounds(tmp_path):
    parameters = {"score": {"min": 0.0, "max": 1.0}, "seed": {"values": [0, 1]}}
    sweep_file = write_sweep(tmp_path, method="bayes", parameters=parameters)
    out = tmp_path / "out"
    assert offline.main([str(sweep_file), "--dir", str(out)]) == 2
    assert offline.main([str(sweep_file), "--dir", str(out), "--count", "4"]) == 0
    trials = SweepDir(out).trials()
    assert len(trials) == 4 and all(t.state == "finished" for t in trials)
    assert all(isinstance(t.params["score"], float) and 0.0 <= t.params["score"] <= 1.0 for t in trials)
    assert [t.metrics["val/mean/sys_srcc"] for t in trials] == [t.params["score"] for t in trials]
    # --count is the sweep's total: asking again for 4 runs nothing new
    assert offline.main([str(sweep_file), "--dir", str(out), "--count", "4"]) == 0
    assert len(SweepDir(out).trials()) == 4


def test_trial_orphaned_by_kill_9_keeps_the_directory_locked(tmp_path):
    sweep_file = write_sweep(tmp_path, parameters={"sleep": {"values": [60]}})
    out = tmp_path / "out"
    command = [sys.executable, "-m", "aqa.cli", "sweep", str(sweep_file), "--dir", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    status = out / "trials" / "t000" / "status.json"
    deadline = time.time() + 60
    while not (status.is_file() and "pid" in json.loads(status.read_text())):
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    orphan = json.loads(status.read_text())["pid"]
    try:
        assert offline.main([str(sweep_file), "--dir", str(out)]) == 2  # refused while the orphan runs
    finally:
        os.killpg(orphan, signal.SIGKILL)
    deadline = time.time() + 30
    while time.time() < deadline:  # the lock goes with the orphan
        try:
            os.close(SweepDir(out).lock())
            break
        except SweepLockedError:
            time.sleep(0.2)
    else:
        pytest.fail("lock still held after the orphan ended")


def _signal_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.parametrize("repeats", [5, pytest.param(50, marks=pytest.mark.slow)])
@pytest.mark.parametrize("instant", ["first save", "before Popen", "after Popen", "pid save"])
def test_a_signal_during_trial_start_up_leaves_the_trial_interrupted(tmp_path, monkeypatch, instant, repeats):
    """The race a loaded CI machine hit: SIGTERM landing while the trial starts (between marking it
    `running` and waiting on it). Provoked on purpose at each instant, `repeats` times in a row (50 in
    the slow suite)."""
    sweep_file = write_sweep(tmp_path, parameters={"sleep": {"value": 30}})
    real_popen, real_save = subprocess.Popen, SweepDir.save

    def popen(*args, **kwargs):
        if instant == "before Popen":
            _signal_self()
        proc = real_popen(*args, **kwargs)
        if instant == "after Popen":
            _signal_self()
        return proc

    def save(self, trial):
        real_save(self, trial)
        running = trial.status.get("state") == "running"
        if running and (instant == "first save") == ("pid" not in trial.status):
            _signal_self()

    monkeypatch.setattr(offline.subprocess, "Popen", popen)
    if instant in ("first save", "pid save"):
        monkeypatch.setattr(SweepDir, "save", save)
    for repeat in range(repeats):
        out = tmp_path / f"out{repeat}"
        assert offline.main([str(sweep_file), "--dir", str(out)]) == 130
        (trial,) = SweepDir(out).trials()
        assert trial.state == "interrupted", (repeat, trial.status)
        if "pid" in trial.status:  # started: stopped with the controller
            with pytest.raises(ProcessLookupError):
                os.killpg(trial.status["pid"], 0)
        else:
            assert instant == "before Popen"
