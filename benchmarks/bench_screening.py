"""Screening on the embedded corpus (experiments/quickstart.yaml under the screening profile): the wall time
of one screening trial (training + evaluation + run folder; the layer cache already built), and of
STRATEGIES x SEEDS trials including the layer-cache extraction (a fresh cache folder). The trials run as
`aqa sweep --jobs N` runs them: through aqa's in-process trial runner (`train_trial`, one torch thread
each), N at once in spawned worker processes; the first one alone (it builds the layer cache).

    python benchmarks/bench_screening.py                 # 8 strategies x 20 seeds, 2 at once
    python benchmarks/bench_screening.py --seeds 2       # a quicker look
    python benchmarks/bench_screening.py --jobs 1        # one at a time
    python benchmarks/bench_screening.py --seeds 2 --profile 30   # + cProfile of one more trial (top 30)

Targets (issue 18): one trial <= 2 s, 8 x 20 <= 5 min, on 2 CPU cores.
"""

import argparse
import json
import logging
import math
import os
import tempfile
import time
import warnings
from pathlib import Path

from aqa.config.screening import SCREENING

STRATEGIES = [  # (definer, handling) per strategy: 8 candidates
    ("none", "none"),
    ("random", "adversarial"),
    ("dataset", "adversarial"),
    ("dataset", "conditioned"),
    ("dataset", "bias"),
    ("dataset", "adversarial_conditional"),
    ("kmeans", "adversarial"),
    ("kmeans", "bias"),
]


def overrides(root: str, definer: str, handling: str, seed: int, run: str) -> list[str]:
    return [
        *SCREENING,
        f"domain.definer={definer}",
        *(["domain.definer.k=4"] if definer == "random" else []),
        f"model.domain_handling={handling}",
        f"seed={seed}",
        f"domain.embeddings.cache_dir={root}/embeddings",
        f"run.dir={root}/runs/{run}",
        "trainer.enable_progress_bar=false",
        "logger.csv=false",
        "logger.wandb=false",
    ]


def trial_seconds(root: str, run: str) -> float:
    """A finished trial's own wall time (`run/seconds` of its metrics.json); NaN when it failed."""
    path = Path(root) / "runs" / run / "metrics.json"
    return json.loads(path.read_text())["run/seconds"] if path.exists() else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--experiment", default="experiments/quickstart.yaml")
    parser.add_argument("--jobs", type=int, default=2, help="trials at once (aqa sweep --jobs)")
    parser.add_argument("--profile", type=int, default=0, help="then profile one trial: print the top N")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    from aqa.sweep.inprocess import make_pool, train_trial

    root = tempfile.mkdtemp(prefix="bench-screening-")
    trials = [
        (overrides(root, definer, handling, seed, f"{s}-{seed}"), f"{s}-{seed}")
        for s, (definer, handling) in enumerate(STRATEGIES)
        for seed in range(args.seeds)
    ]

    def call(trial) -> tuple:
        values, run = trial
        return args.experiment, values, f"{root}/runs/{run}", f"{root}/{run}.log"

    started = time.perf_counter()
    codes = [train_trial(*call(trials[0]))]  # alone: it builds the layer cache
    first = time.perf_counter() - started
    print(f"first trial (builds the layer cache): {first:.1f} s")
    if args.jobs == 1:
        codes += [train_trial(*call(t)) for t in trials[1:]]
    else:
        pool = make_pool(args.jobs)
        codes += list(pool.map(train_trial, *zip(*map(call, trials[1:]), strict=True)))
        pool.shutdown()
    total = time.perf_counter() - started
    failed = [run for (_, run), code in zip(trials, codes, strict=True) if code != 0]
    if failed:
        raise SystemExit(f"{len(failed)} trials failed, e.g. {root}/{failed[0]}.log")
    later = sorted(trial_seconds(root, run) for _, run in trials[1:]) or [first]
    print(
        f"one screening trial (cache hit, incl. evaluation; one torch thread, {args.jobs} at once on "
        f"{os.cpu_count()} cores): median {later[len(later) // 2]:.2f} s, min {later[0]:.2f} s, "
        f"max {later[-1]:.2f} s  (target <= 2 s)"
    )
    print(
        f"{len(STRATEGIES)} strategies x {args.seeds} seeds incl. feature extraction, --jobs {args.jobs}: "
        f"{total:.0f} s ({total / 60:.1f} min; target <= 5 min for 8 x 20)"
    )
    if args.profile:
        import cProfile
        import pstats

        definer, handling = STRATEGIES[2]
        from aqa.config import load_config
        from aqa.training.train import train

        cfg = load_config(args.experiment, overrides(root, definer, handling, args.seeds, "profiled"))
        profile = cProfile.Profile()
        profile.runcall(train, cfg)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
