"""How honest and how sharp the report's statistics are, on simulated factorial sweeps whose truth is known.

    python -m benchmarks.stats_coverage [--sweeps 300] [--seed 0] [--out reports/benchmarks/stats_coverage.json]

Each simulated sweep is a 2^4 factorial (parameters a, b, c, d, values low and high) run at 1, 2 or 3
seeds. Validation accuracy, in points, is 80 + the effects + a per-seed shift (sd SEED_SD, the same
for every configuration of that seed) + run noise (sd NOISE_SD). Scenarios:

- additive:        a +3, b +0.5, c 0, d 0 (high minus low);
- interaction:     additive, plus an a x b interaction of INTERACTION points (the report's convention:
                   half the change in a's effect between b's values, so a is worth 1.5 at b low, 4.5 at b high);
- null:            no effect at all;
- seed_dependent:  additive, but a's effect at each seed is 3 + u (u ~ N(0, SEED_EFFECT_SD)); the truth
                   is the mean effect 3 over seeds.

The runs go through the report's own runs-table functions, as a runs table of completed runs:

- per-seed/Lenth: lib.report.stats.effects_table and configs_table, the matched-pair method the report used
                  before (t over per-seed effects; Lenth's pseudo standard error with one seed);
                  "called" as its findings did: CI excludes 0;
- pooled:         lib.report.factorial.analyse, what the report uses now; "called": Holm p < 0.05, as its findings;
- OLS:            the textbook analysis, written here: val_acc ~ main effects + seed, residual pooled over
                  the design, unadjusted CIs (the reference for width).

Measured per method and seed count: coverage of the main effects' CIs and their median width (points)
in the additive scenario, the width next to OLS's, the chance the +0.5 and +3 effects are called (with
the right sign), the family-wise false-call rate (a sweep stating at least one difference that is 0 or
has the wrong sign: for pooled over every effect, interaction and simple effect its findings state; for the
others over the main effects their findings state), the coverage of the seed-dependent effect's CI, and
how often a configuration truly 3 points below the best is listed as not distinguishable from it. A
second table shows what the level of the parameter x seed test buys at 2 seeds, and a last line the best
seed-dependent coverage that any such test could buy there (`bound_at_two_seeds`).
Writes reports/benchmarks/stats_coverage.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lib.report import factorial, stats
from lib.core.records import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
FACTORS = ["a", "b", "c", "d"]
LEVELS = ["low", "high"]
EFFECTS = {"a": 3.0, "b": 0.5, "c": 0.0, "d": 0.0}  # points, high minus low
INTERACTION = 1.5  # points, a x b, half the change in a's effect between b's values
NOISE_SD = 1.0  # points, run to run
SEED_SD = 0.5  # points, a shift shared by every configuration of one seed
SEED_EFFECT_SD = 1.0  # points, seed_dependent: sd of a's effect between seeds
SCENARIOS = ["additive", "interaction", "null", "seed_dependent"]
SEEDS = [1, 2, 3]
GUARD_LEVELS = [0.01, 0.05, 0.2, 0.5]  # the trade-off table, at 2 seeds
METHODS = ["per-seed/Lenth", "pooled", "OLS"]


def simulate(scenario: str, seeds: int, rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """A runs table of one simulated sweep (fractions, as the report reads them) and its truth in points."""
    effects = {k: 0.0 for k in FACTORS} if scenario == "null" else dict(EFFECTS)
    interaction = INTERACTION if scenario == "interaction" else 0.0
    rows = []
    for seed in range(seeds):
        shift = rng.normal(0, SEED_SD)
        a_effect = effects["a"] + (rng.normal(0, SEED_EFFECT_SD) if scenario == "seed_dependent" else 0.0)
        for values in itertools.product([0, 1], repeat=len(FACTORS)):
            sign = {k: v - 0.5 for k, v in zip(FACTORS, values)}  # -1/2, +1/2
            y = (80 + a_effect * sign["a"] + sum(effects[k] * sign[k] for k in FACTORS[1:])
                 + 4 * interaction * sign["a"] * sign["b"] / 2 + shift + rng.normal(0, NOISE_SD))
            config = {k: LEVELS[v] for k, v in zip(FACTORS, values)}
            rows.append({"run": "-".join(f"{k}{v}" for k, v in config.items()) + f"-seed{seed}", "sweep": "sim",
                         "status": "completed", **config, "seed": seed, "val_acc": y / 100, "test_acc": y / 100})
    truth = {"effects": effects, "interactions": {("a", "b"): interaction}}
    return pd.DataFrame(rows), truth


def _truth_interaction(truth: dict, a: str, b: str) -> float:
    return truth["interactions"].get((a, b), truth["interactions"].get((b, a), 0.0))


def _simple_truth(truth: dict, name: str, other: str, at: int) -> float:
    """`name`'s effect (high minus low, points) at `other`'s value `at`."""
    return truth["effects"][name] + (2 * at - 1) * _truth_interaction(truth, name, other)


def _wrong(estimate: float, true: float) -> bool:
    """A call is false when the truth is 0 or has the other sign."""
    return true == 0 or np.sign(estimate) != np.sign(true)


def _worse_by_3(configs: pd.DataFrame) -> list[bool]:
    """tied_with_best of each configuration truly 3 points below the best (a low, b high: the best is a and b
    high), in the additive scenario; None (untested) counts as not tied."""
    rows = configs[(configs["a"] == "low") & (configs["b"] == "high")]
    return [t is True for t in rows["tied_with_best"]]


def pooled_sweep(runs: pd.DataFrame, truth: dict, guard_alpha: float) -> dict:
    pooled = factorial.analyse(runs, FACTORS, guard_alpha)
    out = {"main": {}, "false": False, "guard_a": "a" in pooled.per_seed, "ties": _worse_by_3(pooled.configs)}
    effects = pooled.effects.set_index("parameter")
    for name in FACTORS:
        r = effects.loc[name]
        out["main"][name] = (100 * r["effect"], 100 * r["ci_low"], 100 * r["ci_high"], pooled.called(r["p_holm"]))
        if pooled.called(r["p_holm"]) and _wrong(r["effect"], truth["effects"][name]):
            out["false"] = True
    for r in pooled.interactions.to_dict("records"):
        true = _truth_interaction(truth, r["parameter_a"], r["parameter_b"])
        if (r["parameter_a"], r["parameter_b"]) == ("a", "b"):
            out["ab"] = (100 * r["interaction"], 100 * r["ci_low"], 100 * r["ci_high"], pooled.called(r["p_holm"]))
        if pooled.called(r["p_holm"]) and _wrong(r["interaction"], true):
            out["false"] = True
    for a, b in pooled.significant_pairs():  # the findings state each one's effect at each value of the other
        for name, other in ((a, b), (b, a)):
            for r in pooled.simple_effects(name, other):
                if pooled.called(r["p_holm"]) and _wrong(r["estimate"].effect, _simple_truth(truth, name, other,
                                                                                            r["at"])):
                    out["false"] = True
    return out


def old_sweep(runs: pd.DataFrame, truth: dict, ties: bool) -> dict:
    effects = stats.effects_table(runs, FACTORS).set_index("parameter")
    out = {"main": {}, "false": False, "ties": _worse_by_3(stats.configs_table(runs, FACTORS)) if ties else []}
    for name in FACTORS:
        r = effects.loc[name]
        called = bool(r["ci_low"] > 0 or r["ci_high"] < 0)
        out["main"][name] = (100 * r["effect"], 100 * r["ci_low"], 100 * r["ci_high"], called)
        if called and _wrong(r["effect"], truth["effects"][name]):
            out["false"] = True
    return out


def ols_sweep(runs: pd.DataFrame, truth: dict) -> dict:
    """Textbook: OLS of val_acc on the main effects (coded -1/2, +1/2) and seed dummies; unadjusted t CIs."""
    import statsmodels.api as sm

    X = [np.ones(len(runs))] + [(runs[k] == "high").to_numpy() - 0.5 for k in FACTORS]
    X += [(runs["seed"] == s).to_numpy().astype(float) for s in sorted(set(runs["seed"]))[1:]]
    result = sm.OLS(runs["val_acc"].to_numpy() * 100, np.column_stack(X)).fit()
    low, high = result.conf_int(alpha=1 - stats.CONFIDENCE).T
    out = {"main": {}, "false": False}
    for i, name in enumerate(FACTORS, 1):
        called = bool(low[i] > 0 or high[i] < 0)
        out["main"][name] = (float(result.params[i]), float(low[i]), float(high[i]), called)
        if called and _wrong(result.params[i], truth["effects"][name]):
            out["false"] = True
    return out


def _rate(values) -> float:
    values = list(values)
    return float(np.mean(values)) if values else math.nan


def _covers(entry: tuple, true: float) -> bool:
    _, low, high, _ = entry
    return bool(np.isfinite(low) and low <= true <= high)


def summarise(by_scenario: dict[str, list[dict]]) -> dict:
    """The measures of one method at one seed count from its sweeps per scenario."""
    additive = by_scenario["additive"]
    widths = [e["main"][k][2] - e["main"][k][1] for e in additive for k in FACTORS]
    finite = [w for w in widths if np.isfinite(w)]
    power = {k: _rate(e["main"][k][3] and e["main"][k][0] > 0 for e in additive) for k in ("a", "b")}
    out = {
        "coverage": _rate(_covers(e["main"][k], EFFECTS[k]) for e in additive for k in FACTORS),
        "median_width": float(np.median(finite)) if len(finite) == len(widths) else math.inf,
        "power_0.5": power["b"], "power_3": power["a"],
        "false_null": _rate(e["false"] for e in by_scenario["null"]),
        "false_additive": _rate(e["false"] for e in additive),
        "false_interaction": _rate(e["false"] for e in by_scenario["interaction"]),
        "seed_dependent_coverage": _rate(_covers(e["main"]["a"], EFFECTS["a"]) for e in by_scenario["seed_dependent"]),
    }
    if "ties" in additive[0]:
        out["tied_3_points_worse"] = _rate(t for e in additive for t in e["ties"])
    if "guard_a" in additive[0]:
        out["guard_fired_additive"] = _rate(e["guard_a"] for e in additive)
        out["guard_fired_seed_dependent"] = _rate(e["guard_a"] for e in by_scenario["seed_dependent"])
        inter = by_scenario["interaction"]
        out["interaction_coverage"] = _rate(_covers(e["ab"], INTERACTION) for e in inter if "ab" in e)
        out["interaction_power"] = _rate(e.get("ab", (0, 0, 0, False))[3] for e in inter)
    return out


def run(sweeps: int, seed: int, tradeoff_sweeps: int) -> dict:
    results, tradeoff = [], []
    for k in SEEDS:
        sims = {s: [simulate(s, k, np.random.default_rng([seed, k, i])) for i in range(sweeps)] for s in SCENARIOS}
        per_method = {
            "per-seed/Lenth": {s: [old_sweep(r, t, s == "additive") for r, t in sims[s]] for s in SCENARIOS},
            "pooled": {s: [pooled_sweep(r, t, factorial.GUARD_ALPHA) for r, t in sims[s]] for s in SCENARIOS},
            "OLS": {s: [ols_sweep(r, t) for r, t in sims[s]] for s in SCENARIOS},
        }
        summaries = {m: summarise(v) for m, v in per_method.items()}
        for method in METHODS:
            summaries[method]["width_vs_ols"] = summaries[method]["median_width"] / summaries["OLS"]["median_width"]
            results.append({"seeds": k, "method": method, **summaries[method]})
        if k == 2:
            for level in GUARD_LEVELS:
                if level == factorial.GUARD_ALPHA:
                    row = summaries["pooled"]
                else:
                    row = summarise({s: [pooled_sweep(r, t, level) for r, t in sims[s][:tradeoff_sweeps]]
                                     if s in ("additive", "seed_dependent") else per_method["pooled"][s]
                                     for s in SCENARIOS})
                tradeoff.append({"guard_alpha": level, "sweeps": sweeps if level == factorial.GUARD_ALPHA else
                                 min(sweeps, tradeoff_sweeps), "power_3": row["power_3"],
                                 "coverage": row["coverage"],
                                 "median_width": row["median_width"],
                                 "seed_dependent_coverage": row["seed_dependent_coverage"],
                                 "guard_fired_additive": row["guard_fired_additive"],
                                 "guard_fired_seed_dependent": row["guard_fired_seed_dependent"]})
    return {"results": results, "guard_tradeoff": tradeoff, "bound_at_two_seeds": bound_at_two_seeds()}


def bound_at_two_seeds(tests: int = 10, power: float = 0.95) -> dict:
    """The best coverage of the seed-dependent effect that any rule of the guard's kind can reach at 2 seeds.

    At 2 seeds all a sweep knows of how a's effect varies with the seed is one number: half the difference
    of its two per-seed effects, d, which is independent of the mean effect m. A rule of the guard's kind
    widens a's CI when |d| passes a threshold c. Take the most favourable case: the run noise known
    exactly, a widened CI of any width S (in standard errors' units), and up to half of the effects
    without seed dependence widened (so the median width stays the pooled one). Keep the +3 effect called
    (Holm's first step over `tests` hypotheses) at least `power` of the time; the best c and S over a fine
    grid give the highest coverage of the seed-dependent effect reachable. (m is normal around the truth,
    so coverage is 2 Phi(t S / sd) - 1 in closed form.)
    """
    from scipy import stats as st

    runs = 2 ** len(FACTORS)
    v = 4 * NOISE_SD ** 2 / runs / 2  # var of m and of d for an effect without seed dependence
    sd_plain, sd_dep = math.sqrt(v), math.sqrt(v + SEED_EFFECT_SD ** 2 / 2)
    df = 2 * runs - (1 + len(FACTORS) + math.comb(len(FACTORS), 2) + 1)  # the pooled model's residual df
    t, z = st.t.ppf(0.975, df), st.norm.ppf(1 - 0.05 / tests / 2)
    pooled_coverage = float(2 * st.norm.cdf(t * sd_plain / sd_dep) - 1)
    c = np.linspace(0.01, 3.0, 300)[:, None]  # thresholds on |d|
    width = np.linspace(sd_plain, 4.0, 400)[None, :]  # the widened standard error
    flag_plain, flag_dep = 2 * st.norm.sf(c / sd_plain), 2 * st.norm.sf(c / sd_dep)
    called = (1 - flag_plain) + flag_plain * st.norm.sf((z * width - EFFECTS["a"]) / sd_plain)
    coverage = flag_dep * (2 * st.norm.cdf(t * width / sd_dep) - 1) + (1 - flag_dep) * pooled_coverage
    coverage = np.where((called >= power) & (flag_plain < 0.5), coverage, -1.0)
    i, j = np.unravel_index(np.argmax(coverage), coverage.shape)
    best = {"coverage": pooled_coverage, "threshold": None, "widened_se": None}
    if coverage[i, j] > pooled_coverage:
        best = {"coverage": float(coverage[i, j]), "threshold": float(c[i, 0]), "widened_se": float(width[0, j]),
                "widened_share_plain": float(flag_plain[i, 0]), "widened_share_dependent": float(flag_dep[i, 0])}
    return {"tests": tests, "power_3_kept": power, "pooled_coverage": pooled_coverage, **best}


COLUMNS = [("seeds", "seeds", "d"), ("coverage", "coverage", ".3f"), ("median_width", "width", ".2f"),
           ("width_vs_ols", "xOLS", ".2f"), ("power_0.5", "power+0.5", ".2f"), ("power_3", "power+3", ".2f"),
           ("false_null", "false(null)", ".3f"), ("false_additive", "false(add)", ".3f"),
           ("false_interaction", "false(int)", ".3f"), ("seed_dependent_coverage", "seed-dep cov", ".3f"),
           ("tied_3_points_worse", "tied -3pt", ".2f")]
POOLED_COLUMNS = [("seeds", "seeds", "d"), ("interaction_coverage", "int coverage", ".3f"),
                  ("interaction_power", "int power", ".2f"), ("guard_fired_additive", "guard fired (additive)", ".3f"),
                  ("guard_fired_seed_dependent", "guard fired (seed-dep)", ".3f")]
TRADEOFF_COLUMNS = [("guard_alpha", "level", "g"), ("sweeps", "sweeps", "d"), ("power_3", "power+3", ".2f"),
                    ("coverage", "coverage", ".3f"), ("median_width", "width", ".2f"),
                    ("seed_dependent_coverage", "seed-dep cov", ".3f"), ("guard_fired_additive", "fired (add)", ".3f"),
                    ("guard_fired_seed_dependent", "fired (seed-dep)", ".3f")]


def _table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    cells = [[("-" if r.get(k) is None or (isinstance(r.get(k), float) and math.isnan(r[k])) else
               format(r[k], f)) for k, _, f in columns] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (_, h, _) in enumerate(columns)]
    lines = ["  ".join(h.rjust(w) for (_, h, _), w in zip(columns, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=300, help="simulated sweeps per scenario and seed count")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation")
    parser.add_argument("--tradeoff-sweeps", type=int, default=None,
                        help="sweeps per scenario for the other levels of the parameter x seed test (default: a "
                             "third of --sweeps)")
    parser.add_argument("--out", default=str(ROOT / "reports" / "benchmarks" / "stats_coverage.json"))
    args = parser.parse_args(argv)
    if args.sweeps < 1:
        parser.error(f"--sweeps {args.sweeps}: give a whole number >= 1")
    tradeoff_sweeps = args.tradeoff_sweeps if args.tradeoff_sweeps is not None else max(1, args.sweeps // 3)
    if tradeoff_sweeps < 1:
        parser.error(f"--tradeoff-sweeps {tradeoff_sweeps}: give a whole number >= 1")
    start = time.perf_counter()
    found = run(args.sweeps, args.seed, tradeoff_sweeps)
    seconds = time.perf_counter() - start
    record = {"settings": {"sweeps": args.sweeps, "tradeoff_sweeps": tradeoff_sweeps, "seed": args.seed,
                           "factors": FACTORS, "effects": EFFECTS, "interaction": INTERACTION, "noise_sd": NOISE_SD,
                           "seed_sd": SEED_SD, "seed_effect_sd": SEED_EFFECT_SD, "guard_alpha": factorial.GUARD_ALPHA},
              **found, "seconds": round(seconds, 1)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(record, indent=2) + "\n")
    print(f"2^4 factorial, effects +3/+0.5/0/0 points, noise sd {NOISE_SD}, seed shift sd {SEED_SD}, seed-dependent "
          f"effect sd {SEED_EFFECT_SD}, {args.sweeps} sweeps per setting; widths in points")
    for method in METHODS:
        print(f"\n{method}:")
        print(_table([r for r in found["results"] if r["method"] == method], COLUMNS))
    print(f"\npooled, the a x b interaction ({INTERACTION:+g} points) and the parameter x seed test (level "
          f"{factorial.GUARD_ALPHA:g}):")
    print(_table([r for r in found["results"] if r["method"] == "pooled"], POOLED_COLUMNS))
    print("\npooled at 2 seeds, by the level of the parameter x seed test:")
    print(_table(found["guard_tradeoff"], TRADEOFF_COLUMNS))
    bound = found["bound_at_two_seeds"]
    print(f"\nthe best any such test could do at 2 seeds, keeping the +3 effect called {bound['power_3_kept']:.0%} of "
          f"the time and the median width: seed-dependent coverage {bound['coverage']:.3f} (no test: "
          f"{bound['pooled_coverage']:.3f})")
    print(f"\n{seconds:.0f} s; written {out}")


if __name__ == "__main__":
    main()
