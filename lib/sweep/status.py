"""The `status` command's text: a table of every run's state, and a line on a sweep's search."""

from __future__ import annotations

from typing import Any

from lib.core.formatting import duration, is_number, number
from lib.core.records import RunState
from lib.spec.sweepfile import Sweep
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
    made = len(study.latest()) if study else 0
    line = ""
    if sweep.search:
        line = (f"search: {sweep.search.method} over {', '.join(sweep.search.space)}, {sweep.search.trials} trials "
                f"({made} started so far); ")
    if sweep.early_terminate:
        line += f"early termination: {sweep.early_terminate.type}; "
    return line + f"metric: {sweep.metric.name} ({sweep.metric.goal})"
