"""The report's search section, on sweep folders written here in the real layout: run records beside an
Optuna study in journal storage, built with ask/report/tell as the sweep runner does."""

import math
import subprocess
import sys
from pathlib import Path

import matplotlib
import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution

from lib.core.records import run_state, write_json
from lib.report import contents, search_section
from lib.report import sections as report_module
from lib.report.analysis import analysis_of
from lib.report.figures import plot_best_so_far, plot_combined_curves, plot_importances, plot_slices
from lib.report.load import load_report
from lib.report.studies import (_study, param_importances, searches, search_overview, searched, slice_points,
                               termination_savings, trials_table)
from lib.report.tables import best_runs, conditions, leaderboard, parameter_effects
from studies import EPOCHS, write_run, write_search

matplotlib.use("Agg")
optuna.logging.set_verbosity(optuna.logging.WARNING)

LR = FloatDistribution(1e-4, 1e-1, log=True)
WD = FloatDistribution(0.0, 1e-3)
OPTIMIZER = CategoricalDistribution(["sgd", "adam"])


def accuracy(lr):
    """The final accuracy of a run at `lr`: best at lr 3e-3, falling off a decade either side."""
    return 0.9 - 0.1 * abs(math.log10(lr / 3e-3))


@pytest.fixture
def search_dir(tmp_path):
    """Eight complete trials whose accuracy depends on lr alone, and two pruned trials. The pruned trial-001
    reported 0.95 after one epoch, better than any complete run, so ranking it would show at once."""
    lrs = [1e-3, 1e-1, 3e-3, 1e-4, 1e-2, 3e-4, 3e-2, 2e-3, 5e-3, 1e-3]
    trials = []
    for i, lr in enumerate(lrs):
        params = {"lr": lr, "weight_decay": [0.0, 5e-4, 1e-3][i % 3], "optimizer": ["sgd", "adam"][i % 2]}
        final = accuracy(lr)
        if i == 1:
            trials.append((params, [0.95], "pruned", [2.0]))
        elif i == 3:
            trials.append((params, [0.2, 0.3, 0.35], "pruned", [1.0, 1.5, 5.0]))
        else:
            trials.append((params, [final - 0.3, final - 0.2, final - 0.1, final], "complete", None))
    return write_search(tmp_path / "fm_asha", "fm_asha", trials, {"lr": LR, "weight_decay": WD, "optimizer": OPTIMIZER})


@pytest.fixture
def search(search_dir):
    return load_report(search_dir)


def write_grid(root, name, runs):
    """A grid sweep without a study: [(run, lr, val_accs)], in sweep.json's order."""
    write_json(root / "sweep.json", {"name": name, "description": "", "fixed": {"model": "mlp", "epochs": EPOCHS},
                                     "varying": ["lr"], "metric": None, "search": None, "early_terminate": None,
                                     "runs": [{"name": n, "source": "grid", "params": {"lr": lr}} for n, lr, _ in runs]})
    for run, lr, accs in runs:
        if accs:
            write_run(root, run, {"lr": lr}, accs)
    return root


@pytest.fixture
def grid_dir(tmp_path):
    return write_grid(tmp_path / "fm", "fm", [("lr0.1", 0.1, [0.5, 0.6, 0.7, 0.7]), ("lr0.01", 0.01, [0.6, 0.8, 0.8, 0.8]),
                                               ("lr0.001", 0.001, [0.4, 0.5, 0.6, 0.65]), ("lr0.0001", 0.0001, None)])


