"""The per-aspect model, a plain nn.Module: per-layer features -> per-aspect layer pooling (-> projection)
-> MOS head, with each aspect's domain handling (aqa/model/handling) around it.

Two roads in (README "Screening"): the hidden states of a trained encoder (`forward_hidden`: (L+1, B, F, H)
and a frame mask) or the per-layer pooled features of a frozen encoder (`forward`: (B, L+1, H), e.g. read
from the layer cache, aqa/features/layers.py). The encoder itself lives outside (aqa/model/module.py).
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from aqa.model.aspects import aspect_settings
from aqa.model.handling.registry import HANDLINGS
from aqa.model.heads import MOSHead, Projection
from aqa.model.pooling import build_pool, masked_layer_means

VARIANCE_FLOOR = 1e-3  # normalised units: keeps the Gaussian NLL finite when a head predicts no spread


@dataclass
class ModelOutput:
    """What one forward pass gives (normalised units)."""

    preds: torch.Tensor  # (B, A) MOS
    features: torch.Tensor  # (B, A, D) what each aspect's head and adversary see (probe features)
    var: torch.Tensor | None  # (B, A) predicted rating variance (model.head_variance), else None


class AspectModel(nn.Module):
    """Predicts every aspect from per-layer features (normalised units; `denormalise` for MOS).

    Args:
        model_cfg: the `model:` section (pooling, heads, capacity, handlings, adversary).
        aspects: `data.aspects`, the order of every (B, A) tensor.
        num_layers, hidden_size: L+1 hidden states of size H (the encoder's, or the layer cache's).
        num_domains: {aspect: K}; K < 2 means no domain handling for that aspect (plain ERM).
        target_mean, target_std: per-aspect train statistics (A,), buffers for (de)normalisation.
        class_weights: optional {aspect: [K weights]} for an adversary's domain loss.
    """

    def __init__(
        self,
        model_cfg,
        aspects: list[str],
        num_layers: int,
        hidden_size: int,
        num_domains: dict[str, int],
        target_mean: list[float],
        target_std: list[float],
        class_weights: dict[str, list[float]] | None = None,
    ):
        super().__init__()
        self.aspects = list(aspects)
        self.settings = aspect_settings(model_cfg, self.aspects)
        self.capacity = model_cfg.aspect_capacity
        self.head_variance = bool(model_cfg.head_variance)
        self.pools = nn.ModuleDict(
            {a: build_pool(model_cfg.pooling, num_layers, hidden_size, model_cfg.deepaq_dim) for a in aspects}
        )
        dim = self.pools[self.aspects[0]].out_dim
        if self.capacity == "projected":
            self.projections = nn.ModuleDict(
                {a: Projection(dim, model_cfg.projection_dim) for a in self.aspects}
            )
            dim = model_cfg.projection_dim
        handled = {a: k for a, k in num_domains.items() if k >= 2 and a in self.aspects}

        def handling(a: str):
            cls = HANDLINGS[self.settings[a].domain_handling]
            return cls(handled[a], dim, model_cfg, (class_weights or {}).get(a))

        # construction order = random-initialisation order: handlings that feed the head first, then the
        # heads, then the others (the order of the module before the registry: seeds reproduce its runs)
        early = {a: handling(a) for a in handled if HANDLINGS[self.settings[a].domain_handling].before_heads}
        heads = {
            a: MOSHead(
                dim + (early[a].head_extra if a in early else 0),
                model_cfg.head_hidden,
                model_cfg.head_dropout,
                outputs=2 if self.head_variance else 1,
            )
            for a in self.aspects
        }
        late = {a: handling(a) for a in handled if a not in early}
        if any(h.head_extra for h in late.values()):
            raise ValueError("a domain handling that widens the head input must set before_heads = True")
        self.handlings = nn.ModuleDict({a: (early | late)[a] for a in handled})
        self.heads = nn.ModuleDict(heads)
        self.register_buffer("target_mean", torch.tensor(target_mean, dtype=torch.float32))
        self.register_buffer("target_std", torch.tensor(target_std, dtype=torch.float32))

    # ---- inputs ------------------------------------------------------------------------------------
    def forward(self, layers, domains: torch.Tensor | None = None) -> ModelOutput:
        """layers: (B, L+1, H) per-layer pooled features (or {aspect: (B, L+1, H)} under separate capacity);
        domains: (B, A) labels or None (= all unknown) -> ModelOutput."""
        if isinstance(layers, dict):
            return self.from_layer_means({a: v.transpose(0, 1) for a, v in layers.items()}, domains)
        return self.from_layer_means(layers.transpose(0, 1), domains)

    def forward_hidden(self, hidden, frame_mask, domains: torch.Tensor | None = None) -> ModelOutput:
        """hidden (L+1, B, F, H) and frame_mask (B, F) bool (or {aspect: (hidden, mask)}) -> ModelOutput."""
        if isinstance(hidden, dict):
            return self.from_layer_means({a: masked_layer_means(*hm) for a, hm in hidden.items()}, domains)
        return self.from_layer_means(masked_layer_means(hidden, frame_mask), domains)

    # ---- the model ---------------------------------------------------------------------------------
    def features(self, layer_means) -> torch.Tensor:
        """(L+1, B, H) layer means (or {aspect: (L+1, B, H)}) -> (B, A, D): each aspect's pooled features
        (through its projection if any): what its head and its adversary see."""
        if isinstance(layer_means, dict):
            pooled = [self.pools[a](layer_means[a]) for a in self.aspects]
        else:
            pooled = [self.pools[a](layer_means) for a in self.aspects]
        if self.capacity == "projected":
            pooled = [self.projections[a](p) for a, p in zip(self.aspects, pooled, strict=True)]
        return torch.stack(pooled, dim=1)

    def from_layer_means(self, layer_means, domains: torch.Tensor | None = None) -> ModelOutput:
        """(L+1, B, H) (or {aspect: ...}) and (B, A) labels or None -> ModelOutput. Only handlings that read
        labels use them; an unknown label (-1, or outside the K trained domains) takes the neutral choice."""
        features = self.features(layer_means)  # (B, A, D)
        if domains is None:
            domains = torch.full(features.shape[:2], -1, dtype=torch.long, device=features.device)
        preds, variances = [], []
        for i, a in enumerate(self.aspects):
            handling = self.handlings[a] if a in self.handlings else None  # noqa: SIM401 (ModuleDict has no get)
            x = features[:, i]
            if handling is not None:
                x = handling.head_input(x, domains[:, i])
            out = self.heads[a](x)  # (B, 1) or (B, 2)
            mean = out[:, 0]
            var = F.softplus(out[:, 1]) + VARIANCE_FLOOR if self.head_variance else None
            if handling is not None:
                mean, var = handling.output(mean, var, domains[:, i])
            preds.append(mean)
            variances.append(var)
        var = torch.stack(variances, dim=1) if self.head_variance else None
        return ModelOutput(torch.stack(preds, dim=1), features, var)

    # ---- units -------------------------------------------------------------------------------------
    def denormalise(self, preds: torch.Tensor) -> torch.Tensor:
        return preds * self.target_std + self.target_mean

    def normalise(self, values: torch.Tensor) -> torch.Tensor:
        """(B, A) or (B, A, R) original scale -> normalised units."""
        shape = (1, -1) + (1,) * (values.dim() - 2)
        return (values - self.target_mean.view(shape)) / self.target_std.view(shape)

    # ---- views by handling (diagnostics and tests) ---------------------------------------------------
    @property
    def adversaries(self) -> dict[str, nn.Module]:
        """{aspect: its domain classifier} for the adversarial aspects."""
        return {a: h.classifier for a, h in self.handlings.items() if h.adversarial}


# checkpoints written before the per-aspect model kept these at the LightningModule's top level
LEGACY_KEYS = {  # old prefix -> new prefix (under the module's `aspect_model.`)
    "pools.": "pools.",
    "projections.": "projections.",
    "heads.": "heads.",
    "target_mean": "target_mean",
    "target_std": "target_std",
}
LEGACY_PER_ASPECT = {  # old per-aspect prefix -> the handling's attribute
    "adversaries.": "classifier.",
    "domain_embeddings.": "embedding.",
    "domain_biases.": "bias.",
}


def upgrade_state_dict(state_dict: dict, prefix: str, into: str) -> None:
    """Rename (in place) the keys of a checkpoint written before the per-aspect model into its keys under
    `into` (e.g. `pools.PQ.layer_logits` -> `aspect_model.pools.PQ.layer_logits`,
    `adversaries.PQ.net.0.weight` -> `aspect_model.handlings.PQ.classifier.net.0.weight`,
    `class_weight_PQ` -> `aspect_model.handlings.PQ.class_weight`)."""
    for key in list(state_dict):
        if not key.startswith(prefix) or key.startswith(prefix + into):
            continue
        rest = key[len(prefix) :]
        new = None
        for old, target in LEGACY_KEYS.items():
            if rest.startswith(old):
                new = target + rest[len(old) :]
        for old, attribute in LEGACY_PER_ASPECT.items():
            if rest.startswith(old):
                aspect, _, tail = rest[len(old) :].partition(".")
                new = f"handlings.{aspect}.{attribute}{tail}"
        if rest.startswith("class_weight_"):
            new = f"handlings.{rest[len('class_weight_') :]}.class_weight"
        if new is not None:
            state_dict[prefix + into + new] = state_dict.pop(key)
