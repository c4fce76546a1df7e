"""The sweep runner's side of a study: which trial each run is, new trials for a search, results told back.

A run is tied to its trial by the trial's user attribute `run` (its folder name under runs/); the
run's parameters are in `values`. The study's own record is the truth about which trials exist,
and each run's folder the truth about how it ended, so a sweep killed at any moment resumes:
trials whose run finished are told their result, trials whose run was cut short run on (from their
checkpoints, under the same trial), and a search starts new trials only while its budget lasts.

Only `run` opens a study to write (`SweepStudy.for_run`); status, report and --dry-run read an
existing one (`existing_study`) and change nothing. Where the study is: --study-storage when given,
else where sweep.json says the sweep's study is, else study.journal in the sweep folder.

A kill can land between any two of Optuna's writes, so:
- a trial made for a named run (a grid run, a failed run retried) is enqueued with its name and
  values in its one creating record, then asked for; one left waiting is asked for on resume;
- a new search trial is named just after Optuna samples it; one the sampler handed out but that
  got no name is named on resume (its point then runs once), or, if the kill cut its sampling
  short, failed, and a grid's point enqueued again, so no point of a grid is skipped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lib.core.formatting import is_number
from lib.core.layout import run_dir, runs_dir
from lib.core.records import DAMAGED, FINISHED_STATUSES, best_epoch, load_run, run_state
from lib.core.storage import (NoSuchStudy, StudyStorageError, TrialRef, is_url, open_storage, quiet_optuna, read_study,
                              recorded_study, storage_exists, storage_problem, study_location)
from lib.config.errors import SweepFileError
from lib.config.search import StudySettings, default_startup_trials
from lib.config.sweepfile import RunSpec, Sweep

SEARCH_PREFIX = "trial-"
SEARCH_RUN = SEARCH_PREFIX + "{:03d}"  # a search run's name: its Optuna trial number


def _same_place(a: str, b: str) -> bool:
    return a == b or (not is_url(a) and not is_url(b) and os.path.realpath(a) == os.path.realpath(b))


class SweepStudy:
    """The Optuna study of a sweep that searches or stops runs early."""

    def __init__(self, sweep: Sweep, root: Path, spec: str, storage, study):
        self.sweep, self.root, self.spec, self.storage, self.study = sweep, root, spec, storage, study

    @classmethod
    def for_run(cls, sweep: Sweep, root: Path, storage: str | None = None) -> "SweepStudy":
        """The study `run` writes to: created when new (after checking no run folder belongs to a lost
        one), a journal's half-written last record dropped first; its settings checked and recorded."""
        import optuna

        quiet_optuna()
        spec = study_location(root, storage)
        recorded = recorded_study(root)
        if storage and recorded and not _same_place(spec, recorded) and storage_exists(recorded):
            raise SweepFileError(f"the study of sweep {sweep.name!r} is in {recorded} (its sweep.json), not "
                                 f"{spec}; give --study-storage {recorded}, or give the sweep a new name")
        sampler = sweep.search.sampler() if sweep.search else None  # reseeded below once trials are known
        pruner = sweep.early_terminate.pruner() if sweep.early_terminate else None
        if not storage_exists(spec):
            _check_runs_known(sweep, root, spec, [])  # before a new storage file is made
        try:
            if not is_url(spec):
                from lib.core.journal import repair_journal

                repair_journal(spec)
            opened = open_storage(spec)
            names = {s.study_name for s in opened.get_all_studies()}
            if sweep.name in names:
                study = optuna.load_study(study_name=sweep.name, storage=opened, sampler=sampler, pruner=pruner)
            else:
                _check_runs_known(sweep, root, spec, [])  # before a new, empty study is written
                study = optuna.create_study(study_name=sweep.name, storage=opened, direction=sweep.metric.direction,
                                            sampler=sampler, pruner=pruner)
            made = cls(sweep, root, spec, opened, study)
            trials = made._trials()
        except (StudyStorageError, SweepFileError):
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged journal, an unreachable database: one line
            raise StudyStorageError(storage_problem(spec, exc)) from None
        made._check_settings(write=True)
        if sweep.search:
            made.study.sampler = sweep.search.sampler(trials_before=len(trials))
            _check_runs_known(sweep, root, spec, trials)
        return made

    @classmethod
    def existing(cls, sweep: Sweep, root: Path, storage: str | None = None) -> "SweepStudy | None":
        """The sweep's study, read-only, if it exists; None when there is none yet. Nothing is written."""
        spec = study_location(root, storage)
        try:
            found = read_study(spec, sweep.name)
        except NoSuchStudy:  # a database that holds other sweeps' studies: this one has none yet
            return None
        if found is None:
            return None
        made = cls(sweep, root, spec, *found)
        try:
            made._trials()
        except StudyStorageError:
            raise
        except Exception as exc:  # noqa: BLE001 - one line, as for run
            raise StudyStorageError(storage_problem(spec, exc)) from None
        made._check_settings(write=False)
        return made

    def _check_settings(self, write: bool) -> None:
        """Refuse a study made with other settings (two searches would mix); record them in a new study."""
        settings = StudySettings(self.sweep.metric, self.sweep.search, self.sweep.early_terminate).attrs()
        recorded = self.study.user_attrs
        # Only what was recorded counts: a kill between these writes leaves some settings unrecorded.
        changed = [k for k in settings if k in recorded and not _same_setting(k, recorded[k], settings[k])]
        if changed:
            raise SweepFileError(f"the study {self.spec} was made with another {' and '.join(changed)}; give "
                                 f"the sweep a new name for a new search, or delete {self.root} to start over "
                                 f"(raising search.trials alone continues the search)")
        if write:
            for key, value in settings.items():
                if key not in recorded or recorded[key] != value:
                    self.study.set_user_attr(key, value)

    def _tell(self, number: int, value: float | None = None, state=None) -> None:
        """study.tell. Optuna's grid sampler then raises twice where it should not, after the trial is
        stored (tell stores it in a `finally`), and the budget ends the search either way:
        - it calls study.stop() after the last point, which only an optimize() loop may do;
        - it reads the `grid_id` of the trial told, which a trial enqueued with its point (a run
          retried, a point asked for again after a kill) never gets: KeyError('grid_id')."""
        try:
            self.study.tell(number, value, state=state)
        except RuntimeError as exc:
            if "Study.stop" not in str(exc):
                raise
        except KeyError as exc:
            if exc.args != ("grid_id",):
                raise

    def ref(self, number: int) -> TrialRef:
        return TrialRef(self.spec, self.sweep.name, number)

    def _trials(self) -> list[Any]:
        return self.study.get_trials(deepcopy=False)

    def latest(self) -> dict[str, Any]:
        """Each run's newest trial, by run name, in the order the runs first appeared."""
        out: dict[str, Any] = {}
        for trial in self._trials():
            run = trial.user_attrs.get("run")
            if run is not None:
                out[run] = trial
        return out

    # -- a search's runs

    def search_runs(self) -> list[RunSpec]:
        """The runs the search has created so far, in trial order (a search run is named after its trial;
        a confirmation run that an older version let into the study is not one)."""
        return [self._spec(run, trial) for run, trial in self.latest().items() if run.startswith(SEARCH_PREFIX)]

    def _spec(self, run: str, trial: Any) -> RunSpec:
        return RunSpec(run, {**self.sweep.fixed, **trial.user_attrs["values"]}, f"search trial {trial.number}",
                       sweep=self.sweep.name)

    def _name(self, trial: Any, run: str, values: dict[str, Any]) -> TrialRef:
        """Tie a new trial to its run: the run's parameters beyond `fixed`, then its name (last, so a
        trial with a name always has its values)."""
        trial.set_user_attr("values", values)
        trial.set_user_attr("run", run)
        return self.ref(trial.number)

    def budget_left(self) -> int:
        if not self.sweep.search:
            return 0
        made = sum(1 for run in self.latest() if run.startswith(SEARCH_PREFIX))
        return max(0, self.sweep.search.trials - made)

    def new_search_run(self) -> tuple[RunSpec, TrialRef] | None:
        """Ask the sampler for a new trial, while the budget lasts (a grid may also run out of points)."""
        if self.budget_left() <= 0:
            return None
        search = self.sweep.search
        trial = self.study.ask(search.distributions())
        name = SEARCH_RUN.format(trial.number)
        ref = self._name(trial, name, search.values(trial.params))
        return self._spec(name, trial), ref

    # -- any run's trial

    def trial_for(self, run: str, params: dict[str, Any]) -> TrialRef:
        """The run's open trial, or a new one (a run of a grid, or a failed run retried at its point)."""
        from optuna.trial import TrialState

        trial = self.latest().get(run)
        if trial is not None and trial.state == TrialState.RUNNING:
            return self.ref(trial.number)
        point = dict(trial.params) if trial is not None and trial.params else {}
        values = {k: v for k, v in params.items() if k not in self.sweep.fixed}
        return self.ref(self._ask_named(run, values, point).number)

    def _ask_named(self, run: str, values: dict[str, Any], point: dict[str, Any]):
        """A new running trial for `run`: enqueued with its name and values in the record that creates it, so
        no kill leaves it nameless, then asked for (Optuna hands out the oldest waiting trial: ours, as
        `reconcile` leaves none waiting)."""
        self.study.enqueue_trial(point, user_attrs={"values": values, "run": run}, skip_if_exists=False)
        trial = self.study.ask(self._distributions(point))
        if trial.user_attrs.get("run") != run:
            raise RuntimeError(f"the study handed out trial {trial.number} for {trial.user_attrs.get('run')!r} "
                               f"instead of {run!r}")
        return trial

    def _distributions(self, point: dict[str, Any]) -> dict[str, Any]:
        """The search space when the trial has a point in it (a search run), else none (a grid run's trial)."""
        return self.sweep.search.distributions() if self.sweep.search and point else {}

    def renamed(self, old: str, new: str, params: dict[str, Any]) -> None:
        """A run's records moved from `old` to `new` (lib.sweep.plan.adopt_renamed_runs): its open trial
        follows it, so it ends with the run instead of staying open for ever, a second competitor beside
        the run's new trial. A finished trial keeps its record under the old name."""
        from optuna.trial import TrialState

        trial = self.latest().get(old)
        if trial is None or trial.state != TrialState.RUNNING:
            return
        trial_id = self._trial_id(trial.number)
        self.storage.set_trial_user_attr(trial_id, "values", {k: v for k, v in params.items()
                                                              if k not in self.sweep.fixed})
        self.storage.set_trial_user_attr(trial_id, "run", new)

    def _trial_id(self, number: int) -> int:
        """The storage's id of a trial (what attributes of a trial not in hand are set through)."""
        study_id = self.storage.get_study_id_from_name(self.sweep.name)
        return self.storage.get_trial_id_from_study_id_trial_number(study_id, number)

    def settle(self, run: str) -> None:
        """Tell the run's open trial how the run ended, from its records; a run cut short stays open."""
        from optuna.trial import TrialState

        trial = self.latest().get(run)
        if trial is None or trial.state != TrialState.RUNNING:
            return
        state = run_state(run_dir(self.root, run))
        if state.status == "pruned":
            self._tell(trial.number, state=TrialState.PRUNED)
        elif state.status in FINISHED_STATUSES:
            value = self.value(run)
            if value is None:
                self._tell(trial.number, state=TrialState.FAIL)
            else:
                self._tell(trial.number, value)
        elif state.status in ("failed", DAMAGED):
            self._tell(trial.number, state=TrialState.FAIL)

    def value(self, run: str) -> float | None:
        """The metric at the run's best epoch (the checkpoint it keeps), or None when it has none."""
        record = load_run(run_dir(self.root, run))
        best = best_epoch(record["history"] or [])
        value = best.get(self.sweep.metric.name) if best else None
        return float(value) if is_number(value) else None

    def reconcile(self) -> None:
        """After a kill: ask for trials left waiting, name or end trials that never got a run, and settle
        the trials whose run ended."""
        from optuna.trial import TrialState

        while any(t.state == TrialState.WAITING for t in self._trials()):
            waiting = next(t for t in self._trials() if t.state == TrialState.WAITING)
            self.study.ask(self._distributions(waiting.system_attrs.get("fixed_params") or {}))
        for trial in self._trials():
            if trial.state == TrialState.RUNNING and "run" not in trial.user_attrs:
                self._unnamed(trial)
        for run in self.latest():
            self.settle(run)

    def _unnamed(self, trial: Any) -> None:
        """A trial the sampler handed out before a kill, without a run. With its whole point, it becomes the
        search run it was meant to be (the budget allowed it when it was asked for). Cut short while it was
        sampled, it is failed, and a grid's point (its grid_id) is asked for again: a failed trial's grid
        point counts as visited, so the grid would skip it."""
        from optuna.samplers import GridSampler
        from optuna.trial import TrialState

        search = self.sweep.search
        space = search.distributions() if search else {}
        if search and set(space) <= set(trial.params) and self.budget_left() > 0:
            trial_id = self._trial_id(trial.number)
            self.storage.set_trial_user_attr(trial_id, "values", search.values(trial.params))
            self.storage.set_trial_user_attr(trial_id, "run", SEARCH_RUN.format(trial.number))
            return
        point = None
        if search and isinstance(self.study.sampler, GridSampler) and "grid_id" in trial.system_attrs:
            point = {name: self.study.sampler.sample_independent(self.study, trial, name, dist)
                     for name, dist in space.items()}
        self._tell(trial.number, state=TrialState.FAIL)
        if point is not None:
            self.study.enqueue_trial(point, skip_if_exists=False)
            again = self.study.ask(space)
            self._name(again, SEARCH_RUN.format(again.number), search.values(again.params))


