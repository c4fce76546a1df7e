"""Early stopping ended cosine runs before their learning rate annealed: early stopping is switched off
(`early_stopping: false`, its patience and min_delta dropped), so every run follows its schedule to the end."""

from __future__ import annotations

from lib.core.records import RANKED_STATUSES
from lib.report.analysis import analysis_of
from lib.report.proposal.draft import Draft
from lib.report.proposal.evidence import Evidence
from lib.report.proposal.rule import Change, Rule


def propose(evidence: Evidence) -> list[Change]:
    flags = analysis_of(evidence.report).flags
    runs = evidence.report.runs
    cosine = runs[(runs["scheduler"] == "cosine") & runs["status"].isin(RANKED_STATUSES)] \
        if "scheduler" in runs else runs.iloc[0:0]
    cut = [r for r, f in zip(runs["run"], flags) if "stopped_before_annealed" in str(f).split(",")
           and r in set(cosine["run"]) and runs.loc[runs["run"] == r, "status"].iloc[0] == "early_stopped"]
    if not cut or not evidence.fixed().get("early_stopping", True):
        return []
    line = (f"early stopping ended {len(cut)} of {len(cosine)} cosine runs before their learning rate annealed "
            f"(e.g. {cut[0]}); early_stopping: false, so every run follows its schedule to the end (the best "
            f"checkpoint is still the one kept)")

    def apply(draft: Draft) -> None:
        draft.fix("early_stopping", False, line)
        for key in ("patience", "min_delta"):
            draft.fixed.pop(key, None)
            draft.set_grid(key, None, line)

    return [RULE.change(line, apply, ("early_stopping", "patience", "min_delta"))]


RULE = Rule("stopped_before_annealed", value=50, settles=True, propose=propose, doc=__doc__)
