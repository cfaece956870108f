"""Definer registry: config name -> class. A new definer is one small file plus one line here (or a call to
`register`); ranking, reports and config validation ask this registry, nothing else lists definers."""

from aqa.config.domain import DefinerConfig
from aqa.definers.base import Definer, DefinerError
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


def register(cls: type[Definer]) -> type[Definer]:
    """Add a definer class under its `name` (usable as a decorator); a taken name is an error."""
    if not cls.name or cls.name in DEFINERS and DEFINERS[cls.name] is not cls:
        raise ValueError(f"cannot register definer {cls.__name__}: name {cls.name!r} is empty or taken")
    DEFINERS[cls.name] = cls
    return cls


def definer_class(name: str, where: str = "") -> type[Definer]:
    """The registered class of `name` (its `simplicity`, `control`, `needs_*`, `label` describe it).

    where: what names the definer in the error message (e.g. `aspect PQ`)."""
    if name not in DEFINERS:
        prefix = f"{where}: " if where else ""
        raise DefinerError(f"{prefix}unknown domain definer {name!r}; choose one of {sorted(DEFINERS)}")
    return DEFINERS[name]


def definer_label(cfg: DefinerConfig) -> str:
    """The readable name of a definer configuration, from its class."""
    return definer_class(cfg.name).label(cfg)


def build_definer(cfg: DefinerConfig) -> Definer:
    """An unfitted definer for `cfg` (name must be registered)."""
    return definer_class(cfg.name)(cfg)
