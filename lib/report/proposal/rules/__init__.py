"""The proposal rules, one `Rule` object per module here (lib.report.proposal.rule.Rule), and `RULES`: the one
list of them, most valuable first (a budget cuts from the end; rules of equal value keep this order). Adding a
rule is its module, its line here and its test."""

from __future__ import annotations

from lib.report.proposal.rules import (combine, edge, inert, narrow_search, no_effect, not_converged, pretrained_size,
                                       refine, stopped_before_annealed, too_close, worse_values)

__all__ = ["RULES"]

RULES = (
    pretrained_size.RULE,
    combine.RULE,
    not_converged.RULE,
    edge.RULE,
    refine.RULE,
    narrow_search.RULE,
    too_close.RULE,
    stopped_before_annealed.RULE,
    inert.RULE,
    no_effect.RULE,
    worse_values.RULE,
)
