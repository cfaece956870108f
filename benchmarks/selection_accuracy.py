"""Selection accuracy on the known-answer corpus: how often each protocol recommends the planted answer.

    python benchmarks/selection_accuracy.py                      # 5 corpus seeds x 6 strategies x 5 seeds
    python benchmarks/selection_accuracy.py --quick              # 2 corpus seeds x 3 seeds (development)
    python benchmarks/selection_accuracy.py --corpus-seeds 5 --seeds 8 --jobs 2 --out results.json
    python benchmarks/selection_accuracy.py --lambdas 0.1,0.3,1  # lambda_max swept inside each candidate

DomainBed-style scoring of the selection procedure (issue 21, item 6; docs/selection_benchmark.md):

1. Per corpus seed: the known-answer corpus (`experiments/known_answer.yaml`, `data.corpus.seed=C`;
   answers.json: PQ -> dataset, CE -> clusters, PC -> none (null), CU -> none (label-shift trap)).
2. Screening trials (the screening profile `aqa.config.screening.SCREENING`, in-process
   `aqa.sweep.inprocess.train_trial`, one torch thread each; `--jobs N` spawned workers) of every candidate of `CANDIDATES` x seed 0..S-1; each
   adversarial candidate once per `--lambdas` value (`lambda_max` inside the definer value), the random
   control `CONTROL` at every (handling, lambda) a candidate uses (selection pairs each candidate with the
   control of its own strategy), plus the oracle row: ERM trained on the offset-free ratings
   (`data.corpus.oracle=true`), the same seeds.
3. For each protocol, `aqa.sweep.ranking.choose(records, protocol)` (the rule of `aqa select`: paired clip
   bootstrap over seeds, simultaneous bounds, must beat ERM and the random control); each aspect's
   selected candidate maps to a class by `CLASS_OF` (ERM -> none, dataset with any handling -> dataset,
   kmeans/gmm -> clusters) and is compared with answers.json. The oracle row and the trials of
   `data.corpus.oracle=true` never enter choose().

Scores per protocol over corpus seeds x aspects (binomial counts with a Clopper-Pearson 95% interval,
`scipy.stats.binomtest(...).proportion_ci(method="exact")`):
- accuracy: recommendation class == planted class, all aspects;
- planted: the same on the aspects whose answer is not `none` (PQ, CE);
- false selection: a recommendation other than `none` on the aspects whose answer is `none` (PC, CU);
- regret (DomainBed): per corpus and aspect, the neutral test score (utterance SRCC on `test_mixed`;
  also reported on `test_ood`) of the candidate a test-score choice would take (the best mean over
  seeds among ERM and the non-control candidates) minus that of the recommended candidate (ERM when
  nothing is selected); mean over corpus seeds x aspects. 0 is a perfect choice.
- oracle gap: the oracle row's test score minus the recommended candidate's (the ceiling of the
  screening model with no offsets in its training ratings);
- planted gain and MDE: on the planted aspects, the largest mean gain over ERM (the protocol's own
  validation metric) of a candidate of the right class, and the median minimum detectable effect of the
  protocol's intervals: what there was to find, and what the rule could have found.

Encoder: `--encoder` (default `tiny-pretrained`, pretrained on the default corpus, cached in
~/.cache/aqa/encoders); docs/selection_benchmark.md gives the linear-probe and ERM numbers of the
choice. Nothing here is tuned to make a protocol win: the corpus is fixed by its design gates and the
rule is `aqa select`'s.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from aqa.config.screening import SCREENING

EXPERIMENT = "experiments/known_answer.yaml"
# the candidate grid, in one place: each value is merged over the experiment's domain.definer
CANDIDATES = [
    {"name": "none"},  # ERM
    {"name": "dataset"},  # dataset adversary (GRL)
    {"name": "dataset", "handling": "bias"},  # per-dataset output correction
    {"name": "kmeans", "k": 3, "features": "acoustic"},  # clusters of acoustic features, adversary
]
CONTROL = {"name": "random", "k": 4}  # the random control (as many labels as train sources), run at every
# (handling, lambda) a candidate uses: selection pairs each candidate with the control of its own strategy
# recommended definer -> answer class of answers.json (anything else: its own name, never right)
CLASS_OF = {"none": "none", "dataset": "dataset", "kmeans": "clusters", "gmm": "clusters"}
PROTOCOLS = ["auto", "mixed", "heldout", "within", "pooled"]  # `oracle` never chooses (choose_allowed)
TEST_STAGES = ("test_mixed", "test_ood")  # neutral test splits the regret is scored on
FIXED = [
    *SCREENING,  # aqa/config/screening.py: the screening profile every screening sweep shares
    "logger.wandb=false",
    "logger.csv=false",
    "trainer.enable_progress_bar=false",
]


# ---- scoring (pure functions; tests/benchmarks/test_selection_accuracy.py) ----
def answer_class(definer: str) -> str:
    """The answers.json class of a recommended definer name (ERM: `none`)."""
    return CLASS_OF.get(definer, definer)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval of k successes in n (NaNs for n = 0)."""
    from scipy.stats import binomtest

    if n == 0:
        return math.nan, math.nan
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


