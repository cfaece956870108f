"""Screening trials (`aqa train ... model.encoder.mode=cached`) run inside the sweep's own process, or in a
pool of `--jobs N` spawned worker processes, instead of one `aqa train` subprocess each (~20 s start-up).

The config is loaded from the trial's command line exactly as the subprocess would load it; the trial
writes to the same run folder (`AQA_RUN_DIR`) with `WANDB_MODE=offline`, both restored afterwards, and its
output goes to the trial's log. Every in-process trial uses one torch thread, so a trial's metrics do not
depend on `--jobs`.
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from pathlib import Path

from aqa.sweep.state import SweepDir, Trial, finish


def screening_call(command: list[str]) -> tuple[str, list[str]] | None:
    """(experiment, overrides) when `command` is `aqa train EXPERIMENT key=value ...` (or `python -m aqa.cli
    train ...`) whose config says `model.encoder.mode=cached`; else None (the trial runs as a subprocess)."""
    if "train" not in command:
        return None
    at = command.index("train")
    launcher = command[:at]
    plain_aqa = len(launcher) == 1 and Path(launcher[0]).name == "aqa"
    module = launcher[-2:] == ["-m", "aqa.cli"]
    rest = command[at + 1 :]
    if not (plain_aqa or module) or not rest or any(word.startswith("-") for word in rest):
        return None
    from aqa.config import load_config

    try:
        cfg = load_config(rest[0], rest[1:])
    except Exception:  # noqa: BLE001 (a bad config fails in the subprocess, with its own message and exit code)
        return None
    return (rest[0], rest[1:]) if cfg.model.encoder.mode == "cached" else None


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def train_trial(
    experiment: str, overrides: list[str], run_dir: str, log_path: str, reraise: tuple = ()
) -> int:
    """`aqa train EXPERIMENT OVERRIDES` in this process, one torch thread, output to `log_path`;
    returns the exit code the subprocess would have (0 done, 2 config error, 1 any other error);
    exceptions of the `reraise` types (the controller's interruption) propagate."""
    import torch

    from aqa.config import load_config
    from aqa.config.load import ConfigError
    from aqa.training.train import train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    env = {"WANDB_MODE": "offline", "AQA_RUN_DIR": run_dir}
    try:
        with (
            open(log_path, "w") as log,
            contextlib.redirect_stdout(log),
            contextlib.redirect_stderr(log),
            _environment(env),
        ):
            try:
                train(load_config(experiment, overrides))
            except reraise:
                raise
            except ConfigError as err:
                print(f"aqa train: {err}")
                return 2
            except Exception:  # noqa: BLE001 (a failed trial, recorded as such; the sweep goes on)
                traceback.print_exc()
                return 1
    finally:
        torch.set_num_threads(threads)
    return 0


def start(sweep_dir: SweepDir, trial: Trial, command: list[str]) -> tuple[str, str]:
    """Mark the trial running (a fresh run folder) as `run_trial` does; returns (run_dir, log_path)."""
    import shutil

    run_dir = sweep_dir.run_dir(trial).resolve()
    shutil.rmtree(run_dir, ignore_errors=True)  # left by an interrupted attempt: rerun from scratch
    log_path = sweep_dir.log_path(trial)
    trial.status = {
        "state": "running",
        "attempt": trial.status.get("attempt", 0) + 1,
        "command": command,
        "log": str(log_path),
        "started": time.time(),
        "in_process": True,
    }
    trial.metrics = {}
    sweep_dir.save(trial)
    return str(run_dir), str(log_path)


def interrupted(sweep_dir: SweepDir, trial: Trial) -> None:
    trial.status.update(state="interrupted", ended=time.time())
    sweep_dir.save(trial)


def run_screening_trial(sweep_dir: SweepDir, trial: Trial, command: list[str], call, reraise=()) -> Trial:
    """Run one screening trial in this process; records finished/failed (or interrupted: an exception of
    the `reraise` types or a BaseException, then re-raises)."""
    run_dir, log_path = start(sweep_dir, trial, command)
    try:
        exitcode = train_trial(*call, run_dir, log_path, reraise)
    except BaseException:
        interrupted(sweep_dir, trial)
        raise
    return finish(sweep_dir, trial, exitcode)


ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def one_thread_worker() -> None:
    """A pool worker's start: one thread for OpenMP and BLAS too, not only torch. Two workers on two cores,
    each with a BLAS pool of two threads, spin against each other: measured on the embedded corpus
    (benchmarks/bench_screening.py --seeds 2 --jobs 2), a screening trial took 13.3 s (median) instead of
    7.4 s. The variables reach the libraries a trial loads later; threadpoolctl caps those loaded already."""
    os.environ.update(ONE_THREAD)
    try:  # only a speed-up: a worker whose libraries threadpoolctl cannot handle still runs its trials
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    except Exception:  # noqa: BLE001
        pass


def make_pool(jobs: int):
    """`jobs` spawned worker processes (spawn: no forked torch/Lightning state), one thread each."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=one_thread_worker)


def stop_pool(pool) -> None:
    """Cancel queued trials and end the workers now (an interrupted sweep)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public way to end workers
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=10)


