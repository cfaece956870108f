"""A feature cache file is read only for the identity it was built for: one built from another encoder is
refused naming both; one whose stored rows or windows do not match is rebuilt, never silently reused."""

import json

import numpy as np
import pytest

import aqa.features.cache as cache_module
from aqa.config.load import ConfigError
from aqa.features import FeatureSettings
from aqa.features.cache import features_cache_path
from aqa.features.layers import compute_layers
from tests.aqa.features.test_encoder_features import SR, fake_batches


@pytest.fixture
def built(make_cfg, make_table, monkeypatch, tmp_path):
    calls = []

    def batches(data, rows, sample_rate):
        calls.append(len(rows))
        return fake_batches([[(i, 0.25, 1.0) for i in rows["id"]]])

    monkeypatch.setattr(cache_module, "eval_batches", batches)
    settings = FeatureSettings.from_config(make_cfg(f"domain.embeddings.cache_dir={tmp_path}"))
    table = make_table(6)
    layers = compute_layers(settings, table, SR)
    path = features_cache_path(settings, table, SR, "layers:mean")
    return settings, table, layers, path, calls


def _edit_identity(path, **changes):
    meta = path.with_suffix(".json")
    identity = json.loads(meta.read_text())
    meta.write_text(json.dumps(identity | changes))


def test_a_matching_cache_is_read_without_recomputing(built):
    settings, table, layers, _, calls = built
    np.testing.assert_array_equal(compute_layers(settings, table, SR), layers)
    assert calls == [6]


def test_a_cache_built_from_another_encoder_is_refused_naming_both(built):
    settings, table, _, path, _ = built
    _edit_identity(path, encoder={"name": "another-encoder", "revision": "main"})
    with pytest.raises(ConfigError, match="another-encoder") as error:
        compute_layers(settings, table, SR)
    assert "this run uses encoder" in str(error.value) and "tiny" in str(error.value)


def test_a_cache_whose_windows_do_not_match_is_rebuilt(built):
    settings, table, layers, path, calls = built
    _edit_identity(path, window_seconds=123.0)
    np.testing.assert_array_equal(compute_layers(settings, table, SR), layers)
    assert calls == [6, 6]  # recomputed, not read
    stored = json.loads(path.with_suffix(".json").read_text())
    assert stored["window_seconds"] != 123.0  # the rebuilt file carries the right identity again
