"""`aqa select`: every protocol side by side, the shortcut row, paired comparisons vs ERM and the random
control over the same seeds, and the selection rule (simultaneous lower bound above zero against ERM and
against the random control, controls never, no fallback pairing, folds never seeds, else ERM)."""

import math
import types

import numpy as np
import pytest
import yaml
from rich.console import Console
from scipy import stats

from aqa.sweep import select as select_mod
from aqa.sweep.protocols import PROTOCOLS, get_protocol
from aqa.sweep.ranking import group, mean_ci, paired, rank_aspect, reference
from aqa.sweep.records import TrialRecord, offline_records
from aqa.sweep.state import SweepDir

SEEDS = [0, 1, 2]
SEED_EFFECT = [-0.05, 0.0, 0.05]  # shared by every candidate at one seed: pairing removes it
ASPECTS = ["PQ", "PC"]
DEFINERS = {
    "none": {"name": "none"},
    "random": {"name": "random", "k": 4},
    "metadata": {"name": "metadata", "columns": ["modality"]},
    "kmeans": {"name": "kmeans", "k": 4},
    "gmm": {"name": "gmm", "k": 4},
}
# within-source val SRCC minus ERM's, per seed. PQ: kmeans gains clearly, the random control does not;
# metadata plays the source lookup (loses within, wins pooled). PC: kmeans identical to ERM, gmm noisy.
GAIN = {
    "PQ": {"none": [0, 0, 0], "random": [0.0, 0.005, -0.005], "metadata": [-0.1, -0.1, -0.1],
           "kmeans": [0.051, 0.048, 0.051], "gmm": [0.0, 0.01, -0.01]},
    "PC": {"none": [0, 0, 0], "random": [0.0, 0.0, 0.0], "metadata": [-0.1, -0.1, -0.1],
           "kmeans": [0, 0, 0], "gmm": [0.2, -0.15, 0.01]},
}  # fmt: skip
POOLED = {"none": 0.5, "random": 0.5, "metadata": 0.95, "kmeans": 0.55, "gmm": 0.5}
JITTER = {d: [0.01 * ((i + s) % 3 - 1) for s in range(3)] for i, d in enumerate(POOLED)}  # spread over seeds
PROBE = {"none": 0.6, "random": 0.6, "metadata": 0.7, "kmeans": 0.6, "gmm": 0.4}


def trial_metrics(definer: str, s: int) -> dict:
    metrics = {"run/best_checkpoint": "x.ckpt", "probe/target_floor_acc": 0.62}
    for a in ASPECTS:
        metrics |= {
            f"val/{a}/within_srcc": 0.3 + SEED_EFFECT[s] + GAIN[a][definer][s],
            f"best/val/{a}/within_srcc": 0.99,  # the per-key maximum over epochs: never ranked
            f"val/{a}/sys_srcc": POOLED[definer] + SEED_EFFECT[s] + JITTER[definer][s],
            f"val_ood/{a}/utt_srcc": 0.2 + GAIN[a][definer][s],
            f"test_ood/{a}/utt_srcc": 0.1,
            f"probe/{a}/dataset_acc": PROBE[definer] + [0.01, -0.01, 0.0][s],
            f"probe/{a}/dataset_chance": 0.2,
            f"probe/{a}/target_floor_acc": 0.55,
            # the source-lookup predictor: constant within each source, offsets across sources
            f"shortcut/val/{a}/within_srcc": 0.0,
            f"shortcut/val/{a}/sys_srcc": 0.9,
            f"shortcut/val_ood/{a}/utt_srcc": 0.02,
            f"shortcut/test_ood/{a}/utt_srcc": 0.0,
        }
    return metrics


def resolved_definer(name: str, seed: int) -> dict:
    base = {"name": "none", "k": None, "columns": [], "reduce": "pca", "seed": seed}
    return base | DEFINERS[name]


@pytest.fixture
def sweep_dir(tmp_path):
    """A finished offline sweep (definer x seed) plus one failed trial, as `aqa sweep` leaves it."""
    directory = SweepDir(tmp_path / "sweep")
    values = list(DEFINERS.values())
    directory.init({"name": "t", "method": "grid", "parameters": {"domain.definer": {"values": values}}})
    for name, definer in DEFINERS.items():
        for s in SEEDS:
            trial = directory.add({"domain.definer": definer, "seed": s})
            trial.status, trial.metrics = {"state": "finished"}, trial_metrics(name, s)
            directory.save(trial)
            config = {
                "data": {"aspects": ASPECTS},
                "domain": {"definer": resolved_definer(name, s)},
                "seed": s,
            }
            directory.run_dir(trial).mkdir(parents=True)
            (directory.run_dir(trial) / "config.yaml").write_text(yaml.safe_dump(config))
    crashed = directory.add({"domain.definer": {"name": "dataset"}, "seed": 0})
    crashed.status = {"state": "failed"}
    directory.save(crashed)
    return directory.root


