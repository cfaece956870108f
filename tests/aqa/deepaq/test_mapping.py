"""Distance -> MOS mappings: the cubic is monotone decreasing, both restore from a checkpoint exactly."""

import numpy as np
import torch

from aqa.deepaq.evaluate import evaluate_distances, save_with_mappings
from aqa.deepaq.mapping import apply_mapping, fit_cubic, fit_mappings
from aqa.deepaq.score import stored_mappings


def _data(seed: int = 0, n: int = 60):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 3, n)
    return d, 4.7 - np.sqrt(d) + 0.1 * rng.standard_normal(n)


def test_cubic_is_monotone_decreasing_even_on_rising_data():
    d, y = _data()
    rising = y.copy()
    rising[d > 2.4] += 3.0  # an unconstrained cubic would turn upwards here
    unconstrained = np.polynomial.polynomial.polyfit(d, rising, 3)
    grid = np.linspace(-1, 4, 500)
    assert np.diff(np.polynomial.polynomial.polyval(grid, unconstrained)).max() > 0
    for target in (y, rising):
        mapped = apply_mapping(fit_cubic(d, target), grid)
        assert np.diff(mapped).max() <= 1e-6


def test_mappings_fit_and_raise_pcc_not_srcc_much():
    d, y = _data(1)
    maps = fit_mappings(d, y)
    raw_pcc = np.corrcoef(-d, y)[0, 1]
    for mapping in maps.values():
        assert np.corrcoef(apply_mapping(mapping, d), y)[0, 1] > raw_pcc


def test_mappings_restore_from_a_checkpoint(tmp_path):
    d, y = _data(2)
    maps = fit_mappings(d, y)
    ckpt = tmp_path / "model.ckpt"
    torch.save({"state_dict": {}}, ckpt)
    out = save_with_mappings(ckpt, maps, tmp_path / "mapped.ckpt")
    restored = stored_mappings(out)
    state = torch.load(out, weights_only=True)  # plain lists and floats: loads without pickle of objects
    assert set(state["aqa_deepaq_mapping"]) == {"cubic", "mlp"}
    grid = np.linspace(0, 3, 50)
    for kind in ("cubic", "mlp"):
        assert np.array_equal(apply_mapping(restored[kind], grid), apply_mapping(maps[kind], grid))


def test_evaluate_distances_fits_on_one_split_and_scores_all():
    d, y = _data(3, 80)
    import pandas as pd

    table = pd.DataFrame(
        {"visqol": y, "split": ["val"] * 30 + ["test"] * 50, "system": [f"s{i % 5}" for i in range(80)]}
    )
    metrics, maps = evaluate_distances(table, d, "visqol", "val")
    assert metrics["test/raw/utt_srcc"] > 0.8
    assert np.isnan(metrics["test/raw/utt_mse"])  # -distance is not on the MOS scale
    assert metrics["test/cubic/utt_lcc"] >= metrics["test/raw/utt_lcc"] - 0.02
    assert "test/mlp/sys_srcc" in metrics and set(maps) == {"cubic", "mlp"}
