"""`encoder`: the frozen pretrained encoder's hidden states, masked mean over frames, mean over layers (or one)."""

import torch

from aqa.features.base import Extractor
from aqa.model.pooling import masked_layer_means


def layer_index(layer: str, num_layers: int) -> int | None:
    """None for the mean over all hidden states, else a validated layer index."""
    if str(layer) == "mean":
        return None
    try:
        index = int(layer)
    except ValueError:
        raise ValueError(f"domain.embeddings.layer must be `mean` or an integer, got {layer!r}") from None
    if not -num_layers <= index < num_layers:
        raise ValueError(f"domain.embeddings.layer={index} out of range for {num_layers} hidden states")
    return index


def frozen_encoder(encoder_cfg):
    """The pretrained encoder of the `model.encoder` section (no LoRA, no training), in eval mode."""
    from omegaconf import OmegaConf

    from aqa.model.encoder import Encoder

    return Encoder(OmegaConf.merge(encoder_cfg, {"mode": "frozen"})).eval()


def encoder_window_fn(encoder, layer: str):
    """(audio (B, T), lengths (B,)) -> (B, H): frames masked-averaged, then the layer mean or one layer."""
    index = layer_index(layer, encoder.num_layers)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    encoder = encoder.to(device)

    @torch.inference_mode()
    def features(audio, lengths):
        hidden, mask = encoder(audio.to(device), lengths.to(device))  # (L+1, B, F, H), (B, F)
        pooled = masked_layer_means(hidden, mask)  # (L+1, B, H)
        pooled = pooled.mean(0) if index is None else pooled[index]  # (B, H)
        return pooled.double().cpu().numpy()

    return features


class EncoderExtractor(Extractor):
    name = "encoder"
    description = "the frozen pretrained encoder's layers (model.encoder, domain.embeddings.layer)"

    def identity(self, settings):
        from aqa.model.encoder import encoder_identity

        return {"encoder": encoder_identity(settings.encoder), "layer": str(settings.embeddings.layer)}

    def open(self, settings, sample_rate):
        return encoder_window_fn(frozen_encoder(settings.encoder), settings.embeddings.layer)
