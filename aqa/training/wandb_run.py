"""The W&B run id a run folder keeps (`wandb_run_id`), so `run.resume` continues the same W&B run."""

import os
from pathlib import Path

from lightning.pytorch.utilities import rank_zero_only

RUN_ID_FILE = "wandb_run_id"


def wandb_run_id(run_dir: Path, resume: bool) -> str:
    """The id to give wandb.init: the stored one when resuming, else the agent's (WANDB_RUN_ID) or a new one.

    Only rank 0 writes the file (the other DDP ranks never create a W&B run).
    """
    from wandb.sdk.lib.runid import generate_id  # noqa: PLC0415

    path = Path(run_dir) / RUN_ID_FILE
    if resume and path.is_file():
        return path.read_text().strip()
    run_id = os.environ.get("WANDB_RUN_ID") or generate_id()
    if rank_zero_only.rank == 0:
        path.write_text(run_id + "\n")
    return run_id
