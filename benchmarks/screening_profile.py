"""ERM under the screening profile against its own encoder's ridge probe (question 2 of every number).

    python benchmarks/screening_profile.py                    # projected and shared capacity, seeds 0-2
    python benchmarks/screening_profile.py --capacity projected --seeds 5

Per trial: the wall time, the kept epoch, and val within-source SRCC per aspect beside the `linear/encoder`
probe row of the same run (aqa/config/screening.py says why the profile is what it is; docs/screening.md
"Screening profile" has the measured table).
"""

import argparse
import logging
import os
import tempfile
import time
import warnings

from aqa.config.screening import SCREENING


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="experiments/quickstart.yaml")
    parser.add_argument("--capacity", default="projected,shared", help="model.aspect_capacity values")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    from aqa.config import load_config
    from aqa.training.train import train

    root = tempfile.mkdtemp(prefix="screening-profile-")
    profile = [o for o in SCREENING if not o.startswith("model.aspect_capacity=")]
    for capacity in args.capacity.split(","):
        for seed in range(args.seeds):
            overrides = [
                *profile,
                f"model.aspect_capacity={capacity}",
                "domain.definer=none",
                f"seed={seed}",
                f"run.dir={root}/{capacity}{seed}",
                "logger.wandb=false",
                "trainer.enable_progress_bar=false",
            ]
            started = time.perf_counter()
            cfg = load_config(args.experiment, overrides)
            aspects = list(cfg.data.aspects)
            m = train(cfg)
            model = " / ".join(f"{m[f'val/{a}/within_srcc']:.3f}" for a in aspects)
            probe = " / ".join(f"{m[f'linear/encoder/val/{a}/within_srcc']:.3f}" for a in aspects)
            print(
                f"{capacity} seed {seed}: {time.perf_counter() - started:.1f} s, kept epoch "
                f"{m.get('best/epoch', '?')}; val within {' / '.join(aspects)}: ERM {model}; probe {probe}",
                flush=True,
            )


if __name__ == "__main__":
    main()
