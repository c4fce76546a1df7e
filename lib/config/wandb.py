"""W&B sweep-configuration files, accepted as they are: converted to this project's sweep format.

A W&B file (`method`, `parameters`, `metric`, `run_cap`, `early_terminate`) becomes the mapping that
`lib.config.sweepfile.parse_sweep` reads:

    parameters with `value`      -> fixed
    method grid                  -> grid (one axis per parameter with `values`)
    method random / bayes        -> search: {method: random | gp, trials: run_cap, seed: 0, space}
    metric {name, goal}          -> metric (goal defaults to minimize, as in W&B)
    early_terminate hyperband    -> early_terminate: {type: asha, min_epochs: lowest band, reduction_factor: eta}
    project                      -> fixed.wandb_project

W&B's `bayes` fits a Gaussian process to the runs so far and picks the next point by expected
improvement; Optuna's GPSampler (`gp`) does the same. W&B's hyperband stops, at each band, runs
below the top 1/eta: one asynchronous successive-halving schedule, which is Optuna's
SuccessiveHalvingPruner. What cannot be expressed (weighted categories, nested parameters, other
stopping rules) is refused with one line naming the file, the W&B key, the value and what is valid.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from lib.core.formatting import is_number, is_whole, shown
from lib.config.runconfig import FIELD_TYPES, base_type, unknown_field
from lib.config.errors import SweepFileError
from lib.config.keys import closest, did_you_mean, unknown
from lib.config.naming import NAME_RE
from lib.config.runs import MAX_RUNS, RUNNER_KEYS
from lib.config.search import GOALS, HISTORY_METRICS

WANDB_METHODS = ("grid", "random", "bayes")
SEARCH_METHODS = {"random": "random", "bayes": "gp"}
AGENT_KEYS = ("program", "command", "entity", "controller")  # how W&B's agent launches runs; not ours
WANDB_KEYS = ("name", "description", "method", "parameters", "metric", "run_cap", "early_terminate", "project",
            *AGENT_KEYS)
METRIC_KEYS = ("name", "goal", "target")
HYPERBAND_KEYS = ("type", "min_iter", "max_iter", "s", "eta", "strict")
DEFAULT_ETA = 3

_REQUIRED = object()
# Each W&B distribution's keys, with W&B's default where it has one. W&B's default q is 1.0; 1 here
# rounds to the same values and keeps them whole numbers for integer fields.
DISTRIBUTIONS: dict[str, dict[str, Any]] = {
    "constant": {"value": _REQUIRED},
    "categorical": {"values": _REQUIRED},
    "int_uniform": {"min": _REQUIRED, "max": _REQUIRED},
    "uniform": {"min": _REQUIRED, "max": _REQUIRED},
    "q_uniform": {"min": _REQUIRED, "max": _REQUIRED, "q": 1},
    "log_uniform": {"min": _REQUIRED, "max": _REQUIRED},
    "log_uniform_values": {"min": _REQUIRED, "max": _REQUIRED},
    "q_log_uniform": {"min": _REQUIRED, "max": _REQUIRED, "q": 1},
    "q_log_uniform_values": {"min": _REQUIRED, "max": _REQUIRED, "q": 1},
    "inv_log_uniform": {"min": _REQUIRED, "max": _REQUIRED},
    "inv_log_uniform_values": {"min": _REQUIRED, "max": _REQUIRED},
    "normal": {"mu": 0.0, "sigma": 1.0},
    "q_normal": {"mu": 0.0, "sigma": 1.0, "q": 1},
    "log_normal": {"mu": 0.0, "sigma": 1.0},
    "q_log_normal": {"mu": 0.0, "sigma": 1.0, "q": 1},
    "beta": {"a": 1.0, "b": 1.0},
    "q_beta": {"a": 1.0, "b": 1.0, "q": 1},
}
# W&B distribution -> our space kind and its arguments. W&B's log_uniform and q_log_uniform take
# natural-log exponents; ours take values. inv_log_uniform returns X with log(1/X) uniform on
# [min, max], so log X is uniform on [-max, -min]; inv_log_uniform_values has log(1/X) uniform on
# [log(1/max), log(1/min)], so X is log-uniform on [min, max] itself.
_TO_SPACE = {
    "int_uniform": ("int_uniform", lambda p: [p["min"], p["max"]]),
    "uniform": ("uniform", lambda p: [p["min"], p["max"]]),
    "q_uniform": ("q_uniform", lambda p: [p["min"], p["max"], p["q"]]),
    "log_uniform": ("log_uniform", lambda p: [math.exp(p["min"]), math.exp(p["max"])]),
    "log_uniform_values": ("log_uniform", lambda p: [p["min"], p["max"]]),
    "q_log_uniform": ("q_log_uniform", lambda p: [math.exp(p["min"]), math.exp(p["max"]), p["q"]]),
    "q_log_uniform_values": ("q_log_uniform", lambda p: [p["min"], p["max"], p["q"]]),
    "inv_log_uniform": ("log_uniform", lambda p: [math.exp(-p["max"]), math.exp(-p["min"])]),
    "inv_log_uniform_values": ("log_uniform", lambda p: [p["min"], p["max"]]),
    "normal": ("normal", lambda p: [p["mu"], p["sigma"]]),
    "q_normal": ("q_normal", lambda p: [p["mu"], p["sigma"], p["q"]]),
    "log_normal": ("log_normal", lambda p: [p["mu"], p["sigma"]]),
    "q_log_normal": ("q_log_normal", lambda p: [p["mu"], p["sigma"], p["q"]]),
    "beta": ("beta", lambda p: [p["a"], p["b"]]),
    "q_beta": ("q_beta", lambda p: [p["a"], p["b"], p["q"]]),
}
_EXPONENTS = ("log_uniform", "q_log_uniform", "inv_log_uniform")
_VALUES = ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values")
# W&B's grid enumerates these two: int_uniform as min..max, q_uniform as min, min+q, ... below max.
_GRID_DISTRIBUTIONS = ("int_uniform", "q_uniform")


def is_wandb_sweep(raw: Any) -> bool:
    """Whether a parsed YAML file is a W&B sweep configuration (our own format has neither key)."""
    return isinstance(raw, dict) and ("parameters" in raw or "method" in raw)


def convert(raw: dict, path: Path | None) -> tuple[dict[str, Any], list[str]]:
    """A W&B sweep configuration as a sweep file of ours, and one-line notes on what was ignored."""
    where = str(path) if path else "sweep"
    notes: list[str] = []
    _check_keys(raw, WANDB_KEYS, where, "", "W&B sweep key")
    method = raw.get("method")
    if method not in WANDB_METHODS:
        what = "is missing" if method is None else f"{method!r} is not supported"
        raise SweepFileError(f"{where}: method {what}; valid: {', '.join(WANDB_METHODS)}")
    parameters = raw.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise SweepFileError(f"{where}: parameters must be a non-empty mapping of parameter names to "
                             f"{{value: ...}}, {{values: [...]}} or a distribution; got {parameters!r}")

    out: dict[str, Any] = {}
    name = _name(raw, path, where, notes)
    if name is not None:
        out["name"] = name
    if raw.get("description") is not None:
        out["description"] = raw["description"]
    fixed: dict[str, Any] = {}
    varying: dict[str, Any] = {}  # name -> list of values, or {kind: [args]}
    for key, spec in parameters.items():
        kind, value = _parameter(key, spec, method, where, notes)
        (fixed if kind == "fixed" else varying)[key] = value
    if "project" in raw:
        if not isinstance(raw["project"], str) or not raw["project"]:
            raise SweepFileError(f"{where}: project must be a W&B project name, got {raw['project']!r}")
        if "wandb_project" in fixed:
            raise SweepFileError(f"{where}: project and parameters.wandb_project both name the W&B project; "
                                 f"keep one")
        fixed["wandb_project"] = raw["project"]
    out["fixed"] = fixed

    run_cap = raw.get("run_cap")
    if run_cap is not None and not _whole(run_cap, 1):
        raise SweepFileError(f"{where}: run_cap must be a whole number >= 1, got {shown(run_cap)}")
    if method == "grid":
        size = math.prod(len(v) for v in varying.values())
        if run_cap is not None and run_cap < size:
            raise SweepFileError(f"{where}: run_cap {run_cap} is below the grid's {size} runs; W&B would stop "
                                 f"part-way through the grid: raise run_cap to {size} or remove it")
        if varying:
            out["grid"] = varying
    if "metric" in raw:
        out["metric"] = _metric(raw["metric"], where, notes)
    if method in SEARCH_METHODS:
        if run_cap is None:
            raise SweepFileError(f"{where}: run_cap is missing; method {method} needs a number of trials "
                                 f"(W&B would run until stopped): add e.g. run_cap: 20")
        if not varying:
            raise SweepFileError(f"{where}: parameters: method {method} needs a parameter with values or a "
                                 f"distribution; every parameter has a single value")
        if method == "bayes" and "metric" not in raw:
            raise SweepFileError(f"{where}: metric is missing; method bayes optimizes a metric: add e.g. "
                                 f"metric: {{name: val_acc, goal: maximize}}")
        out["search"] = {"method": SEARCH_METHODS[method], "trials": run_cap, "seed": 0, "space": varying}
    if "early_terminate" in raw:
        if "metric" not in raw:
            raise SweepFileError(f"{where}: early_terminate compares runs by a metric, and metric is missing: "
                                 f"add e.g. metric: {{name: val_loss, goal: minimize}}")
        out["early_terminate"] = _early_terminate(raw["early_terminate"], where, notes)
    agent = [k for k in AGENT_KEYS if k in raw]
    if agent:
        notes.append(f"{_join(agent)} {'is a W&B agent setting' if len(agent) == 1 else 'are W&B agent settings'}; "
                     f"ignored here (runs execute notebooks/train.ipynb)")
    return out, notes


def _name(raw: dict, path: Path | None, where: str, notes: list[str]) -> str | None:
    """W&B's display name, made folder-safe (it names the folder under reports/); else the file's stem."""
    name = raw.get("name")
    if name is None:
        return path.stem if path else None
    if not isinstance(name, str):
        raise SweepFileError(f"{where}: name must be text, got {name!r}")
    if NAME_RE.match(name):
        return name
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-_.")
    if not safe:
        raise SweepFileError(f"{where}: name {name!r} has no letters or digits to name a folder with; "
                             f"use e.g. name: my-sweep")
    notes.append(f"name {name!r} is used as {safe!r} (it names the sweep's folder under reports/)")
    return safe


def _check_parameter_name(key: Any, where: str) -> None:
    if key not in FIELD_TYPES:
        raise SweepFileError(f"{where}: parameters.{key}: {unknown_field(key, 'parameter')}")
    if key in RUNNER_KEYS:
        raise SweepFileError(f"{where}: parameters.{key}: {key} is set by the sweep runner for each run; "
                             f"remove it from the file")


def _parameter(key: str, spec: Any, method: str, where: str, notes: list[str]) -> tuple[str, Any]:
    """('fixed', value), or ('vary', a list of values or {kind: [args]}) for one W&B parameter."""
    at = f"parameters.{key}"
    if not isinstance(spec, dict):
        raise SweepFileError(f"{where}: {at} must be a mapping such as {{value: 0.1}}, {{values: [0.1, 0.01]}} "
                             f"or {{min: 0.0, max: 1.0}}; got {spec!r}")
    if "parameters" in spec:
        raise SweepFileError(f"{where}: {at}.parameters: nested parameters are not supported (a run's config is "
                             f"flat); list each one under the top-level parameters")
    _check_parameter_name(key, where)
    if "probabilities" in spec or spec.get("distribution") == "categorical_w_probabilities":
        raise SweepFileError(f"{where}: {at}.probabilities: weighted categories cannot be expressed here "
                             f"(Optuna samples categories evenly); remove probabilities, or repeat a value in "
                             f"a grid")
    dist = spec["distribution"] if "distribution" in spec else _inferred(spec, where, at)
    if dist not in DISTRIBUTIONS:
        hint = did_you_mean(dist, DISTRIBUTIONS)
        raise SweepFileError(f"{where}: {at}.distribution {dist!r} is not a W&B distribution{hint}; valid: "
                             f"{', '.join(DISTRIBUTIONS)}")
    keys = DISTRIBUTIONS[dist]
    _check_keys(spec, ["distribution", *keys], where, at, f"key for distribution {dist}")
    missing = [k for k, default in keys.items() if default is _REQUIRED and k not in spec]
    if missing:
        raise SweepFileError(f"{where}: {at}: distribution {dist} needs {_join(missing)}; got {spec!r}")
    p = {k: spec.get(k, default) for k, default in keys.items()}

    if dist == "constant":
        return "fixed", p["value"]
    if dist == "categorical":
        return "vary", _values(p["values"], where, f"{at}.values")
    if method == "grid" and dist not in _GRID_DISTRIBUTIONS:
        raise SweepFileError(f"{where}: {at}: distribution {dist} in method grid; grid needs values lists "
                             f"(or int_uniform, q_uniform); use method random or bayes for distributions")
    _check_numbers(dist, p, where, at)
    _check_whole_field(key, dist, p, where, at)
    if method == "grid":
        return "vary", _grid_values(dist, p, where, at)
    if dist in _EXPONENTS and max(abs(p["min"]), abs(p["max"])) > 700:
        raise SweepFileError(f"{where}: {at}: W&B's {dist} takes natural-log exponents, and e^{p['min']}..e^"
                             f"{p['max']} is out of range; for the values themselves use {dist}_values")
    kind, args = _TO_SPACE[dist]
    values = args(p)
    if dist in ("log_uniform", "q_log_uniform") and 0 < p["min"] < p["max"] <= 1:
        notes.append(f"{at} uses {dist}: W&B reads min and max as natural-log exponents, so values run from "
                     f"{values[0]:.4g} to {values[1]:.4g}; for values from {p['min']} to {p['max']} use "
                     f"{dist}_values")
    return "vary", {kind: values}


def _inferred(spec: dict, where: str, at: str) -> str:
    """W&B's distribution when none is named: values, value, or the type of min and max."""
    if "values" in spec:
        return "categorical"
    if "value" in spec:
        return "constant"
    if "min" in spec and "max" in spec:
        ints = all(isinstance(spec[k], int) and not isinstance(spec[k], bool) for k in ("min", "max"))
        return "int_uniform" if ints else "uniform"
    raise SweepFileError(f"{where}: {at} needs value, values, min and max, or a distribution; got {spec!r}")


