"""A definer defined here alone (one class + `register`) runs through label fitting and a sweep selection."""

import numpy as np
import pytest

from aqa.definers.base import UNKNOWN, Definer
from aqa.definers.labels import fit_domain_labels
from aqa.definers.registry import DEFINERS, definer_label, register
from aqa.sweep.protocols import PROTOCOLS
from aqa.sweep.ranking import group, rank_aspect
from aqa.sweep.records import TrialRecord
from tests.aqa.stage_args import domain_label_args


class SystemHalves(Definer):
    """Two domains: the first and the second half of the sorted train systems; unseen systems UNKNOWN."""

    name = "system_halves"
    simplicity = 15  # simpler than `dataset` (20): wins a tie with it

    @classmethod
    def label(cls, cfg):
        return "system halves"

    @property
    def needs_columns(self):
        return ["system"]

    def fit(self, train_rows, features):
        systems = sorted(set(train_rows["system"].astype(str)))
        self.half = {s: int(i >= len(systems) / 2) for i, s in enumerate(systems)}
        self.names = ["first", "second"]
        return self

    def predict(self, rows, features):
        return np.array([self.half.get(s, UNKNOWN) for s in rows["system"].astype(str)], dtype=np.int64)

    def state_dict(self):
        return {**super().state_dict(), "half": dict(self.half)}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.half = dict(state["half"])
        return self


@pytest.fixture
def registered():
    register(SystemHalves)
    yield SystemHalves
    DEFINERS.pop(SystemHalves.name)


def test_registered_definer_fits_labels(registered, make_cfg, make_table, tmp_path):
    table = make_table(120)
    cfg = make_cfg("domain.definer=system_halves")
    labels = fit_domain_labels(cfg.domain, table, tmp_path / "run", None, **domain_label_args(cfg))
    systems = sorted(set(table.loc[table["split"] == "train", "system"]))
    expected = [int(systems.index(s) >= len(systems) / 2) for s in table["system"]]
    assert labels.labels["PQ"].tolist() == expected and labels.num_domains == {"PQ": 2, "PC": 2}
    assert labels.definer("PQ").predict(table, None).tolist() == expected  # rebuilt from the saved state
    assert definer_label(labels.definer("PQ").cfg) == "system halves"
    with pytest.raises(ValueError, match="unknown domain definer 'system_halve'"):
        typo = make_cfg("domain.definer=system_halve")
        fit_domain_labels(typo.domain, table, tmp_path / "other", None, **domain_label_args(typo))


def test_registered_definer_goes_through_selection(registered):
    """Tied with `dataset` in its paired gain over ERM, the registered definer wins by its declared simplicity."""
    val = {"system_halves": 0.70, "dataset": 0.70, "none": 0.50, "random": 0.50}  # ERM and the control
    records = [
        TrialRecord(
            f"{name}-{seed}",
            {"domain.definer": {"name": name}, "seed": seed},
            {"val/PQ/within_srcc": score + 0.001 * seed * (name not in ("none", "random"))},
        )
        for name, score in val.items()
        for seed in (0, 1, 2)
    ]
    ranking = rank_aspect(group(records), "PQ", PROTOCOLS["within"])
    assert ranking.selected.candidate.definer["name"] == "system_halves"
    assert {r.candidate.definer["name"] for r in ranking.rows} == set(val)
