"""Search and early termination on Optuna: what a sweep file's `metric`, `search` and `early_terminate` mean.

    metric: {name: val_acc, goal: maximize}        # any per-epoch history column
    search:
      method: tpe                                  # tpe | gp | random | qmc | grid
      trials: 24
      seed: 0
      space: {lr: {log_uniform: [0.0001, 0.1]}, optimizer: [sgd, adam]}
    early_terminate: {type: asha, min_epochs: 1, reduction_factor: 3}   # asha | hyperband | median

Every run of a sweep with `search` or `early_terminate` is a trial of one Optuna study, kept in the
sweep folder (`study.journal`, Optuna's journal storage) or in a database given with
--study-storage. The sweep runner asks the study for new trials and tells it their results; a run
reports its metric after each epoch and asks the study's pruner whether to go on (`TrialReporter`),
so early termination works wherever the run executes, as long as it can reach the storage.

A trial's value is the metric at the run's best epoch (lowest validation loss: the checkpoint the
run keeps and tests). Parsing imports neither Optuna nor torch, so a bad file fails at once.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any

from lib.core.formatting import is_number, is_whole, shown
from lib.config.runconfig import FIELD_TYPES, RunConfig, base_type, unknown_field
from lib.config.errors import ConfigError, SweepFileError
from lib.config.keys import check_keys
from lib.config.runs import RUNNER_KEYS

HISTORY_METRICS = ("val_acc", "val_loss", "train_acc", "train_loss")  # per-epoch columns a study can follow
GOALS = ("maximize", "minimize")
METHODS = ("tpe", "gp", "random", "qmc", "grid")
TERMINATIONS = ("asha", "hyperband", "median")
SEARCH_KEYS = ("method", "trials", "seed", "space", "startup_trials")
TERMINATE_KEYS = ("type", "min_epochs", "reduction_factor", "max_epochs", "startup_trials")
MAX_TRIALS = 100_000
MAX_SEED = 2**32 - 1  # numpy's generators, which Optuna's samplers seed, take no larger seed
# Space kinds: their arguments, and whether Optuna samples them natively (else a quantile in (0, 1)
# goes through the distribution's inverse CDF, so every sampler can search them).
KINDS = {
    "uniform": ("low", "high"), "log_uniform": ("low", "high"), "int_uniform": ("low", "high"),
    "q_uniform": ("low", "high", "q"), "q_log_uniform": ("low", "high", "q"),
    "normal": ("mu", "sigma"), "q_normal": ("mu", "sigma", "q"), "log_normal": ("mu", "sigma"),
    "q_log_normal": ("mu", "sigma", "q"), "beta": ("a", "b"), "q_beta": ("a", "b", "q"),
}
_EDGE = 1e-6  # quantiles stay inside (0, 1), where every inverse CDF is finite
# Kinds that draw real numbers, and the kind that draws whole numbers like them, for whole-number fields.
WHOLE_KINDS = {"uniform": "int_uniform", "log_uniform": "q_log_uniform", "normal": "q_normal",
               "log_normal": "q_log_normal", "beta": "q_beta"}


@dataclass(frozen=True)
class Metric:
    name: str = "val_acc"
    goal: str = "maximize"

    @property
    def direction(self) -> str:
        return self.goal


@dataclass(frozen=True)
class Dimension:
    """One parameter of a search space: a list of choices, or a distribution `kind` with `args`."""

    name: str
    kind: str  # "choice" or one of KINDS
    args: tuple

    @property
    def native(self) -> bool:
        return self.kind in ("choice", "uniform", "log_uniform", "int_uniform")

    def distribution(self):
        """The Optuna distribution sampled for this parameter."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "choice":
            return CategoricalDistribution(list(self.args))
        if self.kind == "int_uniform":
            return IntDistribution(*self.args)
        if self.kind in ("uniform", "q_uniform"):
            return FloatDistribution(self.args[0], self.args[1])
        if self.kind in ("log_uniform", "q_log_uniform"):
            return FloatDistribution(self.args[0], self.args[1], log=True)
        return FloatDistribution(_EDGE, 1 - _EDGE)  # a quantile

    def value(self, sampled: Any) -> Any:
        """The run's value for what Optuna sampled."""
        if self.kind in ("choice", "int_uniform"):
            return sampled
        x = float(sampled)
        kind = self.kind.removeprefix("q_")
        if kind in ("normal", "log_normal"):
            x = statistics.NormalDist(self.args[0], self.args[1]).inv_cdf(x)
            x = math.exp(x) if kind == "log_normal" else x
        elif kind == "beta":
            from scipy.stats import beta

            x = float(beta.ppf(x, self.args[0], self.args[1]))
        if self.kind.startswith("q_"):
            q = self.args[-1]
            steps = round(x / q)
            if self.kind in ("q_uniform", "q_log_uniform"):  # the nearest multiple of q inside [low, high]
                steps = min(max(steps, _steps_inside(*self.args)[0]), _steps_inside(*self.args)[1])
            x = float(f"{steps * q:.12g}")  # 0.30000000000000004 -> 0.3
        else:  # 4 significant digits: finer than any effect, and the run's name and tables show the value used
            x = float(f"{x:.4g}")
        return int(x) if base_type(self.name)[0] is int and x == int(x) else x

    def to_yaml(self) -> Any:
        return list(self.args) if self.kind == "choice" else {self.kind: list(self.args)}


