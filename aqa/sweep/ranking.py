"""Candidates (a setting of the swept parameters, over seeds), paired comparisons and the selection rule.

A candidate is every swept parameter except the seed and the fold (`data.heldout_sources`: one fold of
leave-k-sources-out). Trials of a candidate whose definer has no adversary (ERM) ignore adversary
settings, so all ERM trials of a sweep form one candidate.

A candidate is a (definer, handling, lambda) strategy: the GRL strength swept inside a definer value
(`{name: dataset, lambda_max: 0.3}`, issue 21) or as `model.adversary.lambda_max` makes one candidate per
lambda, each in the multiplicity family; its resolved per-aspect strategy is read from the runs' metrics
(`strategy/<A>/handling|lambda`, aqa/training/strategy.py).

Pairing (no fallback): a candidate is compared with the ERM candidate run with the same other settings,
and with the random control run with the same other settings and the same resolved handling and lambda on
the aspect (same K where several); where none exists the comparison is refused and the reason shown. Trials are matched by seed;
folds are never seeds: within a seed the differences of the folds both ran are averaged first, then the
seeds are the pairs. Statistics (aqa/sweep/stats.py): paired clip bootstrap within source plus seeds,
Dunnett-type simultaneous lower bounds over all candidates x aspects of the chosen protocol.

Selection rule (sweeps/README.md): a candidate is selected for an aspect only when it is not a control
and its simultaneous lower bound is above zero against ERM AND against the random control (n >= 2 seeds
each); among several the largest mean gain over ERM wins, ties (equal to 3 decimals) to the simpler
definer (`definer_class(name).simplicity`); with none, ERM is selected.
"""

import copy
import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from aqa.definers.registry import DEFINERS, definer_class
from aqa.sweep import stats
from aqa.sweep.protocols import AUTO, PROTOCOLS, Protocol, get_protocol
from aqa.sweep.records import TrialRecord, definer_params
from aqa.training.strategy import read_strategy

SEED_KEY = "seed"
FOLD_KEYS = ("data.heldout_sources",)  # a fold of leave-k-sources-out: averaged within a seed, never a seed
SEED_KEYS = (SEED_KEY, *FOLD_KEYS)  # trials differing only in these are repeats of a candidate
# swept keys that belong to one aspect in selection.yaml's `model:` part: swept key -> per-aspect field
ASPECT_MODEL_KEYS = {
    "model.adversary.lambda_max": "lambda_max",
    "model.adversary.gamma": "gamma",
    "model.adversary.weight": "weight",
    "model.domain_handling": "domain_handling",
}
ADVERSARY_PREFIXES = ("domain.definer.", "model.adversary.", "model.aspects.", "model.domain_handling")
DEFINER_PREFIXES = ("domain.definer",)  # what a random control may differ in from its candidate
ERM_PREFIXES = (*DEFINER_PREFIXES, *ADVERSARY_PREFIXES)  # what ERM may differ in from its candidate
PROBE_KEY = "probe/{aspect}/dataset_acc"  # the dataset-ID probe: every run has it, ERM included
OOD_KEY = "test_ood/{aspect}/utt_srcc"
TIE_DECIMALS = 3  # mean gains equal to this many decimals are a tie (what the tables show)
MIN_SEEDS = 2


