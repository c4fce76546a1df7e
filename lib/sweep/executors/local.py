"""The local executor: N runs at once on this machine, each worker slot with its own GPU or share of
the CPU threads, and the slot's next kernel warming up while its run trains (lib.sweep.executors.kernels).
"""

from __future__ import annotations

import os
import queue
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from lib.sweep.executors.base import RunOutcome, RunTask, execute_run, stop_all
from lib.sweep.executors.kernels import KernelPool


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
