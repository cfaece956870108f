"""Utterance- and system-level MSE / LCC / SRCC / KTAU per aspect (scipy), their mean over aspects, SRCC
within each source dataset (`within.py`) and within each domain. Keys: `stage/ASPECT/level_metric`."""

import math
import re
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from aqa.metrics.constant import is_constant
from aqa.metrics.memo import Memo, frame_key
from aqa.metrics.spearman import pearson_r, spearman_rho
from aqa.metrics.within import group_rows, within_source_srcc
from data_modules.manifest.columns import domain_column

METRICS = ("mse", "lcc", "srcc", "ktau")
HIGHER_IS_BETTER = {"mse": False, "lcc": True, "srcc": True, "ktau": True}


def _rated(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """(N,), (N,) -> float64 rows where both are finite, and whether correlations can rank them."""
    ok = ~(np.isnan(pred) | np.isnan(target))
    pred, target = pred[ok].astype(np.float64), target[ok].astype(np.float64)
    return pred, target, len(pred) >= 2 and not (is_constant(pred) or is_constant(target))


def pair_metrics(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """(N,), (N,) -> mse, lcc, srcc, ktau. Correlations are NaN with < 2 points or a constant input."""
    pred, target, ranks = _rated(pred, target)
    out = {"mse": float(np.mean((pred - target) ** 2)) if len(pred) else math.nan}
    if not ranks:
        return out | {"lcc": math.nan, "srcc": math.nan, "ktau": math.nan}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["lcc"] = pearson_r(pred, target)
        out["srcc"] = spearman_rho(pred, target)
        out["ktau"] = float(stats.kendalltau(pred, target)[0])
    return out


def spearman(pred: np.ndarray, target: np.ndarray) -> float:
    """(N,), (N,) -> pair_metrics(pred, target)["srcc"], without the other three."""
    pred, target, ranks = _rated(pred, target)
    return spearman_rho(pred, target) if ranks else math.nan


def rated(groups: list[tuple[object, np.ndarray]], target: np.ndarray) -> list[np.ndarray]:
    """Each group's rows whose target is rated (not NaN); groups left with none are dropped."""
    kept = [rows[~np.isnan(target[rows])] for _, rows in groups]
    return [rows for rows in kept if len(rows)]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))


_MEMO = Memo(256)  # the reference rows score the same clips with the same predictions in every trial


def split_metrics(
    clips: pd.DataFrame,
    aspects: list[str],
    stage: str,
    domain_names: dict[str, list[str]] | None = None,
    min_source_clips: int = 5,
) -> dict[str, float]:
    """Per-clip rows (id, system, dataset, pred_<A>, target_<A>, domain_<A>) -> flat metric dict.

    System level = mean prediction per system vs. mean utterance MOS per system. With a `dataset` column:
    `within_srcc` over sources of at least `min_source_clips` clips, and `within_sources` (how many).
    Equal inputs (every column read, row for row) return the memoised result of an earlier call.
    """
    names = {a: tuple(v) for a, v in (domain_names or {}).items() if v}
    columns = ["system", "dataset"]
    columns += [f"{kind}_{a}" for a in aspects for kind in ("pred", "target")]
    columns += [domain_column(a) for a in aspects if a in names]
    key = (tuple(aspects), stage, tuple(sorted(names.items())), min_source_clips, frame_key(clips, columns))
    return _MEMO.get(key, lambda: _split_metrics(clips, aspects, stage, domain_names, min_source_clips))


def _split_metrics(clips, aspects, stage, domain_names, min_source_clips) -> dict[str, float]:
    out: dict[str, float] = {}
    systems = group_rows(clips["system"].to_numpy())
    sources = clips["dataset"].to_numpy() if "dataset" in clips else None
    for a in aspects:
        pred, target = clips[f"pred_{a}"].to_numpy(), clips[f"target_{a}"].to_numpy()
        for name, value in pair_metrics(pred, target).items():
            out[f"{stage}/{a}/utt_{name}"] = value
        # a system's prediction and target means over its rated clips (float64; a NaN prediction, e.g. a
        # reference row's clip without features, is skipped as pandas' mean skipped it)
        rows = rated(systems, target)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a system whose predictions are all NaN: NaN
            sys_pred = np.array([np.nanmean(pred[r], dtype=np.float64) for r in rows])
        sys_target = np.array([target[r].mean(dtype=np.float64) for r in rows])
        for name, value in pair_metrics(sys_pred, sys_target).items():
            out[f"{stage}/{a}/sys_{name}"] = value
        if sources is not None:
            srcc, used = within_source_srcc(pred, target, sources, min_source_clips)
            out[f"{stage}/{a}/within_srcc"], out[f"{stage}/{a}/within_sources"] = srcc, used
        if domain_names and domain_names.get(a) and domain_column(a) in clips:
            names = domain_names[a]
            for label, rows in group_rows(clips[domain_column(a)].to_numpy()):
                label_name = names[int(label)] if 0 <= label < len(names) else "unknown"
                out[f"{stage}/{a}/utt_srcc_dom_{_slug(label_name)}"] = spearman(pred[rows], target[rows])
    for level in ("utt", "sys"):
        for name in METRICS:
            values = [out[f"{stage}/{a}/{level}_{name}"] for a in aspects]
            finite = [v for v in values if not math.isnan(v)]
            out[f"{stage}/mean/{level}_{name}"] = float(np.mean(finite)) if finite else math.nan
    if "dataset" in clips:
        finite = [v for a in aspects if not math.isnan(v := out[f"{stage}/{a}/within_srcc"])]
        out[f"{stage}/mean/within_srcc"] = float(np.mean(finite)) if finite else math.nan
    return out
