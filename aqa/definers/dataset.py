"""`dataset`: one domain per dataset ID (the table's `dataset` column, parsed by the manifest readers)."""

from aqa.definers.metadata import MetadataDefiner


class DatasetDefiner(MetadataDefiner):
    name = "dataset"
    simplicity = 20

    @classmethod
    def label(cls, cfg):
        return "dataset"

    @property
    def needs_columns(self):
        return ["dataset"]
