"""The `status` command's text: every run's state in a table (a summary when there are many), a line on
a sweep's search, and which folder the records were read from. A summary fits a screen whatever the
sweep's size: the runs by state, the best runs, and the runs that are running or failed; `--all` gives
every row."""

from __future__ import annotations

from pathlib import Path

from lib.core.formatting import MISSING, duration, is_number, number
from lib.core.layout import SWEEP_JSON, runs_dir
from lib.core.paths import project_root
from lib.core.records import DAMAGED, RunState
from lib.core.values import sweep_text
from lib.config.sweepfile import Sweep
from lib.sweep.plan import sweep_root
from lib.sweep.study import SweepStudy


TABLE_ROWS = 25  # more runs than this: a summary instead of every row (unless asked for all)
SUMMARY_BEST = 10  # best runs in a summary
SUMMARY_NAMES = 5  # names listed per state before "and N more"


def format_table(states: list[RunState], sweep: Sweep | None = None, every: bool = False) -> str:
    """The status table: each run's state, the parameters that vary, its epochs, validation accuracy at
    the best epoch (the report's figure), test accuracy and time. Above TABLE_ROWS runs, unless `every`, a
    summary: the counts by state, the SUMMARY_BEST best runs as rows, then the runs running, failed and
    waiting by name (failed ones with their error)."""
    if not states:
        return "no runs yet"
    if every or len(states) <= TABLE_ROWS:
        return "\n".join(_rows(states, sweep) + _footer(states) + _damage(states))
    ranked = sorted((st for st in states if st.status in ("completed", "early_stopped") and is_number(st.val_acc)),
                    key=lambda st: -st.val_acc)
    lines = [f"{len(states)} runs: {_counts(states)}", ""]
    if ranked:
        lines += [f"the best {min(SUMMARY_BEST, len(ranked))} of {len(ranked)} ranked runs:",
                  *_rows(ranked[:SUMMARY_BEST], sweep), ""]
    for status in ("running", "failed", DAMAGED, "interrupted", "submitted", "pending"):
        named = [st for st in states if st.status == status]
        if not named:
            continue
        shown = ", ".join(st.name for st in named[:SUMMARY_NAMES])
        more = f" and {len(named) - SUMMARY_NAMES} more" if len(named) > SUMMARY_NAMES else ""
        lines.append(f"{status} ({len(named)}): {shown}{more}")
        if status == "failed":
            lines += [f"  {st.name}: {(st.error or 'no error recorded')[:150]}" for st in named[:3]]
        if status == DAMAGED:
            lines += _damage(named[:3])
    lines.append("* validation accuracy at each run's best epoch (lowest validation loss), as in the report; "
                 "--all prints every run")
    return "\n".join(lines)


def _counts(states: list[RunState]) -> str:
    counts: dict[str, int] = {}
    for st in states:
        counts[st.status] = counts.get(st.status, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in counts.items())


def _damage(states: list[RunState]) -> list[str]:
    """One line per damaged run: which record is damaged and how (the run is left out of the results)."""
    return [f"damaged: {st.name}: {st.error}" for st in states if st.status == DAMAGED]


def _footer(states: list[RunState]) -> list[str]:
    return [f"{len(states)} runs: {_counts(states)}",
            "* validation accuracy at each run's best epoch (lowest validation loss), as in the report"]


def _rows(states: list[RunState], sweep: Sweep | None) -> list[str]:
    params = [k for k in sweep.varying] if sweep else []
    rows = [("run", "status", *params, "epochs run", "val acc*", "test acc", "training time")]
    for st in states:
        values = sweep.run(st.name).params if sweep else {}
        cells = [sweep_text(values[k]) if k in values else MISSING for k in params]  # '-': the run does not set it
        rows.append((st.name, st.status, *cells, number(st.epochs), number(st.val_acc), number(st.test_acc),
                     _training_time(st)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    left = 2 + len(params)
    lines = ["  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _training_time(state: RunState) -> str:
    """A finished run's training time (metrics.json's wall_time_s, lib.train's clock, as the report and the
    `done` line give it); a failed run's record holds only the wall time of its attempt, so none."""
    return duration(state.seconds) if state.status != "failed" else duration(None)


def plan_line(todo: list[str], runs: int, left: int) -> str:
    """What a dry run would execute, its names cut to a few."""
    names = ", ".join(todo[:SUMMARY_NAMES]) + (f" and {len(todo) - SUMMARY_NAMES} more" if len(todo) > SUMMARY_NAMES
                                              else "")
    return (f"dry run: {runs} runs valid; would execute {len(todo)}" + (f": {names}" if todo else ": none")
            + (f", then up to {left} new trial(s)" if left else ""))


def search_line(sweep: Sweep, study: SweepStudy | None) -> str:
    made = len(study.search_runs()) if study else 0
    line = ""
    if sweep.search:
        line = (f"search: {sweep.search.method} over {', '.join(sweep.search.space)}, {sweep.search.trials} trials "
                f"({made} started so far); ")
    if sweep.early_terminate:
        line += f"early termination: {sweep.early_terminate.type}; "
    return line + f"metric: {sweep.metric.name} ({sweep.metric.goal}); study: {study.spec if study else 'none yet'}"


def has_records(root: Path) -> bool:
    """Whether a sweep folder holds anything of its sweep (sweep.json or run folders)."""
    return (root / SWEEP_JSON).is_file() or runs_dir(root).is_dir()


def records_line(sweep: Sweep, root: Path) -> str:
    """Which sweep folder a command read; when it holds no record of the sweep but the project's reports
    folder does (a command run from another directory reads ./reports), where to look instead."""
    line = f"records: {root.resolve()}"
    if has_records(root):
        return line
    project = project_root(sweep.path.resolve().parent) if sweep.path else None
    project = project or project_root(Path(__file__).resolve().parent)
    theirs = sweep_root(sweep, project / "reports") if project else None
    if theirs is not None and theirs.resolve() != root.resolve() and has_records(theirs):
        return (line + f" holds no record of sweep {sweep.name!r}, but the project's {theirs} does: run the "
                       f"command from {project}, or pass --reports-dir {project / 'reports'}")
    return line + " (no record of this sweep yet)"
