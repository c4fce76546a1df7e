"""A sweep's plan: which runs it has, which of them to execute now, what their records say, and the
records of the plan itself (sweep.json), under the one lock that lets one `run` of a sweep go at a time.

A run's state is read from its folder (lib.core.records.run_state), so the plan after a crash or a
kill is the plan before it: finished runs stay finished, interrupted ones resume from their checkpoints.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from lib.core.formatting import is_number, timestamp
from lib.core.layout import CONFIG, SWEEP_JSON, SWEEP_LOCK, run_dir, runs_dir
from lib.core.locks import LockBusy, hold
from lib.core.records import RunState, read_json, run_state, write_json
from lib.config.runconfig import COMPUTE_FIELDS, config_diff, group_warnings
from lib.config.errors import SweepFileError
from lib.config.runs import config_key
from lib.config.sweepfile import Sweep
from lib.sweep.study import SweepStudy, with_search_runs


def sweep_root(sweep: Sweep, reports_dir: str | Path) -> Path:
    return Path(reports_dir) / sweep.name


def _saved_config(folder: Path) -> dict[str, Any] | None:
    """A run folder's config.json, or None when it is missing; unreadable is reported and counts as missing."""
    path = folder / CONFIG
    if not path.is_file():
        return None
    try:
        saved = read_json(path)
    except (OSError, ValueError) as exc:
        print(f"warning: {path} is unreadable ({type(exc).__name__}); the run's checkpoint decides whether it "
              f"resumes", file=sys.stderr)
        return None
    return saved if isinstance(saved, dict) else None


def _identity(config: dict[str, Any]) -> str:
    """What a run computes, as a key: its config without the settings that only say where and how fast."""
    return json.dumps({k: config.get(k) for k in COMPUTE_FIELDS}, sort_keys=True)


def adopt_renamed_runs(sweep: Sweep, root: Path) -> list[tuple[str, str]]:
    """Give existing records to planned runs that compute the same thing under a new name (adding
    `seeds` to a sweep renames its runs, say), so nothing that ran runs again. Returns (old, new) names."""
    runs = runs_dir(root)
    planned = {spec.name for spec in sweep.runs}
    if not runs.is_dir():
        return []
    orphans = {}
    for folder in sorted(p for p in runs.iterdir() if p.is_dir() and p.name not in planned):
        saved = _saved_config(folder)
        if saved is not None:
            orphans.setdefault(_identity(saved), folder)
    moved = []
    for spec in sweep.runs:
        target = runs / spec.name
        if target.exists() or not orphans:
            continue
        source = orphans.pop(_identity(spec.config.to_dict()), None)
        if source is not None:
            os.rename(source, target)
            moved.append((source.name, spec.name))
    return moved


def check_records_match(sweep: Sweep, root: Path) -> None:
    """Refuse to mix a run's existing records with a different config under the same name: the saved config.json
    against the run's one validated config (its folder and trial, where it runs, are no part of the comparison)."""
    for spec in sweep.runs:
        folder = run_dir(root, spec.name)
        saved = _saved_config(folder)
        if saved is None:
            continue
        diffs = config_diff(saved, spec.config.to_dict())
        if diffs:
            raise SweepFileError(
                f"{folder} holds a run made with other settings ({'; '.join(diffs)} (on disk -> sweep file)); "
                f"give the sweep a new name, or delete that folder to run it again")


def write_sweep_record(sweep: Sweep, root: Path, study: SweepStudy | None = None) -> None:
    record = {**sweep.to_dict(), "updated": timestamp(),
              "file_text": sweep.path.read_text() if sweep.path else None, "study": study.spec if study else None}
    write_json(root / SWEEP_JSON, record)


def plan(sweep: Sweep, root: Path, retry_failed: bool = False) -> tuple[list[str], dict[str, RunState]]:
    """The runs to execute now, and the state of every run."""
    states = {spec.name: run_state(run_dir(root, spec.name)) for spec in sweep.runs}
    todo = [name for name, st in states.items()
            if st.status in ("pending", "submitted", "interrupted") or (retry_failed and st.status == "failed")]
    return todo, states


