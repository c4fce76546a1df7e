"""The report notebook's sections of results: each `show_*` displays one section, its heading first, formatted
for people (lib.report.tables, lib.report.analysis and lib.report.proposal compute what they show). Which
sections apply is lib.report.contents's, the Search section is lib.report.search_section's, and everything
reaches the page through lib.report.render.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import pandas as pd

from lib.core.formatting import as_float, is_missing
from lib.config.runconfig import RUNTIME_FIELDS
from lib.report import design, diagnostics
from lib.report.findings import no_edges_note
from lib.report.analysis import analysis_of
from lib.report.columns import MISSING, METRIC_LABELS, cell_text
from lib.report.contents import compared, no_runs, sampled, section
from lib.report.figures import (plot_combined_curves, plot_followup, plot_isolation, plot_ordered,
                                plot_parallel_coordinates, plot_run, plot_throughput)
from lib.report.links import local_paths, output_folder, relative, run_link
from lib.report.load import SweepReport, plan_note, read_plan
from lib.report.render import (LEADERBOARD_ROWS, block, box, bullets, code, escape, figure, figure_html, interactive,
                               literal, prose, show, side_by_side, styled)
from lib.report.tables import (BEST_FILE, BEST_RERUN, FOLLOWUP_FIGURES, best_configuration, best_runs,
                               compare_followups, conditions, config_warnings, failures, followup_findings, leaderboard,
                               overview, parameter_effects, rerun_command, run_metrics, run_parameters)

# ---------------------------------------------------------------------------------------------
# The sections, in the report's order


def show_findings(report: SweepReport) -> None:
    """The findings as bullets, each saying what it rests on, the edges of the search, then once how every range
    and call was made."""
    if not section(report, "findings"):
        return
    if report.runs.empty:
        show(no_runs(report))
        return
    result = analysis_of(report)
    found = list(result.findings) + followup_findings(report)
    searches_only = sampled(report) and not compared(report)
    edges = "" if result.boundary or searches_only else "\n\n" + no_edges_note()
    show(bullets(map(literal, found)) + edges + (f"\n\n*{literal(result.method)}*" if result.method else ""))


def show_best(report: SweepReport) -> None:
    """The best configuration as a card: its parameters, its metrics with their spread over seeds, and the
    command that reruns it."""
    if not section(report, "best"):
        return
    best = best_configuration(report)
    if best is None:
        show("No configuration has a ranked run yet.")
        return

    def spread(key: str, digits: int = 4) -> str:
        mean, sd, n = best[key]
        if not math.isfinite(mean):
            return MISSING
        text = f"{mean:.{digits}f}" if digits else f"{mean:.0f}"
        return text + (f" ± {sd:.{digits}f} (sd over {n} seeds)" if n >= 2 and math.isfinite(sd) else " (one run)")

    out = output_folder(report)
    runs, seeds = len(best["runs"]), ", ".join(map(str, best["seeds"]))
    over = f"mean over seeds {seeds}" if runs > 1 else f"seed {seeds}" if seeds else "value"
    params = "".join(f"<tr><th style='text-align:left'>{escape(k)}</th><td>{escape(cell_text(v))}</td></tr>"
                     for k, v in best["params"].items() if k not in RUNTIME_FIELDS and k != "seed")
    metrics = "".join(f"<tr><th style='text-align:left'>{label}</th><td>{value}</td></tr>" for label, value in (
        ("validation accuracy", spread("val_acc")), ("test accuracy", spread("test_acc")),
        ("best epoch", spread("best_epoch", 0)), ("epochs run", spread("epochs_run", 0))))
    seed = best["params"].get("seed")
    card = (f"<div style='border:1px solid #bbb;border-radius:6px;padding:10px 14px;max-width:980px'>"
            f"<div style='font-size:15px'><b>{escape(best['config'])}</b> — "
            f"{'its best of ' + str(runs) + ' runs' if runs > 1 else 'its run'}: "
            f"{run_link(report, best['run'])}</div>"
            f"<div style='display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start;margin-top:6px'>"
            f"<table style='font-size:12px'><thead><tr><th>parameter</th><th>value</th></tr></thead>{params}</table>"
            f"<table style='font-size:12px'><thead><tr><th>metric</th><th>{escape(over)}"
            f"</th></tr></thead>{metrics}</table>"
            f"</div><div style='margin-top:8px'>Rerun its best run (seed {escape(str(seed))}) with "
            f"<code>{BEST_FILE}</code> beside this report; the records go to <code>{BEST_RERUN}/</code> beside "
            f"it, wherever this folder is moved:</div>"
            f"<pre style='margin:4px 0'>{escape(rerun_command(out))}</pre></div>")
    show(block(card))


def show_overview(report: SweepReport) -> None:
    if not section(report, "overview"):
        return
    if report.runs.empty:
        show(no_runs(report))
        return
    tables = overview(report)
    described = f" {literal(report.description)}" if report.description else ""
    show(f"**Sweep{'s' * (len(report.sweeps) > 1)} {literal(report.name)}.**{described}", conditions(report))
    show(side_by_side(*[box(styled(t.reset_index()).to_html()) for t in
                          (tables["status"], tables["varying"], tables["fixed"]) if not t.empty]))
    warnings = config_warnings(report)
    show("**Warnings** of the run configs (settings that cannot take effect), with the runs each applies to:"
          + (" none." if warnings.empty else ""))
    if not warnings.empty:
        show(prose(styled(warnings), ["warning"]))


def show_leaderboard(report: SweepReport) -> None:
    if not section(report, "leaderboard"):
        return
    table = leaderboard(report).rename(columns={v: k for k, v in METRIC_LABELS.items()}).reset_index()
    table = table.assign(run=[run_link(report, r) for r in table["run"]])
    # One screen wide: throughput has its own section, losses and times are in runs.csv.
    top = table.drop(columns=["images_per_s", "train_loss", "test_loss", "wall_time_s"])
    ranked = int(report.ranked.shape[0])
    which = f"The {LEADERBOARD_ROWS} best of {len(top)} runs" if len(top) > LEADERBOARD_ROWS else f"All {len(top)} runs"
    show(f"{which}, by {METRIC_LABELS['val_acc']}: {ranked} ranked, then pruned and unfinished runs; ties go by test accuracy, then name. Test accuracy is shown, never used to rank. "
          f"Run names link to the executed notebook; `log` to its run.log.", top.head(LEADERBOARD_ROWS))
    if len(table) > LEADERBOARD_ROWS:
        every = table.drop(columns=[c for c in ("train_loss", "test_loss", "images_per_s", "wall_time_s") if c in table])
        show(f"All {len(table)} runs, to sort and search (losses, times and throughput are in runs.csv):",
              interactive(every))


def show_configs(report: SweepReport) -> None:
    """Configurations over seeds: n, mean, sd and 95% CI of validation accuracy, and ties with the best."""
    if not section(report, "configurations"):
        return
    result = analysis_of(report)
    configs = result.configs
    seeds = set(configs["n"])
    method = result.pooled.config_method if result.pooled is not None else ""
    ties = (f"vs best: difference from the best; tied with best: not distinguishable from the best after Holm's "
            f"correction over the comparisons (p (Holm) >= {design.ALPHA:g}), against {method}; raw p-values are "
            f"in configs.csv. Order: {design.RANKING}." if method else f"Order: {design.RANKING}.")
    shown = configs.drop(columns=[c for c in ("p_vs_best",) if c in configs])
    if seeds == {1}:
        shown = shown.drop(columns=["val_acc_sd", "val_acc_ci_low", "val_acc_ci_high", "test_acc_sd"])
        note = "One seed per configuration (n = 1): no spread or CI per configuration, so those columns are left out. "
    else:
        shown = shown.astype({"tied_with_best": object})
        shown["tied_with_best"] = ["untested" if is_missing(t) else t for t in shown["tied_with_best"]]
        note = (f"n = seeds per configuration ({', '.join(map(str, sorted(seeds)))}); CI: 95% interval of the "
                f"mean over its seeds, on the logit scale so it stays inside 0 and 1, and never narrower than the "
                f"sampling error of the validation images. ")
    if len(shown) <= LEADERBOARD_ROWS:
        show(note + ties, shown)
    else:
        show(note + ties + f" All {len(shown)} configurations, best first (sort or search them; configs.csv holds "
                            f"the same):", interactive(shown))


def _estimates(table: pd.DataFrame):
    """A table of estimates for the page: methods are in the text above it, the Lenth columns only where used,
    `identical` only where some row is."""
    drop = ["ci_method"] + [c for c in ("lenth_ci_low", "lenth_ci_high") if c in table and table[c].isna().all()]
    if "identical" in table and not table["identical"].astype(bool).any():
        drop.append("identical")
    return styled(table.drop(columns=[c for c in drop if c in table]))


def _ci_note(table: pd.DataFrame) -> str:
    methods = list(dict.fromkeys(table["ci_method"]))
    return "CIs (95%): " + "; ".join(methods) + "." if methods else ""


def show_effects(report: SweepReport) -> None:
    if not section(report, "effects"):
        return
    effects = analysis_of(report).effects
    effects = effects[effects["parameter"].isin(compared(report))]
    left = sorted(sampled(report) & set(analysis_of(report).params))
    show("From one linear model over every run (see the findings): kind difference is `value` minus `reference` "
          "in validation accuracy (fraction), averaged over the other parameters; for ordered parameters (numbers "
          "with three or more values), kind mean is the accuracy at `value` and kind trend the change per step of "
          "the trend axis. p (Holm): Holm-adjusted over every effect and interaction, of the smaller of p (average) "
          "and p (every seed) doubled (every seed: the largest per-seed p when all seeds point one way); a finding "
          f"calls a difference only when p (Holm) < {design.ALPHA:g}. lowest and highest seed: the effect at single seeds. "
          "n: configuration x seed results at value or reference. "
          + _ci_note(effects) + (f" Left out: {', '.join(left)}, sampled by a search (see Search)." if left else ""),
          _estimates(effects) if len(effects) <= LEADERBOARD_ROWS else
          interactive(effects.drop(columns=[c for c in ("ci_method",) if c in effects])))
    ordered = effects[effects["kind"] == "mean"]
    for parameter, part in ordered.groupby("parameter", sort=False):
        if len(part) >= ORDERED_CURVE:
            show(figure(plot_ordered(part, parameter), 520))


ORDERED_CURVE = 4  # an ordered parameter with at least this many values is also drawn as a curve


def show_interactions(report: SweepReport) -> None:
    if not section(report, "interactions"):
        return
    table = analysis_of(report).interactions
    kept = set(compared(report))
    table = table[table["parameter_a"].isin(kept) & table["parameter_b"].isin(kept)]
    if table.empty:
        show("None the runs can separate.")
        return
    show("interaction: half the difference between a's effect (value_a vs its reference) at b's value_b and at b's "
          "reference, from the same model as the effects; where one side is \"trend\", how much that parameter's "
          "trend changes between the other's values. " + _ci_note(table), _estimates(table))


def show_isolation(report: SweepReport) -> None:
    if not section(report, "isolation"):
        return
    table = analysis_of(report).isolation
    table = table[table["parameter"].isin(compared(report))]
    if (table["n"] <= 1).all():
        show("For each value, the best configuration with that value. One seed each, so there is no spread to "
              "draw: a table rather than single points.", table.drop(columns=["ci_low", "ci_high"]))
        return
    show("For each value, the best configuration with that value (mean validation accuracy over its seeds, "
          "95% interval as error bars when n >= 2, as in the configurations table). A maximum over the other "
          "parameters flatters values tried in more configurations.")
    panels = min(4, table["parameter"].nunique())
    show(figure(plot_isolation(report), 380 * panels + 60))  # the figure at its own size: fonts as drawn


def show_best_runs(report: SweepReport, k: int = 2) -> None:
    """For each model, its k best runs: parameters, metrics and curves side by side."""
    if not section(report, "best-runs"):
        return
    for model in report.models:
        names = best_runs(report, model, k)
        show(f"### {literal(model)}: best {len(names)} of {int((report.runs['model'] == model).sum())} runs")
        for rank, name in enumerate(names, 1):
            curves = [figure_html(plot_run(report, name, size=(7.5, 2.8)), 460)] if name in report.histories \
                else ["(no history)"]
            show(block(f"<h4>{escape(model)} #{rank}: {run_link(report, name)}</h4>"))
            show(side_by_side(styled(run_parameters(report, name).reset_index()).to_html(),
                                styled(run_metrics(report, name).reset_index()).to_html(), *curves))
        if not names:
            show("No finished run of this model yet.")


def show_diagnostics(report: SweepReport) -> None:
    if not section(report, "diagnostics"):
        return
    rules = pd.DataFrame({"flag": [f.replace("_", " ") for f in diagnostics.FLAG_RULES],
                          "rule": list(diagnostics.FLAG_RULES.values())})
    show("Each finished run is checked against these rules:", prose(styled(rules), ["rule"]))
    flags = analysis_of(report).flags
    flagged = report.runs.loc[flags != "", ["run", "sweep", "status", "best_epoch", "epochs_run", "val_acc"]]
    if flagged.empty:
        show("Flagged runs: none.")
        return
    flagged = flagged.assign(flags=flags[flags != ""], run=[run_link(report, r) for r in flagged["run"]])
    if len(report.sweeps) == 1:
        flagged = flagged.drop(columns="sweep")
    counts = pd.Series([f for text in flagged["flags"] for f in text.split(",")]).value_counts()
    show(f"Flagged runs: {len(flagged)} of {len(report.runs)} ("
          + ", ".join(f"{n} {f.replace('_', ' ')}" for f, n in counts.items()) + ").")
    show(flagged.head(LEADERBOARD_ROWS) if len(flagged) <= LEADERBOARD_ROWS else interactive(flagged))


def show_followups(report: SweepReport) -> None:
    if not section(report, "follow-ups"):
        return
    table = compare_followups(report)
    if table.empty:
        show("No run of a later sweep.")
        return
    show("Each run of a later sweep beside the run it follows up: the one its sweep file names (`from`, as "
          "`python -m lib.sweep next` writes it), else the earlier run it differs from least (fewest changed "
          "parameters; ties: higher validation accuracy).")
    table = table.assign(run=[run_link(report, r) for r in table["run"]],
                         earlier_run=[run_link(report, r) for r in table["earlier_run"]])
    show(prose(styled(table), ["changed"]) if len(table) <= LEADERBOARD_ROWS else interactive(table))
    pairs = [p for p in compare_followups(report).to_dict("records") if p["run"] in report.histories
             and p["earlier_run"] in report.histories and p["changed"] != "nothing"]
    shown = sorted(pairs, key=lambda p: -as_float(p.get("val_acc"), -math.inf))[:FOLLOWUP_FIGURES]
    if len(pairs) > len(shown):
        show(f"Curves of the {len(shown)} follow-ups with the highest validation accuracy (of {len(pairs)}).")
    for pair in shown:
        show(figure(plot_followup(report, pair["run"], pair["earlier_run"]), 800))


def show_combined_curves(report: SweepReport) -> None:
    if not section(report, "curves"):
        return
    for model in report.models:
        if any(n in report.histories for n in report.runs.loc[report.runs["model"] == model, "run"]):
            show(figure(plot_combined_curves(report, model), 1000))


def show_parameter_effects(report: SweepReport) -> None:
    if not section(report, "per-value"):
        return
    table = parameter_effects(report)
    table = table[[p in compared(report) for p in table.index.get_level_values("parameter")]] \
        if not table.empty else table
    if table.empty:
        show("None.")
        return
    show("Mean and best validation accuracy over the finished runs that share a value, whatever the other "
          "parameters; the effects above compare like with like instead.", table.reset_index())
    show(figure(plot_parallel_coordinates(report), 900))


def show_throughput(report: SweepReport) -> None:
    if not section(report, "throughput"):
        return
    show(figure(plot_throughput(report), 700))


def show_next(report: SweepReport) -> None:
    """What to run next: the proposal of lib.report.proposal for the latest sweep, its lines with their evidence,
    and the command that writes it as a sweep file."""
    if not section(report, "next"):
        return
    from lib.report.proposal import propose

    root = report.roots[-1]
    plan = read_plan(root)
    if plan_note(root):
        show(f"Not proposed: {literal(root.name)}'s sweep.json cannot be used (see the note at the top); run the sweep again "
              f"(nothing finished reruns) to rewrite it.")
        return
    if not plan.get("spec"):
        show(f"Not proposed: {literal(root.name)}'s sweep.json predates the record of its sweep file; run the sweep again "
              f"(nothing finished reruns) to record it.")
        return
    proposal = propose(report, plan["spec"], plan.get("name", root.name))
    files = " ".join(str(plan.get("path") or r.name) for r, plan in ((r, read_plan(r)) for r in report.roots) if plan)
    command = local_paths(report, f"python -m lib.sweep next {files}")
    if proposal.draft is None:
        show(f"No rule fires: {literal(proposal.lines()[0].removeprefix('no rule fired: '))}.")
        return
    show(f"Each line is one rule of {code(command)}, which writes these changes as a sweep file "
          f"({proposal.draft.size()} runs), every choice with the line below beside it; `--budget RUNS` keeps the "
          f"most valuable changes that fit.", bullets(f"**{literal(c.rule)}**: {literal(c.line)}" for c in proposal.changes))


def show_failures(report: SweepReport) -> None:
    if not section(report, "failures"):
        return
    table = failures(report).reset_index()
    table = table.assign(run=[run_link(report, r) for r in table["run"]],
                         error=[local_paths(report, e) for e in table["error"]])
    show(prose(styled(table.head(LEADERBOARD_ROWS)), ["error"]))
    if len(table) > LEADERBOARD_ROWS:
        show(f"All {len(table)}:", interactive(table))


def show_tables(report: SweepReport, paths: Sequence[Path]) -> None:
    if not section(report, "tables"):
        return
    show("Beside this report, for pandas and for rerunning the best configuration: "
          + ", ".join(f"[{code(relative(report, p))}]({relative(report, p)})" for p in paths) + ".")
