"""Load a trained model and its config from a checkpoint or an `aqa export` folder (for eval and predict).

Loading never runs code from the file: checkpoints are read with `torch.load(weights_only=True)` (tensors
and plain data only), exports are safetensors + JSON.
"""

from pathlib import Path

from aqa.model.encoder import encoder_sample_rate
from aqa.model.module import AQAModule
from aqa.model.sections import module_from_checkpoint, read_checkpoint
from data_modules.manifest.columns import attach_domains


def load_checkpoint(path: str | Path, overrides: list[str] = ()) -> tuple[AQAModule, object, int]:
    """-> (module in eval mode, config = stored config <- overrides, encoder sample rate).

    `path` is a Lightning `.ckpt` or a folder written by `aqa export` (`aqa.training.export`).
    """
    if Path(path).is_dir():
        from aqa.training.export import load_export  # noqa: PLC0415

        module, cfg = load_export(path, overrides)
        return module, cfg, encoder_sample_rate(cfg.model.encoder)
    module, cfg = module_from_checkpoint(read_checkpoint(path), overrides)
    return module, cfg, encoder_sample_rate(cfg.model.encoder)


def domains_from_checkpoint(module: AQAModule, table, aspects: list[str], neutral_splits=()):
    """Adds domain_<ASPECT> columns from the labels stored at training time (ids not seen then, and rows of
    `neutral_splits`: -1)."""
    stored = module.domain_table or {"ids": [], "labels": {}}
    return attach_domains(table, stored["ids"], stored["labels"], aspects, neutral_splits)
