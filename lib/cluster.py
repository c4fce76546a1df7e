"""Sweeps beyond one machine: each run as a Ray task, or as a SLURM job through submitit.

Both executors run the same `execute_run` as the local one, in a work folder under `--storage`
(a shared filesystem on a real cluster) where checkpoints stay; the run's records (executed
notebook, config, metrics, history, log) travel back to the driver and land in
reports/<sweep>/runs/<run>/ exactly as a local run's do, so `status` and `report` work unchanged.

Ray: a task asks for `cpus_per_run` CPUs and `gpus_per_run` GPUs (fractions let small runs share a
GPU). When a task's worker process dies, Ray retries it up to `max_retries` times, and the retry
resumes from the run's last checkpoint in storage. Needs `pip install -e ".[cluster]"`.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from lib.executors import ClusterError, RunOutcome, RunTask, execute_run, land_records
from lib.records import SUBMITTED, write_json


def _threads_env(cpus: float) -> dict[str, str]:
    threads = str(max(1, math.floor(cpus)))
    return {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}


def remote_run(task: RunTask) -> dict[str, Any]:
    """What a Ray task or SLURM job executes: one run, its records collected for the driver."""
    Path(task.work_dir).mkdir(parents=True, exist_ok=True)
    (Path(task.work_dir) / "worker.pid").write_text(str(os.getpid()))
    return asdict(execute_run(task, collect=True))


def _send_out(task: RunTask, cpus: float) -> RunTask:
    """The task with its thread count set, marked in its run folder as out on the cluster (its lock
    and checkpoints are in storage, so `status` would otherwise call it pending)."""
    write_json(Path(task.run_dir) / SUBMITTED, {"work_dir": task.work_dir, "host": os.uname().nodename,
                                                "time": time.strftime("%Y-%m-%dT%H:%M:%S")})
    return replace(task, env={**task.env, **_threads_env(cpus)})


def _land(task: RunTask, outcome: RunOutcome) -> RunOutcome:
    run_dir = Path(task.run_dir)
    (run_dir / SUBMITTED).unlink(missing_ok=True)
    if outcome.records is not None:
        land_records(outcome.records, run_dir)
    elif outcome.failed:  # the task itself died: nothing came back but the error
        write_json(run_dir / "failure.json", {"error": outcome.error, "seconds": round(outcome.seconds, 1)})
    outcome.records = None
    return outcome


class RayExecutor:
    """Each run is a Ray task with its own resource request; at most `workers` in flight."""

    name = "ray"

    def __init__(self, address: str | None, workers: int, cpus_per_run: float, gpus_per_run: float | None,
                 max_retries: int):
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ClusterError("--executor ray needs Ray: pip install -e '.[cluster]'") from None
        self.address, self.capacity, self.cpus, self.gpus = address, workers, cpus_per_run, gpus_per_run
        self.max_retries = max_retries
        self._remote = None
        self._started_here = False
        self._in_flight: dict[Any, tuple[RunTask, float]] = {}

    def _connect(self):
        import ray

        if self._remote is not None:
            return self._remote
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:  # a local cluster on loopback, sized to this machine
                ray.init(num_cpus=max(os.cpu_count() or 1, math.ceil(self.cpus)), include_dashboard=False,
                         log_to_driver=False, _node_ip_address="127.0.0.1")
            self._started_here = True
        gpus = self.gpus if self.gpus is not None else (1.0 if ray.cluster_resources().get("GPU", 0) else 0.0)
        self._remote = ray.remote(remote_run).options(num_cpus=self.cpus, num_gpus=gpus,
                                                      max_retries=self.max_retries, retry_exceptions=False)
        return self._remote

    def submit(self, task: RunTask) -> None:
        remote = self._connect()
        task = _send_out(task, self.cpus)
        self._in_flight[remote.remote(task)] = (task, time.monotonic())

    def poll(self, timeout_s: float) -> list[tuple[RunTask, RunOutcome]]:
        import ray

        if not self._in_flight:
            return []
        done, _ = ray.wait(list(self._in_flight), num_returns=1, timeout=timeout_s)
        if done:
            done, _ = ray.wait(list(self._in_flight), num_returns=len(self._in_flight), timeout=0)
        ended = []
        for ref in done:
            task, start = self._in_flight.pop(ref)
            try:
                outcome = RunOutcome(**ray.get(ref))
            except ray.exceptions.RayError as exc:  # retries used up: the worker kept dying
                message = str(exc).strip().splitlines()[0][:300]
                outcome = RunOutcome(task.name, "failed", time.monotonic() - start, f"Ray task failed: {message}")
            ended.append((task, _land(task, outcome)))
        return ended

    def cancel(self) -> None:
        import ray

        for ref, (task, _) in self._in_flight.items():
            ray.cancel(ref, force=True)
            (Path(task.run_dir) / SUBMITTED).unlink(missing_ok=True)
        self._in_flight.clear()

    def close(self) -> None:
        import ray

        self.cancel()
        if self._started_here:
            ray.shutdown()
            self._started_here, self._remote = False, None


class SlurmExecutor:
    """Each run is a SLURM job submitted through submitit; at most `workers` jobs at once.

    `local=True` uses submitit's local executor (jobs as processes on this machine), which is how
    the tests exercise this path without a SLURM cluster.
    """

    name = "slurm"

    def __init__(self, folder: Path, workers: int, partition: str | None, time_limit_min: int,
                 cpus_per_run: float, gpus_per_run: float | None, local: bool = False):
        try:
            import submitit
        except ImportError:
            raise ClusterError("--executor slurm needs submitit: pip install -e '.[cluster]'") from None
        if not local and shutil.which("sbatch") is None:
            raise ClusterError("--executor slurm found no sbatch on PATH; run the sweep on a SLURM login node")
        self.capacity = workers
        self.executor = submitit.AutoExecutor(folder=str(folder), cluster="local" if local else "slurm")
        params: dict[str, Any] = {"timeout_min": time_limit_min, "cpus_per_task": max(1, math.ceil(cpus_per_run)),
                                  "gpus_per_node": int(math.ceil(gpus_per_run or 0))}
        if partition:
            params["slurm_partition"] = partition
        self.executor.update_parameters(name="sweeplab", **params)
        self.cpus = cpus_per_run
        self._in_flight: list[tuple[Any, RunTask, float]] = []

    def submit(self, task: RunTask) -> None:
        task = _send_out(task, self.cpus)
        self._in_flight.append((self.executor.submit(remote_run, task), task, time.monotonic()))

    def poll(self, timeout_s: float) -> list[tuple[RunTask, RunOutcome]]:
        deadline = time.monotonic() + timeout_s
        while True:
            finished = [entry for entry in self._in_flight if entry[0].done()]
            if finished or time.monotonic() >= deadline or not self._in_flight:
                break
            time.sleep(min(0.25, timeout_s))
        ended = []
        for entry in finished:
            self._in_flight.remove(entry)
            job, task, start = entry
            try:
                outcome = RunOutcome(**job.result())
            except Exception as exc:  # the job died, timed out or was cancelled
                text = str(exc).strip()
                message = text.splitlines()[-1][:300] if text else type(exc).__name__
                outcome = RunOutcome(task.name, "failed", time.monotonic() - start,
                                     f"SLURM job {job.job_id} failed: {message}")
            ended.append((task, _land(task, outcome)))
        return ended

    def cancel(self) -> None:  # leave no job running that nobody collects
        for job, task, _ in self._in_flight:
            job.cancel(check=False)
            (Path(task.run_dir) / SUBMITTED).unlink(missing_ok=True)
        self._in_flight.clear()

    def close(self) -> None:
        self.cancel()


def default_storage(reports_dir: str | Path) -> Path:
    return Path(reports_dir) / ".storage"


def make_executor(args: argparse.Namespace):
    """The executor named by `--executor`, configured from the command line."""
    storage = Path(args.storage) if args.storage else default_storage(args.reports_dir)
    if args.executor == "ray":
        return RayExecutor(args.address, args.workers, args.cpus_per_run, args.gpus_per_run, args.max_retries)
    if args.executor == "slurm":
        return SlurmExecutor(storage / "submitit", args.workers, args.partition, args.time_limit,
                             args.cpus_per_run, args.gpus_per_run, local=args.slurm_local)
    raise ClusterError(f"unknown executor {args.executor!r}; valid: local, ray, slurm")
