"""A search (of at least TOP_MIN + 1 complete trials): its ranges narrowed to the region of its best complete
trials (widened a little, and past the old bound where the region touches it), its lists kept to the values
those trials used; it continues with the same number of trials again."""

from __future__ import annotations

import math

from lib.config.runconfig import limit_problem
from lib.core import values
from lib.core.formatting import is_number
from lib.report.proposal.draft import Draft
from lib.report.proposal.evidence import Evidence
from lib.report.proposal.rule import Change, Rule

TOP_SHARE = 0.25  # the best quarter of the complete trials (at least TOP_MIN) mark the region
TOP_MIN = 3
MARGIN = 0.25  # the region widened by this share of its own width on each side
LOG_KINDS = ("log_uniform", "q_log_uniform")
LINEAR_KINDS = ("uniform", "int_uniform", "q_uniform")


def propose(evidence: Evidence) -> list[Change]:
    space = (evidence.base.get("search") or {}).get("space")
    if not space:
        return []
    from lib.report.studies import searches

    found = [s for s in searches(evidence.report) if s.sweep == evidence.sweep and s.study is not None]
    if not found:
        return []
    search = found[0]
    complete = [t for t in search.study.get_trials(deepcopy=False) if t.state.name == "COMPLETE" and t.value is not None]
    if len(complete) < TOP_MIN + 1:
        return []
    complete.sort(key=lambda t: t.value, reverse=search.goal == "maximize")
    top = complete[:max(TOP_MIN, math.ceil(TOP_SHARE * len(complete)))]
    chosen = {name: [t.user_attrs.get("values", {}).get(name) for t in top] for name in space}
    new_space, notes = {}, []
    for name, spec in space.items():
        used = [v for v in chosen[name] if v is not None]
        if isinstance(spec, list):
            kept = [v for v in spec if any(values.same(v, u) for u in used)]
            new_space[name] = kept or spec
            if len(kept) < len(spec):
                notes.append(f"{name}: the best {len(top)} trials used {', '.join(map(values.sweep_text, kept))}")
            continue
        (kind, args), = spec.items()
        if kind not in LOG_KINDS + LINEAR_KINDS or not used or not all(is_number(u) for u in used):
            new_space[name] = spec
            continue
        low, high = _region([float(u) for u in used], float(args[0]), float(args[1]), kind in LOG_KINDS)
        if limit_problem(name, low):  # past the old bound onto an impossible or unsafe value: the bound holds
            low = float(args[0])
        if limit_problem(name, high):
            high = float(args[1])
        if kind == "int_uniform":
            low, high = int(math.floor(low)), int(math.ceil(high))
            if low == high:
                high = low + 1
        new_space[name] = {kind: [low, high, *args[2:]]}
        notes.append(f"{name}: the best {len(top)} of {len(complete)} complete trials used {min(used):.3g} to "
                     f"{max(used):.3g}; now {low:.3g} to {high:.3g} (was {values.sweep_text(args[0])} to "
                     f"{values.sweep_text(args[1])})")
    if not notes:
        return []
    trials = int(evidence.base["search"].get("trials", len(complete)))
    line = "; ".join(notes) + f"; the search continues with {trials} new trials"

    def apply(draft: Draft) -> None:
        draft.search = {**evidence.base["search"], "space": new_space, "trials": trials}
        draft.search.pop("startup_trials", None)
        draft.early_terminate = dict(evidence.base["early_terminate"]) if evidence.base.get("early_terminate") \
            else None
        draft.grid, draft.seeds, draft.rerun_grid = None, None, False
        draft.comments[("search", "space")] = line

    return [RULE.change(line, apply)]


def _region(used: list[float], low: float, high: float, log: bool) -> tuple[float, float]:
    """The span of `used`, widened by MARGIN of itself (of the old range when `used` is one point), kept inside
    [low, high] except where `used` reaches that bound (the search's best sat at its edge: go past it)."""
    f, inverse = (math.log, math.exp) if log else ((lambda x: x), (lambda x: x))
    lo, hi, a, b = f(min(used)), f(max(used)), f(low), f(high)
    margin = MARGIN * ((hi - lo) or (b - a))
    touch = 0.05 * (b - a)
    new_lo = lo - margin if lo - a <= touch else max(a, lo - margin)
    new_hi = hi + margin if b - hi <= touch else min(b, hi + margin)
    if log or new_lo > 0 or low <= 0:
        return float(f"{inverse(new_lo):.4g}"), float(f"{inverse(new_hi):.4g}")
    return float(f"{max(inverse(new_lo), 0.0):.4g}"), float(f"{inverse(new_hi):.4g}")


RULE = Rule("narrow_search", value=65, settles=False, propose=propose, doc=__doc__)
