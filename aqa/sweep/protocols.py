"""Model-selection protocols: which validation number chooses a checkpoint's candidate, per aspect.

As in DomainBed's `model_selection.py`, each protocol is a small class and `aqa select` prints one table
per protocol. Every protocol ranks the checkpoint that was kept (its `predictions/<stage>.csv`, else the
plain `stage/...` keys of metrics.json), never the per-key maxima over epochs (`best/...`).

A choosing protocol must be able to see what a candidate changes: a learned dataset fingerprint acts as
a per-source offset, which `within` cannot see by construction. `mixed` (one neutral listening test over
mixed sources) and `heldout` with two or more unseen sources pooled can.
"""


class Protocol:
    name = ""
    stage = "val"  # metrics.json / predictions stage the key reads
    metric = "within_srcc"  # level_metric part of the key
    clip_metric = "within"  # from per-clip predictions: within (per-source SRCC on Fisher z) | pooled | None
    goal = "maximize"
    choose_allowed = True  # False: shown as a reference, never used to choose
    shortcut_prone = False  # True: rewards between-source offsets (the source-lookup predictor scores here)
    sees_offsets = False  # True: a per-source offset in the predictions changes the score
    description = ""

    def key(self, aspect: str) -> str:
        """The metrics.json key this protocol reads for `aspect`, e.g. `val/PQ/within_srcc`."""
        return f"{self.stage}/{aspect}/{self.metric}"

    def shortcut_key(self, aspect: str) -> str:
        """The same key scored for the source-lookup predictor (each train source's mean train MOS)."""
        return f"shortcut/{self.key(aspect)}"


class Within(Protocol):
    name = "within"
    description = (
        "val: SRCC within each source, clip-weighted mean on Fisher z (shortcut-proof check; blind to "
        "per-source offsets)"
    )


class Mixed(Protocol):
    name = "mixed"
    stage, metric, clip_metric = "val_mixed", "utt_srcc", "pooled"
    sees_offsets = True
    description = "val_mixed: utterance SRCC on a mixed-source split rated in one neutral listening test"


class HeldOut(Protocol):
    name = "heldout"
    stage, metric, clip_metric = "val_ood", "utt_srcc", "pooled"
    sees_offsets = True  # with two or more held-out sources pooled (leave-k-sources-out folds)
    description = (
        "val_ood: utterance SRCC pooled over the sources held out of training (k >= 2 to see offsets)"
    )


class Pooled(Protocol):
    name = "pooled"
    metric, clip_metric = "sys_srcc", None
    shortcut_prone = True
    description = "val: system SRCC pooled over sources (shortcut-prone: ranks the sources' mean quality)"


class Oracle(Protocol):
    name = "oracle"
    stage, metric, clip_metric = "test_ood", "utt_srcc", "pooled"
    choose_allowed = False
    description = "test_ood: utterance SRCC on unseen sources (upper bound only, never used to choose)"


PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (Within(), Mixed(), HeldOut(), Pooled(), Oracle())}
AUTO = "auto"  # mixed where a neutral split is declared, else heldout with k >= 2 sources, else within
DEFAULT_PROTOCOL = AUTO


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise ValueError(f"unknown selection protocol {name!r}; choose one of {[AUTO, *PROTOCOLS]}")
    return PROTOCOLS[name]
