"""Loading sweeps' run records into one `SweepReport`: the runs table every part of the report reads.

Reads only files in the sweep folders (sweep.json and each run's config.json, metrics.json,
history.csv), never W&B. Runs are ranked by validation accuracy at their best epoch (the epoch with
the lowest validation loss); test accuracy is that checkpoint's, reported beside it and never used
for selection. Runs that failed or have not run yet appear with their status and no metrics; runs
pruned by a search's early termination appear with their status and are never ranked or averaged
(they trained only part of their epochs). Runs whose records are damaged (lib.core.records.load_run: a JSON list
for an object, an accuracy outside [0, 1], NaN) appear with status damaged, the damage as their error and no
metrics, so no statistic, ranking or proposal rests on them. Several sweeps make one report: earlier sweeps first, so
later ones read as follow-ups (lib.report.tables.compare_followups).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import pandas as pd

from lib.core import values
from lib.core.formatting import as_float, native
from lib.core.layout import SWEEP_JSON, run_dir, runs_dir
from lib.core.records import DAMAGED, FINISHED_STATUSES, RANKED_STATUSES, load_run, read_json, run_state
from lib.config.errors import ConfigError
from lib.config.runconfig import COMPUTE_FIELDS, RunConfig, defaults

METRIC_COLUMNS = ["train_acc", "train_loss", "val_acc", "val_loss", "test_acc", "test_loss", "best_epoch",
                  "epochs_run"]
PARAMETERS = list(COMPUTE_FIELDS)  # what a run computes depends on these alone

if TYPE_CHECKING:  # the modules that fill Derived import this one
    from lib.report.analysis import Analysis
    from lib.report.studies import SweepSearch


@dataclass(slots=True)
class Derived:
    """What is computed from a report's runs, once, on first use; each field is filled by the function named beside
    it and is None until then (slots: a misspelt field is an error, not a new key)."""

    analysis: "Analysis | None" = None  # lib.report.analysis.analysis_of: the statistics
    searches: "list[SweepSearch] | None" = None  # lib.report.studies.searches: each sweep's study
    config_keys: pd.Series | None = None  # lib.report.analysis.runs_of: each ranked run's factor values as one key
    checked: "dict[str, RunConfig | None] | None" = None  # SweepReport.checked_config: one RunConfig per configuration
    out: Path | None = None  # lib.report.links.set_output: the folder the report is written to


@dataclass
class SweepReport:
    root: Path  # the first sweep folder
    name: str  # the sweeps' names, joined with ' + '
    description: str
    fixed: dict[str, Any]
    varying: list[str]  # parameters with more than one value over every run of every sweep, seed included
    runs: pd.DataFrame  # one row per planned run: run (its key), sweep, status, every parameter, metrics
    histories: dict[str, pd.DataFrame]  # run key -> per-epoch history
    errors: dict[str, str]  # run key -> failure message
    sweeps: list[str] = field(default_factory=list)  # sweep names, in the order given (earlier first)
    roots: list[Path] = field(default_factory=list)  # their folders
    given: dict[str, list[str]] = field(default_factory=dict)  # run key -> the parameters its sweep file set
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)  # run key -> its config as recorded
    sampled: list[str] = field(default_factory=list)  # parameters a search drew from a range, not from a list
    linked: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # linked grid axis -> its mappings
    parents: dict[str, str] = field(default_factory=dict)  # run key -> the earlier run it follows up (sweep/run)
    derived: Derived = field(default_factory=Derived, repr=False)  # what is computed from it, once

    @property
    def finished(self) -> pd.DataFrame:
        return self.runs[self.runs["status"].isin(FINISHED_STATUSES) & self.runs["val_acc"].notna()]

    @property
    def ranked(self) -> pd.DataFrame:
        """The finished runs that trained to their end (pruned runs aside): the ones compared and ranked."""
        return self.runs[self.runs["status"].isin(RANKED_STATUSES) & self.runs["val_acc"].notna()]

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.runs["model"])) if "model" in self.runs else []

    @property
    def params(self) -> list[str]:
        """The varying parameters the statistics compare: `varying` without the seed (seeds are replicates)."""
        return [p for p in self.varying if p != "seed" and p in self.runs]

    def checked_config(self, key: str) -> RunConfig | None:
        """A run's recorded config as a RunConfig, for what holds for every seed of its configuration (its
        warnings): built once per configuration, so its seed and folder are its first run's. None for a record
        RunConfig refuses (one written by another version of it)."""
        if self.derived.checked is None:
            fields, built, self.derived.checked = defaults(), {}, {}
            for run, config in self.configs.items():
                identity = repr(sorted((k, repr(v)) for k, v in config.items() if k in COMPUTE_FIELDS and k != "seed"))
                if identity not in built:
                    try:
                        built[identity] = RunConfig.from_dict({k: v for k, v in config.items() if k in fields})
                    except ConfigError:
                        built[identity] = None
                self.derived.checked[run] = built[identity]
        return self.derived.checked.get(key)

    def recipe(self, run: Mapping[str, Any], seed: bool = True) -> dict[str, Any]:
        """A run (a row of `runs`) as a sweep file gives it: the parameters its sweep file set and every one the
        report compares, valued from its recorded config; its seed too unless `seed` is False (a follow-up
        chooses its own seeds)."""
        config = self.configs.get(run["run"], {})
        keys = list(dict.fromkeys([*self.given.get(run["run"], []), *self.params]))
        recipe = {k: native(config.get(k, run.get(k))) for k in keys if k != "seed" and (k in config or k in run)}
        if seed:
            recipe["seed"] = native(config.get("seed", run.get("seed", 0)))
        return recipe


_PLAN_TYPES = {"name": str, "runs": list, "fixed": dict, "varying": list, "description": str, "search": dict,
               "linked": dict, "spec": dict, "path": str}  # what the report reads of sweep.json, and the type each must have


def _checked_plan(root: Path) -> tuple[dict[str, Any], str | None]:
    """The sweep folder's sweep.json, read once, and why it cannot be used: ({}, None) when there is none,
    ({}, the reason) when it is damaged or not what the sweep runner writes."""
    path = Path(root) / SWEEP_JSON
    if not path.is_file():
        return {}, None
    try:
        plan = read_json(path)
    except (OSError, ValueError) as exc:
        return {}, f"{path} cannot be read ({exc})"
    if not isinstance(plan, dict):
        return {}, f"{path} holds a {type(plan).__name__}, not the sweep's record"
    missing = [key for key in ("name", "runs") if key not in plan]
    if missing:
        return {}, f"{path} has no {' or '.join(missing)}"
    for key, kind in _PLAN_TYPES.items():
        if plan.get(key) is not None and not isinstance(plan[key], kind):
            return {}, f"{path}: {key} is a {type(plan[key]).__name__}, not a {kind.__name__}"
    if not all(isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(r.get("params"), dict)
               for r in plan["runs"]):
        return {}, f"{path}: a run in runs has no name or params"
    return plan, None


def plan_problem(root: Path) -> str | None:
    """Why the sweep folder's sweep.json cannot be used, or None when it can or there is none. The report then
    lists the run folders alone."""
    return _checked_plan(root)[1]


def plan_note(root: Path) -> str | None:
    """What the report says when a sweep folder's sweep.json cannot be used (None when it can)."""
    problem = plan_problem(root)
    return None if problem is None else (
        f"{problem}: the report lists the run folders alone, without the plan (runs not started yet, the "
        f"description, the search); running the sweep again rewrites sweep.json, and nothing finished reruns")


