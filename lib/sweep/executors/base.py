"""What every executor shares: a run as a task, its outcome, executing one, and the one loop over them.

`execute_run` is the unit of work everywhere: it runs notebooks/train.ipynb with the run's
validated config (the dict its task carries, as the one papermill parameter `config`) through
papermill in a child process group (a runner of lib.sweep.executors.kernels: warm, when the local
executor started it while the slot's previous run trained), keeps the run's
log, turns any failure (an exception, a dead kernel, a timeout) into a record instead of an
exception, and reports the outcome. Executors decide where that happens, behind one interface
(`Executor`): `submit` a run, `poll` for the runs that ended, `cancel` what runs. `drive` is the
one loop over any of them; it asks for the next run whenever a place frees, so a search can choose
each run from the results so far. The executors themselves: local.py, ray.py, slurm.py.
"""

from __future__ import annotations

import errno
import math
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Protocol

import yaml

from lib.core.formatting import timestamp
from lib.core.layout import (FAILURE, METRICS, NOTEBOOK, PARAMS, PARTIAL_NOTEBOOK, RECORD_FILES, RUN_LOG, SUBMITTED,
                             WORKER_PID)
from lib.core.records import FINISHED_STATUSES, atomic_write_bytes, atomic_write_text, read_json, write_json
from lib.core.storage import TrialRef
from lib.config.errors import ConfigError
from lib.config.runs import CONFIG_PARAMETER, placed
from lib.config.sweepfile import RunSpec
from lib.sweep.executors.kernels import Runner


class ClusterError(RuntimeError):
    """A cluster executor cannot start; the message says what to install or set."""


_RUNNING: set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()
_STOPPING = threading.Event()


def stop_all() -> None:
    """Kill every run this process started (on Ctrl-C); they stay resumable, not failed."""
    _STOPPING.set()
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for process in running:
        _kill_group(process)


@dataclass
class RunTask:
    """Everything needed to execute one run, anywhere. Its config is data: the dict of the RunConfig the sweep
    validated when it planned the run, placed where it runs; it travels as it is (to a Ray task or a SLURM
    job too) and reaches the notebook as its one parameter `config`."""

    name: str
    config: dict[str, Any] | None  # every RunConfig field (lib.config.runs.placed); None: the values are impossible
    run_dir: str  # where the records land (reports/<sweep>/runs/<name>)
    work_dir: str  # where the run executes and keeps checkpoints (run_dir, or a storage path)
    notebook: str  # notebooks/train.ipynb
    timeout_s: float | None = None
    env: dict[str, str] = field(default_factory=dict)
    problem: str | None = None  # why the values are impossible (a search drew a negative lr): recorded, not run


def run_task(spec: RunSpec, run_dir: str, work_dir: str, notebook: str, timeout_s: float | None = None,
             env: dict[str, str] | None = None, trial: TrialRef | None = None) -> RunTask:
    """The task of a planned run: its validated config (`spec.config`) placed in `work_dir` and reporting to
    `trial` (the study trial, for sweeps that search or stop runs early), as a dict."""
    try:
        config, problem = placed(spec.config, work_dir, trial).to_dict(), None
    except ConfigError as exc:
        config, problem = None, str(exc)
    return RunTask(spec.name, config, run_dir, work_dir, notebook, timeout_s, dict(env or {}), problem)


