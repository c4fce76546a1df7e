"""Where a sweep's runs execute: one module per executor behind one interface (base.Executor), and the
one table of their names, `EXECUTORS`: name -> (help, factory). Adding an executor is its module, its
line in that table and its test. Importing this package imports no executor: Ray and submitit load only
when their executor is chosen.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable, NamedTuple

__all__ = ["EXECUTORS", "Executor", "checkpoint_storage", "make_executor"]


class Executor(NamedTuple):
    """One entry of the table: what `--executor NAME` is (the command line's help lists these), and the
    function that builds it from the parsed command line."""

    help: str
    factory: Callable[[argparse.Namespace], Any]


def checkpoint_storage(args: argparse.Namespace) -> Path | None:
    """Where cluster runs keep checkpoints (--storage, else reports/.storage); local runs keep them in
    their run folder (None)."""
    if args.executor == "local":
        return None
    return Path(args.storage) if args.storage else Path(args.reports_dir) / ".storage"


def _local(args: argparse.Namespace):
    from lib.sweep.executors.local import LocalExecutor

    return LocalExecutor(args.workers)


def _ray(args: argparse.Namespace):
    from lib.sweep.executors.ray import RayExecutor

    return RayExecutor(args.address, args.workers, args.cpus_per_run, args.gpus_per_run, args.max_retries)


def _slurm(args: argparse.Namespace):
    from lib.sweep.executors.slurm import SlurmExecutor

    return SlurmExecutor(checkpoint_storage(args) / "submitit", args.workers, args.partition, args.time_limit,
                         args.cpus_per_run, args.gpus_per_run, local=args.slurm_local)


EXECUTORS: dict[str, Executor] = {
    "local": Executor("processes on this machine, --workers at once (a GPU or a share of the cores each)", _local),
    "ray": Executor("Ray tasks on a Ray cluster (--address), or on one started on this machine", _ray),
    "slurm": Executor("SLURM jobs through submitit, from a login node", _slurm),
}


def make_executor(args: argparse.Namespace):
    """The executor `--executor` names, configured from the command line."""
    entry = EXECUTORS.get(args.executor)
    if entry is None:
        raise ValueError(f"unknown executor {args.executor!r}; valid: {', '.join(EXECUTORS)}")
    return entry.factory(args)
