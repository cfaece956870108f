"""`bias`: a per-domain affine correction of the prediction (identity for an unknown domain)."""

from aqa.model.domain_handling import DomainBias
from aqa.model.handling.base import DomainHandling


class Bias(DomainHandling):
    name = "bias"
    description = "per-domain affine output correction"

    def __init__(self, num_domains, dim, model_cfg, class_weights=None):
        super().__init__(num_domains, dim, model_cfg, class_weights)
        self.bias = DomainBias(num_domains)

    def output(self, mean, var, labels):
        corrected = self.bias(mean, labels)
        return corrected, (var * self.bias.scale(labels) ** 2 if var is not None else None)
