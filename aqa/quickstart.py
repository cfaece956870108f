"""`aqa quickstart`: which domain definer helps which MOS aspect, on the generated corpus, in one command.

`aqa quickstart [--dir DIR] [--seeds N] [--definers a,b] [--jobs N] [--waveform] [key=value ...]` generates
the corpus, runs the offline grid `sweeps/quickstart_grid.yaml` (every definer x seed; screening trials on the
frozen encoder's layer cache unless --waveform), then `aqa select` under the default
protocol `within`: one table per protocol (within, heldout, pooled, oracle) with the source-lookup
shortcut row, per-aspect paired comparisons against ERM and the random control over seeds, the domain
probe against its floors, and `selection.md`, `selection.png`, `selection.yaml` in DIR/sweep/.
"""

import argparse
import copy
from pathlib import Path

import yaml

from aqa.config.train import RUNS_ROOT
from aqa.console import make_console
from aqa.sweep.command import load_sweep

REPO = Path(__file__).resolve().parents[1]
GRID = REPO / "sweeps" / "quickstart_grid.yaml"
SCREENING = ("model.encoder.mode=cached",)  # the quickstart's trials unless --waveform


def quickstart_sweep(
    sweep: dict, seeds: int | None = None, definers: list[str] | None = None, overrides: list[str] = ()
) -> dict:
    """The quickstart grid narrowed to `seeds` (0..N-1) and `definers` (by name), with fixed `overrides`
    placed before `${args_no_hyphens}` and the experiment path made absolute (runs from any folder)."""
    sweep = copy.deepcopy(sweep)
    params = sweep["parameters"]
    if seeds is not None:
        params["seed"] = {"values": list(range(seeds))}
    if definers is not None:
        values = [v for v in params["domain.definer"]["values"] if v["name"] in definers]
        unknown = set(definers) - {v["name"] for v in values}
        if unknown:
            raise ValueError(f"no definer named {sorted(unknown)} in the quickstart grid")
        params["domain.definer"]["values"] = values
    command = sweep["command"]
    experiment = next(i for i, word in enumerate(command) if word.endswith(".yaml"))
    command[experiment] = str((REPO / command[experiment]).resolve())
    at = command.index("${args_no_hyphens}")
    command[at:at] = list(overrides)
    return sweep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aqa quickstart", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir", default=str(RUNS_ROOT / "quickstart"), help="output folder (rerun to resume)"
    )
    parser.add_argument("--seeds", type=int, help="seeds per definer (default: the sweep file's)")
    parser.add_argument("--definers", help="comma-separated definer names (default: all in the sweep file)")
    parser.add_argument(
        "--waveform",
        action="store_true",
        help="end-to-end trials on the waveform (the experiment's LoRA encoder) instead of screening trials",
    )
    parser.add_argument("--jobs", type=int, default=1, help="screening trials at once (default 1)")
    parser.add_argument("overrides", nargs="*", help="key=value overrides for every trial")
    args = parser.parse_args(argv)
    from aqa.config import load_config
    from aqa.sweep.offline import run_sweep
    from aqa.sweep.select import select
    from data_modules.corpus.generate import ensure_corpus

    console = make_console()
    out = Path(args.dir)
    definers = args.definers.split(",") if args.definers else None
    # trials write no W&B runs unless asked (logger.wandb=true): an offline W&B run per trial (24 in the
    # default grid: 8 strategies x 3 seeds) only costs time here
    # screening by default: the per-aspect model on the frozen encoder's layer cache, in-process trials
    # (docs/screening.md); the experiment's LoRA settings are LoraConfig's defaults, which screening accepts
    screening = [] if args.waveform else list(SCREENING)
    overrides = ["logger.wandb=false", *screening, *args.overrides]
    sweep = quickstart_sweep(load_sweep(GRID), args.seeds, definers, overrides)
    out.mkdir(parents=True, exist_ok=True)
    sweep_file = out / "quickstart_grid.yaml"
    sweep_file.write_text(yaml.safe_dump(sweep, sort_keys=False))

    experiment = next(word for word in sweep["command"] if word.endswith(".yaml"))
    console.rule("1. generated corpus")
    console.print(f"manifest: {ensure_corpus(load_config(experiment, overrides).data.corpus)}")
    console.rule("2. every definer x seed (offline sweep)")
    if run_sweep(sweep_file, out / "sweep", console=console, jobs=args.jobs) != 0:
        return 1
    console.rule("3. definer per aspect: every protocol, paired against ERM (validation only)")
    select(str(out / "sweep"), console=console)
    console.print(f"next: measure the selected model over the same seeds: aqa final {out / 'sweep'}")
    return 0
