"""One run's curves: loss and accuracy per epoch, training beside validation (matplotlib only).

The training notebook shows them after a run, and the report for each of its best runs, so both
draw a run the same way. A run stopped by early termination (pruned) ends in an x.
"""

from __future__ import annotations

from typing import Any, Mapping

PRUNED_LOOK = dict(linestyle="--", alpha=0.55, linewidth=1.0, marker=None)  # a pruned run's curve: faded, dashed


def epoch_axis(ax) -> None:
    """Whole epochs on the x axis (no 1.25, 1.5, ...)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def accuracy_axis(ax) -> None:
    """An accuracy axis that never reaches past 1 (or below 0): its margins stop at the possible range."""
    low, high = ax.get_ylim()
    ax.set_ylim(max(low, 0.0), min(high, 1.0))


def cut_short(ax, epochs, values, colour) -> None:
    """Mark where a pruned run stopped: an x on its last epoch."""
    if len(epochs):
        ax.plot([list(epochs)[-1]], [list(values)[-1]], linestyle="none", zorder=5, **cut_marker(colour))


def cut_marker(colour) -> dict:
    """A filled x in the run's colour, edged in black so it shows among many pale curves."""
    return dict(marker="X", markersize=9, markerfacecolor=colour, markeredgecolor="black", markeredgewidth=0.8)


def plot_history(history: list[Mapping[str, Any]], title: str = "", size: tuple[float, float] = (10, 3.5),
                 pruned: bool = False):
    """Loss and accuracy per epoch, training beside validation; returns the figure.

    `pruned`: the run was stopped by early termination; its curves end in an x."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=size)
    epochs = [h["epoch"] for h in history]
    measure = history[0].get("train_acc_measure", "exact_label") if history else "exact_label"
    for ax, metric in zip(axes, ("loss", "acc")):
        train_label = "train" + (" (dominant label of mixed targets)" if measure == "dominant_label"
                                 and metric == "acc" else "")
        ax.plot(epochs, [h[f"train_{metric}"] for h in history], marker=".", label=train_label)
        ax.plot(epochs, [h[f"val_{metric}"] for h in history], marker=".", label="validation")
        if pruned:
            for line in ax.get_lines()[-2:]:
                cut_short(ax, line.get_xdata(), line.get_ydata(), line.get_color())
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy" if metric == "acc" else "cross-entropy loss")
        epoch_axis(ax)
        if metric == "acc":
            accuracy_axis(ax)
        ax.grid(alpha=0.3)
        ax.legend()
    if title or pruned:
        fig.suptitle(title + (f" (pruned at epoch {epochs[-1]})" if pruned and epochs else ""))
    fig.tight_layout()
    return fig
