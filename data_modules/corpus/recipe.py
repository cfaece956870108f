"""The corpus recipe in one place: sources, hidden families, systems, splits. `docs/corpus.md` explains it.

Change anything here (or in the synthesis) and bump `VERSION`: it is part of the cache key.
"""

VERSION = 3

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
HELDOUT_DATASET = "garnet"  # a second unseen source, made the same way: `val_ood` (held-out validation)
OOD_SPLITS = {"val_ood": HELDOUT_DATASET, "test_ood": OOD_DATASET}  # split -> its only (unseen) source

# Hidden generator families (no manifest column names them), shared across datasets. In train/val/test a
# family sets how expressive its content is (Beta(a, b) of `expressiveness`), so its fingerprint predicts
# CE: shortcut 2. In the OOD splits every family draws from the same Beta.
FAMILY_EXPRESSIVENESS = {
    "comb": (6.0, 2.0),
    "buzz": (2.0, 6.0),
    "gap": (3.5, 3.5),
}
OOD_EXPRESSIVENESS = (1.5, 1.5)

MODALITIES = ("music", "speech", "sound")

# Systems are nested in datasets and never shared between splits: system j of each in-domain dataset
# goes to SYSTEM_SPLITS[j]. Each OOD source has one system per (family, quality level): system j has
# family j mod 3 and level j // 3. OOD clips come in matched triplets: one template (factors and ratings)
# rendered once in each family at the same level, so every family of an OOD split has the same MOS values
# and neither the source nor the family carries rank information there (by construction, at every seed).
SYSTEM_SPLITS = ("train", "train", "train", "val", "test")
OOD_LEVEL_SEVERITY = (0.15, 0.50, 0.85)  # mean severity of the OOD systems of each quality level
SPLIT_SHARE = {"val": 0.10, "test": 0.10, "val_ood": 0.10, "test_ood": 0.15}  # of all clips; train: the rest

SYSTEM_SEVERITY_SD = 0.07  # spread of system means around their dataset's mean
CLIP_SEVERITY_SD = 0.17  # spread of clips around their system's mean
DEGRADATION_JITTER_SD = 0.20  # each degradation's amount = clip severity + this much noise

N_RATERS = 10
ASPECTS = ("PQ", "PC", "CE", "CU")
DURATION_STEP = 0.25  # seconds; clip lengths are multiples of it (evaluation groups identical lengths)
