"""Aggregate a sweep's run records into the report's tables (figures are in lib.figures).

Reads only files in the sweep folder (sweep.json and each run's config.json, metrics.json,
history.csv), never W&B. Runs are ranked by validation accuracy at their best epoch (the epoch
with the lowest validation loss); test accuracy is that checkpoint's, reported beside it and never
used for selection. Runs that failed or have not run yet appear with their status and no metrics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lib.config import defaults
from lib.formatting import number
from lib.records import FINISHED_STATUSES, VAL_ACC_MEANING, load_run, read_json, run_state

METRIC_COLUMNS = ["train_acc", "train_loss", "val_acc", "val_loss", "test_acc", "best_epoch", "epochs_run"]
METRIC_LABELS = {"train_acc": "training accuracy", "train_loss": "training loss", "val_acc": VAL_ACC_MEANING,
                 "val_loss": "validation loss", "test_acc": "test accuracy",
                 "best_epoch": "epochs to convergence (best epoch)", "epochs_run": "epochs run",
                 "wall_time_s": "time (s)", "images_per_s": "training images/s"}


@dataclass
class SweepReport:
    root: Path
    name: str
    description: str
    fixed: dict[str, Any]
    varying: list[str]
    runs: pd.DataFrame  # one row per planned run: name, status, varying params, metrics
    histories: dict[str, pd.DataFrame]  # run name -> per-epoch history
    errors: dict[str, str]  # run name -> failure message

    @property
    def finished(self) -> pd.DataFrame:
        return self.runs[self.runs["status"].isin(FINISHED_STATUSES) & self.runs["val_acc"].notna()]

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.runs["model"])) if "model" in self.runs else []


def load_report(sweep_dir: str | Path) -> SweepReport:
    """Everything the report shows, from the sweep folder alone."""
    root = Path(sweep_dir)
    plan = read_json(root / "sweep.json") if (root / "sweep.json").is_file() else None
    if plan:
        planned = [(r["name"], r["params"]) for r in plan["runs"]]
    else:
        run_dirs = sorted(p for p in (root / "runs").glob("*") if p.is_dir()) if (root / "runs").is_dir() else []
        planned = [(p.name, {}) for p in run_dirs]
    rows, histories, errors = [], {}, {}
    for name, params in planned:
        record = load_run(root / "runs" / name)
        config = {**defaults(), **(record["config"] or {}), **params}
        metrics = record["metrics"] or {}
        state = run_state(root / "runs" / name, record)
        if state.error:
            errors[name] = state.error
        rows.append({"run": name, "status": state.status, **config,
                     **{k: _number(metrics.get(k)) for k in METRIC_COLUMNS + ["wall_time_s", "images_per_s"]},
                     "train_acc_measure": metrics.get("train_acc_measure"), "val_is_test": metrics.get("val_is_test")})
        if record["history"]:
            histories[name] = pd.DataFrame(record["history"])
    runs = pd.DataFrame(rows, columns=None if rows else ["run", "status", "model", *METRIC_COLUMNS, "wall_time_s",
                                                         "images_per_s", "train_acc_measure", "val_is_test"])
    varying = plan["varying"] if plan else []
    return SweepReport(root, plan["name"] if plan else root.name, (plan or {}).get("description", ""),
                       (plan or {}).get("fixed", {}), varying, runs, histories, errors)


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
    values = {k: ", ".join(levels(report.runs[k])) for k in report.varying if k in report.runs}
    varying = pd.DataFrame({"values": list(values.values())}, index=list(values))
    varying.index.name = "varying parameter"
    status = report.runs["status"].value_counts().rename_axis("status").to_frame("runs")
    return {"fixed": fixed, "varying": varying, "status": status}


def conditions(report: SweepReport) -> str:
    """The conditions every number in the report is measured under, in one paragraph."""
    done = report.finished
    if done.empty:
        return "No run has finished yet."
    parts = [f"{len(done)} of {len(report.runs)} runs finished."]
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
    """All runs, best validation accuracy first; unfinished runs last."""
    columns = ["run", "status", *[k for k in report.varying if k in report.runs], *METRIC_COLUMNS,
               "wall_time_s", "images_per_s"]
    table = report.runs[columns].sort_values("val_acc", ascending=False, na_position="last")
    return table.set_index("run").rename(columns=METRIC_LABELS)


def best_runs(report: SweepReport, model: str | None = None, k: int = 2) -> list[str]:
    """Names of the k finished runs with the highest validation accuracy (of one model)."""
    done = report.finished
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
    """For each varying parameter and value: finished runs, mean and best validation accuracy, mean test accuracy."""
    done = report.finished
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


# ---------------------------------------------------------------------------------------------
# Notebook sections: each displays a heading, tables and figures for one part of the report.


def _show(*items) -> None:
    from IPython.display import Markdown, display

    for item in items:
        display(Markdown(item) if isinstance(item, str) else item)


def show_overview(report: SweepReport) -> None:
    tables = overview(report)
    _show(f"**Sweep `{report.name}`** in `{report.root}`. {report.description}", conditions(report),
          tables["status"], tables["varying"], tables["fixed"])


def show_best_runs(report: SweepReport, k: int = 2) -> None:
    """For each model, its k best runs: a parameter table, a metrics table and their curves."""
    import matplotlib.pyplot as plt

    from lib.figures import plot_run

    for model in report.models:
        names = best_runs(report, model, k)
        _show(f"### {model}: best {len(names)} of {int((report.runs['model'] == model).sum())} runs")
        for rank, name in enumerate(names, 1):
            _show(f"#### {model} #{rank}: `{name}`", run_parameters(report, name), run_metrics(report, name))
            if name in report.histories:
                _show(plot_run(report, name))
                plt.close("all")
        if not names:
            _show("No finished run of this model yet.")


def show_combined_curves(report: SweepReport) -> None:
    import matplotlib.pyplot as plt

    from lib.figures import plot_combined_curves

    for model in report.models:
        _show(plot_combined_curves(report, model))
        plt.close("all")
