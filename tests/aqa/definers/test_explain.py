"""`aqa domains`: eta^2, agreement with dataset IDs, the printed table, the UMAP plot and the CLI."""

import json

import numpy as np
import pytest

from aqa.cli import main as aqa_main
from aqa.config.domain import DefinerConfig
from aqa.definers.explain import describe, explain
from aqa.definers.registry import definer_label
from data_modules.stats import eta_squared


def test_eta_squared_known_values():
    groups = np.array([0, 0, 1, 1])
    assert eta_squared(np.array([1.0, 1.0, 3.0, 3.0]), groups) == pytest.approx(1.0)
    assert eta_squared(np.array([1.0, 3.0, 1.0, 3.0]), groups) == pytest.approx(0.0)
    # means 1.5 and 3.5, grand mean 2.5: between = 4 * 1 = 4; total = 0.25 * 4 + 4 = 5
    assert eta_squared(np.array([1.0, 2.0, 3.0, 4.0]), groups) == pytest.approx(4 / 5)
    assert eta_squared(np.array([2.0, np.nan, 2.0, 2.0]), groups) == 0.0  # no variance


def test_describe_dataset_definer(make_table):
    table = make_table(120)
    train = (table["split"] == "train").to_numpy()
    codes = table["dataset"].map({"tta": 0, "ttm": 1, "tts": 2}).to_numpy()
    row = describe(DefinerConfig(name="dataset"), codes, ["tta", "ttm", "tts"], table, train, ["PQ", "PC"])
    assert row["ari_dataset"] == pytest.approx(1.0) and row["nmi_dataset"] == pytest.approx(1.0)
    assert sum(row["sizes"].values()) == train.sum()
    assert row["eta2"]["PQ"] > 0.8 > 0.1 > row["eta2"]["PC"]  # PQ = 3 * dataset + noise; PC is noise


def test_definer_label():
    assert definer_label(DefinerConfig(name="metadata", columns=["a", "b"])) == "metadata(a+b)"
    assert definer_label(DefinerConfig(name="gmm", k=None)) == "gmm(k=auto,diag)"
    assert definer_label(DefinerConfig(name="random", k=4)) == "random(k=4)"


def test_explain_without_plot(make_cfg, make_table, tmp_path, capsys):
    cfg = make_cfg(
        "domain.definer=dataset",
        "domain.definer.k=3",
        "domain.definers.PC=metadata",
        "domain.definers.PC.columns=[language]",
    )
    rows = explain(cfg, make_table(), 24000, compare=["random", "dataset"], out_dir=tmp_path, plot=False)
    assert [r["label"] for r in rows] == ["dataset", "metadata(language)", "random(k=3)"]
    assert rows[0]["aspects"] == ["PQ"] and rows[2]["aspects"] == []
    assert rows[0]["ari_dataset"] == pytest.approx(1.0)
    assert abs(rows[2]["ari_dataset"]) < 0.1  # random labels do not agree with the datasets
    assert json.loads((tmp_path / "explain.json").read_text())[1]["label"] == "metadata(language)"
    printed = capsys.readouterr().out
    assert "eta2 PQ" in printed and "metadata(language)" in printed


def test_explain_logs_its_table_to_wandb_when_asked(
    make_cfg, make_table, tmp_path, monkeypatch, offline_runs
):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))
    cfg = make_cfg("domain.definer=dataset")
    explain(cfg, make_table(), 24000, compare=["random:3"], out_dir=tmp_path / "out", plot=False, wandb=True)
    (run,) = offline_runs(tmp_path / "out" / "wandb")
    assert run["history"]["domains/definers/_type"] == "table-file"
    assert run["history"]["domains/definers/nrows"] == 2
    assert [a["files"].keys() for a in run["artifacts"] if a["type"] == "domains"] == [
        {"explain.json": 0}.keys()
    ]


def test_plot_and_table_are_logged_to_an_active_wandb_run(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import wandb

    from aqa.wandb_io import log_report

    path = tmp_path / "plot.png"
    plt.plot([0, 1])
    plt.savefig(path)
    plt.close()
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert log_report("domains", tmp_path, {"domains/umap": path}) is None  # no active run, not asked

    class Run:
        id = "abc"
        logged = []

        def log(self, data):
            self.logged.append(data)

    monkeypatch.setattr(wandb, "run", Run())
    rows = [{"label": "dataset", "k": 3, "eta2": {"PQ": 0.5}}]
    assert log_report("domains", tmp_path, {"domains/umap": path}, {"domains/definers": rows}) == "abc"
    logged = Run.logged[0]
    assert isinstance(logged["domains/umap"], wandb.Image) and isinstance(
        logged["domains/definers"], wandb.Table
    )
    assert logged["domains/definers"].columns == ["label", "k", "eta2/PQ"]


@pytest.mark.slow
def test_aqa_domains_cli_writes_table_and_umap_plot(tiny_overrides, tmp_path, planted_corpus, capsys):
    """`aqa domains` end to end: manifest -> table -> embeddings (tiny encoder) -> definers -> table + PNG."""
    manifest = planted_corpus(tmp_path, n=36)
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text(
        f"data:\n  manifest: {manifest}\n  aspects: [PQ, PC]\n  eval_window_seconds: 0.25\n"
    )
    out = tmp_path / "explain"
    argv = ["domains", str(experiment), *tiny_overrides, "domain.definer=kmeans", "domain.definer.k=2"]
    assert (
        aqa_main(
            [
                *argv,
                "domain.definers.PC=gmm",
                "domain.definers.PC.k=2",
                "--compare",
                "dataset,random:2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    for name in ("kmeans(k=2)", "gmm(k=2,diag)", "dataset", "random(k=2)", "eta2 PQ", "domains_umap.png"):
        assert name in printed
    rows = {r["label"]: r for r in json.loads((out / "explain.json").read_text())}
    assert rows["kmeans(k=2)"]["ari_dataset"] == pytest.approx(1.0)  # the planted kinds are the datasets
    assert rows["kmeans(k=2)"]["eta2"]["PQ"] == pytest.approx(1.0)  # PQ is set by the kind
    png = (out / "domains_umap.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
