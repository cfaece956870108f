"""Load an experiment YAML into the typed schema and apply `key=value` overrides (W&B's `${args_no_hyphens}`)."""

import re
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

from aqa.config.schema import AQAConfig
from data_modules.errors import UserError


class ConfigError(UserError):
    """A config key or value the schema does not accept (the message names it)."""


# `domain.definer=kmeans` and `domain.definers.PQ=dataset` are shorthands for `...name=...`
_DEFINER_SHORTHAND = re.compile(r"^(domain\.definer|domain\.definers\.[^.=]+)=(?![{\[])(.*)$")


def _expand_shorthand(override: str) -> str:
    match = _DEFINER_SHORTHAND.match(override)
    return f"{match.group(1)}.name={match.group(2)}" if match else override


def _null(override: str) -> str:
    """`key=None` (what `wandb agent` writes for a null value) means null, like `key=null`."""
    key, value = override.split("=", 1)
    return f"{key}=null" if value.strip() in ("None", "null", "~") else override


def _merge(base: DictConfig, other, source: str) -> DictConfig:
    try:
        return OmegaConf.merge(base, other)
    except (ConfigKeyError, ConfigAttributeError) as err:
        raise ConfigError(f"unknown config key {err.full_key!r} in {source}") from None
    except ValidationError as err:
        raise ConfigError(f"invalid value for {err.full_key!r} in {source}: {err.msg}") from None


def load_config(
    experiment: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    base: dict | None = None,
) -> DictConfig:
    """Schema defaults <- `base` (e.g. a checkpoint's config) <- experiment YAML <- dotlist overrides.

    Unknown keys raise ConfigError naming the key.
    """
    cfg = OmegaConf.structured(AQAConfig)
    if base is not None:
        cfg = _merge(cfg, base, "the stored config")
    if experiment is not None:
        path = Path(experiment)
        if not path.is_file():
            raise ConfigError(f"experiment file not found: {path}")
        cfg = _merge(cfg, OmegaConf.load(path), str(path))
    bad = [o for o in overrides if "=" not in o]
    if bad:
        raise ConfigError(f"overrides must look like key=value, got {bad}")
    expanded = [_null(_expand_shorthand(o.removeprefix("--"))) for o in overrides]
    if expanded:
        cfg = _merge(cfg, OmegaConf.from_dotlist(expanded), "command-line overrides")
    OmegaConf.set_readonly(cfg, False)
    return expand_definer_handling(expand_selection(cfg))


# a definer field that names a model setting of the aspects using it: field -> (global key under
# `model`, per-aspect field of `model.aspects.<A>`); one sweep value can then name a whole strategy
DEFINER_MODEL_FIELDS = {
    "handling": ("domain_handling", "domain_handling"),
    "lambda_max": ("adversary.lambda_max", "lambda_max"),
}


def expand_definer_handling(cfg: DictConfig) -> DictConfig:
    """A definer's `handling` and `lambda_max` -> the model settings of the aspects that use it:
    `domain.definer.handling` sets `model.domain_handling` (`lambda_max`: `model.adversary.lambda_max`),
    `domain.definers.<A>.<field>` sets `model.aspects.<A>.<field>` (unless that is given explicitly)."""
    dotlist = []
    for field, (global_key, aspect_field) in DEFINER_MODEL_FIELDS.items():
        if cfg.domain.definer.get(field) is not None:
            dotlist.append(f"model.{global_key}={cfg.domain.definer[field]}")
        for aspect, definer in cfg.domain.definers.items():
            explicit = OmegaConf.select(cfg, f"model.aspects.{aspect}.{aspect_field}", default=None)
            if definer.get(field) is not None and explicit is None:
                dotlist.append(f"model.aspects.{aspect}.{aspect_field}={definer[field]}")
    if not dotlist:
        return cfg
    return _merge(cfg, OmegaConf.from_dotlist(dotlist), "domain definer handling")


def selection_settings(selection: dict, source: str) -> dict[str, tuple[dict, dict]]:
    """selection.yaml -> {aspect: (definer fields, per-aspect model settings)}.

    Entries are `{definer: {...}, model: {...}}` (`aqa select`), or the older flat DefinerConfig fields.
    """
    if not isinstance(selection, dict):
        raise ConfigError(f"domain.selection {source}: expected {{aspect: {{definer: ..., model: ...}}}}")
    out = {}
    for aspect, entry in selection.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"domain.selection {source}: entry {aspect!r} is not a mapping")
        if "definer" in entry:
            out[aspect] = (dict(entry["definer"] or {}), dict(entry.get("model") or {}))
        else:
            out[aspect] = (dict(entry), {})
    return out


def expand_selection(cfg: DictConfig) -> DictConfig:
    """`domain.selection=FILE` -> `domain.definers.<A>` (merged over `domain.definer`) and
    `model.aspects.<A>.<field>`; settings given explicitly (a `domain.definers.<A>`, a non-null
    `model.aspects.<A>.<field>`) win over the file."""
    if not cfg.domain.selection or set(cfg.data.aspects) <= set(cfg.domain.definers):
        return cfg  # nothing to expand, or already expanded (a run's stored config)
    path = Path(cfg.domain.selection).expanduser()
    if not path.is_file():
        raise ConfigError(f"domain.selection file not found: {path}")
    settings = selection_settings(OmegaConf.to_container(OmegaConf.load(path)), str(path))
    unknown = sorted(set(settings) - set(cfg.data.aspects))
    if unknown:
        raise ConfigError(f"domain.selection {path} names aspect(s) {unknown} not in data.aspects")
    update: dict = {"domain": {"definers": {}}, "model": {"aspects": {}}}
    for aspect, (definer, model) in settings.items():
        if aspect not in cfg.domain.definers:
            update["domain"]["definers"][aspect] = OmegaConf.merge(cfg.domain.definer, definer)
        explicit = OmegaConf.select(cfg, f"model.aspects.{aspect}", default=None) or {}
        model = {k: v for k, v in model.items() if explicit.get(k) is None}
        if model:
            update["model"]["aspects"][aspect] = model
    if not update["model"]["aspects"]:
        del update["model"]
    return _merge(cfg, update, f"domain.selection ({path})")


def save_config(cfg: DictConfig, path: str | Path) -> None:
    """Write the resolved config (what a run actually used)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, path, resolve=True)


def to_yaml(cfg: DictConfig) -> str:
    return OmegaConf.to_yaml(cfg, resolve=True)
