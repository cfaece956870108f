"""The corpus recipe in one place: sources, hidden families, systems, splits. `docs/corpus.md` explains it.

Change anything here (or in the synthesis) and bump `VERSION`: it is part of the cache key.
"""

VERSION = 2

# Source datasets of train/val/test -> mean degradation severity of their clips (0 clean .. 1 worst).
# The sources differ in quality, so their acoustic fingerprint (fingerprints.py) predicts PQ: shortcut 1.
DATASET_SEVERITY = {
    "aurora": 0.20,
    "basalt": 0.75,
    "cobalt": 0.45,
    "delta": 0.60,
    "ember": 0.30,
}
OOD_DATASET = "fjord"  # unseen source of `test_ood`: new fingerprint, severity independent of source

# Hidden generator families (no manifest column names them), shared across datasets. In train/val/test a
# family sets how expressive its content is (Beta(a, b) of `expressiveness`), so its fingerprint predicts
# CE: shortcut 2. In test_ood every family draws from the same Beta.
FAMILY_EXPRESSIVENESS = {
    "comb": (6.0, 2.0),
    "buzz": (2.0, 6.0),
    "gap": (3.5, 3.5),
}
OOD_EXPRESSIVENESS = (1.5, 1.5)

MODALITIES = ("music", "speech", "sound")

# Systems are nested in datasets and never shared between splits: system j of each in-domain dataset
# goes to SYSTEM_SPLITS[j]; the OOD dataset has OOD_SYSTEMS systems, all in `test_ood`.
SYSTEM_SPLITS = ("train", "train", "train", "val", "test")
OOD_SYSTEMS = 6  # twice the number of families: systems j and j + 3 share a family
SPLIT_SHARE = {"val": 0.10, "test": 0.10, "test_ood": 0.15}  # of all clips; train gets the rest

SYSTEM_SEVERITY_SD = 0.07  # spread of system means around their dataset's mean
CLIP_SEVERITY_SD = 0.17  # spread of clips around their system's mean
DEGRADATION_JITTER_SD = 0.20  # each degradation's amount = clip severity + this much noise

N_RATERS = 10
ASPECTS = ("PQ", "PC", "CE", "CU")
DURATION_STEP = 0.25  # seconds; clip lengths are multiples of it (evaluation groups identical lengths)