def read_plan(root: Path) -> dict[str, Any]:
    """The sweep folder's sweep.json, or {} when there is none or it cannot be used (see plan_problem)."""
    return _checked_plan(root)[0]


def _planned(root: Path) -> tuple[dict | None, list[tuple[str, dict]]]:
    """A sweep folder's plan (sweep.json, or None when missing or unusable: see plan_problem) and its runs as
    (name, sweep-file params)."""
    plan = read_plan(root) or None
    if plan:
        return plan, [(r["name"], r["params"]) for r in plan["runs"]]
    run_dirs = sorted(p for p in runs_dir(root).glob("*") if p.is_dir()) if runs_dir(root).is_dir() else []
    return None, [(p.name, {}) for p in run_dirs]


def _once(roots: list[Path]) -> list[Path]:
    """The folders in order, each once (the same folder given twice, by any path, would list its runs twice)."""
    seen, out = set(), []
    for root in roots:
        if root.resolve() not in seen:
            seen.add(root.resolve())
            out.append(root)
    return out


def _varying(rows: list[dict[str, Any]], order: list[str]) -> list[str]:
    """Parameters (runtime fields aside) with more than one value over `rows`: `order` first, then field order."""
    varying = {k for k in PARAMETERS if len({values.key(r.get(k)) for r in rows}) > 1}
    return [k for k in dict.fromkeys([*order, *PARAMETERS]) if k in varying]


