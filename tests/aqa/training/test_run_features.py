"""Features `run:<checkpoint>[@ASPECT]`: a trained run's pooled per-aspect embeddings feed k-means."""

import numpy as np
import pytest

from aqa.config import load_config
from aqa.definers.labels import fit_domain_labels
from aqa.features import FeatureSettings, compute_features
from aqa.model.encoder import encoder_sample_rate
from aqa.training.train import train
from data_modules.manifest import load_table
from tests.aqa.stage_args import domain_label_args

pytestmark = pytest.mark.slow


def test_run_features_per_aspect_and_concatenated(train_overrides, tmp_path):
    cfg = load_config(None, [*train_overrides, "trainer.max_epochs=1", f"run.dir={tmp_path / 'run'}"])
    checkpoint = train(cfg)["run/best_checkpoint"]
    table = load_table(cfg.data)
    rate = encoder_sample_rate(cfg.model.encoder)
    aspects = list(cfg.data.aspects)
    settings = FeatureSettings.from_config(cfg)
    every = compute_features(settings, table, rate, f"run:{checkpoint}")
    first = compute_features(settings, table, rate, f"run:{checkpoint}@{aspects[0]}")
    dim = first.shape[1]
    assert every.shape == (len(table), len(aspects) * dim) and np.isfinite(every).all()
    np.testing.assert_allclose(every[:, :dim], first, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="the run has aspects"):
        compute_features(settings, table, rate, f"run:{checkpoint}@XX")
    cfg.domain.definer.name, cfg.domain.definer.k = "kmeans", 2
    cfg.domain.definer.features = f"run:{checkpoint}@{aspects[0]}"
    labels = fit_domain_labels(cfg.domain, table, tmp_path / "labels", rate, **domain_label_args(cfg))
    assert labels.num_domains[aspects[0]] == 2
