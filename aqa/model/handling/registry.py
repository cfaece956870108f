"""Domain-handling registry: `model.domain_handling` / `model.aspects.<A>.domain_handling` -> class.
The one owner of the handling names. A new handling is one small file plus one line here."""

from aqa.model.handling.adversarial import Adversarial
from aqa.model.handling.adversarial_conditional import AdversarialConditional
from aqa.model.handling.base import DomainHandling
from aqa.model.handling.bias import Bias
from aqa.model.handling.conditioned import Conditioned
from aqa.model.handling.none import NoHandling

HANDLINGS: dict[str, type[DomainHandling]] = {
    "adversarial": Adversarial,
    "conditioned": Conditioned,
    "bias": Bias,
    "adversarial_conditional": AdversarialConditional,
    "none": NoHandling,
}
