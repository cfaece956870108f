"""Screening on the embedded corpus (experiments/quickstart.yaml, model.encoder.mode=cached): the wall time
of one screening trial (training + evaluation + run folder; the layer cache already built), and of
STRATEGIES x SEEDS trials in one process including the layer-cache extraction (a fresh cache folder).

    python benchmarks/bench_screening.py                 # 8 strategies x 20 seeds
    python benchmarks/bench_screening.py --seeds 2       # a quicker look
    python benchmarks/bench_screening.py --seeds 2 --profile 30   # + cProfile of one more trial (top 30)

Targets (issue 18): one trial <= 2 s, 8 x 20 <= 5 min, on 2 CPU cores.
"""

import argparse
import logging
import os
import tempfile
import time
import warnings

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
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--experiment", default="experiments/quickstart.yaml")
    parser.add_argument("--profile", type=int, default=0, help="then profile one trial: print the top N")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    from aqa.config import load_config
    from aqa.training.train import train

    root = tempfile.mkdtemp(prefix="bench-screening-")
    started = time.perf_counter()
    times, cpu = [], []
    for s, (definer, handling) in enumerate(STRATEGIES):
        for seed in range(args.seeds):
            cfg = load_config(args.experiment, overrides(root, definer, handling, seed, f"{s}-{seed}"))
            t0, c0 = time.perf_counter(), time.process_time()
            metrics = train(cfg)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            if len(times) == 1:
                print(f"first trial (builds the layer cache): {times[0]:.1f} s")
    total = time.perf_counter() - started
    later = sorted(times[1:]) or times
    print(
        f"one screening trial (cache hit, incl. evaluation): median {later[len(later) // 2]:.2f} s, "
        f"min {later[0]:.2f} s, max {later[-1]:.2f} s  (target <= 2 s)"
    )
    later_cpu = sorted(cpu[1:]) or cpu
    print(
        f"one screening trial, CPU time of this process (about its wall time on an idle machine): median "
        f"{later_cpu[len(later_cpu) // 2]:.2f} s, min {later_cpu[0]:.2f} s; load average {os.getloadavg()}"
    )
    print(
        f"{len(STRATEGIES)} strategies x {args.seeds} seeds incl. feature extraction: {total:.0f} s "
        f"({total / 60:.1f} min; target <= 5 min for 8 x 20)"
    )
    print(f"last trial val/mean/within_srcc = {metrics.get('val/mean/within_srcc')}")
    if args.profile:
        import cProfile
        import pstats

        definer, handling = STRATEGIES[2]
        cfg = load_config(args.experiment, overrides(root, definer, handling, args.seeds, "profiled"))
        profile = cProfile.Profile()
        profile.runcall(train, cfg)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
