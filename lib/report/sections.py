"""The report notebook's sections: each `show_*` displays one section, its heading first, formatted for people
(lib.report.tables, lib.report.studies and lib.report.proposal compute what they show).

A section that does not apply to the sweeps at hand (no search, one sweep, no failure) shows nothing, not
even its heading, and the contents at the top list only the sections shown. Tables have no index column,
wrap or scroll inside their box, and print values for people: yes/no, whole numbers, 0m27s, words. The
long tables (every run, every trial) are sortable and searchable in the page (itables, bundled offline).
"""

from __future__ import annotations

import html
import math
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

from lib.core.formatting import as_float, duration, is_bool, is_missing, is_number, number
from lib.core.layout import NOTEBOOK, NOTEBOOK_HTML, RUN_LOG, run_dir
from lib.core.pagescripts import SCRIPT_HASHES, script_hashes
from lib.core.paths import project_root
from lib.config.runconfig import RUNTIME_FIELDS
from lib.report import design, diagnostics
from lib.report.findings import no_edges_note
from lib.report.analysis import analysis_of
from lib.report.figures import (plot_best_so_far, plot_combined_curves, plot_followup, plot_importances, plot_isolation,
                                plot_parallel_coordinates, plot_run, plot_slices, plot_throughput)
from lib.report.load import METRIC_LABELS, SweepReport, plan_note, read_plan, value_text
from lib.report.studies import (IMPORTANCE_EVALUATOR, param_importances, search_overview, searched, searches,
                               slice_points, termination_savings, trials_table)
from lib.report.tables import (BEST_FILE, BEST_RERUN, FOLLOWUP_FIGURES, best_configuration, best_runs,
                               compare_followups, conditions, config_warnings, failures, followup_findings, leaderboard,
                               overview, parameter_effects, rerun_command, run_metrics, run_parameters)

LEADERBOARD_ROWS = 25  # runs in the leaderboard; every run is in the sortable table below it and in runs.csv
# Columns whose numbers are measurements (4 decimals); times print as 0m27s, p-values to 2 significant
# digits, other whole numbers as integers, and parameter values as written (5e-05 stays 5e-05).
_MEASURES = ("acc", "loss", "effect", "interaction", "ci_low", "ci_high", "_sd", "mean", "best value", "importance",
             "vs_best", "ci low", "ci high", "vs best", "lowest seed", "highest seed")
HEADERS = {"p_holm": "p (Holm)", "p_holm_vs_best": "p (Holm)", "tied_with_best": "tied with best", "vs_best": "vs best",
           "p_average": "p (average)", "p_every_seed": "p (every seed)", "seed_min": "lowest seed",
           "seed_max": "highest seed", "seed_share": "share from seed", "ci_low": "CI low", "ci_high": "CI high",
           "val_acc_mean": "val acc mean", "val_acc_sd": "val acc sd", "val_acc_ci_low": "val acc CI low",
           "val_acc_ci_high": "val acc CI high", "test_acc_mean": "test acc mean", "test_acc_sd": "test acc sd",
           "lenth_ci_low": "Lenth CI low", "lenth_ci_high": "Lenth CI high", "parameter_a": "parameter a",
           "parameter_b": "parameter b", "value_a": "value a", "value_b": "value b"}  # column names -> page headers
_TIMES = ("wall_time_s", "time (s)", "time saved (s)", "time", METRIC_LABELS["wall_time_s"],
          METRIC_LABELS["wall_time_s"].removesuffix(" (s)"))
_P_VALUES = ("p", "p_holm", "p_vs_best", "p_holm_vs_best", "p (holm)", "p (average)", "p (every seed)")
_RATES = ("images_per_s", "training images/s")


# ---------------------------------------------------------------------------------------------
# Where the report lives: paths and links relative to it


def set_output(report: SweepReport, folder: str | Path) -> None:
    """Tell the sections where the report is written, so its paths and links are relative to that folder."""
    report.derived.out = Path(folder).resolve()


def relative(report: SweepReport, path: str | Path) -> str:
    """`path` relative to the report's folder (the folder a reader opens report.html from)."""
    out = report.derived.out or Path(report.root).resolve()
    return os.path.relpath(Path(path).resolve(), out)


def _run_folder(report: SweepReport, key: str) -> Path | None:
    """The run folder of a run key ('run' or 'sweep/run')."""
    sweep = report.runs.loc[report.runs["run"] == key, "sweep"]
    if sweep.empty:
        return None
    root = report.roots[report.sweeps.index(sweep.iloc[0])]
    return run_dir(root, key.split("/")[-1])


