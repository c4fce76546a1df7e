"""A value of a categorical parameter that loses to another value of it, significantly after Holm's correction
and interacting with nothing significantly, leaves the grid (when another axis remains to compare; the
parameter is fixed when one value is left), unless the best configuration or one tied with it uses it.
Numbers are the edge rule's."""

from __future__ import annotations

import pandas as pd

from lib.core import values
from lib.core.formatting import is_number
from lib.report.analysis import analysis_of
from lib.report.proposal.draft import Draft
from lib.report.proposal.evidence import Evidence, points
from lib.report.proposal.rule import Change, Rule
from lib.report.design import ALPHA, tied_with_best


def propose(evidence: Evidence) -> list[Change]:
    effects = evidence.effects
    if "p_holm" not in effects or effects.empty:
        return []
    grid = evidence.grid()
    interactions = analysis_of(evidence.report).interactions
    configs = evidence.configs
    ties = configs[tied_with_best(configs)]
    changes = []
    for axis, tried in grid.items():
        if any(isinstance(v, dict) for v in tried) or len(tried) < 2 or len(grid) < 2:
            continue  # the only axis: dropping its values leaves nothing to compare
        tied = list(ties[axis]) if axis in ties else []  # a value the best or its ties use is not clearly worse
        mine = effects[effects["parameter"] == axis]
        if all(is_number(v) for v in tried):
            continue  # a number: its ends are the edge rule's, and its middle is where the best is
        rows = mine[mine["kind"] == "difference"]
        losers = []
        for _, r in rows.iterrows():
            if not (is_number(r["p_holm"]) and r["p_holm"] < ALPHA and is_number(r["effect"])):
                continue
            worse = r["value"] if r["effect"] < 0 else r["reference"]
            if _interacts(interactions, axis):
                continue  # its effect depends on another parameter: not a loser everywhere
            losers.append((worse, r))
        losers = [(w, r) for w, r in losers
                  if any(values.same(w, v) for v in tried) and not any(values.same(w, t) for t in tied)]
        if not losers or len({values.key(w) for w, _ in losers}) >= len(tried):
            continue
        for worse, r in losers:
            better = r["reference"] if values.same(worse, r["value"]) else r["value"]
            line = (f"{axis}: {values.sweep_text(worse)} lost to {values.sweep_text(better)} by "
                    f"{points(abs(r['effect']))} points (Holm-adjusted p {r['p_holm']:.2g}) and interacts with "
                    f"nothing significantly; dropped")

            def apply(draft: Draft, axis=axis, worse=worse, line=line) -> None:
                remaining = [v for v in (draft.grid or {}).get(axis, []) if not values.same(v, worse)]
                if len(remaining) == 1:
                    draft.fix(axis, remaining[0], line)
                elif remaining:
                    draft.set_grid(axis, remaining, line)

            changes.append(RULE.change(line, apply, (axis,)))
    return changes


def _interacts(interactions: pd.DataFrame, axis: str) -> bool:
    if interactions is None or interactions.empty or "p_holm" not in interactions:
        return False
    mine = interactions[(interactions["parameter_a"] == axis) | (interactions["parameter_b"] == axis)]
    return bool(((mine["p_holm"] < ALPHA) & mine["p_holm"].notna()).any())


RULE = Rule("worse_values", value=40, settles=True, propose=propose, doc=__doc__)