def _values(values: Any, where: str, at: str) -> list:
    if not isinstance(values, list) or not values:
        raise SweepFileError(f"{where}: {at} must be a non-empty list, got {values!r}")
    for v in values:
        if isinstance(v, (list, dict)):
            raise SweepFileError(f"{where}: {at}: {v!r} is a {type(v).__name__}; a run's config takes single "
                                 f"values")
    return values


def _check_numbers(dist: str, p: dict[str, Any], where: str, at: str) -> None:
    for k, v in p.items():
        if not is_number(v):
            raise SweepFileError(f"{where}: {at}.{k} must be a number that a float can hold, got {shown(v)}")
    if dist == "int_uniform" and not all(_whole(p[k]) for k in ("min", "max")):
        raise SweepFileError(f"{where}: {at}: int_uniform needs whole-number min and max, got {p['min']!r} and "
                             f"{p['max']!r}; use uniform for real numbers")
    if "min" in p and not p["min"] < p["max"]:
        raise SweepFileError(f"{where}: {at}: min {p['min']!r} must be below max {p['max']!r}")
    if dist in _VALUES and p["min"] <= 0:
        raise SweepFileError(f"{where}: {at}.min {p['min']!r}: {dist} needs min > 0 (a log scale)")
    for k in ("q", "sigma", "a", "b"):
        if k in p and p[k] <= 0:
            raise SweepFileError(f"{where}: {at}.{k} must be > 0, got {p[k]!r}")