@dataclass(frozen=True)
class Search:
    method: str
    trials: int
    seed: int
    space: dict[str, Dimension]
    # Trials sampled at random before tpe or gp model the results; None: the default, which follows
    # `trials` (so raising the budget continues the same search).
    startup_trials: int | None = None

    @property
    def startup(self) -> int:
        """The startup trials the sampler uses: as given, else a third of the trials, from 2 to 10."""
        return self.startup_trials if self.startup_trials is not None else default_startup_trials(self.trials)

    def sampler(self, trials_before: int = 0):
        """The method's sampler. A study resumed after `trials_before` trials gets a seed of its own,
        so the resumed sampler does not draw the same points again (a seeded sampler restarts its
        random stream in every new process)."""
        import warnings

        import optuna

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if self.method in ("qmc", "grid"):  # the seed orders their points; they continue from the study's record
                return self._sampler(self.seed)
            return self._sampler((self.seed + 7919 * trials_before) % 2**32)

    def _sampler(self, seed: int):
        import optuna

        if self.method == "tpe":
            return optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.startup,
                                              multivariate=True, constant_liar=True)
        if self.method == "gp":
            return optuna.samplers.GPSampler(seed=seed, n_startup_trials=self.startup,
                                             warn_independent_sampling=False)
        if self.method == "qmc":
            return optuna.samplers.QMCSampler(seed=seed, scramble=True, warn_independent_sampling=False,
                                              warn_asynchronous_seeding=False)
        if self.method == "grid":
            return optuna.samplers.GridSampler({k: list(d.args) for k, d in self.space.items()}, seed=seed)
        return optuna.samplers.RandomSampler(seed=seed)

    def distributions(self) -> dict[str, Any]:
        return {name: dim.distribution() for name, dim in self.space.items()}

    def values(self, sampled: dict[str, Any]) -> dict[str, Any]:
        """The run parameters for a trial's sampled parameters."""
        return {name: dim.value(sampled[name]) for name, dim in self.space.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "trials": self.trials, "seed": self.seed,
                "startup_trials": self.startup_trials,
                "space": {name: dim.to_yaml() for name, dim in self.space.items()}}


@dataclass(frozen=True)
class EarlyTerminate:
    type: str
    min_epochs: int = 1  # no run stops before this many epochs
    reduction_factor: int = 3  # asha, hyperband: each rung keeps the best 1/reduction_factor
    max_epochs: int | None = None  # hyperband: the most epochs a run trains (default: the sweep's)
    startup_trials: int = 5  # median: runs that finish before any is stopped

    def pruner(self):
        import optuna

        if self.type == "asha":
            return optuna.pruners.SuccessiveHalvingPruner(min_resource=self.min_epochs,
                                                          reduction_factor=self.reduction_factor)
        if self.type == "hyperband":
            return optuna.pruners.HyperbandPruner(min_resource=self.min_epochs, max_resource=self.max_epochs,
                                                  reduction_factor=self.reduction_factor)
        return optuna.pruners.MedianPruner(n_startup_trials=self.startup_trials,
                                           n_warmup_steps=self.min_epochs - 1)

    def to_dict(self) -> dict[str, Any]:
        """The fields that mean something for this type."""
        used = {"asha": ("reduction_factor",), "hyperband": ("reduction_factor", "max_epochs"),
                "median": ("startup_trials",)}[self.type]
        return {"type": self.type, "min_epochs": self.min_epochs, **{k: getattr(self, k) for k in used}}


