"""Records of a finished sweep, written directly: what `lib.sweep run` would leave, without the training.

The plan (sweep.json) comes from the sweep file through the runner's own code, and each run's
config.json is the config the runner would give it; history.csv and metrics.json follow from an
`Outcome` that a function of the run's parameters returns. Benchmarks use it to build reports of
hundreds of runs in seconds; tests use it for situations no CPU can train (a CIFAR-100 grid).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from lib.core.layout import CONFIG, HISTORY, METRICS, run_dir
from lib.core.records import write_history, write_json
from lib.config.runs import run_config
from lib.config.sweepfile import Sweep, load_sweep
from lib.sweep.plan import write_sweep_record


@dataclass
class Outcome:
    """How a run ended: its validation accuracy at the best epoch, where that epoch was, and how long it ran."""

    val_acc: float
    best_epoch: int | None = None  # None: the last epoch run
    epochs_run: int | None = None  # None: the configured epochs
    status: str = "completed"  # completed, early_stopped, diverged, pruned
    test_gap: float = -0.005  # test accuracy minus validation accuracy
    seconds_per_epoch: float = 2.0


def history(outcome: Outcome, epochs: int, lr: float, seed: int) -> list[dict[str, Any]]:
    """Per-epoch rows whose lowest validation loss is at `best_epoch`, with that epoch's accuracy `val_acc`."""
    rng = random.Random(seed)
    run = outcome.epochs_run or epochs
    best = min(outcome.best_epoch or run, run)
    rows = []
    for epoch in range(1, run + 1):
        if epoch <= best:
            acc = outcome.val_acc - 0.6 * (1 - outcome.val_acc) * (1 - epoch / best) ** 2
        else:
            acc = outcome.val_acc - 0.002 * (epoch - best)
        loss = 1.5 * (1 - acc) + 0.02 * max(0, epoch - best) + (0.0 if epoch == best else 1e-4)
        train_loss = 1.5 * (1 - outcome.val_acc) * (1.2 - epoch / (run + 1)) + 0.01 * rng.random()
        rows.append({"epoch": epoch, "train_loss": train_loss, "train_acc": min(1.0, acc + 0.02),
                     "val_loss": loss, "val_acc": acc, "lr": lr, "epoch_s": outcome.seconds_per_epoch,
                     "images_per_s": 1000.0 + 10 * rng.random(), "train_acc_measure": "exact_label"})
    return rows


def write_records(sweep: Sweep, root: Path, outcome: Callable[[Mapping[str, Any]], Outcome | None]) -> Sweep:
    """Write sweep.json and every run's records into `root` (a sweep folder); `outcome` gives each run's
    result from its parameters (None: the run never started). Returns the sweep."""
    write_sweep_record(sweep, root)
    for spec in sweep.runs:
        result = outcome(spec.params)
        if result is None:
            continue
        folder = run_dir(root, spec.name)
        cfg = run_config(sweep.name, spec.name, spec.params, str(folder))
        rows = history(result, cfg.epochs, cfg.lr, cfg.seed)
        best = min(rows, key=lambda h: h["val_loss"])
        write_json(folder / CONFIG, cfg.to_dict())
        write_history(folder / HISTORY, rows)
        tested = result.status != "pruned"
        write_json(folder / METRICS, {
            "status": result.status, "best_epoch": best["epoch"], "epochs_run": len(rows),
            "train_loss": best["train_loss"], "train_acc": best["train_acc"], "val_loss": best["val_loss"],
            "val_acc": best["val_acc"], "best_val_acc": max(h["val_acc"] for h in rows),
            "test_loss": best["val_loss"] + 0.01 if tested else math.nan,
            "test_acc": best["val_acc"] + result.test_gap if tested else math.nan, "val_is_test": False,
            "train_acc_measure": "exact_label", "wall_time_s": result.seconds_per_epoch * len(rows),
            "images_per_s": 1000.0, "device": "cpu", "precision": "fp32", "resumed_after_epochs": []})
    return sweep


def write_sweep(path: Path, text: str, root: Path, outcome: Callable[[Mapping[str, Any]], Outcome | None],
                max_runs: int = 100_000) -> Sweep:
    """Write the sweep file `text` to `path`, then its records into `root` (see write_records)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return write_records(load_sweep(path, max_runs), root, outcome)