def test_a_pruned_run_is_finished_but_never_ranked_averaged_or_flagged(search, search_dir):
    assert run_state(search_dir / "runs" / "trial-001").status == "pruned"  # finished: never run again
    pruned = ["trial-001", "trial-003"]
    assert not set(pruned) & set(best_runs(search, "mlp", k=10))
    assert best_runs(search, "mlp", k=1) == ["trial-002"]  # lr 3e-3, not trial-001's 0.95 after one epoch
    board = leaderboard(search)
    assert list(board.index[-2:]) == pruned and list(board["status"][-2:]) == ["pruned", "pruned"]
    assert parameter_effects(search).xs("lr")["runs"].sum() == 8
    assert analysis_of(search).configs["n"].sum() == 8
    assert "trial-001" not in analysis_of(search).configs["config"].str.cat()
    flags = analysis_of(search).flags[search.runs["status"] == "pruned"]
    assert list(flags) == ["", ""]  # its best epoch is its last, yet it is not "not_converged"
    assert "2 of them were pruned" in conditions(search)
    assert "left out: 2 pruned" in analysis_of(search).findings[0]


def test_best_so_far_follows_the_trials_and_the_epochs_they_trained(search):
    table = trials_table(search)
    assert list(table["run"]) == [f"trial-{i:03d}" for i in range(10)]
    assert list(table["status"][:4]) == ["completed", "pruned", "completed", "pruned"]
    best = [round(v, 4) for v in table["best_so_far"]]
    assert best == [round(accuracy(1e-3), 4)] * 2 + [0.9] * 8  # the pruned 0.95 never counts
    assert list(table["cumulative_epochs"]) == [4, 5, 9, 12, 16, 20, 24, 28, 32, 36]
    assert math.isnan(table.loc[1, "value"]) and table.loc[1, "last_value"] == 0.95
    overview = search_overview(search).loc["fm_asha"]
    assert (overview["search"], overview["early termination"]) == ("tpe, 8 trials, seed 0",
                                                                    "asha (min_epochs 1, reduction_factor 3)")
    assert (overview["counted"], overview["pruned"], overview["best value"], overview["best run"]) == (
        8, 2, 0.9, "trial-002")


def test_best_so_far_of_a_minimized_metric_goes_down(tmp_path):
    root = write_search(tmp_path / "loss", "loss", [({"lr": 1e-2}, [0.9, 0.5], "complete", None),
                                                    ({"lr": 1e-3}, [0.8, 0.7], "complete", None),
                                                    ({"lr": 1e-4}, [0.4], "pruned", None),
                                                    ({"lr": 3e-3}, [0.6, 0.3], "complete", None)],
                        {"lr": LR}, metric="val_loss", goal="minimize")
    table = trials_table(load_report(root))
    assert list(table["best_so_far"]) == [0.5, 0.5, 0.5, 0.3]
    assert set(table["metric"]) == {"val_loss"}


def test_termination_savings_count_epochs_and_estimate_time(search, grid_dir):
    report = load_report([grid_dir, search.roots[0]])
    table = termination_savings(report)
    asha = table.loc["fm_asha"]
    # trial-001 stopped after 1 of 4 epochs, trial-003 after 3 of 4; eight complete runs ran all 4
    assert (asha["finished runs"], asha["pruned"], asha["epochs run"], asha["epochs unpruned"]) == (10, 2, 36, 40)
    assert (asha["epochs saved"], asha["epochs saved (%)"]) == (4, 10.0)
    # median epoch time x epochs not run: 2.0 s x 3 + median(1.0, 1.5, 5.0) s x 1
    assert asha["time_saved_s"] == 7.5 and asha["time_s"] == 8 * 4 + 2.0 + 7.5
    assert asha["time saved (%)"] == round(100 * 7.5 / (41.5 + 7.5), 1)
    grid = table.loc["fm"]
    assert (grid["finished runs"], grid["pruned"], grid["epochs saved"], grid["time_saved_s"]) == (3, 0, 0, 0)


def test_importances_come_back_for_the_parameter_that_matters(search):
    table, reason = param_importances(searches(search)[0])
    assert reason == ""
    assert set(table.index) == {"lr", "weight_decay", "optimizer"}
    assert table["importance"].idxmax() == "lr" and table.loc["lr", "importance"] > 0.5


