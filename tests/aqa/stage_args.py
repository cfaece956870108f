"""The named arguments the definers take, from a test's experiment config, as `aqa train` passes them
(aqa/training/train.py `build_domain_labels`)."""

from aqa.features import FeatureSettings


def label_args(cfg) -> dict:
    """`fit_labels` / `labels_fingerprint` keyword arguments."""
    return {"train_split": cfg.data.train_split, "feature_settings": FeatureSettings.from_config(cfg)}


def domain_label_args(cfg) -> dict:
    """`fit_domain_labels` keyword arguments."""
    return label_args(cfg) | {"aspects": list(cfg.data.aspects), "seed": cfg.seed}
