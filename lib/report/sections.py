"""The report notebook's sections: each `show_*` displays a heading's tables and figures for one part of
the report, formatted for people (lib.report.tables and lib.report.search compute them).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from lib.core.formatting import as_float, number
from lib.report import stats
from lib.report.analysis import analysis
from lib.report.figures import (plot_best_so_far, plot_combined_curves, plot_followup, plot_importances, plot_isolation,
                                plot_parallel_coordinates, plot_run, plot_slices, plot_throughput)
from lib.report.load import METRIC_LABELS, SweepReport, value_label
from lib.report.search import (IMPORTANCE_EVALUATOR, param_importances, search_overview, searched, searches,
                               slice_points, termination_savings, trials_table)
from lib.report.tables import (FOLLOWUP_FIGURES, best_runs, compare_followups, conditions, config_warnings, failures,
                               leaderboard, overview, parameter_effects, run_metrics, run_parameters)

# Columns whose numbers are measurements (4 decimals); other whole numbers print as integers and
# parameter values as written (5e-05 stays 5e-05).
_MEASURES = ("acc", "loss", "effect", "interaction", "ci_low", "ci_high", "_sd", "mean", "best value", "importance")
_SECONDS = ("wall_time_s", "images_per_s", "time (s)", "training images/s", "time saved (s)")
_P_VALUES = ("p", "p_holm", "p_vs_best", "p_holm_vs_best")  # two significant digits


def _formatter(column: str, values: pd.Series):
    name = str(column).lower()
    numeric = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if name in _SECONDS:
        return lambda v: number(v, ".1f")
    if name in _P_VALUES:
        return lambda v: number(v, ".2g")
    if any(word in name for word in _MEASURES) or "accuracy" in name or name in ("se", "vs_best"):
        return lambda v: number(v, ".4f") if not isinstance(v, float) or not v.is_integer() else f"{v:.4f}"
    if numeric and all(not math.isfinite(v) or float(v).is_integer() for v in numeric):
        return lambda v: number(v, "d")
    return _parameter_text


def _parameter_text(value: Any) -> str:
    """A parameter value in a table: as written, but a sampled float to 4 significant digits."""
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        return format(value, ".4g")
    return value_label(value) if not isinstance(value, str) else value


def styled(table: pd.DataFrame, index: bool = True):
    """A table for the report: measurements to 4 decimals, counts as integers, run names on one line."""
    styler = table.style.format({c: _formatter(c, table[c]) for c in table.columns})
    styler = styler.set_table_styles([
        {"selector": "tbody th", "props": [("white-space", "nowrap"), ("text-align", "left")]},
        {"selector": "td", "props": [("white-space", "nowrap")]},
        {"selector": "th, td", "props": [("padding", "2px 8px"), ("font-size", "12px")]},
    ]).set_table_attributes('style="table-layout: auto; width: auto"')
    return styler if index else styler.hide(axis="index")


def _prose(styler, columns: Sequence[str] | None = None):
    """Columns of sentences: left-aligned and wrapped, not one long right-aligned line."""
    return styler.set_properties(subset=columns, **{"white-space": "normal", "text-align": "left",
                                                    "max-width": "900px"})


def _show(*items) -> None:
    from IPython.display import Markdown, display

    for item in items:
        if isinstance(item, pd.DataFrame):
            item = styled(item)
        display(Markdown(item) if isinstance(item, str) else item)


def _figure_html(fig, width: int) -> str:
    import base64
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return f'<img style="width:{width}px" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _figure(fig, width: int):
    """A figure as an image `width` pixels wide, ready to show; the figure is closed (so the notebook
    does not draw it a second time)."""
    return _side_by_side(_figure_html(fig, width))


def _side_by_side(*parts: str):
    from IPython.display import HTML

    cells = "".join(f"<div>{part}</div>" for part in parts)
    return HTML(f'<div style="display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap">{cells}</div>')


def _bullets(lines: Sequence[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _no_runs(report: SweepReport) -> str:
    folders = ", ".join(f"`{r}`" for r in report.roots) or "no folder given"
    return f"No runs yet ({folders} holds no planned or recorded run)."


def show_findings(report: SweepReport) -> None:
    """The findings as bullets, each saying what it rests on, the edges of the search, then once how every range
    and call was made."""
    if report.runs.empty:
        _show(_no_runs(report))
        return
    result = analysis(report)
    edges = ("" if result.boundary else "\n\nEdges of the search: none (no numeric parameter with at least "
             f"{stats.BOUNDARY_MIN_VALUES} values has its best at the smallest or largest value tried).")
    _show(_bullets(result.findings) + edges + (f"\n\n*{result.method}*" if result.method else ""))


def show_overview(report: SweepReport) -> None:
    if report.runs.empty:
        _show(_no_runs(report))
        return
    tables = overview(report)
    where = ", ".join(f"`{r}`" for r in report.roots)
    _show(f"**Sweep{'s' * (len(report.sweeps) > 1)} `{report.name}`** in {where}. {report.description}",
          conditions(report))
    _side_by_side_tables(tables["status"], tables["varying"], tables["fixed"])
    warnings = config_warnings(report)
    _show("**Warnings** of the run configs (settings that cannot take effect), with the runs each applies to:"
          + (" none." if warnings.empty else ""))
    if not warnings.empty:
        _show(_prose(styled(warnings, index=False), ["warning"]))


def _side_by_side_tables(*tables: pd.DataFrame) -> None:
    from IPython.display import display

    display(_side_by_side(*[styled(t).to_html() for t in tables if not t.empty]))


def show_leaderboard(report: SweepReport) -> None:
    if report.runs.empty:
        _show("none")
        return
    table = leaderboard(report).rename(columns={v: k for k, v in METRIC_LABELS.items()})
    # One screen wide: throughput has its own section, losses and times are in runs.csv.
    table = table.drop(columns=["images_per_s", "train_loss", "test_loss", "wall_time_s"])
    _show(f"Columns: {'; '.join(f'{k}: {METRIC_LABELS[k]}' for k in ('val_acc', 'best_epoch'))}; "
          f"flags: see Diagnostics. Losses and times of every run are in runs.csv.", table)


def show_configs(report: SweepReport) -> None:
    """Configurations over seeds: n, mean, sd and 95% CI of validation accuracy, and ties with the best."""
    result = analysis(report)
    configs = result.configs
    if configs.empty:
        _show("none (no finished run)")
        return
    seeds = set(configs["n"])
    method = result.pooled.config_method if result.pooled is not None else ""
    ties = (f"vs_best: difference from the best; tied_with_best: not distinguishable from the best after Holm's "
            f"correction over the comparisons (p_holm_vs_best >= {stats.ALPHA:g}), against {method}; raw p-values are "
            f"in configs.csv." if method else "")
    if seeds == {1}:
        _show("One seed per configuration (n = 1): no spread or CI per configuration, so those columns are left out. "
              + ties, configs.drop(columns=["val_acc_sd", "val_acc_ci_low", "val_acc_ci_high", "test_acc_sd",
                                            "p_vs_best"]).set_index("config").astype({"tied_with_best": object}))
        return
    table = configs.drop(columns="p_vs_best").set_index("config").astype({"tied_with_best": object})
    table["tied_with_best"] = ["untested" if pd.isna(t) else t for t in table["tied_with_best"]]
    _show(f"n = seeds per configuration ({', '.join(map(str, sorted(seeds)))}); CI: 95% t-interval of the mean "
          f"over its seeds. " + ties, table)


def _estimates(table: pd.DataFrame):
    """A table of estimates for the page: methods are in the text above it, the Lenth columns only where used,
    `identical` only where some row is."""
    drop = ["ci_method"] + [c for c in ("lenth_ci_low", "lenth_ci_high") if c in table and table[c].isna().all()]
    if "identical" in table and not table["identical"].astype(bool).any():
        drop.append("identical")
    return styled(table.drop(columns=drop), index=False)


def _ci_note(table: pd.DataFrame) -> str:
    methods = list(dict.fromkeys(table["ci_method"]))
    return "CIs (95%): " + "; ".join(methods) + "." if methods else ""


def show_effects(report: SweepReport) -> None:
    effects = analysis(report).effects
    if effects.empty:
        _show("none (no varying parameter with finished runs)")
        return
    _show("From one linear model over every run (see the findings): kind difference is `value` minus `reference` "
          "in validation accuracy (fraction), averaged over the other parameters; for ordered parameters (numbers "
          "with three or more values), kind mean is the accuracy at `value` and kind trend the change per step of "
          "the trend axis. p_holm: Holm-adjusted over every effect and interaction; a finding calls a difference "
          f"only when p_holm < {stats.ALPHA:g}. n: configuration x seed results at value or reference. "
          + _ci_note(effects), _estimates(effects))


def show_interactions(report: SweepReport) -> None:
    table = analysis(report).interactions
    if table.empty:
        _show("none (fewer than two parameters, or no interaction the runs can separate)")
        return
    _show("interaction: half the difference between a's effect (value_a vs its reference) at b's value_b and at b's "
          "reference, from the same model as the effects; where one side is \"trend\", how much that parameter's "
          "trend changes between the other's values. " + _ci_note(table), _estimates(table))


def show_isolation(report: SweepReport) -> None:
    if analysis(report).isolation.empty:
        _show("none")
        return
    _show("For each value, the best configuration with that value (mean validation accuracy over its seeds, "
          "95% t-interval as error bars when n >= 2). A maximum over the other parameters flatters values "
          "tried in more configurations.")
    panels = min(4, analysis(report).isolation["parameter"].nunique())
    _show(_figure(plot_isolation(report), 240 * panels + 60))


def show_best_runs(report: SweepReport, k: int = 2) -> None:
    """For each model, its k best runs: parameters, metrics and curves side by side."""
    if report.ranked.empty:
        _show("none (no finished run)" if report.finished.empty else "none (every finished run was pruned)")
        return
    for model in report.models:
        names = best_runs(report, model, k)
        _show(f"### {model}: best {len(names)} of {int((report.runs['model'] == model).sum())} runs")
        for rank, name in enumerate(names, 1):
            curves = [_figure_html(plot_run(report, name, size=(7.5, 2.8)), 460)] if name in report.histories \
                else ["(no history)"]
            _show(f"#### {model} #{rank}: `{name}`")
            _show(_side_by_side(styled(run_parameters(report, name)).to_html(),
                                styled(run_metrics(report, name)).to_html(), *curves))
        if not names:
            _show("No finished run of this model yet.")


def show_diagnostics(report: SweepReport) -> None:
    rules = pd.DataFrame({"rule": list(stats.FLAG_RULES.values())}, index=pd.Index(list(stats.FLAG_RULES),
                                                                                   name="flag"))
    _show("Each finished run is checked against these rules:", _prose(styled(rules)))
    flags = analysis(report).flags
    flagged = report.runs.loc[flags != "", ["run", "sweep", "status", "best_epoch", "epochs_run", "val_acc"]]
    if flagged.empty:
        _show("Flagged runs: none.")
        return
    flagged = flagged.assign(flags=flags[flags != ""]).set_index("run")
    _show(f"Flagged runs: {len(flagged)} of {len(report.runs)}.", flagged)


def show_followups(report: SweepReport) -> None:
    table = compare_followups(report)
    if table.empty:
        _show("none (one sweep in this report; pass several folders in `sweep_dirs`, earlier first)")
        return
    _show("Each run of a later sweep beside the earlier run it differs from least (fewest changed parameters; "
          "ties: higher validation accuracy).", _prose(styled(table.set_index("run")), ["changed"]))
    pairs = [p for p in table.to_dict("records") if p["run"] in report.histories and p["earlier_run"] in
             report.histories]
    shown = sorted(pairs, key=lambda p: -as_float(p.get("val_acc"), -math.inf))[:FOLLOWUP_FIGURES]
    if len(pairs) > len(shown):
        _show(f"Curves of the {len(shown)} follow-ups with the highest validation accuracy (of {len(pairs)}).")
    for pair in shown:
        _show(_figure(plot_followup(report, pair["run"], pair["earlier_run"]), 800))


def show_combined_curves(report: SweepReport) -> None:
    if not report.histories:
        _show("none (no run has a history yet)")
        return
    for model in report.models:
        _show(_figure(plot_combined_curves(report, model), 1000))


def show_parameter_effects(report: SweepReport) -> None:
    table = parameter_effects(report)
    if table.empty:
        _show("none")
        return
    _show(table, _figure(plot_parallel_coordinates(report), 900))


def show_throughput(report: SweepReport) -> None:
    if report.finished.empty:
        _show("none (no finished run)")
        return
    _show(_figure(plot_throughput(report), 700))


def show_failures(report: SweepReport) -> None:
    table = failures(report)
    if table.empty:
        _show("none")
        return
    _show(_prose(styled(table), ["error"]))


def show_tables(paths: Sequence[Path]) -> None:
    _show("Written: " + ", ".join(f"`{p}`" for p in paths) if paths else "none (no runs)")


def show_search(report: SweepReport) -> None:
    """Searches and early termination: each sweep's search, its best metric so far against trials and epochs,
    the epochs and time termination saved, and (for studies) parameter importances and slices."""
    if report.runs.empty or not searched(report):
        _show("No sweep in this report searched or terminated runs early (no `study.journal` and no pruned run).")
        return
    _show("Best values are the metric at each run's best epoch, over complete runs only: pruned runs trained part of "
          "their epochs and are never counted. Sweeps without a study are read from their run records, in "
          "sweep.json's order.", search_overview(report),
          *[f"Note: {s.note}." for s in searches(report) if s.note])
    trials = trials_table(report)
    goals = {s.metric: s.goal for s in searches(report)}
    _show("#### Best so far")
    for metric, part in trials.groupby("metric", sort=False):
        _show(_figure(plot_best_so_far(part, goals[metric]), 1000))
    _show("#### Epochs and time early termination saved",
          "Epochs unpruned: a pruned run at its configured epochs, any other run at the epochs it ran. Time saved is "
          "an estimate: each pruned run's median epoch time times the epochs it did not run. Pruned runs appear "
          "in the curves under *All runs per model*, dashed and ending in an x.", termination_savings(report))
    studies = [s for s in searches(report) if s.study is not None]
    if not studies:
        _show("No sweep here has a `study.journal`, so there are no parameter importances or slices.")
        return
    _show("#### Parameter importances",
          f"{IMPORTANCE_EVALUATOR} over each study's complete trials: the share of the metric's variance each "
          f"sampled parameter explains. With a few dozen trials, read the order, not the decimals.")
    for search in studies:
        table, reason = param_importances(search)
        if reason:
            _show(f"Not computed for {reason}.")
            continue
        _show(_side_by_side(styled(table).to_html(), _figure_html(plot_importances(table, search.sweep), 450)))
    _show("#### Slices", "Each numeric sampled parameter against the metric: complete trials as dots, pruned trials "
                         "as x at the last value they reported (lower than they would have reached). Log x-axis for "
                         "parameters sampled on a log scale or spanning more than two decades.")
    for search in studies:
        points = slice_points(search)
        if points.empty:
            _show(f"{search.sweep}: no numeric sampled parameter.")
            continue
        panels = min(4, points["parameter"].nunique())
        _show(_figure(plot_slices(points, search.metric, search.sweep), 260 * panels + 60))
