"""Configurations not distinguishable from the best (or, with one seed per configuration, the next ones, since
nothing can be told apart): the best and up to CONFIRM_MAX of them run again with CONFIRM_SEEDS more seeds; a
search confirms its best configurations itself."""

from __future__ import annotations

import pandas as pd

from lib.config.naming import part
from lib.core.formatting import is_missing, is_number
from lib.report.design import tied_with_best
from lib.report.proposal.draft import Draft
from lib.report.proposal.evidence import Evidence
from lib.report.proposal.rule import Change, Rule

CONFIRM_SEEDS = 2  # extra seeds per configuration
CONFIRM_MAX = 5  # at most this many configurations besides the best
TIE_SEEDS = 6  # configurations still tied with this many seeds each are tied for practical purposes


def propose(evidence: Evidence) -> list[Change]:
    configs = evidence.configs
    if len(configs) < 2 or "tied_with_best" not in configs:
        return []
    ties = [t for t in configs["tied_with_best"].iloc[1:]]
    tied = configs.iloc[1:][tied_with_best(configs)[1:]]
    if int(configs["n"].iloc[0]) >= TIE_SEEDS:  # more seeds would not tell them apart soon: leave them tied
        tied = tied[tied["n"] < TIE_SEEDS]
    untested = configs.iloc[1:][[is_missing(t) for t in ties]]
    best = configs["config"].iloc[0]
    if len(tied):
        chosen = tied.head(CONFIRM_MAX)
        names = ", ".join(chosen["config"]) + (f" and {len(tied) - len(chosen)} more" if len(tied) > len(chosen)
                                               else "")
        why = f"{names} {'is' if len(tied) == 1 else 'are'} not distinguishable from the best, {best}"
    elif len(untested) and int(configs["n"].iloc[0]) < 2:
        chosen = untested.head(min(2, CONFIRM_MAX))
        why = (f"with one seed per configuration nothing can be told apart from the best, {best}; the next "
               f"{len(chosen)} are {', '.join(chosen['config'])}")
    else:
        return []
    rows = pd.concat([configs.iloc[:1], chosen])
    used = sorted({int(s) for s in evidence.ranked["seed"] if is_number(s)}) or [0]
    seeds = [max(used) + 1 + i for i in range(CONFIRM_SEEDS)]
    others = len(chosen)
    who = "both" if others == 1 else (f"the best and the first {others} of them" if len(tied) > others
                                      else f"the best and these {others}")
    line = f"{why}; {who} run again with seeds {', '.join(map(str, seeds))}"

    def apply(draft: Draft) -> None:
        if evidence.base.get("search"):  # a search confirms its best configurations itself
            draft.confirm = {"top": len(rows), "seeds": seeds}
            draft.comments[("confirm",)] = line
            return
        for _, row in rows.iterrows():
            parent = evidence.runs_of(row).sort_values("val_acc", ascending=False).iloc[0]
            for seed in seeds:
                draft.follow_up(evidence, parent, {"seed": seed}, line, part("seed", seed))

    return [RULE.change(line, apply, ("seed",))]


RULE = Rule("too_close", value=60, settles=False, propose=propose, doc=__doc__)
