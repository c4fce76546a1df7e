"""The statistics behind the sweep report: configurations over seeds, matched-pair effects and
interactions, isolation, per-run diagnostics and the findings' sentences.

The report's effects, interactions and ties come from one pooled linear model (lib.report.factorial, which
builds on the design here). The matched-pair tables below (`effects_table`, `interactions_table`:
t over per-seed effects, Lenth's method with one seed) are the per-seed method the report used
before; they stay as the one-seed Lenth cross-check and as the baseline of
benchmarks/stats_coverage.py.

Pure functions of the runs table (`lib.report.load.load_report(...).runs`: one row per run with its
status, parameters, seed and metrics) and of run histories; no I/O, no plotting.

What enters the statistics: runs whose status is completed or early_stopped and whose validation
accuracy is finite. Diverged, failed, pending and pruned runs are counted but never averaged. Runs
that share a configuration and a seed are averaged into one value first, so every number below is
over distinct seeds. A *configuration* is a run's values of the varying parameters, seed aside.
Accuracies are fractions; the sentences give them in points (100 x fraction). Configurations and runs
are ranked one way everywhere (RANKING), and a mean accuracy's interval stays inside (0, 1)
(`accuracy_interval`, `bounded_interval`).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from lib.core.formatting import is_bool, is_missing, is_number, native
from lib.core.records import RANKED_STATUSES
from lib.config.naming import config_label  # configurations read like run names


def scipy_stats():
    """scipy.stats, imported on first use: it takes a second, and the training notebook imports this
    module (through lib.report) without needing it."""
    from scipy import stats

    return stats


STATS_STATUSES = ("completed", "early_stopped")  # a diverged run's accuracy measures the divergence
CONFIDENCE = 0.95  # every interval here is a 95% interval
ALPHA = 0.05  # significance level of the tie tests
EXACT = 1e-12  # accuracies closer than this are equal: float rounding, far below one test image
BOUNDARY_MIN_VALUES = 3  # with two values the best is always at an edge, which says nothing
OVERFIT_RISE = 0.10  # final validation loss this fraction above its minimum ...
OVERFIT_EPOCHS_AFTER_MIN = 2  # ... at least this many epochs after the minimum
UNSTABLE_RISE = 0.25  # an epoch-to-epoch rise in training loss of this fraction of the previous value

CONFIG_COLUMNS = ["config", "n", "val_acc_mean", "val_acc_sd", "val_acc_ci_low", "val_acc_ci_high",
                  "test_acc_mean", "test_acc_sd", "tied_with_best"]  # the params go after "config"
EFFECT_COLUMNS = ["parameter", "value", "reference", "effect", "ci_low", "ci_high", "n", "seeds", "ci_method"]
INTERACTION_COLUMNS = ["parameter_a", "parameter_b", "interaction", "ci_low", "ci_high", "n", "seeds",
                       "ci_method"]
ISOLATION_COLUMNS = ["parameter", "value", "config", "n", "val_acc_mean", "ci_low", "ci_high"]

FLAG_RULES: dict[str, str] = {
    "overfitting": f"the last validation loss is more than {OVERFIT_RISE:.0%} above its minimum, at least "
                   f"{OVERFIT_EPOCHS_AFTER_MIN} epochs after that minimum, while the last training loss is below "
                   f"the training loss at the minimum's epoch",
    "not_converged": "the best epoch (lowest validation loss) is the last epoch run and the run did not diverge: "
                     "more epochs may help",
    "stopped_before_annealed": "cosine schedule, and the run ended (early stopped or completed) after fewer epochs "
                               "than t_max (epochs when t_max is None), so the learning rate never annealed",
    "unstable": f"the training loss rose by more than {UNSTABLE_RISE:.0%} of its previous value between two "
                f"consecutive epochs (every pair of epochs is checked, the first included)",
    "diverged": "status diverged, or a non-finite training or validation loss in the history",
    "plateau_never_lowered": "plateau schedule, and the learning rate in the history never went below its first "
                             "value: the patience was never used up",
}
_FLAG_PHRASES = {
    "overfitting": "overfit (validation loss ended well above its minimum while training loss kept falling)",
    "not_converged": "had not converged when they stopped (best epoch = last epoch; more epochs may help)",
    "stopped_before_annealed": "stopped before their cosine learning rate annealed",
    "unstable": f"had unstable training (training loss rose by more than {UNSTABLE_RISE:.0%} between epochs)",
    "diverged": "diverged",
    "plateau_never_lowered": "never had their plateau learning rate lowered",
}


# ---------------------------------------------------------------------------------------------
# Values, labels and the design


def value_key(value: Any) -> tuple[int, Any]:
    """A hashable identity of a value that keeps True apart from 1.0 and treats 224 and 224.0 alike."""
    if is_missing(value):
        return (0, 0.0)
    if is_bool(value):
        return (1, float(bool(value)))
    if isinstance(value, numbers.Real):
        return (2, float(value))
    return (3, str(value))


def _used(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs that enter the statistics: completed or early stopped, with a finite validation accuracy."""
    if runs.empty or "status" not in runs or "val_acc" not in runs:
        return runs.iloc[0:0]
    val_acc = pd.to_numeric(runs["val_acc"], errors="coerce")
    return runs[runs["status"].isin(STATS_STATUSES) & np.isfinite(val_acc.astype(float))]


