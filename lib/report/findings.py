"""Every finding of the report, built here: what entered the statistics, the pooled model's sentences (the
best configuration and those tied with it, each effect, each interaction, Lenth's cross-check), how many
runs carry each diagnostic flag, the edges of the search, a note on parameters sampled from a range, the
follow-ups' gains, and once, how every range and call is made (`method_note`).

Pure functions of the runs table, a lib.report.factorial.Pooled and lib.report.diagnostics' flags and
edges: the numbers come from those, the wording and the precision from here. A difference is said to "beat"
or "lose to" only when the fit calls it (Holm-adjusted p below ALPHA); otherwise it is "inconclusive" with
the range the sweep can rule out. Numbers print at the precision their interval justifies; values print as
a sweep file writes them (lib.core.values.sweep_text). Accuracies are fractions; sentences give them in
points (100 x fraction).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from lib.core.formatting import is_bool, is_missing
from lib.core.records import RANKED_STATUSES
from lib.core.values import sweep_text
from lib.config.naming import unseeded
from lib.report.design import CELL_VALUES, EXACT, t_quantile, tied_with_best, used_runs
from lib.report.diagnostics import BOUNDARY_MIN_VALUES, FLAG_RULES, UNSTABLE_RISE, edges
from lib.report.factorial import Pooled
from lib.report.linear import Factor

LIST_MAX = 5  # names listed before "and N more"
FOLLOWUP_FINDINGS = 5  # sentences on follow-ups, the largest gains first


# ---------------------------------------------------------------------------------------------
# Numbers and ranges in words


def _decimals(half: float) -> int:
    """Decimals a value in points deserves next to a CI of half-width `half` points: the half-width to two
    significant digits when they start 10 to 35, else to one (the particle physicists' rule): half 1.2 -> 1
    decimal, 0.7 -> 1, 4.0 -> 0, 0.04 -> 2; at most 3."""
    if not math.isfinite(half) or half <= 0:
        return 1
    exponent = math.floor(math.log10(half))
    digits = 2 if half / 10 ** exponent < 3.55 else 1
    return int(min(3, max(0, digits - 1 - exponent)))


def _num(fraction: float, decimals: int, sign: bool = False) -> str:
    value = round(100 * fraction, decimals) + 0.0  # + 0.0: no "-0.0"
    return f"{value:+.{decimals}f}" if sign else f"{value:.{decimals}f}"


def _half(low: float, high: float) -> float:
    return 100 * (high - low) / 2


def _flip(row: Mapping[str, Any]) -> dict[str, Any]:
    """The same comparison read the other way round."""
    return {**row, "effect": -row["effect"], "ci_low": -row["ci_high"], "ci_high": -row["ci_low"]}


def every_seed(row: Mapping[str, Any]) -> bool:
    """Whether a called difference rests on every seed's own difference (lib.report.factorial.Estimate.every_seed)."""
    p_every, p_average = row.get("p_every_seed", math.nan), row.get("p_average", math.nan)
    return p_every == p_every and (p_average != p_average or p_every < p_average)


def _seed_sizes(row: Mapping[str, Any]) -> str:
    """The per-seed differences, read in the direction of the effect: '24 and 33' (two seeds), '21 to 33'."""
    low, high = row["seed_min"], row["seed_max"]
    if row["effect"] < 0:
        low, high = -high, -low
    d = 0 if max(abs(low), abs(high)) >= 0.1 else 1
    return f"{_num(low, d)} {'and' if row.get('seeds') == 2 else 'to'} {_num(high, d)}"


def _by(row: Mapping[str, Any], unit: str = "points") -> str:
    """'by 4.3 points (95% CI 3.1 to 5.5)' for a called difference, read in the direction it went; 'at every
    seed (by 24 and 33 points)' when the call rests on every seed's own difference."""
    effect, low, high = row["effect"], row["ci_low"], row["ci_high"]
    if every_seed(row):
        return f"at every seed (by {_seed_sizes(row)} {unit})"
    if effect < 0:
        effect, low, high = -effect, -high, -low
    if row.get("se") == 0:
        return f"by {_num(effect, 1)} {unit}, the same in every matched run (no run-to-run scatter)"
    d = _decimals(_half(low, high))
    return f"by {_num(effect, d)} {unit} (95% CI {_num(low, d)} to {_num(high, d)})"


SEED_SHARE_SAID = 0.5  # a range this much (or more) parameter x seed variation says so


def _varies(row: Mapping[str, Any], seeds: int, called: bool) -> str:
    """What the seed does to a difference's range, where it matters: for a call at every seed, the average's
    range; for an uncalled one, the per-seed differences that widen it."""
    share = row.get("seed_share", math.nan)
    if called and every_seed(row):
        gains = "gains" if row["effect"] > 0 else "loses"
        if row["ci_low"] > 0 or row["ci_high"] < 0:
            return f"; averaged over seeds {_by({**row, 'p_every_seed': math.nan})}"
        return (f"; how much it {gains} varies with the seed, so the average is uncertain with {seeds} seeds "
                f"({_between(row)})")
    if not (share == share and share >= SEED_SHARE_SAID):
        return ""
    d = 0 if max(abs(row["seed_min"]), abs(row["seed_max"])) >= 0.1 else 1
    sizes = (f"{_num(row['seed_min'], d, True)} and {_num(row['seed_max'], d, True)}" if seeds == 2 else
             f"from {_num(row['seed_min'], d, True)} to {_num(row['seed_max'], d, True)}")
    return f"; the effect changed with the seed ({sizes} points at single seeds), which widens the range"


def _between(row: Mapping[str, Any], unit: str = "points") -> str:
    d = _decimals(_half(row["ci_low"], row["ci_high"]))
    return f"between {_num(row['ci_low'], d, True)} and {_num(row['ci_high'], d, True)} {unit}"


def _open(row: Mapping[str, Any], unit: str = "points") -> str:
    """An uncalled estimate: the range it lies in, or why there is none."""
    if not (math.isfinite(row["ci_low"]) and math.isfinite(row["ci_high"])):
        return f"{_num(row['effect'], 1, True)} {unit}, no CI"
    if row.get("se") == 0 and abs(row["effect"]) <= EXACT:
        return "no difference at all (the model fits every run exactly, so there is no scatter either)"
    text = _between(row, unit)
    if row["ci_low"] > EXACT or row["ci_high"] < -EXACT:
        text += f", not called after Holm's correction (Holm {_p(row['p_holm'])})"
    return text


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p {p:.2g}"


def _at(factor: Factor, level: int) -> str:
    value = factor.levels[level]
    if is_bool(value):
        return f"with {factor.name}" if value else f"without {factor.name}"
    return f"at {factor.name} {factor.text(level)}"


# ---------------------------------------------------------------------------------------------
# The pooled model's sentences


def _difference_sentence(pooled: Pooled, row: Mapping[str, Any]) -> str:
    name = row["parameter"]
    value, reference = sweep_text(row["value"]), sweep_text(row["reference"])
    if row["identical"]:
        return (f"{name} ({value} vs {reference}): identical runs (each run at {value} equals its matched run at "
                f"{reference})")
    if "not estimable" in str(row["ci_method"]):
        return f"{name}: no estimate ({row['ci_method']})"
    k = len(pooled.seeds)
    if pooled.called(row["p_holm"]):
        verb = "beat" if row["effect"] > 0 else "lost to"
        return f"{name}: {value} {verb} {reference} {_by(row, 'points of validation accuracy')}" + _varies(row, k, True)
    return f"{name} ({value} vs {reference}): inconclusive, {_open(row)}" + _varies(row, k, False)


def _trend_part(pooled: Pooled, factor: Factor, row: Mapping[str, Any], at: str = "") -> str:
    unit = f"points {factor.trend_text()}"
    where = f" {at}" if at else ""
    if pooled.called(row["p_holm"]):
        return f"accuracy {'rose' if row['effect'] > 0 else 'fell'} {_by(row, unit)}{where}"
    return f"trend inconclusive{where}, {_open(row, unit)}"


def _ordered_sentence(pooled: Pooled, factor: Factor, rows: pd.DataFrame, partners: Sequence[str] = ()) -> str:
    """An ordered parameter: its best value against its neighbours, and its trend. With `partners` (the
    parameters its trend interacts with, whose sentences give the trend at each of their values), the best
    value is named as averaged over them, and the trend is left to those sentences."""
    trend = rows[rows["kind"] == "trend"].iloc[0].to_dict()
    if factor.kind == "continuous":
        return f"{factor.name} ({len(factor.levels)} values, as a trend): {_trend_part(pooled, factor, trend)}"
    means = rows[rows["kind"] == "mean"].reset_index(drop=True)
    steps = rows[rows["kind"] == "difference"].reset_index(drop=True)  # step i: value i+1 minus value i
    best = int(means["effect"].to_numpy().argmax())
    mean = means.iloc[best]
    d = _decimals(_half(mean["ci_low"], mean["ci_high"]))
    level = (f"{_num(mean['effect'], d)}% (95% CI {_num(mean['ci_low'], d)} to {_num(mean['ci_high'], d)})"
             if math.isfinite(mean["ci_low"]) else f"{_num(mean['effect'], 1)}% (no CI)")
    parts = [f"best {factor.text(best)}, mean val acc {level} over the other parameters"]
    for neighbour, step in ((best - 1, best - 1), (best + 1, best)):
        if not 0 <= neighbour < len(factor.levels):
            continue
        row = steps.iloc[step].to_dict()
        row = row if neighbour < best else _flip(row)  # best minus the neighbour
        if pooled.called(row["p_holm"]):
            parts.append(f"it beat {factor.text(neighbour)} {_by(row)}")
        else:
            parts.append(f"vs {factor.text(neighbour)}: inconclusive, {_open(row)}")
    if partners:
        parts[0] = parts[0].replace(" over the other parameters", f" averaged over {', '.join(partners)} (its trend "
                                    f"interacts with {'it' if len(partners) == 1 else 'them'})")
    else:
        parts.append(_trend_part(pooled, factor, trend))
    return f"{factor.name} ({len(factor.levels)} values, ordered): " + "; ".join(parts)


def _simple_text(pooled: Pooled, factor: Factor, partner: Factor) -> str:
    """`factor`'s effect at each value of `partner`: 'adam beat sgd by 11.1 points (...) at lr 0.001 but lost by
    2.6 (...) at lr 0.1'."""
    rows = pooled.simple_effects(factor.name, partner.name)
    pieces: list[str] = []
    verb_before = None
    for r in rows:
        est = r["estimate"]
        row = {"effect": est.effect, "ci_low": est.ci_low, "ci_high": est.ci_high, "se": est.se,
               "p_holm": r["p_holm"], "ci_method": est.method, "p_average": est.p_average,
               "p_every_seed": est.p_every_seed, "seed_min": min(est.seed_values, default=math.nan),
               "seed_max": max(est.seed_values, default=math.nan), "seeds": len(est.seed_values)}
        at = _at(partner, r["at"])
        if factor.trend:
            pieces.append(_trend_part(pooled, factor, row, at))
            continue
        value, reference = factor.text(r["value"]), factor.text(r["reference"])
        if not pooled.called(r["p_holm"]):
            pieces.append(f"{value} vs {reference} inconclusive {at} ({_open(row)})")
            verb_before = None
            continue
        verb = "beat" if est.effect > 0 else "lost to"
        amount = _by(row).replace(" points", "", 1) if verb_before else _by(row)
        if verb_before is None:
            pieces.append(f"{value} {verb} {reference} {amount} {at}")
        elif verb == verb_before:
            pieces[-1] += f" and {amount} {at}"
        else:
            pieces[-1] += f" but {'won' if est.effect > 0 else 'lost'} {amount} {at}"
        verb_before = verb
    return f"{factor.name}: " + "; ".join(pieces)


def _interaction_sentence(pooled: Pooled, a: str, b: str) -> str:
    rows = pooled.interactions[(pooled.interactions["parameter_a"] == a) & (pooled.interactions["parameter_b"] == b)]
    fa, fb = pooled.factor[a], pooled.factor[b]
    if len(rows) == 1:
        r = rows.iloc[0].to_dict()
        unit = "points" if "trend" not in (r["value_a"], r["value_b"]) else "points per step of the trend"
        d = _decimals(_half(r["ci_low"], r["ci_high"]))
        size = (f"interaction {_num(r['interaction'], d, True)} {unit}, 95% CI {_num(r['ci_low'], d, True)} to "
                f"{_num(r['ci_high'], d, True)}" if math.isfinite(r["ci_low"]) else "no CI")
        head = f"{a} x {b} interact ({size})"
    else:
        head = f"{a} x {b} interact (F test over {len(rows)} columns, Holm {_p(rows['p_holm'].iloc[0])})"
    return f"{head}: {_simple_text(pooled, fa, fb)}; {_simple_text(pooled, fb, fa)}"


def _best_sentence(configs: pd.DataFrame) -> str:
    best = configs.iloc[0]
    n = int(best["n"])
    # Four decimals, as the card beside it: seeds that agree to 0.0002 must not read "± 0.000".
    text = (f"best: {best['config']}, val acc {best['val_acc_mean']:.4f} ± {best['val_acc_sd']:.4f} "
            f"(mean ± sd, {n} seeds)" if n >= 2 else f"best: {best['config']}, val acc "
            f"{best['val_acc_mean']:.4f} (one seed)")
    others = configs.iloc[1:]
    if others.empty:
        return text
    tied = [c for c, t in zip(others["config"], tied_with_best(configs)[1:]) if t]
    untested = sum(is_missing(t) for t in others["tied_with_best"])
    if tied:
        listed = ", ".join(tied[:LIST_MAX]) + (f" and {len(tied) - LIST_MAX} more" if len(tied) > LIST_MAX else "")
        text += f"; not distinguishable from it: {listed} (of {len(others)} others)"
    elif len(others) > untested:
        text += f"; every other configuration{' tested' if untested else ''} is worse"
    if untested:
        text += f"; {untested} other configuration{'s' * (untested > 1)} untested (no pooled error to test against)"
    return text


def _left_out(pooled: Pooled) -> list[str]:
    notes = []
    fit = pooled.fit
    if fit is None:
        return notes
    pairs = [" x ".join(t) for t in fit.dropped if len(t) == 2 and "seed" not in t]
    if pairs:
        notes.append(f"the model leaves out the {', '.join(pairs)} interaction{'s' * (len(pairs) > 1)} (the runs "
                     f"cannot separate {'them' if len(pairs) > 1 else 'it'} from the other terms)")
    configs = pooled.cells.drop(columns=["seed", *CELL_VALUES]).drop_duplicates()
    missing = len(configs) * len(pooled.seeds) - len(pooled.cells)
    if missing > 0:
        notes.append(f"unbalanced: {missing} of {len(configs) * len(pooled.seeds)} configuration x seed "
                     f"combinations have no run in the statistics; the model uses the runs there are")
    if fit.df <= 0:
        notes.append("the model has as many unknowns as runs, so nothing is left to measure noise: no interval and "
                     "no call; more seeds (or fewer parameters) would give one")
    return notes


def _lenth_sentence(pooled: Pooled) -> str | None:
    rows = pooled.effects[np.isfinite(pooled.effects["lenth_ci_low"].astype(float))]
    if not pooled.lenth or rows.empty:
        return None
    lenth = [r["parameter"] for _, r in rows.iterrows() if r["lenth_ci_low"] > 0 or r["lenth_ci_high"] < 0]
    model = [r["parameter"] for _, r in rows.iterrows() if pooled.called(r["p_holm"])]
    said = ", ".join(lenth) if lenth else "no effect"
    agree = "the same as the pooled model" if set(lenth) == set(model) else \
        f"the pooled model calls {', '.join(model) if model else 'none'}"
    return (f"cross-check (one seed, two-level full factorial): Lenth's method, which takes most effects to be "
            f"noise and corrects for nothing, separates {said} from 0: {agree}")


def sentences(pooled: Pooled) -> list[str]:
    """The findings of the pooled model: the best configuration and those it cannot be told from, what the
    model left out, each parameter's effect (or, for parameters in a called interaction, their effects at each
    value of the partner), the interactions, and Lenth's cross-check."""
    if pooled.fit is None:
        return ["no configuration has a finished run yet"]
    out = [_best_sentence(pooled.configs)] + _left_out(pooled)
    pairs = pooled.significant_pairs()
    in_pair = {name for pair in pairs for name in pair}
    for factor in pooled.factors:
        rows = pooled.effects[pooled.effects["parameter"] == factor.name]
        if factor.name in in_pair:
            # A trend's interaction says how its slope changes, not where its best value is: say that too.
            if factor.trend and factor.kind != "continuous" and (factor.name,) in pooled.fit.terms:
                partners = [b if a == factor.name else a for a, b in pairs if factor.name in (a, b)]
                out.append(_ordered_sentence(pooled, factor, rows, partners))
            continue
        if factor.trend and (factor.name,) in pooled.fit.terms:
            out.append(_ordered_sentence(pooled, factor, rows))
        else:
            out += [_difference_sentence(pooled, r) for r in rows.to_dict("records")]
    out += [_interaction_sentence(pooled, a, b) for a, b in pairs]
    inter = pooled.interactions.drop_duplicates(["parameter_a", "parameter_b"])
    rest = [f"{a} x {b}" for a, b in zip(inter["parameter_a"], inter["parameter_b"]) if (a, b) not in pairs]
    if rest and pooled.df > 0:
        other = " other" if pairs else ""
        out.append(f"interactions: the{other} {rest[0]} interaction is not called" if len(rest) == 1 else
                   f"interactions: none of the{other} {len(rest)} pairs of parameters is called")
    lenth = _lenth_sentence(pooled)
    return out + ([lenth] if lenth else [])


def method_note(pooled: Pooled) -> str:
    """How every interval and call of the findings is made, once, in plain words."""
    if pooled.fit is None:
        return ""
    n, df, k = pooled.fit.n, pooled.df, len(pooled.seeds)
    seeds = f"{k} seeds" if k > 1 else "one seed"
    shifts = "every parameter value, every pair of parameter values and every seed" if k > 1 else \
        "every parameter value and every pair of parameter values"
    text = (f"How to read the ranges: each is a 95% confidence interval from one linear model fitted to all {n} "
            f"configuration x seed results at once ({seeds}). The model gives {shifts} its own shift in accuracy, "
            f"so each effect is averaged over the other parameters. ")
    if df <= 0:
        return text + ("Here the model needs every result to place those shifts, so nothing is left to measure "
                       "noise with: no range can be given and no difference is called.")
    text += ("What the model cannot explain, the run-to-run noise, sets the width of every range "
             if k > 1 else "With one seed, the interactions of three or more parameters are taken to be noise, and "
                               "their scatter sets the width of every range ")
    text += (f"({df:g} degree{'s' * (df != 1)} of freedom). \"Beat\" and \"lost to\" are used only when a "
             f"difference holds up after Holm's correction for the {pooled.family} effects and interactions looked "
             f"at, so a sweep of pure noise rarely claims anything; otherwise the finding is \"inconclusive\" and its "
             f"range is how large the effect could be. ")
    if k > 1:
        text += ("Where a parameter's effect changes from seed to seed, its range widens with that variation (a "
                 "variance component of parameter x seed), since the average over seeds is then known from a few "
                 "seeds only; and a difference is also called when every seed's own difference is significant and "
                 "points the same way (\"at every seed\"), which a range over the average can miss. ")
    if pooled.config_method:
        text += (f"Configurations are compared with the best against {pooled.config_method}, with Holm's "
                 f"correction over the comparisons. ")
    return text + "Standard errors, degrees of freedom and p-values (raw and Holm-adjusted) are in effects.csv " \
                  "and interactions.csv."


# ---------------------------------------------------------------------------------------------
# The findings list: what entered, the model's sentences, flags, edges, sampled parameters; follow-ups


FLAG_PHRASES = {  # how the findings name runs carrying each of lib.report.diagnostics.FLAG_RULES
    "overfitting": "overfit (validation loss ended well above its minimum while training loss kept falling)",
    "not_converged": "had not converged when they stopped (best epoch = last epoch; more epochs may help)",
    "stopped_before_annealed": "stopped before their cosine learning rate annealed",
    "unstable": f"had unstable training (training loss rose by more than {UNSTABLE_RISE:.0%} between epochs)",
    "diverged": "diverged",
    "plateau_never_lowered": "never had their plateau learning rate lowered",
}


def boundary_notes(runs: pd.DataFrame, configs: pd.DataFrame, params: Sequence[str],
                   effects: pd.DataFrame | None = None) -> list[str]:
    """A sentence for each of the search's edges (lib.report.diagnostics.edges)."""
    notes = []
    for edge in edges(runs, configs, params, effects):
        side, where = ("largest", "above") if edge.upward else ("smallest", "below")
        whose = (f"the best {edge.param} (the pooled model's, over the other parameters' values) is the {side} tried"
                 if edge.by_model else f"the best configuration uses the {side} {edge.param} tried")
        notes.append(f"{whose} ({sweep_text(edge.value)}); extend the search {where} {sweep_text(edge.value)}")
    return notes


def no_edges_note() -> str:
    """What the findings say when the search has no edge."""
    return (f"Edges of the search: none (no numeric parameter with at least {BOUNDARY_MIN_VALUES} values has its "
            f"best at the smallest or largest value tried).")


def findings(runs: pd.DataFrame, pooled: Pooled, flags: pd.Series, boundary: Sequence[str],
             sampled: Sequence[str] = ()) -> list[str]:
    """Short sentences from the tables, each saying what it rests on.

    What entered the statistics; then the pooled model's sentences (`sentences`): the best configuration and
    those not distinguishable from it, each effect ("beat"/"lost to" only when its Holm-adjusted p is below
    ALPHA, else "inconclusive" with its range), the called interactions with each parameter's effect at each
    value of the other; how many finished runs carry each flag; the boundary notes; and, for the parameters
    `sampled` from a range, that the findings give a trend at most.
    """
    used = used_runs(runs)
    left_out = runs.loc[~runs.index.isin(used.index), "status"].value_counts() if len(runs) else pd.Series()
    out = [f"statistics rest on {len(used)} of {len(runs)} runs (completed or early stopped, with a "
           f"validation accuracy)" + (f"; left out: {', '.join(f'{n} {s}' for s, n in left_out.items())}"
                                      if len(left_out) else "")]
    out += sentences(pooled)
    finished = runs["status"].isin(RANKED_STATUSES) if len(runs) else pd.Series(dtype=bool)
    counts = {f: 0 for f in FLAG_RULES}
    for text in flags[finished.reindex(flags.index, fill_value=False)]:
        for flag in filter(None, text.split(",")):
            counts[flag] += 1
    out += [f"{k} of {int(finished.sum())} finished runs {FLAG_PHRASES[f]}" for f, k in counts.items() if k]
    out += list(boundary)
    if sampled:
        out.append(f"{', '.join(sampled)} {'was' if len(sampled) == 1 else 'were'} sampled from a range, so runs "
                   f"rarely share a value: the findings give a trend at most; the Search section's importances "
                   f"and slices show what the search did")
    return out


def followup_findings(comparison: pd.DataFrame) -> list[str]:
    """What each follow-up gained over the run it follows, from lib.report.tables.compare_followups' table: one
    sentence per follow-up configuration, the gain in validation accuracy, over its seeds with a 95% t-interval
    when it has several. Reruns of an earlier configuration (nothing changed) are left out."""
    table = comparison
    if table.empty:
        return []
    table = table[(table["changed"] != "nothing") & table["val_acc"].notna() & table["earlier_val_acc"].notna()]
    seed_free = table["changed"].map(lambda text: "; ".join(p for p in text.split("; ") if not p.startswith("seed ")))
    table = table.assign(change=seed_free, gain=table["val_acc"] - table["earlier_val_acc"])
    table = table[table["change"] != ""]
    found = []
    for change, group in table.groupby("change", sort=False):
        gains = group["gain"].to_numpy(dtype=float)
        name, earlier = group["run"].iloc[0], group["earlier_run"].iloc[0]
        if len(group) > 1:  # one sentence over its seeds: name the configurations, not a seed's runs
            name, earlier = unseeded(name), unseeded(earlier)
        mean = float(gains.mean())
        verb = "gained" if mean >= 0 else "lost"
        text = f"follow-up {name} ({change}) {verb} {abs(100 * mean):.1f} points of validation accuracy over {earlier}"
        if len(gains) >= 2:
            sd = float(gains.std(ddof=1))
            half = t_quantile(len(gains) - 1) * sd / math.sqrt(len(gains))
            text += (f" ({len(gains)} seeds, each against the same seed: mean {100 * mean:+.1f}, sd {100 * sd:.1f}, "
                     f"95% CI {100 * (mean - half):+.1f} to {100 * (mean + half):+.1f})")
        else:
            text += " (one run against one: no spread, so read it as a hint)"
        found.append((abs(mean), text))
    found.sort(key=lambda item: -item[0])
    out = [text for _, text in found[:FOLLOWUP_FINDINGS]]
    if len(found) > FOLLOWUP_FINDINGS:
        out.append(f"and {len(found) - FOLLOWUP_FINDINGS} more follow-up configurations (see Follow-ups)")
    return out
