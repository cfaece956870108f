"""Features `acoustic`: descriptors on signals whose answers are known, the registry, end to end."""

import numpy as np
import pytest
import torch
from scipy import signal
from sklearn.metrics import adjusted_rand_score

from aqa.features import EXTRACTORS, FeatureSettings, compute_features, extractor_for
from aqa.features.acoustic import DESCRIPTORS, descriptors, mel_bank
from tests.aqa.stage_args import domain_label_args, label_args

SR = 24000


def describe(x):
    return dict(zip(DESCRIPTORS, descriptors(x, SR, mel_bank(SR))))


def test_descriptors_follow_level_noise_floor_and_spectrum():
    rng = np.random.default_rng(0)
    noise = rng.normal(scale=0.1, size=SR)
    louder = describe(2 * noise)["loudness_db"] - describe(noise)["loudness_db"]
    assert louder == pytest.approx(20 * np.log10(2), abs=1e-6)
    gaps = noise * np.repeat([1.0, 0.01], SR // 2)  # half the clip 40 dB quieter: lower noise floor
    assert describe(gaps)["noise_floor_db"] < describe(noise)["noise_floor_db"] - 30
    assert describe(gaps)["dynamic_range_db"] > 30 > describe(noise)["dynamic_range_db"]
    lowpassed = signal.sosfilt(signal.butter(8, 3000, fs=SR, output="sos"), noise)
    white, low = describe(noise), describe(lowpassed)
    assert low["rolloff99_khz"] < 4 < white["rolloff99_khz"]
    assert low["tilt_db_per_octave"] < white["tilt_db_per_octave"] - 3
    assert low["high_band_ratio_db"] < white["high_band_ratio_db"] - 20
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)
    assert describe(tone)["flatness"] < white["flatness"] - 2  # a tone is far from flat
    assert abs(white["centroid_khz"] - SR / 4 / 1e3) < 0.3  # white noise: centroid at Nyquist / 2


def test_window_function_handles_padding_and_short_windows():
    fn = extractor_for("acoustic").open(None, SR)
    rng = np.random.default_rng(1)
    clip = rng.normal(scale=0.1, size=SR // 2)
    audio = torch.zeros(2, SR)
    audio[0, : len(clip)] = torch.tensor(clip)
    audio[1, :500] = torch.tensor(clip[:500])  # shorter than one frame
    out = fn(audio, torch.tensor([len(clip), 500]))
    assert out.shape == (2, len(DESCRIPTORS)) and np.isfinite(out).all()
    alone = descriptors(audio[0, : len(clip)].double().numpy(), SR, mel_bank(SR))
    np.testing.assert_allclose(out[0], alone, rtol=1e-9)  # padding is not part of the clip


def test_registry_describes_extractors_and_rejects_unknown():
    assert set(EXTRACTORS) == {"encoder", "acoustic", "run", "layers"}
    assert all(cls.description for cls in EXTRACTORS.values())
    with pytest.raises(ValueError, match="unknown features 'mfcc'.*acoustic: signal descriptors"):
        extractor_for("mfcc")
    with pytest.raises(ValueError, match="checkpoint not found"):
        extractor_for("run:/nowhere/x.ckpt@PQ").identity(None)


def test_definer_with_unknown_features_is_a_config_error(make_cfg):
    from aqa.definers.resolve import resolve_definers

    cfg = make_cfg("domain.definer=kmeans", "domain.definer.features=mfcc")
    with pytest.raises(ValueError, match="aspect PQ: domain definer kmeans: unknown features 'mfcc'"):
        resolve_definers(cfg.domain, ["PQ", "PC"], seed=0)


def test_acoustic_features_separate_planted_kinds(make_cfg, tmp_path, planted_corpus):
    """manifest -> eval windows -> acoustic descriptors -> kmeans labels = the planted kind (noise/tone)."""
    from aqa.definers.labels import fit_domain_labels
    from data_modules.manifest import load_table

    cfg = make_cfg(
        f"data.manifest={planted_corpus(tmp_path)}",
        "data.eval_window_seconds=0.25",
        "domain.definer=kmeans",
        "domain.definer.k=2",
        "domain.definer.features=acoustic",
    )
    table = load_table(cfg.data)
    features = compute_features(FeatureSettings.from_config(cfg), table, SR, "acoustic")
    assert features.shape == (24, len(DESCRIPTORS)) and np.isfinite(features).all()
    labels = fit_domain_labels(cfg.domain, table, tmp_path / "run", SR, **domain_label_args(cfg))
    assert adjusted_rand_score(table["dataset"], labels.labels["PQ"]) == pytest.approx(1.0)
    assert "acoustic" in labels.definer("PQ").label(labels.definer("PQ").cfg)


def test_features_setting_enters_the_label_fingerprint(make_cfg, make_table):
    from aqa.definers.labels import labels_fingerprint
    from aqa.definers.resolve import resolve_definers

    table = make_table(60)

    def fingerprint(*overrides):
        cfg = make_cfg("domain.definer=kmeans", "domain.definer.k=2", *overrides)
        specs = resolve_definers(cfg.domain, ["PQ", "PC"], seed=0)
        return labels_fingerprint(cfg.domain, table, specs, SR, **label_args(cfg))

    encoder = fingerprint()
    assert fingerprint("domain.definer.features=encoder") == encoder
    assert fingerprint("domain.definer.features=acoustic") != encoder
    assert fingerprint("domain.embeddings.layer=1") != encoder  # what the encoder features depend on
