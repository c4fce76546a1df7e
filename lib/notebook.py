"""What the training notebook calls: build the config from its parameters, show a run's results.

The notebook holds no logic of its own; its parameter cell is flat literals, papermill injects
overrides after it, and `config_from_namespace(globals())` turns all of them into a RunConfig. A
misspelt papermill `-p` name becomes an unknown key there, so the run fails with a suggestion
instead of silently training with the default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from lib.config import FIELD_TYPES, RunConfig, base_type, parse_text

# Names IPython puts into every user namespace.
_IPYTHON_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "open"}


def project_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above `start` (default: cwd) that holds this project."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "lib").is_dir() and (folder / "notebooks").is_dir():
            return folder
    return None


def resolve_path(path: str) -> str:
    """A relative path means relative to the project root (so JupyterLab, which runs in notebooks/,
    and papermill, which runs where it is started, write to the same place)."""
    p = Path(path).expanduser()
    root = project_root()
    return str(p if p.is_absolute() or root is None else root / p)


def notebook_parameters(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The plain literals a notebook defined: its parameters and whatever papermill injected.

    Only literals count (papermill injects nothing else), so the objects later cells make (`cfg`,
    `result`, a figure) don't get in the way when a cell is run again in JupyterLab.
    """
    return {k: v for k, v in namespace.items()
            if not k.startswith("_") and k not in _IPYTHON_NAMES and isinstance(v, _LITERALS)}


_LITERALS = (str, int, float, bool, type(None))


def config_from_namespace(namespace: Mapping[str, Any]) -> RunConfig:
    """A RunConfig from a notebook's globals; text from `papermill -p mix true` is converted like a
    command-line flag. Raises ConfigError for unknown names or bad values."""
    values = notebook_parameters(namespace)
    for key, value in values.items():
        if isinstance(value, str) and key in FIELD_TYPES and base_type(key)[0] is not str:
            values[key] = parse_text(key, value)
    if isinstance(values.get("out_dir"), str):
        values["out_dir"] = resolve_path(values["out_dir"])
    if values.get("data_dir") is None:  # $DATA_DIR or ./data, from the project root like out_dir
        values["data_dir"] = resolve_path(os.environ.get("DATA_DIR", "data"))
    elif isinstance(values["data_dir"], str):
        values["data_dir"] = resolve_path(values["data_dir"])
    return RunConfig.from_dict(values)


def metrics_table(metrics: Mapping[str, Any]):
    """The run's summary as a one-column DataFrame."""
    import pandas as pd

    keys = ["status", "best_epoch", "epochs_run", "train_loss", "train_acc", "train_acc_measure", "val_loss",
            "val_acc", "test_loss", "test_acc", "val_is_test", "wall_time_s", "images_per_s", "device"]
    return pd.DataFrame({"value": [metrics.get(k) for k in keys]}, index=keys)


def plot_history(history: list[Mapping[str, Any]], title: str = ""):
    """Loss and accuracy per epoch, training beside validation; returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    epochs = [h["epoch"] for h in history]
    measure = history[0].get("train_acc_measure", "exact_label") if history else "exact_label"
    for ax, metric in zip(axes, ("loss", "acc")):
        train_label = "train" + (" (dominant label of mixed targets)" if measure == "dominant_label"
                                 and metric == "acc" else "")
        ax.plot(epochs, [h[f"train_{metric}"] for h in history], marker=".", label=train_label)
        ax.plot(epochs, [h[f"val_{metric}"] for h in history], marker=".", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy" if metric == "acc" else "cross-entropy loss")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
