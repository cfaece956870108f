"""Which definer each aspect uses: `domain.definers.<A>`, else the `domain.selection` file, else `domain.definer`."""

import dataclasses
import json
from pathlib import Path

from omegaconf import OmegaConf

from aqa.config.domain import DefinerConfig
from aqa.definers.base import DefinerError
from aqa.definers.registry import definer_class


def as_definer_config(section, seed: int | None = None) -> DefinerConfig:
    """A DefinerConfig from a DictConfig section, a dict or the dataclass itself; a None seed becomes `seed`."""
    if not isinstance(section, DefinerConfig):
        section = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(DefinerConfig), section))
    if section.seed is None and seed is not None:
        section = dataclasses.replace(section, seed=int(seed))
    return section


def definer_key(cfg: DefinerConfig) -> str:
    """Canonical text of a definer config: equal keys are fitted once and shared."""
    # `handling` and `lambda_max` are how the model uses the labels, not how they are fitted: no refit
    fields = dataclasses.asdict(dataclasses.replace(cfg, handling=None))
    del fields["lambda_max"]  # absent, not null: the keys of labels fitted before lambda_max existed hold
    return json.dumps(fields, sort_keys=True)


def check_definer(cfg: DefinerConfig, where: str) -> DefinerConfig:
    """The registry knows the name; a definer that needs features names a known extractor."""
    cls = definer_class(cfg.name, where)
    spec = cls.features(cfg)
    if spec is not None:
        from aqa.features.registry import extractor_for

        try:
            extractor_for(spec)
        except ValueError as err:
            raise DefinerError(f"{where}: domain definer {cfg.name}: {err}") from None
    return cfg


def resolve_definers(domain, aspects: list[str], seed: int | None = None) -> dict[str, DefinerConfig]:
    """domain: the `domain:` section; seed: the run's top-level `seed` (fills definers whose seed is None).
    Returns {aspect: DefinerConfig} in `aspects` order.

    Precedence: per-aspect override > selection file (merged onto `domain.definer`) > `domain.definer`.
    Aspect names in overrides or the selection that are not configured aspects are errors (typos).
    """
    base = OmegaConf.structured(as_definer_config(domain.definer))
    selection = {}
    if domain.selection:
        path = Path(domain.selection).expanduser()
        if not path.is_file():
            raise DefinerError(f"domain.selection file not found: {path}")
        selection = OmegaConf.to_container(OmegaConf.load(path)) or {}
        if not isinstance(selection, dict):
            raise DefinerError(f"domain.selection {path}: expected {{aspect: {{name: ..., ...}}}}")
    overrides = dict(domain.definers or {})
    for source, names in (
        ("domain.definers", overrides),
        (f"domain.selection ({domain.selection})", selection),
    ):
        unknown = sorted(set(names) - set(aspects))
        if unknown:
            raise DefinerError(f"{source} names aspect(s) {unknown} not in data.aspects {list(aspects)}")
    resolved = {}
    for aspect in aspects:
        if aspect in overrides:
            cfg = as_definer_config(overrides[aspect], seed)
        elif aspect in selection:
            cfg = as_definer_config(OmegaConf.merge(base, selection[aspect]), seed)
        else:
            cfg = as_definer_config(base, seed)
        resolved[aspect] = check_definer(cfg, f"aspect {aspect}")
    return resolved