def run_link(report: SweepReport, key: str) -> Markup:
    """A run's name linking to its executed notebook (its HTML page where there is one), and its log."""
    folder = _run_folder(report, key)
    name = html.escape(key)
    if folder is None:
        return Markup(name)
    notebook, log = folder / (NOTEBOOK_HTML if (folder / NOTEBOOK_HTML).is_file() else NOTEBOOK), folder / RUN_LOG
    link = f'<a href="{html.escape(relative(report, notebook))}">{name}</a>' if notebook.is_file() else name
    return Markup(link + (f' <a href="{html.escape(relative(report, log))}" style="font-size:85%">log</a>'
                          if log.is_file() else ""))


def local_paths(report: SweepReport, text: str) -> str:
    """`text` (a failure message, a note) with the building machine's folders written relative to the report's
    folder, and the home folder as ~, so a shared page names no path of the machine that built it."""
    out = report.derived.out or Path(report.root).resolve()
    folders = {str(Path(r).resolve()): relative(report, r) for r in [*report.roots, out]}
    root = project_root()
    if root is not None:
        folders.setdefault(str(root), relative(report, root))
    folders.setdefault(str(Path.home()), "~")
    for folder in sorted(folders, key=len, reverse=True):  # the deepest first: /home/me/p before /home/me
        if len(folder) > 1:
            text = text.replace(folder, folders[folder])
    return text


# ---------------------------------------------------------------------------------------------
# Values and tables for people


class Markup:
    """HTML this module built from escaped parts (a run's links): the one kind of table cell shown as is. Every
    other value in a table, a string included, is text."""

    def __init__(self, markup: str):
        self.markup = markup

    def __html__(self) -> str:
        return self.markup

    __str__ = __html__

    def __repr__(self) -> str:
        return f"Markup({self.markup!r})"


# Markdown's control characters (and MathJax's $); HTML's (& < >) are escaped for the whole sentence by _sentence
_MARKDOWN_CONTROL = re.compile(r"([\\`*_{}\[\]()#+\-!|~$^])")
_SCHEME_LINK = re.compile(r"\]\((?=\s*<?[A-Za-z][A-Za-z0-9+.-]*:)")  # [text](javascript:...), [text](https://...)


def literal(value: Any) -> str:
    """A string a user controls (a sweep's name or description, a value, an error, a note) as part of a sentence:
    it shows as written. Markdown's control characters are backslash-escaped and line breaks become spaces."""
    return _MARKDOWN_CONTROL.sub(r"\\\1", " ".join(str(value).split()))


_CODE_SPAN = re.compile(r"((?<!\\)`[^`]*`)")  # `...`, not a literal's \`: Markdown shows its content as text


def _sentence(text: str) -> str:
    """The one place a sentence (Markdown) is made safe to render: outside code spans, HTML's control characters
    are escaped, so no tag, attribute or entity in it takes effect (inside one, Markdown shows them as text
    itself), and a link with a URL scheme is disarmed (the report links only to its own anchors and files). The
    report's own emphasis, code spans and bullets still render."""
    parts = _CODE_SPAN.split(text)
    return "".join(part if i % 2 else _SCHEME_LINK.sub(r"]\\(", html.escape(part, quote=False))
                   for i, part in enumerate(parts))


def _cell(column: str, value: Any) -> str:
    """One table cell as text: yes/no, whole numbers, 4-decimal measurements, 0m27s, 2-digit p-values."""
    name = str(column).lower()
    if isinstance(value, Markup):
        return str(value)
    if is_missing(value):
        return "-"
    if is_bool(value):
        return value_text(value)
    if name == "flags":
        return ", ".join(f.replace("_", " ") for f in str(value).split(",") if f) or "-"
    if not is_number(value):
        return str(value)
    if name in _TIMES:
        return duration(float(value))
    if name in _RATES:
        return f"{float(value):,.0f}"
    if name in _P_VALUES:
        return number(value, ".2g")
    if any(word in name for word in _MEASURES) or "accuracy" in name or name == "se":
        return f"{float(value):.4f}"
    if float(value).is_integer():
        return str(int(value))
    return format(float(value), ".4g")


def _cell_html(column: str, value: Any) -> str:
    """A table cell as HTML: `Markup` as built, anything else as escaped text."""
    return str(value) if isinstance(value, Markup) else html.escape(_cell(column, value))


