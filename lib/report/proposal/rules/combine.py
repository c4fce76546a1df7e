"""The pooled model's best value of each numeric parameter (lib.report.diagnostics.best_value) has not run together
(an lr explored at few epochs, epochs at another lr), and the model calls the difference and puts it more than
NO_EFFECT_BAND above the best configuration's values: a run of the best configuration with those values."""

from __future__ import annotations

from typing import Any

import pandas as pd

from lib.config.naming import part
from lib.config.runconfig import limit_problem
from lib.core import values
from lib.core.formatting import is_number, native
from lib.report.analysis import analysis_of
from lib.report.proposal.draft import Draft
from lib.report.proposal.evidence import NO_EFFECT_BAND, Evidence, points
from lib.report.proposal.rule import Change, Rule
from lib.report.design import ALPHA
from lib.report.diagnostics import level_scores


def propose(evidence: Evidence) -> list[Change]:
    if evidence.base.get("search"):
        return []
    result = analysis_of(evidence.report)
    configs = result.configs
    if configs.empty:
        return []
    row = configs.iloc[0]
    moves, notes = {}, []
    for axis in result.params:
        if axis == "seed" or axis not in row.index or not is_number(row[axis]) or axis in evidence.report.linked:
            continue
        scores = level_scores(result.effects, axis)
        mine = next((score for value, score in scores.items() if values.same(value, row[axis])), None)
        if mine is None:
            continue
        top = max(scores, key=lambda v: scores[v])
        if not is_number(top) or values.same(top, row[axis]) or scores[top] - mine <= NO_EFFECT_BAND:
            continue
        if not _called(result.effects, axis, top, row[axis]):
            continue  # the model's preference is within its noise
        if limit_problem(axis, top):
            continue
        moves[axis] = native(top) if not float(top).is_integer() or isinstance(row[axis], float) else int(top)
        notes.append(f"{axis} {values.sweep_text(row[axis])} -> {values.sweep_text(top)} "
                     f"(+{points(scores[top] - mine)} points in the model)")
    if not moves:
        return []
    target = {p: moves.get(p, row[p]) for p in result.params if p in row.index}
    if any(all(values.same(r[p], v) for p, v in target.items()) for _, r in configs.iterrows()):
        return []
    parent = evidence.runs_of(row).sort_values("val_acc", ascending=False).iloc[0]
    line = (f"the pooled model's best values have not run together: the best configuration ({row['config']}, val "
            f"acc {row['val_acc_mean']:.3f}) runs again with {', '.join(notes)}")
    suffix = "-".join(part(k, v) for k, v in moves.items())

    def apply(draft: Draft) -> None:
        draft.follow_up(evidence, parent, dict(moves), line, suffix)

    return [RULE.change(line, apply, tuple(moves))]


def _called(effects: pd.DataFrame, axis: str, a: Any, b: Any) -> bool:
    """Whether the pooled model calls a difference between values a and b of `axis` (Holm p < ALPHA): their own
    row, or for an ordered parameter, its trend."""
    mine = effects[(effects["parameter"] == axis) & effects["p_holm"].notna()] if "p_holm" in effects else effects[:0]
    for _, r in mine.iterrows():
        if r["kind"] == "difference" and {values.key(r["value"]), values.key(r["reference"])} == \
                {values.key(a), values.key(b)}:
            return bool(r["p_holm"] < ALPHA)
    trend = mine[mine["kind"] == "trend"]
    return bool(len(trend) and (trend["p_holm"] < ALPHA).any())


RULE = Rule("combine", value=85, settles=False, propose=propose, doc=__doc__)
