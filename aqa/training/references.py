"""After evaluation: the reference rows of a run (train mean, ridge probes on the cached `encoder` and
`acoustic` features), scored on every evaluated split beside the source lookup."""

from aqa.features import FeatureSettings, compute_features
from aqa.metrics.references import PROBE_FEATURES, constant_metrics, linear_metrics, linear_prefix


def reference_metrics(cfg, table, sample_rate: int, stages: dict) -> dict[str, float]:
    """stages: {stage: per-clip frame the model was scored on} -> `constant/...` and `linear/<spec>/...`.
    Features come from the same cache as the definers' (`aqa.features.compute_features` on `table`)."""
    aspects, train_split = list(cfg.data.aspects), cfg.data.train_split
    min_clips = cfg.metrics.min_source_clips
    out = constant_metrics(table, aspects, stages, train_split, min_clips)
    settings = FeatureSettings.from_config(cfg)
    for spec in PROBE_FEATURES:
        features = compute_features(settings, table, sample_rate, spec)
        out |= linear_metrics(features, table, aspects, stages, train_split, linear_prefix(spec), min_clips)
    return out
