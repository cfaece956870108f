"""The exact memo of metric functions: a hit needs equal inputs, returns the numbers of a fresh call, and
a caller cannot change what later callers get."""

import numpy as np
import pandas as pd

from aqa.definers.probe import domain_probe
from aqa.metrics import scores
from aqa.metrics.memo import Memo, array_key


def clips(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 40
    frame = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "system": [f"s{i % 8}" for i in range(n)],
            "dataset": [f"d{i % 3}" for i in range(n)],
            "pred_PQ": rng.normal(size=n),
            "target_PQ": rng.normal(size=n),
        }
    )
    frame["domain_PQ"] = np.arange(n) % 2
    return frame


def test_split_metrics_memo_returns_fresh_numbers_and_copies():
    frame = clips()
    names = {"PQ": ["a", "b"]}
    fresh = scores._split_metrics(frame, ["PQ"], "val", names, 5)
    first = scores.split_metrics(frame, ["PQ"], "val", names)
    first["val/PQ/utt_srcc"] = 99.0  # a caller's change stays its own
    again = scores.split_metrics(frame.copy(), ["PQ"], "val", names)
    assert again == fresh
    changed = frame.copy()
    changed.loc[3, "pred_PQ"] += 1.0  # one prediction differs: computed again
    assert scores.split_metrics(changed, ["PQ"], "val", names) == scores._split_metrics(
        changed, ["PQ"], "val", names, 5
    )
    assert scores.split_metrics(changed, ["PQ"], "val", names)["val/PQ/utt_mse"] != fresh["val/PQ/utt_mse"]


def test_per_domain_srcc_is_the_pair_metrics_srcc():
    frame = clips(1)
    out = scores.split_metrics(frame, ["PQ"], "val", {"PQ": ["a", "b"]})
    part = frame[frame["domain_PQ"] == 1]
    expected = scores.pair_metrics(part["pred_PQ"].to_numpy(), part["target_PQ"].to_numpy())["srcc"]
    assert out["val/PQ/utt_srcc_dom_b"] == expected


def test_domain_probe_memo_equal_inputs_only():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(30, 3)), np.arange(30) % 3
    first = domain_probe(x, y, seed=1)
    assert domain_probe(x.copy(), y.copy(), seed=1) == first
    assert domain_probe(x, y, seed=1) is not domain_probe(x, y, seed=1)  # copies
    other = domain_probe(x + 3 * y[:, None], y, seed=1)  # other inputs: fitted again
    assert other["acc"] > first["acc"]


def test_memo_keys_and_size():
    assert array_key(np.zeros(3)) != array_key(np.zeros(3, np.float32))  # dtype is part of the key
    assert array_key(np.zeros((3, 1))) != array_key(np.zeros(3))  # so is the shape
    memo, calls = Memo(size=2), []
    for key in ("a", "b", "a", "c", "b"):
        memo.get(key, lambda k=key: calls.append(k) or {"k": k})
    assert calls == ["a", "b", "c", "b"]  # `b` was the least recently used when `c` came in