@dataclass
class RunOutcome:
    name: str
    status: str  # completed, early_stopped, diverged, failed, or interrupted (stopped by the user)
    seconds: float
    error: str | None = None
    metrics: dict[str, Any] | None = None
    records: dict[str, bytes] | None = None  # record files, when they must travel to the driver

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def execute_run(task: RunTask, collect: bool = False, runner: Runner | None = None) -> RunOutcome:
    """Run one training notebook to the end. Never raises for a failed run: it records it.
    `runner` is a warm one for this task's notebook and environment (lib.sweep.executors.kernels); without one, a
    runner starts here, cold."""
    if _STOPPING.is_set():
        return RunOutcome(task.name, "interrupted", 0.0, "stopped by the user")
    work = Path(task.work_dir)
    finished = _read_metrics(work)
    if finished and finished.get("status") in FINISHED_STATUSES:  # never re-execute or rewrite a finished run
        return RunOutcome(task.name, finished["status"], 0.0, None, finished,
                          collect_records(work) if collect else None)
    work.mkdir(parents=True, exist_ok=True)
    (work / FAILURE).unlink(missing_ok=True)
    with open(work / RUN_LOG, "a") as log:
        log.write(f"\n=== {timestamp()} {task.name} on {os.uname().nodename} "
                  f"(pid {os.getpid()}) ===\n")
    if task.config is None:  # a value no run can take (a search drew a negative lr from a normal): failed once
        error = f"invalid parameters, not run: {task.problem}"
        with open(work / RUN_LOG, "a") as log:
            log.write(f"error: {error}\n")
        write_json(work / FAILURE, {"error": error, "exit_code": None, "seconds": 0.0, "host": os.uname().nodename,
                                    "time": timestamp()})
        return RunOutcome(task.name, "failed", 0.0, error, None, collect_records(work) if collect else None)
    params_file = work / PARAMS  # papermill's parameters: the config as one value (`papermill -f` takes the file)
    atomic_write_text(params_file, yaml.safe_dump({CONFIG_PARAMETER: task.config}, sort_keys=False))
    partial = work / PARTIAL_NOTEBOOK
    start = time.monotonic()
    runner = runner or Runner(task.notebook, task.env)
    process = runner.start(partial, params_file, work / RUN_LOG)
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    try:
        code = process.wait(timeout=task.timeout_s)
        error = None if code == 0 else _failure_message(work / RUN_LOG, code)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        code, error = -signal.SIGKILL, f"timed out after {task.timeout_s:g} s"
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)
    if partial.exists():
        os.replace(partial, work / NOTEBOOK)
        from lib.sweep.publish import render_run_notebook  # nbconvert: imported where a run has ended

        render_run_notebook(work)
    seconds = time.monotonic() - start
    if _STOPPING.is_set() and code != 0:
        return RunOutcome(task.name, "interrupted", seconds, "stopped by the user")
    metrics = _read_metrics(work)
    status = metrics["status"] if error is None and metrics and metrics.get("status") in FINISHED_STATUSES \
        else "failed"
    if status == "failed" and out_of_space(error):  # not the run's fault: it stays resumable, the sweep stops
        return RunOutcome(task.name, "failed", seconds, error, None, collect_records(work) if collect else None)
    if status == "failed":
        error = error or "the notebook finished without writing metrics.json"
        write_json(work / FAILURE, {"error": error, "exit_code": code, "seconds": round(seconds, 1),
                                           "host": os.uname().nodename, "time": timestamp()})
    records = collect_records(work) if collect else None
    return RunOutcome(task.name, status, seconds, error, metrics if status != "failed" else None, records)


def out_of_space(error: str | None) -> bool:
    """Whether a run's failure message is a full disk's (ENOSPC), in the words Python gives it."""
    return bool(error) and (f"[Errno {errno.ENOSPC}]" in error or os.strerror(errno.ENOSPC) in error)


def unwritten_file(error: str | None) -> str | None:
    """The file a full disk kept a run from writing, as its failure message names it
    (`OSError: [Errno 28] No space left on device: '/data/study.journal'`), or None."""
    found = re.search(r"No space left on device: '([^']+)'", error or "")
    return found.group(1) if found else None


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _read_metrics(work: Path) -> dict[str, Any] | None:
    try:
        metrics = read_json(work / METRICS)
    except (OSError, ValueError):
        return None
    return metrics if isinstance(metrics, dict) else None


_ERROR_LINE = re.compile(r"^[\w.]*(Error|Exception|Interrupt|Exit)\b[^:]*:\s*\S")


