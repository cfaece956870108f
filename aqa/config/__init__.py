"""Typed experiment configuration: schema (all defaults) and loading with dotlist overrides."""

from aqa.config.load import load_config, save_config
from aqa.config.schema import AQAConfig

__all__ = ["AQAConfig", "load_config", "save_config"]
