"""What to run next: a follow-up sweep file written from a report's evidence, one small rule at a time.

Each rule reads the report (its runs, their flags, the pooled effects, the configurations tied with the best)
and proposes changes to the latest sweep, each with a one-line reason stating its numbers. A rule is one
object in a file of its own under rules/ (its name, its value to a budget, whether it settles a setting for
every run, what it proposes, and its description), and `RULES` (rules/__init__.py) lists them in the order a
budget keeps them; `[(r.name, r.doc) for r in RULES]` says what each does.

    evidence.py   what the rules read (Evidence) and the helpers they share
    rule.py       Rule, and Change: one proposed change, carrying the rule that made it
    draft.py      the next sweep file as the rules edit it (Draft)
    finished.py   never paying twice: run identities, and the runs left out because they finished already
    choose.py     propose: precedence of the settling rules, the budget, the Proposal and its lines

A proposal is a sweep file of the ordinary kind (lib.report.nextfile writes it): `python -m lib.sweep run` and
`--dry-run` take it.
"""

from lib.report.proposal.choose import Proposal, propose
from lib.report.proposal.rules import RULES

__all__ = ["Proposal", "RULES", "propose"]
