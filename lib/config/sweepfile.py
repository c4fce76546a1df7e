"""Sweep files: small YAML files that say what is fixed and what varies.

    name: demo                      # the folder under reports/
    description: ...                # optional
    fixed: {dataset: digits}        # parameters every run shares
    grid: {model: [lenet, mlp]}     # the cartesian product of value lists
    runs:                           # explicit runs, each merged over `fixed`
      - {name: long, epochs: 30}
    seeds: [0, 1, 2]                # optional: every configuration once per seed

A file may instead search (`search:`, lib.config.search; `random: {samples, seed, space}` is another
spelling of a random search): its runs are then the trials of an Optuna study, made as it goes.

A grid axis whose values are mappings sets several parameters together; its name is only a label:

    grid:
      arch: [{model: resnet18_imagenet, pretrained: true}, {model: preact_resnet18}]

The runs of `grid` and `runs` are listed one after another; a file with neither is a single run of
`fixed`. The number of runs is counted before anything is expanded and capped
(`max_runs`). Every expanded run is validated with RunConfig before anything executes, and each gets
a unique name built from the parameters that vary, e.g. `preact_resnet18-mix-sgd-lr0.01-cosine`.
A run's full config is RunConfig's defaults, then the file's values, then what the runner sets
(lib.config.runs.run_config): nothing else supplies a default.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib.core.values import sweep_text
from lib.config.runconfig import FIELD_TYPES, RunConfig, unknown_field
from lib.config.errors import ConfigError, SweepFileError
from lib.config.keys import check_keys
from lib.config.naming import NAME_RE, describe, seeded
from lib.config.runs import MAX_RUNS, RUNNER_KEYS, config_key, run_config
from lib.config.search import EarlyTerminate, Metric, Search, parse_early_terminate, parse_metric, parse_search
from lib.config.wandb import convert, is_wandb_sweep
from lib.config.yamlfile import read_yaml

TOP_KEYS = ("name", "description", "extends", "fixed", "grid", "runs", "random", "seeds", "confirm", "metric",
            "search", "early_terminate")
CONFIRM_KEYS = ("top", "seeds")
RANDOM_KEYS = ("samples", "seed", "space")
@dataclass
class RunSpec:
    name: str
    params: dict[str, Any]  # fixed merged with this run's own values: what the sweep file gives
    source: str  # where in the file it comes from, e.g. "grid item 3", "runs[0]", "random sample 2"
    parent: str | None = None  # runs[i].from: the earlier run (sweep/run) this one follows up
    sweep: str = field(kw_only=True)  # the name of the sweep it belongs to (its config's wandb_group)

    @functools.cached_property
    def config(self) -> RunConfig:
        """The run's validated config (ConfigError when its values are impossible), built once for this planned
        run: the record check, the warnings and the executor's task all read this one. Its folder and trial are
        the runner's to set where it executes (lib.config.runs.placed)."""
        return run_config(self.sweep, self.name, self.params)


