"""Sweeps: run W&B sweep files offline, rank domain definers per aspect, write the selection."""

import warnings

# `sweeps` 0.3.0 declares a pydantic v1 config option; pydantic v2 warns about it on import
warnings.filterwarnings("ignore", message="Valid config keys have changed in V2", category=UserWarning)
