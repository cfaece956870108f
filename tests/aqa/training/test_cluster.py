"""`trainer.cluster` under a simulated SLURM job (SLURM_* variables, as Lightning's own SLURM tests set them)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lightning.fabric.plugins.environments import LightningEnvironment, SLURMEnvironment

from aqa.config import load_config
from aqa.training.cluster import cluster_environment
from aqa.training.trainer import build_trainer

REPO = Path(__file__).resolve().parents[3]
SBATCH_ONE_TASK = {  # what `sbatch --nodes=1 --ntasks-per-node=1 --gres=gpu:4` gives the batch script
    "SLURM_JOB_ID": "4242",
    "SLURM_JOB_NAME": "aqa-trial",
    "SLURM_NODELIST": "gpu-node-07",
    "SLURM_NNODES": "1",
    "SLURM_NTASKS": "1",
    "SLURM_NTASKS_PER_NODE": "1",
    "SLURM_PROCID": "0",
    "SLURM_LOCALID": "0",
    "SLURM_NODEID": "0",
}
SRUN_FOUR_TASKS = SBATCH_ONE_TASK | {  # task 2 of `srun --ntasks-per-node=4`
    "SLURM_NTASKS": "4",
    "SLURM_NTASKS_PER_NODE": "4",
    "SLURM_PROCID": "2",
    "SLURM_LOCALID": "2",
}


@pytest.fixture
def slurm(monkeypatch):
    def enter(variables: dict) -> None:
        for key in list(os.environ):
            if key.startswith("SLURM_") or key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "GROUP_RANK"):
                monkeypatch.delenv(key)
        for key, value in variables.items():
            monkeypatch.setenv(key, value)

    return enter


def _trainer(tmp_path, *overrides):
    cfg = load_config(
        None,
        ["trainer.accelerator=cpu", "trainer.strategy=ddp", "logger.wandb=false", "logger.csv=false"]
        + list(overrides),
    )
    trainer = build_trainer(cfg, tmp_path)
    return trainer.strategy.cluster_environment


def test_plain_lightning_refuses_sbatch_with_one_task_for_four_devices(slurm, tmp_path):
    """The issue: Lightning's SLURM environment, under one sbatch task, refuses devices=4."""
    slurm(SBATCH_ONE_TASK)
    env = _trainer(tmp_path, "trainer.devices=4", "trainer.cluster=slurm")
    assert isinstance(env, SLURMEnvironment)
    with pytest.raises(ValueError, match="ntasks-per-node=1"):
        env.validate_settings(num_devices=4, num_nodes=1)  # what Lightning's DDP launcher calls first


def test_auto_lets_lightning_start_the_local_processes(slurm, tmp_path):
    slurm(SBATCH_ONE_TASK)
    env = _trainer(tmp_path, "trainer.devices=4")  # trainer.cluster=auto is the default
    assert isinstance(env, LightningEnvironment) and not env.creates_processes_externally
    env.validate_settings(num_devices=4, num_nodes=1)  # no refusal


def test_auto_keeps_slurm_when_srun_started_one_task_per_device(slurm, tmp_path):
    slurm(SRUN_FOUR_TASKS)
    env = _trainer(tmp_path, "trainer.devices=4")
    assert isinstance(env, SLURMEnvironment) and env.creates_processes_externally
    env.validate_settings(num_devices=4, num_nodes=1)
    assert (env.global_rank(), env.local_rank(), env.world_size()) == (2, 2, 4)


def test_auto_keeps_slurm_for_one_device_and_outside_slurm(slurm, tmp_path):
    slurm(SBATCH_ONE_TASK)
    assert cluster_environment("auto", "cpu", 1, 1) is None  # one agent per GPU: nothing to launch
    assert cluster_environment("auto", "cpu", 4, 2) is None  # multi-node: srun must start the tasks
    slurm({})
    assert isinstance(_trainer(tmp_path, "trainer.devices=2"), LightningEnvironment)


def test_forced_lightning_and_unknown_mode(slurm, tmp_path):
    slurm(SRUN_FOUR_TASKS)
    assert isinstance(
        _trainer(tmp_path, "trainer.devices=4", "trainer.cluster=lightning"), LightningEnvironment
    )
    with pytest.raises(ValueError, match="trainer.cluster='pbs'"):
        cluster_environment("pbs", "cpu", 1, 1)


def test_ddp_trial_template_runs_the_track2_experiment_on_every_gpu(slurm, tmp_path, monkeypatch):
    """sweeps/slurm/ddp_trial_per_node.sbatch exports AQA_DEVICES; the experiment's trials then use them."""
    slurm(SBATCH_ONE_TASK)
    monkeypatch.setenv("AQA_DEVICES", "4")
    template = (REPO / "sweeps/slurm/ddp_trial_per_node.sbatch").read_text()
    assert "#SBATCH --ntasks-per-node=1" in template and "export AQA_DEVICES=$GPUS" in template
    cfg = load_config(REPO / "experiments/audiomos2025_track2.yaml", ["trainer.accelerator=cpu"])
    assert cfg.trainer.devices == "4"
    env = cluster_environment(cfg.trainer.cluster, "cpu", int(cfg.trainer.devices), cfg.trainer.num_nodes)
    assert isinstance(env, LightningEnvironment)


@pytest.mark.slow
def test_two_process_ddp_run_inside_a_one_task_sbatch_job(train_overrides, tmp_path):
    """A real `aqa train trainer.devices=2 trainer.strategy=ddp` in a simulated one-task sbatch job trains."""
    experiment = tmp_path / "exp.yaml"
    experiment.write_text("seed: 0\n")
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")} | SBATCH_ONE_TASK
    env |= {"WANDB_MODE": "disabled", "AQA_RUN_DIR": "", "SLURM_NODELIST": "127.0.0.1"}
    args = [*train_overrides, "trainer.strategy=ddp", "trainer.devices=2", f"run.dir={run_dir}"]
    proc = subprocess.run(
        [sys.executable, "-m", "aqa.cli", "train", str(experiment), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert "Lightning starts the other processes on this node" in proc.stdout + proc.stderr
    assert json.loads((run_dir / "metrics.json").read_text())["run/global_step"] > 0
