"""The design of a sweep's statistics: which runs enter them, the (configuration, seed) cells they are
averaged into, each parameter's values in the one order, configuration names, and the configurations over
seeds, ranked one way everywhere; with the intervals of a mean accuracy and the one t quantile.

Pure functions of the runs table (`lib.report.load.load_report(...).runs`: one row per run with its status,
parameters, seed and metrics); no I/O, no plotting.

What enters the statistics: runs whose status is completed or early_stopped and whose validation accuracy
is finite (`used_runs`). Diverged, failed, pending and pruned runs are counted but never averaged. Runs that
share a configuration and a seed are averaged into one cell first, so every number over seeds is over
distinct seeds. A *configuration* is a run's values of the varying parameters, seed aside; a parameter's
values are in lib.core.values' order (`ordered`), the first being its reference. Accuracies are fractions.
Configurations and runs are ranked one way everywhere (RANKING), and a mean accuracy's interval stays inside
(0, 1) (`accuracy_interval`, `bounded_interval`). The pooled model over these cells is lib.report.factorial.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from lib.core.formatting import is_missing, is_number, native
from lib.core.values import key, ordered, same
from lib.config.naming import config_label, seeded, unseeded  # configurations read like run names


def scipy_stats():
    """scipy.stats, imported on first use (the one place the statistics import it): it takes a second, which
    importing the statistics (as `python -m lib.sweep next` does, through lib.report.proposal) need not pay."""
    from scipy import stats

    return stats


STATS_STATUSES = ("completed", "early_stopped")  # a diverged run's accuracy measures the divergence
CONFIDENCE = 0.95  # every interval here is a 95% interval
ALPHA = 0.05  # significance level of every call and tie test
EXACT = 1e-12  # accuracies closer than this are equal: float rounding, far below one test image

CONFIG_COLUMNS = ["config", "n", "val_acc_mean", "val_acc_sd", "val_acc_ci_low", "val_acc_ci_high",
                  "test_acc_mean", "test_acc_sd", "tied_with_best"]  # the params go after "config"
ISOLATION_COLUMNS = ["parameter", "value", "config", "n", "val_acc_mean", "ci_low", "ci_high"]


@functools.lru_cache(maxsize=256)
def t_quantile(df: float) -> float:
    """The t quantile of a two-sided CONFIDENCE interval with `df` degrees of freedom: the one every interval
    of the report uses."""
    return float(scipy_stats().t.ppf(0.5 + CONFIDENCE / 2, df))


def two_sided_p(statistic: float, df: float) -> float:
    """Two-sided p of a t statistic with `df` degrees of freedom."""
    return float(2 * scipy_stats().t.sf(abs(statistic), df))


# ---------------------------------------------------------------------------------------------
# The runs that enter the statistics, and their cells


def used_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs that enter the statistics: completed or early stopped, with a finite validation accuracy."""
    if runs.empty or "status" not in runs or "val_acc" not in runs:
        return runs.iloc[0:0]
    val_acc = pd.to_numeric(runs["val_acc"], errors="coerce")
    return runs[runs["status"].isin(STATS_STATUSES) & np.isfinite(val_acc.astype(float))]


CELL_VALUES = ["val_acc", "test_acc", "n_val"]  # a cell's measurements beside its parameters and seed; n_val:
# validation images


@dataclass
class Design:
    """The runs that enter the statistics, averaged into one cell per (configuration, seed)."""

    params: list[str]
    levels: dict[str, list[Any]]  # parameter -> its values in lib.core.values' order; the first is the reference
    cells: pd.DataFrame  # one row per (configuration, seed): each param as its level index, seed, val_acc, test_acc
    names: dict[tuple[int, ...], str] = dataclasses.field(default_factory=dict)  # configuration -> its runs' name


def configuration_name(run: Any, seed: Any) -> str:
    """A run's name without its seed part (`lenet-mix-seed2` -> `lenet-mix`): the name of its configuration."""
    name = str(run)
    return unseeded(name) if is_number(seed) and name.endswith(seeded("", native(seed))) else name


def _names(used: pd.DataFrame, params: Sequence[str], codes: dict[str, list[int]]) -> dict[tuple[int, ...], str]:
    """Each configuration's name from its runs' names (seed part dropped), so findings name what the sweep
    named; empty (config_label everywhere) when some configuration's runs disagree or two share a name."""
    if "run" not in used:
        return {}
    seeds = list(used["seed"]) if "seed" in used else [None] * len(used)
    found: dict[tuple[int, ...], set[str]] = {}
    for i, (run, seed) in enumerate(zip(used["run"], seeds)):
        found.setdefault(tuple(codes[p][i] for p in params), set()).add(configuration_name(run, seed))
    names = {config: next(iter(values)) for config, values in found.items() if len(values) == 1}
    if len(names) != len(found) or len(set(names.values())) != len(names):
        return {}
    return names


