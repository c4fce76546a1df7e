"""The report's tables: overview, conditions, leaderboard, the best configuration, best runs, warnings,
failures, follow-ups, and the files written beside the report (runs.csv, configs.csv, effects.csv,
interactions.csv, and best.yaml, the best configuration as a config file for `sweeplab train --config`).
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from lib.core import values
from lib.core.formatting import as_float, is_missing, is_number, native
from lib.core.paths import project_root, resolve
from lib.core.records import FINISHED_STATUSES, RANKED_STATUSES, atomic_write_text
from lib.config.runconfig import RUNTIME_FIELDS, group_warnings
from lib.report import design, findings
from lib.report.analysis import analysis_of, runs_of
from lib.report.columns import METRIC_LABELS, cell_text, kind_of, metric_label
from lib.report.load import METRIC_COLUMNS, PARAMETERS, SweepReport


def overview(report: SweepReport) -> dict[str, pd.DataFrame]:
    """Fixed parameters, varying parameters with their values, and runs by status."""
    fixed = pd.DataFrame({"value": [native(v) if not isinstance(v, (list, dict)) else str(v)
                                     for v in report.fixed.values()]}, index=list(report.fixed))
    fixed.index.name = "fixed parameter"
    texts = {k: _values_text(report.runs[k]) for k in report.varying if k in report.runs}
    varying = pd.DataFrame({"values": list(texts.values())}, index=list(texts))
    varying.index.name = "varying parameter"
    status = report.runs["status"].value_counts().rename_axis("status").to_frame("runs")
    return {"fixed": fixed, "varying": varying, "status": status}


OVERVIEW_VALUES = 10  # a parameter with more numeric values than this (a search) is shown as a range


def _values_text(column: pd.Series) -> str:
    """A parameter's values in the one order (lib.core.values), or the range of a search's many numbers."""
    distinct = values.ordered(column)
    numbers = [float(v) for v in distinct if is_number(v) and not is_missing(v)]
    if len(distinct) > OVERVIEW_VALUES and len(numbers) == len(distinct):
        return f"{len(distinct)} values from {min(numbers):.4g} to {max(numbers):.4g}"
    return ", ".join(map(values.reader_text, distinct))


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
    parts.append(f"One seed ({seeds[0]}): no run is repeated, so how much a result moves from seed to seed is "
                 f"not measured here." if len(seeds) == 1 else f"Seeds: {', '.join(map(str, seeds))}.")
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
    """All runs, best first by lib.report.design.RANKING (ties: test accuracy, then name), then pruned runs
    (ranked among themselves), unfinished runs last, with their diagnostic flags."""
    columns = ["run", *(["sweep"] if len(report.sweeps) > 1 else []), "status",
               *[k for k in report.varying if k in report.runs], *METRIC_COLUMNS, "wall_time_s", "images_per_s"]
    table = report.runs[columns].assign(flags=analysis_of(report).flags)
    group = [1 if s == "pruned" else 0 if v == v else 2 for s, v in zip(table["status"], table["val_acc"])]
    parts = [design.ranked(part, "val_acc", "test_acc", "run")
             for _, part in table.assign(_group=group).groupby("_group", sort=True)]
    table = pd.concat(parts) if parts else table.assign(_group=0)
    return table.drop(columns="_group").set_index("run").rename(columns=METRIC_LABELS)


def best_runs(report: SweepReport, model: str | None = None, k: int = 2) -> list[str]:
    """Names of the k finished runs first by lib.report.design.RANKING (of one model); pruned runs aside."""
    done = report.ranked
    if model is not None and "model" in done:
        done = done[done["model"] == model]
    return list(design.ranked(done, "val_acc", "test_acc", "run")["run"][:k])


BEST_FILE = "best.yaml"  # beside the report: the best configuration, ready for sweeplab train --config


def best_configuration(report: SweepReport) -> dict[str, Any] | None:
    """The configuration with the highest mean validation accuracy (the configurations table's first row): its
    label, its best run, the parameters its sweep file gave that run (seed included, so a rerun repeats it), its
    seeds, and the mean and spread of its runs' metrics. None without a ranked run."""
    configs = analysis_of(report).configs
    if configs.empty or report.ranked.empty:
        return None
    row = configs.iloc[0]
    runs = runs_of(report, row)
    if runs.empty:
        return None
    best = design.ranked(runs, "val_acc", "test_acc", "run").iloc[0]
    recipe = report.recipe(best)

    def spread(column: str) -> tuple[float, float, int]:
        measured = pd.to_numeric(runs[column], errors="coerce").dropna()
        return (float(measured.mean()) if len(measured) else math.nan,
                float(measured.std(ddof=1)) if len(measured) >= 2 else math.nan, len(measured))

    seeds = sorted({native(s) for s in runs["seed"]}) if "seed" in runs else []
    return {"config": row["config"], "run": best["run"], "sweep": best["sweep"], "params": recipe,
            "runs": list(runs["run"]), "seeds": seeds, "val_acc": spread("val_acc"), "test_acc": spread("test_acc"),
            "best_epoch": spread("best_epoch"), "epochs_run": spread("epochs_run")}


BEST_RERUN = "best-rerun"  # best.yaml's out_dir: relative to best.yaml's folder (lib.run.cli.load_config_file)


def best_config_file(report: SweepReport) -> dict[str, Any] | None:
    """best.yaml's content: the best configuration's parameters as a flat config (its best run's seed, so a
    rerun repeats that run), W&B off, and a folder beside the file for the rerun's records. No path of the
    machine that built it: the file works where the report's folder is copied or moved."""
    best = best_configuration(report)
    if best is None:
        return None
    params = {k: v for k, v in best["params"].items() if k not in RUNTIME_FIELDS}
    return {**params, "wandb_mode": "disabled", "out_dir": BEST_RERUN}


def rerun_command(out_dir: Path) -> str:
    """The command that reruns best.yaml: from the report's folder, reached from the project root when the
    folder is inside the project (`cd reports/<sweep> && ...`); never an absolute path."""
    where = command_path(out_dir)
    run = f"sweeplab train --config {BEST_FILE}"
    return run if Path(where).is_absolute() else f"cd {shlex.quote(where)} && {run}"


def command_path(path: Path) -> str:
    """A path as a command pasted at the project root needs it: relative to the root when inside the project."""
    path = Path(path).resolve()
    root = project_root()
    if root is not None and path.is_relative_to(root):
        return str(path.relative_to(root))
    return str(path)


def run_parameters(report: SweepReport, name: str) -> pd.DataFrame:
    """A run's parameters: what varies in the sweep first, then the rest of its config (values as recorded,
    for the report's tables to print)."""
    row = report.runs.set_index("run").loc[name]
    shown = [k for k in report.varying if k in row] + [
        k for k in ("dataset", "model", "optimizer", "lr", "weight_decay", "momentum", "nesterov", "scheduler",
                    "batch_size", "epochs", "augment", "mix", "early_stopping", "patience", "min_delta")
        if k in row and k not in report.varying]
    return pd.DataFrame({"value": [native(row[k]) for k in shown]}, index=shown, dtype=object
                        ).rename_axis("parameter")


def run_metrics(report: SweepReport, name: str) -> pd.DataFrame:
    """A run's metrics as text: accuracies and losses to 4 decimals, epochs as whole numbers, time as 0m27s."""
    row = report.runs.set_index("run").loc[name]
    keys = METRIC_COLUMNS + ["wall_time_s"]

    return pd.DataFrame({"value": [cell_text(row[k], kind_of(k)) for k in keys]},
                        index=[metric_label(k) for k in keys]).rename_axis("metric")


def parameter_effects(report: SweepReport) -> pd.DataFrame:
    """For each varying parameter and value: finished runs (pruned aside), mean and best validation accuracy,
    mean test accuracy."""
    done = report.ranked
    frames = []
    for key in report.varying:
        if key not in done or done.empty:
            continue
        grouped = done.groupby(done[key].map(values.key))
        frame = pd.DataFrame({"runs": grouped.size(), "mean val acc": grouped["val_acc"].mean(),
                              "best val acc": grouped["val_acc"].max(), "mean test acc": grouped["test_acc"].mean()})
        shown = values.ordered(done[key])  # in the one order: 0.001 before 0.1
        frame = frame.loc[[values.key(v) for v in shown]]
        frame.index = [values.reader_text(v) for v in shown]
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
    runs = [(key, report.checked_config(key), report.given.get(key) or None) for key in report.configs]
    found = group_warnings([run for run in runs if run[1] is not None])  # None: a record of another version
    return pd.DataFrame({"warning": list(found), "runs": [len(names) for names in found.values()]},
                        columns=["warning", "runs"])


RUN_TABLE_METRICS = ["best_epoch", "epochs_run", "train_acc", "train_loss", "val_acc", "val_loss", "test_acc",
                     "test_loss", "wall_time_s"]


def _csv_cell(value: Any) -> Any:
    """A parameter value for a CSV cell, for pandas to read back: '' for None, 224 rather than the 224.0 of a column
    holding a None, flags and names as they are. (Not a text for people: that is values.reader_text.)"""
    value = native(value)
    return "" if value is None else int(value) if isinstance(value, float) and value.is_integer() else value


def runs_table(report: SweepReport) -> pd.DataFrame:
    """One row per run: run, sweep, status, the varying parameters, seed, metrics and diagnostic flags."""
    runs = report.runs
    table = pd.DataFrame({"run": runs["run"], "sweep": runs["sweep"], "status": runs["status"]})
    for p in [*report.params, "seed"]:
        table[p] = [_csv_cell(v) for v in runs[p]] if p in runs else ""
    for m in RUN_TABLE_METRICS:
        table[m] = runs[m].astype("Int64") if m in ("best_epoch", "epochs_run") else runs[m]
    table["flags"] = analysis_of(report).flags
    return table.reset_index(drop=True)


def write_tables(report: SweepReport, out_dir: str | Path) -> list[Path]:
    """Write runs.csv, configs.csv, effects.csv and interactions.csv into `out_dir`, atomically, and best.yaml
    when a run finished; nothing when there are no runs."""
    if report.runs.empty:
        return []
    import yaml

    out = Path(out_dir)
    tables = {"runs.csv": runs_table(report), "configs.csv": analysis_of(report).configs,
              "effects.csv": analysis_of(report).effects, "interactions.csv": analysis_of(report).interactions}
    for name, table in tables.items():
        atomic_write_text(out / name, table.to_csv(index=False))
    written = [out / name for name in tables]
    best = best_config_file(report)
    if best is not None:
        config = " ".join(best_configuration(report)["config"].split())  # one comment line, whatever the labels
        atomic_write_text(out / BEST_FILE, f"# The best configuration of {report.name} ({config}); rerun it from "
                                           f"this file's folder (its records go to {BEST_RERUN}/ beside it):\n"
                                           f"#   sweeplab train --config {BEST_FILE}\n"
                                           + yaml.safe_dump(best, sort_keys=False))
        written.append(out / BEST_FILE)
    return written


def sweep_folders(text: str) -> list[Path]:
    """The notebook's `sweep_dirs` ('a, b'): each folder resolved by lib.core.paths.resolve."""
    return [resolve(part.strip()) for part in text.split(",") if part.strip()]


FOLLOWUP_METRICS = ["val_acc", "test_acc", "best_epoch", "epochs_run"]
FOLLOWUP_FIGURES = 4  # curves for at most this many follow-ups, the best first; the table lists all


def _differences(a: Mapping[str, Any], b: Mapping[str, Any], params: Sequence[str]) -> list[str]:
    return [k for k in params if not values.same(a[k], b[k])]


def compare_followups(report: SweepReport) -> pd.DataFrame:
    """Each run of a later sweep beside the run of an earlier sweep it differs from least.

    Least: fewest differing parameters (runtime fields aside, seed included); ties go to a run that was
    not pruned, then to the higher validation accuracy, then to the earlier run in the report's order. `changed` lists each differing
    parameter as 'earlier -> later'.
    """
    columns = ["run", "sweep", "earlier_run", "earlier_sweep", "matched", "changed",
               *[c for m in FOLLOWUP_METRICS for c in (m, f"earlier_{m}")]]
    order = {s: i for i, s in enumerate(report.sweeps)}
    params = [k for k in dict.fromkeys([*report.varying, *PARAMETERS]) if k in report.runs]
    records = report.runs.to_dict("records")
    rows = []
    for later in records:
        earlier = [r for r in records if order[r["sweep"]] < order[later["sweep"]]]
        if not earlier:
            continue
        parent = report.parents.get(later["run"], "")
        named = [r for r in earlier if f"{r['sweep']}/{r['run'].split('/')[-1]}" == parent]
        if named:
            match, how = named[0], "from"
        else:
            ranked = [(len(_differences(r, later, params)), r["status"] not in RANKED_STATUSES,
                       -as_float(r["val_acc"], -math.inf), i) for i, r in enumerate(earlier)]
            match, how = earlier[min(ranked)[3]], "nearest"
        changed = "; ".join(f"{k} {values.reader_text(match[k])} -> {values.reader_text(later[k])}"
                            for k in _differences(match, later, params))
        rows.append({"run": later["run"], "sweep": later["sweep"], "earlier_run": match["run"],
                     "earlier_sweep": match["sweep"], "matched": how, "changed": changed or "nothing",
                     **{c: (later if c == m else match)[m] for m in FOLLOWUP_METRICS for c in (m, f"earlier_{m}")}})
    return pd.DataFrame(rows, columns=columns)


def followup_findings(report: SweepReport) -> list[str]:
    """What each follow-up gained over the run it follows (lib.report.findings.followup_findings of
    `compare_followups`)."""
    return findings.followup_findings(compare_followups(report))
