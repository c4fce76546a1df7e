"""The Ray executor: each run is a Ray task with its own resource request, at most `workers` in flight.

A task asks for `cpus_per_run` CPUs and `gpus_per_run` GPUs (fractions let small runs share a GPU).
When a task's worker process dies, Ray retries it up to `max_retries` times, and the retry resumes
from the run's last checkpoint in storage. The run's records travel back and land in its run folder
exactly as a local run's do. Needs `pip install -e ".[cluster]"`.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from lib.core.layout import SUBMITTED
from lib.sweep.executors.base import ClusterError, RunOutcome, RunTask, land, remote_run, send_out


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
        task = send_out(task, self.cpus)
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
            ended.append((task, land(task, outcome)))
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
