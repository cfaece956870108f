"""Paired statistics for selection: clip bootstrap within source, seeds, Dunnett-type simultaneous bounds.

A comparison is one candidate against one reference (ERM or the random control) on one aspect. Its data:
per seed the difference of the protocol metric (folds of leave-k-sources-out averaged within the seed
first), and the same difference under B clip resamples. One clip resample is drawn per replicate,
stratified by source, and applied to every candidate, seed, fold and aspect at once (paired).

Variance of the mean difference over n seeds (a crossed seeds x clips design, method of moments):
    se^2 = s_seed^2 / n + v_clip,
s_seed^2 the sample variance of the per-seed differences (seed noise and the seed x clip interaction),
v_clip the part of the clip-resampling variance that every seed shares (a different validation sample
moves all seeds together: no number of seeds removes it):
    v_clip = (n * Var*(mean_s D*_s) - mean_s Var*(D*_s)) / (n - 1).
Resampling the seeds as well (a two-level percentile bootstrap) would count the interaction twice and,
with 3-20 seeds, understate the seed variance by (n-1)/n with normal tails; see sweeps/README.md.

Multiplicity: every comparison of one family (all candidates x all aspects against one reference) gets a
one-sided lower bound  mean - c * se,  c the (1 - alpha) quantile of the maximum of a multivariate t with
the comparisons' estimated correlation (shared reference, shared seeds, shared clips) and Satterthwaite
degrees of freedom: Dunnett's many-to-one test, with the correlation measured instead of assumed.
Minimum detectable effect (80% power at the same family-wise alpha): (c + t_0.8) * se.
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.optimize import brentq
from scipy.special import gammaincc
from scipy.stats import qmc

ALPHA = 0.05  # family-wise, one-sided: P(any true difference <= 0 gets a lower bound > 0) <= ALPHA
POWER = 0.8  # for the minimum detectable effect
N_BOOT = 200  # clip resamples: they estimate a variance (not a tail quantile), 200 give it to about 10%
DRAWS = 2**13  # quasi-random normal draws for the critical value
MAX_DF = 1000.0  # degrees of freedom when the seed part is negligible
Z_CLIP = 0.999999  # |SRCC| kept below 1 before Fisher's z


def clip_resamples(sources: np.ndarray, n_boot: int, seed: int = 0) -> np.ndarray:
    """(N,) source per clip -> (1 + B, N) counts: row 0 all ones (the observed sample), then B resamples
    that redraw each source's clips with replacement (each source keeps its clip count)."""
    rng = np.random.default_rng(seed)
    counts = np.ones((1 + n_boot, len(sources)))
    for source in np.unique(sources):
        at = np.flatnonzero(sources == source)
        counts[1:, at] = rng.multinomial(len(at), np.full(len(at), 1.0 / len(at)), size=n_boot)
    return counts


