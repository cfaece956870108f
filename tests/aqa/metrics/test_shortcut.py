"""The source-lookup reference predictor (each train source's mean train MOS)."""

import math

import numpy as np
import pandas as pd
import pytest

from aqa.metrics.shortcut import shortcut_metrics, source_lookup


def _table(seed=0):
    """4 sources whose mean MOS differs a lot, 2 systems per source in val."""
    rng = np.random.default_rng(seed)
    rows = []
    for s, mean in enumerate((2.0, 4.0, 6.0, 8.0)):
        for split, n in (("train", 30), ("val", 10)):
            for k in range(n):
                rows.append(
                    {
                        "id": f"{split}-{s}-{k}",
                        "split": split,
                        "dataset": f"src{s}",
                        "system": f"src{s}-{split}-{k % 2}",
                        "PQ": mean + rng.normal(0, 1.0),
                    }
                )
    rows.append({"id": "new", "split": "val", "dataset": "unseen", "system": "u", "PQ": 5.0})
    return pd.DataFrame(rows)


def test_lookup_predicts_train_source_means():
    table = _table()
    pred = source_lookup(table, ["PQ"], "train", np.array(["src0", "src3", "unseen"]))["PQ"].to_numpy()
    train = table[table["split"] == "train"]
    assert pred[0] == pytest.approx(train.loc[train["dataset"] == "src0", "PQ"].mean())
    assert pred[1] == pytest.approx(train.loc[train["dataset"] == "src3", "PQ"].mean())
    assert pred[2] == pytest.approx(train["PQ"].mean())  # unseen source: global train mean


def test_lookup_scores_zero_within_and_high_pooled():
    table = _table()
    val = table[table["split"] == "val"].rename(columns={"PQ": "target_PQ"})
    val = val.assign(pred_PQ=np.nan)  # the model's predictions are replaced, not used
    m = shortcut_metrics(table, ["PQ"], {"val": val}, "train", min_source_clips=5)
    assert m["shortcut/val/PQ/within_srcc"] == 0.0 and m["shortcut/val/PQ/within_sources"] == 4
    assert m["shortcut/val/PQ/sys_srcc"] > 0.8  # 9 systems: a correlation mostly across source means
    assert m["shortcut/val/PQ/utt_srcc"] > 0.7
    assert m["shortcut/val/mean/within_srcc"] == 0.0
    assert set(m) >= {"shortcut/val/PQ/utt_lcc", "shortcut/val/PQ/sys_mse", "shortcut/val/mean/sys_srcc"}


def test_lookup_on_an_unseen_source_is_constant():
    table = _table()
    ood = pd.DataFrame(
        {"id": list("abcdef"), "dataset": "unseen", "system": list("aabbcc"), "target_PQ": np.arange(6.0)}
    )
    m = shortcut_metrics(table, ["PQ"], {"test_ood": ood}, "train", min_source_clips=5)
    assert math.isnan(m["shortcut/test_ood/PQ/utt_srcc"])  # constant: ranks nothing
    assert m["shortcut/test_ood/PQ/within_srcc"] == 0.0


def test_lookup_system_means_stay_constant_despite_rounding():
    """6.732655185893089 averaged over 7 and over 6 copies differs in the last bit: still constant."""
    table = _table()
    table.loc[table["split"] == "train", "PQ"] = 6.732655185893089
    sizes = [7, 6, 7, 6, 5]
    systems = [f"s{i}" for i, n in enumerate(sizes) for _ in range(n)]
    ood = pd.DataFrame(
        {
            "id": [f"x{i}" for i in range(len(systems))],
            "dataset": "unseen",
            "system": systems,
            "target_PQ": np.random.default_rng(0).uniform(1, 10, len(systems)),
        }
    )
    m = shortcut_metrics(table, ["PQ"], {"test_ood": ood}, "train")
    assert math.isnan(m["shortcut/test_ood/PQ/sys_srcc"]) and math.isnan(m["shortcut/test_ood/PQ/utt_srcc"])
