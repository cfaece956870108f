"""Definer registry: config name -> class. A new definer is one small file plus one line here."""

from aqa.definers.base import Definer, DefinerError
from aqa.definers.config import DefinerConfig
from aqa.definers.dataset import DatasetDefiner
from aqa.definers.gmm import GMMDefiner
from aqa.definers.kmeans import KMeansDefiner
from aqa.definers.metadata import MetadataDefiner
from aqa.definers.none import NoneDefiner
from aqa.definers.random_labels import RandomDefiner

DEFINERS: dict[str, type[Definer]] = {
    "none": NoneDefiner,
    "random": RandomDefiner,
    "dataset": DatasetDefiner,
    "metadata": MetadataDefiner,
    "kmeans": KMeansDefiner,
    "gmm": GMMDefiner,
}


def definer_class(name: str) -> type[Definer]:
    """The registered class of `name` (its `simplicity`, `control`, `needs_*` describe it)."""
    if name not in DEFINERS:
        raise DefinerError(f"unknown domain definer {name!r}; choose one of {sorted(DEFINERS)}")
    return DEFINERS[name]


def build_definer(cfg: DefinerConfig) -> Definer:
    """An unfitted definer for `cfg` (name must be registered)."""
    return definer_class(cfg.name)(cfg)