def test_importances_explain_in_one_line_why_they_are_missing(tmp_path):
    only_pruned = load_report(write_search(tmp_path / "pruned", "pruned", [
        ({"lr": 1e-2}, [0.5], "pruned", None), ({"lr": 1e-3}, [0.4], "pruned", None)], {"lr": LR}))
    table, reason = param_importances(searches(only_pruned)[0])
    assert table.empty and reason == ("pruned: needs at least 2 complete trials, has 0 (pruned and failed trials "
                                      "carry no final value)")
    grid = load_report(write_search(tmp_path / "grid", "grid", [({}, [0.5, 0.6], "complete", None),
                                                                ({}, [0.4, 0.7], "complete", None)], {}))
    table, reason = param_importances(searches(grid)[0])
    assert table.empty and reason.endswith("(the study samples none: a grid with early termination)")


def test_slices_show_numeric_parameters_and_pruned_trials_at_their_last_value(search):
    points = slice_points(searches(search)[0])
    assert set(points["parameter"]) == {"lr", "weight_decay"}  # the optimizer is categorical
    lr = points[points["parameter"] == "lr"]
    assert lr["log"].all() and not points.loc[points["parameter"] == "weight_decay", "log"].any()
    pruned = lr[lr["state"] == "pruned"].sort_values("value")
    assert list(pruned["value"]) == [1e-4, 1e-1] and list(pruned["metric"]) == [0.35, 0.95]
    assert (lr["state"] == "complete").sum() == 8
    figure = plot_slices(points, "val_acc", "fm_asha")
    assert [ax.get_xscale() for ax in figure.axes if ax.axison] == ["log", "linear"]
    panel = figure.axes[0]
    assert panel.get_xlabel() == "lr (log)" and panel.get_ylabel() == "val_acc"
    assert figure._suptitle.get_text() == "fm_asha"
    complete, cut = panel.lines  # dots, then crosses at the pruned trials' last values
    assert len(complete.get_xdata()) == 8
    assert sorted(zip(cut.get_xdata(), cut.get_ydata())) == [(1e-4, 0.35), (1e-1, 0.95)]


def test_importances_are_bars_the_largest_on_top():
    table = pd.DataFrame({"importance": [0.25, 0.7, 0.05]}, index=pd.Index(["lr", "optimizer", "momentum"],
                                                                          name="parameter"))
    figure = plot_importances(table, "fm_tpe")
    figure.canvas.draw()
    ax = figure.axes[0]
    assert ax.get_title() == "fm_tpe" and ax.get_xlim() == (0, 1.0)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["momentum", "lr", "optimizer"]  # bottom to top
    assert [p.get_width() for p in ax.patches] == [0.05, 0.25, 0.7]


def test_a_parameter_spanning_more_than_two_decades_gets_a_log_axis(tmp_path):
    wide = FloatDistribution(1e-5, 1.0)  # sampled linearly, yet tried over four decades
    root = write_search(tmp_path / "wide", "wide", [({"weight_decay": v}, [0.5, a], "complete", None)
                                                    for v, a in ((1e-5, 0.6), (1e-3, 0.7), (0.5, 0.65))], {"weight_decay": wide})
    assert slice_points(searches(load_report(root))[0])["log"].all()


def test_pruned_runs_in_the_curves_are_dashed_and_end_in_an_x(search):
    figure = plot_combined_curves(search, "mlp")
    ax = figure.axes[1]  # validation accuracy
    pruned = [line for line in ax.get_lines() if line.get_label() == "trial-001 (pruned)"]
    assert len(pruned) == 1 and pruned[0].get_linestyle() == "--"
    ends = [line for line in ax.get_lines() if line.get_marker() == "X"]
    assert sorted((float(line.get_xdata()[0]), float(line.get_ydata()[0])) for line in ends) == [(1, 0.95), (3, 0.35)]
    assert any("pruned" in text.get_text() for text in figure.legends[0].get_texts())


def test_the_study_is_read_by_the_sweep_name_and_missing_without_a_journal(search_dir, tmp_path):
    assert _study(search_dir).study_name == "fm_asha"
    assert _study(tmp_path / "elsewhere") is None