def run_parallel(
    sweep_dir: SweepDir,
    jobs: int,
    queue: list[Trial],
    next_trial,
    prepare,
    run,
    report,
    one_at_a_time,
    work=train_trial,
):
    """Run `queue`, then `next_trial()` until it returns None, up to `jobs` screening trials at once.

    `prepare(trial)` -> (command, screening call or None); a trial without a screening call runs alone
    through `run(trial)` (a subprocess) once the running ones are done; `report(trial)` after each trial;
    `one_at_a_time()` true: the engine proposes from finished trials (bayes), so no new trial starts while
    one runs. Trials are proposed in the same order as one at a time (grid: the same trials). `work`: what
    a worker runs for a screening call (`train_trial`; tests pass a stand-in).

    A worker that dies hard (os._exit, a segfault, the OOM killer) breaks the whole pool: every trial then
    running ends with BrokenProcessPool. The pool is rebuilt; a trial that was running alone is recorded
    as failed, and trials that were running together are rerun one at a time (the one that kills its
    worker again alone is failed; the others finish as they would have).
    """
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    queue = list(queue)
    alone: list[Trial] = []  # trials of a broken pool whose culprit is unknown: rerun one at a time
    suspects: set[str] = set()  # ids of those trials (while one of them runs, nothing else starts)
    running = {}  # future -> trial

    def collect(done) -> bool:
        """Record the done trials; True when the pool broke (its broken trials are failed or go to `alone`)."""
        if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
            # a broken pool fails its futures one at a time: wait for all, or an innocent trial that is
            # still running looks like the one that died alone
            done = wait(running).done
        broken = [running.pop(f) for f in done if isinstance(f.exception(), BrokenProcessPool)]
        for future in done:
            if future not in running:
                continue
            trial = running.pop(future)
            finish(sweep_dir, trial, future.result() if future.exception() is None else 1)
            report(trial)
        if len(broken) == 1 and not running:  # it ran alone: it killed its worker
            trial = finish(sweep_dir, broken[0], BROKEN_WORKER)
            trial.status["reason"] = "its worker process died (BrokenProcessPool)"
            sweep_dir.save(trial)
            report(trial)
        else:
            alone.extend(broken)
            suspects.update(t.id for t in broken)
        return bool(broken)

    def submit(trial: Trial, command: list[str], call: tuple) -> bool:
        """Start `trial` in the pool; False when the pool broke since the last wait (a worker died): the
        trial never ran, is recorded interrupted and goes back to the front of its queue. A pool that broke
        with nothing running (an idle worker killed) is rebuilt here; otherwise collect() finds the cause."""
        nonlocal pool
        run_dir, log_path = start(sweep_dir, trial, command)
        try:
            running[pool.submit(work, *call, run_dir, log_path)] = trial
        except BrokenProcessPool:
            interrupted(sweep_dir, trial)
            (alone if trial.id in suspects else queue).insert(0, trial)
            if not running:
                pool = rebuild(pool, jobs)
            return False
        return True

    def may_start() -> bool:
        if alone or any(t.id in suspects for t in running.values()):
            return False
        return len(running) < jobs and not (running and one_at_a_time())

    pool = make_pool(jobs)
    try:
        while True:
            if alone and not running:  # suspects of a broken pool: one at a time
                trial = alone.pop(0)
                submit(trial, *prepare(trial))
            while may_start():
                trial = queue.pop(0) if queue else next_trial()
                if trial is None:
                    break
                command, call = prepare(trial)
                if call is None:
                    if collect(wait(running).done):
                        pool = rebuild(pool, jobs)
                    run(trial)
                    continue
                if not submit(trial, command, call):
                    break  # the broken pool's running trials are collected below, then it is rebuilt
            if not running:
                if queue or alone:  # requeued by a submit to a pool that broke while idle (now rebuilt)
                    continue
                break
            if collect(wait(running, return_when=FIRST_COMPLETED).done):
                pool = rebuild(pool, jobs)
    except BaseException:
        stop_pool(pool)
        for trial in running.values():
            interrupted(sweep_dir, trial)
        raise
    pool.shutdown()


BROKEN_WORKER = -9  # exit code recorded for a trial whose worker process died


def rebuild(pool, jobs: int):
    """A fresh pool in place of a broken one (its workers are gone)."""
    pool.shutdown(wait=False, cancel_futures=True)
    return make_pool(jobs)