def mean_ci(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of its 95% confidence interval (t distribution); NaN half-width for n < 2."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, math.nan
    half = sps.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return mean, float(half)


def _fmt(value) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_fmt(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _dotted(config: dict, key: str):
    """`config["data"]["heldout_sources"]` for `data.heldout_sources` (None where absent)."""
    for part in key.split("."):
        config = config.get(part) if isinstance(config, dict) else None
    return config


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def seed_of(t: TrialRecord) -> str:
    return json.dumps(t.params.get(SEED_KEY, _dotted(t.config, SEED_KEY)))


def fold_of(t: TrialRecord) -> str:
    return json.dumps([t.params.get(k, _dotted(t.config, k)) for k in FOLD_KEYS], sort_keys=True)


ERM_ENTRY = {"definer": {"name": "none"}}  # selection.yaml's entry for an aspect left on ERM


def erm_entry() -> dict:
    """A fresh ERM entry (one shared dict would be written as a yaml anchor and aliases)."""
    return copy.deepcopy(ERM_ENTRY)


@dataclass
class Candidate:
    params: dict  # swept parameters without the seed and fold
    trials: list[TrialRecord] = field(default_factory=list)

    @property
    def definer(self) -> dict:
        """Definer settings for selection.yaml: the ones the run used (its `seed` only where swept, so
        that the final model's definer follows the run seed), else the ones the sweep set."""
        used = self.trials[0].config.get("domain", {}).get("definer")
        swept = definer_params(self.params)
        if not isinstance(used, dict):
            return swept
        return {k: v for k, v in used.items() if k != "seed" or "seed" in swept}

    @property
    def name(self) -> str:
        return str(self.definer.get("name", "?"))

    @property
    def label(self) -> str:
        definer = {"name": self.name, **definer_params(self.params)}
        parts = [str(definer["name"])] + [f"{k}={_fmt(v)}" for k, v in definer.items() if k != "name"]
        parts += [f"{k}={_fmt(v)}" for k, v in self.params.items() if not k.startswith("domain.definer")]
        return " ".join(parts)

    @property
    def is_erm(self) -> bool:
        return self.name in DEFINERS and not definer_class(self.name).adversary

    @property
    def is_control(self) -> bool:
        return self.name in DEFINERS and definer_class(self.name).control

    def strength(self, aspect: str) -> tuple:
        """(handling, lambda) the candidate deploys on `aspect`: the runs' resolved `strategy/<A>/...`
        metrics, else the swept and configured settings (lambda 0 where no adversary acts)."""
        found = read_strategy(self.trials[0].metrics, aspect) if self.trials else None
        if found and "handling" in found and "lambda" in found:
            return str(found["handling"]), float(found["lambda"])
        if self.is_erm:
            return "none", 0.0
        config = self.trials[0].config if self.trials else {}
        definer = {**definer_params(self.params)}
        handling = (
            _dotted(config, f"model.aspects.{aspect}.domain_handling")
            or definer.get("handling")
            or self.params.get("model.domain_handling")
            or _dotted(config, "model.domain_handling")
            or "adversarial"
        )
        lam = next(
            (
                v
                for v in (
                    _dotted(config, f"model.aspects.{aspect}.lambda_max"),
                    definer.get("lambda_max"),
                    self.params.get("model.adversary.lambda_max"),
                    _dotted(config, "model.adversary.lambda_max"),
                )
                if v is not None
            ),
            1.0,
        )
        adversarial = str(handling).startswith("adversarial")
        return str(handling), float(lam) if adversarial else 0.0

    def simplicity(self) -> tuple:
        order = definer_class(self.name).simplicity if self.name in DEFINERS else math.inf
        return order, self.definer.get("k") or 0, self.label

    def values(self, key: str) -> list[float]:
        return [float(t.metrics[key]) for t in self.trials if _finite(t.metrics.get(key))]

    def by_seed(self, key: str) -> dict[str, float]:
        """{seed (json): the mean over its folds (each fold the mean of its repeats)}, finite values only."""
        cells = _cells(self.trials, lambda t: t.metrics.get(key))
        return {s: float(np.mean([v for v, _ in folds.values()])) for s, folds in cells.items()}

    def model_settings(self, aspect: str) -> dict:
        """The swept model settings that belong to `aspect` (selection.yaml's `model:` part)."""
        settings = {field: self.params[key] for key, field in ASPECT_MODEL_KEYS.items() if key in self.params}
        prefix = f"model.aspects.{aspect}."
        settings |= {k.removeprefix(prefix): v for k, v in self.params.items() if k.startswith(prefix)}
        return settings

    def entry(self, aspect: str) -> dict:
        """selection.yaml's entry for `aspect`: the definer and the aspect's model settings (fresh dicts:
        yaml writes shared ones as anchors)."""
        out = {"definer": copy.deepcopy(self.definer)}
        if model := self.model_settings(aspect):
            out["model"] = copy.deepcopy(model)
        return out

    def global_settings(self) -> dict:
        """Swept settings that belong to no single aspect (not carried by selection.yaml)."""
        return {
            k: v
            for k, v in self.params.items()
            if not k.startswith(("domain.definer", "model.aspects.")) and k not in ASPECT_MODEL_KEYS
        }


def _cells(trials: list[TrialRecord], value, boot=None) -> dict[str, dict[str, tuple]]:
    """{seed: {fold: (mean value, mean bootstrap values or None)}} over the trials with a finite value;
    repeats of one (seed, fold) are averaged."""
    found: dict[str, dict[str, list]] = {}
    for t in trials:
        v = value(t)
        if _finite(v):
            b = boot(t) if boot is not None else None
            found.setdefault(seed_of(t), {}).setdefault(fold_of(t), []).append((float(v), b))
    out = {}
    for seed, folds in found.items():
        out[seed] = {}
        for fold, items in folds.items():
            boots = [b for _, b in items]
            mean_boot = None if any(b is None for b in boots) else np.mean(boots, axis=0)
            out[seed][fold] = (float(np.mean([v for v, _ in items])), mean_boot)
    return out


def _candidate_params(record: TrialRecord) -> dict:
    params = {k: v for k, v in record.params.items() if k not in SEED_KEYS}
    name = definer_params(params).get("name") or record.config.get("domain", {}).get("definer", {}).get(
        "name"
    )
    if name in DEFINERS and not definer_class(name).adversary:  # ERM: adversary settings do not matter
        kept = {k: v for k, v in params.items() if not k.startswith(ADVERSARY_PREFIXES)}
        if "domain.definer" in params:
            kept["domain.definer"] = {"name": name}
        if "domain.definer.name" in params:
            kept["domain.definer.name"] = name
        params = kept
    return params


def group(records: list[TrialRecord]) -> list[Candidate]:
    """One candidate per distinct setting of the non-seed parameters, simplest first."""
    candidates: dict[str, Candidate] = {}
    for record in records:
        params = _candidate_params(record)
        candidates.setdefault(json.dumps(params, sort_keys=True), Candidate(params)).trials.append(record)
    return sorted(candidates.values(), key=Candidate.simplicity)


def aspects_of(records: list[TrialRecord]) -> list[str]:
    """Aspects in the runs' configured order (data.aspects), else in the order of their `val/` keys."""
    for record in records:
        configured = record.config.get("data", {}).get("aspects")
        if configured:
            return list(configured)
    names = sorted({k.split("/")[1] for r in records for k in r.metrics if k.count("/") == 2})
    return [n for n in names if n != "mean"]


# ---- the protocol's metric per trial: from per-clip predictions (with clip resamples) or metrics.json ----
@dataclass
class Measurement:
    protocol: Protocol
    points: dict[int, dict[str, float]]  # id(trial) -> {aspect: metric}
    boots: dict[int, dict[str, np.ndarray]]  # id(trial) -> {aspect: (B,) metric per clip resample}
    clips: bool  # True: from predictions/<stage>.csv, clip resamples included
    note: str = ""

    def point(self, t: TrialRecord, aspect: str) -> float:
        return self.points.get(id(t), {}).get(aspect, math.nan)

    def boot(self, t: TrialRecord, aspect: str) -> np.ndarray | None:
        return self.boots.get(id(t), {}).get(aspect)


def _frame_metric(kind: str, frame, aspect: str, counts: np.ndarray, min_clips: int, cache: dict):
    """(1 + B,) the metric of one trial's clips under the observed sample and each clip resample."""
    pred = frame[f"pred_{aspect}"].to_numpy(float)
    target = frame[f"target_{aspect}"].to_numpy(float)
    keep = np.isfinite(pred) & np.isfinite(target)
    pos, counts = frame["_pos"].to_numpy()[keep], counts[:, frame["_pos"].to_numpy()[keep]]
    pred, target, sources = pred[keep], target[keep], frame["dataset"].to_numpy()[keep]

    def srcc(at: np.ndarray) -> np.ndarray:
        key = (
            aspect,
            pos[at].tobytes(),
            target[at].tobytes(),
        )  # targets too: runs may rate clips differently
        if key not in cache:
            cache[key] = stats.midranks(target[at], counts[:, at])
        return stats.srcc(pred[at], cache[key], counts[:, at])

    if kind == "pooled":
        if len(pred) < 2 or np.ptp(target) == 0:
            return None
        return srcc(np.arange(len(pred)))
    rs, ns = [], []
    for source in np.unique(sources):
        at = np.flatnonzero(sources == source)
        if len(at) < max(2, min_clips) or np.ptp(target[at]) == 0:
            continue
        rs.append(srcc(at))
        ns.append(len(at))
    return stats.fisher_mean(np.stack(rs), np.asarray(ns, float)) if rs else None


def measure(
    records: list[TrialRecord], aspects: list[str], protocol: Protocol, n_boot: int = stats.N_BOOT, seed=0
) -> Measurement:
    """The protocol's metric for every trial and aspect. From per-clip predictions when every trial saved
    the protocol's stage (one stratified clip resample shared by all trials, seeds, folds and aspects),
    else from the metrics.json key without clip resampling."""
    stage = protocol.stage
    with_clips = [r for r in records if stage in r.predictions]
    if protocol.clip_metric and records and len(with_clips) == len(records):
        frames = [r.predictions[stage] for r in records]
        clips = _universe(frames)
        counts = stats.clip_resamples(clips["dataset"].to_numpy(), n_boot, seed)
        where = pd.Index(clips["id"])
        points, boots, cache = {}, {}, {}
        for r, frame in zip(records, frames):
            frame = frame.assign(_pos=where.get_indexer(frame["id"]))
            min_clips = int(_dotted(r.config, "metrics.min_source_clips") or 5)
            for a in aspects:
                if f"pred_{a}" not in frame or f"target_{a}" not in frame:
                    continue
                values = _frame_metric(protocol.clip_metric, frame, a, counts, min_clips, cache)
                if values is not None:
                    points.setdefault(id(r), {})[a] = float(values[0])
                    boots.setdefault(id(r), {})[a] = values[1:]
        return Measurement(protocol, points, boots, True)
    points = {
        id(r): {
            a: float(r.metrics[protocol.key(a)]) for a in aspects if _finite(r.metrics.get(protocol.key(a)))
        }
        for r in records
    }
    note = "" if protocol.clip_metric else "clip sampling left out (no clip resampling for this metric)"
    if protocol.clip_metric:
        missing = len(records) - len(with_clips)
        note = f"clip sampling left out ({missing} of {len(records)} trials saved no predictions/{stage}.csv)"
    return Measurement(protocol, points, {}, False, note)


def _universe(frames: list) -> pd.DataFrame:
    """Every clip id of the frames once, with its source; a clip listed under two sources is an error."""
    clips = pd.concat([f[["id", "dataset"]] for f in frames]).drop_duplicates()
    twice = clips["id"][clips["id"].duplicated()]
    if len(twice):
        raise ValueError(f"clip {twice.iloc[0]!r} has different sources in different trials' predictions")
    return clips.sort_values(["dataset", "id"]).reset_index(drop=True)


# ---- pairing: the same other settings, the same seeds; folds averaged within a seed; never a fallback ----
def _strip(params: dict, prefixes: tuple) -> dict:
    return {k: v for k, v in params.items() if not k.startswith(prefixes)}


def _settings(params: dict, prefixes: tuple) -> str:
    stripped = _strip(params, prefixes)
    return ", ".join(f"{k}={_fmt(v)}" for k, v in stripped.items()) or "no other swept settings"


def reference(
    candidate: Candidate, pool: list[Candidate], control: bool = False, aspect: str | None = None
) -> tuple[Candidate | None, str]:
    """(the candidate of `pool` run with the same other settings, "") or (None, why not). ERM (`control`
    False) may differ in every adversary setting; a random control only in the definer, with the same
    resolved handling and lambda on `aspect` (when given) and the same K where several controls qualify.
    No other pairing is ever made."""
    prefixes = DEFINER_PREFIXES if control else ERM_PREFIXES
    what = "random control" if control else "ERM (`none`) candidate"
    same = [c for c in pool if _strip(c.params, prefixes) == _strip(candidate.params, prefixes)]
    if not same:
        return (
            None,
            f"refused: no {what} ran with the same settings ({_settings(candidate.params, prefixes)})",
        )
    if control and aspect is not None:
        handling, lam = candidate.strength(aspect)
        same = [c for c in same if c.strength(aspect) == (handling, lam)]
        if not same:
            return None, f"refused: no {what} ran with handling {handling} and lambda {lam:g} on {aspect}"
    if len(same) == 1:
        return same[0], ""
    same_k = [c for c in same if c.definer.get("k") == candidate.definer.get("k")]
    if len(same_k) == 1:
        return same_k[0], ""
    return (
        None,
        f"refused: {len(same)} {what}s ran with the same settings and {len(same_k)} with k={candidate.definer.get('k')}",
    )


def compare(
    candidate: Candidate, ref: Candidate, m: Measurement, aspect: str, sign: float
) -> tuple[stats.Comparison | None, str]:
    """Per-seed differences candidate - reference (x sign: > 0 better), folds averaged within each seed
    over the folds both ran; (None, why) without a shared seed, and a note when fewer than 2 seeds."""
    point = lambda t: m.point(t, aspect)  # noqa: E731
    boot = (lambda t: m.boot(t, aspect)) if m.clips else None
    mine, theirs = _cells(candidate.trials, point, boot), _cells(ref.trials, point, boot)
    seeds, diffs, boots = [], [], []
    for s in mine:
        folds = [f for f in mine[s] if f in theirs.get(s, {})]
        if not folds:
            continue
        seeds.append(s)
        diffs.append(np.mean([sign * (mine[s][f][0] - theirs[s][f][0]) for f in folds]))
        if m.clips:
            boots.append(np.mean([sign * (mine[s][f][1] - theirs[s][f][1]) for f in folds], axis=0))
    if not seeds:
        return None, f"refused: no seed shared with {ref.label}"
    note = (
        ""
        if len(seeds) >= MIN_SEEDS
        else f"only {len(seeds)} seed shared with {ref.label} (needs {MIN_SEEDS})"
    )
    clip_diffs = np.stack(boots, 1) if m.clips else None
    return stats.Comparison(np.asarray(diffs), clip_diffs, tuple(seeds)), note


@dataclass
class Paired:
    """Mean paired difference (candidate - reference) ± 95% t-CI over n seeds (folds averaged first):
    the plain, single-comparison interval shown for the probe and by `aqa final`."""

    mean: float
    ci: float
    n: int

    @property
    def above_zero(self) -> bool:
        return self.n >= 2 and math.isfinite(self.ci) and self.mean - self.ci > 0

    @property
    def covers_zero(self) -> bool:
        return self.n >= 2 and math.isfinite(self.ci) and abs(self.mean) <= self.ci


def paired(candidate: Candidate, reference: Candidate | None, key: str, sign: float = 1.0) -> Paired | None:
    """`candidate` vs `reference` on the metrics.json `key`, matched by seed (folds averaged within a
    seed over the folds both ran); None without a common seed."""
    if reference is None:
        return None
    value = lambda t: t.metrics.get(key)  # noqa: E731
    mine, theirs = _cells(candidate.trials, value), _cells(reference.trials, value)
    diffs = []
    for s in mine:
        folds = [f for f in mine[s] if f in theirs.get(s, {})]
        if folds:
            diffs.append(np.mean([sign * (mine[s][f][0] - theirs[s][f][0]) for f in folds]))
    return Paired(*mean_ci(diffs), len(diffs)) if diffs else None


@dataclass
class Row:
    candidate: Candidate
    n: int  # trials
    mean: float  # mean over seeds of the protocol metric (folds averaged within a seed)
    ci: float  # its 95% t half-width over seeds
    vs_erm: stats.Interval | None
    vs_control: stats.Interval | None
    ood: float  # test_ood utterance SRCC, mean over trials (shown, never used to choose)
    probe: float  # dataset-ID probe accuracy on val embeddings, mean over trials
    probe_vs_erm: Paired | None
    erm_note: str = ""  # why there is no (usable) comparison with ERM
    control_note: str = ""  # the same for the random control
    eligible: bool = False
    selected: bool = False

    @property
    def probe_unmoved(self) -> bool:
        """An adversary that left the dataset probe where ERM had it (it only perturbed the features)."""
        c = self.candidate
        handling = (c.definer.get("handling") or c.params.get("model.domain_handling")) or "adversarial"
        adversary = (
            c.name in DEFINERS and definer_class(c.name).adversary and handling.startswith("adversarial")
        )
        return adversary and self.probe_vs_erm is not None and self.probe_vs_erm.covers_zero


@dataclass
class AspectRanking:
    aspect: str
    protocol: Protocol
    rows: list[Row]  # best mean first
    erm: Row | None
    shortcut: float  # the source-lookup predictor's score, mean over trials (NaN if not logged)
    selected: Row | None = None  # None: the protocol never chooses, or no candidate has the key
    clips: bool = False  # the intervals include clip sampling
    note: str = ""  # why this protocol cannot choose here, or what its intervals leave out
    chooses: bool = True  # False: shown only (an upper bound, or a neutral split nobody declared)

    @property
    def no_winner(self) -> bool:
        """ERM is selected because no definer beat it."""
        return self.selected is not None and self.selected.candidate.is_erm

    @property
    def tested(self) -> list[stats.Interval]:
        """The family-corrected comparisons with ERM of this aspect's non-control candidates."""
        return [
            r.vs_erm
            for r in self.rows
            if r.vs_erm is not None and not r.candidate.is_control and math.isfinite(r.vs_erm.lower)
        ]

    @property
    def mde(self) -> float:
        """Median minimum detectable effect (80% power, family-wise alpha) over the tested candidates."""
        values = [i.mde for i in self.tested]
        return float(np.median(values)) if values else math.nan

    @property
    def shortcut_flagged(self) -> bool:
        """The source-lookup predictor scores well: above zero (a correlation of 0 or less ranks nothing)
        and within ERM's CI or above it. The protocol then rewards the dataset shortcut."""
        if not math.isfinite(self.shortcut) or self.shortcut <= 0:
            return False
        if self.erm is None:
            return self.protocol.shortcut_prone
        sign = 1.0 if self.protocol.goal == "maximize" else -1.0
        margin = self.erm.ci if math.isfinite(self.erm.ci) else 0.0
        return sign * self.shortcut >= sign * self.erm.mean - margin


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def neutral_declared(records: list[TrialRecord], stage: str) -> bool:
    """Every trial's config declares `stage` in data.neutral_splits (rated in one neutral test)."""
    return bool(records) and all(stage in (_dotted(r.config, "data.neutral_splits") or []) for r in records)


def rank(
    candidates: list[Candidate],
    aspects: list[str],
    protocol: Protocol,
    n_boot: int = stats.N_BOOT,
    seed: int = 0,
    alpha: float = stats.ALPHA,
) -> dict[str, AspectRanking]:
    """Every candidate with the protocol's metric, per aspect (best mean first), its simultaneous bounds
    against ERM and the random control (one family each over all candidates x aspects), and the rule."""
    records = [t for c in candidates for t in c.trials]
    m = measure(records, aspects, protocol, n_boot, seed)
    sign = 1.0 if protocol.goal == "maximize" else -1.0
    erms = [c for c in candidates if c.is_erm]
    controls = [c for c in candidates if c.is_control]
    families: dict[str, list] = {"erm": [], "control": [], "shown": []}  # (row, which, comparison)
    rankings = {}
    for aspect in aspects:
        probe = PROBE_KEY.format(aspect=aspect)
        rows = []
        for c in candidates:
            seeds = _cells(c.trials, lambda t, a=aspect: m.point(t, a))
            if not seeds:
                continue
            per_seed = [np.mean([v for v, _ in folds.values()]) for folds in seeds.values()]
            erm, erm_note = (None, "") if c.is_erm else reference(c, erms)
            row = Row(
                c,
                sum(len(folds) for folds in seeds.values()),
                *mean_ci(per_seed),
                vs_erm=None,
                vs_control=None,
                ood=_mean(c.values(OOD_KEY.format(aspect=aspect))),
                probe=_mean(c.values(probe)),
                probe_vs_erm=paired(c, erm, probe),
                erm_note=erm_note,
            )
            if erm is not None:
                comparison, row.erm_note = compare(c, erm, m, aspect, sign)
                if comparison is not None:
                    families["shown" if c.is_control else "erm"].append((row, "vs_erm", comparison))
            if not c.is_erm and not c.is_control:
                control, row.control_note = reference(c, controls, control=True, aspect=aspect)
                if control is not None:
                    comparison, row.control_note = compare(c, control, m, aspect, sign)
                    if comparison is not None:
                        families["control"].append((row, "vs_control", comparison))
            rows.append(row)
        rows.sort(key=lambda r: -sign * r.mean)
        erm_row = next((r for r in rows if r.candidate.is_erm), None)
        shortcut = _mean([v for c in candidates for v in c.values(protocol.shortcut_key(aspect))])
        rankings[aspect] = AspectRanking(
            aspect, protocol, rows, erm_row, shortcut, clips=m.clips, note=m.note
        )
    for members in families.values():
        for (row, which, _), interval in zip(members, stats.simultaneous([c for _, _, c in members], alpha)):
            setattr(row, which, interval)
    choose = protocol.choose_allowed
    if protocol.name == "mixed" and not neutral_declared(records, protocol.stage):
        choose = False
        for r in rankings.values():
            r.note = f"`{protocol.stage}` is not declared neutral (data.neutral_splits): shown, never chooses"
            r.chooses = False
    for ranking in rankings.values():
        if choose and ranking.rows:
            _apply_rule(ranking)
    return rankings


def _apply_rule(ranking: AspectRanking) -> None:
    for row in ranking.rows:
        row.eligible = (
            not row.candidate.is_control
            and not row.candidate.is_erm
            and row.vs_erm is not None
            and row.vs_erm.above_zero
            and row.vs_control is not None
            and row.vs_control.above_zero
        )
    eligible = [r for r in ranking.rows if r.eligible]
    if eligible:
        best = max(round(r.vs_erm.mean, TIE_DECIMALS) for r in eligible)
        tied = [r for r in eligible if round(r.vs_erm.mean, TIE_DECIMALS) == best]
        ranking.selected = min(tied, key=lambda r: r.candidate.simplicity())
    else:
        ranking.selected = ranking.erm
    if ranking.selected is not None:
        ranking.selected.selected = True


def rank_aspect(candidates: list[Candidate], aspect: str, protocol: Protocol, **kwargs) -> AspectRanking:
    """`rank` for one aspect (its family: that aspect's candidates only)."""
    return rank(candidates, [aspect], protocol, **kwargs)[aspect]


def resolve_protocol(name: str, records: list[TrialRecord]) -> tuple[Protocol, str]:
    """(protocol, why): `auto` is mixed where the trials declare `val_mixed` neutral and have it, else
    heldout where every trial held out two or more sources, else within (blind to per-source offsets)."""
    if name != AUTO:
        return get_protocol(name), "chosen by --protocol"
    mixed, heldout = PROTOCOLS["mixed"], PROTOCOLS["heldout"]

    def has(r: TrialRecord, p: Protocol) -> bool:
        return p.stage in r.predictions or any(k.startswith(f"{p.stage}/") for k in r.metrics)

    if neutral_declared(records, mixed.stage) and all(has(r, mixed) for r in records):
        return mixed, f"auto: `{mixed.stage}` is declared neutral (data.neutral_splits)"
    held = [
        _dotted(r.config, "data.heldout_sources") or r.params.get("data.heldout_sources") for r in records
    ]
    if (
        records
        and all(isinstance(h, list) and len(h) >= 2 for h in held)
        and all(has(r, heldout) for r in records)
    ):
        return heldout, "auto: every trial held out two or more sources (pooled, leave-k-sources-out)"
    return PROTOCOLS["within"], (
        "auto: no neutral split declared and fewer than two held-out sources per trial; `within` cannot see "
        "a per-source offset (what a dataset adversary removes)"
    )


def choose(
    records: list[TrialRecord], protocol: str = AUTO, **kwargs
) -> tuple[Protocol, str, dict[str, AspectRanking]]:
    """In-process selection on trial records (each with its `predictions`): (protocol, why, rankings)."""
    chosen, why = resolve_protocol(protocol, records)
    return chosen, why, rank(group(records), aspects_of(records), chosen, **kwargs)
