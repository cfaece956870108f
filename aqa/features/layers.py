"""`layers`: the per-layer feature cache of screening runs and of the `encoder` extractor.

Per clip, each hidden state's masked time mean (and with `layers:mean_std` its masked time std) of the
frozen encoder (`model.encoder`, mode forced to frozen), over the data module's evaluation windows
(weighted mean over a clip's windows), cached by aqa/features/cache.py under the same key as every
extractor: rows, encoder identity and revision, sample rate, window length. The cache file holds the
(N, (L+1) * H) array (times 2 with std); `compute_layers` gives it as (N, L+1, H) (or (N, L+1, 2H)).
The screening path holds this array only, never decoded audio.
"""

import numpy as np
import torch

from aqa.features.base import Extractor

STATS = ("mean", "mean_std")


def masked_layer_stds(hidden: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """(L, B, F, H), (B, F) bool -> (L, B, H): population std over the valid frames."""
    mask = frame_mask.to(hidden.dtype)[None, :, :, None]
    count = mask.sum(dim=2).clamp(min=1.0)
    mean = (hidden * mask).sum(dim=2, keepdim=True) / count[:, :, None]
    return ((((hidden - mean) * mask) ** 2).sum(dim=2) / count).sqrt()


class LayersExtractor(Extractor):
    name = "layers"
    description = "per-layer masked time mean (layers:mean_std adds the std) of the frozen encoder"

    def stats(self) -> str:
        stats = self.arg or "mean"
        if stats not in STATS:
            raise ValueError(f"features layers:{stats}: choose one of {STATS}")
        return stats

    def identity(self, settings):
        from aqa.model.encoder import encoder_identity

        return {"encoder": encoder_identity(settings.encoder), "stats": self.stats()}

    def open(self, settings, sample_rate):
        from aqa.features.encoder import frozen_encoder
        from aqa.model.pooling import masked_layer_means

        with_std = self.stats() == "mean_std"
        encoder = frozen_encoder(settings.encoder)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        encoder = encoder.to(device)

        @torch.inference_mode()
        def features(audio, lengths):  # (B, T), (B,) -> (B, (L+1) * H [* 2])
            hidden, mask = encoder(audio.to(device), lengths.to(device))  # (L+1, B, F, H), (B, F)
            pooled = masked_layer_means(hidden, mask)  # (L+1, B, H)
            if with_std:
                pooled = torch.cat([pooled, masked_layer_stds(hidden, mask)], dim=-1)  # (L+1, B, 2H)
            return pooled.transpose(0, 1).flatten(1).double().cpu().numpy()

        return features


def compute_layers(settings, table, sample_rate: int, stats: str = "mean") -> np.ndarray:
    """(N, L+1, H) float32 (H doubled with std) aligned with `table`; NaN rows for unusable clips."""
    from aqa.features.cache import compute_features
    from aqa.model.module import encoder_dims

    with torch.random.fork_rng():  # building the encoder draws random numbers: a cache hit must not differ
        flat = compute_features(settings, table, sample_rate, f"layers:{stats}")
    num_layers, _ = encoder_dims(settings.encoder)
    return flat.reshape(len(flat), num_layers, -1)
