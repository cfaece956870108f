"""Per-aspect model settings: `model.aspects.<ASPECT>` over the global `model.*` / `model.adversary.*` values."""

from dataclasses import dataclass

from aqa.model.handling.registry import HANDLINGS

CAPACITIES = ("shared", "projected", "separate")


@dataclass(frozen=True)
class AspectSettings:
    """What one aspect's domain handling uses (every field resolved: no None)."""

    domain_handling: str
    lambda_max: float
    gamma: float
    weight: float

    @property
    def adversarial(self) -> bool:
        """True when this aspect trains a domain classifier behind gradient reversal."""
        return HANDLINGS[self.domain_handling].adversarial


def _check(value: str, allowed: tuple[str, ...], key: str) -> str:
    if value not in allowed:
        raise ValueError(f"{key} must be one of {'|'.join(allowed)}, got {value!r}")
    return value


def _pick(own, name: str, default):
    value = own.get(name)
    return default if value is None else value


def aspect_settings(model_cfg, aspects: list[str]) -> dict[str, AspectSettings]:
    """{aspect: settings} from `model.aspects` (None fields take the global value); an aspect name in
    `model.aspects` that is not in `data.aspects` is an error, as is an unknown handling."""
    per_aspect = dict(model_cfg.get("aspects") or {})
    unknown = sorted(set(per_aspect) - set(aspects))
    if unknown:
        raise ValueError(f"model.aspects names {unknown}, not in data.aspects {aspects}")
    _check(model_cfg.get("aspect_capacity", "shared"), CAPACITIES, "model.aspect_capacity")
    adv = model_cfg.adversary
    out = {}
    for a in aspects:
        own = per_aspect.get(a) or {}
        handling = _pick(own, "domain_handling", model_cfg.get("domain_handling", "adversarial"))
        key = f"model.aspects.{a}.domain_handling" if own.get("domain_handling") else "model.domain_handling"
        out[a] = AspectSettings(
            domain_handling=_check(handling, tuple(HANDLINGS), key),
            lambda_max=float(_pick(own, "lambda_max", adv.lambda_max)),
            gamma=float(_pick(own, "gamma", adv.gamma)),
            weight=float(_pick(own, "weight", adv.weight)),
        )
    return out
