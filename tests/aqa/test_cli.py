"""`aqa` itself: input errors end in their message alone (exit 2), --version, cheap --help."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from aqa import __version__
from aqa.cli import COMMANDS, main
from data_modules.errors import USER_ERROR_EXIT

SR = 16000


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """A valid manifest of 20 clips (8 train, 10 val: 5 per source as the default monitor needs, 2 test); each
    case breaks one thing in a copy."""
    folder = tmp_path_factory.mktemp("cli-errors")
    rng = np.random.default_rng(0)
    rows = []
    for i, split in enumerate(["train"] * 8 + ["val"] * 10 + ["test"] * 2):
        sf.write(folder / f"c{i}.wav", (0.1 * rng.standard_normal(SR)).astype(np.float32), SR)
        rows.append(
            {"id": f"c{i}", "path": f"c{i}.wav", "split": split, "PQ": 1 + i % 9, "dataset": f"d{i % 2}"}
        )
    return folder, pd.DataFrame(rows)


def _experiment(folder, table: pd.DataFrame, name: str) -> str:
    path = folder / f"{name}.csv"
    table.to_csv(path, index=False)
    exp = folder / f"{name}.yaml"
    exp.write_text(f"data:\n  manifest: {path}\n  aspects: [PQ]\n")
    return str(exp)


def _broken(table: pd.DataFrame, case: str) -> tuple[pd.DataFrame, list[str]]:
    t = table.copy()
    if case == "out_of_scale_mos":
        t.loc[0, "PQ"] = 42
    elif case == "duplicate_ids":
        t.loc[1, "id"] = t.loc[0, "id"]
    elif case == "non_numeric_mos":
        t["PQ"] = t["PQ"].astype(object)
        t.loc[0, "PQ"] = "good"
    elif case == "end_before_start":
        t["start"], t["end"] = 0.0, np.nan
        t.loc[0, ["start", "end"]] = [0.8, 0.2]
    elif case == "missing_path_column":
        t = t.drop(columns="path")
    elif case == "empty_val_split":
        t.loc[t["split"] == "val", "split"] = "train"
    elif case == "unknown_aspect":
        return t, ["data.aspects=[PQ,XX]"]
    elif case == "k_larger_than_clips":
        return t, ["domain.definer=random", "domain.definer.k=50"]
    elif case == "unknown_definer":
        return t, ["domain.definer=clusters"]
    elif case == "unknown_config_key":
        return t, ["trainer.max_epoch=3"]
    elif case == "missing_manifest":
        return t, ["data.manifest=/nonexistent/manifest.csv"]
    return t, []


CASES = [
    "out_of_scale_mos",
    "duplicate_ids",
    "non_numeric_mos",
    "end_before_start",
    "missing_path_column",
    "empty_val_split",
    "unknown_aspect",
    "k_larger_than_clips",
    "unknown_definer",
    "unknown_config_key",
    "missing_manifest",
]


@pytest.mark.parametrize("case", CASES)
def test_train_input_errors_print_the_message_alone(manifest, tiny_overrides, case, capsys, monkeypatch):
    monkeypatch.delenv("AQA_DEBUG", raising=False)
    folder, table = manifest
    broken, overrides = _broken(table, case)
    exp = _experiment(folder, broken, case)
    rc = main(
        ["train", exp, *tiny_overrides, "trainer.max_epochs=1", f"run.dir={folder}/run-{case}", *overrides]
    )
    err = capsys.readouterr().err
    assert rc == USER_ERROR_EXIT, err
    assert "Traceback" not in err and "\naqa train: error: " in "\n" + err, err
    assert len(err.split("aqa train: error: ")[-1].strip()) > 10


def test_debug_shows_the_traceback(manifest, capsys, monkeypatch):
    folder, table = manifest
    exp = _experiment(folder, table, "debug")
    assert main(["--debug", "train", exp, "trainer.max_epoch=3"]) == USER_ERROR_EXIT
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.setenv("AQA_DEBUG", "1")
    assert main(["train", exp, "trainer.max_epoch=3"]) == USER_ERROR_EXIT
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize(
    "overrides",
    [["trainer.max_epoch=3"], ["data.manifest=/nonexistent/manifest.csv"]],
    ids=["key", "manifest"],
)
def test_validate_config_errors_print_the_message_alone(
    manifest, tiny_overrides, overrides, capsys, monkeypatch
):
    monkeypatch.delenv("AQA_DEBUG", raising=False)
    folder, table = manifest
    rc = main(["validate", _experiment(folder, table, "validate"), *tiny_overrides, *overrides])
    err = capsys.readouterr().err
    assert rc == USER_ERROR_EXIT and "Traceback" not in err and "aqa validate: error:" in err, err


@pytest.mark.parametrize(
    "overrides",
    [
        ["domain.definer=kmeans", "domain.definer.k=50"],
        ["domain.definer=random", "domain.definer.k=9"],
        ["domain.definer=metadata", "domain.definer.columns=[language]"],
        ["domain.definers.XX=dataset"],
    ],
    ids=["kmeans-k", "random-k", "metadata-column", "unknown-aspect"],
)
def test_validate_checks_definer_feasibility(manifest, tiny_overrides, overrides, capsys):
    folder, table = manifest
    exp = _experiment(folder, table, "feasible")
    rc = main(["validate", exp, *tiny_overrides, *overrides])
    out = capsys.readouterr()
    assert rc != 0 and "no problems found" not in out.out, out.out
    assert "domain" in (out.out + out.err), out


def test_validate_passes_a_feasible_definer(manifest, tiny_overrides, capsys):
    folder, table = manifest
    exp = _experiment(folder, table, "ok")
    rc = main(["validate", exp, *tiny_overrides, "domain.definer=kmeans", "domain.definer.k=3"])
    assert rc == 0, capsys.readouterr()


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"aqa {__version__}"


def test_help_of_every_command_imports_no_torch():
    """`aqa <command> --help` parses before any heavy import (the measured times are in README.md)."""
    script = (
        "import sys\nfrom aqa.cli import main\n"
        "try:\n    main([sys.argv[1], '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'lightning', 'transformers', 'sklearn', 'scipy', 'sweeps', 'pandas') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    env = os.environ | {"PYTHONPATH": os.getcwd()}
    for name in COMMANDS:
        out = subprocess.run([sys.executable, "-c", script, name], capture_output=True, text=True, env=env)
        assert "usage: aqa" in out.stdout, (name, out.stdout[-500:], out.stderr[-2000:])
        assert "HEAVY []" in out.stdout, (name, out.stdout[-300:])


def _few_val_clips(table: pd.DataFrame) -> pd.DataFrame:
    """4 val clips over 2 sources: below metrics.min_source_clips (5), the default monitor is NaN."""
    t = table.copy()
    val = t.index[t["split"] == "val"]
    t.loc[val[4:], "split"] = "train"
    assert (t["split"] == "val").sum() == 4 and t.loc[t["split"] == "val", "dataset"].nunique() == 2
    return t


def test_train_refuses_a_nan_monitor(manifest, tiny_overrides, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AQA_DEBUG", raising=False)
    folder, table = manifest
    exp = _experiment(folder, _few_val_clips(table), "few-val")
    rc = main(["train", exp, *tiny_overrides, "trainer.max_epochs=1", f"run.dir={tmp_path}/run"])
    err = capsys.readouterr().err
    assert rc == USER_ERROR_EXIT and "Traceback" not in err, err
    for words in ("val/mean/within_srcc", "min_source_clips", "more validation clips", "checkpoint.monitor="):
        assert words in err, err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_validate_reports_a_nan_monitor(manifest, tiny_overrides, capsys):
    folder, table = manifest
    exp = _experiment(folder, _few_val_clips(table), "few-val-validate")
    rc = main(["validate", exp, *tiny_overrides])
    out = capsys.readouterr().out
    assert rc != 0 and "no problems found" not in out and "checkpoint_monitor" in out, out
    rc = main(["validate", exp, *tiny_overrides, "checkpoint.monitor=val/mean/utt_srcc"])
    assert rc == 0, capsys.readouterr().out
