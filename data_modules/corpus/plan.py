"""Every clip's factors, true scores and ratings, drawn from the seed (no audio yet).

The ratings depend on the plan only, so the shortcut strengths can be measured without synthesis.
"""

import numpy as np
import pandas as pd

from data_modules.corpus import recipe
from data_modules.corpus.raters import draw_raters, rate
from data_modules.corpus.scores import true_scores

FAMILIES = list(recipe.FAMILY_EXPRESSIVENESS)
FACTORS = [
    "modality", "seconds", "layers", "density", "expressiveness", "severity",
    "snr_db", "drive_db", "cutoff_hz", "bits",
]  # fmt: skip


def systems_table() -> pd.DataFrame:
    """One row per system (`<dataset>-<index>`): system, dataset, split, hidden family and quality level
    (OOD systems only; -1 in-domain)."""
    rows = []
    for d, dataset in enumerate(recipe.DATASET_SEVERITY):
        for j, split in enumerate(recipe.SYSTEM_SPLITS):
            # (d + j) mod 3: every dataset has every family in train, so family and dataset stay unrelated
            family = FAMILIES[(d + j) % len(FAMILIES)]
            rows.append(
                {
                    "system": f"{dataset}-{j}",
                    "dataset": dataset,
                    "split": split,
                    "family": family,
                    "level": -1,
                }
            )
    for split, dataset in recipe.OOD_SPLITS.items():
        for j in range(len(FAMILIES) * len(recipe.OOD_LEVEL_SEVERITY)):
            family, level = FAMILIES[j % len(FAMILIES)], j // len(FAMILIES)
            rows.append(
                {
                    "system": f"{dataset}-{j}",
                    "dataset": dataset,
                    "split": split,
                    "family": family,
                    "level": level,
                }
            )
    return pd.DataFrame(rows)


def split_counts(size: int) -> dict[str, int]:
    """Clips per split: shares of `size`, at least one clip per split; OOD splits a multiple of the number
    of families (whole matched triplets), at least one triplet."""
    f = len(FAMILIES)
    counts = {
        name: max(f, f * round(share * size / f))
        if name in recipe.OOD_SPLITS
        else max(1, round(share * size))
        for name, share in recipe.SPLIT_SHARE.items()
    }
    counts["train"] = size - sum(counts.values())
    if counts["train"] < 1:
        raise ValueError(
            f"corpus size {size} is too small: need at least {sum(counts.values()) - counts['train'] + 1} clips"
        )
    return {"train": counts.pop("train"), **counts}


def durations(rng: np.random.Generator, n: int, seconds: float) -> np.ndarray:
    """Clip lengths around `seconds` (about +-1/6 of it), multiples of recipe.DURATION_STEP."""
    step = recipe.DURATION_STEP
    nominal = max(step, round(seconds / step) * step)
    spread = max(1, round(nominal / 6 / step))
    return np.maximum(step, nominal + step * rng.integers(-spread, spread + 1, n))


