"""Load a trained model and its config from a checkpoint or an `aqa export` folder (for eval and predict).

Loading never runs code from the file: checkpoints are read with `torch.load(weights_only=True)` (tensors
and plain data only), exports are safetensors + JSON.
"""

import pickle
from pathlib import Path

import torch

from aqa.config import load_config
from aqa.model.encoder import encoder_sample_rate
from aqa.model.module import AQAModule
from aqa.model.sections import module_from_checkpoint, stored_config
from data_modules.manifest.columns import attach_domains


class UnsafeCheckpointError(ValueError):
    """A checkpoint holding Python objects beyond tensors and plain data: aqa refuses to unpickle it."""


def read_checkpoint(path: str | Path) -> dict:
    """The checkpoint dict, read with `weights_only=True`; refuses (without running it) any other object."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # torch's text goes on to suggest allow-listing the object: keep only what it found
        detail = str(err).split("WeightsUnpickler error:")[-1].strip().splitlines()[0]
        detail = detail.split(" was not an allowed global")[0]
        raise UnsafeCheckpointError(
            f"refusing to load {path}: it holds Python objects that loading would have to execute "
            f"({detail}). aqa checkpoints hold only tensors and plain data; do not load this file with "
            "weights_only=False unless you trust whoever made it."
        ) from None


def load_checkpoint(path: str | Path, overrides: list[str] = ()) -> tuple[AQAModule, object, int]:
    """-> (module in eval mode, config = stored config <- overrides, encoder sample rate).

    `path` is a Lightning `.ckpt` or a folder written by `aqa export` (`aqa.training.export`).
    """
    if Path(path).is_dir():
        from aqa.training.export import load_export  # noqa: PLC0415

        module, cfg = load_export(path, overrides)
        return module, cfg, encoder_sample_rate(cfg.model.encoder)
    checkpoint = read_checkpoint(path)
    cfg = load_config(None, list(overrides), base=stored_config(checkpoint["hyper_parameters"]))
    # the module is built from the overridden config (e.g. model.encoder.name pointing at this machine's copy)
    module = module_from_checkpoint(checkpoint, cfg).eval()
    return module, cfg, encoder_sample_rate(cfg.model.encoder)


def domains_from_checkpoint(module: AQAModule, table, aspects: list[str]):
    """Adds domain_<ASPECT> columns from the labels stored at training time (ids not seen then: -1)."""
    stored = module.domain_table or {"ids": [], "labels": {}}
    return attach_domains(table, stored["ids"], stored["labels"], aspects)
