"""Settings the sweep file set that cannot act in any of its runs (RunConfig's warnings say which) are
dropped."""

from __future__ import annotations

from lib.config.runconfig import RunConfig
from lib.report.proposal.draft import Draft
from lib.report.proposal.evidence import Evidence
from lib.report.proposal.rule import Change, Rule


def propose(evidence: Evidence) -> list[Change]:
    settings = [k for k in evidence.fixed() if k in RunConfig.__dataclass_fields__]
    runs = evidence.report.runs
    mine = set(runs.loc[runs["sweep"] == evidence.sweep, "run"]) if len(runs) else set()
    said: dict[str, set[str]] = {k: set() for k in settings}  # key -> its "set but" warnings
    acted: set[str] = set()
    seen: set[int] = set()
    for key in evidence.report.configs:
        config = evidence.report.checked_config(key) if key in mine else None
        if config is None or id(config) in seen:
            continue  # another sweep's run, a record of another version, or another seed of one checked already
        seen.add(id(config))
        lines = config.warnings(given=settings)
        for setting in settings:
            found = [w for w in lines if w.startswith(f"{setting} is set but")]
            if found:
                said[setting].add(found[0])
            else:
                acted.add(setting)
    changes = []
    for key in settings:
        if said[key] and key not in acted:
            line = f"{key}: {sorted(said[key])[0].split('; ')[0]} in every run; dropped"

            def apply(draft: Draft, key=key, line=line) -> None:
                draft.fixed.pop(key, None)
                draft.comments[("dropped", key)] = line
                draft.rerun_grid = draft.grid is not None

            changes.append(RULE.change(line, apply, (key,)))
    return changes


RULE = Rule("inert", value=40, settles=True, propose=propose, doc=__doc__)