@dataclass
class Sweep:
    name: str
    path: Path | None
    description: str
    fixed: dict[str, Any]
    varying: list[str]  # parameters that differ between runs, in the order the file names them
    runs: list[RunSpec] = field(default_factory=list)
    confirm_top: int = 0  # `confirm: {top, seeds}`: rerun the best configurations with more seeds
    confirm_seeds: list[int] = field(default_factory=list)
    metric: Metric = field(default_factory=Metric)  # what search and early termination follow
    search: Search | None = None  # runs come from an Optuna study's trials (lib.config.search)
    early_terminate: EarlyTerminate | None = None  # the study's pruner stops hopeless runs
    linked: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # grid axes of mappings: axis -> values
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # the mapping it was parsed from (extends resolved)

    @property
    def uses_study(self) -> bool:
        return self.search is not None or self.early_terminate is not None

    def trial_runs(self, runs: list[RunSpec]) -> "Sweep":
        """This sweep with the runs a search has created so far (its study's trials)."""
        return dataclasses.replace(self, runs=runs)

    def run(self, name: str) -> RunSpec:
        return next(r for r in self.runs if r.name == name)

    def with_confirmation(self, configs: list[dict[str, Any]]) -> "Sweep":
        """This sweep plus confirmation runs: each of `configs` (run params without seed, best first)
        once per confirmation seed that it has not run with yet."""
        params = [k for k in self.varying if k != "seed"]
        taken = {(config_key(r.params), r.params.get("seed", 0)) for r in self.runs}
        extra = []
        for rank, config in enumerate(configs, 1):
            key = config_key(config)
            for seed in self.confirm_seeds:
                if (key, seed) not in taken:
                    base = describe(config, params) or self.name
                    extra.append(RunSpec(seeded(base, seed), {**config, "seed": seed},
                                         f"confirm: top {rank}, seed {seed}", sweep=self.name))
        names = {r.name for r in self.runs}
        clash = next((r.name for r in extra if r.name in names), None)
        if clash:
            raise SweepFileError(f"{self.path or self.name}: confirmation run {clash!r} has the name of a run in the "
                                 f"file; rename that run")
        varying = self.varying + (["seed"] if extra and "seed" not in self.varying else [])
        return dataclasses.replace(self, varying=varying, runs=self.runs + extra)

    def shared_settings(self) -> dict[str, Any]:
        """What every run shares: the fixed values (after `extends`), and the dataset even where RunConfig's
        default gives it, since a sweep that quietly trains on digits is the mistake to catch."""
        varying = set(self.varying) | (set(self.search.space) if self.search else set())
        shared = {k: v for k, v in self.fixed.items() if k not in varying}
        if "dataset" not in self.fixed and "dataset" not in varying and all(
                "dataset" not in r.params for r in self.runs):
            shared = {"dataset": RunConfig().dataset, **shared}
        return shared

    def settings_line(self) -> str:
        """`shared_settings` as one line, as --dry-run prints it; a value from RunConfig's defaults says so."""
        parts = [f"{k}: {sweep_text(v)}" + ("" if k in self.fixed else " (the default)")
                 for k, v in self.shared_settings().items()]
        return f"fixed: {', '.join(parts) or 'nothing (every run differs, or uses the defaults)'}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path) if self.path else None, "description": self.description,
                "fixed": self.fixed, "varying": self.varying,
                "metric": dataclasses.asdict(self.metric), "search": self.search.to_dict() if self.search else None,
                "early_terminate": self.early_terminate.to_dict() if self.early_terminate else None,
                "runs": [{"name": r.name, "source": r.source, "params": r.params,
                          **({"from": r.parent} if r.parent else {})} for r in self.runs],
                "linked": self.linked, "spec": self.raw}


def is_sweep(raw: Any) -> bool:
    """Whether a parsed YAML file is a sweep file rather than a flat mapping of run parameters."""
    return isinstance(raw, dict) and bool(set(raw) & {"fixed", "grid", "runs", "random", "seeds"})


def load_sweep(path: str | Path, max_runs: int = MAX_RUNS) -> Sweep:
    raw = read_yaml(path)
    if isinstance(raw, dict) and "extends" in raw:
        raw = _extended(raw, Path(path))
    if is_wandb_sweep(raw):
        raw, notes = convert(raw, Path(path))
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    return parse_sweep(raw, Path(path), max_runs)


def _extended(raw: dict, path: Path) -> dict:
    """`extends: other.yaml` (a path from this file's folder, `../` and absolute paths too): the other
    file's sections, with `fixed` merged key by key (a key given as null here removes it) and every
    other section given here replacing the other's whole (`grid: null` removes it). The name is this
    file's, and so is the description: the other's describes other runs."""
    target = raw["extends"]
    if not isinstance(target, str) or not target.strip():
        raise SweepFileError(f"{path}: extends must be the path of a sweep file (from this file's folder, or "
                             f"absolute), got {target!r}")
    base_path = path.parent / target
    try:
        base = read_yaml(base_path)
    except SweepFileError as exc:
        raise SweepFileError(f"{path}: extends {target!r}: {exc}") from None
    if not isinstance(base, dict) or "extends" in base or not is_sweep(base):
        raise SweepFileError(f"{path}: extends {target!r} must name a sweep file of this format that extends no "
                             f"other, and {base_path} is not one (the path is taken from this file's folder, or is "
                             f"absolute)")
    own = {k: v for k, v in raw.items() if k != "extends"}
    merged = {**{k: v for k, v in base.items() if k != "description"}, "name": path.stem, **own}
    if isinstance(base.get("fixed"), dict) and isinstance(own.get("fixed"), dict):
        fixed = {**base["fixed"], **own["fixed"]}
        merged["fixed"] = {k: v for k, v in fixed.items() if v is not None}
    return {k: v for k, v in merged.items() if v is not None}