CELL_VALUES = ["val_acc", "test_acc", "n_val"]  # a cell's measurements beside its parameters and seed; n_val:
# validation images


@dataclass
class Design:
    params: list[str]
    levels: dict[str, list[Any]]  # parameter -> its values in stable order; the first is the reference
    cells: pd.DataFrame  # one row per (configuration, seed): each param as its level index, seed, val_acc, test_acc
    names: dict[tuple[int, ...], str] = dataclasses.field(default_factory=dict)  # configuration -> its runs' name


def configuration_name(run: Any, seed: Any) -> str:
    """A run's name without its seed part (`lenet-mix-seed2` -> `lenet-mix`): the name of its configuration."""
    token = f"seed{native(seed)}" if is_number(seed) else None
    return "-".join(part for part in str(run).split("-") if part != token)


def _names(used: pd.DataFrame, params: Sequence[str], codes: dict[str, list[int]]) -> dict[tuple[int, ...], str]:
    """Each configuration's name from its runs' names (seed part dropped), so findings name what the sweep
    named; empty (config_label everywhere) when some configuration's runs disagree or two share a name."""
    if "run" not in used:
        return {}
    seeds = list(used["seed"]) if "seed" in used else [None] * len(used)
    found: dict[tuple[int, ...], set[str]] = {}
    for i, (run, seed) in enumerate(zip(used["run"], seeds)):
        found.setdefault(tuple(codes[p][i] for p in params), set()).add(configuration_name(run, seed))
    names = {key: next(iter(values)) for key, values in found.items() if len(values) == 1}
    if len(names) != len(found) or len(set(names.values())) != len(names):
        return {}
    return names


def config_name(design: Design, key: tuple[int, ...]) -> str:
    """A configuration's name in the tables and findings: its runs' name, else `config_label`."""
    if key in design.names:
        return design.names[key]
    return config_label({p: design.levels[p][c] for p, c in zip(design.params, key)}, design.params)


