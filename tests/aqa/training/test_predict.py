"""`aqa predict` and the Python API: one row per input (ids kept, order kept, `error` for unusable inputs),
original scale, deterministic windows whatever the batch size, decoded in memory, segments honoured."""

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from aqa import Predictor
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
        assert set(line) == {"id", "path", "PQ", "PC", "CE", "CU", "error"} and line["error"] is None
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


ASPECTS = ("PQ", "PC", "CE", "CU")


def _scores(row):
    return [row[a] for a in ASPECTS]


def test_predict_keeps_ids_rows_and_order_and_says_why_a_row_failed(checkpoint, audio_dir, tmp_path, capsys):
    """Ids "001" and "1e3" come back as written; a missing file and a too-short clip get an `error` row."""
    sf.write(tmp_path / "tiny.wav", np.full(100, 0.1, np.float32), 16000)  # 150 samples at 24 kHz
    listing = pd.DataFrame(
        {
            "id": ["1e3", "001", "gone", "tiny", "010"],
            "path": [
                str(audio_dir / "mid.wav"),
                str(audio_dir / "short.wav"),
                "gone.wav",
                "tiny.wav",
                "short.wav",
            ],
        }
    )
    (tmp_path / "short.wav").write_bytes((audio_dir / "short.wav").read_bytes())
    for suffix in (".csv", ".jsonl"):
        path = tmp_path / f"in{suffix}"
        if suffix == ".csv":
            listing.to_csv(path, index=False)
        else:
            listing.to_json(path, orient="records", lines=True)
        assert aqa(["predict", checkpoint, str(path)]) == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [line["id"] for line in lines] == ["1e3", "001", "gone", "tiny", "010"]
        assert [line["error"] is None for line in lines] == [True, True, False, False, True]
        assert lines[2]["error"].startswith("missing_file: audio file not found")
        assert lines[3]["error"].startswith("too_short: audio is shorter than the 400 samples")
        assert lines[2]["PQ"] is None and all(np.isfinite(_scores(lines[0])))
        assert _scores(lines[1]) == _scores(lines[4])  # the same file under two ids


def test_predict_writes_nothing_into_the_audio_cache(checkpoint, audio_dir, tmp_path):
    cache = tmp_path / "cache"
    rows = list(predict(checkpoint, audio_dir, [f"data.cache_dir={cache}", "data.cache=true"]))
    assert len(rows) == 3 and all(row["error"] is None for row in rows)
    assert not cache.exists() or not any(cache.rglob("*"))


def test_predict_scores_the_segment_not_the_whole_file(checkpoint, tmp_path):
    """start/end and start_time/end_time both cut the segment: equal to scoring the cut file alone."""
    rng = np.random.default_rng(5)
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)
    noise = rng.normal(0, 0.5, 16000 * 2)
    sf.write(tmp_path / "both.wav", np.concatenate([tone, noise]).astype(np.float32), 16000)
    sf.write(tmp_path / "tone.wav", tone.astype(np.float32), 16000)
    for start, end in (("start", "end"), ("start_time", "end_time")):
        listing = tmp_path / f"{start}.jsonl"
        pd.DataFrame(
            [
                {"id": "seg", "path": "both.wav", start: 0.0, end: 1.0},
                {"id": "whole", "path": "both.wav"},
                {"id": "cut", "path": "tone.wav"},
            ]
        ).to_json(listing, orient="records", lines=True)
        rows = {row["id"]: row for row in predict(checkpoint, listing)}
        np.testing.assert_allclose(_scores(rows["seg"]), _scores(rows["cut"]), atol=2e-3)
        assert _scores(rows["seg"]) != _scores(rows["whole"])


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_predict_out_file(checkpoint, audio_dir, tmp_path, suffix):
    out = tmp_path / f"scores{suffix}"
    assert aqa(["predict", checkpoint, str(audio_dir), "--out", str(out), "--device", "cpu"]) == 0
    table = pd.read_csv(out) if suffix == ".csv" else pd.read_json(out, lines=True)
    assert table["id"].tolist() == ["long.wav", "mid.wav", "short.wav"]
    assert list(table.columns) == ["id", "path", *ASPECTS, "error"] and table["error"].isna().all()
    expected = {row["id"]: row for row in predict(checkpoint, audio_dir)}
    assert table.set_index("id")["PQ"].to_dict() == {k: v["PQ"] for k, v in expected.items()}


def test_python_api_takes_paths_and_arrays(checkpoint, audio_dir):
    predictor = Predictor.load(checkpoint, device="cpu")
    wav, rate = sf.read(audio_dir / "mid.wav", dtype="float32")
    rows = predictor.predict([str(audio_dir / "mid.wav"), wav, torch.from_numpy(wav)], sample_rate=rate)
    assert [row["id"] for row in rows] == [str(audio_dir / "mid.wav"), "1", "2"]
    assert rows[1]["path"] is None and rows[0]["error"] is None
    np.testing.assert_allclose(_scores(rows[1]), _scores(rows[0]), atol=1e-4)
    assert _scores(rows[1]) == _scores(rows[2])
    stereo = np.stack([wav, wav], 1)  # (T, C): channels are averaged; (C, T) too
    for audio in (stereo, torch.from_numpy(stereo.T.copy())):
        (row,) = predictor.predict({"id": "st", "audio": audio, "sample_rate": rate})
        np.testing.assert_allclose(_scores(row), _scores(rows[0]), atol=1e-4)
    part, whole = predictor.predict(
        [{"audio": wav, "start": 0.0, "end": 0.5}, {"path": str(audio_dir / "mid.wav"), "end_time": 0.5}],
        sample_rate=rate,
    )
    np.testing.assert_allclose(_scores(part), _scores(whole), atol=1e-4)
    assert _scores(part) != _scores(rows[0])
    (short,) = predictor.predict(np.zeros(10, np.float32), sample_rate=rate)
    assert short["error"].startswith("too_short") and short["PQ"] is None
    with pytest.raises(ValueError, match="needs its sample_rate"):
        predictor.predict(wav)


def test_device_auto_uses_a_gpu_even_for_a_cpu_trained_model(checkpoint):
    predictor = Predictor.load(checkpoint)  # trained with trainer.accelerator=cpu
    assert predictor.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU is visible"):
            Predictor.load(checkpoint, device="cuda")


def test_bf16_precision_scores_close_to_fp32(checkpoint, audio_dir):
    fp32 = list(predict(checkpoint, audio_dir, device="cpu"))
    bf16 = list(predict(checkpoint, audio_dir, device="cpu", precision="bf16-mixed"))
    assert [r["id"] for r in bf16] == [r["id"] for r in fp32]
    np.testing.assert_allclose([_scores(r) for r in bf16], [_scores(r) for r in fp32], atol=0.25)
