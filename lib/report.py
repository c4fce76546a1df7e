"""Aggregate sweeps' run records into the report's tables and sections (figures are in lib.figures,
statistics in lib.stats).

Reads only files in the sweep folders (sweep.json and each run's config.json, metrics.json,
history.csv), never W&B; writes runs.csv, configs.csv and effects.csv beside the report. Runs are
ranked by validation accuracy at their best epoch (the epoch with the lowest validation loss); test
accuracy is that checkpoint's, reported beside it and never used for selection. Runs that failed or
have not run yet appear with their status and no metrics; runs pruned by a search's early termination
appear with their status and are never ranked or averaged (they trained only part of their epochs). Several sweeps make one report: earlier
sweeps first, so later ones read as follow-ups (`compare_followups`).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from lib import factorial, stats
from lib.config import COMPUTE_FIELDS, ConfigError, RunConfig, defaults, group_warnings
from lib.formatting import number
from lib.paths import resolve
from lib.records import (FINISHED_STATUSES, RANKED_STATUSES, VAL_ACC_MEANING, atomic_write_text, load_run, read_json,
                         run_state)
from lib.search import STUDY_FILE, open_storage

METRIC_COLUMNS = ["train_acc", "train_loss", "val_acc", "val_loss", "test_acc", "test_loss", "best_epoch",
                  "epochs_run"]
METRIC_LABELS = {"train_acc": "training accuracy", "train_loss": "training loss", "val_acc": VAL_ACC_MEANING,
                 "val_loss": "validation loss", "test_acc": "test accuracy", "test_loss": "test loss",
                 "best_epoch": "epochs to convergence (best epoch)", "epochs_run": "epochs run",
                 "wall_time_s": "time (s)", "images_per_s": "training images/s"}
PARAMETERS = list(COMPUTE_FIELDS)  # what a run computes depends on these alone


@dataclass
class SweepReport:
    root: Path  # the first sweep folder
    name: str  # the sweeps' names, joined with ' + '
    description: str
    fixed: dict[str, Any]
    varying: list[str]  # parameters with more than one value over every run of every sweep, seed included
    runs: pd.DataFrame  # one row per planned run: run (its key), sweep, status, every parameter, metrics
    histories: dict[str, pd.DataFrame]  # run key -> per-epoch history
    errors: dict[str, str]  # run key -> failure message
    sweeps: list[str] = field(default_factory=list)  # sweep names, in the order given (earlier first)
    roots: list[Path] = field(default_factory=list)  # their folders
    given: dict[str, list[str]] = field(default_factory=dict)  # run key -> the parameters its sweep file set
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)  # run key -> its config as recorded
    sampled: list[str] = field(default_factory=list)  # parameters a search drew from a range, not from a list
    linked: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # linked grid axis -> its mappings

    @property
    def finished(self) -> pd.DataFrame:
        return self.runs[self.runs["status"].isin(FINISHED_STATUSES) & self.runs["val_acc"].notna()]

    @property
    def ranked(self) -> pd.DataFrame:
        """The finished runs that trained to their end (pruned runs aside): the ones compared and ranked."""
        return self.runs[self.runs["status"].isin(RANKED_STATUSES) & self.runs["val_acc"].notna()]

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.runs["model"])) if "model" in self.runs else []

    @property
    def params(self) -> list[str]:
        """The varying parameters the statistics compare: `varying` without the seed (seeds are replicates)."""
        return [p for p in self.varying if p != "seed" and p in self.runs]

    @cached_property
    def analysis(self) -> Analysis:
        return analyse(self)

    @cached_property
    def searches(self) -> list[SweepSearch]:
        """Each sweep's search, early termination and Optuna study (if it has a study.journal), in sweep order."""
        return _searches(self)


def _planned(root: Path) -> tuple[dict | None, list[tuple[str, dict]]]:
    """A sweep folder's plan (sweep.json, or None) and its runs as (name, sweep-file params)."""
    plan = read_json(root / "sweep.json") if (root / "sweep.json").is_file() else None
    if plan:
        return plan, [(r["name"], r["params"]) for r in plan["runs"]]
    run_dirs = sorted(p for p in (root / "runs").glob("*") if p.is_dir()) if (root / "runs").is_dir() else []
    return None, [(p.name, {}) for p in run_dirs]


def _varying(rows: list[dict[str, Any]], order: list[str]) -> list[str]:
    """Parameters (runtime fields aside) with more than one value over `rows`: `order` first, then field order."""
    varying = {k for k in PARAMETERS if len({value_label(r.get(k)) for r in rows}) > 1}
    return [k for k in dict.fromkeys([*order, *PARAMETERS]) if k in varying]


