"""aqa: robust quality assessment of generated audio (MERT + LoRA, per-aspect heads, domain adversaries)."""

__version__ = "0.1.0"
