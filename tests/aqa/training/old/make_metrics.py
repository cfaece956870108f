"""Pins the metrics of short waveform runs of the pre-refactor code (main e442412), which
test_old_metrics.py reproduces with the current code. Run it against the OLD code only:

    PYTHONPATH=<checkout of e442412> python tests/aqa/training/old/make_metrics.py

The runs use the small generated manifest of tests/aqa/training/conftest.py and RUNS' overrides.
"""

import importlib.util
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
RUNS = {  # name -> overrides beyond the small-manifest training overrides
    "dataset_adversarial": ["domain.definer=dataset"],
    "dataset_bias_variance_projected": [
        "domain.definer=dataset",
        "model.domain_handling=bias",
        "model.head_variance=true",
        "model.aspect_capacity=projected",
        "model.projection_dim=16",
        "model.aspects.PC.domain_handling=adversarial",
        "model.aspects.PC.lambda_max=0.3",
    ],
}
VOLATILE = ("run/seconds", "run/best_checkpoint")  # wall time and paths differ between runs


def load_conftest():
    spec = importlib.util.spec_from_file_location("small_corpus", HERE.parent / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_overrides(root: Path) -> list[str]:
    """The training overrides of tests/aqa/training/conftest.py (fixture `train_overrides`), under `root`."""
    corpus = load_conftest()
    (root / "corpus").mkdir(parents=True, exist_ok=True)
    manifest = corpus.write_small_manifest(root / "corpus")
    return [
        "model.encoder.name=tiny",
        f"model.encoder.cache_dir={root}/encoders",
        f"data.cache_dir={root}/audio",
        f"domain.embeddings.cache_dir={root}/embeddings",
        f"data.corpus.dir={root}/gen",
        "data.num_workers=0",
        "logger.wandb=false",
        f"data.manifest={manifest}",
        "data.batch_size=6",
        "data.eval_batch_size=4",
        "data.max_seconds=1.0",
        "trainer.accelerator=cpu",
        "trainer.max_epochs=2",
        "trainer.log_every_n_steps=1",
        "trainer.enable_progress_bar=false",
        "model.head_hidden=32",
        "model.adversary.hidden=32",
        "metrics.min_source_clips=3",
        "seed=0",
    ]


def main() -> int:
    if importlib.util.find_spec("aqa.model.aspect_model") is not None:
        print("refusing: this is the new code; run with PYTHONPATH=<checkout of main e442412>")
        return 1
    from aqa.config import load_config
    from aqa.training.train import train

    root = Path(tempfile.mkdtemp())
    pinned = {}
    for name, extra in RUNS.items():
        cfg = load_config(None, [*run_overrides(root), *extra, f"run.dir={root}/runs/{name}"])
        metrics = train(cfg)
        pinned[name] = {k: v for k, v in metrics.items() if k not in VOLATILE}
    (HERE / "metrics.json").write_text(json.dumps(pinned, indent=1, sort_keys=True))
    print("wrote", HERE / "metrics.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
