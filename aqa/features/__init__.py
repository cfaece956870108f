"""Features stage: per-clip feature vectors for the definers and the diagnostics, cached on disk.

`compute_features(settings, table, sample_rate, spec)` -> (N, H); `settings` = `FeatureSettings` (the data
section, `model.encoder`, `domain.embeddings`); `spec` names an extractor of `EXTRACTORS` (`encoder`,
`acoustic`, `run:<checkpoint>[@ASPECT]`). Sits between data_modules (below) and the definers
(above); the extractors load their heavy libraries only when they run.
"""

from aqa.features.cache import compute_features, features_identity
from aqa.features.registry import EXTRACTORS, extractor_for
from aqa.features.settings import FeatureSettings

__all__ = ["EXTRACTORS", "FeatureSettings", "compute_features", "extractor_for", "features_identity"]
