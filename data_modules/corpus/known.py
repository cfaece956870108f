"""The known-answer recipe (`data.corpus.recipe=known`): every aspect has a planted right answer.

Shortcuts are planted in the *ratings* (listening-test offsets), never in the true quality:

- PQ (`source_offset`): the listening tests of the train/val/test splits add a per-source offset of a few
  MOS points; true PQ is drawn identically for every source -> right answer `dataset`.
- CE (`family_offset`): those tests add an offset per hidden generator family, whose loud artefact
  (fingerprints.family_fingerprint: muffle, hiss, thin) k-means on `acoustic` features recovers -> `clusters`.
- PC (`null`): nothing planted -> `none` (a selection there is a false selection).
- CU (`trap`): true CU really differs by source (in every split, the neutral ones included), no rating
  offset -> `none`, and a dataset adversary must hurt (the label-shift trap).

The neutral splits (`NEUTRAL_SPLITS`: val_mixed, test_mixed over the train sources; val_ood, test_ood over
unseen sources) are rated in one neutral test: the truth plus the same rater noise, no offset. The oracle
ratings (`<A>_oracle_ratings`) rate every clip, train included, in that neutral test with the same rater
noise as its manifest ratings: a model trained on them is the oracle row. docs/corpus.md has the numbers.
"""

import numpy as np
import pandas as pd

from data_modules.corpus import recipe
from data_modules.corpus.plan import durations
from data_modules.corpus.raters import draw_raters, rate
from data_modules.corpus.scores import true_scores

VERSION = 1  # part of the cache key of a known-answer corpus (with recipe.VERSION)

SOURCES = ("aurora", "cobalt", "delta", "ember")  # sources of every in-domain split (fingerprints.py)
OOD_SOURCES = {"val_ood": ("garnet", "basalt"), "test_ood": ("fjord", "iris")}  # unseen, two per split
FAMILIES = ("muffle", "hiss", "thin")  # hidden generator families (audible artefacts; no manifest column)
# in-domain system j of each source goes to SYSTEM_SPLITS[j]; its family is (source index + j) mod 3, so
# every source has every family in train and source and family are unrelated
SYSTEM_SPLITS = ("train", "train", "train", "val", "test", "val_mixed", "test_mixed")
NEUTRAL_SPLITS = ("val_mixed", "test_mixed", "val_ood", "test_ood")  # rated in one neutral test
SPLIT_SHARE = {
    "val": 0.08,
    "test": 0.08,
    "val_mixed": 0.10,
    "test_mixed": 0.10,
    "val_ood": 0.08,
    "test_ood": 0.08,
}  # of all clips; train: the rest

# what is planted per aspect, and the right answer class of each (written to answers.json)
PLANTED = {"PQ": "source_offset", "PC": "null", "CE": "family_offset", "CU": "trap"}
ANSWERS = {"PQ": "dataset", "PC": "none", "CE": "clusters", "CU": "none"}

SOURCE_OFFSETS = (-2.0, -2.0 / 3.0, 2.0 / 3.0, 2.0)  # PQ rating offset per source (shuffled per seed)
FAMILY_OFFSETS = (-1.5, 0.0, 1.5)  # CE rating offset per family (shuffled per seed)
TRAP_EFFECTS = (-2.0, -2.0 / 3.0, 2.0 / 3.0, 2.0)  # true CU points per in-domain source (shuffled per seed)
OOD_TRAP_EFFECTS = (-1.5, 1.5)  # true CU points of the two unseen sources of each OOD split

SEVERITY_MAX = 0.9  # clip severity ~ U(0, SEVERITY_MAX) for every source and family
EXPRESSIVENESS = (2.0, 2.0)  # Beta(a, b) of expressiveness, for every source and family
DEGRADATION_JITTER_SD = 0.20
CUTOFF_HZ = 12000.0  # no band-limiting (it would look like the `muffle` family to spectral features)


def systems_table() -> pd.DataFrame:
    """One row per system: system, dataset, split, family, level (-1: the known recipe has no levels)."""
    rows = []
    for d, dataset in enumerate(SOURCES):
        for j, split in enumerate(SYSTEM_SPLITS):
            family = FAMILIES[(d + j) % len(FAMILIES)]
            rows.append({"system": f"{dataset}-{j}", "dataset": dataset, "split": split, "family": family})
    for split, datasets in OOD_SOURCES.items():
        for dataset in datasets:
            for j, family in enumerate(FAMILIES):
                rows.append(
                    {"system": f"{dataset}-{j}", "dataset": dataset, "split": split, "family": family}
                )
    return pd.DataFrame(rows).assign(level=-1)


