"""One linear model over a whole sweep: the effects, interactions and comparisons with the best that
the report's findings state, each with a standard error, degrees of freedom and a p-value, and
corrected for multiplicity.

Pure functions of the runs table (as in lib.report.design: one row per run with its status, parameters,
seed and val_acc); no I/O, no plotting. statsmodels and scipy are imported on first use.

The model is ordinary least squares (statsmodels; its columns and fit are lib.report.linear's) over the
(configuration, seed) cells that lib.report.design averages runs into:

    val_acc ~ intercept + seed + each parameter + each pair of parameters

Coding (lib.report.linear): every coefficient reads as "value minus reference, averaged over the other
parameters' values with equal weights" whatever the balance of the runs; a numeric parameter with several
values is *ordered* (a mean at each value, and its trend in interactions) or, when sampled, *continuous*.

Error. The residual of that model pools the run-to-run noise over the whole design: with several
seeds, configuration x seed scatter and interactions of three or more parameters; with one seed,
those interactions alone. Terms the runs cannot separate (missing cells, confounded parameters) are
left out and named. No residual degrees of freedom: no interval, and nothing is called.

Seed-dependent effects. For each parameter the model is refitted with a parameter x seed term. Its
estimates of the parameter's effect at each seed, v_1..v_k, give the parameter x seed variation:
d^2 = var(v) / k, the squared standard error of their mean. The interval of the average effect over
seeds has the standard error sqrt(s^2 + max(0, d^2 - VC_SHARE s^2)), s the pooled model's: a
variance-component (random parameter x seed) interval that grows
smoothly with the variation, t with Satterthwaite's degrees of freedom, which fall from the residual's
towards k - 1 as the seed component dominates. VC_SHARE 1 would be the method-of-moments estimate of
the component; half of it was chosen by simulation (benchmarks/stats_coverage.py: coverage across seeds
against width). The same refit tests each seed's own difference: the effect is *called at every seed*
when every per-seed difference has the same sign and is significant, the intersection-union test, whose
p is the largest per-seed p.

Multiplicity. A difference is *called* when its Holm-adjusted p-value is below ALPHA, the family
being every effect and interaction the findings consider: each value against the reference (two
or more unordered values), each step between neighbouring values and the trend (ordered), and each
pair's interaction (one F test when it has several columns). With several seeds a difference's p is
Bonferroni's over its two readings, twice the smaller of the average's p and the every-seed p, so
either reading may make the call at level ALPHA. Configurations are compared with the best against
the pooled configuration x seed error (y ~ configuration + seed), Holm over those comparisons
(lib.report.ties). With one seed and a two-level full factorial, Lenth's intervals stand beside the
model's (lib.report.lenth).

The rule before this one (SEED_RULES' "f_test_switch", kept as the benchmark's baseline): an F test of
parameter x seed at GUARD_ALPHA switched a parameter's intervals to a t-interval over its per-seed
effects, and there was no every-seed call.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from lib.core.values import key, same, sort_key
from lib.report.design import ALPHA, EXACT, Design, bounded_interval, make_design, t_quantile, two_sided_p
from lib.report.lenth import lenth_effects, lenth_interactions
from lib.report.linear import Coder, Contrast, Factor, LinearFit, factor_of, holm, least_squares
from lib.report.ties import configs_against_best

VC_SHARE = 0.5  # share of the noise's error taken off the parameter x seed variation (module docstring)
SEED_RULES = ("variance_component", "f_test_switch")  # the first is the report's; the second its baseline
GUARD_ALPHA = 0.05  # f_test_switch: level of the parameter x seed test that switches to per-seed intervals
AT_MAX = 5  # an interaction is stated at every value of the other parameter up to this many, else at its ends

EFFECT_COLUMNS = ["parameter", "value", "reference", "effect", "ci_low", "ci_high", "se", "df", "p", "p_holm",
                  "p_average", "p_every_seed", "seed_min", "seed_max", "seed_share", "n", "seeds", "kind", "identical",
                  "ci_method", "lenth_ci_low", "lenth_ci_high"]
INTERACTION_COLUMNS = ["parameter_a", "value_a", "parameter_b", "value_b", "interaction", "ci_low", "ci_high", "se",
                       "df", "p", "p_holm", "n", "seeds", "ci_method", "lenth_ci_low", "lenth_ci_high"]


# ---------------------------------------------------------------------------------------------
# The analysis


@dataclass
class Estimate:
    effect: float
    ci_low: float
    ci_high: float
    se: float
    df: float
    p: float  # the call's: the average's, or with several seeds Bonferroni's over the average and every seed
    method: str
    p_average: float = math.nan  # the average effect over seeds is 0
    p_every_seed: float = math.nan  # intersection-union: the largest per-seed p when every seed has one sign, else 1
    seed_values: tuple[float, ...] = ()  # the effect at each seed (the parameter x seed refit)
    seed_share: float = math.nan  # share of the squared standard error that is parameter x seed variation

    @property
    def every_seed(self) -> bool:
        """Whether the call, if made, rests on every seed's own difference rather than on the average."""
        return math.isfinite(self.p_every_seed) and self.p_every_seed < self.p_average


