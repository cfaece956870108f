"""The plan (factors, splits, systems, ratings) before any audio is made."""

import numpy as np
import pytest

from data_modules.corpus import recipe
from data_modules.corpus.plan import plan_corpus, split_counts, systems_table


@pytest.fixture(scope="module")
def default_plan():
    return plan_corpus(seed=0, size=600, seconds=3.0)


def test_plan_is_deterministic():
    a, b = plan_corpus(5, 120, 2.0), plan_corpus(5, 120, 2.0)
    assert a.drop(columns=[f"{x}_ratings" for x in recipe.ASPECTS]).equals(
        b.drop(columns=[f"{x}_ratings" for x in recipe.ASPECTS])
    )
    assert all(np.array_equal(x, y) for x, y in zip(a["PQ_ratings"], b["PQ_ratings"]))
    assert not plan_corpus(6, 120, 2.0)["PQ"].equals(a["PQ"])


def test_split_sizes_and_systems(default_plan):
    assert split_counts(600) == {"train": 330, "val": 60, "test": 60, "val_ood": 60, "test_ood": 90}
    assert split_counts(48) == {"train": 26, "val": 5, "test": 5, "val_ood": 6, "test_ood": 6}
    assert default_plan["split"].value_counts().to_dict() == split_counts(600)
    systems = default_plan.groupby("split")["system"].nunique().to_dict()
    assert systems == {"train": 15, "val": 5, "test": 5, "val_ood": 9, "test_ood": 9}
    # systems are nested in datasets and never shared between splits
    assert (default_plan.groupby("system")["dataset"].nunique() == 1).all()
    assert (default_plan.groupby("system")["split"].nunique() == 1).all()
    with pytest.raises(ValueError, match="too small"):
        split_counts(3)


def test_ood_sources_are_unseen(default_plan):
    for split, dataset in recipe.OOD_SPLITS.items():
        ood = default_plan[default_plan["split"] == split]
        assert set(ood["dataset"]) == {dataset}
        assert dataset not in set(default_plan.loc[default_plan["split"] != split, "dataset"])
    assert recipe.OOD_SPLITS == {"val_ood": "garnet", "test_ood": recipe.OOD_DATASET}
    seen = default_plan[~default_plan["split"].isin(list(recipe.OOD_SPLITS))]
    assert set(seen["dataset"]) == set(recipe.DATASET_SEVERITY)


@pytest.mark.parametrize("seed", range(5))
def test_ood_clips_are_matched_triplets(seed):
    """Each OOD template is rendered once per family at one quality level, with the same factors and
    ratings: every family of an OOD split holds the same MOS values."""
    plan = plan_corpus(seed, 600, 3.0)
    for split in recipe.OOD_SPLITS:
        ood = plan[plan["split"] == split]
        for _, triplet in ood.groupby("template"):
            assert sorted(triplet["family"]) == sorted(recipe.FAMILY_EXPRESSIVENESS)
            assert triplet["level"].nunique() == 1 and triplet["system"].nunique() == 3
            for column in ("severity", "layers", "expressiveness", "modality", "seconds", *recipe.ASPECTS):
                assert triplet[column].nunique() == 1, column
            assert all(np.array_equal(r, triplet["CE_ratings"].iloc[0]) for r in triplet["CE_ratings"])
        for aspect in recipe.ASPECTS:
            values = [np.sort(part[aspect].to_numpy()) for _, part in ood.groupby("family")]
            assert all(np.array_equal(v, values[0]) for v in values)


def test_hidden_family_is_shared_across_datasets():
    systems = systems_table()
    train = systems[systems["split"] == "train"]
    # every dataset has every family in train, so no metadata column stands in for the family
    assert (train.groupby("dataset")["family"].nunique() == len(recipe.FAMILY_EXPRESSIVENESS)).all()


def test_ratings_and_targets(default_plan):
    for aspect in recipe.ASPECTS:
        ratings = np.stack(default_plan[f"{aspect}_ratings"].to_numpy())
        assert ratings.shape == (600, recipe.N_RATERS)
        assert ratings.dtype.kind == "i" and ratings.min() >= 1 and ratings.max() <= 10
        assert np.allclose(default_plan[aspect], ratings.mean(axis=1))
        assert default_plan[aspect].std() > 1.0  # uses the scale
    # raters differ: per-rater means over all clips are not all equal
    assert np.ptp(np.stack(default_plan["PQ_ratings"].to_numpy()).mean(axis=0)) > 0.5


def test_aspects_are_different_numbers(default_plan):
    corr = default_plan[list(recipe.ASPECTS)].corr().to_numpy()
    off_diagonal = corr[~np.eye(len(recipe.ASPECTS), dtype=bool)]
    assert off_diagonal.max() < 0.95
    assert abs(corr[0, 1]) < 0.2  # PQ (degradations) and PC (layers) are unrelated


def test_durations_are_quantised(default_plan):
    seconds = default_plan["seconds"].to_numpy()
    assert np.allclose(seconds / recipe.DURATION_STEP, np.round(seconds / recipe.DURATION_STEP))
    assert seconds.min() == 2.5 and seconds.max() == 3.5 and len(set(seconds)) == 5