def _selected(rankings) -> dict:
    return {a: r.selected.candidate.name if r.selected else None for a, r in rankings.items()}


def test_mean_ci_is_the_t_interval():
    values = [0.2, 0.5, 0.4, 0.45]
    mean, half = mean_ci(values)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert mean == pytest.approx(np.mean(values)) and half == pytest.approx((high - low) / 2)
    assert math.isnan(mean_ci([0.3])[1])


def test_protocol_keys_follow_the_contract():
    assert {n: p.key("PQ") for n, p in PROTOCOLS.items()} == {
        "within": "val/PQ/within_srcc",
        "mixed": "val_mixed/PQ/utt_srcc",
        "heldout": "val_ood/PQ/utt_srcc",
        "pooled": "val/PQ/sys_srcc",
        "oracle": "test_ood/PQ/utt_srcc",
    }
    assert PROTOCOLS["pooled"].shortcut_prone and not PROTOCOLS["oracle"].choose_allowed
    assert PROTOCOLS["within"].shortcut_key("PQ") == "shortcut/val/PQ/within_srcc"
    with pytest.raises(ValueError, match="unknown selection protocol"):
        get_protocol("best")


def test_default_protocol_selects_only_a_paired_win_over_erm(sweep_dir):
    by_protocol = select_mod.select(str(sweep_dir))
    within = by_protocol["within"]
    # PQ: kmeans beats ERM and the random control on every seed
    assert _selected(within) == {"PQ": "kmeans", "PC": "none"}
    kmeans = next(r for r in within["PQ"].rows if r.candidate.name == "kmeans")
    assert kmeans.mean == pytest.approx(0.35, abs=1e-3)  # the kept checkpoint's val/..., not best/val/...
    assert kmeans.vs_erm.n == 3 and kmeans.vs_erm.mean == pytest.approx(np.mean([0.051, 0.048, 0.051]))
    # one family over both aspects: the candidates whose difference has a spread (PQ kmeans, gmm; PC gmm;
    # the constant differences have no bound), seeds only (no predictions saved), df = 2
    assert kmeans.vs_erm.family == 3 and not kmeans.vs_erm.clips
    se = np.std([0.051, 0.048, 0.051], ddof=1) / np.sqrt(3)
    assert kmeans.vs_erm.se == pytest.approx(se)
    assert kmeans.vs_erm.critical > stats.t.ppf(0.95, 2)  # a larger critical value than one test's
    assert kmeans.vs_erm.lower == pytest.approx(kmeans.vs_erm.mean - kmeans.vs_erm.critical * se)
    assert kmeans.vs_control.mean == pytest.approx(np.mean([0.051, 0.048, 0.051]))
    # PC: kmeans is identical to ERM, gmm's gain is noise: ERM is selected
    pc = {r.candidate.name: r for r in within["PC"].rows}
    assert pc["kmeans"].vs_erm.mean == 0 and not pc["kmeans"].eligible
    assert not pc["gmm"].eligible and pc["gmm"].vs_erm.mean > 0
    assert within["PC"].no_winner

    selection = yaml.safe_load((sweep_dir / "selection.yaml").read_text())
    # the definer the runs used, without the run's own seed (the final model's definer follows its seed)
    expected = {k: v for k, v in resolved_definer("kmeans", 0).items() if k != "seed"}
    assert selection == {"PQ": {"definer": expected}, "PC": {"definer": {"name": "none", "k": None,
                         "columns": [], "reduce": "pca"}}}  # fmt: skip
    report = (sweep_dir / "selection.md").read_text()
    assert "PC: no definer beat ERM: none selected" in report
    assert "15 finished trials, 1 failed" in report and "Protocol: auto: no neutral split" in report
    assert "minimum detectable effect" in report
    assert (sweep_dir / "selection.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_source_lookup_wins_pooled_but_not_the_default(sweep_dir, tmp_path):
    by_protocol = select_mod.select(str(sweep_dir), out=tmp_path / "sel")
    assert "metadata" not in _selected(by_protocol["within"]).values()
    pooled = select_mod.select(str(sweep_dir), out=tmp_path / "pooled", protocol="pooled")["pooled"]
    assert _selected(pooled) == {"PQ": "metadata", "PC": "metadata"}
    # the shortcut row: the source-lookup predictor scores well on pooled (flagged), not within
    assert pooled["PQ"].shortcut == pytest.approx(0.9) and pooled["PQ"].shortcut_flagged
    assert by_protocol["within"]["PQ"].shortcut == 0.0 and not by_protocol["within"]["PQ"].shortcut_flagged
    report = (tmp_path / "sel" / "selection.md").read_text()
    assert "protocol pooled: the source-lookup predictor" in report and "source lookup (shortcut)" in report
    assert "protocol within: the source-lookup" not in report


def test_oracle_is_shown_and_never_chooses(sweep_dir, tmp_path):
    by_protocol = select_mod.select(str(sweep_dir), out=tmp_path / "sel")
    assert set(by_protocol) == {"within", "mixed", "heldout", "pooled", "oracle"}
    assert all(r.selected is None and r.rows for r in by_protocol["oracle"].values())
    with pytest.raises(ValueError, match="never chooses"):
        select_mod.select(str(sweep_dir), out=tmp_path / "o", protocol="oracle")
    with pytest.raises(SystemExit):  # argparse refuses it
        select_mod.main([str(sweep_dir), "--protocol", "oracle"])


def test_random_control_is_never_selected_even_when_it_alone_beats_erm():
    records = []
    for s in SEEDS:
        records.append(TrialRecord(f"n{s}", {"domain.definer": {"name": "none"}, "seed": s},
                                   {"val/PQ/within_srcc": 0.3 + SEED_EFFECT[s]}))  # fmt: skip
        records.append(TrialRecord(f"r{s}", {"domain.definer": {"name": "random", "k": 4}, "seed": s},
                                   {"val/PQ/within_srcc": 0.5 + SEED_EFFECT[s] + 0.001 * s}))  # fmt: skip
    ranking = rank_aspect(group(records), "PQ", PROTOCOLS["within"])
    assert ranking.rows[0].candidate.name == "random" and ranking.rows[0].vs_erm.above_zero
    assert ranking.selected.candidate.name == "none" and ranking.no_winner


def test_equal_gains_go_to_the_simpler_definer():
    records = []
    for s in SEEDS:
        for name, gain in (("none", 0.0), ("random", 0.004 * (s == 2)), ("gmm", 0.1 + 0.001 * s),
                           ("dataset", 0.1 + 0.001 * s)):  # fmt: skip
            metrics = {"val/PQ/within_srcc": 0.3 + SEED_EFFECT[s] + gain + 0.002 * (s == 1)}
            records.append(TrialRecord(f"{name}{s}", {"domain.definer": {"name": name}, "seed": s}, metrics))
    assert rank_aspect(group(records), "PQ", PROTOCOLS["within"]).selected.candidate.name == "dataset"


def test_one_seed_is_never_enough():
    records = [
        TrialRecord("n", {"domain.definer": {"name": "none"}, "seed": 0}, {"val/PQ/within_srcc": 0.1}),
        TrialRecord("k", {"domain.definer": {"name": "kmeans"}, "seed": 0}, {"val/PQ/within_srcc": 0.9}),
    ]
    ranking = rank_aspect(group(records), "PQ", PROTOCOLS["within"])
    kmeans = ranking.rows[0]
    assert kmeans.vs_erm.n == 1 and math.isnan(kmeans.vs_erm.lower) and "needs 2" in kmeans.erm_note
    assert ranking.selected.candidate.name == "none"


def _fold_records(seeds, folds, skip=()):
    records = []
    for s in seeds:
        for fold in folds:
            params = {"seed": s, "data.heldout_sources": fold}
            offset = 0.1 * s + (0.3 if fold == ["a", "b"] else 0.0)
            for name, gain in (("none", 0.0), ("random", 0.0), ("kmeans", 0.05 + 0.001 * s)):
                if (name, s, fold[0]) in skip:
                    continue
                metrics = {"val/PQ/within_srcc": offset + gain + 0.004 * (fold == ["c", "d"])}
                records.append(TrialRecord(f"{name}{s}{fold}", {**params, "domain.definer": name}, metrics))
    return records


def test_folds_are_averaged_within_a_seed_and_never_paired_as_seeds():
    folds = [["a", "b"], ["c", "d"], ["e", "f"]]
    records = _fold_records([0, 1], folds, skip={("kmeans", 1, ("c", "d"))} | {("kmeans", 1, None)})
    records = [
        r
        for r in records
        if not (r.id.startswith("kmeans1") and r.params["data.heldout_sources"] == ["c", "d"])
    ]
    none, _, kmeans = group(records)
    assert len(none.trials) == 6 and len(kmeans.trials) == 5
    p = paired(kmeans, none, "val/PQ/within_srcc")  # seed 1 pairs its two common folds only
    assert p.n == 2 and p.mean == pytest.approx((0.05 + 0.051) / 2)
    ranking = rank_aspect(group(records), "PQ", PROTOCOLS["within"])
    row = next(r for r in ranking.rows if r.candidate.name == "kmeans")
    assert row.vs_erm.n == 2 and row.n == 5  # 5 trials, 2 seeds: the pairs are seeds
    # one seed x three folds: three trials each, but one pair: never enough to select
    one = rank_aspect(group(_fold_records([0], folds)), "PQ", PROTOCOLS["within"])
    row = next(r for r in one.rows if r.candidate.name == "kmeans")
    assert row.n == 3 and row.vs_erm.n == 1 and not row.eligible and one.no_winner


def test_erm_trials_of_a_tuning_sweep_form_one_candidate_and_tuned_settings_reach_selection(tmp_path):
    directory = SweepDir(tmp_path / "bayes")
    directory.init({"name": "b", "method": "bayes", "parameters": {}})
    rows = [("none", 5, 0.3, 0.002, 0), ("none", 2, 1.0, 0.002, 1), ("kmeans", 3, 0.5, 0.002, 0),
            ("kmeans", 3, 0.5, 0.002, 1), ("random", 3, 0.5, 0.002, 0), ("random", 3, 0.5, 0.002, 1),
            ("none", 3, 0.5, 0.001, 0)]  # fmt: skip
    for name, k, lam, lr, s in rows:
        params = {"domain.definer.name": name, "domain.definer.k": k, "model.adversary.lambda_max": lam,
                  "optim.lr": lr, "seed": s}  # fmt: skip
        trial = directory.add(params)
        gain = 0.1 + 0.01 * s if name == "kmeans" else 0.0
        trial.status, trial.metrics = {"state": "finished"}, {"val/PQ/within_srcc": 0.2 * s + gain}
        directory.save(trial)
    candidates = group(offline_records(directory.root)[1])
    assert sorted(len(c.trials) for c in candidates) == [1, 2, 2, 2]
    select_mod.select(str(directory.root), console=Console(record=True))
    selection = yaml.safe_load((directory.root / "selection.yaml").read_text())
    assert selection["PQ"] == {"definer": {"name": "kmeans", "k": 3}, "model": {"lambda_max": 0.5}}
    assert "not in selection.yaml): optim.lr" in (directory.root / "selection.md").read_text()


def test_no_fallback_pairing_refuses_and_says_why():
    """A candidate whose other settings no ERM (or control) run shares is refused, never paired."""
    records = []
    for s in SEEDS:
        for name, lr, gain in (
            ("none", 0.001, 0.0),
            ("random", 0.002, 0.0),
            ("kmeans", 0.002, 0.2 + 0.01 * s),
        ):
            params = {"domain.definer": {"name": name, "k": 4}, "optim.lr": lr, "seed": s}
            records.append(TrialRecord(f"{name}{s}", params, {"val/PQ/within_srcc": 0.3 + gain}))
    ranking = rank_aspect(group(records), "PQ", PROTOCOLS["within"])
    kmeans = next(r for r in ranking.rows if r.candidate.name == "kmeans")
    assert kmeans.vs_erm is None and kmeans.erm_note.startswith("refused: no ERM")
    assert "optim.lr=0.002" in kmeans.erm_note
    assert kmeans.vs_control is not None and not kmeans.eligible and ranking.no_winner
    # a random control at another adversary strength is no control for this candidate
    records = []
    for s in SEEDS:
        for name, lam, gain in (("none", 1.0, 0.0), ("random", 1.0, 0.0), ("kmeans", 0.1, 0.2 + 0.01 * s)):
            params = {"domain.definer": {"name": name}, "model.adversary.lambda_max": lam, "seed": s}
            records.append(TrialRecord(f"{name}{s}", params, {"val/PQ/within_srcc": 0.3 + gain}))
    ranking = rank_aspect(group(records), "PQ", PROTOCOLS["within"])
    kmeans = next(r for r in ranking.rows if r.candidate.name == "kmeans")
    assert kmeans.vs_erm.above_zero and kmeans.vs_control is None  # ERM ignores adversary settings
    assert (
        "no random control ran with the same settings (model.adversary.lambda_max=0.1)" in kmeans.control_note
    )
    assert ranking.no_winner
    erm, why = reference(kmeans.candidate, [c for c in group(records) if c.is_control], control=True)
    assert erm is None and why.startswith("refused")


def test_a_candidate_must_beat_the_random_control_too():
    records = []
    for s in SEEDS:
        for name, gain in (("none", 0.0), ("random", 0.1 + 0.002 * s), ("kmeans", 0.1 + 0.01 * (s == 1))):
            params = {"domain.definer": {"name": name, "k": 4}, "seed": s}
            records.append(TrialRecord(f"{name}{s}", params, {"val/PQ/within_srcc": 0.3 + gain}))
    ranking = rank_aspect(group(records), "PQ", PROTOCOLS["within"])
    kmeans = next(r for r in ranking.rows if r.candidate.name == "kmeans")
    assert kmeans.vs_erm.above_zero and not kmeans.vs_control.above_zero
    assert not kmeans.eligible and ranking.no_winner


def test_probe_change_against_erm_is_paired_and_an_unmoved_probe_is_flagged(sweep_dir, tmp_path):
    within = select_mod.select(str(sweep_dir), out=tmp_path / "sel")["within"]
    rows = {r.candidate.name: r for r in within["PQ"].rows}
    assert rows["gmm"].probe_vs_erm.mean == pytest.approx(-0.2) and not rows["gmm"].probe_unmoved
    assert rows["kmeans"].probe_vs_erm.mean == pytest.approx(0.0) and rows["kmeans"].probe_unmoved
    assert not rows["none"].probe_unmoved
    report = (tmp_path / "sel" / "selection.md").read_text()
    assert "probe unmoved" in report and "| PQ | 0.200 | 0.550 | 0.620 |" in report


def test_terminal_prints_every_protocol_the_shortcut_row_and_the_paired_tables(sweep_dir, tmp_path):
    console = Console(record=True, width=110)
    select_mod.select(str(sweep_dir), out=tmp_path / "sel", console=console)
    text = console.export_text()
    for title in ("within (chooses)", "heldout (shown)", "pooled (shown)", "oracle (never chooses)"):
        assert title in text
    assert "source lookup" in text and "paired vs ERM" in text and "no definer beat ERM" in text
    assert "metadata columns=[modality]" in text.replace("\n", "") or "columns=[moda" in text


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
    assert online == offline_sel and set(online) == set(ASPECTS)


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


def test_trials_pair_by_the_seed_their_config_used_when_it_was_not_swept():
    records = [
        TrialRecord(
            f"{name}{s}",
            {"domain.definer": {"name": name}},
            {"val/PQ/within_srcc": v + s},
            {"seed": s, "data": {"heldout_sources": ["x"]}},
        )  # fmt: skip
        for name, v in (("none", 0.1), ("kmeans", 0.3))
        for s in (0, 1)
    ]
    none, kmeans = group(records)
    assert none.by_seed("val/PQ/within_srcc") == {"0": 0.1, "1": 1.1}
    assert paired(kmeans, none, "val/PQ/within_srcc").n == 2


@pytest.mark.parametrize("shortcut, flagged", [(0.0, False), (-0.5, False), (0.25, True), (0.9, True)])
def test_shortcut_is_flagged_when_it_scores_above_zero_within_erm_ci(shortcut, flagged):
    records = []
    for s, erm in enumerate([0.1, 0.6]):  # ERM 0.35 ± 3.2: a wide CI
        metrics = {"val/PQ/within_srcc": erm, "shortcut/val/PQ/within_srcc": shortcut}
        records.append(TrialRecord(f"n{s}", {"domain.definer": {"name": "none"}, "seed": s}, metrics))
    assert rank_aspect(group(records), "PQ", PROTOCOLS["within"]).shortcut_flagged is flagged


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
    assert run["history"]["selection/ranking/nrows"] == len(ASPECTS) * len(DEFINERS)  # the chosen protocol
    (artifact,) = [a for a in run["artifacts"] if a["type"] == "selection"]
    assert set(artifact["files"]) == {"selection.yaml", "selection.md"}
    md5 = base64.b64encode(hashlib.md5((out / "selection.yaml").read_bytes()).digest()).decode()
    assert artifact["files"]["selection.yaml"]["digest"] == md5
    # without --wandb and no active run: nothing is logged
    assert select_mod.main([str(sweep_dir), "--out", str(tmp_path / "quiet")]) == 0
    assert not (tmp_path / "quiet" / "wandb").exists()
