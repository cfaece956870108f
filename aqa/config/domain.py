"""Schema of the `domain:` section (definers and the features they cluster). No imports beyond dataclasses:
the config schema loads it without loading the definers."""

from dataclasses import dataclass, field


@dataclass
class DefinerConfig:
    name: str = "none"  # a name of aqa.definers.registry.DEFINERS: none|random|dataset|metadata|kmeans|gmm
    k: int | None = None  # random/kmeans/gmm: number of domains; None = auto over k_range (kmeans/gmm)
    k_range: list[int] = field(default_factory=lambda: [2, 3, 4, 5, 6, 8])
    columns: list[str] = field(default_factory=list)  # metadata: columns combined into one label
    covariance: str = "diag"  # gmm: full|tied|diag|spherical
    standardize: bool = True  # kmeans/gmm: z-score features before reduction
    reduce: str = "pca"  # kmeans/gmm: none|pca|umap
    reduce_dim: int = 32  # dims after reduction (GMM on raw 768-d is slow and ill-posed)
    features: str = "encoder"  # kmeans/gmm: encoder|acoustic|run:<checkpoint>[@ASPECT] (aqa.features)
    seed: int | None = None  # random/kmeans/gmm/pca/umap seed; None = the run's top-level `seed`
    # how the model uses these labels (a model.domain_handling value), so that one sweep value can name a
    # whole domain strategy; set, it wins over model.domain_handling; None = model.domain_handling.
    # Applied at config load (aqa.config.load); a per-aspect model.aspects.<A>.domain_handling wins over it.
    handling: str | None = None
    # the adversary's GRL strength for these labels (issue 21: lambda swept inside each candidate); set, it
    # wins over model.adversary.lambda_max (per aspect: model.aspects.<A>.lambda_max, unless given explicitly)
    lambda_max: float | None = None


@dataclass
class EmbeddingConfig:
    layer: str = "mean"  # features `encoder`: `mean` over all hidden states, or a layer index like "6"
    cache_dir: str = "~/.cache/aqa/embeddings"  # per-clip features of every extractor, cached here
    batch_size: int = 16


@dataclass
class DomainConfig:
    definer: DefinerConfig = field(default_factory=DefinerConfig)  # used by every aspect...
    definers: dict[str, DefinerConfig] = field(default_factory=dict)  # ...unless overridden per aspect
    selection: str | None = None  # selection.yaml from `aqa select`: {aspect: definer settings}
    class_weights: bool = False  # weight the domain loss by inverse domain frequency
    min_domains: int = 2  # fewer distinct labels -> warning and no adversary for that aspect
    embeddings: EmbeddingConfig = field(default_factory=EmbeddingConfig)
