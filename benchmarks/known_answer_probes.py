"""What the known-answer corpus leaves to find, for a linear learner on frozen features, before any method.

    python benchmarks/known_answer_probes.py [--corpus-seeds 5] [--features acoustic,encoder] [--n-boot 1000]

Per corpus seed of `experiments/known_answer.yaml` and per feature set (the same caches as the probe rows
of a run), four ridge regressions per aspect (standardised features, RidgeCV penalty on train alone):

- `erm`: fitted on the rated train MOS (the planted offsets included);
- `dataset bias` / `cluster bias`: the same plus one indicator per train source / per k-means cluster
  (k = 3 on the `acoustic` features, as the benchmark's k-means candidate), scaled so that the penalty
  barely shrinks them; on the neutral splits each indicator is set to its train share (the neutral,
  average listening test), which is how the `bias` handling predicts there;
- `oracle`: fitted on the offset-free neutral ratings of the same clips (`manifest_oracle.jsonl`).

Scored by utterance SRCC on the neutral splits (val_mixed, test_mixed, val_ood, test_ood). The gain of the
aspect's right-class correction over `erm` on val_mixed (the split the default protocol chooses on) gets a
paired clip bootstrap (the same resample for both) and its minimum detectable effect at 80% power and a
two-sided 5% level, 2.8 x the bootstrap SD: the least a rule could see on 50 clips even with no seed noise.
Question 2 of every number, asked of the benchmark itself: is there an effect that a learner on these
features can show on the neutral splits, and could the split detect it? No domain method is trained here.
"""

import argparse
import time

import numpy as np
import pandas as pd

from aqa.config import load_config
from aqa.features import FeatureSettings, compute_features
from aqa.metrics.references import ALPHAS
from aqa.metrics.scores import spearman
from aqa.model.encoder import encoder_sample_rate

EXPERIMENT = "experiments/known_answer.yaml"
ASPECTS = ("PQ", "PC", "CE", "CU")
RIGHT = {"PQ": "dataset bias", "CE": "cluster bias"}  # answers.json's planted classes, as a linear learner
NEUTRAL = ("val_mixed", "test_mixed", "val_ood", "test_ood")
LEARNERS = ("erm", "dataset bias", "cluster bias", "oracle")
INDICATOR_SCALE = 10.0  # the ridge penalty on an indicator's coefficient is divided by its square
Z80 = 1.96 + 0.84  # two-sided 5% level, 80% power


