"""`aqa sweep SWEEP.yaml [--count N] [--dir DIR]`: run a W&B sweep file offline with W&B's own sweep engine.

Each trial runs the sweep's `command` as a subprocess with `WANDB_MODE=offline` and
`AQA_RUN_DIR=<dir>/runs/<trial>` (a screening trial, `aqa train ... model.encoder.mode=cached`, runs in this
process instead, or with `--jobs N` in N worker processes: aqa/sweep/inprocess.py); its `metrics.json` is the trial's result. Interrupted sweeps resume:
finished and failed trials are kept, an interrupted trial is rerun from scratch, then the engine
proposes the next ones.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    import sweeps

from aqa.config.train import SWEEPS_ROOT
from aqa.sweep import inprocess
from aqa.sweep.command import SweepFileError, build_command, import_sweeps, load_sweep, plain
from aqa.sweep.state import TERMINAL, SweepDir, SweepDirError, Trial, finish

KILL_GRACE_SECONDS = 10  # after SIGTERM, a trial gets this long to exit before SIGKILL
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """SIGINT or SIGTERM reached the controller."""


def _raise_interrupted(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def to_sweep_run(trial: Trial) -> sweeps.SweepRun:
    """A trial as the engine sees a W&B run (config values wrapped as `{"value": ...}`)."""
    return import_sweeps().SweepRun(
        name=trial.id,
        state=trial.state if trial.state in TERMINAL else "pending",
        config={key: {"value": value} for key, value in trial.params.items()},
        summary_metrics=trial.metrics,
    )


def propose(sweep: dict, trials: list[Trial], n: int = 1) -> list[dict]:
    """Up to `n` new parameter sets from the engine (fewer when a grid is exhausted)."""
    runs = import_sweeps().next_runs(sweep, [to_sweep_run(t) for t in trials], validate=True, n=n)
    return [{k: plain(v["value"]) for k, v in run.config.items()} for run in runs if run is not None]


def _group_alive(proc: subprocess.Popen) -> bool:
    proc.poll()  # reap the trial's main process once it has exited
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(proc: subprocess.Popen) -> None:
    """Stop the trial and everything it started (its process group: DDP ranks too): SIGTERM, then SIGKILL
    to whatever is left after KILL_GRACE_SECONDS. Returns once the whole group is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.time() + KILL_GRACE_SECONDS
    while _group_alive(proc) and time.time() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    while _group_alive(proc) and time.time() < deadline + KILL_GRACE_SECONDS:
        time.sleep(0.2)


