"""aqa: robust quality assessment of generated audio (MERT + LoRA, per-aspect heads, domain adversaries)."""

__version__ = "0.1.0"
__all__ = ["Predictor"]


def __getattr__(name: str):
    # `from aqa import Predictor` without importing torch and Lightning for every `import aqa`
    if name == "Predictor":
        from aqa.training.predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'aqa' has no attribute {name!r}")