# W&B distributions that draw real numbers, and the one that draws whole numbers like them.
_WHOLE = {"uniform": "int_uniform", "log_uniform": "q_log_uniform", "log_uniform_values": "q_log_uniform_values",
          "inv_log_uniform": "q_log_uniform", "inv_log_uniform_values": "q_log_uniform_values",
          "normal": "q_normal", "log_normal": "q_log_normal", "beta": "q_beta"}


def _check_whole_field(key: str, dist: str, p: dict[str, Any], where: str, at: str) -> None:
    """A whole-number field takes a distribution of whole numbers. Refused rather than rounded: the study
    would record the real number drawn while the run trained with another (W&B itself would hand the
    run the real number, which it cannot take)."""
    if base_type(key)[0] is not int:
        return
    if dist in _WHOLE:
        fix = "int_uniform, or give min and max as whole numbers without a distribution" if dist == "uniform" \
            else f"{_WHOLE[dist]} (q: 1 keeps every whole number)"
        raise SweepFileError(f"{where}: {at}: {key} takes whole numbers and distribution {dist} draws real ones; "
                             f"use {fix}")
    if "q" in p and not float(p["q"]).is_integer():
        raise SweepFileError(f"{where}: {at}.q {p['q']!r}: {key} takes whole numbers, so q must be a whole number")