def make_design(runs: pd.DataFrame, params: Sequence[str]) -> Design:
    params = list(params)
    if "seed" in params:
        raise ValueError("params includes 'seed': seeds are replicates, not a parameter; drop it from params")
    absent = [p for p in params if p not in runs.columns]
    if absent:
        raise KeyError(f"parameters {absent} are not columns of runs (columns: {list(runs.columns)}); pass the "
                       f"sweep's varying parameters, e.g. report.varying")
    used = _used(runs)
    levels, codes = {}, {}
    for p in params:
        first: dict[tuple, tuple[int, Any]] = {}  # key -> (order of first appearance, value)
        keys = [value_key(v) for v in used[p]]
        for k, v in zip(keys, used[p]):
            first.setdefault(k, (len(first), native(v)))
        # None first, then False before True, numbers ascending, strings as they first appear
        order = sorted(first, key=lambda k: (k[0], k[1] if k[0] in (1, 2) else first[k][0]))
        levels[p] = [first[k][1] for k in order]
        index = {k: i for i, k in enumerate(order)}
        codes[p] = [index[k] for k in keys]
    frame = pd.DataFrame({**codes,
                          "seed": list(used["seed"]) if "seed" in used else [0] * len(used),
                          "val_acc": pd.to_numeric(used["val_acc"], errors="coerce").astype(float).to_numpy(),
                          "test_acc": (pd.to_numeric(used["test_acc"], errors="coerce").astype(float).to_numpy()
                                       if "test_acc" in used else np.nan),
                          "n_val": (pd.to_numeric(used["n_val"], errors="coerce").astype(float).to_numpy()
                                    if "n_val" in used else np.nan)},
                         columns=[*params, "seed", *CELL_VALUES])
    cells = frame.groupby([*params, "seed"], as_index=False)[CELL_VALUES].mean()
    return Design(params, levels, cells, _names(used, params, codes))


@functools.lru_cache(maxsize=256)
def t_quantile(df: float) -> float:
    """The t quantile of a two-sided CONFIDENCE interval with `df` degrees of freedom."""
    return float(scipy_stats().t.ppf(0.5 + CONFIDENCE / 2, df))


ASSUMED_IMAGES = 10_000  # validation images per run where a record does not say (records before n_val)


def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def bounded_interval(mean: float, se: float, df: float, images: float = ASSUMED_IMAGES) -> tuple[float, float]:
    """A 95% interval of a mean accuracy (estimate `mean`, standard error `se`, t with `df`) that stays inside
    (0, 1): the delta method on the logit scale, se / (p (1 - p)), mapped back, with p held half an image
    away from 0 and 1 ((mean N + 1/2) / (N + 1), N = `images` per run). Near 0.5 it is the t-interval; near 1
    it leans down, as the accuracy can rise less than it can fall."""
    if not (math.isfinite(se) and math.isfinite(mean) and df > 0):
        return math.nan, math.nan
    p = (min(max(mean, 0.0), 1.0) * images + 0.5) / (images + 1)
    half = t_quantile(df) * se / (p * (1 - p))
    centre = _logit(p)
    return _expit(centre - half), _expit(centre + half)


