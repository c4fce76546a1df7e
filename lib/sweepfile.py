"""Sweep files: small YAML files that say what is fixed and what varies.

    name: demo                      # the folder under reports/
    description: ...                # optional
    fixed: {dataset: digits}        # parameters every run shares
    grid: {model: [lenet, mlp]}     # the cartesian product of value lists
    runs:                           # explicit runs, each merged over `fixed`
      - {name: long, epochs: 30}
    random:                         # N distinct samples over `fixed`
      samples: 4
      seed: 0
      space: {lr: {log_uniform: [0.0001, 0.1]}, optimizer: [sgd, adam]}
    seeds: [0, 1, 2]                # optional: every configuration once per seed

A grid axis whose values are mappings sets several parameters together; its name is only a label:

    grid:
      arch: [{model: resnet18_imagenet, pretrained: true}, {model: preact_resnet18}]

The runs of `grid`, `runs` and `random` are listed one after another; a file with none of them is
a single run of `fixed`. The number of runs is counted before anything is expanded and capped
(`max_runs`). Every expanded run is validated with RunConfig before anything executes, and each gets
a unique name built from the parameters that vary, e.g. `preact_resnet18-mix-sgd-lr0.01-cosine`.
A run's full config is RunConfig's defaults, then the file's values, then what the runner sets
(`runner_values`): nothing else supplies a default.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import math
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lib.config import FIELD_TYPES, ConfigError, RunConfig
from lib.search import EarlyTerminate, Metric, Search, TrialRef, parse_early_terminate, parse_metric, parse_search

TOP_KEYS = ("name", "description", "extends", "fixed", "grid", "runs", "random", "seeds", "confirm", "metric",
            "search", "early_terminate")
CONFIRM_KEYS = ("top", "seeds")
RANDOM_KEYS = ("samples", "seed", "space")
MAX_RUNS = 10_000  # a sweep larger than this is refused unless --max-runs raises the cap
MAX_YAML_VALUES = 100_000  # values in a sweep file after YAML aliases are expanded (alias bombs)
# Sweep runs log to W&B in `auto` mode (offline without credentials) unless the file sets wandb_mode.
SWEEP_DEFAULTS = {"wandb_mode": "auto"}


def runner_values(sweep: str, run: str, out_dir: str, trial: TrialRef | None = None) -> dict[str, Any]:
    """What the runner sets for every run of a sweep; a sweep file that sets one is refused. `trial`:
    the study trial the run reports to, for sweeps that search or stop runs early."""
    return {"out_dir": out_dir, "resume": True, "run_name": run, "wandb_group": sweep, "progress": False,
            "study": trial and trial.storage, "study_name": trial and trial.study_name,
            "trial": trial and trial.number}


RUNNER_KEYS = tuple(runner_values("", "", ""))


def config_key(params: dict[str, Any]) -> str:
    """A configuration's identity: its parameters without the seed (seeds are replicates of it)."""
    return repr(sorted((k, v) for k, v in params.items() if k != "seed"))


def run_values(sweep: str, run: str, params: dict[str, Any], out_dir: str,
               trial: TrialRef | None = None) -> dict[str, Any]:
    """Every RunConfig field of one sweep run: RunConfig's defaults, the sweep file's values, the runner's."""
    return RunConfig.from_dict({**SWEEP_DEFAULTS, **params, **runner_values(sweep, run, out_dir, trial)}).to_dict()

ABBREVIATIONS = {"lr": "lr", "weight_decay": "wd", "batch_size": "bs", "epochs": "ep", "momentum": "mom",
                  "label_smoothing": "ls", "mix_alpha": "alpha", "val_fraction": "val", "t_max": "tmax",
                  "step_size": "step", "patience": "pat", "min_delta": "md", "input_size": "in"}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SweepFileError(ConfigError):
    """A sweep file is malformed; the message names the file, the place and the fix."""