def _grid_values(dist: str, p: dict[str, Any], where: str, at: str) -> list:
    """W&B's grid points for int_uniform (min..max) and q_uniform (min, min + q, ... below max)."""
    if dist == "int_uniform":
        count = p["max"] - p["min"] + 1
    else:
        count = math.ceil((p["max"] - p["min"]) / p["q"])
    if count > MAX_RUNS:
        raise SweepFileError(f"{where}: {at}: {dist} gives {count:,} grid values, above the cap of "
                             f"{MAX_RUNS:,}; narrow min and max or use method random")
    if dist == "int_uniform":
        return list(range(p["min"], p["max"] + 1))
    values = [p["min"] + i * p["q"] for i in range(count)]
    # 0.1 + 2 * 0.1 is 0.30000000000000004: keep the value the file means, which also names the run
    return values if all(isinstance(v, int) for v in values) else [float(f"{v:.12g}") for v in values]


def _metric(metric: Any, where: str, notes: list[str]) -> dict[str, str]:
    if not isinstance(metric, dict):
        raise SweepFileError(f"{where}: metric must be a mapping such as {{name: val_acc, goal: maximize}}, "
                             f"got {metric!r}")
    _check_keys(metric, METRIC_KEYS, where, "metric", "metric key")
    name = metric.get("name")
    if name not in HISTORY_METRICS:
        hint = _metric_hint(name)
        raise SweepFileError(f"{where}: metric.name {name!r} is not logged by train.ipynb"
                             f"{f' (did you mean {hint!r}?)' if hint else ''}; valid: {', '.join(HISTORY_METRICS)}")
    goal = metric.get("goal", "minimize")
    if goal not in GOALS:
        raise SweepFileError(f"{where}: metric.goal {goal!r}; valid: {', '.join(GOALS)}")
    if "goal" not in metric and name.endswith("acc"):
        notes.append(f"metric.goal is missing, and W&B's default is minimize: {name} will be minimized; add "
                     f"goal: maximize if you meant the best accuracy")
    if "target" in metric:
        notes.append(f"metric.target is ignored: the sweep runs all its trials rather than stopping when a run "
                     f"reaches {metric['target']!r}")
    return {"name": name, "goal": goal}


