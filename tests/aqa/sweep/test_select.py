"""`aqa select`: per-aspect ranking over seeds, ties to the simpler definer, outputs, online = offline."""

import math
import types

import numpy as np
import pytest
import yaml
from rich.console import Console
from scipy import stats

from aqa.sweep import select as select_mod
from aqa.sweep.ranking import group, mean_ci, rank_aspect
from aqa.sweep.records import TrialRecord
from aqa.sweep.report import rich_tables
from aqa.sweep.state import SweepDir

DEFINERS = [{"name": "none"}, {"name": "kmeans", "k": 4}, {"name": "gmm", "k": 4}]
SEEDS = [0, 1, 2]
# val score per aspect and definer (seed noise is added): PQ -> kmeans clearly; PC -> none and gmm tie
# (within the tolerance) so the simpler `none` wins; CE -> gmm on val although none is far better on test_ood
VAL = {"PQ": [0.50, 0.70, 0.55], "PC": [0.600, 0.580, 0.603], "CE": [0.40, 0.45, 0.60]}
OOD = {"PQ": [0.1, 0.2, 0.3], "PC": [0.1, 0.2, 0.3], "CE": [0.9, 0.2, 0.1]}
NOISE = [-0.001, 0.0, 0.001]


def trial_metrics(d: int, s: int) -> dict:
    metrics = {"val/mean/sys_srcc": 0.5, "run/best_checkpoint": "x.ckpt"}
    for aspect in VAL:
        metrics[f"best/val/{aspect}/sys_srcc"] = VAL[aspect][d] + NOISE[s]
        metrics[f"best/val/{aspect}/utt_mse"] = 1.0 - VAL[aspect][d]
        metrics[f"test_ood/{aspect}/utt_srcc"] = OOD[aspect][d]
        metrics[f"probe/{aspect}/acc"] = 0.3
        metrics[f"probe/{aspect}/chance"] = 0.25
    return metrics


def resolved_definer(d: int) -> dict:
    return {"name": "none", "k": None, "columns": [], "reduce": "pca", "seed": 0, **DEFINERS[d]}


@pytest.fixture
def sweep_dir(tmp_path):
    """A finished offline sweep (definer x seed) plus one failed trial, as `aqa sweep` leaves it."""
    directory = SweepDir(tmp_path / "sweep")
    directory.init({"name": "t", "method": "grid", "parameters": {"domain.definer": {"values": DEFINERS}}})
    for d, definer in enumerate(DEFINERS):
        for s in SEEDS:
            trial = directory.add({"domain.definer": definer, "seed": s})
            trial.status, trial.metrics = {"state": "finished"}, trial_metrics(d, s)
            directory.save(trial)
            config = {"data": {"aspects": list(VAL)}, "domain": {"definer": resolved_definer(d)}, "seed": s}
            directory.run_dir(trial).mkdir(parents=True)
            (directory.run_dir(trial) / "config.yaml").write_text(yaml.safe_dump(config))
    crashed = directory.add({"domain.definer": {"name": "dataset"}, "seed": 0})
    crashed.status = {"state": "failed"}
    directory.save(crashed)
    return directory.root


def test_mean_ci_is_the_t_interval():
    values = [0.2, 0.5, 0.4, 0.45]
    mean, half = mean_ci(values)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert mean == pytest.approx(np.mean(values)) and half == pytest.approx((high - low) / 2)
    assert math.isnan(mean_ci([0.3])[1])


