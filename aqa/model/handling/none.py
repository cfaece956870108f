"""`none`: the labels are ignored (plain ERM for this aspect; its definer still reports its domains)."""

from aqa.model.handling.base import DomainHandling


class NoHandling(DomainHandling):
    name = "none"
    description = "ignore the labels (ERM)"
