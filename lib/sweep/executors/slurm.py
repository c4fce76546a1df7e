"""The SLURM executor: each run is a SLURM job submitted through submitit, at most `workers` at once.

Jobs run the same `execute_run` in a work folder under `--storage` (a shared filesystem) where the
checkpoints stay; the run's records travel back and land in its run folder as a local run's do.
Needs `pip install -e ".[cluster]"` and a SLURM login node (`sbatch` on PATH).
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any

from lib.core.layout import SUBMITTED
from lib.sweep.executors.base import ClusterError, RunOutcome, RunTask, land, remote_run, send_out


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
        task = send_out(task, self.cpus)
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
            ended.append((task, land(task, outcome)))
        return ended

    def cancel(self) -> None:  # leave no job running that nobody collects
        for job, task, _ in self._in_flight:
            job.cancel(check=False)
            (Path(task.run_dir) / SUBMITTED).unlink(missing_ok=True)
        self._in_flight.clear()

    def close(self) -> None:
        self.cancel()