def styled(table: pd.DataFrame, index: bool = False):
    """A table for the report: every value as `_cell` prints it, escaped (only `Markup` cells are HTML), headers
    escaped, no index column unless asked, run names on one line, and a box that scrolls sideways when the table
    is wider than the page."""
    styler = table.style.format({c: (lambda v, c=c: _cell_html(c, v)) for c in table.columns})
    styler = styler.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    text = [c for c in table.columns if table[c].map(lambda v: isinstance(v, (str, Markup))).any()]
    if text:  # names and sentences read from the left; numbers stay right-aligned, digits under digits
        styler = styler.set_properties(subset=text, **{"text-align": "left"})
    styler = styler.set_table_styles([
        {"selector": "th", "props": [("text-align", "left"), ("white-space", "nowrap")]},
        {"selector": "td", "props": [("white-space", "nowrap")]},
        {"selector": "th, td", "props": [("padding", "2px 8px"), ("font-size", "12px")]},
    ]).set_table_attributes('style="table-layout: auto; width: auto"')
    labels = [str(c).removesuffix(" (s)") if str(c).lower() in _TIMES else c for c in table.columns]
    if labels != list(table.columns):  # these print as 0m27s: their unit is in the value
        styler = styler.relabel_index(labels, axis="columns")
    return styler if index else styler.hide(axis="index")


def _prose(styler, columns: Sequence[str] | None = None):
    """Columns of sentences: left-aligned and wrapped, not one long right-aligned line."""
    # !important: the table's own rule keeps other cells on one line, and it is the more specific selector
    return styler.set_properties(subset=columns, **{"white-space": "normal !important", "text-align": "left",
                                                    "min-width": "320px", "max-width": "760px"})


def _box(content: str) -> str:
    return f'<div style="overflow-x:auto;max-width:100%">{content}</div>'


def _html(content: str):
    from IPython.display import HTML

    return HTML(content)


def _scripted(content: str):
    """HTML holding scripts of the report's own (itables'), with their hashes in its metadata: report.html's
    Content-Security-Policy runs these and no other (lib.core.pagescripts)."""
    from IPython.display import HTML

    return HTML(content, metadata={SCRIPT_HASHES: script_hashes(content)})


def _show(*items) -> None:
    """Display sentences (Markdown, made safe by `_sentence`), tables (styled, in a scrolling box) and anything
    IPython can show."""
    from IPython.display import Markdown, display

    for item in items:
        if isinstance(item, pd.DataFrame):
            item = _html(_box(styled(item).to_html()))
        elif hasattr(item, "to_html") and hasattr(item, "hide"):  # a Styler
            item = _html(_box(item.to_html()))
        display(Markdown(_sentence(item)) if isinstance(item, str) else item)


def interactive(table: pd.DataFrame, caption: str = ""):
    """A table sorted and searched in the page (itables; its scripts are in the page, so it works offline). Its
    cells are HTML (for run links), so every other cell is escaped here."""
    from itables import to_html_datatable

    shown = table.copy().astype(object)
    for column in shown.columns:
        values = table[column]
        if values.map(is_bool).any():
            shown[column] = values.map(lambda v: value_text(v) if is_bool(v) else v)
        elif str(column).lower() == "flags":
            shown[column] = values.map(lambda v: _cell("flags", v))
        elif pd.api.types.is_float_dtype(values):
            whole = all(float(v).is_integer() for v in values.dropna())
            shown[column] = pd.Series([None if is_missing(v) else int(v) if whole else round(float(v), 4)
                                       for v in values], index=shown.index, dtype=object)
        # A missing value is an empty cell (DataTables still sorts the column as numbers), never None or NaN;
        # text is escaped (numbers stay numbers, so the column sorts as numbers).
        shown[column] = shown[column].map(lambda v: "" if is_missing(v) else str(v) if isinstance(v, Markup)
                                          else html.escape(v) if isinstance(v, str) else v).astype(object)
    shown.columns = [html.escape(str(c)) for c in shown.columns]
    return _scripted(to_html_datatable(shown, caption=html.escape(caption) if caption else None, allow_html=True,
                                   showIndex=False, maxBytes=2 ** 22, lengthMenu=[10, 25, 100, -1], pageLength=10,
                                   classes="display compact nowrap"))


def _figure_html(fig, width: int) -> str:
    import base64
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    png = buffer.getvalue()
    drawn = int.from_bytes(png[16:20], "big")  # the PNG's width (IHDR): never shown larger, never blurred
    return (f'<img style="width:{min(width, drawn)}px;max-width:100%" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode()}">')


def _figure(fig, width: int):
    """A figure as an image `width` pixels wide (narrower on a narrow page), ready to show; the figure is
    closed (so the notebook does not draw it a second time)."""
    return _side_by_side(_figure_html(fig, width))


def _side_by_side(*parts: str):
    cells = "".join(f"<div style='max-width:100%'>{part}</div>" for part in parts)
    return _html(f'<div style="display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap">{cells}</div>')


def _bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


# ---------------------------------------------------------------------------------------------
# Which sections a report has