def _interval(effect: float, se: float, df: float, method: str) -> Estimate:
    if not math.isfinite(se) or df <= 0:
        return Estimate(effect, math.nan, math.nan, math.nan, df, math.nan, method)
    p = _p_value(effect, se, df)
    if se <= EXACT:  # no scatter at all: the difference is exact
        return Estimate(effect, effect, effect, 0.0, df, p, method, p_average=p)
    half = t_quantile(df) * se
    return Estimate(effect, effect - half, effect + half, se, df, p, method, p_average=p)


def _p_value(effect: float, se: float, df: float) -> float:
    """Two-sided p of effect / se against t with df; an exact difference (no scatter) is 0 unless it is 0."""
    if se <= EXACT:
        return 0.0 if abs(effect) > EXACT else 1.0
    return two_sided_p(effect / se, df)


def satterthwaite(noise: float, noise_df: float, component: float, component_df: float) -> float:
    """Degrees of freedom of a variance noise + component, each estimated with its own df (Satterthwaite's
    approximation); the noise's df when the component is 0."""
    total = noise + component
    denominator = noise ** 2 / noise_df + component ** 2 / component_df
    return float(total ** 2 / denominator) if denominator > 0 else float(noise_df)


@dataclass
class Pooled:
    """The pooled model of one sweep and every table and sentence the report takes from it."""

    factors: list[Factor]
    seeds: list[Any]
    cells: pd.DataFrame  # lib.report.design's (configuration, seed) cells: value index per parameter, seed, val_acc
    fit: LinearFit | None
    guards: dict[str, float]  # parameter -> p of its parameter x seed F test (NaN: could not be tested)
    seed_fits: dict[str, LinearFit]  # parameter -> the fit with its parameter x seed term
    seed_rule: str = SEED_RULES[0]
    vc_share: float = VC_SHARE
    guard_alpha: float = GUARD_ALPHA
    effects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EFFECT_COLUMNS))
    interactions: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INTERACTION_COLUMNS))
    configs: pd.DataFrame = field(default_factory=pd.DataFrame)
    config_method: str = ""
    lenth: bool = False  # a one-seed two-level full factorial: Lenth intervals beside the pooled ones

    @property
    def factor(self) -> dict[str, Factor]:
        return {f.name: f for f in self.factors}

    @property
    def df(self) -> float:
        return self.fit.df if self.fit is not None else 0.0

    @property
    def family(self) -> int:
        """How many tests Holm's correction runs over."""
        if self.effects.empty and self.interactions.empty:
            return 0
        effects = self.effects[self.effects["kind"].isin(["difference", "trend"])]
        pairs = self.interactions.drop_duplicates(["parameter_a", "parameter_b"])
        return int(effects["p_holm"].notna().sum() + pairs["p_holm"].notna().sum())

    def called(self, p_holm: float) -> bool:
        return math.isfinite(p_holm) and p_holm < ALPHA

    # --- estimates ---------------------------------------------------------------------------

    @property
    def per_seed(self) -> dict[str, LinearFit]:
        """f_test_switch: the parameters whose F test of parameter x seed fired, with their refits."""
        if self.seed_rule != "f_test_switch":
            return {}
        return {name: fit for name, fit in self.seed_fits.items()
                if math.isfinite(self.guards.get(name, math.nan)) and self.guards[name] < self.guard_alpha}

    def estimate(self, contrast: Contrast, factor: str | None) -> Estimate:
        """A contrast of `factor`'s values: from its parameter x seed refit where there is one (the module
        docstring's seed-dependent effects), else from the pooled fit."""
        if self.fit is None:
            return Estimate(math.nan, math.nan, math.nan, math.nan, 0.0, math.nan, "no runs")
        if factor in self.per_seed:
            fit = self.per_seed[factor]
            values = np.array([fit.value(contrast, seed=s) for s in range(len(self.seeds))])
            mean, k = float(values.mean()), len(values)
            sd = float(values.std(ddof=1))
            method = (f"per-seed: {factor}'s effect varies with the seed (F test of {factor} x seed, "
                      f"p {self.guards[factor]:.2g}); t-interval over {k} per-seed estimates")
            return _interval(mean, sd / math.sqrt(k), k - 1, method)
        if self.seed_rule == "variance_component" and factor in self.seed_fits:
            return self._seed_component(contrast, factor)
        est, se, df = self.fit.estimate(contrast)
        if df <= 0:
            return _interval(est, se, df, "no residual degrees of freedom (the model uses every run): no CI")
        error = ("configuration x seed scatter and interactions of three or more parameters" if len(self.seeds) > 1
                 else "interactions of three or more parameters (one seed)")
        return _interval(est, se, df, f"pooled linear model, t with {df:g} df (error: {error})")

    def _seed_component(self, contrast: Contrast, factor: str) -> Estimate:
        """The average over seeds: the pooled fit's estimate and error, widened by the parameter x seed variance
        component the refit measures; and the every-seed test, against the refit's error."""
        fit, k = self.seed_fits[factor], len(self.seeds)
        mean, s, pooled_df = self.fit.estimate(contrast)
        if pooled_df <= 0:
            return _interval(mean, s, pooled_df, "no residual degrees of freedom (the model uses every run): no CI")
        values = tuple(fit.value(contrast, seed=i) for i in range(k))
        spread = float(np.var(values, ddof=1)) / k  # d^2
        component = max(0.0, spread - self.vc_share * s ** 2)
        se = math.sqrt(s ** 2 + component)
        df = satterthwaite(s ** 2, pooled_df, component, k - 1)
        share = component / se ** 2 if se > EXACT else 0.0
        error = "configuration x seed scatter and interactions of three or more parameters"
        method = (f"pooled linear model, t with {df:g} df (error: {error}; no {factor} x seed variation beyond it)"
                  if component <= 0 else f"pooled linear model widened by a {factor} x seed variance component "
                  f"({share:.0%} of the variance), t with {df:.3g} Satterthwaite df (error: {error})")
        average = _interval(mean, se, df, method)
        seed_ps = []
        for i, value in enumerate(values):
            L = fit.vector(contrast, seed=i)
            seed_ps.append(_p_value(value, math.sqrt(max(float(L @ fit.result.cov_params() @ L), 0.0)), fit.df))
        same_sign = all(v > EXACT for v in values) or all(v < -EXACT for v in values)
        every = max(seed_ps) if same_sign else 1.0
        p = min(1.0, 2 * min(average.p, every)) if math.isfinite(average.p) else math.nan
        return replace(average, p=p, p_every_seed=every, seed_values=values, seed_share=share)

    def difference(self, name: str, value: int, reference: int, at: Mapping[str, int] | None = None) -> Contrast:
        at = dict(at or {})
        return [(1.0, {**at, name: value}), (-1.0, {**at, name: reference})]

    def slope(self, name: str, at: Mapping[str, int] | None = None) -> Contrast:
        at = dict(at or {})
        factor = self.factor[name]
        return [(float(w), {**at, name: i}) for i, w in enumerate(factor.weights())]

    def simple_effects(self, name: str, other: str) -> list[dict[str, Any]]:
        """`name`'s effects at each value of `other` (at its ends when it has more than AT_MAX values):
        value vs reference, or the trend for an ordered parameter; Holm over the rows returned."""
        factor, partner = self.factor[name], self.factor[other]
        at_levels = list(range(len(partner.levels)))
        if len(at_levels) > AT_MAX:
            at_levels = [0, len(at_levels) - 1]
        rows = []
        for b in at_levels:
            if factor.trend:
                rows.append({"value": "trend", "reference": None, "at": b,
                             "estimate": self.estimate(self.slope(name, {other: b}), name)})
            else:
                for j in range(1, len(factor.levels)):
                    rows.append({"value": j, "reference": 0, "at": b,
                                 "estimate": self.estimate(self.difference(name, j, 0, {other: b}), name)})
        adjusted = holm([r["estimate"].p for r in rows])
        for r, p in zip(rows, adjusted):
            r["p_holm"] = float(p)
        return rows

    def significant_pairs(self) -> list[tuple[str, str]]:
        if self.interactions.empty:
            return []
        pairs = self.interactions.drop_duplicates(["parameter_a", "parameter_b"])
        return [(a, b) for a, b, p in zip(pairs["parameter_a"], pairs["parameter_b"], pairs["p_holm"])
                if self.called(p)]


