"""Callbacks of `aqa train` (kept out of the command module so `aqa train --help` imports no Lightning)."""

import torch.distributed as dist
from lightning.pytorch.callbacks import Callback


class LabelAgreement(Callback):
    """Fails fast if DDP ranks hold different domain labels (they must share rank 0's fit)."""

    def __init__(self, digest: str):
        self.digest = digest

    def on_fit_start(self, trainer, pl_module) -> None:
        if not (dist.is_available() and dist.is_initialized()):
            return
        digests: list = [None] * dist.get_world_size()
        dist.all_gather_object(digests, self.digest)
        if len(set(digests)) != 1:
            raise RuntimeError(f"domain labels differ across DDP ranks: {digests}")
