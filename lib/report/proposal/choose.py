"""Which changes a proposal keeps: every rule over the evidence, the settling rules' precedence, the budget, and
what finished already; the draft they make together."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from lib.report.load import SweepReport
from lib.report.proposal.draft import Draft
from lib.report.proposal.evidence import Evidence
from lib.report.proposal.finished import drop_finished, finished_configs, work
from lib.report.proposal.rule import Change
from lib.report.proposal.rules import RULES

NOTHING = ("no axis's best sits at its edge, the best runs converged, no setting is inert or without effect, "
           "and the best configuration is distinguishable from the rest")


@dataclass
class Proposal:
    """What `propose` found: the changes kept and the draft they make, and every change left out, with why."""

    changes: list[Change]  # kept, most valuable first
    cut: list[Change]  # left out to fit the budget
    draft: Draft | None  # None: no rule fired, or every run it called for finished already
    overruled: list[tuple[Change, Change]] = field(default_factory=list)  # (change, the settling one that won)
    done: list[Change] = field(default_factory=list)  # every run it called for finished already
    repeats: list[str] = field(default_factory=list)  # runs left out: their configuration finished already

    def lines(self) -> list[str]:
        out = [f"{c.rule}: {c.line}" for c in self.changes]
        out += [f"not proposed ({c.rule} on {', '.join(c.params)}): overruled by {winner.rule}, which settles "
                f"{', '.join(p for p in c.params if p in winner.params)} (a settled parameter is not explored)"
                for c, winner in self.overruled]
        out += [f"nothing new ({c.rule}): every run it calls for finished already or another change proposes it: "
                f"{c.line}" for c in self.done]
        if self.repeats:
            shown = ", ".join(self.repeats[:5]) + (f" and {len(self.repeats) - 5} more" if len(self.repeats) > 5
                                                   else "")
            out.append(f"left out: {len(self.repeats)} run(s) whose configuration (seed included) finished "
                       f"already: {shown}")
        out += [f"cut to fit the budget ({c.rule}): {c.line}" for c in self.cut]
        if self.draft is None:
            out.append("no rule fired: " + NOTHING if not (self.done or self.overruled or self.cut) else
                       "nothing new to run: every run the rules call for finished already")
        return out


def propose(report: SweepReport, base: Mapping[str, Any], sweep: str, name: str | None = None,
            budget: int | None = None) -> Proposal:
    """Every rule over the report; the changes most valuable first, cut (lowest value first) to `budget` runs.
    A settling rule that fixes a parameter overrules any other rule's change of it (an edge extended, epochs
    doubled): what is settled is not explored in the same proposal. A run already finished in the sweeps read
    is never proposed again."""
    evidence = Evidence(report, base, sweep)
    changes = [c for rule in RULES for c in rule.propose(evidence)]
    if not changes:
        return Proposal([], [], None)
    changes.sort(key=lambda c: -c.value)
    settled = [c for c in changes if c.settles]
    overruled = []
    for change in [c for c in changes if not c.settles]:
        winner = next((w for w in settled if set(w.params) & set(change.params)), None)
        if winner:
            overruled.append((change, winner))
    changes = [c for c in changes if all(c is not o for o, _ in overruled)]
    finished = finished_configs(report)
    kept, cut = [], []
    for change in changes:
        trial = _draft(evidence, name, kept + [change], finished)
        (cut if budget is not None and trial.size() > budget else kept).append(change)
    done = []
    if finished and not base.get("search"):  # a change whose every run finished already adds nothing: say so
        for change in [c for c in kept if not c.settles]:
            others = [c for c in kept if c is not change and c not in done]
            if work(_draft(evidence, name, others, finished)) == work(_draft(evidence, name, others + [change],
                                                                            finished)):
                done.append(change)
        kept = [c for c in kept if c not in done]
    draft = _draft(evidence, name, kept, finished) if kept else None
    if draft is not None and draft.size() == 0:
        draft = None  # nothing new: a file without runs would run its fixed settings once
    return Proposal(kept, cut, draft, overruled, done, draft.repeats if draft else [])


def _draft(evidence: Evidence, name: str | None, changes: Sequence[Change],
           finished: Mapping[tuple, str] | None = None) -> Draft:
    base = evidence.base
    draft = Draft(name or f"{evidence.sweep}_next", list(evidence.report.sweeps), evidence.fixed(),
                  grid=evidence.grid() or None, seeds=evidence.seeds(),
                  metric=dict(base["metric"]) if base.get("metric") else None)
    for change in sorted(changes, key=lambda c: not c.settles):  # what every run settles first
        change.apply(draft)
    if not draft.rerun_grid or not draft.grid:
        draft.grid = None
    if draft.seeds and any("seed" in run for run in draft.runs):
        draft.spell_out_seeds()
    if finished:
        drop_finished(draft, finished)
    return draft
