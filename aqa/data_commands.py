"""`aqa prepare EXPERIMENT.yaml` and `aqa validate EXPERIMENT.yaml`: the experiment config and the encoder's
sample rate, handed to the data stage's commands (`data_modules.commands`)."""

import argparse

from rich.console import Console


def _config(argv: list[str], prog: str, help_: str):
    """-> (config, encoder sample rate) of the experiment and overrides in `argv`."""
    parser = argparse.ArgumentParser(prog=f"aqa {prog}", description=help_)
    parser.add_argument("experiment", help="experiment YAML")
    parser.add_argument("overrides", nargs="*", help="key=value config overrides")
    args = parser.parse_args(argv)
    from aqa.config.load import load_config  # after parsing: `--help` imports no torch
    from aqa.model.encoder import encoder_sample_rate

    cfg = load_config(args.experiment, args.overrides)
    return cfg, encoder_sample_rate(cfg.model.encoder)


def prepare(argv: list[str]) -> int:
    """Decode, check and cache every clip of the manifest at the encoder's rate (reused by all runs)."""
    from data_modules.commands import prepare_cache

    cfg, rate = _config(argv, "prepare", "build the decoded-waveform cache of an experiment's manifest")
    return prepare_cache(cfg.data, rate, Console())


def validate(argv: list[str]) -> int:
    """Print a report of every problem of the manifest, its audio and the domain definers; exit 1 if
    training would stop."""
    cfg, rate = _config(
        argv, "validate", "check a manifest, its audio and the domain definers; print a report"
    )
    from aqa.definers.feasibility import definer_problems
    from aqa.metrics.monitorable import monitor_problem
    from data_modules.commands import validate_data
    from data_modules.manifest import Problem, load_table

    def definers() -> list:
        named = {"aspects": list(cfg.data.aspects), "train_split": cfg.data.train_split, "seed": cfg.seed}
        table = load_table(cfg.data)
        problems = [Problem("domain_definer", m) for m in definer_problems(cfg.domain, table, **named)]
        args = (list(cfg.data.aspects), cfg.data.val_split, cfg.metrics.min_source_clips)
        if monitor := monitor_problem(cfg.checkpoint.monitor, table, *args):
            problems.append(Problem("checkpoint_monitor", monitor))
        return problems

    return validate_data(cfg.data, rate, Console(), more_checks=definers)