@dataclass
class Verdict:
    corpus: int
    aspect: str
    truth: str  # answers.json class
    chosen: str  # the recommended candidate's label ("" when the protocol does not choose)
    chosen_class: str  # its class (`none` for ERM)
    scores: dict  # {stage: {candidate label: mean test score over seeds}} (ERM and non-control candidates)
    oracle: dict  # {stage: the oracle row's mean test score}
    mde: float = math.nan  # the protocol's median minimum detectable effect for this aspect
    gains: dict = field(default_factory=dict)  # {candidate label: [class, mean gain over ERM, lower bound]}

    @property
    def planted(self) -> bool:
        return self.truth != "none"

    @property
    def right(self) -> bool:
        return self.chosen_class == self.truth

    def regret(self, stage: str) -> float:
        """Best candidate's test score (chosen by the test score itself) minus the recommended one's."""
        scores = {k: v for k, v in self.scores.get(stage, {}).items() if math.isfinite(v)}
        if not scores or self.chosen not in scores:
            return math.nan
        return max(scores.values()) - scores[self.chosen]

    @property
    def right_gain(self) -> float:
        """The largest mean gain over ERM (the protocol's metric) among candidates of the right class."""
        gains = [g for c, g, _ in self.gains.values() if c == self.truth and math.isfinite(g)]
        return max(gains, default=math.nan)

    def oracle_gap(self, stage: str) -> float:
        mine = self.scores.get(stage, {}).get(self.chosen, math.nan)
        return self.oracle.get(stage, math.nan) - mine


def _rate(k: int, n: int) -> dict:
    low, high = clopper_pearson(k, n)
    return {"k": k, "n": n, "rate": k / n if n else math.nan, "low": low, "high": high}


def _mean(values) -> float:
    values = [v for v in values if math.isfinite(v)]
    return sum(values) / len(values) if values else math.nan


def summarize(verdicts: list[Verdict]) -> dict:
    """Accuracy, planted accuracy, false-selection rate (each with a CP interval), mean regret and
    oracle gap per test stage, and per-aspect right counts, over the verdicts of one protocol. A verdict
    where the protocol made no choice (`n/a`: no ranking, no ERM row) is counted apart (`undecided`), not
    as a wrong or a false selection."""
    undecided = [v for v in verdicts if v.chosen_class == "n/a"]
    verdicts = [v for v in verdicts if v.chosen_class != "n/a"]
    planted = [v for v in verdicts if v.planted]
    null = [v for v in verdicts if not v.planted]
    out = {
        "undecided": len(undecided),
        "accuracy": _rate(sum(v.right for v in verdicts), len(verdicts)),
        "planted": _rate(sum(v.right for v in planted), len(planted)),
        "false_selection": _rate(sum(v.chosen_class != "none" for v in null), len(null)),
        "per_aspect": {},
        "mde": _mean(v.mde for v in verdicts),
        "planted_gain": _mean(v.right_gain for v in planted),
    }
    for stage in TEST_STAGES:
        out[f"regret/{stage}"] = _mean(v.regret(stage) for v in verdicts)
        out[f"oracle_gap/{stage}"] = _mean(v.oracle_gap(stage) for v in verdicts)
    for aspect in dict.fromkeys(v.aspect for v in verdicts):
        mine = [v for v in verdicts if v.aspect == aspect]
        out["per_aspect"][aspect] = {
            "truth": mine[0].truth,
            "right": sum(v.right for v in mine),
            "n": len(mine),
            "chosen": [v.chosen_class for v in mine],
        }
    return out


