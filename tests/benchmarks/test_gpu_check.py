"""benchmarks/gpu_check.py runs end to end on CPU with --cpu-smoke (the GPU run itself is manual)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_cpu_smoke_prints_the_table():
    env = os.environ | {"PYTHONPATH": str(ROOT), "WANDB_MODE": "disabled"}
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/gpu_check.py"), "--cpu-smoke"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    lines = out.stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in lines if line.startswith(("bf16-mixed", "32-true"))}
    assert set(rows) == {"bf16-mixed", "32-true"}, out.stdout
    for row in rows.values():
        step_ms, clips_s, gflop, ratio = float(row[1]), float(row[2]), float(row[3]), float(row[5])
        assert step_ms > 0 and clips_s > 0 and gflop > 0 and ratio > 0
        assert row[4] == "nan%"  # no GPU peak on CPU: MFU is not made up
    assert any("2-GPU DDP: skipped" in line for line in lines)
    cache = [line for line in lines if line.startswith("layer cache:")]
    assert len(cache) == 1 and "768 bytes per clip (192 floats)" in cache[0]  # tiny: 3 x 64 float32
