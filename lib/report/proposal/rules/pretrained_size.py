"""An ImageNet-pretrained model trained on inputs much smaller than 224 px (SMALL_INPUT or less) gets a run of
its best configuration at `input_size: 224`."""

from __future__ import annotations

import math

from lib.config.naming import part
from lib.core.formatting import as_float
from lib.report.proposal.draft import Draft
from lib.report.proposal.evidence import Evidence, points
from lib.report.proposal.rule import Change, Rule

PRETRAINED_SIZE = 224  # the input side ImageNet weights were trained at
SMALL_INPUT = 112  # inputs at most this side are "much smaller" than PRETRAINED_SIZE
NATIVE_SIZE = {"digits": 8, "mnist": 28, "fashion_mnist": 28, "cifar10": 32, "cifar100": 32}


def propose(evidence: Evidence) -> list[Change]:
    runs = evidence.ranked
    if "model" not in runs or runs.empty:
        return []
    changes = []
    overall = runs["val_acc"].max()
    for model in dict.fromkeys(runs["model"]):
        mine = runs[(runs["model"] == model) & runs["pretrained"].fillna(False).astype(bool)]
        if mine.empty:
            continue
        best = mine.sort_values("val_acc", ascending=False).iloc[0]
        side = as_float(best.get("input_size"), as_float(NATIVE_SIZE.get(best.get("dataset")), math.nan))
        if not side <= SMALL_INPUT:
            continue
        behind = overall - best["val_acc"]
        leader = runs.sort_values("val_acc", ascending=False).iloc[0]
        gap = (f", {points(behind)} points behind the best run ({leader['run']})" if behind > 0 else "")
        line = (f"{model} with pretrained weights was trained at {side:g} px, far below the {PRETRAINED_SIZE} px "
                f"its ImageNet weights expect: its best run {best['run']} reached val acc "
                f"{best['val_acc']:.3f}{gap}; it runs again at input_size {PRETRAINED_SIZE}")

        def apply(draft: Draft, best=best, line=line) -> None:
            draft.follow_up(evidence, best, {"input_size": PRETRAINED_SIZE}, line, part("input_size", PRETRAINED_SIZE))

        changes.append(RULE.change(line, apply, ("input_size",)))
    return changes


RULE = Rule("pretrained_size", value=90, settles=False, propose=propose, doc=__doc__)
