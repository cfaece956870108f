"""The planted shortcut strengths of the default corpus (seed 0, 600 clips), as stated in docs/corpus.md.

Ratings depend on the plan only (no audio), so these measure exactly what `aqa generate --report` prints.
"""

import numpy as np
import pytest
from scipy import stats

from data_modules.corpus import recipe
from data_modules.corpus.plan import plan_corpus
from data_modules.corpus.report import eta_squared, lookup_srcc, lookup_table, shortcut_table


@pytest.fixture(scope="module")
def table():
    return shortcut_table(plan_corpus(seed=0, size=600, seconds=3.0))


def test_eta_squared():
    assert eta_squared([1, 1, 3, 3], ["a", "a", "b", "b"]) == pytest.approx(1.0)
    assert eta_squared([1, 3, 1, 3], ["a", "a", "b", "b"]) == pytest.approx(0.0)
    assert eta_squared([2, 2, 2], ["a", "b", "c"]) == 0.0
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 4, 4000)
    values = groups + rng.normal(0, 1, 4000)  # var between 1.25, within 1
    assert eta_squared(values, groups) == pytest.approx(1.25 / 2.25, abs=0.03)


def test_dataset_shortcut_on_pq(table):
    assert 0.30 <= table.loc["PQ", "train|dataset"] <= 0.60
    assert table.loc["PQ", "train|family"] < 0.10
    assert table.loc["PC", "train|dataset"] < 0.10  # PC is the control aspect: no shortcut


def test_hidden_family_shortcut_on_ce(table):
    assert 0.30 <= table.loc["CE", "train|family"] <= 0.60
    assert table.loc["CE", "train|dataset"] < 0.20
    assert table.loc["CE", "test_ood|family"] < 0.10  # the family shortcut breaks in the OOD splits


def test_ood_quality_is_independent_of_family(table):
    assert (table["test_ood|family"] < 1e-9).all() and (table["val_ood|family"] < 1e-9).all()


@pytest.mark.parametrize("seed", range(5))
def test_ood_splits_are_shortcut_free_at_every_seed(seed):
    """Neither planted shortcut ranks the OOD clips: the utterance SRCC of a source lookup and of a hidden
    family lookup (train means, no audio) is within 0.05 of 0 on every aspect, in val_ood and test_ood."""
    lookups = lookup_table(plan_corpus(seed=seed, size=600, seconds=3.0))
    for split in recipe.OOD_SPLITS:
        for name in ("source", "family"):
            assert (lookups[f"{split}|{name}"].abs() <= 0.05).all(), (split, name, lookups[f"{split}|{name}"])


def test_lookups_do_rank_the_in_domain_splits(table):
    """The same lookups are far from 0 in-domain, where the shortcuts are planted (seed 0)."""
    lookups = lookup_table(plan_corpus(seed=0, size=600, seconds=3.0))
    assert lookups.loc["PQ", "val|source"] > 0.5 and lookups.loc["CE", "val|family"] > 0.5


def test_lookup_srcc_is_a_direct_spearman():
    plan = plan_corpus(seed=1, size=600, seconds=3.0)
    train, val = plan[plan["split"] == "train"], plan[plan["split"] == "val"]
    pred = val["family"].map(train.groupby("family")["CE"].mean())
    assert lookup_srcc(plan, "family", "val", "CE") == pytest.approx(stats.spearmanr(pred, val["CE"])[0])


def test_genuine_factors_explain_the_targets(table):
    assert (table["train R2 true"] > 0.9).all()
