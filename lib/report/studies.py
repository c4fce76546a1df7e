"""Searches and early termination in the report: each sweep's Optuna study (or its run records), its
trials in order with the best so far, what termination saved, parameter importances and slices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from lib.core import values
from lib.core.formatting import as_float
from lib.core.records import FINISHED_STATUSES, RANKED_STATUSES
from lib.core.storage import StudyStorageError, is_url, masked, read_study, study_location
from lib.report.load import SweepReport, read_plan

DEFAULT_METRIC = {"name": "val_acc", "goal": "maximize"}  # what a sweep without a study is ranked by
IMPORTANCE_EVALUATOR = "fANOVA (Optuna's FanovaImportanceEvaluator, seed 0)"
_TRIAL_STATUS = {"COMPLETE": "completed", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running",
                 "WAITING": "pending"}
_NOT_STARTED = ("pending", "submitted")


@dataclass
class SweepSearch:
    """How one sweep of a report chose its runs and stopped them early: sweep.json and its Optuna study."""

    sweep: str  # the name the report gives the sweep
    metric: str  # a per-epoch history column: val_acc, val_loss, train_acc, train_loss
    goal: str  # maximize or minimize
    search: dict | None  # e.g. {"method": "tpe", "trials": 16, "seed": 0}; None for a grid
    early_terminate: dict | None  # e.g. {"type": "asha", "min_epochs": 1, "reduction_factor": 3}
    study: Any = None  # optuna.Study, or None without a readable study
    note: str = ""  # why the study could not be read
    source: str = "run records"  # where the trials come from: the study's journal file or database, or the runs


def _study(root: str | Path):
    """The sweep's Optuna study, read-only: where sweep.json says (`study`), else `root`/study.journal;
    None when there is none. Nothing is created or written, in a journal or in a database.

    Raises NoSuchStudy (a StudyStorageError) when the storage holds no study of the sweep's name (another
    sweep's study is never taken for this one's).
    """
    root = Path(root)
    found = read_study(study_location(root), read_plan(root).get("name") or root.name)
    return found[1] if found else None


def searches(report: SweepReport) -> list[SweepSearch]:
    """Each sweep's search, early termination and Optuna study (if it has one), in sweep order; read once."""
    if report.derived.searches is None:
        report.derived.searches = _searches(report)
    return report.derived.searches


def _searches(report: SweepReport) -> list[SweepSearch]:
    found = []
    for sweep, root in zip(report.sweeps, report.roots):
        plan = read_plan(root)
        study, note = None, ""
        try:
            study = _study(root)
        except StudyStorageError as exc:
            note = f"the study of {sweep} could not be read: {exc}"
        except (OSError, ValueError, KeyError) as exc:
            note = f"the study of {sweep} could not be read ({type(exc).__name__}: {masked(str(exc))})"
        attrs = study.user_attrs if study is not None else {}
        spec = study_location(root) if study is not None else ""
        source = "run records" if study is None else masked(spec) if is_url(spec) else Path(spec).name
        metric = attrs.get("metric") or plan.get("metric") or DEFAULT_METRIC
        goal = metric.get("goal") or (study.direction.name.lower() if study is not None else "maximize")
        found.append(SweepSearch(sweep, metric.get("name", "val_acc"), goal,
                                 attrs.get("search", plan.get("search")),
                                 attrs.get("early_terminate", plan.get("early_terminate")), study, note, source))
    return found


def searched(report: SweepReport) -> bool:
    """Whether the report has a search section: some sweep has a study (or an unreadable one) or a pruned run."""
    pruned = bool((report.runs["status"] == "pruned").any())
    return pruned or any(s.study is not None or s.note for s in searches(report))


def _keys(report: SweepReport, sweep: str) -> dict[str, str]:
    """Run folder name -> the run's key in the report, for one sweep's runs."""
    keys = report.runs.loc[report.runs["sweep"] == sweep, "run"]
    return {key.removeprefix(f"{sweep}/"): key for key in keys}