def load_report(sweep_dirs: str | Path | Sequence[str | Path]) -> SweepReport:
    """Everything the report shows, from one sweep folder or several (earlier sweeps first).

    Runs are keyed by name; when two sweeps hold a run of the same name, by `sweep/run`. A parameter
    varies when it takes more than one value over all runs of all sweeps, so one fixed at different
    values in two sweeps varies in the combined report.
    """
    roots = [Path(sweep_dirs)] if isinstance(sweep_dirs, (str, Path)) else [Path(d) for d in sweep_dirs]
    loaded = []  # (root, sweep name, plan, planned runs)
    for root in roots:
        plan, planned = _planned(root)
        name = plan["name"] if plan else root.name
        taken = [n for _, n, _, _ in loaded]
        loaded.append((root, name if name not in taken else f"{name}-{len(loaded) + 1}", plan, planned))
    counts = Counter(run for _, _, _, planned in loaded for run, _ in planned)
    rows, histories, errors, given, configs = [], {}, {}, {}, {}
    for root, sweep, plan, planned in loaded:
        for name, params in planned:
            key = f"{sweep}/{name}" if counts[name] > 1 else name
            record = load_run(root / "runs" / name)
            config = {**defaults(), **(record["config"] or {}), **params}
            metrics = record["metrics"] or {}
            state = run_state(root / "runs" / name, record)
            if state.error:
                errors[key] = state.error
            given[key], configs[key] = list(params), config
            rows.append({"run": key, "sweep": sweep, "status": state.status, **config,
                         **{k: _number(metrics.get(k)) for k in METRIC_COLUMNS + ["wall_time_s", "images_per_s"]},
                         "train_acc_measure": metrics.get("train_acc_measure"),
                         "val_is_test": metrics.get("val_is_test")})
            if record["history"]:
                histories[key] = pd.DataFrame(record["history"])
    runs = pd.DataFrame(rows, columns=None if rows else ["run", "sweep", "status", *defaults(), *METRIC_COLUMNS,
                                                         "wall_time_s", "images_per_s", "train_acc_measure",
                                                         "val_is_test"])
    plans = [plan for _, _, plan, _ in loaded if plan]
    varying = _varying(rows, [k for plan in plans for k in plan.get("varying", [])])
    fixed: dict[str, Any] = {}
    for plan in plans:
        for k, v in plan.get("fixed", {}).items():
            fixed.setdefault(k, v)
    fixed = {k: v for k, v in fixed.items() if k not in varying}
    names = [sweep for _, sweep, _, _ in loaded]
    described = [(plan["name"], plan["description"]) for plan in plans if plan.get("description")]
    description = described[0][1] if len(plans) == 1 and described else "; ".join(f"{n}: {d}" for n, d in described)
    sampled = [k for plan in plans for k, spec in ((plan.get("search") or {}).get("space") or {}).items()
               if isinstance(spec, dict)]
    linked: dict[str, list[dict[str, Any]]] = {}
    for plan in plans:
        for axis, values in (plan.get("linked") or {}).items():
            linked.setdefault(axis, [])
            linked[axis] += [v for v in values if v not in linked[axis]]
    return SweepReport(roots[0] if roots else Path("."), " + ".join(names), description, fixed, varying, runs,
                       histories, errors, names, roots, given, configs, list(dict.fromkeys(sampled)), linked)


def value_label(value: Any) -> str:
    """A parameter value as text; pandas turns a None among numbers into NaN, so both read 'None'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "None"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a column with a None in it holds 224 as 224.0
    return str(value)


def levels(values: pd.Series) -> list[str]:
    """The distinct values of a parameter as labels: None first, then numbers in order, then text."""
    distinct = {value_label(v): v for v in values}

    def order(label: str):
        value = distinct[label]
        numeric = label != "None" and isinstance(value, (int, float)) and not isinstance(value, bool)
        return (label != "None", not numeric, float(value) if numeric else 0.0, label)

    return sorted(distinct, key=order)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


# ---------------------------------------------------------------------------------------------
# Tables


def overview(report: SweepReport) -> dict[str, pd.DataFrame]:
    """Fixed parameters, varying parameters with their values, and runs by status."""
    fixed = pd.DataFrame({"value": [str(v) for v in report.fixed.values()]}, index=list(report.fixed))
    fixed.index.name = "fixed parameter"
    values = {k: _values_text(report.runs[k]) for k in report.varying if k in report.runs}
    varying = pd.DataFrame({"values": list(values.values())}, index=list(values))
    varying.index.name = "varying parameter"
    status = report.runs["status"].value_counts().rename_axis("status").to_frame("runs")
    return {"fixed": fixed, "varying": varying, "status": status}


OVERVIEW_VALUES = 10  # a parameter with more numeric values than this (a search) is shown as a range


def _values_text(values: pd.Series) -> str:
    labels = levels(values)
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v]
    if len(labels) > OVERVIEW_VALUES and len(set(numbers)) == len(labels):
        return f"{len(labels)} values from {min(numbers):.4g} to {max(numbers):.4g}"
    return ", ".join(labels)


def conditions(report: SweepReport) -> str:
    """The conditions every number in the report is measured under, in one paragraph."""
    done = report.finished
    if done.empty:
        return "No run has finished yet."
    parts = [f"{len(done)} of {len(report.runs)} runs finished."]
    pruned = int((done["status"] == "pruned").sum())
    if pruned:
        parts.append(f"{pruned} of them {'were' if pruned > 1 else 'was'} pruned by early termination: shown, "
                     f"never ranked or averaged.")
    seeds = sorted(set(done["seed"])) if "seed" in done else []
    parts.append(f"One run per configuration (n=1, seed {', '.join(map(str, seeds))}); differences of a few "
                 f"tenths of a percent are within seed-to-seed noise." if len(seeds) == 1 else
                 f"Seeds: {', '.join(map(str, seeds))}.")
    parts.append("Metrics are taken at each run's best epoch (lowest validation loss); test accuracy is that "
                 "checkpoint's, evaluated once, and is never used to rank runs.")
    if done["val_is_test"].fillna(False).astype(bool).any():
        parts.append("WARNING: some runs validate on the test set (val_fraction 0), so their test accuracy is "
                     "not held out.")
    elif "val_fraction" in done:
        parts.append(f"Validation: {', '.join(f'{v:.0%}' for v in sorted(set(done['val_fraction'])))} of the "
                     f"training set, held out with the run's seed.")
    if (done["train_acc_measure"] == "dominant_label").any():
        parts.append("Under CutMix/MixUp, training accuracy counts predictions of each mixed target's dominant "
                     "label on augmented batches, which is why it sits below validation accuracy.")
    return " ".join(parts)


def leaderboard(report: SweepReport) -> pd.DataFrame:
    """All runs, best validation accuracy first, then pruned runs (ranked among themselves), unfinished runs
    last, with their diagnostic flags."""
    columns = ["run", *(["sweep"] if len(report.sweeps) > 1 else []), "status",
               *[k for k in report.varying if k in report.runs], *METRIC_COLUMNS, "wall_time_s", "images_per_s"]
    table = report.runs[columns].assign(flags=report.analysis.flags)
    group = [1 if s == "pruned" else 0 if v == v else 2 for s, v in zip(table["status"], table["val_acc"])]
    table = table.assign(_group=group).sort_values(["_group", "val_acc"], ascending=[True, False],
                                                   na_position="last", kind="stable").drop(columns="_group")
    return table.set_index("run").rename(columns=METRIC_LABELS)


def best_runs(report: SweepReport, model: str | None = None, k: int = 2) -> list[str]:
    """Names of the k finished runs with the highest validation accuracy (of one model); pruned runs aside."""
    done = report.ranked
    if model is not None and "model" in done:
        done = done[done["model"] == model]
    return list(done.sort_values(["val_acc", "val_loss"], ascending=[False, True])["run"][:k])


def run_parameters(report: SweepReport, name: str) -> pd.DataFrame:
    """A run's parameters: what varies in the sweep first, then the rest of its config."""
    row = report.runs.set_index("run").loc[name]
    shown = [k for k in report.varying if k in row] + [
        k for k in ("dataset", "model", "optimizer", "lr", "weight_decay", "momentum", "nesterov", "scheduler",
                    "batch_size", "epochs", "augment", "mix", "early_stopping", "patience", "min_delta")
        if k in row and k not in report.varying]
    return pd.DataFrame({"value": [value_label(row[k]) for k in shown]}, index=shown).rename_axis("parameter")


