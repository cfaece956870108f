"""The probe floor: the dataset-ID probe on the MOS targets alone, beside chance and the embedding probe."""

import numpy as np
import pandas as pd
import pytest

from aqa.training.probe_report import probe_metrics


def _clips(source_means: list[float], n: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = []
    for d, mean in enumerate(source_means):
        for i in range(n):
            rows.append(
                {
                    "id": f"{d}-{i}",
                    "dataset": f"src{d}",
                    "target_PQ": mean + 0.05 * rng.standard_normal(),
                    "target_PC": 3.0 + rng.standard_normal(),  # the same in every source
                    "_feature": rng.standard_normal((2, 4)),  # (A, D): holds nothing about the source
                    "domain_PQ": -1,
                    "domain_PC": -1,
                }
            )
    clips = pd.DataFrame(rows)
    return clips, clips[["id", "dataset"]]


def test_targets_that_differ_by_source_predict_it_and_the_floor_is_reported():
    clips, table = _clips([2.0, 3.0, 4.0])
    out = probe_metrics(clips, table, ["PQ", "PC"], {})
    assert out["probe/PQ/dataset_chance"] == pytest.approx(1 / 3)
    assert out["probe/PQ/target_floor_acc"] > 0.95  # quality alone names the source
    assert out["probe/PC/target_floor_acc"] < 0.6  # a target equal across sources does not
    assert out["probe/target_floor_acc"] > 0.95  # every aspect's MOS together
    assert out["probe/PQ/dataset_acc"] < 0.6  # the embedding itself holds no source


def test_unrated_clips_are_left_out_of_the_floor():
    clips, table = _clips([2.0, 4.0])
    clips.loc[::3, "target_PQ"] = np.nan
    out = probe_metrics(clips, table, ["PQ", "PC"], {})
    assert np.isfinite(out["probe/PQ/target_floor_acc"]) and out["probe/PQ/target_floor_acc"] > 0.95
