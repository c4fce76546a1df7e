"""Which sections a report has: each section's anchor, title and the test of whether it applies, and the
report's title with the contents. A section that does not apply to the sweeps at hand (no search, one sweep, no
failure) shows nothing, not even its heading, and the contents list only the sections shown."""

from __future__ import annotations

from typing import Callable

from lib.report.analysis import analysis_of
from lib.report.links import local_paths, relative
from lib.report.load import SweepReport, plan_note
from lib.report.render import block, code, escape, literal, scripted, show
from lib.report.studies import searched, searches
from lib.report.tables import failures


def sampled(report: SweepReport) -> set[str]:
    """Parameters a search chose (from a range or a list): the grid sections leave them to the Search section."""
    if report.runs.empty:
        return set(report.sampled)
    chosen = {k for s in searches(report) for k in ((s.search or {}).get("space") or {})}
    chosen |= {k for s in searches(report) if s.study is not None and s.search
               for t in s.study.get_trials(deepcopy=False) for k in t.params}  # what the sampler drew
    return set(report.sampled) | chosen


def compared(report: SweepReport) -> list[str]:
    """The factors the grid sections compare: the statistics' factors that a search did not sample."""
    return [p for p in analysis_of(report).params if p not in sampled(report)] if not report.runs.empty else []


def _unfinished(report: SweepReport) -> bool:
    return not failures(report).empty


SECTIONS: list[tuple[str, str, Callable[[SweepReport], bool]]] = [
    ("search", "Search", lambda r: not r.runs.empty and searched(r)),  # a search leads with its trials
    ("findings", "Findings", lambda r: True),
    ("best", "Best configuration", lambda r: not r.ranked.empty),
    ("overview", "Overview", lambda r: True),
    ("leaderboard", "Leaderboard", lambda r: not r.runs.empty),
    ("configurations", "Configurations over seeds", lambda r: not r.ranked.empty and bool(compared(r))),
    ("effects", "Effects", lambda r: not r.ranked.empty and bool(compared(r))),
    ("interactions", "Two-way interactions", lambda r: not r.ranked.empty and len(compared(r)) >= 2),
    ("isolation", "Isolation plots", lambda r: not r.ranked.empty and bool(compared(r))),
    ("best-runs", "Best runs per model", lambda r: not r.ranked.empty),
    ("diagnostics", "Diagnostics", lambda r: not r.finished.empty),
    ("follow-ups", "Follow-ups", lambda r: len(r.sweeps) > 1 and not r.runs.empty),
    ("curves", "All runs per model", lambda r: bool(r.histories)),
    ("per-value", "Mean and best per parameter value", lambda r: not r.ranked.empty and bool(compared(r))),
    ("throughput", "Throughput", lambda r: not r.finished.empty),
    ("next", "What to run next", lambda r: not r.ranked.empty),
    ("failures", "Runs that did not finish", lambda r: not r.runs.empty and _unfinished(r)),
    ("tables", "Files beside the report", lambda r: not r.runs.empty),
]
_TITLES = {anchor: title for anchor, title, _ in SECTIONS}


def sections(report: SweepReport) -> list[tuple[str, str]]:
    """The (anchor, title) of each section this report shows, in order."""
    return [(anchor, title) for anchor, title, applies in SECTIONS if applies(report)]


def section(report: SweepReport, anchor: str) -> bool:
    """Show the section's heading and return True when the section applies; otherwise show nothing."""
    if (anchor, _TITLES[anchor]) not in sections(report):
        return False
    show(block(f'<h2 id="{anchor}">{escape(_TITLES[anchor])}</h2>'))
    return True


def no_runs(report: SweepReport) -> str:
    """What a section says when the sweeps have no run at all."""
    folders = ", ".join(code(relative(report, r)) for r in report.roots) or "no folder given"
    return f"No runs yet ({folders} holds no planned or recorded run)."


def show_title(report: SweepReport) -> None:
    """The report's title (the sweeps' names), what it rests on in one line, and the contents."""
    from itables import init_notebook_mode

    kind = ("a search" if sampled(report) else "a grid") if len(report.sweeps) == 1 else f"{len(report.sweeps)} sweeps"
    done = len(report.finished)
    show(block(f"<h1>{escape(report.name)}: sweep report</h1>"),
         f"{kind.capitalize()}: {done} of {len(report.runs)} runs finished. Built from the run records in "
         + ", ".join(code(f"{relative(report, r)}/") for r in report.roots) + "; every path below is relative to this "
         "report's folder.",
         *(f"**Note:** {literal(local_paths(report, note))}." for note in filter(None, map(plan_note, report.roots))),
         "**Contents**: " + " · ".join(f"[{title}](#{anchor})" for anchor, title in sections(report)))
    from IPython.display import display
    from IPython.utils.capture import capture_output

    with capture_output(stdout=False, stderr=False) as loaded:  # its outputs again, with their scripts' hashes
        init_notebook_mode(all_interactive=False, connected=False)
    for output in loaded.outputs:
        display(scripted(output.data["text/html"]) if "text/html" in output.data else output)
