"""Screening runs (`model.encoder.mode=cached`): the per-aspect model trains on the per-layer cache with the
same definers, handlings, metrics, checkpoints and run folder; same seed -> same metrics; `aqa predict`
scores audio with its checkpoints (features computed on the fly)."""

import json
import math

import numpy as np
import pytest
import soundfile as sf

from aqa.cli import main as aqa
from aqa.config import load_config
from aqa.training.train import train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def screening(train_overrides, tmp_path_factory):
    root = tmp_path_factory.mktemp("screening")
    runs = []
    for i in range(2):
        overrides = [*train_overrides, "model.encoder.mode=cached", "domain.definer=dataset"]
        runs.append(train(load_config(None, [*overrides, f"run.dir={root}/run{i}"])))
    return root, runs


def test_screening_run_writes_the_run_folder_and_every_metric(screening):
    root, (first, _) = screening
    assert {"config.yaml", "metrics.json", "checkpoints"} <= {p.name for p in (root / "run0").iterdir()}
    written = json.loads((root / "run0" / "metrics.json").read_text())
    for key in ("val/PQ/utt_srcc", "val/mean/within_srcc", "test/CU/sys_srcc", "shortcut/val/PQ/utt_srcc"):
        assert key in written, key
    assert written["strategy/PQ/handling"] == "adversarial" and written["strategy/PQ/k"] == 3
    # the GRL strength the kept checkpoint trained with (tests/aqa/training/test_kept_lambda.py: its value)
    assert 0.0 <= written["strategy/PQ/lambda_kept"] <= written["strategy/PQ/lambda"]


def test_screening_is_deterministic(screening):
    _, (first, second) = screening
    for key, value in first.items():
        if key.startswith("run/"):
            continue
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(second[key]), key
        else:
            assert second[key] == value, key


def test_predict_scores_audio_with_a_screening_checkpoint(screening, tmp_path, capsys):
    _, (first, _) = screening
    rng = np.random.default_rng(0)
    for name in ("a.wav", "b.wav"):
        sf.write(tmp_path / name, rng.normal(0, 0.1, 16000).astype(np.float32), 16000)
    assert aqa(["predict", first["run/best_checkpoint"], str(tmp_path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == ["a.wav", "b.wav"]
    assert all(line["error"] is None and np.isfinite(line["PQ"]) for line in lines)


@pytest.mark.parametrize("option", ["model.encoder.lora.r=16", "model.aspect_capacity=separate"])
def test_waveform_options_are_refused_with_exit_2(option, tmp_path, capsys):
    experiment = tmp_path / "exp.yaml"
    experiment.write_text("# test\nseed: 0\n")
    code = aqa(["train", str(experiment), "model.encoder.mode=cached", option, f"run.dir={tmp_path}/run"])
    assert code == 2
    assert option.split("=")[0] in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
