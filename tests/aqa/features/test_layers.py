"""The config schema loads without the definers, features or torch (it only names their settings)."""

import subprocess
import sys


def test_config_schema_is_light():
    code = (
        "import sys; from aqa.config import load_config; load_config(None, ['data.manifest=x.csv']); "
        "print(sorted(m for m in ('aqa.definers', 'aqa.features', 'torch', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
