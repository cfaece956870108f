"""`adversarial_conditional`: the adversary also sees the aspect's normalised target, so it removes only the
domain information that is not explained by quality (a conditional DANN)."""

from aqa.model.domain_handling import target_condition
from aqa.model.handling.adversarial import Adversarial


class AdversarialConditional(Adversarial):
    name = "adversarial_conditional"
    description = "GRL domain classifier that also sees the target"
    condition_dim = 2  # [target or 0, 1 if missing]

    def condition(self, target):
        return target_condition(target)