def verdicts_for(rankings: dict, answers: dict, corpus: int, candidates, oracle: dict) -> list[Verdict]:
    """One Verdict per aspect of `rankings` ({aspect: AspectRanking}); `candidates` are the grouped
    candidates (aqa.sweep.ranking.group) whose test scores the regret compares."""
    out = []
    for aspect, ranking in rankings.items():
        selected = ranking.selected
        chosen = selected.candidate.label if selected is not None else ""
        chosen_class = answer_class(selected.candidate.name) if selected is not None else "n/a"
        scores = {
            stage: {
                c.label: _mean(c.by_seed(f"{stage}/{aspect}/utt_srcc").values())
                for c in candidates
                if not c.is_control
            }
            for stage in TEST_STAGES
        }
        out.append(
            Verdict(
                corpus,
                aspect,
                answers[aspect],
                chosen,
                chosen_class,
                scores,
                oracle.get(aspect, {}),
                ranking.mde,
                {
                    r.candidate.label: [answer_class(r.candidate.name), r.vs_erm.mean, r.vs_erm.lower]
                    for r in ranking.rows
                    if r.vs_erm is not None and not r.candidate.is_erm and not r.candidate.is_control
                },
            )
        )
    return out


# ---- trials ----
def definers(lambdas: list[float] | None) -> list[dict]:
    """Every definer value of one corpus's grid: the candidates, each adversarial one once per lambda
    (`lambda_max` inside the definer value; None: the experiment's model.adversary.lambda_max), and a
    random control for every (handling, lambda) a candidate uses."""
    out = []
    for definer in CANDIDATES:
        adversarial = definer["name"] != "none" and definer.get("handling", "adversarial").startswith(
            "adversarial"
        )
        for lam in lambdas if adversarial and lambdas else [None]:
            out.append(definer if lam is None else definer | {"lambda_max": float(lam)})
    strategies = [{k: d[k] for k in ("handling", "lambda_max") if k in d} for d in out if d["name"] != "none"]
    controls = [CONTROL | s for s in strategies]
    return out + [c for i, c in enumerate(controls) if c not in controls[:i]]


def trial_grid(seeds: int, lambdas: list[float] | None) -> list[dict]:
    """Swept parameters of every trial of one corpus (without the corpus seed)."""
    return [{"domain.definer": dict(d), "seed": seed} for d in definers(lambdas) for seed in range(seeds)]


def _run(job: tuple) -> int:
    from aqa.sweep.inprocess import train_trial

    overrides, run_dir, log = job
    return train_trial(EXPERIMENT, overrides, run_dir, log)


def _record(run_dir: Path, params: dict, trial_id: str):
    import yaml

    from aqa.metrics.predictions import PREDICTIONS_DIR, read_predictions
    from aqa.sweep.records import TrialRecord

    metrics = json.loads((run_dir / "metrics.json").read_text())
    config = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    return TrialRecord(trial_id, params, metrics, config, read_predictions(run_dir / PREDICTIONS_DIR))


def run_trials(jobs: list[tuple], n_jobs: int, progress, task) -> list[int]:
    """Exit codes of `jobs` ((overrides, run_dir, log) each), in order; `n_jobs` > 1: spawned workers."""
    if n_jobs <= 1:
        codes = []
        for job in jobs:
            codes.append(_run(job))
            progress.advance(task)
        return codes
    from concurrent.futures import as_completed

    from aqa.sweep.inprocess import make_pool

    with make_pool(n_jobs) as pool:
        futures = {pool.submit(_run, job): i for i, job in enumerate(jobs)}
        codes = [1] * len(jobs)
        for future in as_completed(futures):
            codes[futures[future]] = future.result()
            progress.advance(task)
    return codes


