"""The `status` command's text: a table of every run's state, a line on a sweep's search, and which
folder the records were read from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lib.core.formatting import duration, is_number, number
from lib.core.layout import SWEEP_JSON, runs_dir
from lib.core.paths import project_root
from lib.core.records import RunState
from lib.spec.sweepfile import Sweep
from lib.sweep.plan import sweep_root
from lib.sweep.study import SweepStudy


def format_table(states: list[RunState], sweep: Sweep | None = None) -> str:
    """The status table: each run's state, the parameters that vary, its epochs, validation accuracy at
    the best epoch (the report's figure), test accuracy and time."""
    if not states:
        return "no runs yet"
    params = [k for k in sweep.varying] if sweep else []
    rows = [("run", "status", *params, "epochs run", "val acc*", "test acc", "time")]
    for st in states:
        values = sweep.run(st.name).params if sweep else {}
        rows.append((st.name, st.status, *[_param_text(values.get(k)) for k in params], number(st.epochs),
                     number(st.val_acc), number(st.test_acc), duration(st.seconds)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    left = 2 + len(params)
    lines = ["  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    counts: dict[str, int] = {}
    for st in states:
        counts[st.status] = counts.get(st.status, 0) + 1
    lines.append(f"{len(states)} runs: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    lines.append("* validation accuracy at each run's best epoch (lowest validation loss), as in the report")
    return "\n".join(lines)


def _param_text(value: Any) -> str:
    return "-" if value is None else number(value, "g") if is_number(value) else str(value)


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
