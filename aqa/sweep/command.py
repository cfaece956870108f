"""Sweep files: load and validate them, and build a trial's command line exactly as `wandb agent` does."""

import shutil
import sys
from pathlib import Path

import yaml

from data_modules.errors import UserError

# `wandb agent`'s default when a sweep has no `command:`
DEFAULT_COMMAND = ["${env}", "${interpreter}", "${program}", "${args}"]


class SweepFileError(UserError):
    """A sweep file that W&B's sweep engine would reject (the message lists why)."""


def import_sweeps():
    """W&B's sweep engine, or a UserError naming the install command (pip does not install it with aqa)."""
    try:
        import sweeps  # (numpy) not for `--help`
    except ImportError as error:
        raise UserError(
            "W&B's sweep engine is not installed: run `pip install --no-deps sweeps==0.3.0` "
            "(--no-deps: it declares numpy<2 but runs on numpy 2; its dependencies come with aqa)"
        ) from error
    return sweeps


def load_sweep(path: str | Path) -> dict:
    """Read a sweep YAML and validate it with W&B's sweep engine; returns the plain dict."""
    path = Path(path)
    if not path.is_file():
        raise SweepFileError(f"sweep file not found: {path}")
    config = yaml.safe_load(path.read_text())
    if not isinstance(config, dict):
        raise SweepFileError(f"{path}: a sweep file must be a YAML mapping")
    sweeps = import_sweeps()
    problems = sweeps.schema_violations_from_proposed_config(config)
    if problems:
        raise SweepFileError(f"{path}: " + "; ".join(problems))
    return config


def plain(value):
    """numpy scalars (what the engine proposes) -> Python scalars, recursively."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def args_no_hyphens(params: dict) -> list[str]:
    """`key=value` per parameter, formatted as W&B's agent formats them (`f"{key}={value}"`)."""
    return [f"{key}={value}" for key, value in params.items()]


def _aqa_executable() -> list[str]:
    found = shutil.which("aqa")
    return [found] if found else [sys.executable, "-m", "aqa.cli"]


def build_command(sweep: dict, params: dict, json_file: str | Path | None = None) -> list[str]:
    """The argv `wandb agent` would run for these parameters.

    The macros are expanded by wandb's own functions (`create_sweep_command` for `${envvar:NAME}`,
    `create_sweep_command_args` for `${args}`, `${args_no_equals}`, `${args_no_hyphens}`,
    `${args_no_boolean_flags}`, `${args_json}`, `${args_append_hydra}`, `${args_override_hydra}`), with the
    agent's `${env}`, `${program}` and `${args_json_file}`. Two local choices: `${interpreter}` is this Python
    (W&B: `python` on PATH), and a leading `aqa` that is not on PATH becomes `python -m aqa.cli`.
    """
    from wandb.sdk.launch.sweeps.utils import create_sweep_command, create_sweep_command_args  # noqa: PLC0415

    values = create_sweep_command_args({"args": {key: {"value": value} for key, value in params.items()}})
    values |= {
        "env": ["/usr/bin/env"],
        "interpreter": [sys.executable],
        "program": [sweep["program"]] if "program" in sweep else [],
        "args_json_file": [str(json_file)] if json_file else [],
    }
    command = create_sweep_command(list(sweep.get("command") or DEFAULT_COMMAND))  # it edits its argument
    if json_file and "${args_json_file}" in command:
        Path(json_file).write_text(values["args_json"][0])
    argv = []
    for chunk in map(str, command):
        if chunk.startswith("${") and chunk.endswith("}"):
            if chunk[2:-1] not in values:
                raise SweepFileError(
                    f"unknown macro {chunk} in the sweep's command: wandb agent leaves it out"
                )
            argv += values[chunk[2:-1]]
        else:
            argv.append(chunk)
    if argv and argv[0] == "aqa":
        argv = _aqa_executable() + argv[1:]
    return argv
