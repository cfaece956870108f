"""Which definer each aspect uses: `domain.definers.<A>`, else the `domain.selection` file, else `domain.definer`."""

import dataclasses
import json
from pathlib import Path

from omegaconf import OmegaConf

from aqa.definers.base import DefinerError
from aqa.definers.config import DefinerConfig
from aqa.definers.registry import DEFINERS


def as_definer_config(section) -> DefinerConfig:
    """A DefinerConfig from a DictConfig section, a dict or the dataclass itself."""
    if isinstance(section, DefinerConfig):
        return section
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(DefinerConfig), section))


def definer_key(cfg: DefinerConfig) -> str:
    """Canonical text of a definer config: equal keys are fitted once and shared."""
    return json.dumps(dataclasses.asdict(cfg), sort_keys=True)


def resolve_definers(domain, aspects: list[str]) -> dict[str, DefinerConfig]:
    """domain: the `domain:` section. Returns {aspect: DefinerConfig} in `aspects` order.

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
            cfg = as_definer_config(overrides[aspect])
        elif aspect in selection:
            cfg = as_definer_config(OmegaConf.merge(base, selection[aspect]))
        else:
            cfg = as_definer_config(base)
        if cfg.name not in DEFINERS:
            raise DefinerError(
                f"aspect {aspect}: unknown domain definer {cfg.name!r}; choose one of {sorted(DEFINERS)}"
            )
        resolved[aspect] = cfg
    return resolved
