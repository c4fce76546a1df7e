"""The Search section: searches and early termination, first in the report when a sweep searched (the numbers
are lib.report.studies's, the figures lib.report.figures's)."""

from __future__ import annotations

from lib.report.contents import sampled, section
from lib.report.figures import plot_best_so_far, plot_importances, plot_slices
from lib.report.links import local_paths, run_link
from lib.report.load import SweepReport
from lib.report.render import (LEADERBOARD_ROWS, box, figure, figure_html, interactive, literal, show, side_by_side,
                               styled)
from lib.report.studies import (IMPORTANCE_EVALUATOR, param_importances, search_overview, searches, slice_points,
                                termination_savings, trials_table)

TRIAL_KINDS = {"value": "number"}  # the trials table's value is the search's metric, not a parameter's value


def show_search(report: SweepReport) -> None:
    """Searches and early termination, first in the report when there are any: each sweep's trials in the order
    they started (their sampled values, state, metric and epochs) and the best so far; then how many trials
    completed, what termination saved, and (with enough complete trials) parameter importances and slices."""
    if not section(report, "search"):
        return
    trials = trials_table(report)
    goals = {s.metric: s.goal for s in searches(report)}
    searched_params = [p for p in dict.fromkeys([*(k for s in searches(report) for k in ((s.search or {}).get("space")
                                                                                         or {})),
                                                 *sorted(sampled(report))]) if p in report.runs]
    by_run = report.runs.set_index("run")
    shown = trials[["sweep", "trial", "run", "status"]].copy()
    for p in searched_params:
        shown[p] = [by_run.at[r, p] if r in by_run.index and p in by_run else None for r in trials["run"]]
    shown = shown.assign(metric=trials["metric"], value=trials["value"], epochs_run=trials["epochs_run"],
                         epochs=trials["epochs"], best_so_far=trials["best_so_far"],
                         run=[run_link(report, r) for r in trials["run"]])
    if len(report.sweeps) == 1:
        shown = shown.drop(columns="sweep")
    show("#### Trials", "Every trial in the order it started: its sampled values, how it ended, the metric at its "
          "best epoch (complete runs only: a pruned run trained part of its epochs), the epochs it trained and the "
          "best value so far. Sort or search the table.",
          styled(shown, kinds=TRIAL_KINDS) if len(shown) <= LEADERBOARD_ROWS else interactive(shown, kinds=TRIAL_KINDS))
    show("#### Best so far")
    for metric, part in trials.groupby("metric", sort=False):
        show(figure(plot_best_so_far(part, goals[metric]), 1000))
    show("#### How each sweep searched", search_overview(report).reset_index(),
          *[f"Note: {literal(local_paths(report, s.note))}." for s in searches(report) if s.note])
    for search in searches(report):
        part = trials[trials["sweep"] == search.sweep]
        complete = int(part["value"].notna().sum())
        if search.early_terminate and complete < MIN_COMPLETE:
            show(f"**{literal(search.sweep)} rests on too few runs**: early termination let {complete} of {len(part)} "
                  f"trials complete, and this report ranks, averages and compares only complete runs. Give the "
                  f"search more trials, or let more runs finish with a gentler termination (a larger min_epochs, a "
                  f"reduction_factor of 2).")
        elif search.early_terminate:
            show(f"{literal(search.sweep)}: {complete} of {len(part)} trials completed; the others were pruned or failed.")
    if (trials["status"] == "pruned").any():
        show("#### Epochs and time early termination saved",
              "Epochs unpruned: a pruned run at its configured epochs, any other run at the epochs it ran. Time saved "
              "is an estimate: each pruned run's median epoch time times the epochs it did not run.",
              termination_savings(report).reset_index())
    studies = [s for s in searches(report) if s.study is not None and s.search]
    if not studies:
        return
    show("#### Parameter importances",
          f"{IMPORTANCE_EVALUATOR} over each study's complete trials: the share of the metric's variance each sampled "
          f"parameter explains, shown once {MIN_IMPORTANCE_TRIALS} trials completed and to the precision that many "
          f"trials support.")
    for search in studies:
        table, reason = param_importances(search)
        complete = sum(t.state.name == "COMPLETE" for t in search.study.get_trials(deepcopy=False))
        if not reason and complete < MIN_IMPORTANCE_TRIALS:
            reason = (f"{search.sweep}: {complete} complete trials, fewer than the {MIN_IMPORTANCE_TRIALS} an "
                      f"importance needs to mean more than noise")
        if reason:
            show(f"Not shown for {literal(reason)}.")
            continue
        digits = 2 if complete >= 50 else 1
        table = table.assign(importance=table["importance"].round(digits))
        show(side_by_side(box(styled(table.reset_index()).format({"importance": f"{{:.{digits}f}}"}).to_html()),
                            figure_html(plot_importances(table, search.sweep), 450)))
    show("#### Slices", "Each numeric sampled parameter against the metric: complete trials as dots, pruned trials "
                         "as x at the last value they reported (lower than they would have reached).")
    for search in studies:
        points = slice_points(search)
        if points.empty:
            show(f"{literal(search.sweep)}: no numeric sampled parameter.")
            continue
        panels = min(4, points["parameter"].nunique())
        show(figure(plot_slices(points, search.metric, search.sweep), 260 * panels + 60))


MIN_COMPLETE = 3  # fewer complete trials than this: the report says it rests on too few runs
MIN_IMPORTANCE_TRIALS = 10  # importances from fewer complete trials are not shown
