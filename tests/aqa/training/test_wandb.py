"""W&B through offline runs whose files the tests read back: checkpoint artifacts, one config copy, resume
continues the same run; a 2-rank run prints no sync_dist advice."""

import base64
import hashlib
import json
import os
import subprocess
import sys

import pytest

from aqa.config import load_config
from aqa.training.train import train

pytestmark = pytest.mark.slow


def _md5(path) -> str:
    return base64.b64encode(hashlib.md5(open(path, "rb").read()).digest()).decode()


def test_offline_run_has_the_best_checkpoint_one_config_and_resumes_the_same_run(
    train_overrides, tmp_path, monkeypatch, offline_runs
):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))  # artifact staging
    monkeypatch.delenv("WANDB_RUN_ID", raising=False)
    run_dir = tmp_path / "run"
    overrides = [*train_overrides, "logger.wandb=true", "logger.log_model=true", f"run.dir={run_dir}"]
    metrics = train(load_config(None, [*overrides, "trainer.max_epochs=1"]))

    (first,) = offline_runs(run_dir / "wandb")
    assert (run_dir / "wandb_run_id").read_text().strip() == first["id"], (
        first["kinds"],
        os.listdir(run_dir / "wandb"),
    )
    # the config once, as the logger gave it; not again under `config.*` with the module's other arguments
    assert {"data", "model", "trainer", "domain"} <= set(first["config"])
    assert not {"config", "num_domains", "target_mean", "domain_names"} & set(first["config"])
    models = [a for a in first["artifacts"] if a["type"] == "model"]
    assert {a["name"] for a in models} == {f"model-{first['id']}"}
    (best,) = [a for a in models if "best" in a["aliases"]]
    assert best["files"]["model.ckpt"]["digest"] == _md5(metrics["run/best_checkpoint"])
    assert first["summary"]["best/val/PQ/utt_mse"] == pytest.approx(metrics["best/val/PQ/utt_mse"])

    train(load_config(None, [*overrides, "trainer.max_epochs=2", "run.resume=last"]))
    runs = offline_runs(run_dir / "wandb")
    assert len(runs) == 2 and runs[1]["id"] == first["id"]  # `wandb sync` appends it to the same run


def test_two_rank_run_prints_no_sync_dist_advice(train_overrides, tmp_path):
    experiment = tmp_path / "exp.yaml"
    experiment.write_text("seed: 0\n")
    run_dir = tmp_path / "run"
    args = [*train_overrides, "trainer.strategy=ddp", "trainer.devices=2", f"run.dir={run_dir}"]
    env = os.environ | {"WANDB_MODE": "disabled", "AQA_RUN_DIR": "", "PYTHONWARNINGS": "default"}
    proc = subprocess.run(
        [sys.executable, "-m", "aqa.cli", "train", str(experiment), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert json.loads((run_dir / "metrics.json").read_text())["run/global_step"] > 0
    output = proc.stdout + proc.stderr
    advice = [line for line in output.splitlines() if "sync_dist=True" in line]
    assert not advice, advice[:3]
