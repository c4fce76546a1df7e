"""The report's tables and figures, on run records written here in the real on-disk layout."""

import csv
import math
import subprocess
import sys
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from lib.core.records import write_history, write_json
from lib.report import contents, links, search_section
from lib.report import sections as report_module
from lib.report.analysis import analysis_of
from lib.report.figures import (plot_combined_curves, plot_followup, plot_isolation, plot_ordered,
                                plot_parallel_coordinates, plot_run, plot_throughput)
from lib.report.columns import METRIC_LABELS
from lib.report.load import load_report, plan_note
from lib.report.render import styled
from lib.report.tables import (best_runs, compare_followups, conditions, config_warnings, failures, leaderboard,
                               overview, parameter_effects, run_metrics, run_parameters, sweep_folders, write_tables)

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


def test_the_leaderboard_heading_has_no_two_parentheses_in_a_row(sweep, monkeypatch):
    shown = []
    monkeypatch.setattr(report_module, "show", lambda *items: shown.extend(i for i in items if isinstance(i, str)))
    report_module.show_leaderboard(sweep)
    heading = next(text for text in shown if text.startswith("All "))
    assert ") (" not in heading and f"by {METRIC_LABELS['val_acc']}: 2 ranked, then " in heading


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
    assert params.loc["input_size", "value"] is None  # printed as "-" by the report's tables
    metrics = run_metrics(sweep, "b")
    assert metrics.loc[METRIC_LABELS["val_acc"], "value"] == "0.8000"
    assert metrics.loc["epochs to convergence (best epoch)", "value"] == "2"
    assert metrics.index[-1] == "training time" and metrics["value"].iloc[-1].endswith("s")  # 0m27s, not "time (s) 0m27s"


def test_overview_effects_and_conditions(sweep):
    tables = overview(sweep)
    assert tables["varying"].loc["input_size", "values"] == "None, 224"
    assert tables["status"].loc["failed", "runs"] == 1
    effects = parameter_effects(sweep)
    assert effects.loc[("lr", "0.1"), "runs"] == 1
    text = conditions(sweep)
    assert "2 of 4 runs finished" in text and "One seed (0): no run is repeated" in text and "never used to rank" in text
    assert "tenths of a percent" not in text  # no claim about seed noise that one seed cannot support


def test_per_value_tables_keep_the_values_order_and_print_flags_as_yes_no(tmp_path):
    runs = [(f"r{i}", {"lr": lr, "mix": mix}) for i, (lr, mix) in enumerate(
        [(0.1, False), (0.001, True), (0.01, False), (0.001, False)])]
    write_json(tmp_path / "sweep.json", {"name": "s", "description": "", "fixed": {"dataset": "digits"},
                                         "varying": ["lr", "mix"],
                                         "runs": [{"name": n, "source": "runs", "params": p} for n, p in runs]})
    for name, params in runs:
        write_run(tmp_path, name, params, [0.5, 0.6])
    effects = parameter_effects(load_report(tmp_path))
    assert list(effects.xs("lr").index) == ["0.001", "0.01", "0.1"]  # by value, not as text
    assert list(effects.xs("mix").index) == ["no", "yes"]


def test_figures_label_a_flag_yes_no_as_the_tables_do(tmp_path):
    runs = [(f"{'mix' if mix else 'nomix'}-seed{seed}", {"mix": mix, "optimizer": opt, "seed": seed},
             [0.5, 0.6 + 0.1 * mix + 0.01 * seed]) for mix in (False, True) for opt in ("sgd", "adam") for seed in (0, 1)]
    report = load_report(write_sweep(tmp_path / "flags", "flags", runs, {"model": "mlp", "epochs": 2}))
    panel = next(ax for ax in plot_isolation(report).axes if ax.get_title() == "mix")
    assert [t.get_text() for t in panel.get_xticklabels()] == ["no", "yes"]
    texts = {t.get_text() for t in plot_parallel_coordinates(report).axes[0].texts}
    assert {"no", "yes"} <= texts and not {"True", "False"} & texts

def test_a_sortable_table_shows_a_missing_value_as_an_empty_cell():
    from lib.report.render import interactive

    html = interactive(pd.DataFrame({"p": [0.5, math.nan], "reference": ["sgd", None], "n": [1.0, 2.0]})).data
    assert "NaN" not in html and "None" not in html and "sgd" in html


