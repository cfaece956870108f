"""The docs/ARCHITECTURE.md recipe "A new extractor": one subclass of `Extractor` + one line in `EXTRACTORS`
is all it takes to compute features through it and to cluster domains on them."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from aqa.features import EXTRACTORS, FeatureSettings, compute_features
from aqa.features.base import Extractor
from tests.aqa.stage_args import domain_label_args

SR = 24000


class PeakExtractor(Extractor):
    """`peak`: each window's peak amplitude and RMS (what a recipe's one file would hold)."""

    name = "peak"
    description = "peak amplitude and RMS of each window"

    def identity(self, settings):
        return {"stats": ["peak", "rms"]}

    def open(self, settings, sample_rate):
        def features(audio, lengths):  # (B, T), (B,) -> (B, 2)
            audio = audio.double().cpu().numpy()
            windows = [a[: int(n)] for a, n in zip(audio, lengths, strict=True)]
            return np.array([[np.abs(w).max(), np.sqrt(np.mean(w**2))] for w in windows])

        return features


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(EXTRACTORS, PeakExtractor.name, PeakExtractor)  # the recipe's one registry line


def test_registered_extractor_computes_features_and_labels(registered, make_cfg, tmp_path, planted_corpus):
    from aqa.definers.labels import fit_domain_labels
    from data_modules.manifest import load_table

    cfg = make_cfg(
        f"data.manifest={planted_corpus(tmp_path)}",
        "data.eval_window_seconds=0.25",
        "domain.definer=kmeans",
        "domain.definer.k=2",
        "domain.definer.features=peak",
    )
    table = load_table(cfg.data)
    features = compute_features(FeatureSettings.from_config(cfg), table, SR, "peak")
    assert features.shape == (len(table), 2) and np.isfinite(features).all()
    tone = (table["dataset"] == "tone").to_numpy()  # 0.5 * sin: peak 0.5, RMS 0.5 / sqrt(2) in every window
    assert features[tone, 0] == pytest.approx(0.5, abs=0.01)
    assert features[tone, 1] == pytest.approx(0.5 / np.sqrt(2), abs=0.01)
    assert (features[~tone, 0] > 0.6).all()  # white noise of scale 0.3 peaks above 2 sigma
    labels = fit_domain_labels(cfg.domain, table, tmp_path / "run", SR, **domain_label_args(cfg))
    assert adjusted_rand_score(table["dataset"], labels.labels["PQ"]) == pytest.approx(1.0)
