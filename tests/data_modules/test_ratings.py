"""Individual ratings (`<ASPECT>_ratings` lists) reach the batch as a NaN-padded (B, A, R) tensor."""

import numpy as np
import pandas as pd
import torch

from data_modules.datasets import Clips, collate


def _table():
    return pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "path": ["a.wav", "b.wav", "c.wav"],
            "system": ["s", "s", "t"],
            "PQ": [5.0, 3.0, 4.0],
            "PQ_ratings": [[4, 6], [3, 3, 3], np.nan],  # clip c has a MOS but no list
            "CE": [2.0, 2.0, 2.0],
        }
    )


def test_rating_lists_become_a_padded_tensor():
    clips = Clips.from_table(_table(), ["PQ", "CE"])
    assert clips.ratings.shape == (3, 2, 3)
    assert clips.ratings[0, 0, :2].tolist() == [4, 6] and np.isnan(clips.ratings[0, 0, 2])
    assert np.isnan(clips.ratings[2]).all() and np.isnan(clips.ratings[:, 1]).all()  # no CE lists
    batch = collate([clips.item(i, np.zeros(10 + i, np.float32)) for i in range(3)])
    assert batch["ratings"].shape == (3, 2, 3) and batch["ratings"].dtype == torch.float32
    assert torch.equal(batch["ratings"][1, 0], torch.tensor([3.0, 3.0, 3.0]))


def test_no_rating_columns_no_ratings_key():
    clips = Clips.from_table(_table().drop(columns="PQ_ratings"), ["PQ", "CE"])
    assert clips.ratings is None
    assert "ratings" not in collate([clips.item(0, np.zeros(10, np.float32))])


def test_generic_jsonl_keeps_rating_lists_and_rater_ids(tmp_path):
    import json

    from aqa.config import load_config
    from data_modules.manifest import load_table

    with open(tmp_path / "m.jsonl", "w") as f:
        for i in range(3):
            row = {"id": f"c{i}", "path": f"c{i}.wav", "PQ": [3, 4, 5 + i], "PQ_raters": ["r1", "r2", "r3"]}
            f.write(json.dumps(row) + "\n")
    table = load_table(load_config(None, [f"data.manifest={tmp_path}/m.jsonl", "data.aspects=[PQ]"]).data)
    assert table["PQ_raters"].tolist() == [["r1", "r2", "r3"]] * 3  # listener ids stay as metadata
    assert table["PQ"].tolist() == [4.0, 13 / 3, 14 / 3]
    clips = Clips.from_table(table, ["PQ"])
    assert clips.ratings[2, 0].tolist() == [3.0, 4.0, 7.0]
