"""Device and precision names of `aqa predict` and the Python API (no torch here: `--help` stays fast)."""

DEVICES = ("auto", "cpu", "cuda")
# precision name -> torch dtype name of autocast (None: plain float32)
PRECISIONS = {"32": None, "32-true": None, "bf16-mixed": "bfloat16", "16-mixed": "float16"}
