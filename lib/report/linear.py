"""The linear model's machinery under lib.report.factorial: each parameter as model columns (Factor, Coder),
ordinary least squares over the terms the runs can separate (`least_squares`, LinearFit), contrasts of its
points, and Holm's correction.

Coding. A parameter's values are coded so that every coefficient reads as "value minus reference, averaged
over the other parameters' values with equal weights" whatever the balance of the runs: a two-level
parameter as -1/2 and +1/2, a parameter with k values as k - 1 columns 1[value] - 1/k (the same thing for
k = 2). Seeds are coded the same way, so the intercept is the average over seeds. A numeric parameter with
ORDERED_MIN_VALUES or more values is *ordered*: its own effect keeps one column per value (a mean at each
value), and it enters interactions through its trend, its position on a log scale where the values are
log-spaced (else a linear one), so a 25-value learning-rate axis costs one interaction column per partner,
not 24. When most of its values occur in a single cell (a search that sampled it), it is *continuous*: the
trend alone. statsmodels is imported on first use.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from lib.core.formatting import is_number
from lib.core.values import number_text, sweep_text

ORDERED_MIN_VALUES = 3  # numeric parameters with at least this many values are ordered


def statsmodels_regression():
    """statsmodels' regression module (its OLS), imported on first use: statsmodels.api would import the
    whole library, seconds of it, for this one model."""
    from statsmodels.regression import linear_model

    return linear_model


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values: the i-th smallest of m is multiplied by m - i + 1, then made
    non-decreasing and capped at 1. NaN stays NaN and does not count towards m."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(len(p), math.nan)
    finite = np.flatnonzero(np.isfinite(p))
    if len(finite):
        order = finite[np.argsort(p[finite], kind="stable")]
        m = len(order)
        out[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return out



# ---------------------------------------------------------------------------------------------
# Factors and their coding


@dataclass
class Factor:
    """One parameter of the model: its values (the first is the reference) and how they are coded."""

    name: str
    levels: list[Any]
    kind: str  # binary, categorical, ordered or continuous (see the module docstring)
    positions: np.ndarray = field(default_factory=lambda: np.zeros(0))  # trend axis per value, centred
    unit: str = ""  # one step of the trend axis in words: "tenfold", "doubling", "+5"

    @property
    def trend(self) -> bool:
        return self.kind in ("ordered", "continuous")

    def main_codes(self) -> np.ndarray:
        """(values, columns) of the parameter's own term."""
        k = len(self.levels)
        if self.kind == "binary":
            return np.array([[-0.5], [0.5]])
        if self.kind == "continuous":
            return self.positions[:, None]
        return np.vstack([np.zeros(k - 1), np.eye(k - 1)]) - 1.0 / k

    def pair_codes(self) -> np.ndarray:
        """(values, columns) with which the parameter enters an interaction."""
        return self.positions[:, None] if self.trend else self.main_codes()

    def weights(self) -> np.ndarray:
        """Least-squares slope of the per-value means on the trend axis, as weights over the values."""
        x = self.positions - self.positions.mean()
        return x / float((x ** 2).sum())

    def text(self, level: int) -> str:
        return sweep_text(self.levels[level])

    def trend_text(self) -> str:
        return f"per {self.unit} {self.name}" if self.unit[:1] != "+" else f"per {self.unit} of {self.name}"


def _spread(gaps: np.ndarray) -> float:
    return float(np.std(gaps) / abs(np.mean(gaps))) if len(gaps) and np.mean(gaps) else math.inf


def _trend_axis(values: Sequence[float]) -> tuple[np.ndarray, str]:
    """Each value's place on the trend axis, centred, and the axis' step: log10 or log2 where the values are
    closer to evenly spaced on a log scale than on a linear one, else linear in steps of the median gap."""
    v = np.asarray(values, dtype=float)
    if (v > 0).all() and _spread(np.diff(np.log(v))) < _spread(np.diff(v)):
        base, unit = (10.0, "tenfold") if v[-1] / v[0] >= 10 else (2.0, "doubling")
        x = np.log(v) / math.log(base)
    else:
        gap = float(np.median(np.diff(v)))
        x, unit = v / gap, f"+{number_text(gap)}"
    return x - x.mean(), unit


def factor_of(name: str, levels: list[Any], codes: np.ndarray) -> Factor:
    k = len(levels)
    if k == 2:
        return Factor(name, levels, "binary")
    if k >= ORDERED_MIN_VALUES and all(is_number(v) for v in levels):
        positions, unit = _trend_axis(levels)
        per_value = np.bincount(codes, minlength=k)
        kind = "ordered" if np.median(per_value) >= 2 else "continuous"
        return Factor(name, levels, kind, positions, unit)
    return Factor(name, levels, "categorical")