def metrics_table(metrics: Mapping[str, Any]):
    """The run's summary as a one-column DataFrame."""
    import pandas as pd

    keys = ["status", "best_epoch", "epochs_run", "train_loss", "train_acc", "train_acc_measure", "val_loss",
            "val_acc", "test_loss", "test_acc", "val_is_test", "wall_time_s", "images_per_s", "device"]
    return pd.DataFrame({"value": [metrics.get(k) for k in keys]}, index=keys)


def run_metrics(report: SweepReport, name: str) -> pd.DataFrame:
    row = report.runs.set_index("run").loc[name]
    keys = METRIC_COLUMNS + ["wall_time_s"]
    return pd.DataFrame({"value": [number(row[k]) for k in keys]}, index=[METRIC_LABELS[k] for k in keys]
                        ).rename_axis("metric")


def parameter_effects(report: SweepReport) -> pd.DataFrame:
    """For each varying parameter and value: finished runs (pruned aside), mean and best validation accuracy,
    mean test accuracy."""
    done = report.ranked
    frames = []
    for key in report.varying:
        if key not in done or done.empty:
            continue
        grouped = done.groupby(done[key].astype(str))
        frame = pd.DataFrame({"runs": grouped.size(), "mean val acc": grouped["val_acc"].mean(),
                              "best val acc": grouped["val_acc"].max(), "mean test acc": grouped["test_acc"].mean()})
        frame.index = pd.MultiIndex.from_product([[key], frame.index], names=["parameter", "value"])
        frames.append(frame)
    return pd.concat(frames) if frames else pd.DataFrame()


def failures(report: SweepReport) -> pd.DataFrame:
    rows = report.runs[~report.runs["status"].isin(FINISHED_STATUSES)]
    return pd.DataFrame({"status": list(rows["status"]), "error": [report.errors.get(n, "") for n in rows["run"]]},
                        index=pd.Index(list(rows["run"]), name="run"))


def config_warnings(report: SweepReport) -> pd.DataFrame:
    """Each distinct `RunConfig.warnings()` line over the runs, with how many runs it applies to.

    A run's warnings count the parameters its sweep file set as given, so a default is never blamed.
    """
    runs = []
    for key, config in report.configs.items():
        try:
            runs.append((key, RunConfig.from_dict({k: v for k, v in config.items() if k in defaults()}),
                         report.given.get(key) or None))
        except ConfigError:
            continue  # a record from another version of the config: nothing to check it against
    found = group_warnings(runs)
    return pd.DataFrame({"warning": list(found), "runs": [len(names) for names in found.values()]},
                        columns=["warning", "runs"])


# ---------------------------------------------------------------------------------------------
# Statistics (lib.stats) over the runs, and the tables written beside report.html


@dataclass
class Analysis:
    """The tables and sentences of lib.stats and lib.factorial for one report; see those modules for how each
    is computed."""

    params: list[str]  # the factors: the varying parameters, a linked grid axis in place of the ones it sets
    configs: pd.DataFrame
    effects: pd.DataFrame
    interactions: pd.DataFrame
    isolation: pd.DataFrame
    flags: pd.Series  # aligned with report.runs
    boundary: list[str]
    findings: list[str]
    method: str = ""  # how the intervals and calls are made, in plain words, once
    pooled: factorial.Pooled | None = None


