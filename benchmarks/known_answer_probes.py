"""What the known-answer corpus leaves to find, for a linear learner on frozen features, before any method.

    python benchmarks/known_answer_probes.py [--corpus-seeds 5] [--features acoustic,encoder] [--n-boot 1000]

Per corpus seed of `experiments/known_answer.yaml` and per feature set (the same caches as the probe rows
of a run), four ridge regressions per aspect (standardised features, RidgeCV penalty on train alone):

- `erm`: fitted on the rated train MOS (the planted offsets included);
- `dataset bias` / `cluster bias`: the same with an unpenalised offset per train source / per k-means
  cluster (k = 3 on the standardised `acoustic` features of the train rows; a linear stand-in for the
  benchmark's candidates, not the candidates themselves), fitted by removing each group's train means
  from features and targets; every row is predicted without an offset (a constant on a neutral split,
  which changes no rank);
- `oracle`: fitted on the offset-free neutral ratings of the same clips (`manifest_oracle.jsonl`).

Scored by utterance SRCC against the neutral ratings on the neutral splits. On val_mixed (the split the
default protocol chooses on) the gains of the right-class correction and of the oracle over `erm` get a
paired clip bootstrap (the same resample for both learners) and a minimum detectable effect at 80% power
and a one-sided 5% level (as `aqa select`'s lower bounds, before its multiplicity correction): the
clip-sampling part of the error, which more training seeds cannot shrink. Questions 2 and 3 of every
number (README), asked of the benchmark itself: does a learner on these features show the planted effect
on the neutral splits, and could the split detect it? No domain method is trained here.
"""

import argparse
import time

import numpy as np
import pandas as pd
from scipy.stats import norm

from aqa.config import load_config
from aqa.features import FeatureSettings, compute_features
from aqa.features.registry import extractor_for
from aqa.metrics.references import ALPHAS, fit_ridge
from aqa.metrics.scores import spearman
from aqa.model.encoder import encoder_sample_rate
from aqa.sweep.stats import ALPHA, POWER
from data_modules.corpus.known import ANSWERS, NEUTRAL_SPLITS

EXPERIMENT = "experiments/known_answer.yaml"
CORRECTION = {"dataset": "dataset bias", "clusters": "cluster bias"}  # answer class -> its linear stand-in
RIGHT = {a: CORRECTION[c] for a, c in ANSWERS.items() if c in CORRECTION}  # the planted aspects
LEARNERS = ("erm", "dataset bias", "cluster bias", "oracle")
Z80 = float(norm.ppf(1 - ALPHA) + norm.ppf(POWER))  # aqa select's one-sided level and power, one comparison


def group_centred(values: np.ndarray, groups: np.ndarray, train: np.ndarray) -> np.ndarray:
    """(N, ...) -> the train rows minus their group's train mean (NaN left out); other rows unchanged."""
    out = values.copy()
    for g in np.unique(groups[train]):
        rows = train & (groups == g)
        out[rows] = values[rows] - np.nanmean(values[rows], axis=0)
    return out