def _check_runs_known(sweep: Sweep, root: Path, spec: str, trials: list[Any]) -> None:
    """Refuse a search whose run folders hold trials the study does not list (its record was replaced
    or lost): a new trial would take the name, and the finished records, of a different run."""
    if not sweep.search:
        return
    known = {t.user_attrs.get("run") for t in trials}
    runs = runs_dir(root)
    strangers = sorted(p.name for p in runs.glob(SEARCH_PREFIX + "*") if p.name not in known) \
        if runs.is_dir() else []
    if strangers:
        raise SweepFileError(f"{runs} holds search runs that the study {spec} does not list "
                             f"({', '.join(strangers[:5])}{', ...' if len(strangers) > 5 else ''}): the study "
                             f"was replaced or lost; restore it, or give the sweep a new name")


def _same_setting(key: str, before: Any, now: Any) -> bool:
    """Whether a study made with `before` continues under `now`. The trial budget may grow, and with it the
    default startup trials; a study from before startup_trials could be left to its default recorded the
    number itself, so a recorded number equal to the default of the recorded budget counts as the default."""
    if key != "search" or not before or not now:
        return before == now
    before, now = dict(before), dict(now)
    before_trials, now_trials = before.pop("trials", None), now.pop("trials", None)
    b, n = before.pop("startup_trials", None), now.pop("startup_trials", None)
    if isinstance(before_trials, int) and b == default_startup_trials(before_trials):
        b = None
    if before != now:
        return False
    if b is None and n is None:
        return True
    effective = [x if x is not None else default_startup_trials(t) if isinstance(t, int) else None
                 for x, t in ((b, before_trials), (n, now_trials))]
    return effective[0] == effective[1]


def existing_study(sweep: Sweep, root: Path, storage: str | None = None) -> SweepStudy | None:
    """The sweep's study if it exists already, read-only (status, report and --dry-run never write one)."""
    if not sweep.uses_study:
        return None
    return SweepStudy.existing(sweep, root, storage)


def with_search_runs(sweep: Sweep, study: SweepStudy | None) -> Sweep:
    """A search sweep with the runs its study has created so far; any other sweep as it is."""
    if sweep.search is None or study is None:
        return sweep
    return sweep.trial_runs(study.search_runs())
