"""The one-seed cross-check: Lenth's (1989) pseudo standard error of a one-seed two-level full factorial,
the intervals it gives each main effect and interaction, and those intervals beside the pooled model's.

With one seed and every parameter at two values, each main effect (mean at the second value minus mean at
the first, over runs matched on every other parameter) and each interaction is a contrast of the 2^k runs.
Lenth's method takes most contrasts to be noise: s0 = 1.5 median|c|, PSE = 1.5 median of the |c| < 2.5 s0,
and a contrast's 95% interval is ± t(m/3 df) PSE over all m contrasts. It corrects for nothing; the report
states it beside the pooled model (lib.report.factorial), which does. benchmarks/stats_coverage.py compares
it, with the matched-pair t over seeds it came with, against the pooled model.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from lib.report.design import EXACT, Design, make_design, t_quantile


@dataclass
class LenthError:
    """Lenth's pseudo standard error of the contrasts of a one-seed two-level full factorial."""

    pse: float
    contrasts: int  # m: main effects and interactions of every order

    @property
    def half_width(self) -> float:
        return t_quantile(self.contrasts / 3) * self.pse


def lenth_error(design: Design) -> LenthError | str:
    """How to bound an estimate whose matches share one seed: Lenth's PSE, or the reason there is no CI."""
    if design.cells.empty:
        return "no runs"
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
    return LenthError(pse=float(1.5 * np.median(trimmed)) if trimmed.size else 0.0, contrasts=len(c))


def one_seed_interval(effect: float, error: LenthError | str, what: str) -> tuple[float, str]:
    """The half-width of a one-seed estimate's 95% interval (NaN: none) and how it was made."""
    if isinstance(error, str):
        return math.nan, error
    if error.pse > 0:
        return error.half_width, (f"Lenth's pseudo standard error over {error.contrasts} contrasts, t with "
                                  f"{error.contrasts / 3:.3g} df (one seed, two-level full factorial)")
    if abs(effect) <= EXACT:
        return 0.0, "one seed; Lenth's pseudo standard error is 0 (most contrasts are exactly 0), as is this " + what
    return math.nan, "one seed; Lenth's pseudo standard error is 0 (most contrasts are exactly 0): no CI"


def matched(design: Design, fixed: dict[str, int], index: list[str]) -> pd.Series:
    """val_acc of the cells at the `fixed` value indexes, indexed by `index` (the other parameters and the seed),
    so that two such series align run against matched run."""
    cells = design.cells
    mask = np.ones(len(cells), dtype=bool)
    for p, code in fixed.items():
        mask &= (cells[p] == code).to_numpy()
    return cells[mask].set_index(index)["val_acc"]


def _interval(values: pd.Series, error: LenthError | str, what: str) -> dict[str, Any]:
    if values.empty:
        return {"effect": math.nan, "ci_low": math.nan, "ci_high": math.nan, "ci_method": "no matched runs"}
    effect = float(values.mean())
    half, method = one_seed_interval(effect, error, what)
    return {"effect": effect, "ci_low": effect - half, "ci_high": effect + half, "ci_method": method}


def matched_differences(design: Design) -> Iterator[tuple[str, int, pd.Series]]:
    """(parameter, value index, differences) for each value of each parameter but its reference (index 0): the
    value's val_acc minus the reference's, run against run matched on every other parameter and the seed."""
    for p in design.params:
        index = [q for q in design.params if q != p] + ["seed"]
        reference = matched(design, {p: 0}, index)
        for code in range(1, len(design.levels[p])):
            pairs = pd.concat({"at": matched(design, {p: code}, index), "ref": reference}, axis=1, join="inner")
            yield p, code, pairs["at"] - pairs["ref"]


def lenth_effects(runs: pd.DataFrame, params: Sequence[str]) -> pd.DataFrame:
    """Each value's effect against its parameter's reference over matched runs, with Lenth's interval
    (columns parameter, value, reference, effect, ci_low, ci_high, ci_method); one seed."""
    design = make_design(runs, params)
    error = lenth_error(design)
    rows = [{"parameter": p, "value": design.levels[p][code], "reference": design.levels[p][0],
             **_interval(differences, error, "effect")} for p, code, differences in matched_differences(design)]
    return pd.DataFrame(rows, columns=["parameter", "value", "reference", "effect", "ci_low", "ci_high", "ci_method"])


def lenth_interactions(runs: pd.DataFrame, params: Sequence[str]) -> pd.DataFrame:
    """Each pair of two-level parameters' interaction (the 2^k convention, as the pooled model's) with Lenth's
    interval (columns parameter_a, parameter_b, interaction, ci_low, ci_high, ci_method); one seed."""
    design = make_design(runs, params)
    error = lenth_error(design)
    two_level = [p for p in design.params if len(design.levels[p]) == 2]
    rows = []
    for a, b in itertools.combinations(two_level, 2):
        index = [q for q in design.params if q not in (a, b)] + ["seed"]
        y = pd.concat({f"{i}{j}": matched(design, {a: i, b: j}, index) for i in (0, 1) for j in (0, 1)},
                      axis=1, join="inner")
        estimate = _interval(((y["11"] - y["01"]) - (y["10"] - y["00"])) / 2, error, "interaction")
        rows.append({"parameter_a": a, "parameter_b": b, "interaction": estimate.pop("effect"), **estimate})
    return pd.DataFrame(rows, columns=["parameter_a", "parameter_b", "interaction", "ci_low", "ci_high", "ci_method"])