# ---------------------------------------------------------------------------------------------
# Parsing


def _count(n: int, sep: str = ",") -> str:
    """A count of runs as text: '1,024'; a count too long to read as a power of ten."""
    digits = len(str(n))
    return f"{n:{sep}}" if digits <= 20 else f"about 10^{digits - 1}"


def parse_metric(raw: Any, where: str) -> Metric:
    if raw is None:
        return Metric()
    if not isinstance(raw, dict):
        raise SweepFileError(f"{where}: metric must be a mapping like {{name: val_acc, goal: maximize}}, got {raw!r}")
    check_keys(raw, ("name", "goal"), f"{where}: metric")
    name = raw.get("name", "val_acc")
    if name not in HISTORY_METRICS:
        raise SweepFileError(f"{where}: metric.name {name!r} is not a per-epoch history column; valid: "
                          f"{', '.join(HISTORY_METRICS)}")
    goal = raw.get("goal", "minimize" if name.endswith("loss") else "maximize")
    if goal not in GOALS:
        raise SweepFileError(f"{where}: metric.goal {goal!r} is not valid; valid: {', '.join(GOALS)}")
    return Metric(name, goal)


def parse_search(raw: Any, fixed: dict[str, Any], where: str, section: str = "search", trials_key: str = "trials",
                 max_runs: int | None = None, confirm_top: int = 0, confirm_seeds: int = 0) -> Search:
    """The `search` section (`section` and `trials_key` name what the user wrote, for `random: {samples}`).
    A budget of more runs than `max_runs` is refused like any sweep above the cap; the runs are the
    trials and the confirmation runs (`confirm: {top, seeds}` reruns up to `confirm_top` of the
    trials' configurations with `confirm_seeds` more seeds)."""
    file, where = where, f"{where}: {section}"
    if not isinstance(raw, dict):
        raise SweepFileError(f"{where} must be a mapping with keys {', '.join(SEARCH_KEYS)}, got {raw!r}")
    check_keys(raw, SEARCH_KEYS, where)
    method = raw.get("method", "tpe")
    if method not in METHODS:
        raise SweepFileError(f"{where}.method {method!r} is not valid; valid: {', '.join(METHODS)}")
    space_raw = raw.get("space")
    if not isinstance(space_raw, dict) or not space_raw:
        raise SweepFileError(f"{where}.space must map parameters to a list of values or a distribution such as "
                          f"{{log_uniform: [0.0001, 0.1]}}")
    space = {name: parse_dimension(name, spec, f"{where}.space.{name}") for name, spec in space_raw.items()}
    clash = next((k for k in space if k in fixed), None)
    if clash:
        raise SweepFileError(f"{where}.space.{clash} is also in fixed; a parameter is either searched or fixed")
    grid_size = math.prod(len(d.args) for d in space.values()) if method == "grid" else None
    if method == "grid" and any(d.kind != "choice" for d in space.values()):
        name = next(k for k, d in space.items() if d.kind != "choice")
        raise SweepFileError(f"{where}.space.{name}: method grid needs a list of values, got {space_raw[name]!r}; "
                          f"use tpe, gp, random or qmc for distributions")
    trials = raw.get("trials", grid_size)
    confirming = min(confirm_top, trials) * confirm_seeds if is_whole(trials) and trials > 0 else 0
    if is_whole(trials) and max_runs is not None and trials + confirming > max_runs:
        runs = trials + confirming
        parts = f" ({trials:,} trials and up to {confirming:,} confirmation runs)" if confirming else ""
        raise SweepFileError(f"{file}: describes {_count(runs)} runs{parts}, above the cap of {max_runs:,}; make "
                             f"the sweep smaller, or raise the cap with --max-runs {_count(runs, '')}")
    if not is_whole(trials) or not 1 <= trials <= MAX_TRIALS:
        raise SweepFileError(f"{where}.{trials_key} must be a whole number from 1 to {MAX_TRIALS:,} (how many runs "
                             f"the search may start), got {shown(trials)}")
    if grid_size is not None and trials > grid_size:
        raise SweepFileError(f"{where}.trials {trials} is more than the grid's {grid_size} points; give at most "
                          f"{grid_size}")
    seed = raw.get("seed", 0)
    if not is_whole(seed) or not 0 <= seed <= MAX_SEED:
        raise SweepFileError(f"{where}.seed must be a whole number from 0 to 2**32 - 1 ({MAX_SEED}), got {shown(seed)}")
    startup = raw.get("startup_trials")
    if startup is not None and (not is_whole(startup) or startup < 1):
        raise SweepFileError(f"{where}.startup_trials must be a whole number >= 1, got {shown(startup)}")
    return Search(method, trials, seed, space, startup)


