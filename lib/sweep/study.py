"""The sweep runner's side of a study: which trial each run is, new trials for a search, results told back.

A run is tied to its trial by the trial's user attribute `run` (its folder name under runs/); the
run's parameters are in `values`. The study's own record is the truth about which trials exist,
and each run's folder the truth about how it ended, so a sweep killed at any moment resumes:
trials whose run finished are told their result, trials whose run was cut short run on (from their
checkpoints, under the same trial), and a search starts new trials only while its budget lasts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from lib.core.formatting import is_number
from lib.core.layout import STUDY_FILE, run_dir, runs_dir
from lib.core.records import FINISHED_STATUSES, best_epoch, load_run, run_state
from lib.core.storage import TrialRef, open_storage, quiet_optuna, repair_journal, storage_spec
from lib.spec.errors import SweepFileError
from lib.spec.search import StudySettings
from lib.spec.sweepfile import RunSpec, Sweep

SEARCH_PREFIX = "trial-"
SEARCH_RUN = SEARCH_PREFIX + "{:03d}"  # a search run's name: its Optuna trial number


class SweepStudy:
    """The Optuna study of a sweep that searches or stops runs early."""

    def __init__(self, sweep: Sweep, root: Path, storage: str | None = None):
        import optuna

        quiet_optuna()
        self.sweep, self.root = sweep, root
        self.spec = storage_spec(root, storage)
        settings = StudySettings(sweep.metric, sweep.search, sweep.early_terminate).attrs()
        if sweep.search and "://" not in self.spec and not Path(self.spec).is_file():
            self._check_runs_known([])  # before a new, empty study is written
        try:  # a damaged journal, an unreachable database: Optuna raises many kinds of error
            repaired = repair_journal(self.spec)
            if repaired:
                print(f"warning: {repaired}", file=sys.stderr)
            self.storage = open_storage(self.spec)
            self.study = optuna.create_study(
                study_name=sweep.name, storage=self.storage, direction=sweep.metric.direction, load_if_exists=True,
                sampler=sweep.search.sampler() if sweep.search else None,  # replaced below once trials are known
                pruner=sweep.early_terminate.pruner() if sweep.early_terminate else None)
            trials = self._trials()
        except Exception as exc:  # noqa: BLE001 - one line for the user instead of a traceback
            reason = (str(exc).strip().splitlines() or [""])[0][:200]
            raise SweepFileError(f"cannot read the study {self.spec} ({type(exc).__name__}: {reason}); restore it "
                                 f"from a backup, or give the sweep a new name to start a new search (the run "
                                 f"folders keep every run's records)") from None
        if sweep.search:
            self.study.sampler = sweep.search.sampler(trials_before=len(trials))
            self._check_runs_known(trials)
        made_with = {k: self.study.user_attrs.get(k) for k in settings}
        before, now = _without_budget(made_with), _without_budget(settings)
        if self.study.user_attrs and before != now:
            changed = [k for k in now if before[k] != now[k]]
            raise SweepFileError(f"the study {self.spec} was made with another {' and '.join(changed)}; give the "
                                 f"sweep a new name for a new search, or delete {root} to start over (raising "
                                 f"search.trials alone continues the search)")
        for key, value in settings.items():
            if made_with.get(key) != value:
                self.study.set_user_attr(key, value)

    def _check_runs_known(self, trials: list[Any]) -> None:
        """Refuse a search whose run folders hold trials the study does not list (its record was replaced
        or lost): a new trial would take the name, and the finished records, of a different run."""
        known = {t.user_attrs.get("run") for t in trials}
        runs = runs_dir(self.root)
        strangers = sorted(p.name for p in runs.glob(SEARCH_PREFIX + "*") if p.name not in known) \
            if runs.is_dir() else []
        if strangers:
            raise SweepFileError(f"{runs} holds search runs that the study {self.spec} does not list "
                                 f"({', '.join(strangers[:5])}{', ...' if len(strangers) > 5 else ''}): the study "
                                 f"was replaced or lost; restore it, or give the sweep a new name")

    def _tell(self, number: int, value: float | None = None, state=None) -> None:
        """study.tell; Optuna's grid sampler calls study.stop() after the last point, which only an
        optimize() loop may do: the trial is stored before that raises, and the budget ends the search."""
        try:
            self.study.tell(number, value, state=state)
        except RuntimeError as exc:
            if "Study.stop" not in str(exc):
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
        """The runs the search has created so far, in trial order."""
        return [self._spec(run, trial) for run, trial in self.latest().items()]

    def _spec(self, run: str, trial: Any) -> RunSpec:
        return RunSpec(run, {**self.sweep.fixed, **trial.user_attrs["values"]}, f"search trial {trial.number}")

    def _name(self, trial: Any, run: str, values: dict[str, Any]) -> TrialRef:
        """Tie a new trial to its run: the run's parameters beyond `fixed`, then its name (last, so a
        trial with a name always has its values)."""
        trial.set_user_attr("values", values)
        trial.set_user_attr("run", run)
        return self.ref(trial.number)

    def budget_left(self) -> int:
        return max(0, self.sweep.search.trials - len(self.latest())) if self.sweep.search else 0

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
        """The run's open trial, or a new one (a run of a grid, or a failed run retried)."""
        from optuna.trial import TrialState

        trial = self.latest().get(run)
        if trial is not None and trial.state == TrialState.RUNNING:
            return self.ref(trial.number)
        if trial is not None and trial.params:  # a search run retried: the same point again
            self.study.enqueue_trial(trial.params, skip_if_exists=False)
            new = self.study.ask(self.sweep.search.distributions())
        else:
            new = self.study.ask()
        return self._name(new, run, {k: v for k, v in params.items() if k not in self.sweep.fixed})

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
        elif state.status == "failed":
            self._tell(trial.number, state=TrialState.FAIL)

    def value(self, run: str) -> float | None:
        """The metric at the run's best epoch (the checkpoint it keeps), or None when it has none."""
        record = load_run(run_dir(self.root, run))
        best = best_epoch(record["history"] or [])
        value = best.get(self.sweep.metric.name) if best else None
        return float(value) if is_number(value) else None

    def reconcile(self) -> None:
        """After a kill: settle trials whose run ended; fail trials that never got a run (killed between
        the sampler's answer and the run's name)."""
        from optuna.trial import TrialState

        for trial in self._trials():
            if trial.state == TrialState.RUNNING and "run" not in trial.user_attrs:
                self._tell(trial.number, state=TrialState.FAIL)
        for run in self.latest():
            self.settle(run)


def _without_budget(settings: dict[str, Any]) -> dict[str, Any]:
    """Study settings without the trial budget: a search may be continued with more trials."""
    search = settings.get("search")
    return {**settings, "search": {k: v for k, v in search.items() if k != "trials"} if search else search}


def existing_study(sweep: Sweep, root: Path, storage: str | None = None) -> SweepStudy | None:
    """The sweep's study if it exists already (status and report never create one)."""
    if not sweep.uses_study:
        return None
    if not storage and not (root / STUDY_FILE).is_file():
        return None
    return SweepStudy(sweep, root, storage)


def with_search_runs(sweep: Sweep, study: SweepStudy | None) -> Sweep:
    """A search sweep with the runs its study has created so far; any other sweep as it is."""
    if sweep.search is None or study is None:
        return sweep
    return sweep.trial_runs(study.search_runs())