def test_best_definer_per_aspect_ties_to_simpler_and_ignores_test(sweep_dir, tmp_path):
    ranking = select_mod.select(str(sweep_dir))
    chosen = {aspect: next(r for r in rows if r.selected).candidate.label for aspect, rows in ranking.items()}
    assert chosen == {"PQ": "kmeans k=4", "PC": "none", "CE": "gmm k=4"}
    pc = {r.candidate.label: r for r in ranking["PC"]}
    assert pc["gmm k=4"].tied and not pc["kmeans k=4"].tied
    assert ranking["PQ"][0].n == 3 and ranking["PQ"][0].mean == pytest.approx(0.70)
    assert ranking["PQ"][0].ci == pytest.approx(mean_ci([0.699, 0.70, 0.701])[1])
    assert ranking["CE"][0].beside["test_ood/utt_srcc"] == pytest.approx(0.1)

    selection = yaml.safe_load((sweep_dir / "selection.yaml").read_text())
    assert selection == {"PQ": resolved_definer(1), "PC": resolved_definer(0), "CE": resolved_definer(2)}
    table = (sweep_dir / "selection.md").read_text()
    assert "| PQ | kmeans k=4 | 0.700 ± " in table and "9 finished trials, 1 failed" in table
    assert (sweep_dir / "selection.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tighter_tolerance_breaks_the_tie(sweep_dir, tmp_path):
    ranking = select_mod.select(str(sweep_dir), out=tmp_path / "sel", tolerance=0.001)
    assert next(r for r in ranking["PC"] if r.selected).candidate.label == "gmm k=4"


def test_error_metrics_are_minimised(sweep_dir, tmp_path):
    ranking = select_mod.select(str(sweep_dir), out=tmp_path / "mse", metric="utt_mse")
    assert next(r for r in ranking["PQ"] if r.selected).candidate.label == "kmeans k=4"


def test_online_sweep_gives_the_same_selection(sweep_dir, tmp_path, monkeypatch):
    offline = SweepDir(sweep_dir)
    runs = []
    for t in offline.trials():
        config = (
            yaml.safe_load((offline.run_dir(t) / "config.yaml").read_text()) if t.state == "finished" else {}
        )
        state = "finished" if t.state == "finished" else "crashed"
        runs.append(
            types.SimpleNamespace(
                id=t.id, state=state, config={**config, **t.params}, summary_metrics=t.metrics
            )
        )
    fake_sweep = types.SimpleNamespace(config=offline.sweep(), runs=runs)
    asked = []
    fake_api = types.SimpleNamespace(sweep=lambda path: asked.append(path) or fake_sweep)
    monkeypatch.setattr("wandb.Api", lambda: fake_api)
    select_mod.select("ent/proj/abc123", out=tmp_path / "online")
    select_mod.select(str(sweep_dir), out=tmp_path / "offline")
    assert asked == ["ent/proj/abc123"]
    online, offline_sel = (
        yaml.safe_load((tmp_path / d / "selection.yaml").read_text()) for d in ("online", "offline")
    )
    assert online == offline_sel and set(online) == set(VAL)


def test_cli_reports_a_folder_that_is_not_a_sweep(tmp_path):
    assert select_mod.main([str(tmp_path)]) == 2


def test_candidates_of_a_sweep_without_definer_parameter_are_named_by_the_definer_used():
    config = {"domain": {"definer": {"name": "dataset", "k": None}}}
    records = [
        TrialRecord(f"r{i}", {"model.adversary.lambda_max": lam, "seed": s}, {}, config)
        for i, (lam, s) in enumerate([(0.5, 0), (0.5, 1), (2.0, 0)])
    ]
    candidates = group(records)
    assert [c.label for c in candidates] == [
        "dataset model.adversary.lambda_max=0.5",
        "dataset model.adversary.lambda_max=2",
    ]
    assert [len(c.trials) for c in candidates] == [2, 1]


def test_terminal_table_shows_list_values_literally():
    params = {"domain.definer": {"name": "metadata", "columns": ["modality"]}, "seed": 0}
    record = TrialRecord("r0", params, {"best/val/PQ/sys_srcc": 0.5}, {})
    ranking = {"PQ": rank_aspect(group([record]), "PQ", "sys_srcc", "maximize", 0.005)}
    console = Console(record=True, width=200)
    for table in rich_tables(ranking, "sys_srcc"):
        console.print(table)
    assert "metadata columns=[modality]" in console.export_text()


def test_select_logs_tables_heatmap_and_selection_to_wandb(sweep_dir, tmp_path, monkeypatch, offline_runs):
    """`aqa select --wandb` in an offline W&B run: the ranking table, the heatmap and selection.yaml."""
    import base64
    import hashlib

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))  # artifact staging
    out = tmp_path / "sel"
    assert select_mod.main([str(sweep_dir), "--out", str(out), "--wandb"]) == 0
    (run,) = offline_runs(out / "wandb")
    assert run["history"]["selection/heatmap/_type"] == "image-file"
    assert run["history"]["selection/ranking/_type"] == "table-file"
    assert run["history"]["selection/ranking/nrows"] == 9  # 3 aspects x 3 definers
    (artifact,) = [a for a in run["artifacts"] if a["type"] == "selection"]
    assert set(artifact["files"]) == {"selection.yaml", "selection.md"}
    md5 = base64.b64encode(hashlib.md5((out / "selection.yaml").read_bytes()).digest()).decode()
    assert artifact["files"]["selection.yaml"]["digest"] == md5
    # without --wandb and no active run: nothing is logged
    assert select_mod.main([str(sweep_dir), "--out", str(tmp_path / "quiet")]) == 0
    assert not (tmp_path / "quiet" / "wandb").exists()