class Coder:
    """Builds model columns for terms: () intercept, ("seed",), (a,), (a, b), (a, "seed")."""

    def __init__(self, factors: Sequence[Factor], seeds: Sequence[Any]):
        self.factors = {f.name: f for f in factors}
        self.seeds = list(seeds)
        k = len(self.seeds)
        self.seed_codes = np.vstack([np.zeros(k - 1), np.eye(k - 1)]) - 1.0 / k if k > 1 else np.zeros((1, 0))

    def _codes(self, name: str, index: np.ndarray | None, n: int, pair: bool) -> np.ndarray:
        if name == "seed":
            table = self.seed_codes
        else:
            factor = self.factors[name]
            table = factor.pair_codes() if pair else factor.main_codes()
        if index is None:  # averaged over the values with equal weights: every centred code averages to 0
            return np.zeros((n, table.shape[1]))
        return table[index]

    def block(self, term: tuple[str, ...], assign: Mapping[str, np.ndarray | None], n: int) -> np.ndarray:
        if not term:
            return np.ones((n, 1))
        if len(term) == 1:
            return self._codes(term[0], assign.get(term[0]), n, pair=False)
        a, b = term
        left = self._codes(a, assign.get(a), n, pair=b != "seed")
        right = self._codes(b, assign.get(b), n, pair=True)
        return (left[:, :, None] * right[:, None, :]).reshape(n, -1)

    def matrix(self, terms: Sequence[tuple[str, ...]], assign: Mapping[str, np.ndarray | None], n: int) -> np.ndarray:
        blocks = [self.block(t, assign, n) for t in terms]
        return np.hstack(blocks) if blocks else np.zeros((n, 0))

    def row(self, terms: Sequence[tuple[str, ...]], levels: Mapping[str, int | None]) -> np.ndarray:
        """The model row of a point: the named values (seed included, or averaged when absent) and every other
        parameter averaged over its values."""
        assign = {k: (None if v is None else np.array([v])) for k, v in levels.items()}
        return self.matrix(terms, assign, 1)[0]


# A contrast: a weighted sum of model points, each point a {parameter: value index} (absent: averaged).
Contrast = list[tuple[float, dict[str, int]]]


@dataclass
class LinearFit:
    coder: Coder
    terms: list[tuple[str, ...]]
    dropped: list[tuple[str, ...]]
    result: Any  # statsmodels RegressionResults
    n: int

    @property
    def df(self) -> float:
        return float(self.result.df_resid)

    @property
    def ssr(self) -> float:
        return float(self.result.ssr)

    def vector(self, contrast: Contrast, seed: int | None = None) -> np.ndarray:
        extra = {} if seed is None else {"seed": seed}
        return sum(w * self.coder.row(self.terms, {**point, **extra}) for w, point in contrast)

    def value(self, contrast: Contrast, seed: int | None = None) -> float:
        return float(self.vector(contrast, seed) @ self.result.params)

    def estimate(self, contrast: Contrast) -> tuple[float, float, float]:
        """(estimate, standard error, df); the error is NaN without residual degrees of freedom."""
        L = self.vector(contrast)
        est = float(L @ self.result.params)
        if self.df <= 0:
            return est, math.nan, 0.0
        var = float(L @ self.result.cov_params() @ L)
        return est, math.sqrt(max(var, 0.0)), self.df

    def f_test(self, contrasts: Sequence[Contrast]) -> float:
        """p of the F test that every contrast is 0 (several columns of one interaction at once)."""
        if self.df <= 0:
            return math.nan
        R = np.vstack([self.vector(c) for c in contrasts])
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return float(np.asarray(self.result.f_test(R).pvalue))


def least_squares(coder: Coder, candidates: Sequence[tuple[str, ...]], assign: Mapping[str, np.ndarray], y: np.ndarray,
         skip: Sequence[str] = ()) -> LinearFit:
    """OLS on the terms the runs can separate, added in order; a term that adds no rank is dropped whole."""
    sm = statsmodels_regression()
    n = len(y)
    terms = [t for t in candidates if not any(name in skip for name in t)]
    dropped = [t for t in candidates if t not in terms]
    blocks = [coder.block(t, assign, n) for t in terms]
    X = np.hstack(blocks) if blocks else np.zeros((n, 0))
    kept = list(terms)
    if np.linalg.matrix_rank(X) < X.shape[1]:  # some term adds nothing new: find which, in order
        X, kept, rank = np.zeros((n, 0)), [], 0
        for term, block in zip(terms, blocks):
            trial = np.hstack([X, block])
            new_rank = int(np.linalg.matrix_rank(trial))
            if new_rank == rank + block.shape[1]:
                X, rank = trial, new_rank
                kept.append(term)
            else:
                dropped.append(term)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # no residual df: statsmodels warns, the errors read NaN here
        result = sm.OLS(y, X).fit()
    return LinearFit(coder, kept, dropped, result, n)

