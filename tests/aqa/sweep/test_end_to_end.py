"""The sweeps README end to end on the generated corpus: an offline grid of 2 definers x 1 seed from
sweeps/quickstart_grid.yaml plus one crashing trial, killed and resumed, then `aqa select` and the final
aspect-specific training with `domain.selection=`."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from aqa.quickstart import GRID, quickstart_sweep
from aqa.sweep.command import load_sweep
from aqa.sweep.state import SweepDir

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
# 120 clips leave ~4 val clips per source: within-source SRCC needs min_source_clips below the default 5
SMALL = [
    "data.corpus.size=120",
    "trainer.max_epochs=1",
    "trainer.enable_progress_bar=false",
    "metrics.min_source_clips=2",
]
CRASH = {"name": "metadata", "columns": ["no_such_column"]}  # the real trainer fails on it: an injected crash


def aqa(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "aqa.cli", *args], cwd=REPO, capture_output=True, text=True, **kwargs
    )


def plain_definers(sweep: dict) -> dict:
    """The grid without the strategies that add a domain handling to a definer, each adversary at its
    largest swept lambda only (fewer trials)."""
    values = sweep["parameters"]["domain.definer"]["values"]
    sweep["parameters"]["domain.definer"]["values"] = [
        v for v in values if "handling" not in v and v.get("lambda_max", 1.0) == 1.0
    ]
    return sweep


def small_sweep(tmp_path: Path, tiny_overrides: list[str]) -> Path:
    """quickstart_grid.yaml with dataset + kmeans, seed 0, the crash, and small/tiny overrides in its command."""
    sweep = plain_definers(
        quickstart_sweep(
            load_sweep(GRID), seeds=1, definers=["dataset", "kmeans"], overrides=SMALL + tiny_overrides
        )
    )
    sweep["parameters"]["domain.definer"]["values"].append(CRASH)
    path = tmp_path / "small_grid.yaml"
    path.write_text(yaml.safe_dump(sweep, sort_keys=False))
    return path


def wait_for_state(status: Path, state: str, proc: subprocess.Popen, timeout: float = 900) -> None:
    deadline = time.time() + timeout
    while not (status.is_file() and json.loads(status.read_text())["state"] == state):
        assert proc.poll() is None, proc.communicate()[0]
        assert time.time() < deadline, f"{status} never reached {state}"
        time.sleep(0.5)


def test_sweep_kill_resume_select_and_final_training(tmp_path, tiny_overrides):
    sweep_file = small_sweep(tmp_path, tiny_overrides)
    out = tmp_path / "sweep"

    # start, let the first trial finish, kill the controller while the second one runs
    command = [sys.executable, "-m", "aqa.cli", "sweep", str(sweep_file), "--dir", str(out)]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for_state(out / "trials" / "t001" / "status.json", "running", proc)
    time.sleep(5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 130
    assert [t.state for t in SweepDir(out).trials()] == ["finished", "interrupted"]

    # resume: the finished trial is kept, the interrupted one reruns, the crash is recorded, the grid ends
    resumed = aqa("sweep", str(sweep_file), "--dir", str(out))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    trials = SweepDir(out).trials()
    assert [t.params["domain.definer"]["name"] for t in trials] == ["dataset", "kmeans", "metadata"]
    assert [t.state for t in trials] == ["finished", "finished", "failed"]
    assert [t.status["attempt"] for t in trials] == [1, 2, 1]
    assert "no_such_column" in (out / "trials" / "t002" / "log.txt").read_text()
    aspects = yaml.safe_load((out / "runs" / "t000" / "config.yaml").read_text())["data"]["aspects"]
    for t in trials[:2]:
        assert all(f"best/val/{a}/sys_srcc" in t.metrics for a in aspects), sorted(t.metrics)

    # select on validation data
    selected = aqa("select", str(out))
    assert selected.returncode == 0, selected.stdout + selected.stderr
    selection = yaml.safe_load((out / "selection.yaml").read_text())
    assert list(selection) == aspects
    # ERM was not swept: nothing can beat it, so every aspect gets `none`
    assert {s["definer"]["name"] for s in selection.values()} == {"none"}
    assert "2 finished trials, 1 failed" in (out / "selection.md").read_text()
    assert (out / "selection.png").stat().st_size > 0

    # the final model: each aspect trained against its own selected definer
    final_dir = tmp_path / "final"
    env = {**os.environ, "AQA_RUN_DIR": str(final_dir)}
    final = aqa(
        "train",
        "experiments/quickstart.yaml",
        f"domain.selection={out / 'selection.yaml'}",
        *SMALL,
        *tiny_overrides,
        env=env,
    )
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]
    domains = json.loads((final_dir / "domains" / "domains.json").read_text())
    for a in aspects:
        assert selection[a]["definer"].items() <= domains["definers"][a].items()
    metrics = json.loads((final_dir / "metrics.json").read_text())
    assert all(f"best/val/{a}/sys_srcc" in metrics for a in aspects)


def test_ddp_trial_is_stopped_with_all_its_ranks_and_resumed(tmp_path, tiny_overrides):
    ddp = ["trainer.strategy=ddp", "trainer.devices=2"]
    sweep = plain_definers(
        quickstart_sweep(
            load_sweep(GRID), seeds=1, definers=["dataset"], overrides=SMALL + tiny_overrides + ddp
        )
    )
    sweep_file = tmp_path / "ddp_grid.yaml"
    sweep_file.write_text(yaml.safe_dump(sweep, sort_keys=False))
    out = tmp_path / "sweep"
    log = out / "trials" / "t000" / "log.txt"

    command = [sys.executable, "-m", "aqa.cli", "sweep", str(sweep_file), "--dir", str(out)]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 600
    while not (log.is_file() and "GLOBAL_RANK: 1" in log.read_text()):  # both ranks are up
        assert proc.poll() is None, proc.communicate()[0]
        assert time.time() < deadline, "rank 1 never started"
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 130
    trial = SweepDir(out).trials()[0]
    assert trial.state == "interrupted"
    with pytest.raises(ProcessLookupError):  # no rank of the trial's process group is left
        os.killpg(trial.status["pid"], 0)

    resumed = aqa("sweep", str(sweep_file), "--dir", str(out))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    trial = SweepDir(out).trials()[0]
    assert trial.state == "finished" and trial.status["attempt"] == 2
    assert "GLOBAL_RANK: 1" in log.read_text()
    assert any(k.startswith("best/val/") for k in trial.metrics)