def parse_sweep(raw: Any, path: Path | None = None, max_runs: int = MAX_RUNS) -> Sweep:
    where = str(path) if path else "sweep"
    if not isinstance(raw, dict):
        raise SweepFileError(f"{where}: expected a mapping with keys {', '.join(TOP_KEYS)}, got {type(raw).__name__}")
    check_keys(raw, TOP_KEYS, where, "top-level key")
    name = raw.get("name", path.stem if path else None)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SweepFileError(f"{where}: name {name!r} must be a folder-safe word (letters, digits, _ . -)")
    fixed = _mapping(raw.get("fixed", {}), f"{where}: fixed")
    _check_params(fixed, f"{where}: fixed")
    metric = parse_metric(raw.get("metric"), where)
    if "search" in raw or "random" in raw:
        return _search_sweep(raw, name, path, fixed, metric, where, max_runs)
    seeds = _seeds(raw, where)
    top, confirm_seeds = _confirm(raw, seeds, where)
    grid = _grid(raw["grid"], f"{where}: grid") if "grid" in raw else None
    entries = _entries(raw["runs"], f"{where}: runs") if "runs" in raw else []
    if seeds:
        places = [("fixed", fixed), *[(f"runs[{i}]", entry) for i, (_, entry, _) in enumerate(entries)],
                  ("grid", grid or {}), *[(f"grid.{k}", v) for k, vs in (grid or {}).items() for v in vs
                                          if isinstance(v, dict)]]
        clash = next((place for place, values in places if "seed" in values), None)
        if clash:
            raise SweepFileError(f"{where}: seed is set in {clash} and by `seeds`; a configuration runs once per "
                                 f"seed in `seeds`, so remove seed from {clash}")
    count = (math.prod(len(v) for v in grid.values()) if grid else 0) + len(entries)
    confirming = min(top, max(count, 1)) * len([s for s in confirm_seeds if s not in seeds])
    _check_count(max(count, 1) * max(len(seeds), 1), max_runs, where, confirming)

    variants: list[tuple[str | None, dict[str, Any], str]] = []  # (given name, values, source)
    order: list[str] = []
    if grid:
        for key, values in grid.items():
            for v in values:
                for k in (v if isinstance(v, dict) else [key]):
                    if k not in order:
                        order.append(k)
        for i, combo in enumerate(itertools.product(*grid.values()), 1):
            values: dict[str, Any] = {}
            for key, value in zip(grid, combo):
                values.update(value if isinstance(value, dict) else {key: value})
            variants.append((None, values, f"grid item {i}"))
    parents = {}
    for i, (run_name, entry, parent) in enumerate(entries):
        order += [k for k in entry if k not in order]
        variants.append((run_name, entry, f"runs[{i}]"))
        parents[f"runs[{i}]"] = parent
    if not variants:
        variants = [(name, {}, "fixed")]
    if seeds:
        order.append("seed")
        variants = [(seeded(given, seed) if given else None, {**values, "seed": seed}, f"{source}, seed {seed}")
                    for given, values, source in variants for seed in seeds]

    merged = [{**fixed, **values} for _, values, _ in variants]
    varying = [k for k in dict.fromkeys(order) if len({repr(m.get(k, _MISSING)) for m in merged}) > 1]
    names = [given or describe(m, varying) or name for (given, _, _), m in zip(variants, merged)]
    runs = [RunSpec(n, m, source, parents.get(source.split(",")[0]), sweep=name)
            for n, m, (_, _, source) in zip(_check_unique(names, variants, where), merged, variants)]
    for spec in runs:
        try:
            spec.config  # validated here, once: every later step reads this config
        except ConfigError as exc:
            raise SweepFileError(f"{where}: run {spec.name!r} ({spec.source}): {exc}") from None
    terminate = parse_early_terminate(raw["early_terminate"], max(_epochs(r.params) for r in runs), where) \
        if "early_terminate" in raw else None
    linked = {k: vs for k, vs in (grid or {}).items() if isinstance(vs[0], dict)}
    return Sweep(name, path, str(raw.get("description", "")).strip(), fixed, varying, runs, top, confirm_seeds,
                 metric, None, terminate, linked, raw)


