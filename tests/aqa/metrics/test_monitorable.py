"""monitor_problem: a checkpoint monitor that is NaN whatever the model predicts is named with its fix."""

import numpy as np
import pandas as pd
import pytest

from aqa.metrics.monitorable import monitor_problem
from aqa.metrics.scores import split_metrics


def _val(per_source: int, sources: int, constant: bool = False) -> pd.DataFrame:
    n = per_source * sources
    return pd.DataFrame(
        {
            "split": "val",
            "dataset": [f"d{i % sources}" for i in range(n)],
            "system": [f"s{i % 3}" for i in range(n)],
            "PQ": np.full(n, 3.0) if constant else np.arange(n, dtype=float),
        }
    )


@pytest.mark.parametrize(
    ("monitor", "table", "nan"),
    [
        ("val/mean/within_srcc", _val(2, 2), True),  # 4 clips over 2 sources < min_source_clips
        ("val/mean/within_srcc", _val(5, 2), False),
        ("val/PQ/within_srcc", _val(5, 1, constant=True), True),  # constant targets rank nothing
        ("val/mean/utt_srcc", _val(2, 2), False),
        ("val/mean/utt_srcc", _val(2, 2, constant=True), True),
        ("val/mean/sys_srcc", _val(1, 1), True),  # one clip, one system
        ("val/mean/utt_mse", _val(2, 2, constant=True), False),
    ],
)
def test_problem_iff_the_metric_is_nan_for_any_prediction(monitor, table, nan):
    problem = monitor_problem(monitor, table, ["PQ"], "val", 5)
    assert (problem is not None) == nan, problem
    rng = np.random.default_rng(0)
    clips = table.assign(target_PQ=table["PQ"], pred_PQ=rng.normal(size=len(table)))
    value = split_metrics(clips, ["PQ"], "val", min_source_clips=5)[monitor]
    assert np.isnan(value) == nan
    if nan:
        assert "metrics.min_source_clips" in problem and "checkpoint.monitor=" in problem


def test_unknown_keys_pass_unchecked():
    assert monitor_problem("train/loss", _val(1, 1), ["PQ"], "val", 5) is None
