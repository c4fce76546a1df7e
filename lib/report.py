"""Aggregate a sweep's run records into the report's tables and figures.

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
from lib.records import FINISHED_STATUSES, load_run, read_json, run_state

METRIC_COLUMNS = ["train_acc", "train_loss", "val_acc", "val_loss", "test_acc", "best_epoch", "epochs_run"]
METRIC_LABELS = {"train_acc": "training accuracy", "train_loss": "training loss", "val_acc": "validation accuracy",
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


def _label(value: Any) -> str:
    """A parameter value as text; pandas turns a None among numbers into NaN, so both read 'None'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "None"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a column with a None in it holds 224 as 224.0
    return str(value)


def _levels(values: pd.Series) -> list[str]:
    """The distinct values of a parameter as labels: None first, then numbers in order, then text."""
    distinct = {_label(v): v for v in values}

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
    values = {k: ", ".join(_levels(report.runs[k])) for k in report.varying if k in report.runs}
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
    return pd.DataFrame({"value": [_label(row[k]) for k in shown]}, index=shown).rename_axis("parameter")


def run_metrics(report: SweepReport, name: str) -> pd.DataFrame:
    row = report.runs.set_index("run").loc[name]
    keys = METRIC_COLUMNS + ["wall_time_s"]
    return pd.DataFrame({"value": [_fmt(row[k]) for k in keys]}, index=[METRIC_LABELS[k] for k in keys]
                        ).rename_axis("metric")


def _fmt(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:.4f}" if isinstance(value, float) else str(value)


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
# Figures


def plot_combined_curves(report: SweepReport, model: str):
    """Every run of one model: train and validation accuracy and loss per epoch (the report's Figure 1)."""
    import matplotlib.pyplot as plt

    names = [n for n in report.runs.loc[report.runs.get("model") == model, "run"] if n in report.histories]
    fig, axes = plt.subplots(2, 2, figsize=(12, 7), sharex=True)
    colours, styles = plt.get_cmap("tab20").colors, ("-", "--", ":", "-.")
    for i, name in enumerate(names):  # 20 colours, then the next line style: each run its own look
        h = report.histories[name]
        look = dict(color=colours[i % 20], linestyle=styles[i // 20 % 4], marker=".", linewidth=1.2)
        for ax, column in zip(axes.flat, ("train_acc", "val_acc", "train_loss", "val_loss")):
            ax.plot(h["epoch"], h[column], label=name, **look)
    for ax, column in zip(axes.flat, ("train_acc", "val_acc", "train_loss", "val_loss")):
        ax.set_title(METRIC_LABELS[column])
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    fig.suptitle(f"{model}: all {len(names)} runs with a history")
    fig.tight_layout()
    if names:
        fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="center left", bbox_to_anchor=(1.0, 0.5),
                   fontsize=8, ncol=1 + len(names) // 25)
    return fig


def plot_run(report: SweepReport, name: str):
    """Training beside validation for one run (the report's Figures 2 to 6)."""
    from lib.notebook import plot_history

    history = report.histories[name].to_dict("records")
    return plot_history(history, title=name)


def plot_parallel_coordinates(report: SweepReport):
    """One line per finished run across the varying parameters, coloured by validation accuracy."""
    import matplotlib.pyplot as plt
    from matplotlib import cm
    from matplotlib.colors import Normalize

    done = report.finished
    axes_names = [k for k in report.varying if k in done] + ["val_acc"]
    fig, ax = plt.subplots(figsize=(max(6, 1.8 * len(axes_names)), 4))
    if done.empty:
        ax.text(0.5, 0.5, "no finished runs yet", ha="center", va="center")
        return fig
    positions = {}
    for key in axes_names[:-1]:
        levels = _levels(done[key])
        positions[key] = {label: (i + 0.5) / len(levels) for i, label in enumerate(levels)}
    low, high = done["val_acc"].min(), done["val_acc"].max()
    norm = Normalize(low, high if high > low else low + 1e-9)
    # Runs that share a value would draw on top of each other: spread them within the value's band,
    # ordered by validation accuracy.
    rank = done["val_acc"].rank(method="first").to_numpy() - 1
    for (_, row), r in zip(done.iterrows(), rank):
        ys = [positions[k][_label(row[k])] + ((r + 0.5) / len(done) - 0.5) * 0.6 / len(positions[k])
              for k in axes_names[:-1]] + [norm(row["val_acc"])]
        ax.plot(range(len(axes_names)), ys, color=cm.viridis(norm(row["val_acc"])), alpha=0.8)
    for i, key in enumerate(axes_names):
        ax.axvline(i, color="grey", linewidth=0.8)
        labels = [(p, label) for label, p in positions[key].items()] if key in positions else \
            [(0, f"{low:.3f}"), (1, f"{high:.3f}")]
        for y, text in labels:
            ax.text(i + 0.03, y, text, fontsize=8, va="center")
    ax.set_xticks(range(len(axes_names)), axes_names)
    ax.set_yticks([])
    ax.set_ylim(-0.05, 1.05)
    fig.colorbar(cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax, label="validation accuracy")
    ax.set_title("parameters of every finished run, coloured by validation accuracy")
    fig.tight_layout()
    return fig


def plot_throughput(report: SweepReport):
    """Training images per second (median over epochs) of each finished run."""
    import matplotlib.pyplot as plt

    done = report.finished.sort_values("images_per_s")
    fig, ax = plt.subplots(figsize=(8, 0.3 * max(len(done), 4) + 1))
    ax.barh(done["run"], done["images_per_s"], color="tab:blue")
    ax.set_xlabel("training images/s (median epoch)")
    ax.set_title("throughput per run")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


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

    for model in report.models:
        _show(plot_combined_curves(report, model))
        plt.close("all")