def default_startup_trials(trials: int) -> int:
    """Startup trials when a search gives none: a third of its trials, from 2 to 10."""
    return min(10, max(2, trials // 3))


def parse_dimension(name: str, spec: Any, where: str) -> Dimension:
    """A space entry: a list of choices, or {kind: [args]} with a kind of KINDS; endpoints are checked
    against RunConfig, so a range that no run could take fails here."""
    if name not in FIELD_TYPES:
        raise SweepFileError(f"{where}: {unknown_field(name, 'parameter')}")
    if name in RUNNER_KEYS:
        raise SweepFileError(f"{where}: {name} is set by the sweep runner for each run; remove it from the file")
    if isinstance(spec, list):
        if not spec or any(isinstance(v, (list, dict)) for v in spec):
            raise SweepFileError(f"{where} must be a non-empty list of single values, got {spec!r}")
        if len({repr(v) for v in spec}) != len(spec):
            raise SweepFileError(f"{where} lists a value twice ({spec!r}); list each once")
        dim = Dimension(name, "choice", tuple(spec))
        _check_values(name, list(spec), where)
        return dim
    kinds = ", ".join(f"{{{k}: [{', '.join(a)}]}}" for k, a in KINDS.items())
    if not (isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in KINDS):
        raise SweepFileError(f"{where} must be a list of values or one of {kinds}; got {spec!r}")
    (kind, args), = spec.items()
    names = KINDS[kind]
    if not (isinstance(args, list) and len(args) == len(names) and all(is_number(a) for a in args)):
        raise SweepFileError(f"{where}: {kind} takes [{', '.join(names)}] as numbers that a float can hold, "
                             f"got {shown(args)}")
    problem = _argument_problem(kind, args, name)
    if problem:
        raise SweepFileError(f"{where}: {kind} {args!r}: {problem}")
    dim = Dimension(name, kind, tuple(args))
    if kind in ("uniform", "log_uniform", "int_uniform", "q_uniform", "q_log_uniform"):
        _check_values(name, [dim.value(args[0]), dim.value(args[1])], where)
    return dim


def _argument_problem(kind: str, args: list, name: str) -> str | None:
    if kind in ("uniform", "log_uniform", "int_uniform", "q_uniform", "q_log_uniform") and not args[0] < args[1]:
        return "low must be below high"
    if "log_uniform" in kind and args[0] <= 0:
        return "low must be above 0 on a log scale"
    if kind == "int_uniform" and not all(isinstance(a, int) for a in args):
        return "low and high must be whole numbers"
    if kind == "int_uniform" and base_type(name)[0] is not int:
        return f"{name} is not a whole-number parameter; use uniform"
    if base_type(name)[0] is int and kind in WHOLE_KINDS:
        # Refused, not rounded: the study would record the real number it drew while the run trained
        # with another, and the trial's parameters would not say what ran.
        whole = WHOLE_KINDS[kind]
        given = [math.ceil(args[0]), math.floor(args[1])] if whole == "int_uniform" else [*args, 1]
        return f"{name} takes whole numbers and {kind} draws real ones; use {{{whole}: {given}}}"
    if base_type(name)[0] is int and kind.startswith("q_") and not float(args[-1]).is_integer():
        return f"{name} takes whole numbers, so q must be a whole number"
    if kind.endswith(("normal",)) and args[1] <= 0:
        return "sigma must be above 0"
    if kind.endswith("beta") and not (args[0] > 0 and args[1] > 0):
        return "a and b must be above 0"
    if kind.startswith("q_") and args[-1] <= 0:
        return "q must be above 0"
    if kind in ("q_uniform", "q_log_uniform") and _steps_inside(*args)[0] > _steps_inside(*args)[1]:
        return f"no multiple of q = {args[2]} lies between low and high; widen the range or make q smaller"
    return None


def _steps_inside(low: float, high: float, q: float) -> tuple[int, int]:
    """The first and last k with k * q inside [low, high] (a hair of float noise forgiven)."""
    return math.ceil(low / q - 1e-9), math.floor(high / q + 1e-9)


def _check_values(name: str, values: list, where: str) -> None:
    for value in values:
        try:
            RunConfig.from_dict({name: value, "out_dir": "unused"})
        except ConfigError as exc:
            raise SweepFileError(f"{where}: {exc}") from None


def parse_early_terminate(raw: Any, max_epochs: int, where: str) -> EarlyTerminate:
    where = f"{where}: early_terminate"
    if not isinstance(raw, dict):
        raise SweepFileError(f"{where} must be a mapping like {{type: asha, min_epochs: 1, reduction_factor: 3}}, "
                          f"got {raw!r}")
    check_keys(raw, TERMINATE_KEYS, where)
    kind = raw.get("type")
    if kind not in TERMINATIONS:
        raise SweepFileError(f"{where}.type {kind!r} is not valid; valid: {', '.join(TERMINATIONS)}")
    values = {k: v for k, v in raw.items() if k != "type"}
    for key, value in values.items():
        low = 2 if key == "reduction_factor" else 1
        if not is_whole(value) or value < low:
            raise SweepFileError(f"{where}.{key} must be a whole number >= {low}, got {shown(value)}")
        if not is_number(value):
            raise SweepFileError(f"{where}.{key} is {shown(value)}, beyond the range of a float; give a smaller "
                                 f"whole number")
    unused = {"asha": ("max_epochs", "startup_trials"), "hyperband": ("startup_trials",),
              "median": ("reduction_factor", "max_epochs")}[kind]
    given = [k for k in unused if k in values]
    if given:
        raise SweepFileError(f"{where}: {', '.join(given)} has no meaning for {kind}; remove it")
    spec = EarlyTerminate(kind, **values)
    if kind == "hyperband" and spec.max_epochs is None:
        spec = EarlyTerminate(kind, spec.min_epochs, spec.reduction_factor, max_epochs)
    if kind == "hyperband" and "max_epochs" in values and spec.min_epochs >= spec.max_epochs:
        raise SweepFileError(f"{where}.min_epochs {shown(spec.min_epochs)} is not below max_epochs "
                             f"{shown(spec.max_epochs)}: hyperband could stop no run early; lower min_epochs or raise "
                             f"max_epochs")
    if spec.min_epochs >= max_epochs:
        raise SweepFileError(f"{where}.min_epochs {shown(spec.min_epochs)} is not below the runs' epochs "
                             f"({max_epochs}): no run could be stopped early; lower min_epochs")
    return spec


@dataclass
class StudySettings:
    """What a study was made with; a rerun with other settings would mix two searches in one study."""

    metric: Metric
    search: Search | None
    early_terminate: EarlyTerminate | None

    def attrs(self) -> dict[str, Any]:
        return {"metric": asdict(self.metric), "search": self.search.to_dict() if self.search else None,
                "early_terminate": self.early_terminate.to_dict() if self.early_terminate else None}


def pruner_from_attrs(attrs: dict[str, Any]):
    import optuna

    spec = attrs.get("early_terminate")
    return EarlyTerminate(**spec).pruner() if spec else optuna.pruners.NopPruner()