def corpus_answers(corpus: int, encoder: str) -> dict:
    from aqa.config import load_config
    from data_modules.corpus.generate import ensure_corpus

    cfg = load_config(EXPERIMENT, [*FIXED, f"model.encoder.name={encoder}", f"data.corpus.seed={corpus}"])
    manifest = ensure_corpus(cfg.data.corpus)
    return json.loads((manifest.parent / "answers.json").read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-seeds", type=int, default=5, help="known-answer corpora 0..C-1")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per candidate (and for the oracle row)")
    parser.add_argument("--quick", action="store_true", help="2 corpus seeds x 3 seeds (development)")
    parser.add_argument("--encoder", default="tiny-pretrained", help="model.encoder.name of the screening")
    parser.add_argument("--lambdas", help="comma-separated model.adversary.lambda_max values per candidate")
    parser.add_argument("--protocols", default=",".join(PROTOCOLS))
    parser.add_argument("--n-boot", type=int, default=200, help="clip resamples of choose()")
    parser.add_argument("--jobs", type=int, default=1, help="screening trials at once (spawned workers)")
    parser.add_argument("--dir", help="run folders (default: a fresh temporary folder)")
    parser.add_argument("--out", default="selection_accuracy.json", help="JSON output file")
    parser.add_argument("overrides", nargs="*", help="key=value overrides for every trial")
    args = parser.parse_args(argv)
    if args.quick:
        args.corpus_seeds, args.seeds = 2, 3
    lambdas = [float(v) for v in args.lambdas.split(",")] if args.lambdas else None
    protocols = args.protocols.split(",")
    os.environ.setdefault("WANDB_MODE", "disabled")
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from aqa.sweep.command import args_no_hyphens
    from aqa.sweep.ranking import choose, group

    console = Console(width=None if sys.stdout.isatty() else 150)
    started = time.perf_counter()
    root = Path(args.dir or tempfile.mkdtemp(prefix="selection-accuracy-"))
    grid = trial_grid(args.seeds, lambdas)
    base = [*FIXED, f"model.encoder.name={args.encoder}", *args.overrides]
    per_protocol: dict[str, list[Verdict]] = {p: [] for p in protocols}
    resolved: dict[str, set] = {p: set() for p in protocols}
    failed = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("trials", total=args.corpus_seeds * (len(grid) + args.seeds))
        for corpus in range(args.corpus_seeds):
            progress.update(task, description=f"corpus {corpus}: generate")
            answers = corpus_answers(corpus, args.encoder)
            progress.update(task, description=f"corpus {corpus}: trials")
            folder = root / f"corpus{corpus}"
            folder.mkdir(parents=True, exist_ok=True)
            jobs, meta = [], []
            for i, params in enumerate(grid):
                overrides = [*base, f"data.corpus.seed={corpus}", *args_no_hyphens(params)]
                jobs.append((overrides, str(folder / f"t{i:03d}"), str(folder / f"t{i:03d}.log")))
                meta.append((params, False))
            for seed in range(args.seeds):
                params = {"domain.definer": {"name": "none"}, "seed": seed}
                overrides = [*base, f"data.corpus.seed={corpus}", "data.corpus.oracle=true"]
                overrides += args_no_hyphens(params)
                jobs.append((overrides, str(folder / f"oracle{seed}"), str(folder / f"oracle{seed}.log")))
                meta.append((params, True))
            codes = run_trials(jobs, args.jobs, progress, task)
            records, oracle_records = [], []
            for (params, is_oracle), job, code in zip(meta, jobs, codes):
                if code != 0:
                    failed += 1
                    console.print(f"[red]failed trial[/] corpus {corpus} {params}: see {job[2]}")
                    continue
                record = _record(Path(job[1]), params, Path(job[1]).name)
                (oracle_records if is_oracle else records).append(record)
            oracle = {
                a: {
                    s: _mean(r.metrics.get(f"{s}/{a}/utt_srcc", math.nan) for r in oracle_records)
                    for s in TEST_STAGES
                }
                for a in answers
            }
            candidates = group(records)
            for protocol in protocols:
                progress.update(task, description=f"corpus {corpus}: choose ({protocol})")
                chosen, why, rankings = choose(records, protocol, n_boot=args.n_boot, seed=corpus)
                resolved[protocol].add(f"{chosen.name} ({why})")
                per_protocol[protocol] += verdicts_for(rankings, answers, corpus, candidates, oracle)
            # written after every corpus seed: an interrupted run keeps what it measured
            write_json(
                args, lambdas, per_protocol, resolved, corpus + 1, failed, time.perf_counter() - started
            )
    wall = time.perf_counter() - started
    summaries = write_json(args, lambdas, per_protocol, resolved, args.corpus_seeds, failed, wall)
    print_tables(console, summaries, resolved)
    load = os.getloadavg()
    console.print(
        f"{args.corpus_seeds} corpus seeds x {len(grid) // args.seeds} strategies (controls included) x {args.seeds} seeds "
        f"(+ oracle row), encoder {args.encoder}, {failed} failed trials; wall {wall:.0f} s "
        f"({wall / 60:.1f} min); load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
    )
    console.print(f"written: {args.out} (run folders in {root})")
    return 1 if failed else 0


