"""Candidates (a setting of the swept parameters, over seeds), paired comparisons and the selection rule.

A candidate is every swept parameter except the seed-like ones (`seed`, and `data.heldout_sources`: the
folds of leave-one-source-out are averaged like seeds). Trials of a candidate whose definer has no
adversary (ERM) ignore adversary settings, so all ERM trials of a sweep form one candidate.

Per protocol and aspect each candidate gets its mean ± 95% t-CI over trials and its paired difference
against ERM (`none`) and against the random control: trials are matched by the value of the seed-like
keys (several trials at one value are averaged first). Selection rule (see sweeps/README.md): a candidate
is eligible for an aspect only when it is not a control and its paired 95% CI against ERM lies entirely
above zero with n >= 2 pairs; among eligible candidates the largest mean paired gain wins, ties (equal to
3 decimals) to the simpler definer (`definer_class(name).simplicity`); with none eligible ERM is selected.
"""

import json
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from aqa.definers.registry import DEFINERS, definer_class
from aqa.sweep.protocols import Protocol
from aqa.sweep.records import TrialRecord, definer_params

SEED_KEYS = ("seed", "data.heldout_sources")  # trials differing only in these are repeats of a candidate
# swept keys that belong to one aspect in selection.yaml's `model:` part: swept key -> per-aspect field
ASPECT_MODEL_KEYS = {
    "model.adversary.lambda_max": "lambda_max",
    "model.adversary.gamma": "gamma",
    "model.adversary.weight": "weight",
    "model.domain_handling": "domain_handling",
}
ADVERSARY_PREFIXES = ("domain.definer.", "model.adversary.", "model.aspects.", "model.domain_handling")
PROBE_KEY = "probe/{aspect}/dataset_acc"  # the dataset-ID probe: every run has it, ERM included
OOD_KEY = "test_ood/{aspect}/utt_srcc"
TIE_DECIMALS = 3  # mean gains equal to this many decimals are a tie (what the tables show)


def mean_ci(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of its 95% confidence interval (t distribution); NaN half-width for n < 2."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, math.nan
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
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


@dataclass
class Candidate:
    params: dict  # swept parameters without the seed-like ones
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

    def simplicity(self) -> tuple:
        order = definer_class(self.name).simplicity if self.name in DEFINERS else math.inf
        return order, self.definer.get("k") or 0, self.label

    def values(self, key: str) -> list[float]:
        return [float(t.metrics[key]) for t in self.trials if _finite(t.metrics.get(key))]

    def by_seed(self, key: str) -> dict[str, float]:
        """{seed-like value (json): mean of the trials at that value}, finite values only."""
        found: dict[str, list[float]] = {}
        for t in self.trials:
            if _finite(t.metrics.get(key)):
                seed = json.dumps([t.params.get(k, _dotted(t.config, k)) for k in SEED_KEYS], sort_keys=True)
                found.setdefault(seed, []).append(float(t.metrics[key]))
        return {seed: float(np.mean(v)) for seed, v in found.items()}

    def model_settings(self, aspect: str) -> dict:
        """The swept model settings that belong to `aspect` (selection.yaml's `model:` part)."""
        settings = {field: self.params[key] for key, field in ASPECT_MODEL_KEYS.items() if key in self.params}
        prefix = f"model.aspects.{aspect}."
        settings |= {k.removeprefix(prefix): v for k, v in self.params.items() if k.startswith(prefix)}
        return settings

    def global_settings(self) -> dict:
        """Swept settings that belong to no single aspect (not carried by selection.yaml)."""
        return {
            k: v
            for k, v in self.params.items()
            if not k.startswith(("domain.definer", "model.aspects.")) and k not in ASPECT_MODEL_KEYS
        }


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


@dataclass
class Paired:
    """Mean paired difference (candidate - reference, signed so that > 0 is better) ± 95% t-CI over n."""

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
    """`candidate` vs `reference` on `key`, matched by seed(+fold); None without a common seed."""
    if reference is None:
        return None
    mine, theirs = candidate.by_seed(key), reference.by_seed(key)
    diffs = [sign * (mine[s] - theirs[s]) for s in mine if s in theirs]
    return Paired(*mean_ci(diffs), len(diffs)) if diffs else None


def _strip(params: dict) -> dict:
    return {k: v for k, v in params.items() if not k.startswith(ADVERSARY_PREFIXES)}


def reference(candidate: Candidate, pool: list[Candidate]) -> Candidate | None:
    """The candidate of `pool` run with the same non-definer settings (and, for controls, the same K)."""
    same = [c for c in pool if _strip(c.params) == _strip(candidate.params)] or pool
    same_k = [c for c in same if c.definer.get("k") == candidate.definer.get("k")]
    return (same_k or same or [None])[0]


@dataclass
class Row:
    candidate: Candidate
    n: int
    mean: float
    ci: float
    vs_erm: Paired | None
    vs_control: Paired | None
    ood: float  # test_ood utterance SRCC, mean over trials (shown, never used to choose)
    probe: float  # dataset-ID probe accuracy on val embeddings, mean over trials
    probe_vs_erm: Paired | None
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

    @property
    def no_winner(self) -> bool:
        """ERM is selected because no definer beat it."""
        return self.selected is not None and self.selected.candidate.is_erm

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


def rank_aspect(candidates: list[Candidate], aspect: str, protocol: Protocol) -> AspectRanking:
    """Every candidate with the protocol's key for `aspect`, best mean first, and the selection rule."""
    key, sign = protocol.key(aspect), 1.0 if protocol.goal == "maximize" else -1.0
    erms = [c for c in candidates if c.is_erm and c.values(key)]
    controls = [c for c in candidates if c.is_control and c.values(key)]
    probe = PROBE_KEY.format(aspect=aspect)
    rows = []
    for c in candidates:
        values = c.values(key)
        if not values:
            continue
        erm = reference(c, erms) if not c.is_erm else None
        control = reference(c, controls) if not c.is_control else None
        rows.append(
            Row(
                c,
                len(values),
                *mean_ci(values),
                vs_erm=paired(c, erm, key, sign),
                vs_control=paired(c, control, key, sign),
                ood=_mean(c.values(OOD_KEY.format(aspect=aspect))),
                probe=_mean(c.values(probe)),
                probe_vs_erm=paired(c, erm, probe),
            )
        )
    rows.sort(key=lambda r: -sign * r.mean)
    erm_row = next((r for r in rows if r.candidate.is_erm), None)
    shortcut = _mean([v for c in candidates for v in c.values(protocol.shortcut_key(aspect))])
    ranking = AspectRanking(aspect, protocol, rows, erm_row, shortcut)
    if protocol.choose_allowed and rows:
        for row in rows:
            row.eligible = not row.candidate.is_control and row.vs_erm is not None and row.vs_erm.above_zero
        eligible = [r for r in rows if r.eligible]
        if eligible:
            best = max(round(r.vs_erm.mean, TIE_DECIMALS) for r in eligible)
            tied = [r for r in eligible if round(r.vs_erm.mean, TIE_DECIMALS) == best]
            ranking.selected = min(tied, key=lambda r: r.candidate.simplicity())
        else:
            ranking.selected = erm_row
        if ranking.selected is not None:
            ranking.selected.selected = True
    return ranking