def split_counts(size: int) -> dict[str, int]:
    """Clips per split: shares of `size`, at least one per system of the split; train the rest."""
    systems = systems_table()["split"].value_counts()
    counts = {name: max(int(systems[name]), round(share * size)) for name, share in SPLIT_SHARE.items()}
    train = size - sum(counts.values())
    if train < systems["train"]:
        raise ValueError(f"known-answer corpus size {size} is too small: need at least "
                         f"{sum(counts.values()) + systems['train']} clips")  # fmt: skip
    return {"train": train, **counts}


def plan_known(seed: int, size: int, seconds: float) -> pd.DataFrame:
    """One row per clip: the columns of plan.plan_corpus (id, split, system, dataset, modality, family,
    factors, `<A>_true`, `<A>_ratings`, `<A>`) plus `<A>_oracle_ratings` (the neutral test of every clip)."""
    rng = np.random.default_rng([seed, 10])
    systems = systems_table()
    parts = []
    for split, count in split_counts(size).items():
        in_split = systems[systems["split"] == split].reset_index(drop=True)
        order = rng.permutation(len(in_split))
        parts.append(in_split.iloc[order[np.arange(count) % len(in_split)]])
    clips = pd.concat(parts, ignore_index=True)
    clips = clips.sort_values(["split", "system"], kind="stable").reset_index(drop=True)
    n = len(clips)
    clips.insert(0, "id", [f"clip{i:05d}" for i in range(n)])
    clips["template"] = -1
    clips["modality"] = rng.choice(recipe.MODALITIES, n)
    clips["seconds"] = durations(rng, n, seconds)
    clips["layers"] = rng.integers(1, 6, n)
    clips["density"] = rng.uniform(0.0, 1.0, n)
    clips["expressiveness"] = rng.beta(*EXPRESSIVENESS, n)
    clips["severity"] = rng.uniform(0.0, SEVERITY_MAX, n)
    amounts = np.clip(
        clips["severity"].to_numpy()[:, None] + rng.normal(0, DEGRADATION_JITTER_SD, (n, 3)), 0, 1
    )
    clips["snr_db"] = 60.0 - 50.0 * amounts[:, 0]
    clips["drive_db"] = 24.0 * amounts[:, 1] - 6.0
    clips["cutoff_hz"] = CUTOFF_HZ
    clips["bits"] = np.rint(16.0 - 10.0 * amounts[:, 2]).astype(int)

    truths = true_scores(clips)
    trap = dict(zip(SOURCES, rng.permutation(TRAP_EFFECTS)))
    for datasets in OOD_SOURCES.values():
        trap.update(zip(datasets, rng.permutation(OOD_TRAP_EFFECTS)))
    truths["CU"] = np.clip(truths["CU"] + clips["dataset"].map(trap).to_numpy(float), 1.0, 10.0)
    offsets = rating_offsets(rng, clips)
    raters = draw_raters(np.random.default_rng([seed, 11]), recipe.N_RATERS, recipe.ASPECTS)
    for i, aspect in enumerate(recipe.ASPECTS):
        clips[f"{aspect}_true"] = truths[aspect]
        noise = [seed, 12, i]  # the same rater noise for the manifest and the oracle ratings
        ratings = rate(np.random.default_rng(noise), truths[aspect] + offsets[aspect], raters[aspect])
        oracle = rate(np.random.default_rng(noise), truths[aspect], raters[aspect])
        clips[f"{aspect}_ratings"] = list(ratings)
        clips[f"{aspect}_oracle_ratings"] = list(oracle)
        clips[aspect] = ratings.mean(axis=1)
    return clips


def rating_offsets(rng: np.random.Generator, clips: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per aspect (N,) listening-test offsets: PQ by source, CE by family, on the non-neutral splits."""
    rated = ~clips["split"].isin(NEUTRAL_SPLITS).to_numpy()
    by_source = dict(zip(SOURCES, rng.permutation(SOURCE_OFFSETS)))
    by_family = dict(zip(FAMILIES, rng.permutation(FAMILY_OFFSETS)))
    zero = np.zeros(len(clips))
    return {
        "PQ": np.where(rated, clips["dataset"].map(by_source).fillna(0.0).to_numpy(float), 0.0),
        "PC": zero,
        "CE": np.where(rated, clips["family"].map(by_family).to_numpy(float), 0.0),
        "CU": zero,
    }
