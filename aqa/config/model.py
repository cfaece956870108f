"""Schema of the `model:`, `loss:` and `optim:` sections."""

from dataclasses import dataclass, field


@dataclass
class LoraConfig:
    r: int = 8  # adapter rank: capacity vs. parameters
    alpha: int = 16  # scaling = alpha / r
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])


@dataclass
class TinyEncoderConfig:
    """Random MERT-architecture encoder written to disk (used when `encoder.name: tiny`)."""

    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    intermediate_size: int = 128
    conv_dim: int = 32  # channels of each of the 7 conv layers (MERT: 512)
    sample_rate: int = 24000  # MERT's rate
    seed: int = 0


@dataclass
class EncoderConfig:
    name: str = "m-a-p/MERT-v1-95M"  # local dir, hub id, or `tiny` (random, written by aqa)
    revision: str | None = None  # pin a hub commit for reproducibility (ignored for local dirs)
    mode: str = "lora"  # lora|full|frozen|cached; conv front end is frozen under lora/frozen; cached =
    # screening: the model trains on the per-layer cache of the frozen encoder (seconds a trial)
    lora: LoraConfig = field(default_factory=LoraConfig)
    tiny: TinyEncoderConfig = field(default_factory=TinyEncoderConfig)
    cache_dir: str = "~/.cache/aqa/encoders"  # where the tiny checkpoint is written


@dataclass
class AdversaryConfig:
    lambda_max: float = 1.0  # GRL strength at the end of training
    gamma: float = 10.0  # how fast lambda ramps up: lambda_p = lambda_max*(2/(1+exp(-gamma*p))-1)
    warmup_fraction: float = 0.0  # lambda stays 0 for this fraction of training, then ramps (p rescaled)
    hidden: int = 256
    dropout: float = 0.1
    weight: float = 1.0  # weight of the domain loss in the total loss


@dataclass
class AspectModelConfig:
    """Settings of one aspect (`model.aspects.<ASPECT>`); None = the global value."""

    domain_handling: str | None = None  # see ModelConfig.domain_handling
    lambda_max: float | None = None  # this aspect's GRL strength (model.adversary.lambda_max)
    gamma: float | None = None  # this aspect's GRL ramp (model.adversary.gamma)
    weight: float | None = None  # this aspect's domain-loss weight (model.adversary.weight)


@dataclass
class ModelConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    pooling: str = "layer_weights"  # layer_weights (softmax over layers + masked mean) | deepaq
    deepaq_dim: int = 256  # deepaq: concat of layer means -> ReLU -> Linear to this size
    head_hidden: int = 256
    head_dropout: float = 0.1
    adversary: AdversaryConfig = field(default_factory=AdversaryConfig)
    # what each aspect does with its domain labels (README "Domain handling"): adversarial (GRL classifier) |
    # conditioned (domain embedding into the head) | bias (per-domain affine output correction) |
    # adversarial_conditional (the classifier also sees the aspect's target) | none
    domain_handling: str = "adversarial"
    aspects: dict[str, AspectModelConfig] = field(default_factory=dict)  # per-aspect overrides
    # shared (one encoder, per-aspect layer weights) | projected (+ a per-aspect MLP before head and
    # adversary) | separate (one encoder per aspect: one model per aspect, ~A times the parameters)
    aspect_capacity: str = "shared"
    projection_dim: int = 256  # projected: output size of each aspect's projection
    domain_embedding_dim: int = 16  # conditioned: size of the learned domain embedding
    head_variance: bool = False  # heads also predict a variance; the MOS term becomes the Gaussian NLL


@dataclass
class LossConfig:
    name: str = "l1"  # l1|mse|clipped_mse (not used under model.head_variance: Gaussian NLL instead)
    tau: float = 0.25  # clipped_mse: errors below tau (normalised units) cost nothing
    ranking_weight: float = 0.0  # >0 adds a pairwise margin ranking term
    margin: float = 0.1  # ranking margin (normalised units)
    # Objectives compose: loss = mos_weight * MOS + rnc_weight * RnC + domain terms (each times its aspect's
    # adversary weight, reduced by domain_reduction).
    mos_weight: float = 1.0  # 0 = no MOS regression (DeePAQ alone: the embedding is trained by RnC only)
    rnc_weight: float = (
        0.0  # >0 adds Rank-N-Contrast on the first aspect's pooled embedding (aqa/model/rnc.py)
    )
    rnc_temperature: float = 1.0  # distances are divided by it (DeePAQ's formula: 1; the RnC paper uses 2)
    rnc_labels: list[str] = field(
        default_factory=list
    )  # aspects ranked by RnC ([] = every aspect; NaN rows skip)
    rnc_bitrate: str | None = None  # a data.label_columns entry ranked too (DeePAQ: bitrate, clean = inf)
    # mean: the domain terms over A aspects, so one aspect's adversary stands to its own MOS term as in DANN
    # (loss = mean_a(mos_a + w_a * domain_a)) | sum: the pre-issue-21 sum (aqa/model/objectives/domain.py)
    domain_reduction: str = "mean"


@dataclass
class OptimConfig:
    lr: float = 1e-3  # heads, adversaries, pooling
    encoder_lr: float = 1e-4  # LoRA adapters or the full encoder
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05  # linear warm-up, then cosine decay
    scheduler: str = (
        "cosine"  # cosine (warm-up + cosine, per step) | plateau (ReduceLROnPlateau on checkpoint.monitor)
    )
    plateau_factor: float = 0.99  # plateau: LR multiplier (DeePAQ: 0.99)
    plateau_patience: int = 10  # plateau: validation epochs without improvement before reducing
    plateau_monitor: str | None = None  # plateau: logged key to watch (None = checkpoint.monitor)
    plateau_mode: str | None = None  # plateau: min|max (None = checkpoint.mode)
