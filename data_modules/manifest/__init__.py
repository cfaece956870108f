"""Manifests (generic CSV/JSONL and the published formats) -> one clip table."""

from data_modules.manifest.aspects import ASPECT_ALIASES
from data_modules.manifest.errors import ManifestError, Problem
from data_modules.manifest.readers import FORMATS, FormatError, detect_format
from data_modules.manifest.splits import SplitError, assign_splits
from data_modules.manifest.table import load_table, read_manifest

__all__ = [
    "ASPECT_ALIASES",
    "FORMATS",
    "FormatError",
    "ManifestError",
    "Problem",
    "SplitError",
    "assign_splits",
    "detect_format",
    "load_table",
    "read_manifest",
]