def write_json(
    args, lambdas, per_protocol: dict, resolved: dict, done: int, failed: int, wall: float
) -> dict:
    """Write the summaries and every verdict to `args.out`; returns {protocol: summary}."""
    summaries = {p: summarize(v) for p, v in per_protocol.items()}
    result = {
        "settings": {
            "corpus_seeds_done": done,
            "corpus_seeds": args.corpus_seeds,
            "seeds": args.seeds,
            "encoder": args.encoder,
            "lambdas": lambdas,
            "definers": definers(lambdas),
            "n_boot": args.n_boot,
            "jobs": args.jobs,
            "overrides": args.overrides,
        },
        "wall_s": wall,
        "load_average": os.getloadavg(),
        "failed_trials": failed,
        "protocols": {
            p: {
                "resolved": sorted(resolved[p]),
                **summaries[p],
                "verdicts": [asdict(v) for v in per_protocol[p]],
            }
            for p in per_protocol
        },
    }
    Path(args.out).write_text(json.dumps(result, indent=1, default=float))
    return summaries


def _pct(rate: dict) -> str:
    if not rate["n"]:
        return "-"
    return f"{rate['k']}/{rate['n']} {100 * rate['rate']:.0f}% [{100 * rate['low']:.0f}, {100 * rate['high']:.0f}]"


def print_tables(console, summaries: dict, resolved: dict) -> None:
    from rich.table import Table

    table = Table(title="selection on the known-answer corpus (95% Clopper-Pearson intervals)")
    for name in [
        "protocol",
        "accuracy",
        "planted right",
        "null/trap false sel.",
        "regret mixed",
        "regret ood",
        "oracle gap mixed",
        "planted gain",
        "MDE",
        "no choice",
    ]:
        table.add_column(name, justify="left" if name == "protocol" else "right")
    for p, s in summaries.items():
        table.add_row(
            p,
            _pct(s["accuracy"]),
            _pct(s["planted"]),
            _pct(s["false_selection"]),
            f"{s['regret/test_mixed']:.3f}",
            f"{s['regret/test_ood']:.3f}",
            f"{s['oracle_gap/test_mixed']:.3f}",
            f"{s['planted_gain']:+.3f}",
            f"{s['mde']:.2f}",
            str(s["undecided"]),
        )
    console.print(table)
    aspects = Table(title="per aspect: right / corpus seeds (recommended class per corpus seed)")
    aspects.add_column("protocol")
    first = next(iter(summaries.values()))["per_aspect"]
    for a, info in first.items():
        aspects.add_column(f"{a} ({info['truth']})")
    for p, s in summaries.items():
        aspects.add_row(
            p, *[f"{i['right']}/{i['n']} {','.join(i['chosen'])}" for i in s["per_aspect"].values()]
        )
    console.print(aspects)
    for p, why in resolved.items():
        console.print(f"{p}: {'; '.join(sorted(why))}")


if __name__ == "__main__":
    raise SystemExit(main())