def _epochs_run(report: SweepReport, row: Mapping[str, Any] | None, key: str) -> float:
    """Epochs a run trained: its metrics' epochs_run, else the rows of its history (failed and running runs)."""
    if row is not None and math.isfinite(as_float(row.get("epochs_run"))):
        return float(row["epochs_run"])
    history = report.histories.get(key)
    return float(len(history)) if history is not None else math.nan


TRIAL_COLUMNS = ["sweep", "trial", "number", "run", "status", "metric", "value", "last_value", "epochs_run",
                 "epochs", "cumulative_epochs", "best_so_far"]


def trials_table(report: SweepReport) -> pd.DataFrame:
    """Every started run of every sweep, in the order it started, with the best metric so far.

    With a study: one row per Optuna trial, by trial number; `value` is the trial's (the metric at the
    run's best epoch) for complete trials whose run is not pruned. Without one: the runs that started,
    in sweep.json's order, and `value` is their records' metric at the best epoch (val_acc unless the
    sweep names another). `last_value`: the last value a trial reported (pruned trials stopped there);
    `best_so_far`: the best `value` by the sweep's goal up to and including the row; `cumulative_epochs`:
    epochs trained by the sweep up to and including the row, pruned runs' partial epochs included.
    """
    frames = []
    runs = report.runs.set_index("run", drop=False)
    for search in searches(report):
        rows = []
        if search.study is not None:
            keys = _keys(report, search.sweep)
            # A finished run adopted under a new name (adding seeds renames runs) keeps its trial, which still
            # names the old folder; the run's own config says which trial it was.
            moved = {report.configs.get(key, {}).get("trial"): key for key in keys.values()}
            trials = sorted(search.study.get_trials(deepcopy=False), key=lambda t: t.number)
            # A run retried with --retry-failed has a trial per attempt; its records are the last attempt's.
            attempts: dict[str, list[Any]] = {}
            for trial in trials:
                attempts.setdefault(trial.user_attrs.get("run") or f"trial {trial.number}", []).append(trial)
            for trial in trials:
                folder = trial.user_attrs.get("run")
                key = keys.get(folder) or moved.get(trial.number) or folder or f"trial {trial.number}"
                mine = attempts[folder or f"trial {trial.number}"]
                steps = trial.intermediate_values
                state = _TRIAL_STATUS.get(trial.state.name, trial.state.name.lower())
                if trial is not mine[-1]:  # an earlier attempt: its own state, and the epochs it reported
                    rows.append({"number": trial.number, "run": key, "status": state, "value": math.nan,
                                 "last_value": float(steps[max(steps)]) if steps else math.nan,
                                 "epochs_run": float(max(steps, default=0)), "epochs": math.nan})
                    continue
                row = runs.loc[key].to_dict() if key in runs.index else None
                status = row["status"] if row is not None and row["status"] in FINISHED_STATUSES else state
                counts = trial.state.name == "COMPLETE" and status in RANKED_STATUSES and trial.value is not None
                # the run's epochs, less those its earlier attempts trained (a retry resumes from their checkpoint)
                before = sum(float(max(t.intermediate_values, default=0)) for t in mine[:-1])
                ran = as_float(_epochs_run(report, row, key), float(max(steps, default=0)))
                rows.append({"number": trial.number, "run": key, "status": status,
                             "value": float(trial.value) if counts else math.nan,
                             "last_value": float(steps[max(steps)]) if steps else math.nan,
                             "epochs_run": max(0.0, ran - before) if math.isfinite(ran) else ran,
                             "epochs": as_float(row["epochs"]) if row is not None else math.nan})
        else:
            for row in report.runs[report.runs["sweep"] == search.sweep].to_dict("records"):
                if row["status"] in _NOT_STARTED:
                    continue
                history = report.histories.get(row["run"])
                last = history[search.metric].iloc[-1] if history is not None and search.metric in history \
                    and len(history) else math.nan
                rows.append({"number": math.nan, "run": row["run"], "status": row["status"],
                             "value": as_float(row.get(search.metric)) if row["status"] in RANKED_STATUSES
                             else math.nan, "last_value": as_float(last),
                             "epochs_run": _epochs_run(report, row, row["run"]), "epochs": as_float(row["epochs"])})
        frame = pd.DataFrame(rows, columns=TRIAL_COLUMNS).assign(sweep=search.sweep, metric=search.metric)
        frame["trial"] = range(1, len(frame) + 1)
        best = frame["value"].astype(float)
        frame["best_so_far"] = (best.cummax() if search.goal == "maximize" else best.cummin()).ffill()
        frame["cumulative_epochs"] = frame["epochs_run"].astype(float).fillna(0).cumsum()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=TRIAL_COLUMNS)