def midranks(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(n,) values, (R, n) repeat counts -> (R, n) the rank each clip gets in the sample that repeats clip i
    counts[r, i] times (ties share their mean rank)."""
    order = np.argsort(values, kind="stable")
    v = values[order]
    new = np.r_[True, v[1:] != v[:-1]]
    group = np.cumsum(new) - 1
    per_group = np.add.reduceat(counts[:, order], np.flatnonzero(new), axis=1)  # (R, G)
    mid = np.cumsum(per_group, axis=1) - (per_group - 1) / 2
    ranks = np.empty(counts.shape)
    ranks[:, order] = mid[:, group]
    return ranks


def weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(R, n) x3 -> (R,) Pearson correlation of x and y with repeat counts w; 0 where either is constant."""
    total = w.sum(1, keepdims=True)
    dx = x - (w * x).sum(1, keepdims=True) / total
    dy = y - (w * y).sum(1, keepdims=True) / total
    vx, vy = (w * dx * dx).sum(1), (w * dy * dy).sum(1)
    cov = (w * dx * dy).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(vx * vy)
    return np.where((vx > 1e-12) & (vy > 1e-12), r, 0.0)


def srcc(pred: np.ndarray, target_ranks: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(n,), (R, n) target midranks, (R, n) counts -> (R,) Spearman correlation per resample."""
    return weighted_corr(midranks(pred, counts), target_ranks, counts)


def fisher_mean(r: np.ndarray, n: np.ndarray) -> np.ndarray:
    """(S, R) per-source SRCC, (S,) clips per source -> (R,) tanh of the clip-weighted mean of atanh(r)."""
    z = np.arctanh(np.clip(r, -Z_CLIP, Z_CLIP))
    return np.tanh((n[:, None] * z).sum(0) / n.sum())


@dataclass
class Interval:
    """Mean paired difference (> 0: the candidate is better) and its simultaneous one-sided bound."""

    mean: float
    se: float
    lower: float  # mean - critical * se: the family-wise (1 - alpha) lower confidence bound
    mde: float  # smallest true difference found with 80% power at this se and critical value
    n: int  # seeds paired
    df: float
    critical: float
    family: int  # comparisons in the family
    clips: bool  # True: se includes clip sampling (per-clip predictions were saved)

    @property
    def above_zero(self) -> bool:
        return bool(self.n >= 2 and np.isfinite(self.lower) and self.lower > 0)


@dataclass
class Comparison:
    """Inputs of one comparison: (n,) per-seed differences and (B, n) the same per clip resample (the
    resample shared by every comparison of the family), with the seeds' labels (for the correlation)."""

    diffs: np.ndarray
    clip_diffs: np.ndarray | None = None
    seeds: tuple | None = None  # None: seed i of every comparison is the same seed


def _parts(c: Comparison) -> tuple[float, float, float]:
    """(mean, seed variance of the mean, clip variance common to the seeds)."""
    d = np.asarray(c.diffs, float)
    n = len(d)
    seed_var = d.var(ddof=1) / n if n >= 2 else np.nan
    clip_var = 0.0
    if c.clip_diffs is not None and n >= 2:
        of_mean = c.clip_diffs.mean(1).var(ddof=1)
        each = c.clip_diffs.var(0, ddof=1).mean()
        clip_var = max(0.0, (n * of_mean - each) / (n - 1))
    return float(d.mean()), float(seed_var), float(clip_var)


def _correlation(comparisons: list[Comparison], se: np.ndarray) -> np.ndarray:
    """Estimated correlation of the comparisons' means: seed part over the seeds each pair shares plus
    the clip part from the shared resamples; made positive semi-definite."""
    k = len(comparisons)
    if k == 1:
        return np.ones((1, 1))
    labels = [c.seeds if c.seeds is not None else tuple(range(len(c.diffs))) for c in comparisons]
    index = {s: i for i, s in enumerate(dict.fromkeys(s for seeds in labels for s in seeds))}
    seeds = np.full((len(index), k), np.nan)
    for j, (c, names) in enumerate(zip(comparisons, labels)):
        seeds[[index[s] for s in names], j] = c.diffs
    cov = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            both = ~np.isnan(seeds[:, i]) & ~np.isnan(seeds[:, j])
            m = both.sum()
            if m >= 2:
                ni, nj = (~np.isnan(seeds[:, [i, j]])).sum(0)
                cov[i, j] = cov[j, i] = np.cov(seeds[both, i], seeds[both, j])[0, 1] * m / (ni * nj)
    with_clips = [j for j, c in enumerate(comparisons) if c.clip_diffs is not None]
    if len(with_clips) >= 2 and len({comparisons[j].clip_diffs.shape[0] for j in with_clips}) == 1:
        means = np.stack([comparisons[j].clip_diffs.mean(1) for j in with_clips], 1)
        clip = np.cov(means, rowvar=False)
        own = np.array([_parts(comparisons[j])[2] for j in with_clips])
        scale = np.sqrt(np.divide(own, np.diag(clip), out=np.zeros_like(own), where=np.diag(clip) > 0))
        clip = clip * np.outer(scale, scale)
        off = ~np.eye(len(with_clips), dtype=bool)
        cov[np.ix_(with_clips, with_clips)] += np.where(off, clip, 0.0)
    corr = cov / np.outer(se, se)
    np.fill_diagonal(corr, 1.0)
    values, vectors = np.linalg.eigh(np.nan_to_num(corr))
    corr = (vectors * np.clip(values, 1e-9, None)) @ vectors.T
    d = np.sqrt(np.diag(corr))
    return corr / np.outer(d, d)


def critical_value(corr: np.ndarray, df: float, alpha: float = ALPHA, draws: int = DRAWS) -> float:
    """c with P(max_k T_k <= c) = 1 - alpha, T multivariate t (correlation `corr`, `df`): the maximum M of
    the normal part is drawn (scrambled Sobol points, fixed), the chi-square part is integrated exactly:
    P(M <= c S) = mean over draws of P(chi2_df / df >= (M / c)^2)."""
    if len(corr) == 1:
        return float(stats.t.ppf(1 - alpha, df))
    values, vectors = np.linalg.eigh(corr)
    normal = stats.norm.ppf(
        qmc.Sobol(len(corr), seed=12345).random(draws) * (1 - 2e-9) + 1e-9
    )  # quasi-random
    z = normal @ (vectors * np.sqrt(np.clip(values, 0, None))).T
    top = np.maximum(z.max(1), 0.0)

    def excess(c: float) -> float:
        return float(np.mean(gammaincc(df / 2, df * (top / c) ** 2 / 2))) - (1 - alpha)  # chi2 survival

    return float(brentq(excess, 0.1, 100.0, xtol=1e-4))


def simultaneous(comparisons: list[Comparison], alpha: float = ALPHA) -> list[Interval]:
    """One family of comparisons -> their simultaneous one-sided lower bounds (see the module text).
    Comparisons with fewer than 2 seeds get NaN bounds and are left out of the family."""
    parts = [_parts(c) for c in comparisons]
    se = np.array([np.sqrt(s + v) for _, s, v in parts])
    ok = np.array([len(c.diffs) >= 2 and np.isfinite(x) and x > 1e-12 for c, x in zip(comparisons, se)])
    members = np.flatnonzero(ok)
    df = MAX_DF
    for i in members:  # Satterthwaite: only the seed part is estimated from few values
        n, (_, seed_var, clip_var) = len(comparisons[i].diffs), parts[i]
        if seed_var > 0:
            df = min(df, (seed_var + clip_var) ** 2 * (n - 1) / seed_var**2)
    critical = np.nan
    if len(members):
        corr = _correlation([comparisons[i] for i in members], se[members])
        critical = critical_value(corr, df, alpha)
    boost = float(stats.t.ppf(POWER, df))
    out = []
    for c, (mean, _, _), s, good in zip(comparisons, parts, se, ok):
        lower = mean - critical * s if good else np.nan
        mde = (critical + boost) * s if good else np.nan
        clips = c.clip_diffs is not None
        out.append(
            Interval(
                mean, float(s), float(lower), float(mde), len(c.diffs), df, critical, len(members), clips
            )
        )
    return out
