"""`conditioned`: a learned domain embedding is appended to the head's input (the mean one when unknown)."""

import torch

from aqa.model.domain_handling import DomainEmbedding
from aqa.model.handling.base import DomainHandling


class Conditioned(DomainHandling):
    name = "conditioned"
    description = "domain embedding into the MOS head"
    before_heads = True  # widens the head input

    def __init__(self, num_domains, dim, model_cfg, class_weights=None):
        super().__init__(num_domains, dim, model_cfg, class_weights)
        self.embedding = DomainEmbedding(num_domains, model_cfg.domain_embedding_dim)
        self.head_extra = model_cfg.domain_embedding_dim

    def head_input(self, x, labels):
        return torch.cat([x, self.embedding(labels).to(x.dtype)], dim=-1)