def test_a_figure_is_never_shown_wider_than_it_was_drawn():
    import matplotlib.pyplot as plt

    from lib.report.render import figure_html

    fig, _ = plt.subplots(figsize=(5, 2))  # 400 px at the report's 80 dpi
    width = int(figure_html(fig, 900).split("width:")[1].split("px")[0])
    assert 300 < width < 450


def ydata(line):
    return [round(float(y), 6) for y in line.get_ydata()]


def test_the_parallel_coordinates_draw_each_finished_run_across_its_values_none_included(sweep):
    figure = plot_parallel_coordinates(sweep)
    figure.canvas.draw()
    ax = figure.axes[0]  # the other axes is the colour bar
    assert len(figure.axes) == 2 and figure.axes[1].get_ylabel() == "validation accuracy"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["model", "lr", "input_size", "val_acc"]
    assert len(ax.collections[0].get_segments()) == 2  # a and b finished; c failed, d never ran
    # the values on each axis, in the one order (lib.core.values), input_size's None among them; val_acc's range
    assert sorted(t.get_text() for t in ax.texts) == sorted(["lenet", "0.01", "0.1", "None", "224", "0.700", "0.800"])


def test_the_curves_of_a_model_draw_each_run_with_a_history_in_four_panels(sweep):
    figure = plot_combined_curves(sweep, "lenet")
    figure.canvas.draw()
    assert [ax.get_title() for ax in figure.axes] == ["training accuracy", "validation accuracy", "training loss",
                                                       "validation loss"]
    assert [len(ax.lines) for ax in figure.axes] == [2, 2, 2, 2]  # a and b, one configuration each
    assert [ydata(line) for line in figure.axes[1].lines] == [[0.5, 0.7, 0.6], [0.4, 0.8]]  # their val acc
    assert figure._suptitle.get_text().startswith("lenet: all 2 runs with a history, 2 configurations")
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["b", "a"]  # the best first (b: 0.8)
    empty = plot_combined_curves(sweep, "mlp")  # c failed, d never ran: no history to draw
    empty.canvas.draw()
    assert [len(ax.lines) for ax in empty.axes] == [0, 0, 0, 0] and not empty.legends
    assert empty._suptitle.get_text().startswith("mlp: all 0 runs with a history")


def test_one_runs_curves_put_loss_beside_accuracy(sweep):
    figure = plot_run(sweep, "a")
    figure.canvas.draw()
    assert figure._suptitle.get_text() == "a" and [ax.get_ylabel() for ax in figure.axes] == ["cross-entropy loss",
                                                                                              "accuracy"]
    assert [ydata(line) for line in figure.axes[0].lines] == [[1.0, 0.9, 0.8], [0.5, 0.3, 0.4]]  # train, val loss
    assert [ydata(line) for line in figure.axes[1].lines] == [[0.45, 0.65, 0.55], [0.5, 0.7, 0.6]]  # train, val acc


def test_throughput_is_a_bar_per_finished_run(sweep):
    figure = plot_throughput(sweep)
    figure.canvas.draw()
    ax = figure.axes[0]
    assert ax.get_title() == "throughput per run" and ax.get_xlabel() == "training images/s (median epoch)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert [p.get_width() for p in ax.patches] == [1000.0, 1000.0]


def test_an_empty_sweep_folder_renders(tmp_path):
    report = load_report(tmp_path / "nothing-here")
    assert report.runs.empty and conditions(report) == "No run has finished yet."
    figure = plot_parallel_coordinates(report)
    figure.canvas.draw()
    assert [t.get_text() for t in figure.axes[0].texts] == ["no finished runs yet"]
    assert not figure.axes[0].collections  # no line drawn
    assert leaderboard(report).empty


