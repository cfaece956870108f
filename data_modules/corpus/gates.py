"""Design gates of the known-answer recipe (known.py), measured on the ratings and truth (no audio, no model).

python -m data_modules.corpus.gates CORPUS_DIR      (or, from the plan only: gate_values(plan_known(...)))

The family ARI gate needs `acoustic` features (aqa): `benchmarks/feature_ari.py` measures it and
tests/aqa/features/test_known_family_ari.py checks it.
"""

import argparse
import sys

import numpy as np
import pandas as pd
from scipy import stats

from data_modules.corpus.known import NEUTRAL_SPLITS
from data_modules.stats import eta_squared

SPLITS = ("train", "val", "test", "val_mixed", "test_mixed", "val_ood", "test_ood")
ASPECTS = ("PQ", "PC", "CE", "CU")
# gate -> (lowest, highest) allowed value; what each measures is in gate_values
GATES = {
    "PQ offset eta2 (train MOS | source)": (0.25, 1.0),
    "PQ truth eta2 (train true | source)": (0.0, 0.05),
    "CE offset eta2 (train MOS | family)": (0.25, 1.0),
    "CE truth eta2 (train true | family)": (0.0, 0.05),
    "PC null eta2 (train MOS | source or family, max)": (0.0, 0.05),
    "CU trap eta2 (true | source, min over splits)": (0.25, 1.0),
    "neutral offset (max |mean MOS - mean oracle MOS| per source/family, neutral splits)": (0.0, 1e-9),
    **{f"{a} noise ceiling (train SRCC oracle MOS vs true within source)": (0.8, 1.0) for a in ASPECTS},
}
# not gates: what the within-source protocol sees of the planted offsets (CE's family offsets vary inside a
# source, so its rated MOS ranks clips less like the truth there than the oracle MOS does; PQ's do not)
WITHIN = {f"{a} within-source SRCC of train MOS vs true": a for a in ASPECTS}


def _mos(ratings) -> np.ndarray:
    return np.array([np.mean(r) for r in ratings], dtype=float)


def within_source_srcc(rows: pd.DataFrame, a: str, b: str) -> float:
    """Mean over sources of the SRCC of columns `a` and `b` inside each source (the within-source ceiling)."""
    values = [stats.spearmanr(g[a], g[b])[0] for _, g in rows.groupby("dataset") if len(g) > 2]
    return float(np.mean(values))


def gate_values(clips: pd.DataFrame) -> dict[str, float]:
    """Every gate of GATES from a known-answer clip table with columns split, dataset, family, `<A>` (MOS),
    `<A>_true` and `<A>_oracle_ratings` (known.plan_known, or load_known)."""
    train = clips[clips["split"] == "train"]
    null = max(eta_squared(train["PC"], train["dataset"]), eta_squared(train["PC"], train["family"]))
    trap = min(
        eta_squared(clips.loc[clips["split"] == s, "CU_true"], clips.loc[clips["split"] == s, "dataset"])
        for s in SPLITS
    )
    neutral = clips[clips["split"].isin(NEUTRAL_SPLITS)]
    gaps = [
        (neutral[a] - _mos(neutral[f"{a}_oracle_ratings"])).groupby(neutral[g]).mean().abs().max()
        for a in ASPECTS
        for g in ("dataset", "family")
    ]
    values = [
        eta_squared(train["PQ"], train["dataset"]),
        eta_squared(train["PQ_true"], train["dataset"]),
        eta_squared(train["CE"], train["family"]),
        eta_squared(train["CE_true"], train["family"]),
        null,
        trap,
        float(max(gaps)),
        *[within_source_srcc(train.assign(oracle=_mos(train[f"{a}_oracle_ratings"])), "oracle", f"{a}_true")
          for a in ASPECTS],
    ]  # fmt: skip
    return dict(zip(GATES, values))


def within_values(clips: pd.DataFrame) -> dict[str, float]:
    """WITHIN: per aspect the mean within-source SRCC of the train (rated) MOS with the truth."""
    train = clips[clips["split"] == "train"]
    return {name: within_source_srcc(train, a, f"{a}_true") for name, a in WITHIN.items()}


def failed_gates(values: dict[str, float]) -> list[str]:
    """The gates whose value is outside its bounds, as readable lines (empty: all pass)."""
    return [
        f"{name}: {values[name]:.3f} not in [{lo}, {hi}]"
        for name, (lo, hi) in GATES.items()
        if not lo <= values[name] <= hi
    ]


def load_known(corpus_dir) -> pd.DataFrame:
    """A known-answer corpus folder as a clip table for gate_values (manifest, oracle manifest, truth)."""
    from data_modules.corpus.report import load_corpus

    clips = load_corpus(corpus_dir)
    oracle = pd.read_json(f"{corpus_dir}/manifest_oracle.jsonl", lines=True, dtype={"id": str})
    for a in ASPECTS:
        clips[f"{a}_oracle_ratings"] = clips["id"].map(dict(zip(oracle["id"], oracle[a])))
    return clips


def format_gates(clips: pd.DataFrame) -> str:
    values = gate_values(clips)
    lines = [f"{'PASS' if lo <= values[n] <= hi else 'FAIL'}  {values[n]:.3f}  [{lo}, {hi}]  {n}"
             for n, (lo, hi) in GATES.items()]  # fmt: skip
    lines += [f"      {v:.3f}  {n}" for n, v in within_values(clips).items()]
    return "\n".join(["design gates of the known-answer recipe (value, bounds)", *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data_modules.corpus.gates", description=__doc__.split("\n")[0]
    )
    parser.add_argument("corpus_dir", help="a known-answer corpus folder (aqa generate --recipe known)")
    clips = load_known(parser.parse_args(argv).corpus_dir)
    print(format_gates(clips))
    return 1 if failed_gates(gate_values(clips)) else 0


if __name__ == "__main__":
    sys.exit(main())
