"""Start-up cost a user waits for: `aqa <command> --help` per subcommand, and the time from launching
`aqa train EXPERIMENT.yaml` to its first training step (imports, corpus and table loading, domain labels,
model and Trainer construction, first batch).

    python benchmarks/bench_startup.py                          # both, experiments/quickstart.yaml
    python benchmarks/bench_startup.py --skip-first-step        # only the --help timings

Every timing is one fresh subprocess (`python -m aqa.cli ...`): wall clock and the child's CPU seconds
(user + system; on a shared machine the fairer number), the median of `--repeat` runs.
The first-step child replaces `AQAModule.training_step` with one that prints the clock and exits, so
nothing after the first step is counted.
"""

import argparse
import os
import resource
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, its stdout)."""
    start, cpu = time.time(), _children_cpu()
    out = subprocess.run(argv, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return time.time() - start, _children_cpu() - cpu, out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--experiment", default="experiments/quickstart.yaml")
    parser.add_argument("--repeat", type=int, default=1, help="runs per timing (median reported)")
    parser.add_argument("--skip-first-step", action="store_true")
    parser.add_argument("overrides", nargs="*", help="extra key=value overrides for the first-step run")
    args = parser.parse_args()
    env = os.environ | {"WANDB_MODE": "disabled"}

    print(f"{'command':<28} {'wall s':>8} {'CPU s':>8}")
    for name in ["", *COMMANDS]:
        argv = [sys.executable, "-m", "aqa.cli", *([name] if name else []), "--help"]
        runs = [timed(argv, env) for _ in range(args.repeat)]
        wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        print(f"{('aqa ' + name).strip() + ' --help':<28} {wall:>8.2f} {cpu:>8.2f}", flush=True)

    if args.skip_first_step:
        return
    times, cpus = [], []
    for k in range(args.repeat):
        run_dir = f"/tmp/aqa-bench-startup-{os.getpid()}-{k}"
        argv = [sys.executable, "-c", FIRST_STEP_CHILD, "train", args.experiment]
        argv += [f"run.dir={run_dir}", "logger.wandb=false", *args.overrides]
        start = time.time()
        _, cpu, stdout = timed(argv, env)
        cpus.append(cpu)
        stamp = [line for line in stdout.splitlines() if line.startswith("FIRST_STEP ")]
        if not stamp:
            raise RuntimeError("the child never reached a training step")
        times.append(float(stamp[-1].split()[1]) - start)
    print(f"{'aqa train: first step':<28} {statistics.median(times):>8.2f} {statistics.median(cpus):>8.2f}")


if __name__ == "__main__":
    main()
