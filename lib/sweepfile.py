"""Sweep files: small YAML files that say what is fixed and what varies.

    name: demo                      # the folder under reports/
    description: ...                # optional
    fixed: {dataset: digits}        # parameters every run shares
    grid: {model: [lenet, mlp]}     # the cartesian product of value lists
    runs:                           # explicit runs, each merged over `fixed`
      - {name: long, epochs: 30}
    random:                         # N samples over `fixed`
      samples: 4
      seed: 0
      space: {lr: {log_uniform: [0.0001, 0.1]}, optimizer: [sgd, adam]}

The runs of `grid`, `runs` and `random` are listed one after another; a file with none of them is
a single run of `fixed`. Every expanded run is validated with RunConfig before anything executes,
and each gets a name built from the parameters that vary, e.g. `preact_resnet18-mix-sgd-lr0.01-cosine`.
"""

from __future__ import annotations

import difflib
import itertools
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lib.config import FIELD_TYPES, ConfigError, RunConfig

TOP_KEYS = ("name", "description", "fixed", "grid", "runs", "random")
RANDOM_KEYS = ("samples", "seed", "space")
# The runner sets these for every run; a sweep file that sets them would fight it.
RUNNER_KEYS = ("out_dir", "resume", "run_name", "wandb_group")
_ABBREVIATIONS = {"lr": "lr", "weight_decay": "wd", "batch_size": "bs", "epochs": "ep", "momentum": "mom",
                  "label_smoothing": "ls", "mix_alpha": "alpha", "val_fraction": "val", "t_max": "tmax",
                  "step_size": "step", "patience": "pat", "min_delta": "md", "input_size": "in"}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SweepFileError(ConfigError):
    """A sweep file is malformed; the message names the file, the place and the fix."""


@dataclass
class RunSpec:
    name: str
    params: dict[str, Any]  # fixed merged with this run's own values: what the sweep file gives
    source: str  # grid, runs, random or fixed


@dataclass
class Sweep:
    name: str
    path: Path | None
    description: str
    fixed: dict[str, Any]
    varying: list[str]  # parameters that differ between runs, in the order the file names them
    runs: list[RunSpec] = field(default_factory=list)

    def run(self, name: str) -> RunSpec:
        return next(r for r in self.runs if r.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path) if self.path else None, "description": self.description,
                "fixed": self.fixed, "varying": self.varying,
                "runs": [{"name": r.name, "source": r.source, "params": r.params} for r in self.runs]}


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads 1e-4 as a string; sweep files mean a number."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def read_yaml(path: str | Path) -> Any:
    """A YAML file's content (1e-4 read as a number), or a SweepFileError naming the line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SweepFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SweepFileError(f"{path}: YAML syntax error{where}: {problem}") from None


def is_sweep(raw: Any) -> bool:
    """Whether a parsed YAML file is a sweep file rather than a flat mapping of run parameters."""
    return isinstance(raw, dict) and bool(set(raw) & {"fixed", "grid", "runs", "random"})


def load_sweep(path: str | Path) -> Sweep:
    return parse_sweep(read_yaml(path), Path(path))


def parse_sweep(raw: Any, path: Path | None = None) -> Sweep:
    where = str(path) if path else "sweep"
    if not isinstance(raw, dict):
        raise SweepFileError(f"{where}: expected a mapping with keys {', '.join(TOP_KEYS)}, got {type(raw).__name__}")
    _check_keys(raw, TOP_KEYS, where, "top-level key")
    name = raw.get("name", path.stem if path else None)
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise SweepFileError(f"{where}: name {name!r} must be a folder-safe word (letters, digits, _ . -)")
    fixed = _mapping(raw.get("fixed", {}), f"{where}: fixed")
    _check_params(fixed, f"{where}: fixed")

    variants: list[tuple[str | None, dict[str, Any], str]] = []  # (name, values, source)
    order: list[str] = []
    if "grid" in raw:
        grid = _mapping(raw["grid"], f"{where}: grid")
        if not grid:
            raise SweepFileError(f"{where}: grid is empty; give at least one parameter with a list of values")
        _check_params(grid, f"{where}: grid")
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise SweepFileError(f"{where}: grid.{key} must be a non-empty list of values, got {values!r}")
        order += list(grid)
        for combo in itertools.product(*grid.values()):
            variants.append((None, dict(zip(grid, combo)), "grid"))
    if "runs" in raw:
        runs = raw["runs"]
        if not isinstance(runs, list) or not runs:
            raise SweepFileError(f"{where}: runs must be a non-empty list of mappings")
        for i, entry in enumerate(runs):
            entry = dict(_mapping(entry, f"{where}: runs[{i}]"))
            run_name = entry.pop("name", None)
            if run_name is not None and (not isinstance(run_name, str) or not _NAME_RE.match(run_name)):
                raise SweepFileError(f"{where}: runs[{i}].name {run_name!r} must be a folder-safe word")
            _check_params(entry, f"{where}: runs[{i}]")
            order += [k for k in entry if k not in order]
            variants.append((run_name, entry, "runs"))
    if "random" in raw:
        sampled = _random_variants(raw["random"], f"{where}: random")
        order += [k for k in sampled[0] if k not in order]
        variants += [(None, values, "random") for values in sampled]
    if not variants:
        variants = [(name, {}, "fixed")]

    merged = [{**fixed, **values} for _, values, _ in variants]
    varying = [k for k in dict.fromkeys(order) if len({repr(m.get(k, _MISSING)) for m in merged}) > 1]
    names = _unique_names([given or _describe(m, varying) or name for (given, _, _), m in zip(variants, merged)],
                          [given is not None for given, _, _ in variants], where)
    runs = [RunSpec(n, m, source) for n, m, (_, _, source) in zip(names, merged, variants)]
    for spec in runs:
        try:
            RunConfig.from_dict({**spec.params, "out_dir": "unused"})
        except ConfigError as exc:
            raise SweepFileError(f"{where}: run {spec.name!r} ({spec.source}): {exc}") from None
    return Sweep(name, path, str(raw.get("description", "")).strip(), fixed, varying, runs)


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


def _random_variants(spec: Any, where: str) -> list[dict[str, Any]]:
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
    rng = random.Random(seed)
    return [{key: _sample(dist, rng, f"{where}.space.{key}") for key, dist in space.items()} for _ in range(samples)]


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


def _format(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return key if value else f"no{key}"
    if isinstance(value, str) and key in ("model", "optimizer", "scheduler", "dataset", "device", "amp_dtype"):
        return value
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{_ABBREVIATIONS.get(key, key)}{value}"


def _describe(params: dict[str, Any], varying: list[str]) -> str:
    return "-".join(_format(k, params[k]) for k in varying if k in params)


def _unique_names(names: list[str], given: list[bool], where: str) -> list[str]:
    safe = [re.sub(r"[^A-Za-z0-9_.-]", "_", n) for n in names]
    seen: dict[str, int] = {}
    out = []
    for name, explicit in zip(safe, given):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            if explicit:
                raise SweepFileError(f"{where}: run name {name!r} is used twice; names must be unique")
            name = f"{name}-{seen[name]}"
        out.append(name)
    return out