def _check_count(count: int, max_runs: int, where: str, confirming: int = 0) -> None:
    """Refuse a sweep of more than `max_runs` runs: `count` from the file, and up to `confirming` more
    that `confirm` adds once they have run."""
    if count + confirming > max_runs:
        parts = f" ({count:,} in the file and up to {confirming:,} confirmation runs)" if confirming else ""
        raise SweepFileError(f"{where}: describes {count + confirming:,} runs{parts}, above the cap of {max_runs:,}; "
                             f"make the sweep smaller, or raise the cap with --max-runs {count + confirming}")


def _epochs(params: dict[str, Any]) -> int:
    return params.get("epochs", run_config("", "", {}).epochs)


def _search_sweep(raw: dict, name: str, path: Path | None, fixed: dict[str, Any], metric: Metric,
                  where: str, max_runs: int) -> Sweep:
    """A sweep whose runs are the trials of a search over `search.space`, on top of `fixed`. `random:
    {samples, seed, space}` is another spelling of `search: {method: random, trials, seed, space}`."""
    section = "search" if "search" in raw else "random"
    other = [k for k in ("search", "grid", "runs", "random", "seeds") if k in raw and k != section]
    if other:
        raise SweepFileError(f"{where}: {section} creates the runs itself, so it cannot go with "
                             f"{', '.join(other)}; put shared values in fixed (seed too), or make two sweep files")
    top, confirm_seeds = _confirm(raw, [], where)
    confirm = {"max_runs": max_runs, "confirm_top": top, "confirm_seeds": len(confirm_seeds)}
    if section == "random":
        spec = _mapping(raw["random"], f"{where}: random")
        check_keys(spec, RANDOM_KEYS, f"{where}: random", "key")
        if "samples" not in spec:
            raise SweepFileError(f"{where}: random.samples is missing: how many runs to sample")
        spelled = {"method": "random", "trials": spec["samples"], "seed": spec.get("seed", 0), "space": spec.get("space")}
        search = parse_search(spelled, fixed, where, section="random", trials_key="samples", **confirm)
        raw = {**{k: v for k, v in raw.items() if k != "random"}, "search": spelled}
    else:
        search = parse_search(raw["search"], fixed, where, **confirm)
    first = {k: d.args[0] if d.kind == "choice" else d.value(d.args[0]) for k, d in search.space.items()
             if d.kind == "choice" or d.native}
    try:
        run_config(name, "", {**fixed, **first})
    except ConfigError as exc:
        raise SweepFileError(f"{where}: fixed with the search space's first values: {exc}") from None
    terminate = parse_early_terminate(raw["early_terminate"], _most_epochs(search, fixed), where) \
        if "early_terminate" in raw else None
    return Sweep(name, path, str(raw.get("description", "")).strip(), fixed, list(search.space), [], top,
                 confirm_seeds, metric, search, terminate, raw=raw)


def _most_epochs(search: Search, fixed: dict[str, Any]) -> int:
    """The most epochs a trial may train: the top of the searched epochs (a bounded kind), else fixed's."""
    dim = search.space.get("epochs")
    if dim is None or dim.kind not in ("choice", "int_uniform", "q_uniform", "q_log_uniform"):
        return _epochs(fixed)
    return max(dim.args) if dim.kind == "choice" else dim.value(dim.args[1])


def _confirm(raw: dict, seeds: list[int], where: str) -> tuple[int, list[int]]:
    if "confirm" not in raw:
        return 0, []
    spec = _mapping(raw["confirm"], f"{where}: confirm")
    check_keys(spec, CONFIRM_KEYS, f"{where}: confirm", "key")
    top = spec.get("top")
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise SweepFileError(f"{where}: confirm.top must be a whole number >= 1 (how many of the best "
                             f"configurations to rerun), got {top!r}")
    confirm_seeds = _seeds({"seeds": spec.get("seeds")}, f"{where}: confirm")
    if not confirm_seeds:
        raise SweepFileError(f"{where}: confirm.seeds must list the extra seeds, e.g. [1, 2]")
    return top, confirm_seeds