def accuracy_interval(values: Sequence[float], images: Sequence[float] | None = None
                      ) -> tuple[float, float, float, float]:
    """Mean, sd and a 95% interval of a mean accuracy over seeds, inside (0, 1) (`bounded_interval`, t with
    n - 1 df). The variance over seeds is at least the binomial variance of one run, p (1 - p) / N over its N
    validation images (ASSUMED_IMAGES where a record does not say), so seeds that happen to agree still leave
    the images' sampling error: every seed at 1.0 gets an interval below 1, never a clipped 1. sd and interval
    are NaN with fewer than two values."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    sd = float(values.std(ddof=1))
    counts = np.full(n, float(ASSUMED_IMAGES)) if images is None else np.asarray(images, dtype=float)
    counts = np.where(np.isfinite(counts) & (counts >= 1), counts, ASSUMED_IMAGES)
    images_per_run = float(counts.mean())
    p = (min(max(mean, 0.0), 1.0) * images_per_run + 0.5) / (images_per_run + 1)
    se = math.sqrt(max(sd ** 2, p * (1 - p) / images_per_run) / n)
    return (mean, sd, *bounded_interval(mean, se, n - 1, images_per_run))


# ---------------------------------------------------------------------------------------------
# Configurations


def config_rows(design: Design) -> pd.DataFrame:
    """One row per configuration, in RANKING order (best first).

    Columns: `config` (its runs' name, else `config_label`), each parameter, `n` (seeds), `val_acc_mean`,
    `val_acc_sd`, `val_acc_ci_low`, `val_acc_ci_high` (`accuracy_interval`; NaN when n < 2), `test_acc_mean`,
    `test_acc_sd`, and `tied_with_best`: True for the first row, None for the others (lib.report.factorial
    decides the ties, once)."""
    cells = design.cells
    keys = list(zip(*(cells[p].tolist() for p in design.params))) if design.params else [()] * len(cells)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    val = cells["val_acc"].to_numpy(dtype=float)
    test = pd.to_numeric(cells["test_acc"], errors="coerce").to_numpy(dtype=float)
    images = pd.to_numeric(cells["n_val"], errors="coerce").to_numpy(dtype=float) if "n_val" in cells else None
    rows = []
    for key in sorted(groups):
        index = groups[key]
        mean, sd, low, high = accuracy_interval(val[index], None if images is None else images[index])
        tests = test[index][np.isfinite(test[index])]
        rows.append({"config": config_name(design, key), **{p: design.levels[p][c] for p, c in zip(design.params, key)},
                     "n": len(index), "val_acc_mean": mean, "val_acc_sd": sd, "val_acc_ci_low": low,
                     "val_acc_ci_high": high, "test_acc_mean": float(tests.mean()) if len(tests) else math.nan,
                     "test_acc_sd": float(tests.std(ddof=1)) if len(tests) >= 2 else math.nan})
    columns = ["config", *design.params, *CONFIG_COLUMNS[1:-1]]
    table = ranked(pd.DataFrame(rows, columns=columns), "val_acc_mean", "test_acc_mean", "config")
    table["tied_with_best"] = pd.Series([True] * min(1, len(table)) + [None] * (len(table) - 1), index=table.index,
                                        dtype=object)
    return table


RANKING = "mean validation accuracy over seeds, then mean test accuracy, then name"  # every table and figure


def ranked(table: pd.DataFrame, val: str, test: str, name: str) -> pd.DataFrame:
    """`table` best first by RANKING: `val` descending, ties by `test` descending (missing last), then by `name`
    ascending; the one order of configurations and runs in every table and figure."""
    if table.empty:
        return table.reset_index(drop=True)
    order = pd.DataFrame({"val": -pd.to_numeric(table[val], errors="coerce").astype(float).to_numpy(),
                          "test": -pd.to_numeric(table[test], errors="coerce").astype(float).to_numpy(),
                          "name": table[name].astype(str).to_numpy()})
    index = order.sort_values(["val", "test", "name"], na_position="last", kind="stable").index
    return table.iloc[list(index)].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Effects and interactions


@dataclass
class _Lenth:
    """Lenth's (1989) pseudo standard error of the contrasts of a one-seed two-level full factorial."""

    pse: float
    contrasts: int  # m: main effects and interactions of every order

    @property
    def half_width(self) -> float:
        return scipy_stats().t.ppf(0.5 + CONFIDENCE / 2, self.contrasts / 3) * self.pse


def _one_seed_rule(design: Design) -> _Lenth | str:
    """How to bound an estimate whose matches share one seed: Lenth's PSE, or the reason there is no CI."""
    if design.cells["seed"].nunique() > 1:
        return "matched runs at one seed only: no CI"
    factors = [p for p in design.params if len(design.levels[p]) > 1]
    if any(len(design.levels[p]) != 2 for p in factors) or len(design.cells) != 2 ** len(factors):
        return "one seed and not a two-level full factorial: no CI"
    if len(factors) < 2:
        return "one seed and a single two-level parameter: too few contrasts for Lenth's method, no CI"
    signs = 2 * design.cells[factors].to_numpy() - 1  # (runs, factors) as -1/+1
    y = design.cells["val_acc"].to_numpy()
    contrasts = []
    for order in range(1, len(factors) + 1):
        for subset in itertools.combinations(range(len(factors)), order):
            sign = signs[:, list(subset)].prod(axis=1)
            contrasts.append(y[sign > 0].mean() - y[sign < 0].mean())
    c = np.abs(np.array(contrasts))
    c[c <= EXACT] = 0.0  # a parameter that changes nothing gives 0, not 1e-17
    s0 = 1.5 * np.median(c)
    trimmed = c[c < 2.5 * s0]
    return _Lenth(pse=float(1.5 * np.median(trimmed)) if trimmed.size else 0.0, contrasts=len(c))


def _estimate(values: pd.Series, one_seed: _Lenth | str, what: str) -> dict[str, Any]:
    """Mean of matched estimates (indexed with a `seed` level) and its 95% interval.

    Two or more seeds: a t-interval over the per-seed means, centred on the mean over all matches
    (the same centre when every seed has the same matches). One seed: Lenth's PSE when the design is
    a one-seed two-level full factorial, else no CI and the reason.
    """
    if values.empty:
        return {"effect": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0, "seeds": 0,
                "ci_method": "no matched runs"}
    effect = float(values.mean())
    per_seed = values.groupby(level="seed").mean()
    if len(per_seed) >= 2:
        half = (scipy_stats().t.ppf(0.5 + CONFIDENCE / 2, len(per_seed) - 1) * per_seed.std(ddof=1)
                / math.sqrt(len(per_seed)))
        method = f"t-interval over {len(per_seed)} per-seed {what}s"
    elif isinstance(one_seed, str):
        half, method = math.nan, one_seed
    elif one_seed.pse > 0:
        half = one_seed.half_width
        method = (f"Lenth's pseudo standard error over {one_seed.contrasts} contrasts, t with "
                  f"{one_seed.contrasts / 3:.3g} df (one seed, two-level full factorial)")
    elif abs(effect) <= EXACT:
        half = 0.0
        method = "one seed; Lenth's pseudo standard error is 0 (most contrasts are exactly 0), as is this " + what
    else:
        half = math.nan
        method = "one seed; Lenth's pseudo standard error is 0 (most contrasts are exactly 0): no CI"
    return {"effect": effect, "ci_low": effect - half, "ci_high": effect + half, "n": len(values),
            "seeds": len(per_seed), "ci_method": method}


def _at(design: Design, fixed: dict[str, int], index: list[str]) -> pd.Series:
    cells = design.cells
    mask = np.ones(len(cells), dtype=bool)
    for p, code in fixed.items():
        mask &= (cells[p] == code).to_numpy()
    return cells[mask].set_index(index)["val_acc"]


def effects_table(runs: pd.DataFrame, params: Sequence[str]) -> pd.DataFrame:
    """The effect on validation accuracy of each parameter value against the parameter's reference.

    Reference: the first value in a stable order (None, then False before True, numbers ascending,
    strings as they first appear among the runs that enter the statistics). `effect` is the mean of
    (val_acc at `value` - val_acc at `reference`) over pairs of runs matched on every other parameter
    and the seed; `n` counts those pairs and `seeds` their distinct seeds; unmatched runs are
    skipped. The 95% CI: with two or more seeds, a t-interval over the per-seed effects (mean over
    that seed's pairs); with one seed, Lenth's pseudo standard error (s0 = 1.5 median|c|, PSE = 1.5
    median of the |c| < 2.5 s0, t with m/3 df over all m main effects and interactions) when the
    design is a two-level full factorial, whose main effect mean(high) - mean(low) is this matched
    mean; otherwise none, with the reason in `ci_method`. A parameter that changes nothing gets an
    effect of exactly 0 and an interval holding 0.
    """
    design = make_design(runs, params)
    one_seed = _one_seed_rule(design) if not design.cells.empty else "no runs"
    rows = []
    for p in design.params:
        index = [q for q in design.params if q != p] + ["seed"]
        reference = _at(design, {p: 0}, index)
        for code in range(1, len(design.levels[p])):
            at = _at(design, {p: code}, index)
            pairs = pd.concat({"at": at, "ref": reference}, axis=1, join="inner")
            rows.append({"parameter": p, "value": design.levels[p][code], "reference": design.levels[p][0],
                         **_estimate(pairs["at"] - pairs["ref"], one_seed, "effect")})
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


def interactions_table(runs: pd.DataFrame, params: Sequence[str]) -> pd.DataFrame:
    """The interaction of every pair of two-level parameters on validation accuracy.

    Convention (as in 2^k designs): half the difference between a's effect at b's second value and
    a's effect at b's first value, ((y[a1,b1] - y[a0,b1]) - (y[a1,b0] - y[a0,b0])) / 2, which is
    symmetric in a and b and equals the ab contrast mean(y | ab = +1) - mean(y | ab = -1). First and
    second values follow the reference order of `effects_table`. Each term comes from four runs
    matched on every other parameter and the seed; `n` counts those quadruples. Intervals as in
    `effects_table`. Parameters with other than two values are left out.
    """
    design = make_design(runs, params)
    one_seed = _one_seed_rule(design) if not design.cells.empty else "no runs"
    two_level = [p for p in design.params if len(design.levels[p]) == 2]
    rows = []
    for a, b in itertools.combinations(two_level, 2):
        index = [q for q in design.params if q not in (a, b)] + ["seed"]
        y = pd.concat({f"{i}{j}": _at(design, {a: i, b: j}, index) for i in (0, 1) for j in (0, 1)},
                      axis=1, join="inner")
        terms = ((y["11"] - y["01"]) - (y["10"] - y["00"])) / 2
        estimate = _estimate(terms, one_seed, "interaction")
        rows.append({"parameter_a": a, "parameter_b": b, "interaction": estimate.pop("effect"), **estimate})
    return pd.DataFrame(rows, columns=INTERACTION_COLUMNS)


def isolation_table(runs: pd.DataFrame, params: Sequence[str]) -> pd.DataFrame:
    """For each parameter and value, the best configuration over the other parameters (isolation plots).

    The Tuning Playbook's isolation plot: for each value of a parameter, the configuration with the
    highest mean validation accuracy among those with that value, with its seeds `n` and its 95%
    t-interval over seeds. Being a maximum over the other parameters, it flatters values that were
    tried in more configurations.
    """
    design = make_design(runs, params)
    configs = config_rows(design)
    rows = []
    for p in design.params:
        for value in design.levels[p]:
            best = configs[[value_key(v) == value_key(value) for v in configs[p]]].iloc[0]
            rows.append({"parameter": p, "value": value, "config": best["config"], "n": best["n"],
                         "val_acc_mean": best["val_acc_mean"], "ci_low": best["val_acc_ci_low"],
                         "ci_high": best["val_acc_ci_high"]})
    return pd.DataFrame(rows, columns=ISOLATION_COLUMNS)


# ---------------------------------------------------------------------------------------------
# Diagnostics of single runs


def _column(history: pd.DataFrame | None, name: str) -> np.ndarray:
    if history is None or name not in history:
        return np.array([], dtype=float)
    return pd.to_numeric(history[name], errors="coerce").to_numpy(dtype=float)


def _whole(value: Any) -> int | None:
    return int(value) if is_number(value) else None


def run_flags(history: pd.DataFrame | None, metrics: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """The diagnostics that apply to one finished run, in FLAG_RULES order (see FLAG_RULES for each rule).

    `history`: per-epoch rows (epoch, train_loss, val_loss, lr, ...), or None; `metrics`: status,
    best_epoch, epochs_run (best epoch and epochs run fall back to the history); `config`: the run's
    RunConfig fields (scheduler, epochs, t_max). Unfinished runs (failed, pending) and pruned runs get none.
    """
    status = metrics.get("status")
    if status not in RANKED_STATUSES:
        return []
    train, val, lr = _column(history, "train_loss"), _column(history, "val_loss"), _column(history, "lr")
    epochs = _column(history, "epoch")
    if len(epochs) != len(val):
        epochs = np.arange(1, len(val) + 1)
    flags = set()
    diverged = status == "diverged" or not (np.isfinite(train).all() and np.isfinite(val).all())
    if diverged:
        flags.add("diverged")
    clean = not diverged and len(val) > 0 and len(train) == len(val)
    if clean and len(val) >= 2:
        at_min = int(np.argmin(val))
        if (val[-1] > (1 + OVERFIT_RISE) * val[at_min] and epochs[-1] - epochs[at_min] >= OVERFIT_EPOCHS_AFTER_MIN
                and train[-1] < train[at_min]):
            flags.add("overfitting")
        if np.any(train[1:] > (1 + UNSTABLE_RISE) * train[:-1]):
            flags.add("unstable")
    best_epoch = _whole(metrics.get("best_epoch"))
    epochs_run = _whole(metrics.get("epochs_run"))
    if clean:
        best_epoch = best_epoch if best_epoch is not None else int(epochs[int(np.argmin(val))])
        epochs_run = epochs_run if epochs_run is not None else int(epochs[-1])
    if not diverged and best_epoch is not None and best_epoch == epochs_run:
        flags.add("not_converged")
    period = _whole(config.get("t_max")) or _whole(config.get("epochs"))
    if (config.get("scheduler") == "cosine" and status in STATS_STATUSES and epochs_run is not None
            and period is not None and epochs_run < period):
        flags.add("stopped_before_annealed")
    finite_lr = lr[np.isfinite(lr)]
    if config.get("scheduler") == "plateau" and finite_lr.size and finite_lr.min() >= finite_lr[0]:
        flags.add("plateau_never_lowered")
    return [f for f in FLAG_RULES if f in flags]


def flags_column(runs: pd.DataFrame, histories: Mapping[str, pd.DataFrame]) -> pd.Series:
    """Each run's flags joined with ',' ('' for none), aligned with `runs`; a run's row is its metrics and config."""
    flags = []
    for record in runs.to_dict("records"):
        flags.append(",".join(run_flags(histories.get(record.get("run")), record, record)))
    return pd.Series(flags, index=runs.index, name="flags", dtype=object)


# ---------------------------------------------------------------------------------------------
# Sentences


@dataclass(frozen=True)
class Edge:
    """A numeric parameter whose best value is the smallest or largest tried."""

    param: str
    value: float  # the best configuration's value
    upward: bool  # the largest tried (extend above), else the smallest (extend below)
    tried: tuple[float, ...]  # every distinct number tried, ascending
    by_model: bool = False  # the best value is the pooled model's (else the best configuration's)

    @property
    def neighbour(self) -> float:
        return self.tried[-2] if self.upward else self.tried[1]


def level_scores(effects: pd.DataFrame | None, param: str) -> dict[Any, float]:
    """The pooled model's estimate of each value of `param`, averaged over the other parameters (comparable with
    each other only): its means where the model keeps one per value (an ordered parameter), else each value's
    difference from the reference (0). Empty without a model."""
    if effects is None or effects.empty or "kind" not in effects:
        return {}
    mine = effects[effects["parameter"] == param]
    means = mine[mine["kind"] == "mean"]
    if len(means):
        return {v: float(e) for v, e in zip(means["value"], means["effect"]) if is_number(e)}
    diffs = mine[mine["kind"] == "difference"]
    if diffs.empty or diffs["reference"].nunique() != 1:
        return {}
    scores = {diffs["reference"].iloc[0]: 0.0}
    scores.update({v: float(e) for v, e in zip(diffs["value"], diffs["effect"]) if is_number(e)})
    return scores


def best_value(configs: pd.DataFrame, effects: pd.DataFrame | None, param: str) -> Any:
    """The best value of `param`: the pooled model's (level_scores), which compares each value over the others'
    values, so a value tried only at fewer epochs is not judged by them; without a model, the best configuration's."""
    scores = level_scores(effects, param)
    if scores:
        return max(scores, key=lambda v: scores[v])
    return configs.iloc[0][param] if len(configs) and param in configs else None


def edges(runs: pd.DataFrame, configs: pd.DataFrame, params: Sequence[str],
          effects: pd.DataFrame | None = None) -> list[Edge]:
    """The edges of the search: the one rule behind the findings' "Edges of the search" and `next`'s edge rule.

    A parameter counts when it is numeric (int or float, not bool) and its best value (`best_value`: the pooled
    model's, else the first row of `configs`, `configs_table`) is the smallest or largest of the distinct numbers tried for it, counted over
    every run in `runs` (finished or not, so a larger value that diverged or is still pending counts as tried).
    With BOUNDARY_MIN_VALUES or more values that is enough; with two, the best is always at an edge, so it
    counts only when `effects` (the pooled model's) calls the difference (Holm p < ALPHA) in the best's favour.
    """
    if configs.empty:
        return []
    best = configs.iloc[0]
    found = []
    for p in params:
        if p not in runs or p not in best.index:
            continue
        tried = tuple(sorted({float(v) for v in runs[p] if is_number(v)}))
        chosen = best_value(configs, effects if len(tried) >= BOUNDARY_MIN_VALUES else None, p)
        if len(tried) < 2 or not is_number(chosen) or any(is_bool(v) for v in runs[p]):
            continue
        value = float(chosen)
        if value not in (tried[0], tried[-1]):
            continue
        if len(tried) < BOUNDARY_MIN_VALUES and not _called_for(effects, p, value):
            continue
        found.append(Edge(p, value, value == tried[-1], tried,
                          bool(level_scores(effects, p)) and len(tried) >= BOUNDARY_MIN_VALUES))
    return found


def _called_for(effects: pd.DataFrame | None, param: str, best: float) -> bool:
    """Whether the pooled model calls a difference of `param` (Holm p < ALPHA) with `best` the better value."""
    if effects is None or effects.empty or "p_holm" not in effects:
        return False
    rows = effects[(effects["parameter"] == param) & (effects["kind"] == "difference")]
    for _, r in rows.iterrows():
        if is_number(r["p_holm"]) and r["p_holm"] < ALPHA and is_number(r["effect"]):
            better = r["value"] if r["effect"] > 0 else r["reference"]
            return is_number(better) and float(better) == best
    return False


def boundary_notes(runs: pd.DataFrame, configs: pd.DataFrame, params: Sequence[str],
                   effects: pd.DataFrame | None = None) -> list[str]:
    """A sentence for each of the search's `edges`."""
    notes = []
    for edge in edges(runs, configs, params, effects):
        side, where = ("largest", "above") if edge.upward else ("smallest", "below")
        whose = (f"the best {edge.param} (the pooled model's, over the other parameters' values) is the {side} tried"
                 if edge.by_model else f"the best configuration uses the {side} {edge.param} tried")
        notes.append(f"{whose} ({edge.value:g}); extend the search {where} {edge.value:g}")
    return notes


def sentence_value(value: Any) -> str:
    """A value in a sentence as a sweep file writes it: true/false, short numbers, None."""
    if is_missing(value):
        return "None"
    if is_bool(value):
        return "true" if value else "false"
    return f"{value:g}" if is_number(value) else str(value)


def findings(runs: pd.DataFrame, stated: Sequence[str], flags: pd.Series, boundary: Sequence[str]) -> list[str]:
    """Short sentences from the tables, each saying what it rests on.

    What entered the statistics; then the pooled model's sentences (`stated`: lib.report.wording.sentences
    of the same runs' fit): the best configuration and those not distinguishable from it, each effect ("beat"/"lost to"
    only when its Holm-adjusted p is below ALPHA, else "inconclusive" with its range), the called
    interactions with each parameter's effect at each value of the other; how many finished runs carry each
    flag; then the boundary notes.
    """
    used = _used(runs)
    left_out = runs.loc[~runs.index.isin(used.index), "status"].value_counts() if len(runs) else pd.Series()
    sentences = [f"statistics rest on {len(used)} of {len(runs)} runs (completed or early stopped, with a "
                 f"validation accuracy)" + (f"; left out: {', '.join(f'{n} {s}' for s, n in left_out.items())}"
                                            if len(left_out) else "")]
    sentences += list(stated)
    finished = runs["status"].isin(RANKED_STATUSES) if len(runs) else pd.Series(dtype=bool)
    counts = {f: 0 for f in FLAG_RULES}
    for text in flags[finished.reindex(flags.index, fill_value=False)]:
        for flag in filter(None, text.split(",")):
            counts[flag] += 1
    sentences += [f"{k} of {int(finished.sum())} finished runs {_FLAG_PHRASES[f]}" for f, k in counts.items() if k]
    return sentences + list(boundary)
