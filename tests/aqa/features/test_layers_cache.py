"""The per-layer cache (features `layers`): (N, L+1, H) per clip, keyed by rows, encoder, rate, windows
and stats; the `encoder` extractor is its layer mean (or one layer)."""

import numpy as np

import aqa.features.cache as cache_module
from aqa.features import FeatureSettings, compute_features
from aqa.features.cache import features_cache_path
from aqa.features.layers import compute_layers
from tests.aqa.features.test_encoder_features import SR, fake_batches


def test_layer_cache_shape_stats_and_encoder_reduction(make_cfg, make_table, monkeypatch, tmp_path):
    def batches(data, rows, sample_rate):
        return fake_batches([[(i, 0.25, 1.0) for i in rows["id"]]])

    monkeypatch.setattr(cache_module, "eval_batches", batches)
    settings = FeatureSettings.from_config(make_cfg(f"domain.embeddings.cache_dir={tmp_path}"))
    table = make_table(6)
    layers = compute_layers(settings, table, SR)
    assert layers.shape == (6, 3, 64) and layers.dtype == np.float32  # tiny: 2 layers + conv, H = 64
    with_std = compute_layers(settings, table, SR, "mean_std")
    assert with_std.shape == (6, 3, 128)
    np.testing.assert_array_equal(with_std[:, :, :64], layers)
    assert (with_std[:, :, 64:] > 0).all()
    mean = compute_features(settings, table, SR)  # `encoder`, layer mean: read from the same cache
    np.testing.assert_allclose(mean, layers.mean(1), rtol=1e-6, atol=1e-6)
    one = FeatureSettings.from_config(
        make_cfg(f"domain.embeddings.cache_dir={tmp_path}", "domain.embeddings.layer=1")
    )
    np.testing.assert_array_equal(compute_features(one, table, SR), layers[:, 1])
    keys = {
        features_cache_path(settings, table, SR, "layers:mean"),
        features_cache_path(settings, table, SR, "layers:mean_std"),
        features_cache_path(settings, table.iloc[:-1], SR, "layers:mean"),
        features_cache_path(settings, table, 16000, "layers:mean"),
    }
    assert len(keys) == 4
