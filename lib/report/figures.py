"""The report's figures: matplotlib only, no tables, no I/O.

Each function takes a loaded `SweepReport` (or a table made from one) and returns a figure; one run's
curves are lib.core.curves's, which the training notebook draws too.
"""

from __future__ import annotations

import math

import pandas as pd

from lib.core.curves import PRUNED_LOOK, accuracy_axis, cut_marker, cut_short, epoch_axis, plot_history
from lib.report import design
from lib.report.analysis import analysis_of
from lib.core import values
from lib.report.load import SweepReport

PRUNED_LABEL = "pruned: cut short by early termination (dashed, x at its last epoch)"

CURVE_TITLES = {"train_acc": "training accuracy", "val_acc": "validation accuracy", "train_loss": "training loss",
                "val_loss": "validation loss"}


CURVE_RUNS = 50  # more runs of one model than this are drawn as a band and their best few as lines
BAND_BEST = 5
CURVE_CONFIGS = 12  # legend entries at most: the best configurations by name, the rest as one grey entry


def plot_combined_curves(report: SweepReport, model: str):
    """Every run of one model: train and validation accuracy and loss per epoch (the section All runs per model).

    One colour per configuration (lib.report.design.RANKING order, best first): its seeds as thin lines of
    that colour, their mean per epoch as a thick one, one legend entry each; beyond CURVE_CONFIGS - 1
    configurations the rest are thin grey lines under one entry. Pruned runs are drawn faded and dashed,
    ending in an x at the epoch they were stopped. Above CURVE_RUNS runs, one line each would be a smear: the
    runs' median and 10-90% range per epoch as a band, and the BAND_BEST best runs as lines."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    names = [n for n in report.runs.loc[report.runs.get("model") == model, "run"] if n in report.histories]
    pruned = set(report.runs.loc[report.runs["status"] == "pruned", "run"])
    fig, axes = plt.subplots(2, 2, figsize=(12, 7), sharex=True)
    columns = ("train_acc", "val_acc", "train_loss", "val_loss")
    banded = len(names) > CURVE_RUNS
    lined = names
    if banded:
        lined = list(design.ranked(report.ranked[report.ranked["run"].isin(names)], "val_acc", "test_acc",
                                  "run")["run"][:BAND_BEST])
        table = pd.concat([report.histories[n][["epoch", *columns]] for n in names])
        by_epoch = table.groupby("epoch")
        for ax, column in zip(axes.flat, columns):
            q = by_epoch[column].quantile([0.1, 0.5, 0.9]).unstack()
            ax.fill_between(q.index, q[0.1], q[0.9], color="grey", alpha=0.25, linewidth=0,
                            label=f"10-90% of all {len(names)} runs")
            ax.plot(q.index, q[0.5], color="black", linewidth=1.2, label="median of all runs")
    seeds = report.runs.set_index("run")["seed"] if "seed" in report.runs else pd.Series(dtype=object)
    configuration = {n: design.configuration_name(n, seeds.get(n)) for n in lined}
    order = [c for c in analysis_of(report).configs["config"] if c in set(configuration.values())]
    order += [c for c in dict.fromkeys(configuration.values()) if c not in order]
    if banded:  # a few runs of many configurations: each its own colour, one entry per run
        configuration, order = {n: n for n in lined}, list(lined)
    named = order if len(order) <= CURVE_CONFIGS else order[:CURVE_CONFIGS - 1]
    palette = plt.get_cmap("tab10").colors + ("#000000", "#8c564b80")
    colour = {c: palette[i] for i, c in enumerate(named)}
    members = {c: [n for n in lined if configuration[n] == c] for c in order}
    for name in lined:
        h = report.histories[name]
        config = configuration[name]
        alone = config in colour and len(members[config]) == 1  # its own line is the configuration's entry
        look = dict(color=colour.get(config, "lightgrey"), linewidth=1.6 if alone else 0.9 if config in colour
                    else 0.7, alpha=1.0 if alone else 0.75 if config in colour else 0.6)
        if name in pruned:
            look.update(PRUNED_LOOK)
        label = config + " (pruned)" * (name in pruned) if alone else None
        for ax, column in zip(axes.flat, columns):
            ax.plot(h["epoch"], h[column], label=label, **look)
            if name in pruned:
                cut_short(ax, h["epoch"], h[column], look["color"])
    for config in named:
        runs = [n for n in members[config] if n not in pruned]
        if len(members[config]) < 2 or not runs:
            continue
        table = pd.concat([report.histories[n][["epoch", *columns]] for n in runs]).groupby("epoch").mean()
        label = config + (f" ({len(runs)} seeds, mean thick)" if len(runs) > 1 else " (mean of its seeds)")
        for ax, column in zip(axes.flat, columns):
            ax.plot(table.index, table[column], color=colour[config], linewidth=2.4, label=label)
    others = [c for c in order if c not in colour]
    for ax, column in zip(axes.flat, columns):
        ax.set_title(CURVE_TITLES[column], fontsize=12)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=10)
        epoch_axis(ax)
        if column.endswith("acc"):
            accuracy_axis(ax)
    for ax in axes[1]:
        ax.set_xlabel("epoch", fontsize=11)
    fig.suptitle(f"{model}: all {len(names)} runs with a history" + (
        f" as a band, the best {len(lined)} as lines" if banded else
        f", {len(order)} configurations (one colour each; thin lines: single seeds)"), fontsize=13)
    fig.tight_layout()
    if names:
        handles, labels = axes[0, 0].get_legend_handles_labels()
        if not banded:  # best configuration first, as in the tables
            rank = {c: i for i, c in enumerate(order)}
            pairs = sorted(zip(handles, labels), key=lambda hl: min((rank[c] for c in rank if hl[1] == c
                                                                      or hl[1].startswith(c + " ")), default=len(rank)))
            handles, labels = [h for h, _ in pairs], [label for _, label in pairs]
        if others:
            handles.append(Line2D([], [], color="lightgrey", linewidth=1.5))
            labels.append(f"{len(others)} other configurations")
        if pruned & set(lined):
            handles.append(Line2D([], [], color="grey", **{**PRUNED_LOOK, **cut_marker("grey")}))
            labels.append(PRUNED_LABEL)
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=10)
    return fig


def plot_run(report: SweepReport, name: str, size: tuple[float, float] = (10, 3.5)):
    """Training beside validation for one run (the section Best runs per model)."""
    history = report.histories[name].to_dict("records")
    pruned = bool((report.runs.loc[report.runs["run"] == name, "status"] == "pruned").any())
    return plot_history(history, title=name, size=size, pruned=pruned)


def plot_followup(report: SweepReport, run: str, earlier: str):
    """A follow-up run and the earlier run it is compared with: accuracy and loss per epoch on shared axes.

    Validation solid, training dotted; the earlier run blue, the follow-up orange.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    pruned = set(report.runs.loc[report.runs["status"] == "pruned", "run"])
    # the earlier run drawn wide and pale underneath, so epochs the two runs share stay visible
    for name, colour, role, width in ((earlier, "tab:blue", "earlier", 4.0), (run, "tab:orange", "follow-up", 1.5)):
        history = report.histories.get(name)
        if history is None:
            continue
        for ax, metric in zip(axes, ("acc", "loss")):
            ax.plot(history["epoch"], history[f"val_{metric}"], color=colour, marker=".", linewidth=width,
                    alpha=0.5 if role == "earlier" else 1.0, label=f"{role} {name}: validation")
            ax.plot(history["epoch"], history[f"train_{metric}"], color=colour, linestyle=":", linewidth=width,
                    alpha=0.5 if role == "earlier" else 1.0, label=f"{role}: training")
            if name in pruned:
                for column in (f"val_{metric}", f"train_{metric}"):
                    cut_short(ax, history["epoch"], history[column], colour)
    for ax, metric in zip(axes, ("accuracy", "cross-entropy loss")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        epoch_axis(ax)
    accuracy_axis(axes[0])
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{run} vs {earlier}", fontsize=10)
    fig.tight_layout()
    return fig


def plot_ordered(part: pd.DataFrame, parameter: str):
    """The pooled model's mean validation accuracy at each value of an ordered parameter, with its 95% CI."""
    import matplotlib.pyplot as plt

    x = part["value"].astype(float).to_numpy()
    mean = part["effect"].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.fill_between(x, part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float), alpha=0.25,
                    color="tab:blue", linewidth=0, label="95% CI")
    ax.plot(x, mean, "o-", color="tab:blue", label="mean over the other parameters")
    if x.min() > 0 and x.max() / x.min() >= 10:
        ax.set_xscale("log")
    best = int(mean.argmax())
    ax.annotate(f"best {values.reader_text(x[best])}", (x[best], mean[best]), textcoords="offset points",
                xytext=(0, 8), ha="center", fontsize=8)
    ax.set_xlabel(parameter)
    ax.set_ylabel("validation accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_isolation(report: SweepReport):
    """One panel per varying parameter: for each value, the best configuration's mean validation accuracy
    with its 95% interval over seeds (lib.report.design.isolation_table). Every panel shares one y-axis, so a
    small difference looks small, and the axis holds every interval whole."""
    import math

    import matplotlib.pyplot as plt

    table = analysis_of(report).isolation
    params = list(dict.fromkeys(table["parameter"]))
    columns = max(1, min(4, len(params)))
    rows = max(1, math.ceil(len(params) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.8 * columns, 3.3 * rows), squeeze=False, sharey=True)
    mean_all = table["val_acc_mean"].to_numpy(dtype=float)
    lows = table["ci_low"].to_numpy(dtype=float)
    highs = table["ci_high"].to_numpy(dtype=float)
    low = float(min(mean_all.min(), *[v for v in lows if v == v] or [mean_all.min()])) if len(table) else 0.0
    high = float(max(mean_all.max(), *[v for v in highs if v == v] or [mean_all.max()])) if len(table) else 1.0
    margin = 0.08 * max(high - low, 0.01)
    for ax, p in zip(axes.flat, params):
        part = table[table["parameter"] == p]
        x = range(len(part))
        mean = part["val_acc_mean"].to_numpy(dtype=float)
        below = mean - part["ci_low"].to_numpy(dtype=float)
        above = part["ci_high"].to_numpy(dtype=float) - mean
        bars = [[0 if math.isnan(v) else v for v in below], [0 if math.isnan(v) else v for v in above]]
        ax.errorbar(x, mean, yerr=bars, fmt="o", capsize=5, markersize=6)
        labels = [values.reader_text(v) for v in part["value"]]
        step = max(1, len(labels) // 8)  # a readable number of tick labels
        ax.set_xticks(list(x)[::step], labels[::step], fontsize=10, rotation=30 if len(labels) > 4 else 0)
        ax.set_xlim(-0.5, len(part) - 0.5)
        ax.set_title(p, fontsize=12)
        ax.tick_params(axis="y", labelsize=10)
        ax.grid(alpha=0.3)
        if len(part) <= 8:  # beyond that the labels overlap; the table says n
            for i, n in zip(x, part["n"]):
                ax.annotate(f"n={int(n)}", (i, mean[i]), textcoords="offset points", xytext=(7, -4), fontsize=9)
    for ax in axes.flat[len(params):]:
        ax.axis("off")
    axes[0, 0].set_ylim(max(0.0, low - margin), min(1.0, high + margin))  # shared: every panel, bars whole
    for ax in axes[:, 0]:
        ax.set_ylabel("val acc (best config)", fontsize=11)
    fig.tight_layout()
    return fig


PARALLEL_LINES = 200  # at most this many runs are drawn in the parallel-coordinates plot
PARALLEL_SHADES = 12  # accuracy in this many shades: a crisp legend and a small image
PARALLEL_LABELS = 12  # value labels per axis, at most (about): 25 learning rates would overlap


def plot_parallel_coordinates(report: SweepReport):
    """One line per finished run (pruned aside) across the varying parameters, coloured by validation accuracy."""
    import matplotlib.pyplot as plt
    from matplotlib import cm
    from matplotlib.colors import Normalize

    done = report.ranked
    sampled = len(done) > PARALLEL_LINES
    if sampled:  # a thousand lines are a smear (and a large image): a seeded sample shows the same spread
        done = done.sample(PARALLEL_LINES, random_state=0)
    axes_names = [k for k in report.varying if k in done] + ["val_acc"]
    fig, ax = plt.subplots(figsize=(max(9, 2.2 * len(axes_names)), 4.5))
    if done.empty:
        ax.text(0.5, 0.5, "no finished runs yet", ha="center", va="center")
        return fig
    positions = {}
    for key in axes_names[:-1]:
        shown = values.ordered(done[key])  # keyed by values.key: 224 and 224.0 are one place on the axis
        positions[key] = {values.key(v): ((i + 0.5) / len(shown), values.reader_text(v)) for i, v in enumerate(shown)}
    low, high = done["val_acc"].min(), done["val_acc"].max()
    norm = Normalize(low, high if high > low else low + 1e-9)
    # Runs that share a value would draw on top of each other: spread them within the value's band,
    # ordered by validation accuracy.
    rank = done["val_acc"].rank(method="first").to_numpy() - 1
    from matplotlib.collections import LineCollection

    lines = [list(zip(range(len(axes_names)), [positions[k][values.key(row[k])][0]
                                               + ((r + 0.5) / len(done) - 0.5) * 0.6 / len(positions[k])
                                               for k in axes_names[:-1]] + [norm(row["val_acc"])]))
             for (_, row), r in zip(done.iterrows(), rank)]
    shade = [round(norm(v) * (PARALLEL_SHADES - 1)) / (PARALLEL_SHADES - 1) for v in done["val_acc"]]
    ax.add_collection(LineCollection(lines, colors=[cm.viridis(v) for v in shade],
                                     alpha=0.8 if len(lines) <= 100 else 0.5, linewidths=0.8))
    ax.set_xlim(-0.1, len(axes_names) - 0.6)
    for i, key in enumerate(axes_names):
        ax.axvline(i, color="grey", linewidth=0.8)
        if key in positions:  # at most about PARALLEL_LABELS labels per axis, the ends always among them
            items = list(positions[key].values())
            every = math.ceil(len(items) / PARALLEL_LABELS)
            labels = [(p, text) for i, (p, text) in enumerate(items) if i % every == 0 or i == len(items) - 1]
        else:
            labels = [(0, f"{low:.3f}"), (1, f"{high:.3f}")]
        for y, text in labels:
            ax.text(i + 0.03, y, text, fontsize=8, va="center")
    ax.set_xticks(range(len(axes_names)), axes_names)
    ax.set_yticks([])
    ax.set_ylim(-0.05, 1.05)
    fig.colorbar(cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax, label="validation accuracy")
    ax.set_title(f"parameters of {f'{PARALLEL_LINES} finished runs drawn at random of {len(report.ranked)}' if sampled else 'every finished run'}, coloured by validation accuracy")
    fig.tight_layout()
    return fig


THROUGHPUT_BARS = 30  # more finished runs than this: one box per model instead of a bar per run


def plot_throughput(report: SweepReport):
    """Training images per second (median over epochs): a bar per finished run, or with many runs the spread of
    each model's runs as a box."""
    import matplotlib.pyplot as plt

    done = report.finished.sort_values("images_per_s")
    if len(done) <= THROUGHPUT_BARS:
        fig, ax = plt.subplots(figsize=(8, 0.3 * max(len(done), 4) + 1))
        ax.barh(done["run"], done["images_per_s"], color="tab:blue")
        ax.set_title("throughput per run")
    else:
        models = list(dict.fromkeys(done["model"]))
        fig, ax = plt.subplots(figsize=(8, 0.5 * len(models) + 1.5))
        ax.boxplot([done.loc[done["model"] == m, "images_per_s"].dropna() for m in models], vert=False,
                   tick_labels=[f"{m} ({int((done['model'] == m).sum())} runs)" for m in models])
        ax.set_title(f"throughput of {len(done)} finished runs, by model")
    ax.set_xlabel("training images/s (median epoch)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Searches


def plot_best_so_far(trials: pd.DataFrame, goal: str):
    """Each sweep's best metric so far against trials (runs in the order they started) and against the epochs
    trained so far, on shared axes; every counted run's value as a dot, pruned runs as ticks on the x-axis.

    `trials`: rows of lib.report.studies.trials_table for sweeps that share one metric.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    metric = trials["metric"].iloc[0] if len(trials) else "val_acc"
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True)
    colours = plt.get_cmap("tab10").colors
    any_pruned = False
    for i, (sweep, part) in enumerate(trials.groupby("sweep", sort=False)):
        colour = colours[i % 10]
        for ax, x in zip(axes, ("trial", "cumulative_epochs")):
            ax.step(part[x], part["best_so_far"], where="post", color=colour, linewidth=2, label=sweep)
            ax.plot(part[x], part["value"], "o", color=colour, alpha=0.35, markersize=4)
            cut = part[part["status"] == "pruned"]
            any_pruned |= len(cut) > 0
            ax.plot(cut[x], [0.03 + 0.04 * i] * len(cut), "|", color=colour, markersize=9, markeredgewidth=1.5,
                    transform=ax.get_xaxis_transform())
    epoch_axis(axes[0])
    axes[0].set_xlabel("trials (runs in the order they started)")
    axes[1].set_xlabel("epochs trained so far (pruned runs' partial epochs included)")
    axes[0].set_ylabel(f"best {metric} so far")
    for ax in axes:
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(Line2D([], [], color="grey", marker="o", alpha=0.35, linestyle="none", markersize=4))
    labels.append("a run's value")
    if any_pruned:
        handles.append(Line2D([], [], color="grey", marker="|", linestyle="none", markersize=9, markeredgewidth=1.5))
        labels.append("a pruned run (no final value)")
    axes[1].legend(handles, labels, fontsize=8, loc="best")
    fig.suptitle(f"best {metric} so far ({'higher' if goal == 'maximize' else 'lower'} is better)", fontsize=11)
    fig.tight_layout()
    return fig


def plot_importances(table: pd.DataFrame, title: str):
    """Horizontal bars: each parameter's importance (lib.report.studies.param_importances), the largest on top."""
    import matplotlib.pyplot as plt

    table = table.sort_values("importance")
    fig, ax = plt.subplots(figsize=(5, 0.35 * len(table) + 1.2))
    ax.barh([str(p) for p in table.index], table["importance"], color="tab:blue")
    ax.set_xlabel("importance (fraction of the metric's variance)")
    ax.set_xlim(0, max(1.0, float(table["importance"].max())))
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_slices(points: pd.DataFrame, metric: str, title: str):
    """One panel per numeric parameter: each trial's metric against its value (lib.report.studies.slice_points);
    complete trials as dots, pruned trials as faded x at the last value they reported."""
    import math

    import matplotlib.pyplot as plt

    params = list(dict.fromkeys(points["parameter"]))
    columns = max(1, min(4, len(params)))
    rows = max(1, math.ceil(len(params) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 2.8 * rows), squeeze=False, sharey=True)
    for ax, name in zip(axes.flat, params):
        part = points[points["parameter"] == name]
        complete, cut = part[part["state"] == "complete"], part[part["state"] == "pruned"]
        ax.plot(complete["value"], complete["metric"], "o", color="tab:blue", markersize=5, label="complete")
        if len(cut):
            ax.plot(cut["value"], cut["metric"], "x", color="tab:orange", alpha=0.7, markersize=6,
                    label="pruned (last reported value)")
        if part["log"].any():
            ax.set_xscale("log")
        ax.set_xlabel(name + (" (log)" if part["log"].any() else ""))
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(params):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel(metric)
    if (points["state"] == "pruned").any():  # the legend only tells dots from crosses
        axes[0, 0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
