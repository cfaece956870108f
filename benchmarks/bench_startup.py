"""Start-up cost a user waits for: `aqa <command> --help` per subcommand, and the time from launching
`aqa train EXPERIMENT.yaml` to its first training step (imports, corpus and table loading, domain labels,
model and Trainer construction, first batch).

    python benchmarks/bench_startup.py                          # both, experiments/quickstart.yaml
    python benchmarks/bench_startup.py --skip-first-step        # only the --help timings

Every timing is one fresh subprocess (`python -m aqa.cli ...`), wall clock, the median of `--repeat` runs.
The first-step child replaces `AQAModule.training_step` with one that prints the clock and exits, so
nothing after the first step is counted.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

from aqa.cli import COMMANDS

FIRST_STEP_CHILD = """
import os, sys, time
from aqa.model import module
def first_step(self, *args, **kwargs):
    print(f"FIRST_STEP {time.time()}", flush=True)
    os._exit(0)
module.AQAModule.training_step = first_step
from aqa.cli import main
sys.exit(main(sys.argv[1:]))
"""


def timed(argv: list[str], env: dict) -> tuple[float, str]:
    start = time.time()
    out = subprocess.run(argv, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return time.time() - start, out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--experiment", default="experiments/quickstart.yaml")
    parser.add_argument("--repeat", type=int, default=1, help="runs per timing (median reported)")
    parser.add_argument("--skip-first-step", action="store_true")
    parser.add_argument("overrides", nargs="*", help="extra key=value overrides for the first-step run")
    args = parser.parse_args()
    env = os.environ | {"WANDB_MODE": "disabled"}

    print(f"{'command':<28} {'seconds':>8}")
    for name in ["", *COMMANDS]:
        argv = [sys.executable, "-m", "aqa.cli", *([name] if name else []), "--help"]
        seconds = statistics.median(timed(argv, env)[0] for _ in range(args.repeat))
        print(f"{('aqa ' + name).strip() + ' --help':<28} {seconds:>8.2f}", flush=True)

    if args.skip_first_step:
        return
    times = []
    for k in range(args.repeat):
        run_dir = f"/tmp/aqa-bench-startup-{os.getpid()}-{k}"
        argv = [sys.executable, "-c", FIRST_STEP_CHILD, "train", args.experiment]
        argv += [f"run.dir={run_dir}", "logger.wandb=false", *args.overrides]
        start = time.time()
        _, stdout = timed(argv, env)
        stamp = [line for line in stdout.splitlines() if line.startswith("FIRST_STEP ")]
        if not stamp:
            raise RuntimeError("the child never reached a training step")
        times.append(float(stamp[-1].split()[1]) - start)
    print(f"{'aqa train: first step':<28} {statistics.median(times):>8.2f}")


if __name__ == "__main__":
    main()