def _sampled(report: SweepReport) -> set[str]:
    """Parameters a search chose (from a range or a list): the grid sections leave them to the Search section."""
    if report.runs.empty:
        return set(report.sampled)
    chosen = {k for s in searches(report) for k in ((s.search or {}).get("space") or {})}
    chosen |= {k for s in searches(report) if s.study is not None and s.search
               for t in s.study.get_trials(deepcopy=False) for k in t.params}  # what the sampler drew
    return set(report.sampled) | chosen


def _compared(report: SweepReport) -> list[str]:
    """The factors the grid sections compare: the statistics' factors that a search did not sample."""
    return [p for p in analysis_of(report).params if p not in _sampled(report)] if not report.runs.empty else []


def _unfinished(report: SweepReport) -> bool:
    return not failures(report).empty


SECTIONS: list[tuple[str, str, Callable[[SweepReport], bool]]] = [
    ("search", "Search", lambda r: not r.runs.empty and searched(r)),  # a search leads with its trials
    ("findings", "Findings", lambda r: True),
    ("best", "Best configuration", lambda r: not r.ranked.empty),
    ("overview", "Overview", lambda r: True),
    ("leaderboard", "Leaderboard", lambda r: not r.runs.empty),
    ("configurations", "Configurations over seeds", lambda r: not r.ranked.empty and bool(_compared(r))),
    ("effects", "Effects", lambda r: not r.ranked.empty and bool(_compared(r))),
    ("interactions", "Two-way interactions", lambda r: not r.ranked.empty and len(_compared(r)) >= 2),
    ("isolation", "Isolation plots", lambda r: not r.ranked.empty and bool(_compared(r))),
    ("best-runs", "Best runs per model", lambda r: not r.ranked.empty),
    ("diagnostics", "Diagnostics", lambda r: not r.finished.empty),
    ("follow-ups", "Follow-ups", lambda r: len(r.sweeps) > 1 and not r.runs.empty),
    ("curves", "All runs per model", lambda r: bool(r.histories)),
    ("per-value", "Mean and best per parameter value", lambda r: not r.ranked.empty and bool(_compared(r))),
    ("throughput", "Throughput", lambda r: not r.finished.empty),
    ("next", "What to run next", lambda r: not r.ranked.empty),
    ("failures", "Runs that did not finish", lambda r: not r.runs.empty and _unfinished(r)),
    ("tables", "Files beside the report", lambda r: not r.runs.empty),
]
_TITLES = {anchor: title for anchor, title, _ in SECTIONS}


def sections(report: SweepReport) -> list[tuple[str, str]]:
    """The (anchor, title) of each section this report shows, in order."""
    return [(anchor, title) for anchor, title, applies in SECTIONS if applies(report)]


def _section(report: SweepReport, anchor: str) -> bool:
    """Show the section's heading and return True when the section applies; otherwise show nothing."""
    if (anchor, _TITLES[anchor]) not in sections(report):
        return False
    _show(_html(f'<h2 id="{anchor}">{html.escape(_TITLES[anchor])}</h2>'))
    return True


def _no_runs(report: SweepReport) -> str:
    folders = ", ".join(f"`{relative(report, r)}`" for r in report.roots) or "no folder given"
    return f"No runs yet ({folders} holds no planned or recorded run)."


def show_title(report: SweepReport) -> None:
    """The report's title (the sweeps' names), what it rests on in one line, and the contents."""
    from itables import init_notebook_mode

    kind = ("a search" if _sampled(report) else "a grid") if len(report.sweeps) == 1 else f"{len(report.sweeps)} sweeps"
    done = len(report.finished)
    _show(_html(f"<h1>{html.escape(report.name)}: sweep report</h1>"),
          f"{kind.capitalize()}: {done} of {len(report.runs)} runs finished. Built from the run records in "
          + ", ".join(f"`{relative(report, r)}/`" for r in report.roots) + "; every path below is relative to this "
          "report's folder.",
          *(f"**Note:** {literal(local_paths(report, note))}." for note in filter(None, map(plan_note, report.roots))),
          "**Contents**: " + " · ".join(f"[{title}](#{anchor})" for anchor, title in sections(report)))
    from IPython.display import display
    from IPython.utils.capture import capture_output

    with capture_output(stdout=False, stderr=False) as loaded:  # its outputs again, with their scripts' hashes
        init_notebook_mode(all_interactive=False, connected=False)
    for output in loaded.outputs:
        display(_scripted(output.data["text/html"]) if "text/html" in output.data else output)


# ---------------------------------------------------------------------------------------------
# The sections, in the report's order


def show_findings(report: SweepReport) -> None:
    """The findings as bullets, each saying what it rests on, the edges of the search, then once how every range
    and call was made."""
    if not _section(report, "findings"):
        return
    if report.runs.empty:
        _show(_no_runs(report))
        return
    result = analysis_of(report)
    found = list(result.findings) + followup_findings(report)
    searches_only = _sampled(report) and not _compared(report)
    edges = "" if result.boundary or searches_only else "\n\n" + no_edges_note()
    _show(_bullets(map(literal, found)) + edges + (f"\n\n*{literal(result.method)}*" if result.method else ""))


