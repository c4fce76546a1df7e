"""Never paying twice: what makes two runs the same run, the runs of a report that finished, and a draft
with every run left out whose configuration (seed included) finished already."""

from __future__ import annotations

import itertools
import math
from typing import Any, Mapping

from lib.config.errors import ConfigError
from lib.config.runs import RUNNER_KEYS, run_config
from lib.core import values
from lib.core.records import FINISHED_STATUSES
from lib.report.load import SweepReport
from lib.report.proposal.draft import GRID_LEFT, Draft


def run_identity(config: Mapping[str, Any]) -> tuple:
    """What makes two runs the same run: every config value (lib.core.values.key) but the runner's own keys
    (lib.config.runs.RUNNER_KEYS), seed included."""
    return tuple(sorted((k, _identity_value(v)) for k, v in config.items() if k not in RUNNER_KEYS))


def _identity_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_identity_value(v) for v in value)
    return values.key(value)


def finished_configs(report: SweepReport) -> dict[tuple, str]:
    """The identity of every run of the report that finished (completed, early stopped, diverged or pruned: paid
    for), and its name."""
    out: dict[tuple, str] = {}
    runs = report.runs
    for key, status in zip(runs["run"], runs["status"]):
        if status in FINISHED_STATUSES and key in report.configs:
            out.setdefault(run_identity(report.configs[key]), key)
    return out


def planned_identity(sweep: str, params: Mapping[str, Any]) -> tuple | None:
    """The identity of a run a sweep file gives `params` (None: an impossible configuration)."""
    try:
        return run_identity(run_config(sweep, "probe", params).to_dict())
    except ConfigError:
        return None


def _explicit_params(draft: Draft, run: Mapping[str, Any]) -> dict[str, Any]:
    return {**draft.fixed, **{k: v for k, v in run.items() if k not in ("name", "from") and not k.startswith("_")}}


def _grid_points(draft: Draft) -> tuple[list[str], list[list], list[tuple[int, ...]]]:
    axes, lists = list(draft.grid), [list(v) for v in draft.grid.values()]
    if draft.seeds:
        axes, lists = axes + ["seed"], lists + [list(draft.seeds)]
    return axes, lists, list(itertools.product(*[range(len(v)) for v in lists]))


def _point_params(draft: Draft, axes: list[str], lists: list[list], point: tuple[int, ...]) -> dict[str, Any]:
    params = dict(draft.fixed)
    for axis, options, i in zip(axes, lists, point):
        value = options[i]
        params.update(value if isinstance(value, dict) else {axis: value})
    return params


def work(draft: Draft) -> set:
    """The identities of the runs a draft would execute."""
    out = set()
    if draft.grid and draft.rerun_grid:
        axes, lists, points = _grid_points(draft)
        out |= {planned_identity(draft.name, _point_params(draft, axes, lists, p)) for p in points}
    for run in draft.runs:
        for seed in (draft.seeds if draft.seeds and "seed" not in run else [None]):
            params = _explicit_params(draft, run)
            out.add(planned_identity(draft.name, params if seed is None else {**params, "seed": seed}))
    return out


def drop_finished(draft: Draft, finished: Mapping[tuple, str]) -> None:
    """Leave out of the draft every run whose configuration finished already (named in draft.repeats). A grid
    left with part of its points stays a grid when they still form one, else lists them as explicit runs."""
    if draft.search or not (work(draft) & set(finished)):
        return
    if draft.seeds:
        draft.spell_out_seeds()
    if draft.grid and draft.rerun_grid:
        axes, lists, points = _grid_points(draft)
        ids = {p: planned_identity(draft.name, _point_params(draft, axes, lists, p)) for p in points}
        new = [p for p in points if ids[p] not in finished]
        draft.repeats += [finished[ids[p]] for p in points if ids[p] in finished]
        used = [sorted({p[i] for p in new}) for i in range(len(axes))]
        if not new:
            draft.grid, draft.rerun_grid = None, False
        elif math.prod(len(u) for u in used) == len(new):  # still a grid: each axis keeps the values it needs
            draft.grid = {axis: [lists[i][j] for j in used[i]] for i, axis in enumerate(axes)}
        else:
            entries = []
            for p in new:
                params = _point_params(draft, axes, lists, p)
                entries.append({k: v for k, v in params.items()
                                if not (k in draft.fixed and values.same(draft.fixed[k], v))})
            draft.comments[("runs", GRID_LEFT)] = (f"the grid's {len(new)} point(s) not run yet; its other "
                                                 f"{len(points) - len(new)} finished in the sweeps read")
            draft.grid, draft.rerun_grid = None, False
            draft.runs = entries + draft.runs
    kept = []
    for run in draft.runs:
        found = finished.get(planned_identity(draft.name, _explicit_params(draft, run)))
        if found:
            draft.repeats.append(found)
        else:
            kept.append(run)
    draft.runs = kept