def _metric_hint(name: Any) -> str | None:
    """Our column for a metric name W&B users often log: accuracy, val/loss, validation_accuracy, ..."""
    if not isinstance(name, str):
        return None
    words = re.split(r"[^a-z]+", name.lower())
    split = "train" if any(w in ("train", "training") for w in words) else "val"
    if any(w in ("acc", "accuracy", "top1", "score") for w in words):
        return f"{split}_acc"
    if any(w in ("loss", "error", "nll") for w in words):
        return f"{split}_loss"
    return closest(name, HISTORY_METRICS)


def _early_terminate(spec: Any, where: str, notes: list[str]) -> dict[str, Any]:
    """W&B's hyperband as ASHA: rungs from its lowest band, every eta times further, top 1/eta kept."""
    if not isinstance(spec, dict):
        raise SweepFileError(f"{where}: early_terminate must be a mapping such as {{type: hyperband, min_iter: 1, "
                             f"eta: 3}}, got {spec!r}")
    if spec.get("type") != "hyperband":
        raise SweepFileError(f"{where}: early_terminate.type {spec.get('type')!r} is not supported; valid: hyperband")
    _check_keys(spec, HYPERBAND_KEYS, where, "early_terminate", "hyperband key")
    eta = spec.get("eta", DEFAULT_ETA)
    if not is_number(eta) or eta != int(eta) or eta < 2:
        raise SweepFileError(f"{where}: early_terminate.eta {shown(eta)}: ASHA here needs a whole-number reduction "
                             f"factor >= 2 that a float can hold (runs below the top 1/eta stop at each band); "
                             f"W&B's default is 3")
    eta = int(eta)
    if "max_iter" in spec:
        max_iter, s = spec["max_iter"], spec.get("s")
        if not _whole(max_iter, 1) or not is_number(max_iter):
            raise SweepFileError(f"{where}: early_terminate.max_iter must be a whole number of epochs >= 1 that a "
                                 f"float can hold, got {shown(max_iter)}")
        if not _whole(s, 1):
            given = "is missing" if s is None else shown(s)
            raise SweepFileError(f"{where}: early_terminate.s {given}: with max_iter, W&B needs s, the number of "
                                 f"bands below max_iter, a whole number >= 1")
        # W&B's bands: int(max_iter / eta^k) for k = 1..s, while max_iter / eta^k >= 1
        band, lowest = float(max_iter), None
        for _ in range(s):
            band /= eta
            if band < 1:
                break
            lowest = int(band)
        if lowest is None:
            raise SweepFileError(f"{where}: early_terminate: max_iter {max_iter} / eta {eta} is below 1, so "
                                 f"there is no band; raise max_iter or lower eta")
        if "min_iter" in spec:
            notes.append("early_terminate.min_iter is ignored because max_iter is given (as in W&B)")
    elif "min_iter" in spec:
        lowest = spec["min_iter"]
        if not _whole(lowest, 1) or not is_number(lowest):
            raise SweepFileError(f"{where}: early_terminate.min_iter must be a whole number >= 1 that a float can "
                                 f"hold (the first epoch at which runs are compared), got {shown(lowest)}")
    else:
        raise SweepFileError(f"{where}: early_terminate needs min_iter (the first band), or max_iter and s; "
                             f"W&B requires one of them")
    if "strict" in spec:
        notes.append("early_terminate.strict is ignored (W&B's own hyperband code does not read it either)")
    return {"type": "asha", "min_epochs": lowest, "reduction_factor": eta}


def _check_keys(mapping: dict, valid: list[str] | tuple[str, ...], where: str, at: str, what: str) -> None:
    """Unknown keys, named with their W&B key path (`parameters.lrr: unknown parameter 'lrr' ...`)."""
    for key in mapping:
        if key not in valid:
            place = f"{at}.{key}: " if at else ""
            raise SweepFileError(f"{where}: {place}{unknown(key, valid, what)}")


def _whole(value: Any, minimum: int | None = None) -> bool:
    return is_whole(value) and (minimum is None or value >= minimum)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
