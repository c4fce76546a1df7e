"""Executing the runs of a sweep: one papermill process per run, locally or on a cluster.

`execute_run` is the unit of work everywhere: it runs notebooks/train.ipynb with the run's
parameters through papermill in a child process group (a runner of lib.kernels: warm, when the
LocalExecutor started it while the slot's previous run trained), keeps the run's log, turns any failure
(an exception, a dead kernel, a timeout) into a record instead of an exception, and reports the
outcome. Executors decide where that happens:

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
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from lib.kernels import KernelPool, Runner
from lib.records import FINISHED_STATUSES, atomic_write_bytes, atomic_write_text, read_json, write_json
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

    def notebook_parameters(self) -> dict[str, Any]:
        """Every RunConfig field, so no default of the notebook's parameters cell reaches the run."""
        return run_values(self.sweep, self.name, self.params, self.work_dir)


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


class LocalExecutor:
    """Runs tasks in `workers` parallel papermill processes on this machine."""

    name = "local"

    def __init__(self, workers: int = 1):
        self.workers = workers

    def run(self, tasks: list[RunTask], on_start: Callable[[RunTask], None],
            on_done: Callable[[RunTask, RunOutcome], None]) -> None:
        gpus = visible_gpus()
        if 0 < len(gpus) < self.workers:
            print(f"note: {self.workers} workers share {len(gpus)} GPU(s)", file=sys.stderr)
        envs = worker_environments(self.workers, gpus)
        slots: queue.Queue[dict[str, str]] = queue.Queue()
        for env in envs:
            slots.put(env)
        lock = threading.Lock()
        # The next run's kernel warms up while a slot's run trains; SWEEPLAB_WARM_KERNELS=0 starts each cold.
        kernels = KernelPool(warm=os.environ.get("SWEEPLAB_WARM_KERNELS", "1") != "0")
        waiting = list(tasks)  # not yet started, in order

        def one(task: RunTask) -> None:
            env = slots.get()
            try:
                with lock:
                    on_start(task)
                    waiting.remove(task)
                    # this slot's next run, as the other slots' next ones are being prepared already
                    following = waiting[self.workers - 1] if len(waiting) >= self.workers else None
                run_env = {**env, **task.env}
                runner = kernels.take(task.notebook, run_env)
                try:
                    if following is not None:
                        kernels.prepare(following.notebook, {**env, **following.env})
                    outcome = execute_run(RunTask(**{**asdict(task), "env": run_env}), runner=runner)
                finally:
                    runner.close()  # only when execute_run did not hand it the run
                with lock:
                    on_done(task, outcome)
            finally:
                slots.put(env)

        for env, task in zip(envs, tasks):  # the first runs' kernels, one per slot
            kernels.prepare(task.notebook, {**env, **task.env})
        pool = ThreadPoolExecutor(self.workers)
        try:
            pending = {pool.submit(one, t) for t in tasks}
            while pending:
                # A short timeout: a signal may land in a worker thread, and the main thread only
                # raises KeyboardInterrupt once it runs Python code again.
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
        except BaseException:  # Ctrl-C: kill what runs, start nothing more
            stop_all()
            pool.shutdown(wait=False, cancel_futures=True)
            kernels.close()
            raise
        pool.shutdown()
        kernels.close()
