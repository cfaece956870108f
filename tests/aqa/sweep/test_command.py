"""A trial's command line is the one `wandb agent` would run."""

import json
import shutil
import sys

import pytest
from wandb.sdk.launch.sweeps.utils import create_sweep_command_args

from aqa.sweep.command import SweepFileError, build_command, load_sweep

PARAMS = {
    "domain.definer": {"name": "kmeans", "k": 8},
    "seed": 1,
    "model.adversary.lambda_max": 0.5,
    "x": False,
}


def test_args_macros_match_wandb():
    wandb_args = create_sweep_command_args({"args": {k: {"value": v} for k, v in PARAMS.items()}})
    macros = ("args", "args_no_equals", "args_no_hyphens", "args_no_boolean_flags", "args_json")
    macros += ("args_append_hydra", "args_override_hydra")
    for macro in macros:
        sweep = {"command": ["prog", "${" + macro + "}"]}
        assert build_command(sweep, PARAMS) == ["prog", *wandb_args[macro]], macro


def test_env_interpreter_program_and_envvar(tmp_path, monkeypatch):
    monkeypatch.setenv("AQA_TEST_VALUE", "hello")
    sweep = {
        "program": "train.py",
        "command": ["${env}", "${interpreter}", "${program}", "--x=${envvar:AQA_TEST_VALUE}"],
    }
    assert build_command(sweep, {}) == ["/usr/bin/env", sys.executable, "train.py", "--x=hello"]
    assert build_command({"program": "train.py"}, {"a": 1})[-2:] == [
        "train.py",
        "--a=1",
    ]  # W&B's default command


def test_every_wandb_macro_expands_like_the_agent():
    """Offline argv == the agent's for a command that uses each macro: no macro is dropped."""
    sweep = {"command": ["p", "${args_no_equals}", "${args_override_hydra}", "${args_append_hydra}"]}
    assert build_command(sweep, {"seed": 1, "a.b": 0.5}) == [
        "p",
        *["--seed", "1", "--a.b", "0.5"],
        *["++seed=1", "++a.b=0.5"],
        *["+seed=1", "+a.b=0.5"],
    ]


def test_unknown_macro_is_an_error_not_dropped():
    with pytest.raises(SweepFileError, match=r"\$\{args_no_hyphen\}"):
        build_command({"command": ["p", "${args_no_hyphen}"]}, {"seed": 1})


def test_envvar_inside_a_chunk(monkeypatch):
    monkeypatch.setenv("AQA_DEVICES", "4")
    assert build_command({"command": ["p", "trainer.devices=${envvar:AQA_DEVICES}"]}, {}) == [
        "p",
        "trainer.devices=4",
    ]


def test_args_json_file_is_written(tmp_path):
    path = tmp_path / "args.json"
    assert build_command({"command": ["p", "${args_json_file}"]}, PARAMS, json_file=path) == ["p", str(path)]
    assert json.loads(path.read_text()) == PARAMS


def test_aqa_resolves_to_this_python_when_not_on_path(monkeypatch):
    sweep = {"command": ["aqa", "train", "e.yaml", "${args_no_hyphens}"]}
    monkeypatch.setenv("PATH", "/nonexistent")
    assert shutil.which("aqa") is None
    assert build_command(sweep, {"seed": 2}) == [sys.executable, "-m", "aqa.cli", "train", "e.yaml", "seed=2"]


def test_invalid_sweep_file_names_the_problem(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("method: grdi\nparameters: {seed: {values: [0]}}\n")
    with pytest.raises(SweepFileError, match="grdi"):
        load_sweep(path)
