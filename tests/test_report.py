"""The report's tables and figures, on run records written here in the real on-disk layout."""

import math

import matplotlib
import pytest

from lib.records import write_history, write_json
from lib.figures import plot_combined_curves, plot_parallel_coordinates, plot_run, plot_throughput
from lib.report import (METRIC_LABELS, best_runs, conditions, failures, leaderboard, load_report, overview, parameter_effects,
                        run_metrics, run_parameters)

matplotlib.use("Agg")


def write_run(root, name, params, val_accs, status="completed", **metrics):
    run = root / "runs" / name
    history = [{"epoch": i + 1, "train_loss": 1.0 - 0.1 * i, "train_acc": acc - 0.05, "val_loss": 1.0 - acc,
                "val_acc": acc, "lr": 0.1, "epoch_s": 1.0, "images_per_s": 1000.0 + i,
                "train_acc_measure": "exact_label"} for i, acc in enumerate(val_accs)]
    write_history(run / "history.csv", history)
    write_json(run / "config.json", {"dataset": "digits", "seed": 0, "val_fraction": 0.1, **params})
    best = max(history, key=lambda h: h["val_acc"])
    write_json(run / "metrics.json", {"status": status, "best_epoch": best["epoch"], "epochs_run": len(history),
                                      "train_loss": best["train_loss"], "train_acc": best["train_acc"],
                                      "val_loss": best["val_loss"], "val_acc": best["val_acc"], "test_acc": 0.5,
                                      "test_loss": 1.0, "wall_time_s": 10.0, "images_per_s": 1000.0,
                                      "val_is_test": False, "train_acc_measure": "exact_label", **metrics})


@pytest.fixture
def sweep(tmp_path):
    """Four planned runs: two finished (one without input_size), one failed, one never started."""
    runs = [("a", {"model": "lenet", "lr": 0.1}), ("b", {"model": "lenet", "lr": 0.01, "input_size": 224}),
            ("c", {"model": "mlp", "lr": 0.1}), ("d", {"model": "mlp", "lr": 0.01})]
    write_json(tmp_path / "sweep.json", {"name": "s", "description": "test sweep", "fixed": {"dataset": "digits"},
                                         "varying": ["model", "lr", "input_size"],
                                         "runs": [{"name": n, "source": "runs", "params": p} for n, p in runs]})
    write_run(tmp_path, "a", runs[0][1], [0.5, 0.7, 0.6])
    write_run(tmp_path, "b", runs[1][1], [0.4, 0.8], status="early_stopped")
    write_json(tmp_path / "runs" / "c" / "failure.json", {"error": "DatasetError: no data", "seconds": 1.0})
    return load_report(tmp_path)


def test_every_planned_run_appears_with_its_status(sweep):
    assert list(sweep.runs["run"]) == ["a", "b", "c", "d"]
    assert list(sweep.runs["status"]) == ["completed", "early_stopped", "failed", "pending"]
    assert sweep.errors == {"c": "DatasetError: no data"}
    assert list(failures(sweep).index) == ["c", "d"]


def test_ranking_uses_validation_accuracy_never_test(sweep):
    board = leaderboard(sweep)
    assert list(board.index) == ["b", "a", "c", "d"]
    assert best_runs(sweep, "lenet", k=1) == ["b"] and best_runs(sweep, "mlp") == []
    assert math.isnan(board.loc["c", METRIC_LABELS["val_acc"]])


def test_tables_of_one_run(sweep):
    params = run_parameters(sweep, "a")
    assert list(params.index[:3]) == ["model", "lr", "input_size"]
    assert params.loc["input_size", "value"] == "None"
    metrics = run_metrics(sweep, "b")
    assert metrics.loc[METRIC_LABELS["val_acc"], "value"] == "0.8000"
    assert metrics.loc["epochs to convergence (best epoch)", "value"] == "2"


def test_overview_effects_and_conditions(sweep):
    tables = overview(sweep)
    assert tables["varying"].loc["input_size", "values"] == "None, 224"
    assert tables["status"].loc["failed", "runs"] == 1
    effects = parameter_effects(sweep)
    assert effects.loc[("lr", "0.1"), "runs"] == 1
    text = conditions(sweep)
    assert "2 of 4 runs finished" in text and "n=1" in text and "never used to rank" in text


def test_figures_render_with_failed_missing_and_none_valued_runs(sweep):
    for figure in (plot_parallel_coordinates(sweep), plot_combined_curves(sweep, "lenet"),
                   plot_combined_curves(sweep, "mlp"), plot_run(sweep, "a"), plot_throughput(sweep)):
        figure.canvas.draw()


def test_an_empty_sweep_folder_renders(tmp_path):
    report = load_report(tmp_path / "nothing-here")
    assert report.runs.empty and conditions(report) == "No run has finished yet."
    plot_parallel_coordinates(report).canvas.draw()
    assert leaderboard(report).empty
