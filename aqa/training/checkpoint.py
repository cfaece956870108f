"""Load a trained model and its config from a checkpoint (for eval and predict)."""

from pathlib import Path

import torch
from omegaconf import OmegaConf

from aqa.config import load_config
from aqa.model.encoder import encoder_sample_rate
from aqa.model.module import AQAModule
from data_modules.manifest.columns import attach_domains


def load_checkpoint(path: str | Path, overrides: list[str] = ()) -> tuple[AQAModule, object, int]:
    """-> (module in eval mode, config = stored config <- overrides, encoder sample rate)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    stored = torch.load(path, map_location="cpu", weights_only=False)["hyper_parameters"]["config"]
    cfg = load_config(None, list(overrides), base=stored)
    # the module is built from the overridden config (e.g. model.encoder.name pointing at this machine's copy)
    config = OmegaConf.to_container(cfg, resolve=True)
    module = AQAModule.load_from_checkpoint(path, map_location="cpu", config=config).eval()
    return module, cfg, encoder_sample_rate(cfg.model.encoder)


def domains_from_checkpoint(module: AQAModule, table, aspects: list[str]):
    """Adds domain_<ASPECT> columns from the labels stored at training time (ids not seen then: -1)."""
    stored = module.domain_table or {"ids": [], "labels": {}}
    return attach_domains(table, stored["ids"], stored["labels"], aspects)
