"""Rank candidates (a setting of the swept parameters, over seeds) per aspect on validation metrics only.

A candidate is every swept parameter except `seed`; its trials are its seeds. Per aspect the score is
`best/val/<ASPECT>/<metric>` as mean ± 95% CI (Student t) over seeds. The winner is the simplest
candidate whose mean is within `tolerance` of the best mean (a tie): simpler = the lower `simplicity` of
the definer's registered class, then fewer domains (k), then the label. Test/OOD metrics and the domain probe are carried along for the
report and never used to choose.
"""

import json
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from aqa.definers.registry import DEFINERS
from aqa.sweep.records import TrialRecord, definer_params

UNREGISTERED = 10**6  # simplicity of a definer name the registry does not know: ranked last
SEED_KEYS = ("seed",)
EVAL_STAGES = ("test", "test_ood")  # shown beside, never used to choose


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


@dataclass
class Candidate:
    params: dict  # swept parameters without the seed
    trials: list[TrialRecord] = field(default_factory=list)

    @property
    def definer(self) -> dict:
        """Definer settings for selection.yaml: the ones the run used, else the ones the sweep set."""
        used = self.trials[0].config.get("domain", {}).get("definer")
        return dict(used) if isinstance(used, dict) else definer_params(self.params)

    @property
    def label(self) -> str:
        definer = {"name": self.definer.get("name", "?"), **definer_params(self.params)}
        parts = [str(definer["name"])] + [f"{k}={_fmt(v)}" for k, v in definer.items() if k != "name"]
        parts += [f"{k}={_fmt(v)}" for k, v in self.params.items() if not k.startswith("domain.definer")]
        return " ".join(parts)

    def simplicity(self) -> tuple:
        name = self.definer.get("name")
        order = DEFINERS[name].simplicity if name in DEFINERS else UNREGISTERED
        return order, self.definer.get("k") or 0, self.label

    def values(self, key: str) -> list[float]:
        found = [t.metrics.get(key) for t in self.trials]
        return [float(v) for v in found if isinstance(v, int | float) and math.isfinite(v)]


def group(records: list[TrialRecord]) -> list[Candidate]:
    """One candidate per distinct setting of the non-seed parameters, simplest first."""
    candidates: dict[str, Candidate] = {}
    for record in records:
        params = {k: v for k, v in record.params.items() if k not in SEED_KEYS}
        key = json.dumps(params, sort_keys=True)
        candidates.setdefault(key, Candidate(params)).trials.append(record)
    return sorted(candidates.values(), key=Candidate.simplicity)


def aspects_of(records: list[TrialRecord], metric: str) -> list[str]:
    """Aspects in the runs' configured order (data.aspects), else in the order of their metric keys."""
    for record in records:
        configured = record.config.get("data", {}).get("aspects")
        if configured:
            return list(configured)
    keys = sorted(
        {k for r in records for k in r.metrics if k.startswith("best/val/") and k.endswith(f"/{metric}")}
    )
    return [k.split("/")[2] for k in keys if k.split("/")[2] != "mean"]


@dataclass
class Row:
    candidate: Candidate
    n: int
    mean: float
    ci: float
    beside: dict[str, float]  # test/OOD metrics and the probe, means over seeds ({"test_ood/utt_srcc": ...})
    tied: bool = False
    selected: bool = False


def beside_keys(metric: str) -> list[str]:
    """`stage/name` of what is shown beside the validation score (the aspect goes between them)."""
    family = metric.split("_", 1)[-1]  # sys_srcc -> srcc
    # the dataset-ID probe exists for every run (ERM included), so it compares definers on one yardstick;
    # the probe on each run's own domain labels follows
    return [f"{s}/{lvl}_{family}" for s in EVAL_STAGES for lvl in ("utt", "sys")] + [
        "probe/dataset_acc",
        "probe/dataset_chance",
        "probe/acc",
        "probe/chance",
    ]


def _beside(candidate: Candidate, aspect: str, metric: str) -> dict[str, float]:
    found = {}
    for key in beside_keys(metric):
        stage, name = key.split("/")
        if values := candidate.values(f"{stage}/{aspect}/{name}"):
            found[key] = float(np.mean(values))
    return found


def rank_aspect(
    candidates: list[Candidate], aspect: str, metric: str, goal: str, tolerance: float
) -> list[Row]:
    """Rows of every candidate with a validation value, best first; exactly one has `selected`."""
    rows = []
    for c in candidates:
        values = c.values(f"best/val/{aspect}/{metric}")
        if values:
            rows.append(Row(c, len(values), *mean_ci(values), _beside(c, aspect, metric)))
    if not rows:
        return rows
    sign = 1 if goal == "maximize" else -1
    rows.sort(key=lambda r: -sign * r.mean)
    for row in rows:
        row.tied = sign * (rows[0].mean - row.mean) <= tolerance
    winner = min((r for r in rows if r.tied), key=lambda r: r.candidate.simplicity())
    winner.selected = True
    return rows


def goal_of(metric: str) -> str:
    return "minimize" if "mse" in metric else "maximize"
