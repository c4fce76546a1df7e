"""Executing a sweep's runs on an executor: the next run whenever a place frees (a search asks its study
for a new trial then), a progress bar across runs, and the study told how each run ended.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from lib.core.formatting import duration, is_number
from lib.core.layout import RUN_LOG, run_dir
from lib.core.paths import resolve
from lib.spec.sweepfile import Sweep
from lib.sweep.executors.base import RunOutcome, RunTask, drive, out_of_space, unwritten_file
from lib.sweep.plan import trials_left, write_sweep_record
from lib.sweep.study import SweepStudy, with_search_runs


def execute(sweep: Sweep, root: Path, names: list[str], executor, *, notebook: Path, timeout_s: float | None,
            storage: Path | None = None, study: SweepStudy | None = None,
            outside_study: set[str] = frozenset()) -> list[RunOutcome]:
    """Execute the named runs, then (a search) new trials while its budget lasts, with a progress bar
    across runs; returns their outcomes. With a study, every run but those `outside_study` (confirmation
    runs: never trials, never pruned, never counted in a budget) reports to its trial, and the study is
    told how each run ended. A run that failed for a full disk stops the sweep (OSError), resumable."""
    from tqdm import tqdm

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
        return RunTask(sweep.name, spec.name, spec.params, str(folder.resolve()), str(work_dir.resolve()),
                       str(notebook.resolve()), timeout_s, _data_env(), trial)

    total = len(names) + trials_left(sweep, study)
    outcomes: list[RunOutcome] = []
    bar = tqdm(total=total, unit="run", desc=f"{sweep.name} ({executor.name})", dynamic_ncols=True)
    counts = {"done": 0, "failed": 0, "running": 0}

    def on_start(task: RunTask) -> None:
        counts["running"] += 1
        bar.set_postfix(**counts, left=total - len(outcomes) - counts["running"], refresh=True)

    def on_done(task: RunTask, outcome: RunOutcome) -> None:
        counts["running"] -= 1
        if outcome.status == "interrupted":  # stopped by the user: it stays to do
            return
        if outcome.failed and out_of_space(outcome.error):  # every later run would fail too: stop, resumable
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), unwritten_file(outcome.error)
                          or f"{task.work_dir}{os.sep} (a file of run {task.name}; its run.log names it)")
        if study:
            study.settle(task.name)
        outcomes.append(outcome)
        counts["failed" if outcome.failed else "done"] += 1
        test_acc = (outcome.metrics or {}).get("test_acc")
        detail = f"test acc {test_acc:.4f}" if is_number(test_acc) else (outcome.error or "")
        if outcome.status == "pruned":
            detail = f"stopped after epoch {(outcome.metrics or {}).get('epochs_run')}"
        bar.write(f"{'FAILED' if outcome.failed else 'done  '} {task.name}: {outcome.status}, {detail} "
                  f"({duration(outcome.seconds)}; log: {Path(task.run_dir) / RUN_LOG})")
        bar.update(1)
        bar.set_postfix(**counts, left=total - len(outcomes) - counts["running"], refresh=True)

    try:
        drive(executor, next_task, on_start, on_done)
    finally:
        bar.close()
    return outcomes


def _data_env() -> dict[str, str]:
    """Runs may execute elsewhere than the sweep was started; a relative DATA_DIR must still point right."""
    data_dir = os.environ.get("DATA_DIR")
    return {"DATA_DIR": str(resolve(data_dir))} if data_dir else {}