def load_report(sweep_dirs: str | Path | Sequence[str | Path]) -> SweepReport:
    """Everything the report shows, from one sweep folder or several (earlier sweeps first).

    Runs are keyed by name; when two sweeps hold a run of the same name, by `sweep/run`. A parameter
    varies when it takes more than one value over all runs of all sweeps, so one fixed at different
    values in two sweeps varies in the combined report.
    """
    roots = [Path(sweep_dirs)] if isinstance(sweep_dirs, (str, Path)) else [Path(d) for d in sweep_dirs]
    roots = _once(roots)
    loaded = []  # (root, sweep name, plan, planned runs)
    for root in roots:
        plan, planned = _planned(root)
        name = plan["name"] if plan else root.name
        taken = [n for _, n, _, _ in loaded]
        loaded.append((root, name if name not in taken else f"{name}-{len(loaded) + 1}", plan, planned))
    counts = Counter(run for _, _, _, planned in loaded for run, _ in planned)
    rows, histories, errors, given, configs = [], {}, {}, {}, {}
    parents = {}
    base = defaults()
    for root, sweep, plan, planned in loaded:
        followed = {r["name"]: r["from"] for r in (plan or {}).get("runs", []) if r.get("from")}
        for name, params in planned:
            key = f"{sweep}/{name}" if counts[name] > 1 else name
            record = load_run(run_dir(root, name))
            config = {**base, **(record["config"] or {}), **params}
            state = run_state(run_dir(root, name), record)
            damaged = state.status == DAMAGED  # named in the failures, left out of every table of results
            metrics = {} if damaged else record["metrics"] or {}
            if state.error:
                errors[key] = state.error
            given[key], configs[key] = list(params), config
            if name in followed:
                parents[key] = followed[name]
            rows.append({"run": key, "sweep": sweep, "status": state.status, **config,
                         **{k: as_float(metrics.get(k))
                            for k in METRIC_COLUMNS + ["wall_time_s", "images_per_s", "n_val"]},
                         "train_acc_measure": metrics.get("train_acc_measure"),
                         "val_is_test": metrics.get("val_is_test")})
            if record["history"] and not damaged:
                histories[key] = pd.DataFrame(record["history"])
    runs = pd.DataFrame(rows, columns=None if rows else ["run", "sweep", "status", *defaults(), *METRIC_COLUMNS,
                                                         "wall_time_s", "images_per_s", "train_acc_measure",
                                                         "val_is_test"])
    plans = [plan for _, _, plan, _ in loaded if plan]
    varying = _varying(rows, [k for plan in plans for k in plan.get("varying", [])])
    fixed: dict[str, Any] = {}
    for plan in plans:
        for k, v in plan.get("fixed", {}).items():
            fixed.setdefault(k, v)
    fixed = {k: v for k, v in fixed.items() if k not in varying}
    names = [sweep for _, sweep, _, _ in loaded]
    described = [(plan["name"], plan["description"]) for plan in plans if plan.get("description")]
    description = described[0][1] if len(plans) == 1 and described else \
        " ".join(f"{n}: {d}" if d.endswith((".", "!", "?")) else f"{n}: {d}." for n, d in described)
    sampled = [k for plan in plans for k, spec in ((plan.get("search") or {}).get("space") or {}).items()
               if isinstance(spec, dict)]
    linked: dict[str, list[dict[str, Any]]] = {}
    for plan in plans:
        for axis, mappings in (plan.get("linked") or {}).items():
            linked.setdefault(axis, [])
            linked[axis] += [m for m in mappings if m not in linked[axis]]
    return SweepReport(roots[0] if roots else Path("."), " + ".join(names), description, fixed, varying, runs,
                       histories, errors, names, roots, given, configs, list(dict.fromkeys(sampled)), linked,
                       parents)