def _seeds(raw: dict, where: str) -> list[int]:
    seeds = raw.get("seeds")
    if seeds is None:
        return []
    if not isinstance(seeds, list) or not seeds or not all(
            isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in seeds):
        raise SweepFileError(f"{where}: seeds must be a list of whole numbers >= 0, e.g. [0, 1, 2]; got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise SweepFileError(f"{where}: seeds lists a seed twice ({seeds!r}); list each seed once")
    return seeds


def _grid(grid: Any, where: str) -> dict[str, list]:
    """The grid's axes, checked: each a non-empty list of distinct scalars, or of mappings of parameters
    to scalars (linked values, which set several parameters together)."""
    grid = _mapping(grid, where)
    if not grid:
        raise SweepFileError(f"{where} is empty; give at least one parameter with a list of values")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SweepFileError(f"{where}.{key} must be a non-empty list of values, got {values!r}")
        linked = [v for v in values if isinstance(v, dict)]
        if linked and len(linked) != len(values):
            raise SweepFileError(f"{where}.{key} mixes mappings and single values; make every value a mapping "
                                 f"of parameters, e.g. {{model: lenet}}")
        if not linked:
            _check_params({key: None}, where)
        for value in values:
            for k, v in (value.items() if linked else [(key, value)]):
                if isinstance(v, (list, dict)):
                    raise SweepFileError(f"{where}.{key}: value {v!r} of {k} is a {type(v).__name__}; grid values "
                                         f"are single values, or mappings of parameters to single values")
            if linked:
                if not value:
                    raise SweepFileError(f"{where}.{key}: an empty mapping sets nothing; give parameters")
                _check_params(value, f"{where}.{key}")
        reprs = [repr(v) for v in values]
        twice = next((v for v, r in zip(values, reprs) if reprs.count(r) > 1), None)
        if twice is not None:
            raise SweepFileError(f"{where}.{key} lists {twice!r} twice; list each value once "
                                 f"(for repeats with other seeds, use `seeds: [0, 1, 2]`)")
    return grid


def _entries(runs: Any, where: str) -> list[tuple[str | None, dict[str, Any], str | None]]:
    """Explicit runs: (given name, parameters, parent). `from: sweep/run` names the earlier run a follow-up
    comes from; the report compares the two."""
    if not isinstance(runs, list) or not runs:
        raise SweepFileError(f"{where} must be a non-empty list of mappings")
    out = []
    for i, entry in enumerate(runs):
        entry = dict(_mapping(entry, f"{where}[{i}]"))
        run_name = entry.pop("name", None)
        if run_name is not None and (not isinstance(run_name, str) or not NAME_RE.match(run_name)):
            raise SweepFileError(f"{where}[{i}].name {run_name!r} must be a folder-safe word")
        parent = entry.pop("from", None)
        if parent is not None and not (isinstance(parent, str) and all(NAME_RE.match(p) for p in parent.split("/"))
                                       and parent.count("/") == 1):
            raise SweepFileError(f"{where}[{i}].from {parent!r} must name an earlier run as sweep/run, e.g. "
                                 f"demo/lenet-adam")
        _check_params(entry, f"{where}[{i}]")
        out.append((run_name, entry, parent))
    return out


def _check_unique(names: list[str], variants: list, where: str) -> list[str]:
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in first:
            other = variants[first[name]][2]
            raise SweepFileError(f"{where}: run name {name!r} comes from both {other} and {variants[i][2]}; "
                                 f"names must be unique: give one of them a `name:` of its own, or remove it")
        first[name] = i
    return names


_MISSING = object()


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SweepFileError(f"{where} must be a mapping of parameter names to values, got {type(value).__name__}")
    return value


def _check_params(params: dict, where: str) -> None:
    for key in params:
        if key not in FIELD_TYPES:
            raise SweepFileError(f"{where}: {unknown_field(key, 'parameter')}")
        if key in RUNNER_KEYS:
            raise SweepFileError(f"{where}: {key} is set by the sweep runner for each run; remove it from the file")