def _described(settings: Mapping[str, Any] | None) -> str:
    """{"type": "asha", "min_epochs": 1} as 'asha (min_epochs 1)'; None as 'none'."""
    if not settings:
        return "none"
    rest = ", ".join(f"{k} {values.reader_text(v)}" for k, v in settings.items() if k != "type")
    return f"{settings.get('type', '?')}" + (f" ({rest})" if rest else "")


def _search_text(search: Mapping[str, Any]) -> str:
    """{"method": "tpe", "trials": 16, "seed": 0, "space": {...}} as 'tpe, 16 trials, seed 0, over lr/optimizer'
    (the slices show the ranges)."""
    space = "/".join(search.get("space") or {})
    return f"{search.get('method')}, {search.get('trials')} trials, seed {search.get('seed')}" + \
        (f", over {space}" if space else "")


def search_overview(report: SweepReport) -> pd.DataFrame:
    """Per sweep: how it searched and terminated, its metric, its trials by state, and its best run."""
    trials = trials_table(report)
    rows = []
    for search in searches(report):
        part = trials[trials["sweep"] == search.sweep]
        counted = part[part["value"].notna()]
        best = (counted.loc[counted["value"].idxmax() if search.goal == "maximize" else counted["value"].idxmin()]
                if len(counted) else None)
        rows.append({"sweep": search.sweep, "search": _search_text(search.search) if search.search else "grid",
                     "early termination": _described(search.early_terminate),
                     "metric": f"{search.metric} ({search.goal})",
                     "source": search.source,
                     "started": len(part), "counted": len(counted), "pruned": int((part["status"] == "pruned").sum()),
                     "other": int((~part["status"].isin(RANKED_STATUSES) & (part["status"] != "pruned")).sum()),
                     "best value": best["value"] if best is not None else math.nan,
                     "best run": best["run"] if best is not None else "-"})
    return pd.DataFrame(rows).set_index("sweep") if rows else pd.DataFrame()


def _epoch_seconds(report: SweepReport, row: Mapping[str, Any]) -> float:
    """A run's median epoch time from its history (epoch_s), else its wall time over its epochs."""
    history = report.histories.get(row["run"])
    if history is not None and "epoch_s" in history and history["epoch_s"].notna().any():
        return float(history["epoch_s"].median())
    return as_float(row.get("wall_time_s")) / as_float(row.get("epochs_run"))


