"""The best configuration sits at the smallest or largest value of a numeric grid axis (of two values, only when
the pooled model calls the difference): the axis is extended one step beyond it on its own spacing (log or
linear), keeping the best value and its neighbour. The edges are the findings' "Edges of the search"
(lib.report.diagnostics.edges), and never step onto a value its limits (lib.config.runconfig.LIMITS) forbid or call
unsafe: there the edge is the limit."""

from __future__ import annotations

from functools import partial

from lib.config.errors import ConfigError
from lib.config.runconfig import RunConfig, limit_problem
from lib.core.formatting import is_number
from lib.core.values import number_text
from lib.report.analysis import analysis_of, statistics_runs
from lib.report.proposal.draft import Draft
from lib.report.proposal.evidence import Evidence, spacing
from lib.report.proposal.rule import Change, Rule
from lib.report.diagnostics import edges

MAX_LOG_STEP = 10.0  # a log axis is extended by its own ratio, at most one decade


def propose(evidence: Evidence) -> list[Change]:
    if evidence.base.get("search"):
        return []
    result = analysis_of(evidence.report)
    runs, _ = statistics_runs(evidence.report)
    row = evidence.best_config()
    if row is None:
        return []
    changes = []
    for found in edges(runs, result.configs, result.params, result.effects):
        axis, best = found.param, found.value
        if found.param in evidence.fixed() and found.param not in evidence.grid():
            continue  # varied in an earlier sweep, settled in the latest: not reopened here
        whole = all(float(v).is_integer() for v in found.tried) and all(
            not isinstance(v, float) for v in runs[axis] if is_number(v))
        new, how = _step_beyond(list(found.tried), found.upward, whole)
        if limit_problem(axis, new):
            continue
        try:
            RunConfig.from_dict({**evidence.fixed(), axis: int(new) if whole else new})
        except ConfigError:
            continue  # the next value would be impossible with the other settings: the edge is the limit
        kept = sorted({found.neighbour, best, new})
        kept = [int(v) if whole else v for v in kept]
        neighbour = found.neighbour
        whose = ("its best value (the pooled model's, over the other parameters' values) is" if found.by_model else
                 f"the best configuration ({row['config']}, val acc {row['val_acc_mean']:.3f}) uses")
        line = (f"{axis}: {whose} the {'largest' if found.upward else 'smallest'} value tried ({number_text(best)}); "
                f"extended {how} to {number_text(new)}, keeping {number_text(best)} and its neighbour "
                f"{number_text(neighbour)}")

        changes.append(RULE.change(line, partial(Draft.vary, axis=axis, choices=kept, comment=line), (axis,)))
    return changes


def _step_beyond(tried: list[float], upward: bool, whole: bool) -> tuple[float, str]:
    ordered = sorted(tried)
    edge, neighbour = (ordered[-1], ordered[-2]) if upward else (ordered[0], ordered[1])
    if spacing(ordered) == "log":
        ratio = min(max(edge, neighbour) / min(edge, neighbour), MAX_LOG_STEP)
        new = edge * ratio if upward else edge / ratio
        how = f"one step on the same log scale (x{ratio:g})"
    else:
        step = abs(edge - neighbour)
        new = edge + step if upward else edge - step
        how = f"one step on the same linear scale ({'+' if upward else '-'}{step:g})"
    if whole:
        new = float(round(new)) if round(new) != edge else edge + (1 if upward else -1)
    else:
        new = float(f"{new:.4g}")
    return new, how


RULE = Rule("edge", value=70, settles=False, propose=propose, doc=__doc__)
