"""Settings the sweep file set that cannot act in any of its runs (RunConfig's warnings say which) are
dropped."""

from __future__ import annotations

from lib.config.errors import ConfigError
from lib.config.runconfig import COMPUTE_FIELDS, RunConfig
from lib.report.proposal.draft import Draft
from lib.report.proposal.evidence import Evidence
from lib.report.proposal.rule import Change, Rule


def propose(evidence: Evidence) -> list[Change]:
    settings = [k for k in evidence.fixed() if k in RunConfig.__dataclass_fields__]
    runs = evidence.report.runs
    mine = set(runs.loc[runs["sweep"] == evidence.sweep, "run"]) if len(runs) else set()
    said: dict[str, set[str]] = {k: set() for k in settings}  # key -> its "set but" warnings
    acted: set[str] = set()
    seen: set[str] = set()
    for key, config in evidence.report.configs.items():
        if key not in mine:
            continue
        given = {k: v for k, v in config.items() if k in RunConfig.__dataclass_fields__}
        identity = repr(sorted((k, repr(v)) for k, v in given.items() if k in COMPUTE_FIELDS and k != "seed"))
        if identity in seen:
            continue  # another seed of a configuration checked already
        seen.add(identity)
        try:
            lines = RunConfig.from_dict(given).warnings(given=settings)
        except ConfigError:
            continue
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