def test_an_ordered_parameters_curve_draws_the_mean_at_each_value_on_a_log_axis():
    part = pd.DataFrame({"value": [0.001, 0.01, 0.1, 1.0], "effect": [0.7, 0.8, 0.75, 0.6],
                         "ci_low": [0.65, 0.75, 0.7, 0.55], "ci_high": [0.75, 0.85, 0.8, 0.65]})
    figure = plot_ordered(part, "lr")
    figure.canvas.draw()
    ax = figure.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "lr" and ax.get_ylabel() == "validation accuracy"
    assert list(ax.lines[0].get_xdata()) == [0.001, 0.01, 0.1, 1.0] and ydata(ax.lines[0]) == [0.7, 0.8, 0.75, 0.6]
    assert [t.get_text() for t in ax.texts] == ["best 0.01"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["95% CI", "mean over the other parameters"]


def write_sweep(root, name, runs, fixed=None):
    """A sweep folder: sweep.json planning `runs` [(name, params, val_accs or None)]; runs with val_accs finished."""
    write_json(root / "sweep.json", {"name": name, "description": "", "fixed": fixed or {},
                                     "varying": sorted({k for _, p, _ in runs for k in p} - set(fixed or {})),
                                     "runs": [{"name": n, "source": "grid", "params": {**(fixed or {}), **p}}
                                              for n, p, _ in runs]})
    for run, params, accs in runs:
        if accs:
            write_run(root, run, {**(fixed or {}), **params}, accs)
    return root


@pytest.fixture
def seeded(tmp_path):
    """Two optimizers x two seeds, and a step_size that changes nothing."""
    accs = {("sgd", 0): [0.5, 0.6], ("sgd", 1): [0.5, 0.61], ("adam", 0): [0.6, 0.8], ("adam", 1): [0.6, 0.81]}
    runs = [(f"{opt}-step{step}-seed{seed}", {"optimizer": opt, "step_size": step, "seed": seed}, acc)
            for (opt, seed), acc in accs.items() for step in (5, 10)]
    return load_report(write_sweep(tmp_path / "seeds", "seeds", runs, {"model": "mlp", "epochs": 2}))


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_tables_beside_the_report_have_the_required_columns_and_seeds_per_config(seeded, tmp_path):
    paths = write_tables(seeded, tmp_path / "out")
    assert [p.name for p in paths] == ["runs.csv", "configs.csv", "effects.csv", "interactions.csv", "best.yaml"]
    runs = read_csv(tmp_path / "out" / "runs.csv")
    assert list(runs[0]) == ["run", "sweep", "status", "optimizer", "step_size", "seed", "best_epoch", "epochs_run",
                             "train_acc", "train_loss", "val_acc", "val_loss", "test_acc", "test_loss", "wall_time_s",
                             "flags"]
    assert len(runs) == 8 and {r["sweep"] for r in runs} == {"seeds"}
    first = next(r for r in runs if r["run"] == "sgd-step5-seed1")
    assert (first["seed"], first["step_size"], first["best_epoch"], first["test_loss"]) == ("1", "5", "2", "1.0")
    assert first["flags"] == "not_converged"  # the best epoch is the last one
    configs = read_csv(tmp_path / "out" / "configs.csv")
    assert {r["config"]: r["n"] for r in configs} == {"adam-step5": "2", "adam-step10": "2", "sgd-step5": "2",
                                                       "sgd-step10": "2"}
    effects = {(r["parameter"], r["value"]): r for r in read_csv(tmp_path / "out" / "effects.csv")}
    assert float(effects[("step_size", "10")]["effect"]) == 0.0
    assert float(effects[("optimizer", "adam")]["ci_low"]) > 0  # adam wins on both seeds
    assert {"parameter", "value", "reference", "effect", "ci_low", "ci_high", "se", "df", "p", "p_holm",
            "n"} <= set(effects[("step_size", "10")])
    interactions = read_csv(tmp_path / "out" / "interactions.csv")
    assert [(r["parameter_a"], r["parameter_b"]) for r in interactions] == [("optimizer", "step_size")]
    assert float(interactions[0]["interaction"]) == pytest.approx(0.0, abs=1e-12)


def test_no_tables_are_written_without_runs(tmp_path):
    assert write_tables(load_report(tmp_path / "missing"), tmp_path / "out") == []
    assert not (tmp_path / "out").exists()


@pytest.fixture
def two_sweeps(tmp_path):
    """An earlier sweep at 5 epochs over lr, and a follow-up at 10 epochs; both hold a run named `x`."""
    first = write_sweep(tmp_path / "first", "first", [("lr0.1", {"lr": 0.1}, [0.5, 0.7]),
                                                      ("lr0.01", {"lr": 0.01}, [0.5, 0.6]),
                                                      ("x", {"lr": 0.2}, [0.3, 0.4])], {"epochs": 5})
    second = write_sweep(tmp_path / "second", "second", [("long-lr0.01", {"lr": 0.01}, [0.5, 0.6, 0.9]),
                                                         ("x", {"lr": 0.2, "patience": 100}, [0.4, 0.5, 0.6]),
                                                         ("long-lr0.05", {"lr": 0.05}, None)], {"epochs": 10})
    return load_report([first, second])


def test_two_sweeps_share_one_table_with_unique_run_keys_and_the_union_of_what_varies(two_sweeps):
    runs = two_sweeps.runs
    assert list(runs["run"]) == ["lr0.1", "lr0.01", "first/x", "long-lr0.01", "second/x", "long-lr0.05"]
    assert list(runs["sweep"]) == ["first", "first", "first", "second", "second", "second"]
    assert set(two_sweeps.histories) == {"lr0.1", "lr0.01", "first/x", "long-lr0.01", "second/x"}
    assert two_sweeps.varying == ["lr", "patience", "epochs"]  # epochs: fixed in each sweep, at 5 and at 10
    assert "sweep" in leaderboard(two_sweeps) and "flags" in leaderboard(two_sweeps)
    assert set(runs["seed"]) == {0}


def test_followups_are_compared_with_the_nearest_earlier_run(two_sweeps):
    table = compare_followups(two_sweeps).set_index("run")
    assert list(table.index) == ["long-lr0.01", "second/x", "long-lr0.05"]
    assert table.loc["long-lr0.01", "earlier_run"] == "lr0.01"
    assert table.loc["long-lr0.01", "changed"] == "epochs 5 -> 10"
    assert table.loc["second/x", "earlier_run"] == "first/x"
    assert table.loc["second/x", "changed"] == "patience 3 -> 100; epochs 5 -> 10"
    # lr 0.05 is as far from lr 0.1, 0.01 and 0.2: the tie goes to the earlier run with the higher val acc
    assert table.loc["long-lr0.05", "earlier_run"] == "lr0.1"
    assert table.loc["long-lr0.01", "val_acc"] == 0.9 and table.loc["long-lr0.01", "earlier_val_acc"] == 0.6
    assert table.loc["long-lr0.01", "epochs_run"] == 3 and table.loc["long-lr0.01", "earlier_epochs_run"] == 2
    figure = plot_followup(two_sweeps, "long-lr0.01", "lr0.01")
    figure.canvas.draw()
    assert figure._suptitle.get_text() == "long-lr0.01 vs lr0.01"
    assert [ax.get_ylabel() for ax in figure.axes] == ["accuracy", "cross-entropy loss"]
    accuracy = {line.get_label(): ydata(line) for line in figure.axes[0].lines}  # each run's val and train lines
    assert accuracy == {"earlier lr0.01: validation": [0.5, 0.6], "earlier: training": [0.45, 0.55],
                        "follow-up long-lr0.01: validation": [0.5, 0.6, 0.9], "follow-up: training": [0.45, 0.55, 0.85]}
    assert len(figure.axes[1].lines) == 4
    assert compare_followups(load_report(two_sweeps.roots[0])).empty


def test_sweep_folders_are_split_on_commas_and_resolved(tmp_path):
    assert sweep_folders(f"{tmp_path}/a, {tmp_path}/b,") == [tmp_path / "a", tmp_path / "b"]


def test_warnings_of_the_run_configs_are_counted_per_run(seeded):
    warnings = config_warnings(seeded)
    assert len(warnings) == 1 and warnings.loc[0, "runs"] == 8
    assert warnings.loc[0, "warning"].startswith("step_size is set but scheduler is not step")


def test_report_tables_print_counts_as_integers_and_measurements_to_four_digits(seeded):
    html = styled(analysis_of(seeded).configs.set_index("config")).to_html()
    assert ">2<" in html and ">2.0000<" not in html  # n
    assert ">0.8050<" in html  # adam-step5's mean val acc
    assert "white-space: nowrap" in html


def test_findings_come_with_what_they_rest_on(seeded, shown):
    report_module.show_findings(seeded)
    text = "\n".join(shown)
    assert "- statistics rest on 8 of 8 runs" in text
    assert "optimizer: adam beat sgd by 20.0 points of validation accuracy" in text and "2 seeds" in text
    assert "step_size (10 vs 5): identical runs" in text
    assert "Edges of the search: none" in text
    assert text.count("How to read the ranges") == 1  # the method, once, after the findings


def test_sections_that_do_not_apply_show_nothing_not_even_a_heading(seeded, shown):
    for show in (report_module.show_followups, report_module.show_failures, search_section.show_search):
        shown.clear()
        show(seeded)  # one sweep, no failure, no search
        assert shown == [], show.__name__
    report_module.show_diagnostics(seeded)
    assert shown[0] == '<h2 id="diagnostics">Diagnostics</h2>'
    assert "Flagged runs: 8 of 8 (8 not converged)." in "\n".join(shown)  # every run's best epoch is its last
    assert [title for _, title in contents.sections(seeded)][:3] == ["Findings", "Best configuration", "Overview"]
    assert "Follow-ups" not in dict(contents.sections(seeded)).values()


def test_an_empty_report_says_no_runs_yet_and_shows_no_empty_sections(tmp_path, shown):
    report = load_report([tmp_path / "missing"])
    report_module.show_findings(report)
    assert shown[-1].startswith("No runs yet")
    for name in ("show_best", "show_leaderboard", "show_configs", "show_effects", "show_interactions",
                 "show_isolation", "show_best_runs", "show_followups", "show_combined_curves",
                 "show_parameter_effects", "show_throughput", "show_failures", "show_next"):
        shown.clear()
        getattr(report_module, name)(report)
        assert shown == [], name


@pytest.mark.parametrize("damage, says", [
    ('{"name": ', "cannot be read"),
    ("[1, 2]", "holds a list, not the sweep's record"),
    ('{"name": "seeds", "runs": "x"}', "runs is a str, not a list"),
    ('{"name": "seeds", "runs": [{"name": 3}]}', "a run in runs has no name or params"),
    ('{"name": "seeds", "runs": [], "fixed": [1]}', "fixed is a list, not a dict"),
    ('{"runs": []}', "has no name"),
])
def test_a_damaged_sweep_json_is_reported_from_the_run_folders_and_left_as_it_is(seeded, shown, damage, says):
    root = seeded.roots[0]
    (root / "sweep.json").write_text(damage)
    report = load_report(root)
    assert sorted(report.runs["run"]) == sorted(seeded.runs["run"])  # every run folder, its config as recorded
    assert set(report.ranked["optimizer"]) == {"sgd", "adam"}
    note = plan_note(root)
    assert says in note and "running the sweep again rewrites sweep.json" in note
    contents.show_title(report)  # under the title: it qualifies the whole page
    assert any(links.local_paths(report, note) in text for text in shown)  # its paths relative to the page
    report_module.show_next(report)
    assert "sweep.json cannot be used (see the note at the top)" in shown[-1]
    assert list(analysis_of(report).effects["parameter"])  # the statistics still work from the runs' configs
    assert (root / "sweep.json").read_text() == damage

def test_isolation_figure_has_a_panel_per_parameter(seeded):
    figure = plot_isolation(seeded)
    assert [ax.get_title() for ax in figure.axes if ax.axison] == ["optimizer", "step_size"]


@pytest.mark.slow
def test_the_report_notebook_renders_two_sweeps_and_writes_its_tables(two_sweeps, tmp_path):
    notebook = Path(__file__).resolve().parents[2] / "notebooks" / "report.ipynb"
    dirs = ",".join(str(r) for r in two_sweeps.roots)
    result = subprocess.run([sys.executable, "-m", "papermill", str(notebook), str(tmp_path / "out.ipynb"),
                             "-p", "sweep_dirs", dirs, "-p", "out_dir", str(tmp_path / "tables")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    text = (tmp_path / "out.ipynb").read_text()
    assert "patience 3 -&gt; 100; epochs 5 -&gt; 10" in text and "statistics rest on 5 of 6 runs" in text  # a cell is text
    assert {p.name for p in (tmp_path / "tables").iterdir()} == {"runs.csv", "configs.csv", "effects.csv",
                                                                  "interactions.csv", "best.yaml"}


def test_configs_at_one_seed_say_so_and_leave_out_spread_columns(tmp_path, shown):
    runs = [(f"lr{lr}", {"lr": lr}, [0.5, acc]) for lr, acc in ((0.1, 0.7), (0.01, 0.6))]
    report_module.show_configs(load_report(write_sweep(tmp_path / "one", "one", runs)))
    assert shown[0] == '<h2 id="configurations">Configurations over seeds</h2>'
    assert shown[1].startswith("One seed per configuration (n = 1)")
    assert "val acc sd" not in shown[2] and "val acc mean" in shown[2]


# --- the pooled model on sweeps of the project's own files ----------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def write_planned(root, sweep, val_acc):
    """A sweep folder as the runner leaves it: sweep.json from the Sweep, one finished run per planned run,
    validation accuracy val_acc(run spec)."""
    write_json(root / "sweep.json", sweep.to_dict())
    for spec in sweep.runs:
        write_run(root, spec.name, spec.params, [0.3, val_acc(spec)])
    return root


def test_a_linked_axis_is_one_factor_and_every_factor_of_the_cifar100_grid_gets_a_ci(tmp_path):
    import numpy as np

    from lib.config.sweepfile import load_sweep

    sweep = load_sweep(ROOT / "params" / "cifar100_grid.yaml")
    assert sweep.to_dict()["linked"] == {"arch": [{"model": "resnet18_imagenet", "pretrained": True},
                                                  {"model": "preact_resnet18"}]}
    noise = dict(zip([r.name for r in sweep.runs], np.random.default_rng(0).normal(0, 0.005, len(sweep.runs))))
    report = load_report(write_planned(tmp_path / "cifar100_grid", sweep, lambda spec: (
        0.45 + 0.18 * (spec.params["model"] == "preact_resnet18") + 0.02 * spec.params["mix"] + noise[spec.name])))
    assert analysis_of(report).params == ["arch", "mix", "optimizer", "lr", "scheduler"]
    write_tables(report, tmp_path / "out")
    effects = read_csv(tmp_path / "out" / "effects.csv")
    arch = [r for r in effects if r["parameter"] == "arch"]
    assert len(arch) == 1 and (arch[0]["value"], arch[0]["reference"]) == ("preact_resnet18",
                                                                           "resnet18_imagenet, pretrained")
    assert float(arch[0]["effect"]) == pytest.approx(0.18, abs=0.01)
    assert float(arch[0]["ci_low"]) < 0.18 < float(arch[0]["ci_high"]) and float(arch[0]["df"]) == 16
    assert {r["parameter"] for r in effects} == {"arch", "mix", "optimizer", "lr", "scheduler"}
    assert all(math.isfinite(float(r["ci_low"])) and math.isfinite(float(r["ci_high"])) for r in effects)
    findings = analysis_of(report).findings
    assert any(s.startswith("arch: preact_resnet18 beat resnet18_imagenet, pretrained by 18.") for s in findings)
    best = next(s for s in findings if s.startswith("best: "))
    assert best.split(",")[0].removeprefix("best: ") in noise  # the configuration is named by its run's name


LR_OPTIMIZER = """name: lr_optimizer
fixed: {dataset: digits, model: mlp, epochs: 3}
grid: {lr: [0.001, 0.1], optimizer: [sgd, adam]}
seeds: [0, 1, 2]
"""
# correct validation images out of 144, per run, of that sweep as it ran on 2 CPU cores
LR_OPTIMIZER_CORRECT = {"lr0.001-sgd-seed0": 126, "lr0.001-sgd-seed1": 124, "lr0.001-sgd-seed2": 124,
                        "lr0.001-adam-seed0": 140, "lr0.001-adam-seed1": 141, "lr0.001-adam-seed2": 141,
                        "lr0.1-sgd-seed0": 140, "lr0.1-sgd-seed1": 141, "lr0.1-sgd-seed2": 142,
                        "lr0.1-adam-seed0": 137, "lr0.1-adam-seed1": 137, "lr0.1-adam-seed2": 138}


def assert_states_the_lr_optimizer_interaction(findings):
    text = "\n".join(findings)
    interaction = next(s for s in findings if s.startswith("lr x optimizer interact (interaction -"))
    optimizer = interaction.split("; optimizer: ")[1]
    assert optimizer.startswith("adam beat sgd by ") and " at lr 0.001 but lost by " in optimizer \
        and optimizer.endswith(" at lr 0.1")
    averages = ("optimizer:", "optimizer (", "lr:", "lr (")
    assert not any(s.startswith(averages) for s in findings), text  # never the average alone


def test_findings_state_the_lr_optimizer_interaction_and_the_optimizer_effect_at_each_lr(tmp_path):
    from lib.config.sweepfile import parse_sweep
    from lib.config.yamlfile import read_yaml

    path = tmp_path / "lr_optimizer.yaml"
    path.write_text(LR_OPTIMIZER)
    root = write_planned(tmp_path / "lr_optimizer", parse_sweep(read_yaml(path), path),
                         lambda spec: LR_OPTIMIZER_CORRECT[spec.name] / 144)
    findings = analysis_of(load_report(root)).findings
    assert_states_the_lr_optimizer_interaction(findings)
    interaction = next(s for s in findings if s.startswith("lr x optimizer"))
    assert interaction.startswith("lr x optimizer interact (interaction -6.8 points, 95% CI -7.8 to -5.9)")
    assert "optimizer: adam beat sgd by 11.1 points (95% CI 9.8 to 12.4) at lr 0.001 but lost by 2.5 " in interaction


@pytest.mark.slow
def test_the_digits_lr_optimizer_sweep_as_it_runs_states_its_interaction(tmp_path):
    from lib.sweep.cli import main

    path = tmp_path / "lr_optimizer.yaml"
    path.write_text(LR_OPTIMIZER)
    assert main(["run", str(path), "--workers", "2", "--reports-dir", str(tmp_path / "reports"), "--no-report"]) == 0
    assert_states_the_lr_optimizer_interaction(analysis_of(load_report(tmp_path / "reports" / "lr_optimizer")).findings)


# --- reading it: the card, the files beside it, tables and links for people ---------------------------------------


def test_the_best_configuration_card_and_best_yaml_rerun_the_best_configuration(seeded, tmp_path, shown):
    from lib.run.cli import load_config_file
    from lib.config.runconfig import RunConfig

    out = tmp_path / "out"
    write_tables(seeded, out)
    values = load_config_file(out / "best.yaml")
    cfg = RunConfig.from_dict(values)  # a config file python -m lib.train --config takes as it is
    assert (cfg.optimizer, cfg.model, cfg.epochs, cfg.wandb_mode) == ("adam", "mlp", 2, "disabled")
    assert values["seed"] in (0, 1) and values["out_dir"] == str(out.resolve() / "best-rerun")  # beside the file
    text = (out / "best.yaml").read_text()
    assert "out_dir: best-rerun\n" in text and "sweeplab train --config best.yaml" in text
    assert str(tmp_path) not in text  # no path of the machine that wrote it
    links.set_output(seeded, out)
    report_module.show_best(seeded)
    card = "\n".join(shown)
    assert shown[0] == '<h2 id="best">Best configuration</h2>' and "adam-step" in card
    assert "<pre style='margin:4px 0'>sweeplab train --config best.yaml</pre>" in card  # outside the project
    assert str(tmp_path) not in card
    assert "± 0.0071 (sd over 2 seeds)" in card  # 0.80 and 0.81
    assert "mean over seeds 0, 1" in card and ">seed<" not in card  # the configuration, and the seeds its mean is over


def test_the_card_command_reruns_best_yaml_from_the_report_folder_after_it_is_moved(seeded, tmp_path, monkeypatch):
    from lib.report.tables import rerun_command
    from lib.run.cli import config_from_argv

    project = tmp_path / "project"
    for part in ("lib", "notebooks"):
        (project / part).mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    out = project / "reports" / "seeds"
    write_tables(seeded, out)
    monkeypatch.chdir(project)
    assert rerun_command(out) == "cd reports/seeds && sweeplab train --config best.yaml"
    moved = tmp_path / "elsewhere" / "shared"
    moved.parent.mkdir()
    out.rename(moved)
    monkeypatch.chdir(moved)  # what the command does after the folder is moved: cd into it, --config best.yaml
    assert config_from_argv(["--config", "best.yaml"]).out_dir == str(moved / "best-rerun")


def test_tables_print_values_for_people_without_an_index_column():
    import pandas as pd

    table = pd.DataFrame({"run": ["a"], "mix": [True], "wall_time_s": [26.76], "flags": ["not_converged,unstable"],
                          "best_epoch": [3.0], "val_acc": [0.91234], "p_holm": [0.000123]})
    html = styled(table).to_html()
    for text in ("yes", "0m27s", "not converged, unstable", ">3<", "0.9123", "0.00012"):
        assert text in html, text
    assert "True" not in html and "26.76" not in html and "not_converged" not in html
    assert 'class="row_heading' not in html  # no index column


def test_cells_print_by_the_declared_kind_of_their_column_never_by_its_header(monkeypatch):
    import dataclasses

    from lib.report import columns

    table = pd.DataFrame({"p_holm": [0.000123], "time_saved_s": [26.76], "time (s)": [26.76], "lr": [1e-05],
                          "value": [0.91234]})
    html = styled(table).to_html()
    assert ">p (Holm)<" in html and ">0.00012<" in html  # declared: its header and 2 significant digits
    assert ">time saved<" in html and ">0m27s<" in html  # a time: its unit is in the value, not the header
    assert ">26.76<" in html  # "time (s)" is no declared column: a header's words format nothing
    assert ">1e-5<" in html and ">0.91234<" in html  # undeclared: a parameter's value, as values.reader_text
    assert ">0.9123<" in styled(table, kinds={"value": "measure"}).to_html()  # a table that says otherwise
    renamed = {**columns.COLUMNS, "time_saved_s": dataclasses.replace(columns.COLUMNS["time_saved_s"],
                                                                      header="seconds saved (s)")}
    monkeypatch.setattr(columns, "COLUMNS", renamed)
    html = styled(table).to_html()
    assert ">seconds saved (s)<" in html and ">0m27s<" in html  # a renamed header, the same cells


def test_a_metric_is_labelled_once_with_its_unit_where_its_value_has_none():
    from lib.report.columns import METRIC_LABELS, metric_label

    assert METRIC_LABELS["wall_time_s"] == "training time (s)" and metric_label("wall_time_s") == "training time"
    assert metric_label("val_acc") == METRIC_LABELS["val_acc"] and METRIC_LABELS["images_per_s"] == "training images/s"


def test_runs_link_to_their_notebook_and_log_relative_to_the_report(sweep, tmp_path):
    (sweep.root / "runs" / "a" / "run.log").write_text("log")
    (sweep.root / "runs" / "a" / "train.ipynb").write_text("{}")
    links.set_output(sweep, sweep.root)
    assert str(links.run_link(sweep, "a")) == '<a href="runs/a/train.ipynb">a</a> ' \
                                                 '<a href="runs/a/run.log" style="font-size:85%">log</a>'
    assert str(links.run_link(sweep, "b")) == "b"  # no notebook or log yet: no dead link
    links.set_output(sweep, tmp_path / "elsewhere")
    assert 'href="../' in str(links.run_link(sweep, "a"))


def test_isolation_panels_share_one_axis_that_holds_every_interval_whole(seeded):
    figure = plot_isolation(seeded)
    panels = [ax for ax in figure.axes if ax.axison]
    assert len({ax.get_ylim() for ax in panels}) == 1
    low, high = panels[0].get_ylim()
    table = analysis_of(seeded).isolation.dropna(subset=["ci_low"])
    assert low <= table["ci_low"].min() and table["ci_high"].max() <= high <= 1.0
    assert all(t.get_fontsize() >= 10 for ax in panels for t in ax.get_xticklabels())


def test_all_runs_curves_give_a_configuration_one_colour_and_its_seeds_thin_lines(tmp_path):
    runs = [(f"lr{lr}-wd{wd}-seed{seed}", {"lr": lr, "weight_decay": wd, "seed": seed},
             [0.5, 0.6 + lr + wd + 0.01 * seed]) for lr in (0.1, 0.2) for wd in (0.0, 0.01) for seed in (0, 1, 2)]
    report = load_report(write_sweep(tmp_path / "curves", "curves", runs, {"model": "mlp", "epochs": 2}))
    figure = plot_combined_curves(report, "mlp")
    ax = figure.axes[1]  # validation accuracy
    colours = {}
    for line in ax.get_lines():
        colours.setdefault(matplotlib.colors.to_hex(line.get_color()), []).append(line.get_linewidth())
    assert len(colours) == 4 and all(len(widths) == 4 for widths in colours.values())  # 3 seeds + their mean
    assert all(sorted(widths)[-1] > 2 * sorted(widths)[0] for widths in colours.values())  # the mean stands out
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert len(labels) == 4 and labels[0].startswith("lr0.2-wd0.01")  # best first


def test_runs_link_to_the_rendered_notebook_where_there_is_one(sweep):
    from lib.sweep.publish import render_run_notebook

    folder = sweep.root / "runs" / "a"
    (folder / "train.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    links.set_output(sweep, sweep.root)
    assert render_run_notebook(folder) and (folder / "train.html").read_text().startswith("<!DOCTYPE html>")
    assert not render_run_notebook(folder)  # up to date: not written again
    assert str(links.run_link(sweep, "a")).startswith('<a href="runs/a/train.html">a</a>')


def test_runs_that_tie_on_validation_accuracy_go_by_test_accuracy_then_name(tmp_path):
    runs = [(name, {"lr": lr}, [0.5, 0.9]) for name, lr in (("b", 0.1), ("a", 0.2), ("c", 0.3))]
    report = load_report(write_sweep(tmp_path / "ties", "ties", runs, {"model": "mlp", "epochs": 2}))
    assert list(leaderboard(report).index) == ["a", "b", "c"] == best_runs(report, "mlp", 3)
