"""The one mapping from the experiment (root) config to the sections `AQAModule` is built from, and the
rebuild of a module from a checkpoint (read safely: `read_checkpoint`, tensors and plain data only).

It sits in the model package, not in training, because the `run:` feature extractor (aqa/features, below
training) rebuilds trained modules too. Checkpoints written before the module took sections stored the
root config as the hyper-parameter `config`; `stored_config` reads either.
"""

import pickle
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from aqa.config import load_config
from aqa.model.module import AQAModule


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


FITTED = ("num_domains", "target_mean", "target_std", "class_weights", "domain_names")  # fitted in training


def module_sections(cfg) -> dict:
    """Experiment config (DictConfig or plain dict) -> AQAModule's config arguments, plain values:
    model, loss, optim (plateau monitor/mode: None -> checkpoint.monitor/mode), aspects, label_columns,
    min_source_clips, and `record` = the whole resolved config (kept in the checkpoint, never read)."""
    config = OmegaConf.to_container(OmegaConf.create(cfg) if isinstance(cfg, dict) else cfg, resolve=True)
    checkpoint = config["checkpoint"]
    optim = dict(config["optim"])
    optim["plateau_monitor"] = optim["plateau_monitor"] or checkpoint["monitor"]
    optim["plateau_mode"] = optim["plateau_mode"] or checkpoint["mode"]
    return {
        "model": config["model"],
        "loss": config["loss"],
        "optim": optim,
        "aspects": list(config["data"]["aspects"]),
        "label_columns": list(config["data"]["label_columns"]),
        "min_source_clips": int(config["metrics"]["min_source_clips"]),
        "record": config,
    }


def stored_config(hyper_parameters: dict) -> dict:
    """The experiment config a checkpoint stored: `record` (or `config`, in checkpoints before sections)."""
    config = hyper_parameters.get("record") or hyper_parameters.get("config")
    if config is None:
        raise ValueError("the checkpoint stores no experiment config (module built without `record`)")
    return config


def module_from_checkpoint(checkpoint: dict, overrides: list[str] = ()) -> tuple[AQAModule, DictConfig]:
    """-> (module in eval mode, config = the checkpoint's stored config <- `overrides`). The module is
    built from the overridden config (e.g. model.encoder.name pointing at this machine's copy) and the
    checkpoint's fitted hyper-parameters, then gets its weights and domain extras."""
    cfg = load_config(None, list(overrides), base=stored_config(checkpoint["hyper_parameters"]))
    fitted = {k: v for k, v in checkpoint["hyper_parameters"].items() if k in FITTED}
    module = AQAModule(
        **module_sections(cfg),
        **fitted,
        domain_state=checkpoint.get("aqa_domains"),
        domain_table=checkpoint.get("aqa_domain_table"),
    )
    module.load_state_dict(checkpoint["state_dict"])  # keys of pre-AspectModel checkpoints are renamed
    return module.eval(), cfg
