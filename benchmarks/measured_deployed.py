"""Measured = deployed, trial level (docs/measured_deployed.md): a screening trial with the dataset adversary
on every aspect vs, per aspect A, the deployed configuration (the adversary on A only, ERM elsewhere), on the
small generated manifest of tests/aqa/training/conftest.py. Prints, per aspect, the largest difference of
A's val predictions (kept checkpoint, MOS units) next to the same trial's seed 0 vs seed 1 difference.

    python benchmarks/measured_deployed.py /tmp/md                      # defaults (dropout on)
    python benchmarks/measured_deployed.py /tmp/md0 model.head_dropout=0 model.adversary.dropout=0
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

from aqa.config import load_config
from aqa.metrics.predictions import PREDICTIONS_DIR, read_predictions
from aqa.training.train import train

REPO = Path(__file__).resolve().parents[1]
ASPECTS = ["PQ", "PC", "CE", "CU"]


def small_manifest(root: Path) -> Path:
    spec = importlib.util.spec_from_file_location("c", REPO / "tests" / "aqa" / "training" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (root / "corpus").mkdir(parents=True, exist_ok=True)
    return module.write_small_manifest(root / "corpus")


def main(root: Path, extra: list[str]) -> dict:
    cache = root / "cache"
    base = [
        "model.encoder.name=tiny", f"model.encoder.cache_dir={cache}/encoders", f"data.cache_dir={cache}/audio",
        f"domain.embeddings.cache_dir={cache}/embeddings", f"data.corpus.dir={cache}/corpus",
        "data.num_workers=0", "logger.wandb=false", f"data.manifest={small_manifest(root)}",
        "data.batch_size=6", "data.eval_batch_size=4", "data.max_seconds=1.0", "trainer.accelerator=cpu",
        "trainer.max_epochs=3", "trainer.enable_progress_bar=false", "model.head_hidden=32",
        "model.adversary.hidden=32", "metrics.min_source_clips=3", "model.encoder.mode=cached",
        "model.adversary.warmup_fraction=0", *extra,
    ]  # fmt: skip

    def run(name: str, overrides: list[str]):
        metrics = train(load_config(None, [*base, *overrides, f"run.dir={root / name}"]))
        return read_predictions(root / name / PREDICTIONS_DIR)["val"].set_index("id").sort_index(), metrics

    everywhere, _ = run("all", ["domain.definer=dataset"])
    seed1, _ = run("all_seed1", ["domain.definer=dataset", "seed=1"])
    out = {}
    for a in ASPECTS:
        alone, _ = run(f"only_{a}", ["domain.definer=none", f"domain.definers.{a}={{name: dataset}}"])
        out[a] = {
            "vs_deployed": float(np.abs(everywhere[f"pred_{a}"] - alone[f"pred_{a}"]).max()),
            "seed0_vs_seed1": float(np.abs(everywhere[f"pred_{a}"] - seed1[f"pred_{a}"]).max()),
        }
    return out


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2:]), indent=1))