def _cells(runs: pd.DataFrame, params: Sequence[str]) -> tuple[Design, list[Factor], list[Any]]:
    design = make_design(runs, params)
    factors = [factor_of(p, design.levels[p], design.cells[p].to_numpy()) for p in design.params
               if len(design.levels[p]) > 1]
    seeds = sorted(set(design.cells["seed"]), key=sort_key)
    return design, factors, seeds


def _assign(cells: pd.DataFrame, factors: Sequence[Factor], seeds: Sequence[Any]) -> dict[str, np.ndarray]:
    seed_index = {key(s): i for i, s in enumerate(seeds)}
    assign = {f.name: cells[f.name].to_numpy().astype(int) for f in factors}
    assign["seed"] = np.array([seed_index[key(s)] for s in cells["seed"]], dtype=int)
    return assign


def _terms(factors: Sequence[Factor], seeds: Sequence[Any]) -> list[tuple[str, ...]]:
    names = [f.name for f in factors]
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    return [(), *([("seed",)] if len(seeds) > 1 else []), *[(n,) for n in names], *pairs]


def _guard(base: LinearFit, coder: Coder, assign: Mapping[str, np.ndarray], y: np.ndarray,
           name: str) -> tuple[float, LinearFit | None]:
    """p of the F test of `name` x seed (the nested fits compared as anova_lm does), and the fit with that term."""
    if (name,) not in base.terms or len(coder.seeds) < 2 or base.df <= 0:
        return math.nan, None
    guarded = least_squares(coder, [*base.terms, (name, "seed")], assign, y)
    if (name, "seed") not in guarded.terms or guarded.df <= 0:
        return math.nan, None
    if base.ssr <= EXACT ** 2 * len(y):  # no scatter at all: nothing varies with the seed
        return 1.0, guarded
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        _, p, _ = guarded.result.compare_f_test(base.result)  # anova_lm(base, guarded)'s F test, without its table
    p = float(p)
    if not math.isfinite(p):  # the seed term leaves no scatter: F is infinite
        p = 0.0 if guarded.ssr <= EXACT ** 2 * len(y) else math.nan
    return p, guarded


