"""Where a sweep's runs execute: one module per executor behind one interface (base.Executor), and the
one list of their names. Importing this package imports no executor: Ray and submitit load only when
their executor is chosen.
"""

from __future__ import annotations

import argparse
from pathlib import Path

# --executor NAME: what it is (the command line's help lists these)
EXECUTORS = {
    "local": "processes on this machine, --workers at once (a GPU or a share of the cores each)",
    "ray": "Ray tasks on a Ray cluster (--address), or on one started on this machine",
    "slurm": "SLURM jobs through submitit, from a login node",
}


def checkpoint_storage(args: argparse.Namespace) -> Path | None:
    """Where cluster runs keep checkpoints (--storage, else reports/.storage); local runs keep them in
    their run folder (None)."""
    if args.executor == "local":
        return None
    return Path(args.storage) if args.storage else Path(args.reports_dir) / ".storage"


def make_executor(args: argparse.Namespace):
    """The executor `--executor` names, configured from the command line."""
    if args.executor == "local":
        from lib.sweep.executors.local import LocalExecutor

        return LocalExecutor(args.workers)
    if args.executor == "ray":
        from lib.sweep.executors.ray import RayExecutor

        return RayExecutor(args.address, args.workers, args.cpus_per_run, args.gpus_per_run, args.max_retries)
    if args.executor == "slurm":
        from lib.sweep.executors.slurm import SlurmExecutor

        return SlurmExecutor(checkpoint_storage(args) / "submitit", args.workers, args.partition, args.time_limit,
                             args.cpus_per_run, args.gpus_per_run, local=args.slurm_local)
    raise ValueError(f"unknown executor {args.executor!r}; valid: {', '.join(EXECUTORS)}")