def _split_rows(rng: np.random.Generator, systems: pd.DataFrame, split: str, count: int) -> pd.DataFrame:
    """The split's clips (system rows, one per clip) with a `template` column (-1 in-domain).

    In-domain: round-robin over the split's systems in a random order (counts differ by at most one).
    OOD: count / 3 templates, each at one quality level (round-robin over levels in a random order) and
    present once in every family's system of that level.
    """
    in_split = systems[systems["split"] == split].reset_index(drop=True)
    if split not in recipe.OOD_SPLITS:
        order = rng.permutation(len(in_split))
        return in_split.iloc[order[np.arange(count) % len(in_split)]].assign(template=-1)
    levels = rng.permutation(len(recipe.OOD_LEVEL_SEVERITY))
    rows = []
    for k in range(count // len(FAMILIES)):
        level = levels[k % len(levels)]
        rows.append(in_split[in_split["level"] == level].assign(template=k))
    return pd.concat(rows)


def plan_corpus(seed: int, size: int, seconds: float) -> pd.DataFrame:
    """One row per clip: id, split, system, dataset, modality, hidden family, factors, truths, ratings."""
    rng = np.random.default_rng([seed, 0])
    systems = systems_table()
    rows = [_split_rows(rng, systems, split, count) for split, count in split_counts(size).items()]
    clips = pd.concat(rows, ignore_index=True)
    clips = clips.sort_values(["split", "system", "template"], kind="stable").reset_index(drop=True)
    n = len(clips)
    clips.insert(0, "id", [f"clip{i:05d}" for i in range(n)])

    clips["modality"] = rng.choice(recipe.MODALITIES, n)
    clips["seconds"] = durations(rng, n, seconds)
    clips["layers"] = rng.integers(1, 6, n)
    clips["density"] = rng.uniform(0.0, 1.0, n)
    clips["expressiveness"] = _expressiveness(rng, clips)
    clips["severity"] = _severity(rng, clips)
    amounts = np.clip(
        clips["severity"].to_numpy()[:, None] + rng.normal(0, recipe.DEGRADATION_JITTER_SD, (n, 4)), 0, 1
    )
    clips["snr_db"] = 60.0 - 50.0 * amounts[:, 0]
    clips["drive_db"] = 24.0 * amounts[:, 1] - 6.0  # <= 0: no clipping
    clips["cutoff_hz"] = 12000.0 * (1500.0 / 12000.0) ** amounts[:, 2]
    clips["bits"] = np.rint(16.0 - 10.0 * amounts[:, 3]).astype(int)
    source = _template_rows(clips)
    for column in FACTORS:  # OOD triplets share their template's factors ...
        clips[column] = clips[column].to_numpy()[source]

    truths = true_scores(clips)
    raters = draw_raters(np.random.default_rng([seed, 1]), recipe.N_RATERS, recipe.ASPECTS)
    for aspect in recipe.ASPECTS:
        clips[f"{aspect}_true"] = truths[aspect]
        ratings = rate(rng, truths[aspect], raters[aspect])[source]  # ... and their ratings
        clips[f"{aspect}_ratings"] = list(ratings)
        clips[aspect] = ratings.mean(axis=1)
    return clips


def _template_rows(clips: pd.DataFrame) -> np.ndarray:
    """(N,) row whose factors and ratings each clip takes: itself in-domain, its template's first row in
    an OOD split."""
    rows = pd.Series(np.arange(len(clips)), index=clips.index)
    ood = (clips["template"] >= 0).to_numpy()
    first = rows[ood].groupby([clips["split"][ood], clips["template"][ood]]).transform("min")
    source = rows.to_numpy().copy()
    source[ood] = first.to_numpy()
    return source


def _expressiveness(rng: np.random.Generator, clips: pd.DataFrame) -> np.ndarray:
    out = np.empty(len(clips))
    for i, (split, family) in enumerate(zip(clips["split"], clips["family"])):
        a, b = (
            recipe.OOD_EXPRESSIVENESS if split in recipe.OOD_SPLITS else recipe.FAMILY_EXPRESSIVENESS[family]
        )
        out[i] = rng.beta(a, b)
    return out


def _severity(rng: np.random.Generator, clips: pd.DataFrame) -> np.ndarray:
    """Clip severity = its system's mean + noise. In-domain system means follow their dataset; an OOD
    system's mean is its quality level's (recipe.OOD_LEVEL_SEVERITY), the same for every family."""
    means = {}
    for system, dataset, level in dict.fromkeys(zip(clips["system"], clips["dataset"], clips["level"])):
        if level >= 0:
            means[system] = recipe.OOD_LEVEL_SEVERITY[level]
        else:
            means[system] = recipe.DATASET_SEVERITY[dataset] + rng.normal(0, recipe.SYSTEM_SEVERITY_SD)
    mean = clips["system"].map(means).to_numpy(dtype=float)
    return np.clip(mean + rng.normal(0, recipe.CLIP_SEVERITY_SD, len(clips)), 0.0, 1.0)
