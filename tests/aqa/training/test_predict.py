"""`aqa predict`: one JSON line per clip, original scale, deterministic windows whatever the batch size."""

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from aqa.cli import main as aqa
from aqa.config import load_config
from aqa.training.predict import predict
from aqa.training.train import train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def checkpoint(train_overrides, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("predict-run")
    cfg = load_config(None, [*train_overrides, "trainer.max_epochs=1", f"run.dir={run_dir}"])
    return train(cfg)["run/best_checkpoint"]


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory):
    """Three clips, one long enough for several 1 s evaluation windows."""
    folder = tmp_path_factory.mktemp("to-score")
    rng = np.random.default_rng(3)
    for name, seconds in (("short.wav", 0.8), ("mid.wav", 1.6), ("long.wav", 3.7)):
        sf.write(folder / name, (rng.normal(0, 0.1, int(16000 * seconds))).astype(np.float32), 16000)
    return folder


def test_predict_folder_one_line_per_clip(checkpoint, audio_dir, capsys):
    assert aqa(["predict", checkpoint, str(audio_dir), "data.eval_window_seconds=1.0"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == ["long.wav", "mid.wav", "short.wav"]
    for line in lines:
        assert set(line) == {"id", "path", "PQ", "PC", "CE", "CU"}
        assert all(np.isfinite(line[a]) for a in ("PQ", "PC", "CE", "CU"))


def test_predict_is_independent_of_batch_size(checkpoint, audio_dir):
    window = ["data.eval_window_seconds=1.0"]
    one = list(predict(checkpoint, audio_dir, window, batch_size=1))
    many = list(predict(checkpoint, audio_dir, window, batch_size=8))
    assert one == many


def test_predict_csv_list_matches_folder(checkpoint, audio_dir, tmp_path):
    pd.DataFrame({"id": ["a", "b"], "path": [str(audio_dir / "mid.wav"), "short.wav"]}).to_csv(
        tmp_path / "in.csv", index=False
    )
    (tmp_path / "short.wav").write_bytes((audio_dir / "short.wav").read_bytes())  # relative to the list
    from_list = {line["id"]: line for line in predict(checkpoint, tmp_path / "in.csv")}
    from_dir = {line["id"]: line for line in predict(checkpoint, audio_dir)}
    assert from_list["a"]["PQ"] == from_dir["mid.wav"]["PQ"]
    assert from_list["b"]["CU"] == from_dir["short.wav"]["CU"]


def test_predict_rejects_unknown_input(checkpoint, tmp_path):
    with pytest.raises(ValueError, match="jsonl/.csv"):
        list(predict(checkpoint, tmp_path / "in.txt"))