def fit_predict(x: np.ndarray, y: np.ndarray, train: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """x (N, H), y (N,), train (N,) bool, groups (N,) int or None -> (N,) predictions of a standardised
    ridge fitted on the rated train rows: without groups, the probe rows' own ridge (`fit_ridge`). With
    groups, each train group gets an unpenalised offset (ridge on group-centred features and targets, the
    same fit as ridge plus unpenalised group indicators) and every row is predicted without one."""
    if groups is None:
        return fit_ridge(x[train], y[train]).predict(x)
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import StandardScaler

    xs = StandardScaler().fit(x[train]).transform(x)
    fit_x, fit_y = group_centred(xs, groups, train), group_centred(y, groups, train)
    fit_rows = train & ~np.isnan(y)
    return RidgeCV(alphas=ALPHAS).fit(fit_x[fit_rows], fit_y[fit_rows]).predict(xs)


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
    """One corpus seed -> a row per (features, aspect, neutral split): each learner's utterance SRCC, the
    clips scored and, on val_mixed of a planted aspect, the MDEs of the right-class and oracle gains."""
    cfg, table, sample_rate = corpus_rows(corpus, False, encoder, extra)
    _, oracle, _ = corpus_rows(corpus, True, encoder, extra)
    if not table["id"].equals(oracle["id"]):
        raise SystemExit(f"corpus {corpus}: the rated and the oracle manifests hold different rows")
    neutral = table["split"].isin(NEUTRAL_SPLITS).to_numpy()
    for a in ANSWERS:  # the recipe rates the neutral splits identically in both manifests
        if not np.array_equal(table[a].to_numpy(float)[neutral], oracle[a].to_numpy(float)[neutral]):
            raise SystemExit(f"corpus {corpus}: {a} differs between the manifests on a neutral split")
    settings = FeatureSettings.from_config(cfg)
    train = (table["split"] == cfg.data.train_split).to_numpy()
    groups = {
        "dataset bias": pd.factorize(table["dataset"])[0],
        "cluster bias": clusters(compute_features(settings, table, sample_rate, "acoustic"), train, corpus),
    }
    out = []
    for spec in features:
        x = compute_features(settings, table, sample_rate, spec).astype(np.float64)
        for a in ANSWERS:
            rated, truth = table[a].to_numpy(np.float64), oracle[a].to_numpy(np.float64)
            preds = {
                "erm": fit_predict(x, rated, train, None),
                "dataset bias": fit_predict(x, rated, train, groups["dataset bias"]),
                "cluster bias": fit_predict(x, rated, train, groups["cluster bias"]),
                "oracle": fit_predict(x, truth, train, None),
            }
            for split in NEUTRAL_SPLITS:
                rows = (table["split"] == split).to_numpy() & ~np.isnan(truth)
                row = {"corpus": corpus, "features": spec, "aspect": a, "split": split, "n": int(rows.sum())}
                row |= {m: spearman(p[rows], truth[rows]) for m, p in preds.items()}
                if a in RIGHT and split == "val_mixed":
                    for key, learner in (("mde", RIGHT[a]), ("oracle_mde", "oracle")):
                        sd = paired_gain_sd(preds[learner][rows], preds["erm"][rows], truth[rows], n_boot)
                        row[key] = Z80 * sd
                out.append(row)
    return out


def verdict(gain: float, mde: float) -> str:
    return f"{gain:+.3f} vs MDE {mde:.3f} ({'detectable' if gain >= mde else 'NOT detectable'})"


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
    if args.corpus_seeds < 1 or args.n_boot < 2:
        parser.error("--corpus-seeds must be at least 1 and --n-boot at least 2")
    try:
        for spec in args.features.split(","):
            extractor_for(spec)
    except ValueError as error:
        parser.error(str(error))
    started = time.time()
    rows = []
    for corpus in range(args.corpus_seeds):
        rows += measure(corpus, args.features.split(","), args.encoder, args.n_boot, args.overrides)
    frame = pd.DataFrame(rows)
    sizes = frame[frame["aspect"] == "PQ"].groupby("split")["n"].median().astype(int).to_dict()
    print(
        f"{args.corpus_seeds} corpus seeds, encoder {args.encoder}, overrides {args.overrides}, "
        f"clips {sizes}; {time.time() - started:.0f} s"
    )
    print("\nMean utterance SRCC with the neutral ratings over corpus seeds:")
    means = frame.groupby(["features", "aspect", "split"], sort=False)[list(LEARNERS)].mean()
    print(means.to_string(float_format=lambda v: f"{v:+.3f}"))
    print(
        "\nPlanted aspects on val_mixed: the right-class correction's gain over erm per corpus seed, its mean"
    )
    print("and the oracle's mean gain, each against the median MDE of one paired comparison on these clips")
    print(f"(80% power, one-sided 5%: {Z80:.2f} x the paired bootstrap SD):")
    mixed = frame[(frame["split"] == "val_mixed") & frame["aspect"].isin(list(RIGHT))]
    for (spec, a), g in mixed.groupby(["features", "aspect"], sort=False):
        gains = (g[RIGHT[a]] - g["erm"]).to_numpy()
        oracle_gain = float((g["oracle"] - g["erm"]).mean())
        print(
            f"{spec:>9} {a} {RIGHT[a]:>12}: gains {' '.join(f'{v:+.3f}' for v in gains)}; "
            f"mean {verdict(gains.mean(), float(np.nanmedian(g['mde'])))}; "
            f"oracle {verdict(oracle_gain, float(np.nanmedian(g['oracle_mde'])))}"
        )
    if not np.isfinite(frame[list(LEARNERS)].to_numpy(float)).all():
        print("note: some scores are NaN (a split without rated clips)")


if __name__ == "__main__":
    main()