@contextlib.contextmanager
def _signals_held() -> Iterator[list[int]]:
    """SIGINT/SIGTERM arriving inside the block are recorded in the yielded list instead of raising at an
    arbitrary instant; after the block the previous handlers are back and the first recorded signal is
    re-raised through them. A no-op list outside the main thread (Python delivers signals there only)."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    previous = {}
    try:
        for sig in STOP_SIGNALS:
            previous[sig] = signal.signal(sig, lambda signum, frame: caught.append(signum))
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if caught:
        signal.raise_signal(caught[0])


def run_trial(sweep_dir: SweepDir, sweep: dict, trial: Trial, lock_fd: int) -> Trial:
    """Run one trial to completion; records finished/failed (or interrupted, then re-raises).

    From the moment the trial is marked `running` until its final state is saved, SIGINT/SIGTERM are held
    (`_signals_held`): whatever instant one arrives (during `Popen`, a save, the wait), the trial is stopped
    and recorded `interrupted` before the signal is raised again.
    """
    run_dir = sweep_dir.run_dir(trial).resolve()
    shutil.rmtree(run_dir, ignore_errors=True)  # left by an interrupted attempt: rerun from scratch
    command = build_command(sweep, trial.params, json_file=sweep_dir.trials_dir / trial.id / "args.json")
    env = {**os.environ, "WANDB_MODE": "offline", "AQA_RUN_DIR": str(run_dir)}
    attempt = trial.status.get("attempt", 0) + 1
    log_path = sweep_dir.log_path(trial)
    with _signals_held() as caught, open(log_path, "w") as log:
        trial.status = {
            "state": "running",
            "attempt": attempt,
            "command": command,
            "log": str(log_path),
            "started": time.time(),
        }
        trial.metrics = {}
        sweep_dir.save(trial)
        # own session: a Ctrl-C in the terminal reaches only us, and we stop the whole trial (DDP ranks too).
        # The lock fd is inherited so that a trial orphaned by `kill -9` of this controller keeps the sweep
        # directory locked until it ends.
        try:
            proc = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                pass_fds=(lock_fd,),
            )
        except OSError as err:
            trial.status.update(state="failed", reason=f"could not start: {err}", ended=time.time())
            sweep_dir.save(trial)
            return trial
        try:
            trial.status["pid"] = proc.pid
            sweep_dir.save(trial)
            exitcode = None
            while exitcode is None and not caught:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    exitcode = proc.wait(timeout=0.2)
        except BaseException:  # e.g. a disk error while saving: no trial is left running on its own
            _stop(proc)
            raise
        if exitcode is None:
            _stop(proc)
            trial.status.update(state="interrupted", ended=time.time())
            sweep_dir.save(trial)
            return trial  # the held signal is raised when the block ends
        finish(sweep_dir, trial, exitcode)
    return trial


def _describe(params: dict) -> str:
    """Parameters as text for the terminal (escaped: values like [a, b] are not rich markup)."""
    return escape(" ".join(f"{k}={v}" for k, v in params.items()))


def _result(trial: Trial, metric: str | None) -> str:
    if trial.state == "finished":
        value = trial.metrics.get(metric) if metric else None
        return (
            f"[green]finished[/]  {metric}={value:.4f}" if isinstance(value, float) else "[green]finished[/]"
        )
    return f"[red]{trial.state}[/] ({trial.status.get('reason', '')}), log: {trial.status.get('log', '')}"


def summary_table(trials: list[Trial], metric: str | None) -> Table:
    table = Table(title="sweep trials")
    for column in ("trial", "state", "parameters", metric or "metric"):
        table.add_column(column)
    for t in trials:
        value = t.metrics.get(metric) if metric else None
        shown = f"{value:.4f}" if isinstance(value, int | float) else ""
        table.add_row(t.id, t.state, _describe(t.params), shown)
    return table


def run_sweep(
    sweep_file: str | Path, sweep_dir: str | Path, count: int | None = None, console=None, jobs: int = 1
) -> int:
    """Run (or resume) the sweep until `count` trials exist (default: `run_cap`; grids: until exhausted);
    up to `jobs` screening trials at once."""
    console = console or Console()
    sweep = load_sweep(sweep_file)
    limit = count or sweep.get("run_cap")
    if limit is None and sweep["method"] != "grid":
        raise SweepFileError(f"a {sweep['method']} sweep needs --count N (or run_cap in the sweep file)")
    directory = SweepDir(sweep_dir)
    directory.init(sweep)
    lock_fd = directory.lock()
    metric = sweep.get("metric", {}).get("name")
    trials = directory.trials()
    total = limit if sweep["method"] != "grid" else len(trials) + len(propose(sweep, trials, n=10**6))
    total = min(total, limit) if limit else total
    console.print(f"sweep [bold]{sweep_file}[/] -> {directory.root}  ({sweep['method']}, {total} trials)")
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(
                "trials", total=total, completed=sum(t.state in TERMINAL for t in trials)
            )

            def report(trial: Trial) -> None:
                progress.console.print(f"{trial.id} {_result(trial, metric)}  {_describe(trial.params)}")
                progress.advance(task)

            def prepare(trial: Trial) -> tuple[list[str], tuple | None]:
                json_file = directory.trials_dir / trial.id / "args.json"
                command = build_command(sweep, trial.params, json_file=json_file)
                return command, inprocess.screening_call(command)

            def run(trial: Trial) -> None:
                progress.update(task, description=f"{trial.id}: {_describe(trial.params)}")
                command, call = prepare(trial)
                if call:  # a screening trial: no subprocess start-up
                    inprocess.run_screening_trial(directory, trial, command, call, reraise=(Interrupted,))
                else:
                    run_trial(directory, sweep, trial, lock_fd)
                report(trial)

            def next_trial() -> Trial | None:
                if limit is not None and len(trials) >= limit:
                    return None
                proposal = propose(sweep, trials)
                if not proposal:
                    return None
                trials.append(directory.add(proposal[0]))
                return trials[-1]

            # interrupted by a previous controller first: same parameters, from scratch
            queue = [t for t in trials if t.state not in TERMINAL]
            if jobs > 1:
                inprocess.run_parallel(
                    directory,
                    jobs,
                    queue,
                    next_trial,
                    prepare,
                    run,
                    report,
                    lambda: sweep["method"] == "bayes",
                )
            else:
                for trial in queue:
                    run(trial)
                while (trial := next_trial()) is not None:
                    run(trial)
    finally:
        os.close(lock_fd)
    console.print(summary_table(trials, metric))
    failed = [t for t in trials if t.state == "failed"]
    for t in failed:
        console.print(f"[red]failed[/] {t.id}: {t.status.get('reason')}; log: {directory.log_path(t)}")
    return 0 if any(t.state == "finished" for t in trials) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aqa sweep", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_file", help="W&B sweep YAML (e.g. sweeps/quickstart_grid.yaml)")
    parser.add_argument("--count", type=int, help="total trials in the sweep (default: run_cap; grid: all)")
    parser.add_argument("--dir", help=f"sweep directory (default: {SWEEPS_ROOT}/<sweep file name>)")
    parser.add_argument(
        "--jobs", type=int, default=1, help="screening trials at once (worker processes; default 1)"
    )
    args = parser.parse_args(argv)
    sweep_dir = args.dir or SWEEPS_ROOT / Path(args.sweep_file).stem
    previous = {sig: signal.signal(sig, _raise_interrupted) for sig in STOP_SIGNALS}
    try:
        return run_sweep(args.sweep_file, sweep_dir, args.count, jobs=args.jobs)
    except (SweepFileError, SweepDirError) as err:
        Console(stderr=True).print(f"[red]aqa sweep:[/] {err}")
        return 2
    except Interrupted as err:
        Console(stderr=True).print(f"[yellow]aqa sweep: {err}; rerun the same command to resume[/]")
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
