"""Per-clip predictions saved with a run (predictions/<stage>.csv) and read back for selection."""

import numpy as np
import pandas as pd

from aqa.metrics.predictions import read_predictions, write_predictions


def test_predictions_round_trip_one_file_per_stage(tmp_path):
    clips = pd.DataFrame(
        {
            "id": ["b", "a"],
            "system": ["s1", "s2"],
            "dataset": ["d1", "d2"],
            "target_PQ": [3.0, 4.0],
            "pred_PQ": [3.5, np.nan],
            "_feature": [np.zeros(2), np.ones(2)],  # not saved
        }
    )
    write_predictions({"val": clips, "test": clips.iloc[:0], "val_ood": None}, ["PQ"], tmp_path / "p")
    back = read_predictions(tmp_path / "p")
    assert list(back) == ["val"] and list(back["val"].columns) == [
        "id",
        "dataset",
        "system",
        "target_PQ",
        "pred_PQ",
    ]
    assert back["val"]["id"].tolist() == ["a", "b"] and np.isnan(back["val"]["pred_PQ"][0])
    assert read_predictions(tmp_path / "missing") == {}
