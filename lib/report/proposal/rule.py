"""A proposal rule, the extension point of what to run next: one `Rule` object per file under rules/, and the
`Change`s it proposes, each carrying the rule that made it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from lib.report.proposal.draft import Draft
    from lib.report.proposal.evidence import Evidence


@dataclass(frozen=True)
class Rule:
    """One rule: its name (printed before each of its lines), its value (a budget cuts the lowest first),
    whether it settles a setting for every run (applied before the rules that add runs, and overruling any
    other rule's change of what it fixes), what it proposes from the evidence, and what it does in words."""

    name: str
    value: int
    settles: bool
    propose: Callable[[Evidence], list[Change]]
    doc: str

    def change(self, line: str, apply: Callable[[Draft], None], params: tuple[str, ...] = ()) -> Change:
        """A change of this rule's."""
        return Change(self, line, apply, params)


@dataclass
class Change:
    """One proposed change: the rule, what it does and why in one line, and how it edits the draft."""

    by: Rule
    line: str  # printed, and written as the comment beside the choice
    apply: Callable[[Draft], None]
    params: tuple[str, ...] = ()  # the parameters it fixes (a settling rule) or changes (any other)

    @property
    def rule(self) -> str:
        """The name of the rule that made it."""
        return self.by.name

    @property
    def value(self) -> int:
        return self.by.value

    @property
    def settles(self) -> bool:
        return self.by.settles