def show_best(report: SweepReport) -> None:
    """The best configuration as a card: its parameters, its metrics with their spread over seeds, and the
    command that reruns it."""
    if not _section(report, "best"):
        return
    best = best_configuration(report)
    if best is None:
        _show("No configuration has a ranked run yet.")
        return

    def spread(key: str, digits: int = 4) -> str:
        mean, sd, n = best[key]
        if not math.isfinite(mean):
            return "-"
        text = f"{mean:.{digits}f}" if digits else f"{mean:.0f}"
        return text + (f" ± {sd:.{digits}f} (sd over {n} seeds)" if n >= 2 and math.isfinite(sd) else " (one run)")

    out = report.derived.out or Path(report.root).resolve()
    runs, seeds = len(best["runs"]), ", ".join(map(str, best["seeds"]))
    over = f"mean over seeds {seeds}" if runs > 1 else f"seed {seeds}" if seeds else "value"
    params = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(_cell(k, v))}</td></tr>"
                     for k, v in best["params"].items() if k not in RUNTIME_FIELDS and k != "seed")
    metrics = "".join(f"<tr><th style='text-align:left'>{label}</th><td>{value}</td></tr>" for label, value in (
        ("validation accuracy", spread("val_acc")), ("test accuracy", spread("test_acc")),
        ("best epoch", spread("best_epoch", 0)), ("epochs run", spread("epochs_run", 0))))
    seed = best["params"].get("seed")
    card = (f"<div style='border:1px solid #bbb;border-radius:6px;padding:10px 14px;max-width:980px'>"
            f"<div style='font-size:15px'><b>{html.escape(best['config'])}</b> — "
            f"{'its best of ' + str(runs) + ' runs' if runs > 1 else 'its run'}: "
            f"{run_link(report, best['run'])}</div>"
            f"<div style='display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start;margin-top:6px'>"
            f"<table style='font-size:12px'><thead><tr><th>parameter</th><th>value</th></tr></thead>{params}</table>"
            f"<table style='font-size:12px'><thead><tr><th>metric</th><th>{html.escape(over)}"
            f"</th></tr></thead>{metrics}</table>"
            f"</div><div style='margin-top:8px'>Rerun its best run (seed {html.escape(str(seed))}) with "
            f"<code>{BEST_FILE}</code> beside this report; the records go to <code>{BEST_RERUN}/</code> beside "
            f"it, wherever this folder is moved:</div>"
            f"<pre style='margin:4px 0'>{html.escape(rerun_command(out))}</pre></div>")
    _show(_html(card))