def fit(runs: pd.DataFrame, params: Sequence[str], seed_rule: str = SEED_RULES[0], vc_share: float = VC_SHARE,
        guard_alpha: float = GUARD_ALPHA) -> Pooled:
    """The pooled model of the runs that enter the statistics (lib.report.design.used_runs), with its tables.
    `seed_rule`, `vc_share` and `guard_alpha`: how seed-dependent effects are handled (module docstring); the
    report uses the defaults, the benchmark the others too."""
    design, factors, seeds = _cells(runs, params)
    cells = design.cells
    if seed_rule not in SEED_RULES:
        raise ValueError(f"seed_rule {seed_rule!r}: expected one of {', '.join(SEED_RULES)}")
    pooled = Pooled(factors, seeds, cells, None, {}, {}, seed_rule, vc_share, guard_alpha)
    if not cells.empty:
        coder = Coder(factors, seeds)
        assign = _assign(cells, factors, seeds)
        y = cells["val_acc"].to_numpy(dtype=float)
        fit = least_squares(coder, _terms(factors, seeds), assign, y)
        confounded = [t[0] for t in fit.dropped if len(t) == 1 and t[0] != "seed"]
        if confounded:  # interactions of a parameter the runs cannot separate are left out with it
            fit = least_squares(coder, _terms(factors, seeds), assign, y, skip=confounded)
        pooled.fit = fit
        for f in factors:
            p, guarded = _guard(fit, coder, assign, y, f.name)
            pooled.guards[f.name] = p
            if guarded is not None:
                pooled.seed_fits[f.name] = guarded
    pooled.lenth = _lenth_design(pooled)
    pooled.effects = _effects(pooled, runs, params)
    pooled.interactions = _interactions(pooled, runs, params)
    _adjust(pooled)
    pooled.configs, pooled.config_method = configs_against_best(design, pooled.fit)
    return pooled


