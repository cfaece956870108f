"""Model-selection protocols: which validation number chooses a checkpoint's candidate, per aspect.

As in DomainBed's `model_selection.py`, each protocol is a small class and `aqa select` prints one table
per protocol. Every protocol ranks the metrics of the checkpoint that was kept (the plain `val/...` keys of
metrics.json), never the per-key maxima over epochs (`best/...`).
"""


class Protocol:
    name = ""
    stage = "val"  # metrics.json stage the key reads
    metric = "within_srcc"  # level_metric part of the key
    goal = "maximize"
    choose_allowed = True  # False: shown as a reference, never used to choose
    shortcut_prone = False  # True: rewards between-source offsets (the source-lookup predictor scores here)
    description = ""

    def key(self, aspect: str) -> str:
        """The metrics.json key this protocol reads for `aspect`, e.g. `val/PQ/within_srcc`."""
        return f"{self.stage}/{aspect}/{self.metric}"

    def shortcut_key(self, aspect: str) -> str:
        """The same key scored for the source-lookup predictor (each train source's mean train MOS)."""
        return f"shortcut/{self.key(aspect)}"


class Within(Protocol):
    name = "within"
    description = "val: clip-weighted mean over sources of the utterance SRCC within each source"


class HeldOut(Protocol):
    name = "heldout"
    stage, metric = "val_ood", "utt_srcc"
    description = "val_ood: utterance SRCC on sources held out of training"


class Pooled(Protocol):
    name = "pooled"
    metric = "sys_srcc"
    shortcut_prone = True
    description = "val: system SRCC pooled over sources (shortcut-prone: ranks the sources' mean quality)"


class Oracle(Protocol):
    name = "oracle"
    stage, metric = "test_ood", "utt_srcc"
    choose_allowed = False
    description = "test_ood: utterance SRCC on unseen sources (upper bound only, never used to choose)"


PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (Within(), HeldOut(), Pooled(), Oracle())}
DEFAULT_PROTOCOL = "within"


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise ValueError(f"unknown selection protocol {name!r}; choose one of {list(PROTOCOLS)}")
    return PROTOCOLS[name]
