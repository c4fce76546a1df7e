"""Executing the runs of a sweep: one papermill process per run, locally or on a cluster.

`execute_run` is the unit of work everywhere: it runs notebooks/train.ipynb with the run's
parameters through papermill in a child process group (a runner of lib.kernels: warm, when the
LocalExecutor started it while the slot's previous run trained), keeps the run's log, turns any failure
(an exception, a dead kernel, a timeout) into a record instead of an exception, and reports the
outcome. Executors decide where that happens, behind one interface (`Executor`): `submit` a run,
`poll` for the runs that ended, `cancel` what runs. `drive` is the one loop over any of them; it
asks for the next run whenever a place frees, so a search can choose each run from the results so far.

- `LocalExecutor`: N runs at once on this machine, each with its own GPU or share of CPU threads.
- `RayExecutor` and `SlurmExecutor` (lib.cluster): the same function as a Ray task or a SLURM job.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Protocol

import yaml

from lib.kernels import KernelPool, Runner
from lib.records import FINISHED_STATUSES, atomic_write_bytes, atomic_write_text, read_json, write_json
from lib.search import TrialRef
from lib.sweepfile import run_values

# Records that travel back from wherever a run executed (checkpoints stay in its work_dir).
RECORD_FILES = ("train.ipynb", "config.json", "history.csv", "metrics.json", "run.log", "failure.json")
PARTIAL_NOTEBOOK = "train.partial.ipynb"


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
    """Everything needed to execute one run, anywhere."""

    sweep: str
    name: str
    params: dict[str, Any]  # RunConfig fields from the sweep file
    run_dir: str  # where the records land (reports/<sweep>/runs/<name>)
    work_dir: str  # where the run executes and keeps checkpoints (run_dir, or a storage path)
    notebook: str  # notebooks/train.ipynb
    timeout_s: float | None = None
    env: dict[str, str] = field(default_factory=dict)
    trial: TrialRef | None = None  # the study trial the run reports to (search, early termination)

    def notebook_parameters(self) -> dict[str, Any]:
        """Every RunConfig field, so no default of the notebook's parameters cell reaches the run."""
        return run_values(self.sweep, self.name, self.params, self.work_dir, self.trial)


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
    `runner` is a warm one for this task's notebook and environment (lib.kernels); without one, a
    runner starts here, cold."""
    if _STOPPING.is_set():
        return RunOutcome(task.name, "interrupted", 0.0, "stopped by the user")
    work = Path(task.work_dir)
    finished = _read_metrics(work)
    if finished and finished.get("status") in FINISHED_STATUSES:  # never re-execute or rewrite a finished run
        return RunOutcome(task.name, finished["status"], 0.0, None, finished,
                          collect_records(work) if collect else None)
    work.mkdir(parents=True, exist_ok=True)
    (work / "failure.json").unlink(missing_ok=True)
    params_file = work / "params.yaml"
    atomic_write_text(params_file, yaml.safe_dump(task.notebook_parameters(), sort_keys=False))
    partial = work / PARTIAL_NOTEBOOK
    start = time.monotonic()
    runner = runner or Runner(task.notebook, task.env)
    with open(work / "run.log", "a") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {task.name} on {os.uname().nodename} "
                  f"(pid {os.getpid()}) ===\n")
    process = runner.start(partial, params_file, work / "run.log")
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    try:
        code = process.wait(timeout=task.timeout_s)
        error = None if code == 0 else _failure_message(work / "run.log", code)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        code, error = -signal.SIGKILL, f"timed out after {task.timeout_s:g} s"
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)
    if partial.exists():
        os.replace(partial, work / "train.ipynb")
    seconds = time.monotonic() - start
    if _STOPPING.is_set() and code != 0:
        return RunOutcome(task.name, "interrupted", seconds, "stopped by the user")
    metrics = _read_metrics(work)
    status = metrics["status"] if error is None and metrics and metrics.get("status") in FINISHED_STATUSES \
        else "failed"
    if status == "failed":
        error = error or "the notebook finished without writing metrics.json"
        write_json(work / "failure.json", {"error": error, "exit_code": code, "seconds": round(seconds, 1),
                                           "host": os.uname().nodename, "time": time.strftime("%Y-%m-%dT%H:%M:%S")})
    records = collect_records(work) if collect else None
    return RunOutcome(task.name, status, seconds, error, metrics if status != "failed" else None, records)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _read_metrics(work: Path) -> dict[str, Any] | None:
    try:
        metrics = read_json(work / "metrics.json")
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
        elif name == "failure.json":
            (run_dir / name).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------


def worker_environments(workers: int, gpus: list[str], cpus: int | None = None) -> list[dict[str, str]]:
    """Per-slot environment: one of `gpus` each (round robin, shared only when there are more
    workers than GPUs), and an even share of the CPU threads, so parallel runs don't oversubscribe
    the cores."""
    cpus = cpus or usable_cpus()
    threads = str(max(1, cpus // workers))
    envs = []
    for slot in range(workers):
        env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]
        envs.append(env)
    return envs


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask: a container's or SLURM's share)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES entries."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g.strip() for g in visible.split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


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
          on_done: Callable[[RunTask, RunOutcome], None]) -> None:
    """Run tasks until `next_task` has none left and none is in flight. `next_task` is asked whenever
    a place frees, so what runs next may depend on what ended (an asynchronous search). On any
    exception, Ctrl-C included, the runs in flight are cancelled."""
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
    except BaseException:
        executor.cancel()
        raise


class LocalExecutor:
    """Runs tasks in `workers` parallel papermill processes on this machine, each worker slot with its
    own environment (GPU, CPU threads)."""

    name = "local"

    def __init__(self, workers: int = 1):
        self.capacity = workers
        self._slots: queue.Queue[dict[str, str]] | None = None
        self._done: queue.Queue[tuple[RunTask, RunOutcome]] = queue.Queue()
        self._pool = ThreadPoolExecutor(workers)
        # A slot's next kernel warms up while its run trains; SWEEPLAB_WARM_KERNELS=0 starts each cold.
        self._kernels = KernelPool(warm=os.environ.get("SWEEPLAB_WARM_KERNELS", "1") != "0")

    def _free_slots(self) -> queue.Queue[dict[str, str]]:
        if self._slots is None:
            gpus = visible_gpus()
            if 0 < len(gpus) < self.capacity:
                print(f"note: {self.capacity} workers share {len(gpus)} GPU(s)", file=sys.stderr)
            self._slots = queue.Queue()
            for env in worker_environments(self.capacity, gpus):
                self._slots.put(env)
        return self._slots

    def submit(self, task: RunTask) -> None:
        self._pool.submit(self._execute, task, self._free_slots().get_nowait())

    def _execute(self, task: RunTask, env: dict[str, str]) -> None:
        run_env = {**env, **task.env}
        runner = self._kernels.take(task.notebook, run_env)
        try:
            # the slot's next run most likely has the same notebook and environment: warm it now
            self._kernels.prepare(task.notebook, run_env)
            outcome = execute_run(replace(task, env=run_env), runner=runner)
        except BaseException as exc:  # a bug here must not leave the driver waiting for ever
            outcome = RunOutcome(task.name, "failed", 0.0, f"{type(exc).__name__}: {exc}")
        finally:
            runner.close()  # only when execute_run did not hand it the run
            self._free_slots().put(env)
        self._done.put((task, outcome))

    def poll(self, timeout_s: float) -> list[tuple[RunTask, RunOutcome]]:
        try:
            ended = [self._done.get(timeout=timeout_s)]
        except queue.Empty:
            return []
        while not self._done.empty():
            ended.append(self._done.get_nowait())
        return ended

    def cancel(self) -> None:
        stop_all()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._kernels.close()

    def close(self) -> None:
        self._pool.shutdown()  # the runs taken from the kernel pool have ended: its runners may go
        self._kernels.close()
