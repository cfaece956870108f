"""W&B's sweep engine proposes the same trials on numpy 1 and numpy 2 (`sweeps==0.3.0` declares numpy<2).

The golden file was written on numpy 1.26 (`python tests/aqa/sweep/test_sweep_proposals.py`); CI runs this
test on numpy 2. Grid files: the first proposals; bayes files: the first proposals with numpy's legacy
global generator seeded (its stream is the same on every numpy version), with no runs and after 3 finished.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from aqa.sweep.command import load_sweep
from aqa.sweep.offline import propose
from aqa.sweep.state import Trial

REPO = Path(__file__).resolve().parents[3]
GOLDEN = Path(__file__).parent / "data" / "sweep_proposals.json"
SWEEP_FILES = sorted((REPO / "sweeps").glob("*.yaml"))


def proposals(path: Path) -> list[dict]:
    """The engine's first proposals for one sweep file (seeded, so bayes is repeatable)."""
    sweep = load_sweep(path)
    np.random.seed(0)
    first = propose(sweep, [], n=3)
    if sweep["method"] != "bayes":
        return first
    metric = sweep["metric"]["name"]
    done = [
        Trial(id=f"t{i}", params=params, status={"state": "finished"}, metrics={metric: 0.1 * (i + 1)})
        for i, params in enumerate(first)
    ]
    np.random.seed(0)
    return first + propose(sweep, done, n=1)


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.name)
def test_proposals_match_numpy1_golden(path):
    golden = json.loads(GOLDEN.read_text())
    assert proposals(path) == golden[path.name]


def test_missing_engine_names_the_install_command(monkeypatch):
    from data_modules.errors import UserError

    monkeypatch.setitem(sys.modules, "sweeps", None)  # `import sweeps` raises ImportError
    with pytest.raises(UserError, match=r"pip install --no-deps sweeps==0\.3\.0"):
        load_sweep(SWEEP_FILES[0])


if __name__ == "__main__":  # regenerate the golden file (on numpy<2)
    assert np.__version__.startswith("1."), np.__version__
    GOLDEN.write_text(json.dumps({p.name: proposals(p) for p in SWEEP_FILES}, indent=1) + "\n")
    print(f"wrote {GOLDEN}", file=sys.stderr)