# ---------------------------------------------------------------------------------------------
# Tables


def _count(pooled: Pooled, where: Mapping[str, Sequence[int]]) -> tuple[int, int]:
    """Cells with the given values, and their distinct seeds."""
    mask = np.ones(len(pooled.cells), dtype=bool)
    for name, values in where.items():
        mask &= np.isin(pooled.cells[name].to_numpy(), list(values))
    return int(mask.sum()), len(set(pooled.cells["seed"].to_numpy()[mask].tolist()))


def _identical(pooled: Pooled, name: str, value: int, reference: int) -> bool:
    """Whether every run at `value` or `reference` has a matched run at the other (same other values, same
    seed) and equals it."""
    cells = pooled.cells
    others = [f.name for f in pooled.factors if f.name != name] + ["seed"]
    keys = list(zip(*(cells[c].tolist() for c in others)))
    at, ref = {}, {}
    for where, code, y in zip(keys, cells[name].tolist(), cells["val_acc"].tolist()):
        if code in (value, reference):
            (at if code == value else ref)[where] = y
    return bool(at) and at.keys() == ref.keys() and all(abs(at[k] - ref[k]) <= EXACT for k in at)


def _row(parameter: str, value: Any, reference: Any, kind: str, estimate: Estimate, n: tuple[int, int],
         identical: bool = False) -> dict[str, Any]:
    method = estimate.method if not identical else "identical runs: every run equals its matched run at the reference"
    return {"parameter": parameter, "value": value, "reference": reference, "effect": estimate.effect,
            "ci_low": estimate.ci_low, "ci_high": estimate.ci_high, "se": estimate.se, "df": estimate.df,
            "p": estimate.p if kind in ("difference", "trend") else math.nan, "p_holm": math.nan,
            "p_average": estimate.p_average if kind in ("difference", "trend") else math.nan,
            "p_every_seed": estimate.p_every_seed if kind in ("difference", "trend") else math.nan,
            "seed_min": min(estimate.seed_values, default=math.nan),
            "seed_max": max(estimate.seed_values, default=math.nan), "seed_share": estimate.seed_share, "n": n[0],
            "seeds": n[1], "kind": kind, "identical": identical, "ci_method": method,
            "lenth_ci_low": math.nan, "lenth_ci_high": math.nan}