def fit_predict(x: np.ndarray, y: np.ndarray, train: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """x (N, H), y (N,), train (N,) bool, groups (N,) int or None -> (N,) predictions of a standardised
    ridge fitted on the rated train rows; with groups, one indicator per train group is added and every
    row is predicted with the indicators at their train shares (the neutral test)."""
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import StandardScaler

    xs = StandardScaler().fit(x[train]).transform(x)
    if groups is not None:
        levels = np.unique(groups[train])
        onehot = (groups[:, None] == levels[None, :]).astype(np.float64) * INDICATOR_SCALE
        shares = onehot[train].mean(0)
        fit_x = np.hstack([xs, onehot])
        predict_x = np.hstack([xs, np.broadcast_to(shares, onehot.shape)])
    else:
        fit_x = predict_x = xs
    rated = train & ~np.isnan(y)
    return RidgeCV(alphas=ALPHAS).fit(fit_x[rated], y[rated]).predict(predict_x)


def paired_gain_sd(
    pred: np.ndarray, base: np.ndarray, target: np.ndarray, n_boot: int, seed: int = 0
) -> float:
    """SD over clip resamples of spearman(pred) - spearman(base), the same resample for both."""
    rng = np.random.default_rng(seed)
    n = len(target)
    gains = []
    for _ in range(n_boot):
        i = rng.integers(0, n, n)
        gains.append(spearman(pred[i], target[i]) - spearman(base[i], target[i]))
    return float(np.nanstd(gains, ddof=1))


def corpus_rows(corpus: int, oracle: bool, encoder: str, extra: list[str]):
    """-> (cfg, usable rows of the corpus as a run fits on them, sample rate); extra: key=value overrides."""
    from data_modules.datamodule import AQADataModule
    from data_modules.manifest import load_table

    overrides = [
        f"model.encoder.name={encoder}",
        "model.encoder.mode=cached",
        f"data.corpus.seed={corpus}",
        f"data.corpus.oracle={str(oracle).lower()}",
        "logger.wandb=false",
        *extra,
    ]
    cfg = load_config(EXPERIMENT, overrides)
    sample_rate = encoder_sample_rate(cfg.model.encoder)
    data = AQADataModule(cfg.data, load_table(cfg.data), sample_rate, list(cfg.data.aspects))
    data.setup()
    return cfg, data.table.reset_index(drop=True), sample_rate


def clusters(acoustic: np.ndarray, train: np.ndarray, seed: int) -> np.ndarray:
    """k-means (k = 3) on the standardised acoustic features of the train rows -> (N,) cluster of every row."""
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(acoustic[train])
    km = KMeans(n_clusters=3, n_init=10, random_state=seed).fit(scaler.transform(acoustic[train]))
    return km.predict(scaler.transform(acoustic))


def measure(corpus: int, features: list[str], encoder: str, n_boot: int, extra: list[str]) -> list[dict]:
    cfg, table, sample_rate = corpus_rows(corpus, False, encoder, extra)
    _, oracle, _ = corpus_rows(corpus, True, encoder, extra)
    if not (table["id"].to_numpy() == oracle["id"].to_numpy()).all():
        raise SystemExit(f"corpus {corpus}: the rated and oracle rows differ")
    settings = FeatureSettings.from_config(cfg)
    train = (table["split"] == cfg.data.train_split).to_numpy()
    groups = {
        "dataset bias": pd.factorize(table["dataset"])[0],
        "cluster bias": clusters(compute_features(settings, table, sample_rate, "acoustic"), train, corpus),
    }
    out = []
    for spec in features:
        x = compute_features(settings, table, sample_rate, spec).astype(np.float64)
        for a in ASPECTS:
            rated, neutral = table[a].to_numpy(np.float64), oracle[a].to_numpy(np.float64)
            preds = {
                "erm": fit_predict(x, rated, train, None),
                "dataset bias": fit_predict(x, rated, train, groups["dataset bias"]),
                "cluster bias": fit_predict(x, rated, train, groups["cluster bias"]),
                "oracle": fit_predict(x, neutral, train, None),
            }
            for split in NEUTRAL:
                rows = (table["split"] == split).to_numpy() & ~np.isnan(neutral)
                row = {"corpus": corpus, "features": spec, "aspect": a, "split": split, "n": int(rows.sum())}
                row |= {m: spearman(p[rows], neutral[rows]) for m, p in preds.items()}
                if a in RIGHT and split == "val_mixed":
                    sd = paired_gain_sd(preds[RIGHT[a]][rows], preds["erm"][rows], neutral[rows], n_boot)
                    row["mde"] = Z80 * sd
                out.append(row)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus-seeds", type=int, default=5)
    parser.add_argument("--features", default="acoustic,encoder", help="feature specs of aqa.features")
    parser.add_argument(
        "--encoder", default="tiny-pretrained", help="model.encoder.name (the `encoder` cache)"
    )
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("overrides", nargs="*", help="key=value overrides, e.g. data.corpus.size=2000")
    args = parser.parse_args(argv)
    started = time.time()
    rows = []
    for corpus in range(args.corpus_seeds):
        rows += measure(corpus, args.features.split(","), args.encoder, args.n_boot, args.overrides)
    frame = pd.DataFrame(rows)
    sizes = frame[frame["aspect"] == "PQ"].groupby("split")["n"].median().astype(int).to_dict()
    print(
        f"{args.corpus_seeds} corpus seeds, encoder {args.encoder}, overrides {args.overrides}, clips {sizes}; "
        f"{time.time() - started:.0f} s"
    )
    print("\nMean utterance SRCC with the neutral ratings over corpus seeds:")
    means = frame.groupby(["features", "aspect", "split"], sort=False)[list(LEARNERS)].mean()
    print(means.to_string(float_format=lambda v: f"{v:+.3f}"))
    print(
        "\nPlanted aspects, val_mixed: the right-class correction's gain over erm per corpus seed, its mean,"
    )
    print("the oracle's gain, and the minimum detectable effect of one paired comparison on these clips:")
    mixed = frame[(frame["split"] == "val_mixed") & frame["aspect"].isin(list(RIGHT))]
    for (spec, a), g in mixed.groupby(["features", "aspect"], sort=False):
        gains = (g[RIGHT[a]] - g["erm"]).to_numpy()
        mde = float(np.nanmedian(g["mde"]))
        print(
            f"{spec:>9} {a} {RIGHT[a]:>12}: gains {' '.join(f'{v:+.3f}' for v in gains)}; "
            f"mean {gains.mean():+.3f}; oracle - erm {(g['oracle'] - g['erm']).mean():+.3f}; "
            f"MDE {mde:.3f} (median): {'detectable' if gains.mean() >= mde else 'NOT detectable'}"
        )
    if not np.isfinite(frame[list(LEARNERS)].to_numpy(float)).all():
        print("note: some scores are NaN (a split without rated clips)")


if __name__ == "__main__":
    main()