def confirmation(sweep: Sweep, root: Path) -> Sweep:
    """The sweep with its confirmation runs, once every other run has ended: the `confirm.top`
    configurations with the highest mean validation accuracy (ties: the earlier in the file), each with
    the extra seeds. Decided from the records alone, so a rerun plans the same runs."""
    if not sweep.confirm_top:
        return sweep
    states = {spec.name: run_state(run_dir(root, spec.name)) for spec in sweep.runs}
    if any(st.status in ("pending", "submitted", "interrupted", "running") for st in states.values()):
        return sweep
    scores: dict[str, list[float]] = {}
    configs: dict[str, dict[str, Any]] = {}
    for spec in sweep.runs:
        st = states[spec.name]
        if st.status in ("completed", "early_stopped") and is_number(st.val_acc):
            config = {k: v for k, v in spec.params.items() if k != "seed"}
            key = config_key(config)
            configs.setdefault(key, config)
            scores.setdefault(key, []).append(st.val_acc)
    order = list(configs)
    best = sorted(order, key=lambda k: (-sum(scores[k]) / len(scores[k]), order.index(k)))[:sweep.confirm_top]
    return sweep.with_confirmation([configs[k] for k in best])


def wait_for_running(sweep: Sweep, root: Path, retry_failed: bool, wait_s: float = 30.0):
    """Plan again once runs that hold their lock let go: after the sweep process is killed, its
    kernels notice within a second or two. Runs still held after `wait_s` belong to another live
    sweep process, and executing them twice would corrupt them."""
    deadline = time.monotonic() + wait_s
    while True:
        todo, states = plan(sweep, root, retry_failed)
        running = [n for n, st in states.items() if st.status == "running"]
        if not running:
            return todo, states
        if time.monotonic() > deadline:
            raise SweepFileError(f"runs {', '.join(running)} are being executed by another process right now; "
                                 f"wait for it or stop it, then run again")
        time.sleep(0.5)


def sweep_warnings(sweep: Sweep) -> list[str]:
    """Each distinct warning of the sweep's runs once, with how many runs it concerns."""
    found = group_warnings((spec.name, spec.config, spec.params)
                           for spec in sweep.runs)
    return [line + ("" if len(names) == len(sweep.runs) == 1 else
                    f" ({len(names)} of {len(sweep.runs)} runs" + (f", e.g. {names[0]})" if len(names) < len(
                        sweep.runs) else ")"))
            for line, names in found.items()]


def planned_sweep(sweep: Sweep, root: Path, study: SweepStudy | None) -> Sweep:
    """The sweep's runs as they stand: a search's trials so far, then confirmation runs once every run
    has ended (and a search has spent its budget)."""
    sweep = with_search_runs(sweep, study)
    if sweep.search and (study is None or study.budget_left() > 0):
        return sweep
    return confirmation(sweep, root)


def trials_left(sweep: Sweep, study: SweepStudy | None) -> int:
    """New trials a search may still start (its whole budget when it has no study yet)."""
    if sweep.search is None:
        return 0
    return study.budget_left() if study else sweep.search.trials


@contextmanager
def sweep_lock(root: Path, name: str) -> Iterator[None]:
    """One `run` per sweep folder at a time. A second process exits at once, naming the first; the lock
    dies with its process, so a killed sweep never blocks the next run."""
    try:
        with hold(root / SWEEP_LOCK):
            yield
    except LockBusy as busy:
        raise SweepBusyError(f"sweep {name!r} is already running ({busy.who()}); wait for it, or stop it and run "
                             f"this command again to resume. `python -m lib.sweep status` shows its progress") from None


class SweepBusyError(SweepFileError):
    """Another process is running the same sweep."""
