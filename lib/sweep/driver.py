"""Executing a sweep's runs on an executor: the next run whenever a place frees (a search asks its study
for a new trial then), its progress shown (lib.sweep.progress), and the study told how each run ended.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from lib.core.formatting import duration, is_number
from lib.core.layout import RUN_LOG, run_dir
from lib.core.paths import resolve
from lib.config.runconfig import defaults
from lib.config.sweepfile import Sweep
from lib.sweep.executors.base import RunOutcome, RunTask, drive, out_of_space, run_task, unwritten_file
from lib.sweep.plan import trials_left, write_sweep_record
from lib.sweep.progress import SweepProgress
from lib.sweep.study import SweepStudy, with_search_runs


def execute(sweep: Sweep, root: Path, names: list[str], executor, *, notebook: Path, timeout_s: float | None,
            storage: Path | None = None, study: SweepStudy | None = None,
            outside_study: set[str] = frozenset()) -> list[RunOutcome]:
    """Execute the named runs, then (a search) new trials while its budget lasts, with their progress
    (lib.sweep.progress); returns their outcomes. With a study, every run but those `outside_study` (confirmation
    runs: never trials, never pruned, never counted in a budget) reports to its trial, and the study is
    told how each run ended. A run that failed for a full disk stops the sweep (OSError), resumable."""
    queue = list(names)
    planned = {spec.name: spec for spec in sweep.runs}

    def next_task() -> RunTask | None:
        if queue:
            spec = planned[queue.pop(0)]
            trial = study.trial_for(spec.name, spec.params) if study and spec.name not in outside_study else None
        elif study and sweep.search:
            made = study.new_search_run()
            if made is None:
                return None
            spec, trial = made
            write_sweep_record(with_search_runs(sweep, study), root, study)
        else:
            return None
        folder = run_dir(root, spec.name)
        work_dir = (storage / sweep.name / spec.name) if storage else folder
        return run_task(spec, str(folder.resolve()), str(work_dir.resolve()), str(notebook.resolve()), timeout_s,
                        _data_env(), trial)

    total = len(names) + trials_left(sweep, study)
    outcomes: list[RunOutcome] = []
    progress = SweepProgress(f"{sweep.name} ({executor.name})", total, executor.capacity,
                             planned_epochs(sweep.fixed), queued=lambda: [planned_epochs(planned[n].params)
                                                                          for n in queue])

    def on_start(task: RunTask) -> None:
        progress.started(task.name, planned_epochs(task.config or {}), task.work_dir)

    def on_done(task: RunTask, outcome: RunOutcome) -> None:
        if outcome.status == "interrupted":  # stopped by the user: it stays to do
            progress.ended(task.name, None, False, None, 0.0, counted=False)
            return
        if outcome.failed and out_of_space(outcome.error):  # every later run would fail too: stop, resumable
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), unwritten_file(outcome.error)
                          or f"{task.work_dir}{os.sep} (a file of run {task.name}; its run.log names it)")
        if study:
            study.settle(task.name)
        outcomes.append(outcome)
        metrics = outcome.metrics or {}
        progress.ended(task.name, done_line(task, outcome), outcome.failed, metrics.get("epochs_run"),
                       outcome.seconds)

    try:
        drive(executor, next_task, on_start, on_done, on_tick=progress.tick)
    finally:
        progress.close()
    return outcomes


def planned_epochs(params: dict) -> int:
    """The epochs a run with these parameters is set to train (RunConfig's default where they say none)."""
    epochs = params.get("epochs")
    return epochs if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs > 0 else DEFAULT_EPOCHS


def done_line(task: RunTask, outcome: RunOutcome) -> str:
    """The line a finished run prints: how it ended, its result, its training time (lib.train's own clock,
    as status and the report give it) and its wall time (the whole notebook, kernel start included)."""
    metrics = outcome.metrics or {}
    test_acc = metrics.get("test_acc")
    detail = f"test acc {test_acc:.4f}" if is_number(test_acc) else (outcome.error or "")
    if outcome.status == "pruned":
        detail = f"stopped after epoch {metrics.get('epochs_run')}"
    training = metrics.get("wall_time_s")
    times = (f"training time {duration(training)}, " if is_number(training) else "") + \
        f"wall time {duration(outcome.seconds)}"
    return (f"{'FAILED' if outcome.failed else 'done  '} {task.name}: {outcome.status}, {detail} "
            f"({times}; log: {Path(task.run_dir) / RUN_LOG})")


DEFAULT_EPOCHS = defaults()["epochs"]


def _data_env() -> dict[str, str]:
    """Runs may execute elsewhere than the sweep was started; a relative DATA_DIR must still point right."""
    data_dir = os.environ.get("DATA_DIR")
    return {"DATA_DIR": str(resolve(data_dir))} if data_dir else {}
