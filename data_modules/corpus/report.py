"""Measured shortcut strength of a generated corpus: eta squared of each aspect's MOS by a grouping.

python -m data_modules.corpus.report CORPUS_DIR      (or: aqa generate --report)
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from data_modules.corpus import recipe
from data_modules.stats import eta_squared

MANIFEST = "manifest.jsonl"
TRUTH = "truth.csv"


def load_corpus(corpus_dir) -> pd.DataFrame:
    """Manifest rows (MOS = mean rating) joined with the hidden truth (family, factors, true scores)."""
    corpus_dir = Path(corpus_dir)
    with open(corpus_dir / MANIFEST, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    table = pd.DataFrame(rows)
    for aspect in recipe.ASPECTS:
        table[aspect] = table[aspect].map(np.mean)
    truth = pd.read_csv(corpus_dir / TRUTH, dtype={"id": str})
    table = table.drop(columns=[c for c in truth.columns if c != "id" and c in table.columns])  # <A>_true
    return table.merge(truth, on="id", validate="one_to_one")


def shortcut_table(clips: pd.DataFrame) -> pd.DataFrame:
    """eta^2 per aspect (rows) of: train MOS by dataset, by hidden family and by system; each OOD split's
    MOS by family; and the R^2 of the MOS explained by the true score (the genuine signal), on train."""
    train = clips[clips["split"] == "train"]
    rows = {}
    for aspect in recipe.ASPECTS:
        mos, truth = train[aspect].to_numpy(float), train[f"{aspect}_true"].to_numpy(float)
        rows[aspect] = {
            "train|dataset": eta_squared(mos, train["dataset"]),
            "train|family": eta_squared(mos, train["family"]),
            "train|system": eta_squared(mos, train["system"]),
        }
        for split in recipe.OOD_SPLITS:
            ood = clips[clips["split"] == split]
            rows[aspect][f"{split}|family"] = eta_squared(ood[aspect], ood["family"]) if len(ood) else np.nan
        rows[aspect]["train R2 true"] = (
            float(np.corrcoef(mos, truth)[0, 1] ** 2) if len(train) > 1 else np.nan
        )
    return pd.DataFrame(rows).T


LOOKUP_SPLITS = ("val", "test", *recipe.OOD_SPLITS)


def lookup_srcc(clips: pd.DataFrame, grouping: str, split: str, aspect: str) -> float:
    """Utterance SRCC on `split` of the predictor that outputs each `grouping` value's mean train MOS (a
    value unseen in train: the global train mean). Constant predictions rank nothing: 0."""
    train, rows = clips[clips["split"] == "train"], clips[clips["split"] == split]
    means = train.groupby(grouping)[aspect].mean()
    pred = rows[grouping].map(means).fillna(train[aspect].mean()).to_numpy(float)
    if len(rows) < 2 or np.ptp(pred) == 0 or np.ptp(rows[aspect]) == 0:
        return 0.0
    return float(stats.spearmanr(pred, rows[aspect])[0])


def lookup_table(clips: pd.DataFrame) -> pd.DataFrame:
    """Utterance SRCC per aspect (rows) of a source-lookup and a hidden-family-lookup predictor (train
    means) on each evaluated split: what the two planted shortcuts earn there without any audio."""
    rows = {
        aspect: {
            f"{split}|{name}": lookup_srcc(clips, column, split, aspect)
            for split in LOOKUP_SPLITS
            for name, column in (("source", "dataset"), ("family", "family"))
        }
        for aspect in recipe.ASPECTS
    }
    return pd.DataFrame(rows).T


def format_report(clips: pd.DataFrame) -> str:
    splits = ["train", "val", "test", *recipe.OOD_SPLITS]
    splits += sorted(set(clips["split"]) - set(splits))  # the known recipe's val_mixed, test_mixed
    counts = clips["split"].value_counts().reindex(splits).fillna(0).astype(int)
    systems = clips.groupby("split")["system"].nunique().reindex(counts.index).fillna(0).astype(int)
    lines = [
        "clips per split:   " + "  ".join(f"{s}={c}" for s, c in counts.items()),
        "systems per split: " + "  ".join(f"{s}={c}" for s, c in systems.items()),
        "",
        "eta^2 of MOS explained by a grouping (R2 true: squared correlation of MOS with the true score)",
        shortcut_table(clips).to_string(float_format=lambda v: f"{v:.3f}"),
        "",
        "utterance SRCC of a lookup of each source's / hidden family's mean train MOS (no audio; constant = 0)",
        lookup_table(clips).to_string(float_format=lambda v: f"{v:+.3f}"),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data_modules.corpus.report", description=__doc__.split("\n")[0]
    )
    parser.add_argument("corpus_dir", help="folder holding manifest.jsonl and truth.csv")
    parser.add_argument("--probe", action="store_true", help="also: how findable the fingerprints are")
    args = parser.parse_args(argv)
    clips = load_corpus(args.corpus_dir)
    print(format_report(clips))
    if args.probe:
        from data_modules.corpus.probe import format_probe

        print("\n" + format_probe(clips, args.corpus_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