@dataclass
class RunSpec:
    name: str
    params: dict[str, Any]  # fixed merged with this run's own values: what the sweep file gives
    source: str  # where in the file it comes from, e.g. "grid item 3", "runs[0]", "random sample 2"


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
    search: Search | None = None  # runs come from an Optuna study's trials (lib.search)
    early_terminate: EarlyTerminate | None = None  # the study's pruner stops hopeless runs
    linked: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # grid axes of mappings: axis -> values

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
                    base = _describe(config, params) or self.name
                    extra.append(RunSpec(f"{base}-seed{seed}", {**config, "seed": seed},
                                         f"confirm: top {rank}, seed {seed}"))
        names = {r.name for r in self.runs}
        clash = next((r.name for r in extra if r.name in names), None)
        if clash:
            raise SweepFileError(f"{self.path or self.name}: confirmation run {clash!r} has the name of a run in the "
                                 f"file; rename that run")
        varying = self.varying + (["seed"] if extra and "seed" not in self.varying else [])
        return dataclasses.replace(self, varying=varying, runs=self.runs + extra)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path) if self.path else None, "description": self.description,
                "fixed": self.fixed, "varying": self.varying,
                "metric": dataclasses.asdict(self.metric), "search": self.search.to_dict() if self.search else None,
                "early_terminate": self.early_terminate.to_dict() if self.early_terminate else None,
                "runs": [{"name": r.name, "source": r.source, "params": r.params} for r in self.runs],
                "linked": self.linked}


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads 1e-4 as a string; sweep files mean a number."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def _mapping_without_duplicates(loader: _Loader, node: yaml.MappingNode) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, (str, int, float, bool)) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping (first on line {seen[key] + 1}); "
                            f"keep one", key_node.start_mark)
        if isinstance(key, (str, int, float, bool)):
            seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def _expanded_size(value: Any, sizes: dict[int, int]) -> int:
    """How many values `value` holds once YAML aliases are expanded, without expanding them."""
    if id(value) in sizes:
        return sizes[id(value)]
    children = list(value.items()) if isinstance(value, dict) else value if isinstance(value, list) else []
    total = 1
    for child in children:
        total += sum(_expanded_size(v, sizes) for v in child) if isinstance(value, dict) else \
            _expanded_size(child, sizes)
        if total > MAX_YAML_VALUES:
            break
    sizes[id(value)] = total
    return total