def linked_label(mapping: Mapping[str, Any]) -> str:
    """One value of a linked grid axis as its mapping reads: {model: resnet18_imagenet, pretrained: true} ->
    'resnet18_imagenet, pretrained'; a false flag reads 'no pretrained', a number 'lr 0.1'."""
    parts = []
    for key, value in mapping.items():
        if isinstance(value, bool):
            parts.append(key if value else f"no {key}")
        elif isinstance(value, str):
            parts.append(value)
        else:
            parts.append(f"{key} {value_label(value)}")
    return ", ".join(parts)


def statistics_runs(report: SweepReport) -> tuple[pd.DataFrame, list[str]]:
    """The runs table and factors the statistics compare: each linked grid axis is one factor named by the axis
    (a column of its value labels, `linked_label`), in place of the parameters it sets together."""
    runs, params = report.runs, list(report.params)
    for axis, mappings in report.linked.items():
        keys = [k for k in dict.fromkeys(k for m in mappings for k in m) if k in params]
        if not keys or (axis in params and axis not in keys):
            continue
        labels = []
        for key in runs["run"]:
            config = report.configs.get(key, {})
            matches = [m for m in mappings if all(value_label(config.get(k)) == value_label(v) for k, v in m.items())]
            labels.append(linked_label(max(matches, key=len)) if matches else
                          ", ".join(value_label(config.get(k)) for k in keys))
        runs = runs.assign(**{axis: labels})
        at = params.index(keys[0])
        params = [p for p in params if p not in keys]
        params.insert(at, axis)
    return runs, params


def analyse(report: SweepReport) -> Analysis:
    runs, params = statistics_runs(report)
    pooled = factorial.analyse(runs, params)
    flags = stats.flags_column(report.runs, report.histories)
    boundary = stats.boundary_notes(runs, pooled.configs, params)
    found = stats.findings(runs, pooled, flags, boundary)
    sampled = [p for p in report.sampled if p in params]
    if sampled:
        found.append(f"{', '.join(sampled)} {'was' if len(sampled) == 1 else 'were'} sampled from a range, so runs "
                     f"rarely share a value: the findings give a trend at most; the Search section's importances "
                     f"and slices show what the search did")
    return Analysis(params, pooled.configs, pooled.effects, pooled.interactions, stats.isolation_table(runs, params),
                    flags, boundary, found, pooled.method_note(), pooled)


RUN_TABLE_METRICS = ["best_epoch", "epochs_run", "train_acc", "train_loss", "val_acc", "val_loss", "test_acc",
                     "test_loss", "wall_time_s"]


def _plain(value: Any) -> Any:
    """A parameter value for a CSV cell: '' for None, 224 rather than the 224.0 of a column holding a None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer() and not isinstance(value, bool):
        return int(value)
    return value


def runs_table(report: SweepReport) -> pd.DataFrame:
    """One row per run: run, sweep, status, the varying parameters, seed, metrics and diagnostic flags."""
    runs = report.runs
    table = pd.DataFrame({"run": runs["run"], "sweep": runs["sweep"], "status": runs["status"]})
    for p in [*report.params, "seed"]:
        table[p] = [_plain(v) for v in runs[p]] if p in runs else ""
    for m in RUN_TABLE_METRICS:
        table[m] = runs[m].astype("Int64") if m in ("best_epoch", "epochs_run") else runs[m]
    table["flags"] = report.analysis.flags
    return table.reset_index(drop=True)


def write_tables(report: SweepReport, out_dir: str | Path) -> list[Path]:
    """Write runs.csv, configs.csv, effects.csv and interactions.csv into `out_dir`, atomically; nothing when
    there are no runs."""
    if report.runs.empty:
        return []
    out = Path(out_dir)
    tables = {"runs.csv": runs_table(report), "configs.csv": report.analysis.configs,
              "effects.csv": report.analysis.effects, "interactions.csv": report.analysis.interactions}
    for name, table in tables.items():
        atomic_write_text(out / name, table.to_csv(index=False))
    return [out / name for name in tables]


def sweep_folders(text: str) -> list[Path]:
    """The notebook's `sweep_dirs` ('a, b'): each folder resolved by lib.paths.resolve."""
    return [resolve(part.strip()) for part in text.split(",") if part.strip()]


# ---------------------------------------------------------------------------------------------
# Searches: Optuna studies (a sweep folder's study.journal) and early termination (pruned runs)


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
    study: Any = None  # optuna.Study, or None without a readable study.journal
    note: str = ""  # why a study.journal could not be read


def _study(root: str | Path):
    """The sweep's Optuna study: where sweep.json says (`study`), else `root`/study.journal; None without one.

    Raises ValueError when the storage holds no study of the sweep's name and not exactly one study.
    """
    root = Path(root)
    plan = read_json(root / "sweep.json") if (root / "sweep.json").is_file() else {}
    spec = plan.get("study") or (str(root / STUDY_FILE) if (root / STUDY_FILE).is_file() else None)
    if not spec:
        return None
    with warnings.catch_warnings():  # optuna imports tqdm.auto, which warns in a notebook without ipywidgets
        warnings.filterwarnings("ignore", message="IProgress not found")
        import optuna
    storage = open_storage(spec)
    name = plan.get("name")
    names = [s.study_name for s in storage.get_all_studies()]
    if name not in names:
        if len(names) != 1:
            raise ValueError(f"{spec} holds {len(names)} studies ({', '.join(names) or 'none'}) and none is named "
                             f"{name!r} like its sweep")
        name = names[0]
    return optuna.load_study(study_name=name, storage=storage)


