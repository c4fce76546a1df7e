"""A run's side of early termination: report each epoch's metric to the run's trial, and stop when pruned.

The sweep runner ties a run to a trial of the sweep's Optuna study through three config fields
(`study`, `study_name`, `trial`); this is all a run knows of the sweep.
"""

from __future__ import annotations

from typing import Any

from lib.core.formatting import is_number
from lib.core.storage import TrialRef, open_storage, quiet_optuna
from lib.config.search import pruner_from_attrs


def trial_reporter(study: str | None, study_name: str | None, trial: int | None) -> "TrialReporter | None":
    """The trial a run with these config fields reports to after each epoch, or None (a run of no study)."""
    if trial is None:
        return None
    return TrialReporter(TrialRef(study, study_name, trial))


class TrialReporter:
    """A run's side of early termination: after each epoch, report the metric to its trial and ask
    the study's pruner whether to go on. Epochs reported before (a resumed run) are not reported again."""

    def __init__(self, ref: TrialRef):
        import optuna

        quiet_optuna()
        storage = open_storage(ref.storage)
        self.study = optuna.load_study(study_name=ref.study_name, storage=storage)
        self.study.pruner = pruner_from_attrs(self.study.user_attrs)  # the sweep's, as recorded in the study
        self.metric = self.study.user_attrs.get("metric", {}).get("name", "val_acc")
        study_id = storage.get_study_id_from_name(ref.study_name)
        self.trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, ref.number)
        self.storage = storage
        self.trial = optuna.trial.Trial(self.study, self.trial_id)

    def should_stop(self, history: list[dict[str, Any]], last_epoch: bool) -> bool:
        """Report the epochs not reported yet; True when the pruner stops the run (never after its last epoch)."""
        from optuna.trial import TrialState

        frozen = self.storage.get_trial(self.trial_id)
        if frozen.state != TrialState.RUNNING:  # the sweep runner has settled it already
            return False
        for row in history:
            value = row.get(self.metric)
            if row["epoch"] not in frozen.intermediate_values and is_number(value):
                self.trial.report(float(value), int(row["epoch"]))
        return not last_epoch and self.trial.should_prune()