def read_yaml(path: str | Path) -> Any:
    """A YAML file's content (1e-4 read as a number), or a SweepFileError naming the line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SweepFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise SweepFileError(f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
                             f"save it with UTF-8 encoding") from None
    try:
        content = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SweepFileError(f"{path}: YAML syntax error{where}: {problem}") from None
    except RecursionError:
        raise SweepFileError(f"{path}: YAML nests too deeply; a sweep file is a few flat mappings") from None
    if _expanded_size(content, {}) > MAX_YAML_VALUES:
        raise SweepFileError(f"{path}: expands to more than {MAX_YAML_VALUES:,} values once its YAML aliases "
                             f"are resolved (nested aliases?); write the values out")
    return content


def is_sweep(raw: Any) -> bool:
    """Whether a parsed YAML file is a sweep file rather than a flat mapping of run parameters."""
    return isinstance(raw, dict) and bool(set(raw) & {"fixed", "grid", "runs", "random", "seeds"})


def load_sweep(path: str | Path, max_runs: int = MAX_RUNS) -> Sweep:
    raw = read_yaml(path)
    if isinstance(raw, dict) and "extends" in raw:
        raw = _extended(raw, Path(path))
    from lib.wandb_sweep import convert, is_wandb_sweep  # here: it imports this module
    if is_wandb_sweep(raw):
        raw, notes = convert(raw, Path(path))
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    return parse_sweep(raw, Path(path), max_runs)


def _extended(raw: dict, path: Path) -> dict:
    """`extends: other.yaml` (beside this file): the other file's sections, each section given here
    replacing the other's whole (`grid: null` removes it); the name is this file's."""
    base_path = path.parent / str(raw["extends"])
    base = read_yaml(base_path)
    if not isinstance(base, dict) or "extends" in base or not is_sweep(base):
        raise SweepFileError(f"{path}: extends {raw['extends']!r} must name a sweep file of this format beside it "
                             f"that extends no other")
    merged = {**base, "name": path.stem, **{k: v for k, v in raw.items() if k != "extends"}}
    return {k: v for k, v in merged.items() if v is not None}


def parse_sweep(raw: Any, path: Path | None = None, max_runs: int = MAX_RUNS) -> Sweep:
    where = str(path) if path else "sweep"
    if not isinstance(raw, dict):
        raise SweepFileError(f"{where}: expected a mapping with keys {', '.join(TOP_KEYS)}, got {type(raw).__name__}")
    _check_keys(raw, TOP_KEYS, where, "top-level key")
    name = raw.get("name", path.stem if path else None)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SweepFileError(f"{where}: name {name!r} must be a folder-safe word (letters, digits, _ . -)")
    fixed = _mapping(raw.get("fixed", {}), f"{where}: fixed")
    _check_params(fixed, f"{where}: fixed")
    metric = parse_metric(raw.get("metric"), where)
    if "search" in raw:
        return _search_sweep(raw, name, path, fixed, metric, where)
    seeds = _seeds(raw, where)
    grid = _grid(raw["grid"], f"{where}: grid") if "grid" in raw else None
    entries = _entries(raw["runs"], f"{where}: runs") if "runs" in raw else []
    random_spec = _random_spec(raw["random"], f"{where}: random") if "random" in raw else None
    if seeds:
        places = [("fixed", fixed), *[(f"runs[{i}]", entry) for i, (_, entry) in enumerate(entries)],
                  ("grid", grid or {}), *[(f"grid.{k}", v) for k, vs in (grid or {}).items() for v in vs
                                          if isinstance(v, dict)], ("random.space", random_spec[2] if random_spec else {})]
        clash = next((place for place, values in places if "seed" in values), None)
        if clash:
            raise SweepFileError(f"{where}: seed is set in {clash} and by `seeds`; a configuration runs once per "
                                 f"seed in `seeds`, so remove seed from {clash}")
    count = (math.prod(len(v) for v in grid.values()) if grid else 0) + len(entries) + \
        (random_spec[0] if random_spec else 0)
    count = max(count, 1) * max(len(seeds), 1)
    if count > max_runs:
        raise SweepFileError(f"{where}: describes {count:,} runs, above the cap of {max_runs:,}; make the "
                             f"sweep smaller, or raise the cap with --max-runs {count}")

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
    for i, (run_name, entry) in enumerate(entries):
        order += [k for k in entry if k not in order]
        variants.append((run_name, entry, f"runs[{i}]"))
    if random_spec:
        sampled = _random_variants(*random_spec, fixed, f"{where}: random")
        order += [k for k in sampled[0] if k not in order]
        variants += [(None, values, f"random sample {i}") for i, values in enumerate(sampled, 1)]
    if not variants:
        variants = [(name, {}, "fixed")]
    if seeds:
        order.append("seed")
        variants = [(f"{given}-seed{seed}" if given else None, {**values, "seed": seed}, f"{source}, seed {seed}")
                    for given, values, source in variants for seed in seeds]

    merged = [{**fixed, **values} for _, values, _ in variants]
    varying = [k for k in dict.fromkeys(order) if len({repr(m.get(k, _MISSING)) for m in merged}) > 1]
    names = [given or _describe(m, varying) or name for (given, _, _), m in zip(variants, merged)]
    runs = [RunSpec(n, m, source) for n, m, (_, _, source) in zip(_check_unique(names, variants, where), merged,
                                                                   variants)]
    for spec in runs:
        try:
            RunConfig.from_dict({**spec.params, "out_dir": "unused"})
        except ConfigError as exc:
            raise SweepFileError(f"{where}: run {spec.name!r} ({spec.source}): {exc}") from None
    top, confirm_seeds = _confirm(raw, seeds, where)
    terminate = parse_early_terminate(raw["early_terminate"], max(_epochs(r.params) for r in runs), where) \
        if "early_terminate" in raw else None
    linked = {k: vs for k, vs in (grid or {}).items() if isinstance(vs[0], dict)}
    return Sweep(name, path, str(raw.get("description", "")).strip(), fixed, varying, runs, top, confirm_seeds,
                 metric, None, terminate, linked)


def _epochs(params: dict[str, Any]) -> int:
    return params.get("epochs", RunConfig.epochs)


def _search_sweep(raw: dict, name: str, path: Path | None, fixed: dict[str, Any], metric: Metric,
                  where: str) -> Sweep:
    """A sweep whose runs are the trials of a search over `search.space`, on top of `fixed`."""
    other = [k for k in ("grid", "runs", "random", "seeds") if k in raw]
    if other:
        raise SweepFileError(f"{where}: search creates the runs itself, so it cannot go with {', '.join(other)}; "
                             f"put shared values in fixed (seed too), or make two sweep files")
    search = parse_search(raw["search"], fixed, where)
    first = {k: d.args[0] if d.kind == "choice" else d.value(d.args[0]) for k, d in search.space.items()
             if d.kind == "choice" or d.native}
    try:
        RunConfig.from_dict({**fixed, **first, "out_dir": "unused"})
    except ConfigError as exc:
        raise SweepFileError(f"{where}: fixed with the search space's first values: {exc}") from None
    terminate = parse_early_terminate(raw["early_terminate"], _epochs(fixed), where) \
        if "early_terminate" in raw else None
    top, confirm_seeds = _confirm(raw, [], where)
    return Sweep(name, path, str(raw.get("description", "")).strip(), fixed, list(search.space), [], top,
                 confirm_seeds, metric, search, terminate)


def _confirm(raw: dict, seeds: list[int], where: str) -> tuple[int, list[int]]:
    if "confirm" not in raw:
        return 0, []
    spec = _mapping(raw["confirm"], f"{where}: confirm")
    _check_keys(spec, CONFIRM_KEYS, f"{where}: confirm", "key")
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


def _entries(runs: Any, where: str) -> list[tuple[str | None, dict[str, Any]]]:
    if not isinstance(runs, list) or not runs:
        raise SweepFileError(f"{where} must be a non-empty list of mappings")
    out = []
    for i, entry in enumerate(runs):
        entry = dict(_mapping(entry, f"{where}[{i}]"))
        run_name = entry.pop("name", None)
        if run_name is not None and (not isinstance(run_name, str) or not NAME_RE.match(run_name)):
            raise SweepFileError(f"{where}[{i}].name {run_name!r} must be a folder-safe word")
        _check_params(entry, f"{where}[{i}]")
        out.append((run_name, entry))
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


def _check_keys(mapping: dict, valid: tuple[str, ...] | list[str], where: str, what: str) -> None:
    for key in mapping:
        if key not in valid:
            close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SweepFileError(f"{where}: unknown {what} {key!r}{hint}; valid: {', '.join(valid)}")


def _check_params(params: dict, where: str) -> None:
    _check_keys(params, list(FIELD_TYPES), where, "parameter")
    for key in params:
        if key in RUNNER_KEYS:
            raise SweepFileError(f"{where}: {key} is set by the sweep runner for each run; remove it from the file")


def _random_spec(spec: Any, where: str) -> tuple[int, int, dict[str, Any]]:
    spec = _mapping(spec, where)
    _check_keys(spec, RANDOM_KEYS, where, "key")
    samples, seed, space = spec.get("samples"), spec.get("seed", 0), _mapping(spec.get("space"), f"{where}.space")
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise SweepFileError(f"{where}.samples must be a whole number >= 1, got {samples!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise SweepFileError(f"{where}.seed must be a whole number, got {seed!r}")
    if not space:
        raise SweepFileError(f"{where}.space is empty; give parameters with a list or a range to sample")
    _check_params(space, f"{where}.space")
    return samples, seed, space


def _random_variants(samples: int, seed: int, space: dict[str, Any], fixed: dict[str, Any],
                     where: str) -> list[dict[str, Any]]:
    """`samples` distinct draws from `space` (a repeated draw would be the same run twice)."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(samples * 20):
        values = {key: _sample(dist, rng, f"{where}.space.{key}") for key, dist in space.items()}
        key = config_key({**fixed, **values})
        if key not in seen:
            seen.add(key)
            out.append(values)
        if len(out) == samples:
            return out
    raise SweepFileError(f"{where}: found only {len(out)} distinct samples of the space in {samples * 20} draws, "
                         f"fewer than samples: {samples}; lower samples or widen the space")


