"""The reference rows of an experiment without training a model: train mean, source lookup and ridge probes
on the cached `encoder` and `acoustic` features, scored by the run's own code on every evaluated split.

    python benchmarks/linear_probes.py [experiments/quickstart.yaml] [key=value ...]

Prints, per reference row and aspect: val within-source SRCC, val utterance MSE and test_ood utterance
SRCC (the splits a run evaluates; a missing split prints `-`), and the seconds it took (features cached
by the first call, as the definers' are).
"""

import math
import sys
import time

from aqa.config import load_config
from aqa.metrics.references import REFERENCES
from aqa.metrics.shortcut import shortcut_metrics
from aqa.model.encoder import encoder_sample_rate
from aqa.training.references import reference_metrics
from data_modules.datamodule import AQADataModule
from data_modules.manifest import load_table

SHOWN = (("val", "within_srcc"), ("val", "utt_mse"), ("test_ood", "utt_srcc"))


def main(argv: list[str]) -> None:
    experiment = argv[0] if argv else "experiments/quickstart.yaml"
    cfg = load_config(experiment, argv[1:])
    aspects = list(cfg.data.aspects)
    sample_rate = encoder_sample_rate(cfg.model.encoder)
    datamodule = AQADataModule(cfg.data, load_table(cfg.data), sample_rate, aspects)
    datamodule.setup()  # the usable rows, as a run fits on them
    table = datamodule.table
    splits = [cfg.data.val_split, *cfg.data.eval_splits]
    stages = {}
    for split in splits:
        clips = table[table["split"] == split]
        if len(clips):
            targets = {f"target_{a}": clips[a].astype(float) for a in aspects}
            stages[split] = clips[["id", "system", "dataset"]].assign(**targets)
    started = time.time()
    metrics = shortcut_metrics(table, aspects, stages, cfg.data.train_split, cfg.metrics.min_source_clips)
    metrics |= reference_metrics(cfg, table, sample_rate, stages)
    seconds = time.time() - started
    train = int((table["split"] == cfg.data.train_split).sum())
    print(f"{experiment}: {train} train clips, splits {list(stages)}; references in {seconds:.1f} s")
    print("| predictor | metric | " + " | ".join(aspects) + " |")
    print("| --- | --- |" + " --- |" * len(aspects))
    for prefix, label in REFERENCES.items():
        for stage, metric in SHOWN:
            values = [metrics.get(f"{prefix}/{stage}/{a}/{metric}", math.nan) for a in aspects]
            cells = ["-" if math.isnan(v) else f"{v:.2f}" for v in values]
            print(f"| {label} | {stage} {metric} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