def _effects(pooled: Pooled, runs: pd.DataFrame, params: Sequence[str]) -> pd.DataFrame:
    """Per parameter: each value against the reference; ordered parameters: the mean at each value, each step
    between neighbours and the trend; continuous ones: the trend. See EFFECT_COLUMNS."""
    rows = []
    fit = pooled.fit
    for f in pooled.factors:
        estimable = fit is not None and (f.name,) in fit.terms
        if not estimable:
            rows.append(_row(f.name, f.levels[1], f.levels[0], "difference",
                             Estimate(math.nan, math.nan, math.nan, math.nan, 0.0, math.nan,
                                      "not estimable: confounded with other parameters in these runs"),
                             _count(pooled, {f.name: [0, 1]})))
            continue
        if f.kind in ("binary", "categorical"):
            for j in range(1, len(f.levels)):
                identical = _identical(pooled, f.name, j, 0)
                estimate = pooled.estimate(pooled.difference(f.name, j, 0), f.name)
                if identical:
                    estimate = _interval(0.0, 0.0, max(estimate.df, 1.0), estimate.method)
                rows.append(_row(f.name, f.levels[j], f.levels[0], "difference", estimate,
                                 _count(pooled, {f.name: [0, j]}), identical))
            continue
        if f.kind == "ordered":
            for i in range(len(f.levels)):
                mean = pooled.estimate([(1.0, {f.name: i})], f.name)
                if math.isfinite(mean.ci_low):  # a mean accuracy: its interval inside (0, 1)
                    mean = replace(mean, **dict(zip(("ci_low", "ci_high"),
                                                    bounded_interval(mean.effect, mean.se, mean.df))))
                rows.append(_row(f.name, f.levels[i], None, "mean", mean, _count(pooled, {f.name: [i]})))
            for i in range(1, len(f.levels)):
                rows.append(_row(f.name, f.levels[i], f.levels[i - 1], "difference",
                                 pooled.estimate(pooled.difference(f.name, i, i - 1), f.name),
                                 _count(pooled, {f.name: [i - 1, i]})))
        rows.append(_row(f.name, f"per {f.unit}", None, "trend", pooled.estimate(pooled.slope(f.name), f.name),
                         _count(pooled, {})))
    table = pd.DataFrame(rows, columns=EFFECT_COLUMNS)
    if pooled.lenth and len(table):
        lenth = lenth_effects(runs, params)
        for i, r in table.iterrows():
            at = np.array([same(v, r["value"]) for v in lenth["value"]], dtype=bool)
            match = lenth[(lenth["parameter"] == r["parameter"]).to_numpy() & at]
            if len(match) and "Lenth" in str(match["ci_method"].iloc[0]):
                table.loc[i, ["lenth_ci_low", "lenth_ci_high"]] = match[["ci_low", "ci_high"]].iloc[0].to_numpy()
    return table