def _sample(dist: Any, rng: random.Random, where: str) -> Any:
    """A list: one of its values. {log_uniform: [a, b]} / {uniform: [a, b]}: a number rounded to 3
    significant digits (so the run name shows the value used); {int_uniform: [a, b]}: a whole number."""
    if isinstance(dist, list) and dist:
        return rng.choice(dist)
    if isinstance(dist, dict) and len(dist) == 1:
        (kind, bounds), = dist.items()
        ok = isinstance(bounds, list) and len(bounds) == 2 and all(
            isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds) and bounds[0] <= bounds[1]
        if kind == "log_uniform" and ok and bounds[0] > 0:
            return _round3(math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1]))))
        if kind == "uniform" and ok:
            return _round3(rng.uniform(*bounds))
        if kind == "int_uniform" and ok and all(isinstance(b, int) for b in bounds):
            return rng.randint(*bounds)
    raise SweepFileError(f"{where} must be a list of values or one of {{log_uniform: [low, high]}} (low > 0), "
                         f"{{uniform: [low, high]}}, {{int_uniform: [low, high]}}; got {dist!r}")


def _round3(x: float) -> float:
    return float(f"{x:.3g}")


def _number_text(value: float) -> str:
    """1e+06 -> '1e6', 1e-06 -> '1e-6', 0.01 -> '0.01': short, and the sign of an exponent is kept."""
    text = f"{value:g}"
    mantissa, _, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else text


def _format(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return key if value else f"no{key}"
    if isinstance(value, str) and key in ("model", "optimizer", "scheduler", "dataset", "device", "amp_dtype"):
        return value
    if isinstance(value, float):
        value = _number_text(value)
    return f"{ABBREVIATIONS.get(key, key)}{value}"


def _describe(params: dict[str, Any], varying: list[str]) -> str:
    """A run's name: the values of the parameters that vary, in a folder-safe form."""
    text = "-".join(_format(k, params[k]) for k in varying if k in params)
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)