def show_search(report: SweepReport) -> None:
    """Searches and early termination, first in the report when there are any: each sweep's trials in the order
    they started (their sampled values, state, metric and epochs) and the best so far; then how many trials
    completed, what termination saved, and (with enough complete trials) parameter importances and slices."""
    if not _section(report, "search"):
        return
    trials = trials_table(report)
    goals = {s.metric: s.goal for s in searches(report)}
    searched_params = [p for p in dict.fromkeys([*(k for s in searches(report) for k in ((s.search or {}).get("space")
                                                                                         or {})),
                                                 *sorted(_sampled(report))]) if p in report.runs]
    by_run = report.runs.set_index("run")
    shown = trials[["sweep", "trial", "run", "status"]].copy()
    for p in searched_params:
        shown[p] = [by_run.at[r, p] if r in by_run.index and p in by_run else None for r in trials["run"]]
    shown = shown.assign(metric=trials["metric"], value=trials["value"], epochs_run=trials["epochs_run"],
                         epochs=trials["epochs"], best_so_far=trials["best_so_far"],
                         run=[run_link(report, r) for r in trials["run"]])
    if len(report.sweeps) == 1:
        shown = shown.drop(columns="sweep")
    _show("#### Trials", "Every trial in the order it started: its sampled values, how it ended, the metric at its "
          "best epoch (complete runs only: a pruned run trained part of its epochs), the epochs it trained and the "
          "best value so far. Sort or search the table.",
          shown if len(shown) <= LEADERBOARD_ROWS else interactive(shown))
    _show("#### Best so far")
    for metric, part in trials.groupby("metric", sort=False):
        _show(_figure(plot_best_so_far(part, goals[metric]), 1000))
    _show("#### How each sweep searched", search_overview(report).reset_index(),
          *[f"Note: {literal(local_paths(report, s.note))}." for s in searches(report) if s.note])
    for search in searches(report):
        part = trials[trials["sweep"] == search.sweep]
        complete = int(part["value"].notna().sum())
        if search.early_terminate and complete < MIN_COMPLETE:
            _show(f"**{literal(search.sweep)} rests on too few runs**: early termination let {complete} of {len(part)} "
                  f"trials complete, and this report ranks, averages and compares only complete runs. Give the "
                  f"search more trials, or let more runs finish with a gentler termination (a larger min_epochs, a "
                  f"reduction_factor of 2).")
        elif search.early_terminate:
            _show(f"{literal(search.sweep)}: {complete} of {len(part)} trials completed; the others were pruned or failed.")
    if (trials["status"] == "pruned").any():
        _show("#### Epochs and time early termination saved",
              "Epochs unpruned: a pruned run at its configured epochs, any other run at the epochs it ran. Time saved "
              "is an estimate: each pruned run's median epoch time times the epochs it did not run.",
              termination_savings(report).reset_index())
    studies = [s for s in searches(report) if s.study is not None and s.search]
    if not studies:
        return
    _show("#### Parameter importances",
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
            _show(f"Not shown for {literal(reason)}.")
            continue
        digits = 2 if complete >= 50 else 1
        table = table.assign(importance=table["importance"].round(digits))
        _show(_side_by_side(_box(styled(table.reset_index()).format({"importance": f"{{:.{digits}f}}"}).to_html()),
                            _figure_html(plot_importances(table, search.sweep), 450)))
    _show("#### Slices", "Each numeric sampled parameter against the metric: complete trials as dots, pruned trials "
                         "as x at the last value they reported (lower than they would have reached).")
    for search in studies:
        points = slice_points(search)
        if points.empty:
            _show(f"{literal(search.sweep)}: no numeric sampled parameter.")
            continue
        panels = min(4, points["parameter"].nunique())
        _show(_figure(plot_slices(points, search.metric, search.sweep), 260 * panels + 60))


MIN_COMPLETE = 3  # fewer complete trials than this: the report says it rests on too few runs
MIN_IMPORTANCE_TRIALS = 10  # importances from fewer complete trials are not shown


def show_overview(report: SweepReport) -> None:
    if not _section(report, "overview"):
        return
    if report.runs.empty:
        _show(_no_runs(report))
        return
    tables = overview(report)
    described = f" {literal(report.description)}" if report.description else ""
    _show(f"**Sweep{'s' * (len(report.sweeps) > 1)} {literal(report.name)}.**{described}", conditions(report))
    _show(_side_by_side(*[_box(styled(t.reset_index()).to_html()) for t in
                          (tables["status"], tables["varying"], tables["fixed"]) if not t.empty]))
    warnings = config_warnings(report)
    _show("**Warnings** of the run configs (settings that cannot take effect), with the runs each applies to:"
          + (" none." if warnings.empty else ""))
    if not warnings.empty:
        _show(_prose(styled(warnings), ["warning"]))


def show_leaderboard(report: SweepReport) -> None:
    if not _section(report, "leaderboard"):
        return
    table = leaderboard(report).rename(columns={v: k for k, v in METRIC_LABELS.items()}).reset_index()
    table = table.assign(run=[run_link(report, r) for r in table["run"]])
    # One screen wide: throughput has its own section, losses and times are in runs.csv.
    top = table.drop(columns=["images_per_s", "train_loss", "test_loss", "wall_time_s"])
    ranked = int(report.ranked.shape[0])
    which = f"The {LEADERBOARD_ROWS} best of {len(top)} runs" if len(top) > LEADERBOARD_ROWS else f"All {len(top)} runs"
    _show(f"{which}, by {METRIC_LABELS['val_acc']}: {ranked} ranked, then pruned and unfinished runs; ties go by test accuracy, then name. Test accuracy is shown, never used to rank. "
          f"Run names link to the executed notebook; `log` to its run.log.", top.head(LEADERBOARD_ROWS))
    if len(table) > LEADERBOARD_ROWS:
        every = table.drop(columns=[c for c in ("train_loss", "test_loss", "images_per_s", "wall_time_s") if c in table])
        _show(f"All {len(table)} runs, to sort and search (losses, times and throughput are in runs.csv):",
              interactive(every))


def show_configs(report: SweepReport) -> None:
    """Configurations over seeds: n, mean, sd and 95% CI of validation accuracy, and ties with the best."""
    if not _section(report, "configurations"):
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
    shown = shown.rename(columns=HEADERS)
    if len(shown) <= LEADERBOARD_ROWS:
        _show(note + ties, shown)
    else:
        _show(note + ties + f" All {len(shown)} configurations, best first (sort or search them; configs.csv holds "
                            f"the same):", interactive(shown))


def _estimates(table: pd.DataFrame):
    """A table of estimates for the page: methods are in the text above it, the Lenth columns only where used,
    `identical` only where some row is."""
    drop = ["ci_method"] + [c for c in ("lenth_ci_low", "lenth_ci_high") if c in table and table[c].isna().all()]
    if "identical" in table and not table["identical"].astype(bool).any():
        drop.append("identical")
    return styled(table.drop(columns=[c for c in drop if c in table]).rename(columns=HEADERS))


def _ci_note(table: pd.DataFrame) -> str:
    methods = list(dict.fromkeys(table["ci_method"]))
    return "CIs (95%): " + "; ".join(methods) + "." if methods else ""


def show_effects(report: SweepReport) -> None:
    if not _section(report, "effects"):
        return
    effects = analysis_of(report).effects
    effects = effects[effects["parameter"].isin(_compared(report))]
    left = sorted(_sampled(report) & set(analysis_of(report).params))
    _show("From one linear model over every run (see the findings): kind difference is `value` minus `reference` "
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
            _show(_figure(plot_ordered(part, parameter), 520))


ORDERED_CURVE = 4  # an ordered parameter with at least this many values is also drawn as a curve


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
    ax.annotate(f"best {x[best]:g}", (x[best], mean[best]), textcoords="offset points", xytext=(0, 8), ha="center",
                fontsize=8)
    ax.set_xlabel(parameter)
    ax.set_ylabel("validation accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def show_interactions(report: SweepReport) -> None:
    if not _section(report, "interactions"):
        return
    table = analysis_of(report).interactions
    compared = set(_compared(report))
    table = table[table["parameter_a"].isin(compared) & table["parameter_b"].isin(compared)]
    if table.empty:
        _show("None the runs can separate.")
        return
    _show("interaction: half the difference between a's effect (value_a vs its reference) at b's value_b and at b's "
          "reference, from the same model as the effects; where one side is \"trend\", how much that parameter's "
          "trend changes between the other's values. " + _ci_note(table), _estimates(table))


def show_isolation(report: SweepReport) -> None:
    if not _section(report, "isolation"):
        return
    table = analysis_of(report).isolation
    table = table[table["parameter"].isin(_compared(report))]
    if (table["n"] <= 1).all():
        _show("For each value, the best configuration with that value. One seed each, so there is no spread to "
              "draw: a table rather than single points.", table.drop(columns=["ci_low", "ci_high"]))
        return
    _show("For each value, the best configuration with that value (mean validation accuracy over its seeds, "
          "95% interval as error bars when n >= 2, as in the configurations table). A maximum over the other "
          "parameters flatters values tried in more configurations.")
    panels = min(4, table["parameter"].nunique())
    _show(_figure(plot_isolation(report), 380 * panels + 60))  # the figure at its own size: fonts as drawn


def show_best_runs(report: SweepReport, k: int = 2) -> None:
    """For each model, its k best runs: parameters, metrics and curves side by side."""
    if not _section(report, "best-runs"):
        return
    for model in report.models:
        names = best_runs(report, model, k)
        _show(f"### {literal(model)}: best {len(names)} of {int((report.runs['model'] == model).sum())} runs")
        for rank, name in enumerate(names, 1):
            curves = [_figure_html(plot_run(report, name, size=(7.5, 2.8)), 460)] if name in report.histories \
                else ["(no history)"]
            _show(_html(f"<h4>{html.escape(model)} #{rank}: {run_link(report, name)}</h4>"))
            _show(_side_by_side(styled(run_parameters(report, name).reset_index()).to_html(),
                                styled(run_metrics(report, name).reset_index()).to_html(), *curves))
        if not names:
            _show("No finished run of this model yet.")


def show_diagnostics(report: SweepReport) -> None:
    if not _section(report, "diagnostics"):
        return
    rules = pd.DataFrame({"flag": [f.replace("_", " ") for f in diagnostics.FLAG_RULES],
                          "rule": list(diagnostics.FLAG_RULES.values())})
    _show("Each finished run is checked against these rules:", _prose(styled(rules), ["rule"]))
    flags = analysis_of(report).flags
    flagged = report.runs.loc[flags != "", ["run", "sweep", "status", "best_epoch", "epochs_run", "val_acc"]]
    if flagged.empty:
        _show("Flagged runs: none.")
        return
    flagged = flagged.assign(flags=flags[flags != ""], run=[run_link(report, r) for r in flagged["run"]])
    if len(report.sweeps) == 1:
        flagged = flagged.drop(columns="sweep")
    counts = pd.Series([f for text in flagged["flags"] for f in text.split(",")]).value_counts()
    _show(f"Flagged runs: {len(flagged)} of {len(report.runs)} ("
          + ", ".join(f"{n} {f.replace('_', ' ')}" for f, n in counts.items()) + ").")
    _show(flagged.head(LEADERBOARD_ROWS) if len(flagged) <= LEADERBOARD_ROWS else interactive(flagged))


def show_followups(report: SweepReport) -> None:
    if not _section(report, "follow-ups"):
        return
    table = compare_followups(report)
    if table.empty:
        _show("No run of a later sweep.")
        return
    _show("Each run of a later sweep beside the run it follows up: the one its sweep file names (`from`, as "
          "`python -m lib.sweep next` writes it), else the earlier run it differs from least (fewest changed "
          "parameters; ties: higher validation accuracy).")
    table = table.assign(run=[run_link(report, r) for r in table["run"]],
                         earlier_run=[run_link(report, r) for r in table["earlier_run"]])
    _show(_prose(styled(table), ["changed"]) if len(table) <= LEADERBOARD_ROWS else interactive(table))
    pairs = [p for p in compare_followups(report).to_dict("records") if p["run"] in report.histories
             and p["earlier_run"] in report.histories and p["changed"] != "nothing"]
    shown = sorted(pairs, key=lambda p: -as_float(p.get("val_acc"), -math.inf))[:FOLLOWUP_FIGURES]
    if len(pairs) > len(shown):
        _show(f"Curves of the {len(shown)} follow-ups with the highest validation accuracy (of {len(pairs)}).")
    for pair in shown:
        _show(_figure(plot_followup(report, pair["run"], pair["earlier_run"]), 800))


def show_combined_curves(report: SweepReport) -> None:
    if not _section(report, "curves"):
        return
    for model in report.models:
        if any(n in report.histories for n in report.runs.loc[report.runs["model"] == model, "run"]):
            _show(_figure(plot_combined_curves(report, model), 1000))


def show_parameter_effects(report: SweepReport) -> None:
    if not _section(report, "per-value"):
        return
    table = parameter_effects(report)
    table = table[[p in _compared(report) for p in table.index.get_level_values("parameter")]] \
        if not table.empty else table
    if table.empty:
        _show("None.")
        return
    _show("Mean and best validation accuracy over the finished runs that share a value, whatever the other "
          "parameters; the effects above compare like with like instead.", table.reset_index())
    _show(_figure(plot_parallel_coordinates(report), 900))


def show_throughput(report: SweepReport) -> None:
    if not _section(report, "throughput"):
        return
    _show(_figure(plot_throughput(report), 700))


def show_next(report: SweepReport) -> None:
    """What to run next: the proposal of lib.report.proposal for the latest sweep, its lines with their evidence,
    and the command that writes it as a sweep file."""
    if not _section(report, "next"):
        return
    from lib.report.proposal import propose

    root = report.roots[-1]
    plan = read_plan(root)
    if plan_note(root):
        _show(f"Not proposed: {literal(root.name)}'s sweep.json cannot be used (see the note at the top); run the sweep again "
              f"(nothing finished reruns) to rewrite it.")
        return
    if not plan.get("spec"):
        _show(f"Not proposed: {literal(root.name)}'s sweep.json predates the record of its sweep file; run the sweep again "
              f"(nothing finished reruns) to record it.")
        return
    proposal = propose(report, plan["spec"], plan.get("name", root.name))
    files = " ".join(str(plan.get("path") or r.name) for r, plan in ((r, read_plan(r)) for r in report.roots) if plan)
    command = local_paths(report, f"python -m lib.sweep next {files}")
    if proposal.draft is None:
        _show(f"No rule fires: {literal(proposal.lines()[0].removeprefix('no rule fired: '))}.")
        return
    _show(f"Each line is one rule of `{command}`, which writes these changes as a sweep file "
          f"({proposal.draft.size()} runs), every choice with the line below beside it; `--budget RUNS` keeps the "
          f"most valuable changes that fit.", _bullets(f"**{literal(c.rule)}**: {literal(c.line)}" for c in proposal.changes))


def show_failures(report: SweepReport) -> None:
    if not _section(report, "failures"):
        return
    table = failures(report).reset_index()
    table = table.assign(run=[run_link(report, r) for r in table["run"]],
                         error=[local_paths(report, e) for e in table["error"]])
    _show(_prose(styled(table.head(LEADERBOARD_ROWS)), ["error"]))
    if len(table) > LEADERBOARD_ROWS:
        _show(f"All {len(table)}:", interactive(table))


def show_tables(report: SweepReport, paths: Sequence[Path]) -> None:
    if not _section(report, "tables"):
        return
    _show("Beside this report, for pandas and for rerunning the best configuration: "
          + ", ".join(f"[`{relative(report, p)}`]({relative(report, p)})" for p in paths) + ".")
