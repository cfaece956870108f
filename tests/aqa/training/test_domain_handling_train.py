"""End to end: a conditioned, projected model with variance heads trains, reports calibration, and predicts
with a named domain or the neutral one (and the spread)."""

import json

import numpy as np
import pytest
import soundfile as sf

from aqa.config import load_config
from aqa.training.evaluate import evaluate
from aqa.training.predict import predict
from aqa.training.train import train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(train_overrides, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("conditioned-run")
    overrides = [
        *train_overrides,
        "trainer.max_epochs=1",
        "domain.definer=dataset",
        "model.domain_handling=conditioned",
        "model.aspects.CE.domain_handling=bias",
        "model.aspects.CU.domain_handling=adversarial_conditional",
        "model.aspect_capacity=projected",
        "model.projection_dim=32",
        "model.head_variance=true",
        f"run.dir={run_dir}",
    ]
    return train(load_config(None, overrides))


def test_calibration_is_reported_and_reproduced(run):
    for key in ("val/PQ/nll", "val/PQ/coverage90", "test/mean/coverage90", "val/CU/utt_srcc"):
        assert np.isfinite(run[key]), key
    assert 0.0 <= run["val/PQ/coverage90"] <= 1.0
    metrics, _ = evaluate(run["run/best_checkpoint"])
    assert metrics["val/PQ/nll"] == pytest.approx(run["val/PQ/nll"], abs=1e-9)


def test_predict_names_a_domain_or_uses_the_neutral_one(run, tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a.wav", "b.wav"):
        sf.write(tmp_path / name, rng.normal(0, 0.1, 16000).astype(np.float32), 16000)
    checkpoint = run["run/best_checkpoint"]
    neutral = list(predict(checkpoint, tmp_path))
    named = list(predict(checkpoint, tmp_path, domain="source1"))
    assert {"PQ_std", "CE_std"} <= set(neutral[0]) and all(line["PQ_std"] > 0 for line in neutral)
    assert neutral[0]["PQ"] != named[0]["PQ"]  # conditioned
    assert neutral[0]["CE"] != named[0]["CE"]  # bias
    assert neutral[0]["CU"] == named[0]["CU"]  # adversarial: the domain is not an input
    with pytest.raises(ValueError, match="source0"):
        list(predict(checkpoint, tmp_path, domain="nope"))
    json.dumps(neutral)