def test_a_grid_report_has_no_search_section(grid_dir, shown):
    report = load_report(grid_dir)
    assert not searched(report)
    search_section.show_search(report)
    assert shown == [] and "search" not in dict(contents.sections(report))


def test_search_section_renders_with_only_pruned_trials(tmp_path, shown):
    report = load_report(write_search(tmp_path / "pruned", "pruned", [
        ({"lr": 1e-2}, [0.5], "pruned", None), ({"lr": 1e-3}, [0.4, 0.45], "pruned", None)], {"lr": LR}))
    search_section.show_search(report)
    text = "\n".join(shown)
    assert "Not shown for pruned: needs at least 2 complete trials, has 0" in text
    assert "pruned rests on too few runs" in text and "reduction_factor of 2" in text
    assert "Epochs and time early termination saved" in text and "<img" in text


def test_search_section_puts_two_sweeps_on_one_best_so_far_plot(search, grid_dir, shown):
    report = load_report([grid_dir, search.roots[0]])
    table = trials_table(report)
    grid = table[table["sweep"] == "fm"]
    assert list(grid["run"]) == ["lr0.1", "lr0.01", "lr0.001"]  # sweep.json's order; the pending run left out
    assert list(grid["best_so_far"]) == [0.7, 0.8, 0.8] and list(grid["cumulative_epochs"]) == [4, 8, 12]
    figure = plot_best_so_far(table, "maximize")
    for ax in figure.axes:
        assert [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")] == ["fm",
                                                                                                        "fm_asha"]
    search_section.show_search(report)
    text = "\n".join(shown)
    assert "fm_asha" in text and "run records" in text and "study.journal" in text
    assert text.count("<img") == 2  # best so far and slices: too few complete trials for importances
    assert "fewer than the 10 an importance needs" in text


@pytest.mark.slow
def test_the_report_notebook_renders_a_search_beside_a_grid(search_dir, grid_dir, tmp_path):
    notebook = Path(__file__).resolve().parents[2] / "notebooks" / "report.ipynb"
    result = subprocess.run([sys.executable, "-m", "papermill", str(notebook), str(tmp_path / "out.ipynb"),
                             "-p", "sweep_dirs", f"{grid_dir},{search_dir}", "-p", "out_dir", str(tmp_path / "tables")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    text = (tmp_path / "out.ipynb").read_text()
    assert '<h2 id=\\"search\\">Search</h2>' in text and "Best so far" in text and "asha (min_epochs 1, reduction_factor 3)" in text


def test_sampled_values_read_short_in_the_tables(search):
    import pandas as pd

    from lib.report.render import styled
    from lib.report.tables import _values_text, overview

    assert overview(search)["varying"].loc["lr", "values"] == "0.0001, 0.0003, 0.001, 0.002, 0.003, 0.005, 0.01, 0.03, 0.1"
    assert _values_text(pd.Series([10 ** (-4 + i / 4) for i in range(12)])) == "12 values from 0.0001 to 0.05623"
    html = styled(leaderboard(search)).to_html()
    assert ">0.0003<" in html and "0.00030000" not in html


def test_a_search_report_leads_with_its_trials_and_leaves_sampled_parameters_out_of_the_grid_sections(search, shown):
    from lib.report.analysis import analysis_of

    titles = [title for _, title in contents.sections(search)]
    assert titles[0] == "Search"  # before the findings
    for grid_only in ("Configurations over seeds", "Effects", "Two-way interactions", "Isolation plots",
                      "Mean and best per parameter value"):
        assert grid_only not in titles
    search_section.show_search(search)
    text = "\n".join(shown)
    assert text.index("Trials") < text.index("Best so far") < text.index("How each sweep searched")
    assert ">lr<" in text and "trial-000" in text  # its sampled values, by trial
    shown.clear()
    report_module.show_effects(search)
    assert shown == [] and not analysis_of(search).effects.empty  # computed for the CSV, not shown
