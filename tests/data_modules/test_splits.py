"""Splits: the manifest's column, or deterministic grouped ratios; OOD hold-outs by name."""

import pandas as pd
import pytest

from data_modules.manifest import SplitError, load_table


def _manifest(tmp_path, n_systems=20, per=5, **extra):
    rows = [
        {
            "id": f"{s}-{k}",
            "path": f"{s}-{k}.wav",
            "system": f"sys{s}",
            "dataset": f"d{s % 3}",
            "PQ": 5,
            "CE": 5,
            **extra,
        }
        for s in range(n_systems)
        for k in range(per + s % 4)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    return tmp_path / "m.csv"


def test_ratio_split_is_grouped_deterministic_and_close_to_ratios(tmp_path, data_cfg):
    cfg = data_cfg(_manifest(tmp_path))
    table = load_table(cfg)
    assert (table.groupby("system")["split"].nunique() == 1).all()  # no system in two splits
    share = table["split"].value_counts(normalize=True)
    assert set(share.index) == {"train", "val", "test"}
    assert abs(share["train"] - 0.8) < 0.1
    assert load_table(cfg)["split"].equals(table["split"])
    other = load_table(data_cfg(tmp_path / "m.csv", "data.split.seed=1"))["split"]
    assert not other.equals(table["split"])


def test_every_split_gets_a_group(tmp_path, data_cfg):
    table = load_table(
        data_cfg(
            _manifest(tmp_path, n_systems=3),
            "data.split.ratios.train=0.98",
            "data.split.ratios.val=0.01",
            "data.split.ratios.test=0.01",
        )
    )
    assert table.groupby("split")["system"].nunique().to_dict() == {"train": 1, "val": 1, "test": 1}


def test_too_few_groups_is_an_error(tmp_path, data_cfg):
    with pytest.raises(SplitError, match="2 group"):
        load_table(data_cfg(_manifest(tmp_path, n_systems=2)))


def test_ood_hold_outs(tmp_path, data_cfg):
    cfg = data_cfg(_manifest(tmp_path), "data.split.ood_datasets=[d0]", "data.split.ood_systems=[sys1]")
    table = load_table(cfg)
    ood = table["split"] == "test_ood"
    assert ood.equals((table["dataset"] == "d0") | (table["system"] == "sys1"))
    assert set(table.loc[~ood, "split"]) == {"train", "val", "test"}


def test_split_column_wins_and_hold_outs_still_apply(tmp_path, data_cfg):
    path = _manifest(tmp_path, split="val")
    table = load_table(data_cfg(path, "data.split.ood_systems=[sys2]"))
    assert set(table.loc[table["system"] != "sys2", "split"]) == {"val"}
    assert set(table.loc[table["system"] == "sys2", "split"]) == {"test_ood"}


def test_unknown_hold_out_name_is_an_error(tmp_path, data_cfg):
    with pytest.raises(SplitError, match="sysX"):
        load_table(data_cfg(_manifest(tmp_path), "data.split.ood_systems=[sysX]"))


def test_heldout_sources_become_val_ood(tmp_path, data_cfg):
    table = load_table(data_cfg(_manifest(tmp_path), "data.heldout_sources=[d1]"))
    plain = load_table(data_cfg(tmp_path / "m.csv"))
    held = (plain["dataset"] == "d1") & plain["split"].isin(["train", "val"])
    assert held.any() and (table.loc[held, "split"] == "val_ood").all()
    assert table.loc[~held, "split"].equals(plain.loc[~held, "split"])  # test rows and other sources stay
    assert not ((table["dataset"] == "d1") & table["split"].isin(["train", "val"])).any()


def test_heldout_sources_as_a_sweep_value(tmp_path, data_cfg):
    """The W&B agent passes a list value as Python's text of it: data.heldout_sources=['d2']."""
    table = load_table(data_cfg(_manifest(tmp_path), "data.heldout_sources=['d2']"))
    assert set(table.loc[table["split"] == "val_ood", "dataset"]) == {"d2"}


def test_unknown_heldout_source_is_an_error(tmp_path, data_cfg):
    with pytest.raises(SplitError, match="heldout_sources.*dX"):
        load_table(data_cfg(_manifest(tmp_path), "data.heldout_sources=[dX]"))
