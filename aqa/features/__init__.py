"""Features stage: per-clip feature vectors for the definers and the diagnostics, cached on disk.

`compute_features(cfg, table, sample_rate, spec)` -> (N, H); `spec` names an extractor of `EXTRACTORS`
(`encoder`, `acoustic`, `run:<checkpoint>[@ASPECT]`). Sits between data_modules (below) and the definers
(above); the extractors load their heavy libraries only when they run.
"""

from aqa.features.cache import compute_features, features_identity
from aqa.features.registry import EXTRACTORS, extractor_for

__all__ = ["EXTRACTORS", "compute_features", "extractor_for", "features_identity"]
