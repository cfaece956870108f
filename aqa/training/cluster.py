"""Which cluster environment the Trainer uses (`trainer.cluster`): who starts the DDP processes.

Lightning picks SLURM's environment whenever SLURM_NTASKS is set, so inside `sbatch --ntasks-per-node=1`
with `trainer.devices=4` it expects 4 tasks that `srun` never started and refuses the run ("the number of
tasks per node ... does not match"). `auto` lets Lightning start the local processes itself in exactly that
case (one task on one node, several devices) and otherwise keeps Lightning's own choice.
"""

import os

import torch
from lightning.fabric.plugins.environments import (
    ClusterEnvironment,
    LightningEnvironment,
    SLURMEnvironment,
    TorchElasticEnvironment,
)
from lightning.pytorch.utilities import rank_zero_info

CLUSTER_MODES = ("auto", "slurm", "lightning", "torchelastic")


def process_count(accelerator: str, devices) -> int:
    """Processes one node runs for `devices` (an int, a list of ids, or "auto"; -1 = all GPUs)."""
    if isinstance(devices, list | tuple):
        return len(devices)
    gpus = torch.cuda.device_count() if str(accelerator) in ("auto", "gpu", "cuda") else 0
    if devices == "auto" or devices == -1:
        return max(1, gpus)
    return int(devices)


def slurm_tasks_per_node() -> int:
    """Tasks SLURM started on this node (`--ntasks-per-node`, else `--ntasks` on one node)."""
    value = os.environ.get("SLURM_NTASKS_PER_NODE") or os.environ.get("SLURM_NTASKS", "1")
    return int(value.split("(")[0])  # a heterogeneous job writes e.g. "4(x2)"


def cluster_environment(mode: str, accelerator: str, devices, num_nodes: int) -> ClusterEnvironment | None:
    """The environment plugin for `trainer.cluster`, or None to let Lightning detect it."""
    if mode not in CLUSTER_MODES:
        raise ValueError(f"trainer.cluster={mode!r}: expected one of {', '.join(CLUSTER_MODES)}")
    if mode == "slurm":
        return SLURMEnvironment()
    if mode == "lightning":
        return LightningEnvironment()
    if mode == "torchelastic":
        return TorchElasticEnvironment()
    under_slurm = SLURMEnvironment.detect() and not TorchElasticEnvironment.detect()
    processes = process_count(accelerator, devices)
    if under_slurm and num_nodes == 1 and processes > 1 and slurm_tasks_per_node() == 1:
        rank_zero_info(
            f"[aqa] SLURM started 1 task for trainer.devices={processes}: Lightning starts the other "
            "processes on this node (trainer.cluster=lightning). Multi-node: srun --ntasks-per-node=<gpus>."
        )
        return LightningEnvironment()
    return None
