"""Domain definers: what counts as a domain, per aspect (fitted on train only, saved with the run).

The public names below load their modules on first use (sklearn and the features stage stay unloaded
until a definer is fitted).
"""

import importlib

_PUBLIC = {
    "fit_domain_labels": "aqa.definers.labels",
    "DomainLabels": "aqa.definers.labels",
    "resolve_definers": "aqa.definers.resolve",
    "domain_probe": "aqa.definers.probe",
    "DEFINERS": "aqa.definers.registry",
    "build_definer": "aqa.definers.registry",
    "definer_class": "aqa.definers.registry",
    "register": "aqa.definers.registry",
}

__all__ = list(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'aqa.definers' has no attribute {name!r}")
