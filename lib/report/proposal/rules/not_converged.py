"""A model's best configuration had its best epoch in the last third (LATE_BEST) of its epochs in every run,
still improving: a run of it with `epochs` doubled (`t_max` kept equal to `epochs` for cosine, early-stopping
`patience` doubled too, so it cannot end the longer run early)."""

from __future__ import annotations

from typing import Any

from lib.config.naming import part
from lib.core.formatting import is_number
from lib.report.proposal.draft import Draft
from lib.report.proposal.evidence import Evidence
from lib.report.proposal.rule import Change, Rule

LATE_BEST = 2 / 3  # a best epoch after this share of the epochs run: the run was still improving
EPOCH_FACTOR = 2  # epochs (and t_max, patience) times this


def propose(evidence: Evidence) -> list[Change]:
    changes = []
    models = list(dict.fromkeys(evidence.ranked["model"])) if "model" in evidence.ranked else [None]
    for model in models:
        row = evidence.best_config(model)
        if row is None:
            continue
        runs = evidence.runs_of(row)
        runs = runs[runs["status"] == "completed"]
        if runs.empty:
            continue
        best_epochs = [int(b) for b in runs["best_epoch"] if is_number(b)]
        ran = [int(e) for e in runs["epochs_run"] if is_number(e)]
        if not best_epochs or len(best_epochs) != len(ran) or any(b <= LATE_BEST * e for b, e in zip(best_epochs, ran)):
            continue
        parent = runs.sort_values("val_acc", ascending=False).iloc[0]
        epochs = int(parent["epochs"])
        params: dict[str, Any] = {"epochs": epochs * EPOCH_FACTOR}
        extra = []
        if parent.get("scheduler") == "cosine" and is_number(parent.get("t_max")):
            params["t_max"] = int(parent["t_max"]) * EPOCH_FACTOR
            extra.append(f"t_max {int(parent['t_max'])} -> {params['t_max']}")
        elif parent.get("scheduler") == "cosine":
            extra.append("t_max follows epochs")
        if bool(parent.get("early_stopping")):
            params["patience"] = int(parent["patience"]) * EPOCH_FACTOR
            extra.append(f"patience {int(parent['patience'])} -> {params['patience']}")
        what = f"{model}'s best configuration" if model else "the best configuration"
        line = (f"{what} ({row['config']}) had its best epoch at {', '.join(map(str, sorted(best_epochs)))} of "
                f"{', '.join(map(str, sorted(set(ran))))} epochs: still improving near the end; it runs again with "
                f"epochs {epochs} -> {params['epochs']}" + (f" ({', '.join(extra)})" if extra else ""))

        def apply(draft: Draft, parent=parent, params=params, line=line) -> None:
            draft.follow_up(evidence, parent, params, line, part("epochs", params["epochs"]))

        changes.append(RULE.change(line, apply, tuple(params)))
    return changes


RULE = Rule("not_converged", value=80, settles=False, propose=propose, doc=__doc__)