def _searches(report: SweepReport) -> list[SweepSearch]:
    found = []
    for sweep, root in zip(report.sweeps, report.roots):
        plan = read_json(root / "sweep.json") if (root / "sweep.json").is_file() else {}
        study, note = None, ""
        try:
            study = _study(root)
        except (OSError, ValueError, KeyError) as exc:
            note = f"{root / STUDY_FILE} could not be read ({type(exc).__name__}: {exc})"
        attrs = study.user_attrs if study is not None else {}
        metric = attrs.get("metric") or plan.get("metric") or DEFAULT_METRIC
        goal = metric.get("goal") or (study.direction.name.lower() if study is not None else "maximize")
        found.append(SweepSearch(sweep, metric.get("name", "val_acc"), goal,
                                 attrs.get("search", plan.get("search")),
                                 attrs.get("early_terminate", plan.get("early_terminate")), study, note))
    return found


def searched(report: SweepReport) -> bool:
    """Whether the report has a search section: some sweep has a study (or an unreadable one) or a pruned run."""
    pruned = bool((report.runs["status"] == "pruned").any())
    return pruned or any(s.study is not None or s.note for s in report.searches)


def _keys(report: SweepReport, sweep: str) -> dict[str, str]:
    """Run folder name -> the run's key in the report, for one sweep's runs."""
    keys = report.runs.loc[report.runs["sweep"] == sweep, "run"]
    return {key.removeprefix(f"{sweep}/"): key for key in keys}