def _interactions(pooled: Pooled, runs: pd.DataFrame, params: Sequence[str]) -> pd.DataFrame:
    """Per pair of parameters in the model, each column of their interaction (see INTERACTION_COLUMNS).

    Two unordered parameters: half the difference between a's effect (value vs reference) at b's value and
    at b's reference, ((y[a1,b1] - y[a0,b1]) - (y[a1,b0] - y[a0,b0])) / 2, symmetric in a and b (the 2^k
    convention). An ordered parameter (value "trend"): how much its trend changes between b's value and b's
    reference (both ordered: per step of b's trend). The pair's p is one F test when it has several rows.
    """
    rows = []
    fit = pooled.fit
    if fit is None:
        return pd.DataFrame(rows, columns=[*INTERACTION_COLUMNS, "_pair_p"])
    factors = pooled.factor
    for term in fit.terms:
        if len(term) != 2 or "seed" in term:
            continue
        a, b = factors[term[0]], factors[term[1]]
        contrasts, labels = [], []
        if a.trend and b.trend:
            contrasts.append([(float(wa * wb), {a.name: i, b.name: j}) for i, wa in enumerate(a.weights())
                              for j, wb in enumerate(b.weights())])
            labels.append(("trend", "trend"))
        elif a.trend or b.trend:
            t, o = (a, b) if a.trend else (b, a)
            for j in range(1, len(o.levels)):
                contrasts.append([(w, {**pt, o.name: j}) for w, pt in pooled.slope(t.name)]
                                 + [(-w, {**pt, o.name: 0}) for w, pt in pooled.slope(t.name)])
                labels.append(("trend", o.levels[j]) if t is a else (o.levels[j], "trend"))
        else:
            for i in range(1, len(a.levels)):
                for j in range(1, len(b.levels)):
                    contrasts.append([(0.5, {a.name: i, b.name: j}), (-0.5, {a.name: 0, b.name: j}),
                                      (-0.5, {a.name: i, b.name: 0}), (0.5, {a.name: 0, b.name: 0})])
                    labels.append((a.levels[i], b.levels[j]))
        pair_p = fit.f_test(contrasts) if len(contrasts) > 1 else math.nan
        n = _count(pooled, {})
        for contrast, (va, vb) in zip(contrasts, labels):
            est = pooled.estimate(contrast, None)
            method = est.method + (f"; p_holm: F test of the whole {a.name} x {b.name} interaction "
                                   f"({len(contrasts)} columns)" if len(contrasts) > 1 else "")
            rows.append({"parameter_a": a.name, "value_a": va, "parameter_b": b.name, "value_b": vb,
                         "interaction": est.effect, "ci_low": est.ci_low, "ci_high": est.ci_high, "se": est.se,
                         "df": est.df, "p": est.p, "_pair_p": pair_p if len(contrasts) > 1 else est.p,
                         "p_holm": math.nan, "n": n[0], "seeds": n[1], "ci_method": method,
                         "lenth_ci_low": math.nan, "lenth_ci_high": math.nan})
    table = pd.DataFrame(rows, columns=[*INTERACTION_COLUMNS, "_pair_p"])
    if pooled.lenth and len(table):
        lenth = lenth_interactions(runs, params)
        for i, r in table.iterrows():
            match = lenth[(lenth["parameter_a"] == r["parameter_a"]) & (lenth["parameter_b"] == r["parameter_b"])]
            if len(match) and "Lenth" in str(match["ci_method"].iloc[0]):
                table.loc[i, ["lenth_ci_low", "lenth_ci_high"]] = match[["ci_low", "ci_high"]].iloc[0].to_numpy()
    return table


def _adjust(pooled: Pooled) -> None:
    """Holm over the family: effect differences and trends, and one test per interaction pair."""
    effects, inter = pooled.effects, pooled.interactions
    family = effects.index[effects["kind"].isin(["difference", "trend"])]
    pairs = inter.drop_duplicates(["parameter_a", "parameter_b"]) if len(inter) else inter
    p = [*effects.loc[family, "p"], *(pairs["_pair_p"] if len(pairs) else [])]
    adjusted = holm(p)
    effects["p_holm"] = math.nan
    effects.loc[family, "p_holm"] = adjusted[:len(family)]
    effects["p_holm"] = effects["p_holm"].astype(float)
    by_pair = dict(zip(zip(pairs["parameter_a"], pairs["parameter_b"]), adjusted[len(family):])) if len(pairs) else {}
    inter = inter.drop(columns="_pair_p")
    inter["p_holm"] = [float(by_pair[pair]) for pair in zip(inter["parameter_a"], inter["parameter_b"])]
    pooled.interactions = inter


def _lenth_design(pooled: Pooled) -> bool:
    """One seed, two or more parameters, all two-level, every combination once: Lenth's method applies."""
    factors = pooled.factors
    return (len(pooled.seeds) == 1 and len(factors) >= 2 and all(f.kind == "binary" for f in factors)
            and len(pooled.cells) == 2 ** len(factors))
