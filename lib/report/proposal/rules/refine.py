"""The best value (the pooled model's, lib.report.diagnostics.best_value) sits inside a log-spaced numeric axis, not at
its edge (that is the edge rule's), between values at least REFINE_RATIO apart from it: the geometric midpoints
on either side of it are tried, so a chain closes in on an optimum it bracketed."""

from __future__ import annotations

import math
from functools import partial

from lib.config.runconfig import limit_problem
from lib.core.formatting import is_bool, is_missing, is_number
from lib.core.values import number_text
from lib.report.analysis import analysis_of, statistics_runs
from lib.report.proposal.draft import Draft
from lib.report.proposal.evidence import Evidence, spacing
from lib.report.proposal.rule import Change, Rule
from lib.report.diagnostics import best_value, edges

REFINE_RATIO = 3.0  # neighbours at least this ratio from the best get a midpoint (a decade twice, then stop)


def propose(evidence: Evidence) -> list[Change]:
    if evidence.base.get("search"):
        return []
    result = analysis_of(evidence.report)
    runs, _ = statistics_runs(evidence.report)
    if result.configs.empty:
        return []
    row = result.configs.iloc[0]
    at_edge = {found.param for found in edges(runs, result.configs, result.params, result.effects)}
    changes = []
    for axis in result.params:
        if axis in at_edge or axis not in runs or axis not in row.index or not is_number(row[axis]):
            continue
        if axis in evidence.fixed() and axis not in evidence.grid():
            continue
        given = [v for v in runs[axis] if not is_missing(v)]
        if any(is_bool(v) or not is_number(v) for v in given):
            continue
        tried = sorted({float(v) for v in given})
        if len(tried) < 3 or spacing(tried) != "log" or all(float(v).is_integer() for v in tried):
            continue
        chosen = best_value(result.configs, result.effects, axis)
        if not is_number(chosen):
            continue
        best = float(chosen)
        if best not in tried or best in (tried[0], tried[-1]):
            continue
        i = tried.index(best)
        mids = [float(f"{math.sqrt(best * other):.3g}") for other in (tried[i - 1], tried[i + 1])
                if max(best, other) / min(best, other) >= REFINE_RATIO]
        mids = [m for m in mids if not limit_problem(axis, m) and m not in tried]
        if not mids:
            continue
        kept = sorted({*mids, best})
        line = (f"{axis}: its best value is {number_text(best)} (the pooled model's estimate over the other "
                f"parameters), between {number_text(tried[i - 1])} and {number_text(tried[i + 1])} tried; refined with "
                f"{' and '.join(map(number_text, mids))} (geometric midpoints)")

        changes.append(RULE.change(line, partial(Draft.vary, axis=axis, choices=kept, comment=line), (axis,)))
    return changes


RULE = Rule("refine", value=68, settles=False, propose=propose, doc=__doc__)
