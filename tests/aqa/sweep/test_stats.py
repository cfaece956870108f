"""Selection statistics on simulated sweeps with a known answer (tests/aqa/sweep/simulate.py): the
interval's coverage of a known difference, the family-wise error on null sweeps, the weighted SRCC."""

import numpy as np
import pytest
from scipy import stats as sps

from aqa.sweep import stats
from aqa.sweep.protocols import PROTOCOLS
from aqa.sweep.ranking import group, rank
from tests.aqa.sweep.simulate import sweep, true_score

MIXED = PROTOCOLS["mixed"]


def test_resampled_srcc_equals_spearman_on_the_repeated_clips():
    rng = np.random.default_rng(0)
    y = np.round(rng.normal(size=40), 1)  # ties included
    p = np.round(y + rng.normal(size=40), 1)
    counts = stats.clip_resamples(np.array(list("ab") * 20), 5, seed=1)
    assert (counts[0] == 1).all() and (counts[1:, ::2].sum(1) == 20).all()  # each source keeps its size
    got = stats.srcc(p, stats.midranks(y, counts), counts)
    for row, value in zip(counts.astype(int), got):
        at = np.repeat(np.arange(40), row)
        assert value == pytest.approx(sps.spearmanr(p[at], y[at])[0])


def test_fisher_mean_weights_sources_by_clips():
    r = np.array([[0.2], [0.8]])
    assert stats.fisher_mean(r, np.array([10.0, 30.0]))[0] == pytest.approx(
        np.tanh((10 * np.arctanh(0.2) + 30 * np.arctanh(0.8)) / 40)
    )


def test_critical_value_is_t_for_one_and_dunnett_for_many():
    assert stats.critical_value(np.ones((1, 1)), 5) == pytest.approx(sps.t.ppf(0.95, 5))
    assert stats.critical_value(np.ones((3, 3)), 4) == pytest.approx(sps.t.ppf(0.95, 4), abs=0.03)
    independent = stats.critical_value(np.eye(4), stats.MAX_DF)  # Sidak for independent comparisons
    assert independent == pytest.approx(sps.norm.ppf(0.95 ** (1 / 4)), abs=0.03)


def _coverage(sweeps: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    sigmas = {"none": 1.0, "kmeans": 0.75}
    truth = true_score(sigmas["kmeans"]) - true_score(sigmas["none"])
    covered = 0
    for _ in range(sweeps):
        rankings = rank(group(sweep(rng, sigmas, ["PQ"], seeds=6, clips=120)), ["PQ"], MIXED, n_boot=100)
        row = next(r for r in rankings["PQ"].rows if r.candidate.name == "kmeans")
        assert row.vs_erm.clips and row.vs_erm.family == 1
        covered += truth >= row.vs_erm.lower
    return covered / sweeps


def _family_wise_error(sweeps: int, seed: int) -> tuple[float, float]:
    """(share of null sweeps where any candidate x aspect beats ERM, share that selects anything)."""
    rng = np.random.default_rng(seed)
    sigmas = {"none": 1.0, "random": 1.0, "kmeans": 1.0, "gmm": 1.0, "dataset": 1.0}
    aspects = ["PQ", "PC", "CE"]
    beat, selected = 0, 0
    for _ in range(sweeps):
        rankings = rank(group(sweep(rng, sigmas, aspects, seeds=4, clips=90)), aspects, MIXED, n_boot=100)
        rows = [row for r in rankings.values() for row in r.rows if not row.candidate.is_control]
        beat += any(row.vs_erm is not None and row.vs_erm.above_zero for row in rows)
        selected += any(not r.no_winner for r in rankings.values())
    return beat / sweeps, selected / sweeps


def _margin(p: float, n: int) -> float:
    return 2.6 * np.sqrt(p * (1 - p) / n)  # Monte-Carlo error: about 1% two-sided


def test_interval_covers_a_known_difference_quick():
    n = 150
    assert abs(_coverage(n, seed=1) - 0.95) <= _margin(0.95, n)


def test_family_wise_error_on_null_sweeps_quick():
    n = 50
    beat, selected = _family_wise_error(n, seed=2)
    assert beat <= 0.05 + _margin(0.05, n) and selected <= beat


@pytest.mark.slow
def test_interval_covers_a_known_difference_in_95_percent_of_1000_sweeps():
    assert abs(_coverage(1000, seed=3) - 0.95) <= 0.02


@pytest.mark.slow
def test_family_wise_error_of_1000_null_sweeps_is_at_most_alpha():
    n = 1000
    beat, selected = _family_wise_error(n, seed=4)
    assert beat <= 0.05 + _margin(0.05, n) and selected <= beat


def test_select_reads_saved_predictions_and_mixed_needs_a_neutral_declaration(tmp_path):
    """Offline sweep whose runs saved predictions/val_mixed.csv: `aqa select` bootstraps clips, prints the
    MDE; without data.neutral_splits the mixed protocol refuses."""
    import yaml

    from aqa.metrics.predictions import PREDICTIONS_DIR, write_predictions
    from aqa.sweep import select as select_mod
    from aqa.sweep.records import offline_records
    from aqa.sweep.state import SweepDir

    def make(root, neutral: bool):
        directory = SweepDir(root)
        directory.init({"name": "sim", "method": "grid", "parameters": {}})
        sims = sweep(np.random.default_rng(5), {"none": 1.0, "random": 1.0, "kmeans": 0.5}, ["PQ"], 4, 90)
        for record in sims:
            trial = directory.add(record.params)
            trial.status, trial.metrics = {"state": "finished"}, {}
            directory.save(trial)
            run = directory.run_dir(trial)
            run.mkdir(parents=True)
            config = record.config | {
                "data": {"aspects": ["PQ"], "neutral_splits": ["val_mixed"] if neutral else []}
            }
            (run / "config.yaml").write_text(yaml.safe_dump(config))
            write_predictions(record.predictions, ["PQ"], run / PREDICTIONS_DIR)
        return directory.root

    root = make(tmp_path / "neutral", True)
    assert set(offline_records(root)[1][0].predictions) == {"val_mixed"}
    rankings = select_mod.select(str(root))["mixed"]  # auto: the declared neutral split
    kmeans = next(r for r in rankings["PQ"].rows if r.candidate.name == "kmeans")
    assert kmeans.vs_erm.clips and kmeans.vs_erm.above_zero and kmeans.vs_control.above_zero
    assert rankings["PQ"].selected is kmeans
    report = (root / "selection.md").read_text()
    assert "minimum detectable effect" in report and "clip sampling + seeds" in report
    assert "auto: `val_mixed` is declared neutral" in report
    undeclared = make(tmp_path / "undeclared", False)
    with pytest.raises(ValueError, match="not declared"):
        select_mod.select(str(undeclared), protocol="mixed")
