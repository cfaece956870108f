"""A screening worker that dies hard (os._exit) fails its own trial only: the pool is rebuilt and the sweep
goes on (aqa/sweep/inprocess.py run_parallel)."""

import json
import textwrap
from pathlib import Path

from aqa.sweep import inprocess
from aqa.sweep.state import SweepDir

WORKER = textwrap.dedent(
    """
    import json, os
    from pathlib import Path

    def work(experiment, overrides, run_dir, log_path):
        if "die=1" in overrides:
            os._exit(3)  # no exception, no clean-up: the pool breaks
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        Path(run_dir, "metrics.json").write_text(json.dumps({"trial": overrides[0]}))
        return 0
    """
)


def run_sweep(tmp_path: Path, monkeypatch, jobs: int, dying: set[int]) -> list:
    (tmp_path / "dying_worker.py").write_text(WORKER)
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned workers get this sys.path
    import dying_worker

    sweep_dir = SweepDir(tmp_path / f"sweep{jobs}")
    sweep_dir.init({"method": "grid", "parameters": {}})
    trials = [sweep_dir.add({"i": i}) for i in range(5)]
    reported = []

    def prepare(trial):
        overrides = [f"i={trial.params['i']}"] + (["die=1"] if trial.params["i"] in dying else [])
        return ["aqa", "train", "x.yaml", *overrides], ("x.yaml", overrides)

    def run(trial):
        raise AssertionError("every trial here is a screening call")

    inprocess.run_parallel(
        sweep_dir, jobs, trials, lambda: None, prepare, run, reported.append, lambda: False, dying_worker.work
    )
    assert sorted(t.id for t in reported) == [t.id for t in trials]  # each reported once
    return sweep_dir.trials()


def test_a_dying_worker_fails_its_trial_and_the_sweep_goes_on(tmp_path, monkeypatch):
    trials = run_sweep(tmp_path, monkeypatch, jobs=2, dying={1})
    states = {t.params["i"]: t.state for t in trials}
    assert states == {0: "finished", 1: "failed", 2: "finished", 3: "finished", 4: "finished"}
    assert "worker process died" in trials[1].status["reason"]
    assert json.loads((tmp_path / "sweep2" / "runs" / "t004" / "metrics.json").read_text()) == {
        "trial": "i=4"
    }


def test_a_dying_worker_alone(tmp_path, monkeypatch):
    trials = run_sweep(tmp_path, monkeypatch, jobs=1, dying={0, 3})
    assert [t.state for t in trials] == ["failed", "finished", "finished", "failed", "finished"]


def test_a_pool_that_broke_while_idle_is_rebuilt_and_no_trial_is_lost(tmp_path, monkeypatch):
    """A worker killed while idle breaks the pool before any trial runs in it: the submit fails, the trial
    goes back to the queue (recorded interrupted meanwhile), the pool is rebuilt and every trial finishes."""
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pools = []

    class Pool(ThreadPoolExecutor):
        def submit(self, fn, *args):
            if len(pools) == 1:  # the first pool is broken from the start
                raise BrokenProcessPool("an idle worker died")
            return super().submit(fn, *args)

    def make_pool(jobs):
        pools.append(Pool(max_workers=jobs))
        return pools[-1]

    def work(experiment, overrides, run_dir, log_path):
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        Path(run_dir, "metrics.json").write_text("{}")
        return 0

    monkeypatch.setattr(inprocess, "make_pool", make_pool)
    sweep_dir = SweepDir(tmp_path / "sweep")
    sweep_dir.init({"method": "grid", "parameters": {}})
    trials = [sweep_dir.add({"i": i}) for i in range(3)]
    reported = []

    def prepare(trial):
        return ["aqa", "train", "x.yaml"], ("x.yaml", [f"i={trial.params['i']}"])

    inprocess.run_parallel(
        sweep_dir, 2, trials, lambda: None, prepare, None, reported.append, lambda: False, work
    )
    assert len(pools) == 2
    assert [t.state for t in sweep_dir.trials()] == ["finished"] * 3
    assert sorted(t.id for t in reported) == [t.id for t in trials]
    assert sweep_dir.trials()[0].status["attempt"] == 2  # started, refused by the broken pool, rerun
