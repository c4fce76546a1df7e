"""The report's tables: overview, conditions, leaderboard, best runs, warnings, failures, follow-ups, and
the CSV files written beside the report (runs.csv, configs.csv, effects.csv).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from lib.core.formatting import as_float, number
from lib.core.paths import resolve
from lib.core.records import FINISHED_STATUSES, RANKED_STATUSES, atomic_write_text
from lib.report.analysis import analysis
from lib.report.load import METRIC_COLUMNS, METRIC_LABELS, PARAMETERS, SweepReport, levels, value_label
from lib.spec.config import ConfigError, RunConfig, defaults, group_warnings


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
    table = report.runs[columns].assign(flags=analysis(report).flags)
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
    table["flags"] = analysis(report).flags
    return table.reset_index(drop=True)


def write_tables(report: SweepReport, out_dir: str | Path) -> list[Path]:
    """Write runs.csv, configs.csv, effects.csv and interactions.csv into `out_dir`, atomically; nothing when
    there are no runs."""
    if report.runs.empty:
        return []
    out = Path(out_dir)
    tables = {"runs.csv": runs_table(report), "configs.csv": analysis(report).configs,
              "effects.csv": analysis(report).effects, "interactions.csv": analysis(report).interactions}
    for name, table in tables.items():
        atomic_write_text(out / name, table.to_csv(index=False))
    return [out / name for name in tables]


def sweep_folders(text: str) -> list[Path]:
    """The notebook's `sweep_dirs` ('a, b'): each folder resolved by lib.core.paths.resolve."""
    return [resolve(part.strip()) for part in text.split(",") if part.strip()]


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
                   -as_float(r["val_acc"], -math.inf), i) for i, r in enumerate(earlier)]
        match = earlier[min(ranked)[3]]
        changed = "; ".join(f"{k} {value_label(match[k])} -> {value_label(later[k])}"
                            for k in _differences(match, later, params))
        rows.append({"run": later["run"], "sweep": later["sweep"], "earlier_run": match["run"],
                     "earlier_sweep": match["sweep"], "changed": changed or "nothing",
                     **{c: (later if c == m else match)[m] for m in FOLLOWUP_METRICS for c in (m, f"earlier_{m}")}})
    return pd.DataFrame(rows, columns=columns)
