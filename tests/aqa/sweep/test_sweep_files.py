"""Every sweep file in sweeps/ is valid for W&B's sweep engine and only sets keys the config accepts."""

import re
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import sweeps
from aqa.config import load_config
from aqa.sweep.command import args_no_hyphens, load_sweep
from aqa.sweep.offline import propose

REPO = Path(__file__).resolve().parents[3]
SWEEP_FILES = sorted((REPO / "sweeps").glob("*.yaml"))
LOGGED_KEY = re.compile(
    r"^(best/)?(val|val_ood|test|test_ood)/[^/]+/((utt|sys)_(mse|lcc|srcc|ktau)|within_srcc)$"
)


def test_there_are_sweep_files():
    names = {p.name for p in SWEEP_FILES}
    assert {"quickstart_grid.yaml", "audiomos2025_track2_grid.yaml"} <= names
    assert {"quickstart_bayes.yaml", "audiomos2025_track2_bayes.yaml"} <= names


def _experiment(sweep: dict) -> str:
    command = sweep["command"]
    assert command[:2] == ["aqa", "train"] and command[-1] == "${args_no_hyphens}", command
    return command[2]


def _explicit_values(spec: dict) -> list:
    if "value" in spec:
        return [spec["value"]]
    if "values" in spec:
        return spec["values"]
    return [spec["min"], spec["max"]]


def _fixed_overrides(sweep: dict) -> list[str]:
    return sweep["command"][3:-1]


def _check_overrides(experiment: Path, params: dict, fixed: list[str] = ()) -> None:
    cfg = load_config(experiment if experiment.is_file() else None, [*fixed, *args_no_hyphens(params)])
    for key, value in params.items():
        got = OmegaConf.select(cfg, key)
        if isinstance(value, dict):  # a definer spec merged over domain.definer
            got = {k: OmegaConf.to_container(got)[k] for k in value}
        assert got == value, key


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.name)
def test_sweep_file_is_valid_and_sets_schema_keys(path):
    sweep = load_sweep(path)  # raises on any violation W&B's engine reports
    sweeps.SweepConfig(sweep)
    assert LOGGED_KEY.match(sweep["metric"]["name"]), sweep["metric"]["name"]
    assert "sys_" not in sweep["metric"]["name"]  # pooled system SRCC rewards the source shortcut
    experiment = REPO / _experiment(sweep)
    fixed = _fixed_overrides(sweep)
    for key, spec in sweep["parameters"].items():
        for value in _explicit_values(spec):
            _check_overrides(experiment, {key: value}, fixed)
    for params in propose(sweep, [], n=5):  # what the engine proposes, as the agent passes it on
        _check_overrides(experiment, params, fixed)
    # the W&B logger is on, or the runs of an online sweep would report nothing to it
    assert load_config(experiment if experiment.is_file() else None, fixed).logger.wandb


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.name)
def test_sweep_experiment_exists(path):
    assert (REPO / _experiment(load_sweep(path))).is_file()


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.name)
def test_sweep_names_a_program_beside_its_command(path):
    """W&B's docs call `program` required; the agent runs `command`, which never uses `${program}` here."""
    sweep = load_sweep(path)
    assert (REPO / sweep["program"]).is_file()
    assert "${program}" not in sweep["command"]


def _readme_commands() -> list[list[str]]:
    text = (REPO / "sweeps" / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    lines = [line.split("#")[0].split() for block in blocks for line in block.splitlines()]
    return [words for words in lines if words]


def test_readme_commands_name_real_subcommands_and_files():
    from aqa.cli import COMMANDS

    commands = _readme_commands()
    assert {c[1] for c in commands if c[0] == "aqa"} == {"sweep", "select", "train", "final"}
    for words in commands:
        assert words[0] in ("aqa", "wandb"), words
        if words[0] == "aqa":
            assert words[1] in COMMANDS, words
        for word in words:
            if word.startswith(("sweeps/", "experiments/")) and "=" not in word:
                assert (REPO / word).is_file(), word


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.name)
def test_seed_is_swept_and_erm_is_a_candidate(path):
    """n >= 2 seeds per candidate is possible, and every setting has ERM (`none`) to be paired with."""
    params = load_sweep(path)["parameters"]
    assert len(params["seed"]["values"]) >= 2
    definer = params.get("domain.definer") or params["domain.definer.name"]
    names = [v["name"] if isinstance(v, dict) else v for v in definer["values"]]
    assert "none" in names
