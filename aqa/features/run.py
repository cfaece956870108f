"""`run:<checkpoint>[@ASPECT]`: a trained run's pooled per-aspect embeddings (the input of its MOS heads).

With `@ASPECT` the features are that aspect's pooled embedding (D,); without, every aspect's, concatenated
(A * D,). The run must take audio at the same sample rate as the current experiment's encoder.
"""

import hashlib
from pathlib import Path

import numpy as np
import torch

from aqa.features.base import Extractor


def file_digest(path: Path) -> str:
    """sha256 of the checkpoint file (the features depend on its weights, whatever its path)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class RunExtractor(Extractor):
    name = "run"
    description = "a trained run's pooled per-aspect embeddings: run:<checkpoint>[@ASPECT]"

    def _parsed(self) -> tuple[Path, str | None]:
        if not self.arg:
            raise ValueError(
                "features run needs a checkpoint: features=run:<path/to/checkpoint.ckpt>[@ASPECT]"
            )
        path, _, aspect = self.arg.rpartition("@") if "@" in self.arg else (self.arg, "", "")
        path = Path(path).expanduser()
        if not path.is_file():
            raise ValueError(f"features {self.name}:{self.arg}: checkpoint not found: {path}")
        return path, aspect or None

    def identity(self, settings):
        path, aspect = self._parsed()
        return {"checkpoint_sha256": file_digest(path), "aspect": aspect}

    def open(self, settings, sample_rate):
        from aqa.model.encoder import encoder_sample_rate
        from aqa.model.sections import module_from_checkpoint, read_checkpoint

        path, aspect = self._parsed()
        module, _ = module_from_checkpoint(read_checkpoint(path))  # refuses pickled objects, runs none
        run_rate = encoder_sample_rate(module.model_cfg.encoder)
        if run_rate != sample_rate:
            raise ValueError(
                f"features run:{path}: the run's encoder takes {run_rate} Hz, this one {sample_rate}"
            )
        if aspect is not None and aspect not in module.aspects:
            raise ValueError(f"features run:{path}@{aspect}: the run has aspects {module.aspects}")
        index = None if aspect is None else module.aspects.index(aspect)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        module = module.to(device)

        @torch.inference_mode()
        def features(audio, lengths):  # (B, T), (B,) -> (B, D) or (B, A * D)
            pooled = module.features(audio.to(device), lengths.to(device))  # (B, A, D)
            pooled = pooled.flatten(1) if index is None else pooled[:, index]
            return pooled.double().cpu().numpy().astype(np.float64)

        return features