def termination_savings(report: SweepReport) -> pd.DataFrame:
    """Per sweep, over its finished runs: runs pruned, epochs run against the epochs they would have run
    unpruned (a pruned run its configured `epochs`, any other run what it ran), epochs saved, total time, and
    the time saved: each pruned run's median epoch time times its epochs not run (an estimate)."""
    rows = []
    for sweep in report.sweeps:
        done = report.runs[(report.runs["sweep"] == sweep) & report.runs["status"].isin(FINISHED_STATUSES)]
        records = done.to_dict("records")
        ran = [_epochs_run(report, r, r["run"]) for r in records]
        pruned = [r["status"] == "pruned" for r in records]
        unpruned = [max(as_float(r["epochs"], e), e) if p else e for r, e, p in zip(records, ran, pruned)]
        saved_s = sum((u - e) * _epoch_seconds(report, r) for r, e, u, p in zip(records, ran, unpruned, pruned) if p)
        total_s = float(pd.to_numeric(done["wall_time_s"], errors="coerce").sum())
        epochs_run, epochs_full = float(pd.Series(ran, dtype=float).sum()), float(pd.Series(unpruned, dtype=float).sum())
        rows.append({"sweep": sweep, "finished runs": len(records), "pruned": sum(pruned), "epochs run": epochs_run,
                     "epochs unpruned": epochs_full, "epochs saved": epochs_full - epochs_run,
                     "epochs saved (%)": round(100 * (epochs_full - epochs_run) / epochs_full, 1) if epochs_full else
                     math.nan, "time_s": total_s, "time_saved_s": saved_s,
                     "time saved (%)": round(100 * saved_s / (total_s + saved_s), 1) if total_s + saved_s else
                     math.nan})
    return pd.DataFrame(rows).set_index("sweep") if rows else pd.DataFrame()


def param_importances(search: SweepSearch) -> tuple[pd.DataFrame, str]:
    """The importance of each sampled parameter for the study's metric (fANOVA over its complete trials), and
    '' -- or an empty table and, in one line, why they cannot be computed."""
    study = search.study
    if study is None:
        return pd.DataFrame(), f"{search.sweep}: no study.journal, so no sampled parameters"
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if len(complete) < 2:
        return pd.DataFrame(), (f"{search.sweep}: needs at least 2 complete trials, has {len(complete)} "
                                f"(pruned and failed trials carry no final value)")
    varied = [p for p in dict.fromkeys(k for t in complete for k in t.params)
              if len({values.key(t.params.get(p)) for t in complete}) > 1]
    if not varied:
        return pd.DataFrame(), (f"{search.sweep}: no sampled parameter takes more than one value over the complete "
                                f"trials" + ("" if any(t.params for t in complete) else
                                             " (the study samples none: a grid with early termination)"))
    import optuna
    from optuna.importance import FanovaImportanceEvaluator

    try:
        found = optuna.importance.get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))
    except Exception as exc:  # the evaluator's own checks (search space, too few trials) read as a note, not a traceback
        return pd.DataFrame(), f"{search.sweep}: could not be computed ({type(exc).__name__}: {exc})"
    table = pd.DataFrame({"importance": [float(v) for v in found.values()]},
                         index=pd.Index(list(found), name="parameter"))
    return table, ""


def slice_points(search: SweepSearch) -> pd.DataFrame:
    """For each numeric parameter the study samples, every complete or pruned trial's value of it and its
    metric: the final value (complete), or the last value it reported before it was stopped (pruned).
    `log`: the parameter is sampled on a log scale or spans more than two decades."""
    columns = ["parameter", "value", "metric", "state", "log"]
    if search.study is None:
        return pd.DataFrame(columns=columns)
    from optuna.distributions import FloatDistribution, IntDistribution

    rows = []
    for trial in search.study.get_trials(deepcopy=False):
        if trial.state.name == "COMPLETE" and trial.value is not None:
            metric, state = trial.value, "complete"
        elif trial.state.name == "PRUNED" and trial.intermediate_values:
            metric, state = trial.intermediate_values[max(trial.intermediate_values)], "pruned"
        else:
            continue
        for name, value in trial.params.items():
            distribution = trial.distributions[name]
            if isinstance(distribution, (FloatDistribution, IntDistribution)):
                rows.append({"parameter": name, "value": float(value), "metric": float(metric), "state": state,
                             "log": bool(distribution.log)})
    points = pd.DataFrame(rows, columns=columns)
    for name, part in points.groupby("parameter"):
        low, high = part["value"].min(), part["value"].max()
        if low > 0 and high / low > 100:
            points.loc[part.index, "log"] = True
    points["log"] = points.groupby("parameter")["log"].transform("any") if len(points) else points["log"]
    return points
