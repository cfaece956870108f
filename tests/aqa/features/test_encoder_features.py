"""Features `encoder`: pooling and window weighting, the on-disk cache, the real data module."""

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

import aqa.features.cache as cache_module
import aqa.features.encoder as encoder_module
from aqa.features import FeatureSettings
from aqa.features.cache import compute_features, features_cache_path
from aqa.features.encoder import encoder_window_fn, frozen_encoder
from aqa.features.windows import pool_windows
from tests.aqa.stage_args import domain_label_args

SR = 24000  # the tiny encoder's rate (MERT's)


def fake_batches(specs, seed=0):
    """specs: [[(id, seconds, weight), ...] per batch] -> batch dicts of the contract (noise audio)."""
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for batch in specs:
        n = int(batch[0][1] * SR)
        batches.append(
            {
                "audio": torch.randn(len(batch), n, generator=gen) * 0.1,
                "lengths": torch.full((len(batch),), n, dtype=torch.long),
                "weight": torch.tensor([w for _, _, w in batch], dtype=torch.float32),
                "ids": [i for i, _, _ in batch],
            }
        )
    return batches


def test_pool_windows_weights_windows_and_picks_layers(make_cfg):
    encoder = frozen_encoder(make_cfg().model.encoder)
    batches = fake_batches([[("a", 0.5, 3.0), ("b", 0.5, 1.0)], [("a", 0.5, 1.0)]])
    out = pool_windows(encoder_window_fn(encoder, "mean"), batches, ["a", "b", "never"])
    assert out.shape == (3, encoder.hidden_size) and out.dtype == np.float32
    with torch.no_grad():
        hidden, _ = encoder(torch.cat([b["audio"] for b in batches]), torch.tensor([12000] * 3))
    per_window = hidden.mean(2).mean(0).numpy()  # (3, H): frames, then layers
    np.testing.assert_allclose(out[0], (3 * per_window[0] + per_window[2]) / 4, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out[1], per_window[1], rtol=1e-4, atol=1e-5)
    assert np.isnan(out[2]).all()  # no window of `never`: no embedding
    layer1 = pool_windows(encoder_window_fn(encoder, "1"), batches, ["a", "b"])
    np.testing.assert_allclose(layer1[1], hidden[1].mean(1)[1].numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="out of range"):
        encoder_window_fn(encoder, "9")


def test_cache_is_hit_on_the_second_use(make_cfg, make_table, monkeypatch, tmp_path):
    cfg = FeatureSettings.from_config(make_cfg(f"domain.embeddings.cache_dir={tmp_path}/emb"))
    table = make_table(12)
    calls = []

    def batches(data, rows, sample_rate):
        calls.append(len(rows))
        return fake_batches([[(i, 0.25, 1.0) for i in rows["id"]]])

    monkeypatch.setattr(cache_module, "eval_batches", batches)
    first = compute_features(cfg, table, SR)
    assert calls == [12] and first.shape[0] == 12 and np.isfinite(first).all()
    assert features_cache_path(cfg, table, SR).is_file()

    def no_encoder(encoder_cfg):
        raise AssertionError("the encoder ran although the features are cached")

    monkeypatch.setattr(encoder_module, "frozen_encoder", no_encoder)
    np.testing.assert_array_equal(compute_features(cfg, table, SR), first)
    shuffled = table.sample(frac=1.0, random_state=1)  # same rows in another order: still a hit
    np.testing.assert_array_equal(compute_features(cfg, shuffled, SR), first[shuffled.index])
    assert calls == [12]
    # another sample rate, row set, window, encoder or extractor is another cache entry; another layer is
    # a reduction of the same per-layer cache (aqa/features/layers.py)
    other = FeatureSettings.from_config(
        make_cfg(f"domain.embeddings.cache_dir={tmp_path}/emb", "domain.embeddings.layer=0")
    )
    tiny_seed = make_cfg(f"domain.embeddings.cache_dir={tmp_path}/emb", "model.encoder.tiny.seed=1")
    window = make_cfg(f"domain.embeddings.cache_dir={tmp_path}/emb", "data.eval_window_seconds=2.5")
    assert features_cache_path(other, table, SR) == features_cache_path(cfg, table, SR)
    assert features_cache_path(cfg, table, SR).name.startswith("layers-")
    paths = {
        features_cache_path(cfg, table, SR),
        features_cache_path(FeatureSettings.from_config(window), table, SR),
        features_cache_path(cfg, table, 16000),
        features_cache_path(cfg, table.iloc[:-1], SR),
        features_cache_path(FeatureSettings.from_config(tiny_seed), table, SR),
    }
    paths.add(features_cache_path(cfg, table, SR, "acoustic"))
    assert len(paths) == 6


def test_cache_keys_and_label_fingerprints_are_stable(make_cfg, make_table):
    """The keys existing feature caches and run dirs were written under (values computed before the stages
    took config sections): a change here invalidates every feature cache and refits every saved labels."""
    from aqa.definers.labels import labels_fingerprint
    from aqa.definers.resolve import resolve_definers
    from tests.aqa.stage_args import label_args

    table = make_table()
    settings = FeatureSettings.from_config(make_cfg())
    # `encoder` features are a reduction of the per-layer cache since the layer cache (issue 18): new key
    assert features_cache_path(settings, table, SR).name == "layers-824472fcb9e4a8b5059e.npz"
    assert features_cache_path(settings, table, SR, "acoustic").name == "acoustic-950a6747f8adeaa9182b.npz"

    def fingerprint(*overrides):
        cfg = make_cfg(*overrides)
        specs = resolve_definers(cfg.domain, ["PQ", "PC"], seed=cfg.seed)
        return labels_fingerprint(cfg.domain, table, specs, SR, **label_args(cfg))

    assert fingerprint("domain.definer=dataset").startswith("0aa8fd4387919e9b")
    # lambda_max and handling say how the model uses the labels: the same labels, not refitted per value
    assert fingerprint("domain.definer=dataset", "domain.definer.lambda_max=0.3").startswith(
        "0aa8fd4387919e9b"
    )
    assert fingerprint("domain.definer=kmeans").startswith("c550ae40687241ab")
    assert fingerprint("domain.definer=gmm", "domain.definer.features=acoustic").startswith(
        "2d06edebd4cc39ec"
    )


def test_encoder_features_from_the_data_module_separate_planted_kinds(make_cfg, tmp_path, planted_corpus):
    """End to end: manifest -> load_table -> eval windows -> tiny frozen encoder -> kmeans labels."""
    from aqa.definers.labels import fit_domain_labels
    from data_modules.manifest import load_table

    manifest = planted_corpus(tmp_path)
    cfg = make_cfg(
        f"data.manifest={manifest}",
        "data.eval_window_seconds=0.25",
        "domain.definer=kmeans",
        "domain.definer.k=2",
        "domain.definers.PC=dataset",
    )
    table = load_table(cfg.data)
    features = compute_features(FeatureSettings.from_config(cfg), table, SR)
    assert features.shape == (24, 64) and np.isfinite(features).all()
    labels = fit_domain_labels(cfg.domain, table, tmp_path / "run", SR, **domain_label_args(cfg))
    assert adjusted_rand_score(table["dataset"], labels.labels["PQ"]) == pytest.approx(1.0)
    assert labels.num_domains == {"PQ": 2, "PC": 2}
