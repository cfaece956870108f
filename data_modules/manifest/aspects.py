"""Aspect names: the short names used by aqa and the long names of the published AES/track 2 files."""

import math

import numpy as np

# Documented mapping (audiobox-aesthetics axes). A config may list either name; the table column is named
# exactly as the config lists it.
ASPECT_ALIASES = {
    "PQ": "Production_Quality",
    "PC": "Production_Complexity",
    "CE": "Content_Enjoyment",
    "CU": "Content_Usefulness",
}
_BOTH_WAYS = {**ASPECT_ALIASES, **{long: short for short, long in ASPECT_ALIASES.items()}}


def find_aspect_column(columns, aspect: str) -> str | None:
    """The manifest column holding `aspect`: the exact name, else its alias (PQ <-> Production_Quality)."""
    if aspect in columns:
        return aspect
    alias = _BOTH_WAYS.get(aspect)
    return alias if alias in columns else None


def is_rating_list(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def mean_rating(value):
    """Target of one cell: a number as is, a list of rater scores -> its mean (NaN if empty)."""
    if is_rating_list(value):
        try:
            numbers = [float(v) for v in value]
        except (TypeError, ValueError):
            return value  # reported as non-numeric by the caller
        return sum(numbers) / len(numbers) if numbers else math.nan
    return value
