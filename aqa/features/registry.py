"""Extractor registry: spec name -> class. A new extractor is one small file plus one line here."""

from aqa.features.acoustic import AcousticExtractor
from aqa.features.base import Extractor
from aqa.features.encoder import EncoderExtractor
from aqa.features.layers import LayersExtractor
from aqa.features.run import RunExtractor

EXTRACTORS: dict[str, type[Extractor]] = {
    "encoder": EncoderExtractor,
    "acoustic": AcousticExtractor,
    "run": RunExtractor,
    "layers": LayersExtractor,
}


def extractor_for(spec: str) -> Extractor:
    """The extractor of a spec `name` or `name:arg` (e.g. `run:runs/x/checkpoints/best.ckpt@PQ`)."""
    name, _, arg = str(spec).partition(":")
    if name not in EXTRACTORS:
        lines = "; ".join(f"{n}: {cls.description}" for n, cls in EXTRACTORS.items())
        raise ValueError(f"unknown features {spec!r}; choose one of {sorted(EXTRACTORS)} ({lines})")
    return EXTRACTORS[name](arg or None)
