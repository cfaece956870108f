"""What the features stage reads from the experiment config, as one small value built in one place."""

from dataclasses import dataclass

from omegaconf import DictConfig


@dataclass(frozen=True)
class FeatureSettings:
    """The config sections per-clip features depend on."""

    data: DictConfig  # the `data:` section: evaluation windows and the data module that cuts them
    encoder: DictConfig  # `model.encoder`: the frozen encoder of the `encoder` extractor
    embeddings: DictConfig  # `domain.embeddings`: cache folder, encoder layer

    @classmethod
    def from_config(cls, cfg) -> "FeatureSettings":
        """The settings of an experiment config (the one place that knows where they sit in it)."""
        return cls(data=cfg.data, encoder=cfg.model.encoder, embeddings=cfg.domain.embeddings)
