"""A grid parameter whose every effect CI lies within ± NO_EFFECT_BAND is fixed at its cheaper value (fewer
epochs, smaller inputs or batches) or RunConfig's default, and leaves the grid."""

from __future__ import annotations

from functools import partial
from typing import Any

from lib.config.runconfig import RunConfig
from lib.core import values
from lib.core.formatting import is_number
from lib.report.proposal.draft import Draft
from lib.report.proposal.evidence import NO_EFFECT_BAND, Evidence, points
from lib.report.proposal.rule import Change, Rule


def propose(evidence: Evidence) -> list[Change]:
    effects = evidence.effects
    grid = evidence.grid()
    changes = []
    for axis, tried in grid.items():
        if any(isinstance(v, dict) for v in tried) or "parameter" not in effects:
            continue
        rows = effects[(effects["parameter"] == axis) & (effects.get("kind", "difference") == "difference")] \
            if "kind" in effects else effects[effects["parameter"] == axis]
        if rows.empty or rows[["ci_low", "ci_high"]].isna().any().any():
            continue
        if not ((rows["ci_low"] >= -NO_EFFECT_BAND) & (rows["ci_high"] <= NO_EFFECT_BAND)).all():
            continue
        keep = _cheaper(axis, tried)
        widest = max(abs(rows["ci_low"]).max(), abs(rows["ci_high"]).max())
        line = (f"{axis}: every effect between its values lies within ±{points(NO_EFFECT_BAND)} points "
                f"(the widest CI reaches {points(widest)}); fixed at {values.sweep_text(keep)} and removed from "
                f"the grid")

        changes.append(RULE.change(line, partial(Draft.fix, key=axis, value=keep, comment=line), (axis,)))
    return changes


def _cheaper(parameter: str, tried: list[Any]) -> Any:
    """The value to fix a parameter at: the smaller of epochs and input sizes, else RunConfig's default when tried,
    else the first value."""
    if parameter in ("epochs", "input_size", "batch_size") and all(is_number(v) for v in tried):
        return min(tried)
    default = getattr(RunConfig(), parameter, None)
    return default if any(values.same(default, v) for v in tried) else tried[0]


RULE = Rule("no_effect", value=40, settles=True, propose=propose, doc=__doc__)
