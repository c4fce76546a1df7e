"""A proposal (lib.report.proposal.Proposal) as the text of a sweep file, each choice with the rule and numbers
behind it.

    # lr: its best value (the pooled model's) is the largest value tried (0.1); extended one step on the same log scale
    grid:
      lr: [0.01, 0.1, 1.0]

The file is an ordinary sweep file: `python -m lib.sweep run FILE --dry-run` validates it.
"""

from __future__ import annotations

from typing import Any

import yaml

from lib.core.formatting import timestamp
from lib.report.proposal.choose import Proposal
from lib.report.proposal.draft import GRID_LEFT

WIDTH = 110  # comment lines are wrapped here


def _flow(value: Any) -> str:
    """A value as one line of YAML."""
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000).strip().removesuffix("...") \
        .strip()


def _comment(text: str, indent: str) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(indent) + 2 + len(line) + 1 + len(word) > WIDTH:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return [f"{indent}# {line}" for line in lines]


def next_file_text(proposal: Proposal, command: str) -> str:
    """The proposal's sweep file. `command` is the one that wrote it (for the header)."""
    draft = proposal.draft
    if draft is None:
        raise ValueError("no rule fired, so there is no sweep file to write")
    notes = draft.comments
    follows, whose = ", ".join(draft.follows), "its" if len(draft.follows) == 1 else "their"
    out = [f"# Written by `{command}` on {timestamp()}, from the records of {follows}.",
           "# Every choice that differs from the sweep it follows says the rule and the numbers behind it;",
           "# edit freely. Check it with --dry-run before running it.",
           f"name: {draft.name}",
           f"description: {_flow(f'Follow-up of {follows}, proposed from {whose} report.')}"]
    if draft.metric:
        out.append(f"metric: {_flow(draft.metric)}")
    out.append("fixed:" if draft.fixed else "fixed: {}")
    for key, value in draft.fixed.items():
        if ("fixed", key) in notes:
            out += _comment(notes[("fixed", key)], "  ")
        out.append(f"  {key}: {_flow(value)}")
    dropped = [text for (section, *_), text in notes.items() if section == "dropped"]
    for text in dropped:
        out += _comment(f"dropped: {text}", "  ")
    if draft.grid:
        out.append("grid:")
        for axis, values in draft.grid.items():
            if ("grid", axis) in notes:
                out += _comment(notes[("grid", axis)], "  ")
            out.append(f"  {axis}: {_flow(values)}")
    if draft.runs:
        out.append("runs:")
        said = None
        for run in draft.runs:
            note = notes.get(("runs", run.get("name", GRID_LEFT)))
            if note and note != said:  # runs of one change share its comment
                out += _comment(note, "  ")
            said = note
            out.append(f"  - {_flow({k: v for k, v in run.items() if not k.startswith('_')})}")
    if draft.seeds:
        out.append(f"seeds: {_flow(draft.seeds)}")
    if draft.search:
        if ("search", "space") in notes:
            out += _comment(notes[("search", "space")], "")
        out.append(f"search: {_flow(draft.search)}")
    if draft.early_terminate:
        out.append(f"early_terminate: {_flow(draft.early_terminate)}")
    if draft.confirm:
        if ("confirm",) in notes:
            out += _comment(notes[("confirm",)], "")
        out.append(f"confirm: {_flow(draft.confirm)}")
    if proposal.cut:
        out += _comment("Cut to fit the budget: " + "; ".join(f"{c.rule}: {c.line}" for c in proposal.cut), "")
    return "\n".join(out) + "\n"