def config_name(design: Design, codes: tuple[int, ...]) -> str:
    """A configuration's name (`codes`: its value index per parameter) in the tables and findings: its runs'
    name, else `config_label`."""
    if codes in design.names:
        return design.names[codes]
    return config_label({p: design.levels[p][c] for p, c in zip(design.params, codes)}, design.params)


def make_design(runs: pd.DataFrame, params: Sequence[str]) -> Design:
    """The cells of the runs that enter the statistics, over `params` (the varying parameters, seed aside)."""
    params = list(params)
    if "seed" in params:
        raise ValueError("params includes 'seed': seeds are replicates, not a parameter; drop it from params")
    absent = [p for p in params if p not in runs.columns]
    if absent:
        raise KeyError(f"parameters {absent} are not columns of runs (columns: {list(runs.columns)}); pass the "
                       f"sweep's varying parameters, e.g. report.varying")
    used = used_runs(runs)
    levels, codes = {}, {}
    for p in params:
        levels[p] = [native(v) for v in ordered(used[p])]  # the first is the reference
        index = {key(v): i for i, v in enumerate(levels[p])}
        codes[p] = [index[key(v)] for v in used[p]]
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
# Configurations over seeds


def config_rows(design: Design) -> pd.DataFrame:
    """One row per configuration, in RANKING order (best first).

    Columns: `config` (its runs' name, else `config_label`), each parameter, `n` (seeds), `val_acc_mean`,
    `val_acc_sd`, `val_acc_ci_low`, `val_acc_ci_high` (`accuracy_interval`; NaN when n < 2), `test_acc_mean`,
    `test_acc_sd`, and `tied_with_best`: True for the first row, None for the others (lib.report.ties decides the
    ties, once)."""
    cells = design.cells
    keys = list(zip(*(cells[p].tolist() for p in design.params))) if design.params else [()] * len(cells)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, config in enumerate(keys):
        groups.setdefault(config, []).append(i)
    val = cells["val_acc"].to_numpy(dtype=float)
    test = pd.to_numeric(cells["test_acc"], errors="coerce").to_numpy(dtype=float)
    images = pd.to_numeric(cells["n_val"], errors="coerce").to_numpy(dtype=float) if "n_val" in cells else None
    rows = []
    for config in sorted(groups):
        index = groups[config]
        mean, sd, low, high = accuracy_interval(val[index], None if images is None else images[index])
        tests = test[index][np.isfinite(test[index])]
        rows.append({"config": config_name(design, config),
                     **{p: design.levels[p][c] for p, c in zip(design.params, config)},
                     "n": len(index), "val_acc_mean": mean, "val_acc_sd": sd, "val_acc_ci_low": low,
                     "val_acc_ci_high": high, "test_acc_mean": float(tests.mean()) if len(tests) else math.nan,
                     "test_acc_sd": float(tests.std(ddof=1)) if len(tests) >= 2 else math.nan})
    columns = ["config", *design.params, *CONFIG_COLUMNS[1:-1]]
    table = ranked(pd.DataFrame(rows, columns=columns), "val_acc_mean", "test_acc_mean", "config")
    table["tied_with_best"] = pd.Series([True] * min(1, len(table)) + [None] * (len(table) - 1), index=table.index,
                                        dtype=object)
    return table


def tied_with_best(configs: pd.DataFrame) -> list[bool]:
    """Per row of a configurations table (best first): whether it is the best or tied with it; an untested
    tie (None) is not a tie."""
    if "tied_with_best" not in configs:
        return [i == 0 for i in range(len(configs))]
    return [i == 0 or (not is_missing(t) and bool(t)) for i, t in enumerate(configs["tied_with_best"])]


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
            best = configs[[same(v, value) for v in configs[p]]].iloc[0]
            rows.append({"parameter": p, "value": value, "config": best["config"], "n": best["n"],
                         "val_acc_mean": best["val_acc_mean"], "ci_low": best["val_acc_ci_low"],
                         "ci_high": best["val_acc_ci_high"]})
    return pd.DataFrame(rows, columns=ISOLATION_COLUMNS)

