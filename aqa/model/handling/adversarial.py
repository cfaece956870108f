"""`adversarial`: a domain classifier behind gradient reversal (DANN) removes the domain from the features."""

import torch

from aqa.model.handling.base import DomainHandling
from aqa.model.heads import DomainClassifier


class Adversarial(DomainHandling):
    """classifier: (B, D) -> GRL -> (B, K); class_weight (K,) buffer weights the domain cross-entropy."""

    name = "adversarial"
    description = "GRL domain classifier on the aspect's features"
    adversarial = True
    condition_dim = 0  # size of what the classifier sees beside the features (subclasses)

    def __init__(self, num_domains, dim, model_cfg, class_weights=None):
        super().__init__(num_domains, dim, model_cfg, class_weights)
        adv = model_cfg.adversary
        self.classifier = DomainClassifier(dim, num_domains, adv.hidden, adv.dropout, self.condition_dim)
        self.register_buffer("class_weight", torch.tensor(class_weights) if class_weights else None)

    def condition(self, target: torch.Tensor) -> torch.Tensor | None:
        return None

    def logits(self, features, lambda_, target):
        return self.classifier(features, lambda_, self.condition(target))