def _failure_message(log_path: Path, code: int) -> str:
    """The most telling line of this attempt's log: the last exception papermill reports."""
    text = log_path.read_text(errors="replace")
    attempt = text[text.rfind("\n=== "):].splitlines()
    lines = [line.strip() for line in attempt[1:] if line.strip()]
    for line in reversed(lines):
        if _ERROR_LINE.match(line) and not line.startswith("papermill.exceptions.PapermillExecutionError"):
            return line[:500]
    if code < 0:
        return f"killed by signal {-code}"
    return f"papermill exited with code {code}" + (f": {lines[-1][:300]}" if lines else "")


def collect_records(work: Path) -> dict[str, bytes]:
    return {name: (work / name).read_bytes() for name in RECORD_FILES if (work / name).is_file()}


def land_records(records: dict[str, bytes], run_dir: Path) -> None:
    """Write records that came back from another machine into the run's folder."""
    for name in RECORD_FILES:
        if name in records:
            atomic_write_bytes(run_dir / name, records[name])
        elif name == FAILURE:
            (run_dir / name).unlink(missing_ok=True)


class Executor(Protocol):
    """Where runs execute. `capacity` runs at once; `drive` never submits more."""

    name: str
    capacity: int

    def submit(self, task: RunTask) -> None:
        """Start one run (a place is free)."""

    def poll(self, timeout_s: float) -> list[tuple[RunTask, RunOutcome]]:
        """The runs that ended since the last poll, waiting up to `timeout_s` for one."""

    def cancel(self) -> None:
        """Stop every run in flight; they stay resumable."""

    def close(self) -> None:
        """Let go of what the executor holds (threads, a Ray cluster it started)."""


def drive(executor: Executor, next_task: Callable[[], RunTask | None], on_start: Callable[[RunTask], None],
          on_done: Callable[[RunTask, RunOutcome], None], on_tick: Callable[[], None] = lambda: None) -> None:
    """Run tasks until `next_task` has none left and none is in flight. `next_task` is asked whenever
    a place frees, so what runs next may depend on what ended (an asynchronous search); `on_tick` after
    every wait (about twice a second), for progress. On any exception, Ctrl-C included, the runs in
    flight are cancelled."""
    in_flight = 0
    try:
        while True:
            while in_flight < executor.capacity:
                task = next_task()
                if task is None:
                    break
                executor.submit(task)
                in_flight += 1
                on_start(task)
            if not in_flight:
                return
            # A short wait: a signal may land in a worker thread, and the main thread only raises
            # KeyboardInterrupt once it runs Python code again.
            for task, outcome in executor.poll(0.5):
                in_flight -= 1
                on_done(task, outcome)
            on_tick()
    except BaseException:
        executor.cancel()
        raise


# ---------------------------------------------------------------------------------------------
# Runs on other machines (Ray, SLURM): the same execute_run there, the records brought back here


def _threads_env(cpus: float) -> dict[str, str]:
    threads = str(max(1, math.floor(cpus)))
    return {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}


def remote_run(task: RunTask) -> dict[str, Any]:
    """What a Ray task or SLURM job executes: one run, its records collected for the driver."""
    Path(task.work_dir).mkdir(parents=True, exist_ok=True)
    (Path(task.work_dir) / WORKER_PID).write_text(str(os.getpid()))
    return asdict(execute_run(task, collect=True))


def send_out(task: RunTask, cpus: float) -> RunTask:
    """The task with its thread count set, marked in its run folder as out on the cluster (its lock
    and checkpoints are in storage, so `status` would otherwise call it pending)."""
    write_json(Path(task.run_dir) / SUBMITTED, {"work_dir": task.work_dir, "host": os.uname().nodename,
                                                "time": timestamp()})
    return replace(task, env={**task.env, **_threads_env(cpus)})


def land(task: RunTask, outcome: RunOutcome) -> RunOutcome:
    run_dir = Path(task.run_dir)
    (run_dir / SUBMITTED).unlink(missing_ok=True)
    if outcome.records is not None:
        land_records(outcome.records, run_dir)
    elif outcome.failed:  # the task itself died: nothing came back but the error
        write_json(run_dir / FAILURE, {"error": outcome.error, "seconds": round(outcome.seconds, 1)})
    outcome.records = None
    return outcome