def _epochs_run(report: SweepReport, row: Mapping[str, Any] | None, key: str) -> float:
    """Epochs a run trained: its metrics' epochs_run, else the rows of its history (failed and running runs)."""
    if row is not None and math.isfinite(_number(row.get("epochs_run"))):
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
    for search in report.searches:
        rows = []
        if search.study is not None:
            keys = _keys(report, search.sweep)
            for trial in sorted(search.study.get_trials(deepcopy=False), key=lambda t: t.number):
                folder = trial.user_attrs.get("run")
                key = keys.get(folder, folder or f"trial {trial.number}")
                row = runs.loc[key].to_dict() if key in runs.index else None
                status = row["status"] if row is not None and row["status"] in FINISHED_STATUSES else \
                    _TRIAL_STATUS.get(trial.state.name, trial.state.name.lower())
                steps = trial.intermediate_values
                counts = trial.state.name == "COMPLETE" and status in RANKED_STATUSES and trial.value is not None
                rows.append({"number": trial.number, "run": key, "status": status,
                             "value": float(trial.value) if counts else math.nan,
                             "last_value": float(steps[max(steps)]) if steps else math.nan,
                             "epochs_run": _number_or(_epochs_run(report, row, key), float(max(steps, default=0))),
                             "epochs": _number(row["epochs"]) if row is not None else math.nan})
        else:
            for row in report.runs[report.runs["sweep"] == search.sweep].to_dict("records"):
                if row["status"] in _NOT_STARTED:
                    continue
                history = report.histories.get(row["run"])
                last = history[search.metric].iloc[-1] if history is not None and search.metric in history \
                    and len(history) else math.nan
                rows.append({"number": math.nan, "run": row["run"], "status": row["status"],
                             "value": _number(row.get(search.metric)) if row["status"] in RANKED_STATUSES
                             else math.nan, "last_value": _number(last),
                             "epochs_run": _epochs_run(report, row, row["run"]), "epochs": _number(row["epochs"])})
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
    rest = ", ".join(f"{k} {value_label(v)}" for k, v in settings.items() if k != "type")
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
    for search in report.searches:
        part = trials[trials["sweep"] == search.sweep]
        counted = part[part["value"].notna()]
        best = (counted.loc[counted["value"].idxmax() if search.goal == "maximize" else counted["value"].idxmin()]
                if len(counted) else None)
        rows.append({"sweep": search.sweep, "search": _search_text(search.search) if search.search else "grid",
                     "early termination": _described(search.early_terminate),
                     "metric": f"{search.metric} ({search.goal})",
                     "source": "study.journal" if search.study is not None else "run records",
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
    return _number(row.get("wall_time_s")) / _number(row.get("epochs_run"))


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
        unpruned = [max(_number_or(r["epochs"], e), e) if p else e for r, e, p in zip(records, ran, pruned)]
        saved_s = sum((u - e) * _epoch_seconds(report, r) for r, e, u, p in zip(records, ran, unpruned, pruned) if p)
        total_s = float(pd.to_numeric(done["wall_time_s"], errors="coerce").sum())
        epochs_run, epochs_full = float(pd.Series(ran, dtype=float).sum()), float(pd.Series(unpruned, dtype=float).sum())
        rows.append({"sweep": sweep, "finished runs": len(records), "pruned": sum(pruned), "epochs run": epochs_run,
                     "epochs unpruned": epochs_full, "epochs saved": epochs_full - epochs_run,
                     "epochs saved (%)": round(100 * (epochs_full - epochs_run) / epochs_full, 1) if epochs_full else
                     math.nan, "time (s)": total_s, "time saved (s)": saved_s,
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
              if len({value_label(t.params.get(p)) for t in complete}) > 1]
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


# ---------------------------------------------------------------------------------------------
# Follow-up sweeps


FOLLOWUP_METRICS = ["val_acc", "test_acc", "best_epoch", "epochs_run"]
FOLLOWUP_FIGURES = 4  # curves for at most this many follow-ups, the best first; the table lists all


def _differences(a: Mapping[str, Any], b: Mapping[str, Any], params: Sequence[str]) -> list[str]:
    return [k for k in params if value_label(a[k]) != value_label(b[k])]


def compare_followups(report: SweepReport) -> pd.DataFrame:
    """Each run of a later sweep beside the run of an earlier sweep it differs from least.

    Least: fewest differing parameters (runtime fields aside, seed included); ties go to a run that was
    not pruned, then to the higher validation accuracy, then to the earlier run in the report's order. `changed` lists each differing
    parameter as 'earlier -> later'.
    """
    columns = ["run", "sweep", "earlier_run", "earlier_sweep", "changed",
               *[c for m in FOLLOWUP_METRICS for c in (m, f"earlier_{m}")]]
    order = {s: i for i, s in enumerate(report.sweeps)}
    params = [k for k in dict.fromkeys([*report.varying, *PARAMETERS]) if k in report.runs]
    records = report.runs.to_dict("records")
    rows = []
    for later in records:
        earlier = [r for r in records if order[r["sweep"]] < order[later["sweep"]]]
        if not earlier:
            continue
        ranked = [(len(_differences(r, later, params)), r["status"] not in RANKED_STATUSES,
                   -_number_or(r["val_acc"], -math.inf), i) for i, r in enumerate(earlier)]
        match = earlier[min(ranked)[3]]
        changed = "; ".join(f"{k} {value_label(match[k])} -> {value_label(later[k])}"
                            for k in _differences(match, later, params))
        rows.append({"run": later["run"], "sweep": later["sweep"], "earlier_run": match["run"],
                     "earlier_sweep": match["sweep"], "changed": changed or "nothing",
                     **{c: (later if c == m else match)[m] for m in FOLLOWUP_METRICS for c in (m, f"earlier_{m}")}})
    return pd.DataFrame(rows, columns=columns)


def _number_or(value: Any, missing: float) -> float:
    number_ = _number(value)
    return missing if math.isnan(number_) else number_


# ---------------------------------------------------------------------------------------------
# Notebook sections: each displays a heading, tables and figures for one part of the report.

# Columns whose numbers are measurements (4 decimals); other whole numbers print as integers and
# parameter values as written (5e-05 stays 5e-05).
_MEASURES = ("acc", "loss", "effect", "interaction", "ci_low", "ci_high", "_sd", "mean", "best value", "importance")
_SECONDS = ("wall_time_s", "images_per_s", "time (s)", "training images/s", "time saved (s)")
_P_VALUES = ("p", "p_holm", "p_vs_best", "p_holm_vs_best")  # two significant digits


def _formatter(column: str, values: pd.Series):
    name = str(column).lower()
    numeric = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if name in _SECONDS:
        return lambda v: number(v, ".1f")
    if name in _P_VALUES:
        return lambda v: number(v, ".2g")
    if any(word in name for word in _MEASURES) or "accuracy" in name or name in ("se", "vs_best"):
        return lambda v: number(v, ".4f") if not isinstance(v, float) or not v.is_integer() else f"{v:.4f}"
    if numeric and all(not math.isfinite(v) or float(v).is_integer() for v in numeric):
        return lambda v: number(v, "d")
    return _parameter_text


def _parameter_text(value: Any) -> str:
    """A parameter value in a table: as written, but a sampled float to 4 significant digits."""
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        return format(value, ".4g")
    return value_label(value) if not isinstance(value, str) else value


def styled(table: pd.DataFrame, index: bool = True):
    """A table for the report: measurements to 4 decimals, counts as integers, run names on one line."""
    styler = table.style.format({c: _formatter(c, table[c]) for c in table.columns})
    styler = styler.set_table_styles([
        {"selector": "tbody th", "props": [("white-space", "nowrap"), ("text-align", "left")]},
        {"selector": "td", "props": [("white-space", "nowrap")]},
        {"selector": "th, td", "props": [("padding", "2px 8px"), ("font-size", "12px")]},
    ]).set_table_attributes('style="table-layout: auto; width: auto"')
    return styler if index else styler.hide(axis="index")


def _prose(styler, columns: Sequence[str] | None = None):
    """Columns of sentences: left-aligned and wrapped, not one long right-aligned line."""
    return styler.set_properties(subset=columns, **{"white-space": "normal", "text-align": "left",
                                                    "max-width": "900px"})


def _show(*items) -> None:
    from IPython.display import Markdown, display

    for item in items:
        if isinstance(item, pd.DataFrame):
            item = styled(item)
        display(Markdown(item) if isinstance(item, str) else item)


def _figure_html(fig, width: int) -> str:
    import base64
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return f'<img style="width:{width}px" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _figure(fig, width: int):
    """A figure as an image `width` pixels wide, ready to show; the figure is closed (so the notebook
    does not draw it a second time)."""
    return _side_by_side(_figure_html(fig, width))


def _side_by_side(*parts: str):
    from IPython.display import HTML

    cells = "".join(f"<div>{part}</div>" for part in parts)
    return HTML(f'<div style="display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap">{cells}</div>')


def _bullets(lines: Sequence[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _no_runs(report: SweepReport) -> str:
    folders = ", ".join(f"`{r}`" for r in report.roots) or "no folder given"
    return f"No runs yet ({folders} holds no planned or recorded run)."


def show_findings(report: SweepReport) -> None:
    """The findings as bullets, each saying what it rests on, the edges of the search, then once how every range
    and call was made."""
    if report.runs.empty:
        _show(_no_runs(report))
        return
    analysis = report.analysis
    edges = ("" if analysis.boundary else "\n\nEdges of the search: none (no numeric parameter with at least "
             f"{stats.BOUNDARY_MIN_VALUES} values has its best at the smallest or largest value tried).")
    _show(_bullets(analysis.findings) + edges + (f"\n\n*{analysis.method}*" if analysis.method else ""))


def show_overview(report: SweepReport) -> None:
    if report.runs.empty:
        _show(_no_runs(report))
        return
    tables = overview(report)
    where = ", ".join(f"`{r}`" for r in report.roots)
    _show(f"**Sweep{'s' * (len(report.sweeps) > 1)} `{report.name}`** in {where}. {report.description}",
          conditions(report))
    _side_by_side_tables(tables["status"], tables["varying"], tables["fixed"])
    warnings = config_warnings(report)
    _show("**Warnings** of the run configs (settings that cannot take effect), with the runs each applies to:"
          + (" none." if warnings.empty else ""))
    if not warnings.empty:
        _show(_prose(styled(warnings, index=False), ["warning"]))


def _side_by_side_tables(*tables: pd.DataFrame) -> None:
    from IPython.display import display

    display(_side_by_side(*[styled(t).to_html() for t in tables if not t.empty]))


def show_leaderboard(report: SweepReport) -> None:
    if report.runs.empty:
        _show("none")
        return
    table = leaderboard(report).rename(columns={v: k for k, v in METRIC_LABELS.items()})
    # One screen wide: throughput has its own section, losses and times are in runs.csv.
    table = table.drop(columns=["images_per_s", "train_loss", "test_loss", "wall_time_s"])
    _show(f"Columns: {'; '.join(f'{k}: {METRIC_LABELS[k]}' for k in ('val_acc', 'best_epoch'))}; "
          f"flags: see Diagnostics. Losses and times of every run are in runs.csv.", table)


def show_configs(report: SweepReport) -> None:
    """Configurations over seeds: n, mean, sd and 95% CI of validation accuracy, and ties with the best."""
    analysis = report.analysis
    configs = analysis.configs
    if configs.empty:
        _show("none (no finished run)")
        return
    seeds = set(configs["n"])
    method = analysis.pooled.config_method if analysis.pooled is not None else ""
    ties = (f"vs_best: difference from the best; tied_with_best: not distinguishable from the best after Holm's "
            f"correction over the comparisons (p_holm_vs_best >= {stats.ALPHA:g}), against {method}; raw p-values are "
            f"in configs.csv." if method else "")
    if seeds == {1}:
        _show("One seed per configuration (n = 1): no spread or CI per configuration, so those columns are left out. "
              + ties, configs.drop(columns=["val_acc_sd", "val_acc_ci_low", "val_acc_ci_high", "test_acc_sd",
                                            "p_vs_best"]).set_index("config").astype({"tied_with_best": object}))
        return
    table = configs.drop(columns="p_vs_best").set_index("config").astype({"tied_with_best": object})
    table["tied_with_best"] = ["untested" if pd.isna(t) else t for t in table["tied_with_best"]]
    _show(f"n = seeds per configuration ({', '.join(map(str, sorted(seeds)))}); CI: 95% t-interval of the mean "
          f"over its seeds. " + ties, table)


def _estimates(table: pd.DataFrame):
    """A table of estimates for the page: methods are in the text above it, the Lenth columns only where used,
    `identical` only where some row is."""
    drop = ["ci_method"] + [c for c in ("lenth_ci_low", "lenth_ci_high") if c in table and table[c].isna().all()]
    if "identical" in table and not table["identical"].astype(bool).any():
        drop.append("identical")
    return styled(table.drop(columns=drop), index=False)


def _ci_note(table: pd.DataFrame) -> str:
    methods = list(dict.fromkeys(table["ci_method"]))
    return "CIs (95%): " + "; ".join(methods) + "." if methods else ""


def show_effects(report: SweepReport) -> None:
    effects = report.analysis.effects
    if effects.empty:
        _show("none (no varying parameter with finished runs)")
        return
    _show("From one linear model over every run (see the findings): kind difference is `value` minus `reference` "
          "in validation accuracy (fraction), averaged over the other parameters; for ordered parameters (numbers "
          "with three or more values), kind mean is the accuracy at `value` and kind trend the change per step of "
          "the trend axis. p_holm: Holm-adjusted over every effect and interaction; a finding calls a difference "
          f"only when p_holm < {stats.ALPHA:g}. n: configuration x seed results at value or reference. "
          + _ci_note(effects), _estimates(effects))


def show_interactions(report: SweepReport) -> None:
    table = report.analysis.interactions
    if table.empty:
        _show("none (fewer than two parameters, or no interaction the runs can separate)")
        return
    _show("interaction: half the difference between a's effect (value_a vs its reference) at b's value_b and at b's "
          "reference, from the same model as the effects; where one side is \"trend\", how much that parameter's "
          "trend changes between the other's values. " + _ci_note(table), _estimates(table))


def show_isolation(report: SweepReport) -> None:
    from lib.figures import plot_isolation

    if report.analysis.isolation.empty:
        _show("none")
        return
    _show("For each value, the best configuration with that value (mean validation accuracy over its seeds, "
          "95% t-interval as error bars when n >= 2). A maximum over the other parameters flatters values "
          "tried in more configurations.")
    panels = min(4, report.analysis.isolation["parameter"].nunique())
    _show(_figure(plot_isolation(report), 240 * panels + 60))


def show_best_runs(report: SweepReport, k: int = 2) -> None:
    """For each model, its k best runs: parameters, metrics and curves side by side."""
    from lib.figures import plot_run

    if report.ranked.empty:
        _show("none (no finished run)" if report.finished.empty else "none (every finished run was pruned)")
        return
    for model in report.models:
        names = best_runs(report, model, k)
        _show(f"### {model}: best {len(names)} of {int((report.runs['model'] == model).sum())} runs")
        for rank, name in enumerate(names, 1):
            curves = [_figure_html(plot_run(report, name, size=(7.5, 2.8)), 460)] if name in report.histories \
                else ["(no history)"]
            _show(f"#### {model} #{rank}: `{name}`")
            _show(_side_by_side(styled(run_parameters(report, name)).to_html(),
                                styled(run_metrics(report, name)).to_html(), *curves))
        if not names:
            _show("No finished run of this model yet.")


def show_diagnostics(report: SweepReport) -> None:
    rules = pd.DataFrame({"rule": list(stats.FLAG_RULES.values())}, index=pd.Index(list(stats.FLAG_RULES),
                                                                                   name="flag"))
    _show("Each finished run is checked against these rules:", _prose(styled(rules)))
    flags = report.analysis.flags
    flagged = report.runs.loc[flags != "", ["run", "sweep", "status", "best_epoch", "epochs_run", "val_acc"]]
    if flagged.empty:
        _show("Flagged runs: none.")
        return
    flagged = flagged.assign(flags=flags[flags != ""]).set_index("run")
    _show(f"Flagged runs: {len(flagged)} of {len(report.runs)}.", flagged)


def show_followups(report: SweepReport) -> None:
    from lib.figures import plot_followup

    table = compare_followups(report)
    if table.empty:
        _show("none (one sweep in this report; pass several folders in `sweep_dirs`, earlier first)")
        return
    _show("Each run of a later sweep beside the earlier run it differs from least (fewest changed parameters; "
          "ties: higher validation accuracy).", _prose(styled(table.set_index("run")), ["changed"]))
    pairs = [p for p in table.to_dict("records") if p["run"] in report.histories and p["earlier_run"] in
             report.histories]
    shown = sorted(pairs, key=lambda p: -_number_or(p.get("val_acc"), -math.inf))[:FOLLOWUP_FIGURES]
    if len(pairs) > len(shown):
        _show(f"Curves of the {len(shown)} follow-ups with the highest validation accuracy (of {len(pairs)}).")
    for pair in shown:
        _show(_figure(plot_followup(report, pair["run"], pair["earlier_run"]), 800))


def show_combined_curves(report: SweepReport) -> None:
    from lib.figures import plot_combined_curves

    if not report.histories:
        _show("none (no run has a history yet)")
        return
    for model in report.models:
        _show(_figure(plot_combined_curves(report, model), 1000))


def show_parameter_effects(report: SweepReport) -> None:
    from lib.figures import plot_parallel_coordinates

    table = parameter_effects(report)
    if table.empty:
        _show("none")
        return
    _show(table, _figure(plot_parallel_coordinates(report), 900))


def show_throughput(report: SweepReport) -> None:
    from lib.figures import plot_throughput

    if report.finished.empty:
        _show("none (no finished run)")
        return
    _show(_figure(plot_throughput(report), 700))


def show_failures(report: SweepReport) -> None:
    table = failures(report)
    if table.empty:
        _show("none")
        return
    _show(_prose(styled(table), ["error"]))


def show_tables(paths: Sequence[Path]) -> None:
    _show("Written: " + ", ".join(f"`{p}`" for p in paths) if paths else "none (no runs)")


def show_search(report: SweepReport) -> None:
    """Searches and early termination: each sweep's search, its best metric so far against trials and epochs,
    the epochs and time termination saved, and (for studies) parameter importances and slices."""
    from lib.figures import plot_best_so_far, plot_importances, plot_slices

    if report.runs.empty or not searched(report):
        _show("No sweep in this report searched or terminated runs early (no `study.journal` and no pruned run).")
        return
    _show("Best values are the metric at each run's best epoch, over complete runs only: pruned runs trained part of "
          "their epochs and are never counted. Sweeps without a study are read from their run records, in "
          "sweep.json's order.", search_overview(report),
          *[f"Note: {s.note}." for s in report.searches if s.note])
    trials = trials_table(report)
    goals = {s.metric: s.goal for s in report.searches}
    _show("#### Best so far")
    for metric, part in trials.groupby("metric", sort=False):
        _show(_figure(plot_best_so_far(part, goals[metric]), 1000))
    _show("#### Epochs and time early termination saved",
          "Epochs unpruned: a pruned run at its configured epochs, any other run at the epochs it ran. Time saved is "
          "an estimate: each pruned run's median epoch time times the epochs it did not run. Pruned runs appear "
          "in the curves under *All runs per model*, dashed and ending in an x.", termination_savings(report))
    studies = [s for s in report.searches if s.study is not None]
    if not studies:
        _show("No sweep here has a `study.journal`, so there are no parameter importances or slices.")
        return
    _show("#### Parameter importances",
          f"{IMPORTANCE_EVALUATOR} over each study's complete trials: the share of the metric's variance each "
          f"sampled parameter explains. With a few dozen trials, read the order, not the decimals.")
    for search in studies:
        table, reason = param_importances(search)
        if reason:
            _show(f"Not computed for {reason}.")
            continue
        _show(_side_by_side(styled(table).to_html(), _figure_html(plot_importances(table, search.sweep), 450)))
    _show("#### Slices", "Each numeric sampled parameter against the metric: complete trials as dots, pruned trials "
                         "as x at the last value they reported (lower than they would have reached). Log x-axis for "
                         "parameters sampled on a log scale or spanning more than two decades.")
    for search in studies:
        points = slice_points(search)
        if points.empty:
            _show(f"{search.sweep}: no numeric sampled parameter.")
            continue
        panels = min(4, points["parameter"].nunique())
        _show(_figure(plot_slices(points, search.metric, search.sweep), 260 * panels + 60))
