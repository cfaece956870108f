"""Every clip's factors, true scores and ratings, drawn from the seed (no audio yet).

The ratings depend on the plan only, so the shortcut strengths can be measured without synthesis.
"""

import numpy as np
import pandas as pd

from data_modules.corpus import recipe
from data_modules.corpus.raters import draw_raters, rate
from data_modules.corpus.scores import true_scores


def systems_table() -> pd.DataFrame:
    """One row per system (`<dataset>-<index>`): system, dataset, split and hidden family."""
    rows = []
    families = list(recipe.FAMILY_EXPRESSIVENESS)
    for d, dataset in enumerate(recipe.DATASET_SEVERITY):
        for j, split in enumerate(recipe.SYSTEM_SPLITS):
            # (d + j) mod 3: every dataset has every family in train, so family and dataset stay unrelated
            family = families[(d + j) % len(families)]
            rows.append({"system": f"{dataset}-{j}", "dataset": dataset, "split": split, "family": family})
    for j in range(recipe.OOD_SYSTEMS):
        system = f"{recipe.OOD_DATASET}-{j}"
        rows.append(
            {
                "system": system,
                "dataset": recipe.OOD_DATASET,
                "split": "test_ood",
                "family": families[j % len(families)],
            }
        )
    return pd.DataFrame(rows)


def split_counts(size: int) -> dict[str, int]:
    """Clips per split: shares of `size`, at least one clip per split."""
    counts = {name: max(1, round(share * size)) for name, share in recipe.SPLIT_SHARE.items()}
    counts["train"] = size - sum(counts.values())
    if counts["train"] < 1:
        raise ValueError(f"corpus size {size} is too small: need at least {len(counts)} clips")
    return {"train": counts.pop("train"), **counts}


def durations(rng: np.random.Generator, n: int, seconds: float) -> np.ndarray:
    """Clip lengths around `seconds` (about +-1/6 of it), multiples of recipe.DURATION_STEP."""
    step = recipe.DURATION_STEP
    nominal = max(step, round(seconds / step) * step)
    spread = max(1, round(nominal / 6 / step))
    return np.maximum(step, nominal + step * rng.integers(-spread, spread + 1, n))


def plan_corpus(seed: int, size: int, seconds: float) -> pd.DataFrame:
    """One row per clip: id, split, system, dataset, modality, hidden family, factors, truths, ratings."""
    rng = np.random.default_rng([seed, 0])
    systems = systems_table()
    rows = []
    for split, count in split_counts(size).items():
        in_split = systems[systems["split"] == split].reset_index(drop=True)
        # round-robin over the split's systems in a random order: counts differ by at most one
        order = rng.permutation(len(in_split))
        rows.append(in_split.iloc[order[np.arange(count) % len(in_split)]])
    clips = pd.concat(rows, ignore_index=True)
    clips = clips.sort_values(["split", "system"], kind="stable").reset_index(drop=True)
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

    truths = true_scores(clips)
    raters = draw_raters(np.random.default_rng([seed, 1]), recipe.N_RATERS, recipe.ASPECTS)
    for aspect in recipe.ASPECTS:
        clips[f"{aspect}_true"] = truths[aspect]
        ratings = rate(rng, truths[aspect], raters[aspect])
        clips[f"{aspect}_ratings"] = list(ratings)
        clips[aspect] = ratings.mean(axis=1)
    return clips


def _expressiveness(rng: np.random.Generator, clips: pd.DataFrame) -> np.ndarray:
    out = np.empty(len(clips))
    for i, (split, family) in enumerate(zip(clips["split"], clips["family"])):
        a, b = recipe.OOD_EXPRESSIVENESS if split == "test_ood" else recipe.FAMILY_EXPRESSIVENESS[family]
        out[i] = rng.beta(a, b)
    return out


def _severity(rng: np.random.Generator, clips: pd.DataFrame) -> np.ndarray:
    """Clip severity = its system's mean + noise. In-domain system means follow their dataset; OOD system
    means are spread evenly over the range, so OOD quality depends on neither source nor family."""
    spread = np.linspace(0.15, 0.85, recipe.OOD_SYSTEMS)
    # OOD systems j and j + 3 share a family (plan.systems_table): give them mirrored means, so every
    # family's mean is 0.5; which family gets the extremes is random
    pair = rng.permutation(recipe.OOD_SYSTEMS // 2)
    means = {}
    for system, dataset in dict.fromkeys(zip(clips["system"], clips["dataset"])):
        j = int(system.rsplit("-", 1)[1])
        if dataset == recipe.OOD_DATASET:
            k = pair[j % len(pair)]
            means[system] = spread[k] if j < len(pair) else spread[-1 - k]
        else:
            means[system] = recipe.DATASET_SEVERITY[dataset] + rng.normal(0, recipe.SYSTEM_SEVERITY_SD)
    mean = clips["system"].map(means).to_numpy(dtype=float)
    return np.clip(mean + rng.normal(0, recipe.CLIP_SEVERITY_SD, len(clips)), 0.0, 1.0)
