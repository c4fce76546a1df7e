"""How honest and how sharp the report's statistics are, on simulated factorial sweeps whose truth is known.

    python -m benchmarks.stats_coverage [--sweeps 300] [--seed 0] [--out reports/benchmarks/stats_coverage.json]
    python -m benchmarks.stats_coverage --quick    # a few sweeps per setting, seconds: a smoke test

Each simulated sweep is a 2^4 factorial (parameters a, b, c, d, values low and high) run at 1, 2 or 3
seeds. Validation accuracy, in points, is 80 + the effects + a per-seed shift (sd SEED_SD, the same
for every configuration of that seed) + run noise (sd NOISE_SD). Scenarios:

- additive:        a +3, b +0.5, c 0, d 0 (high minus low);
- interaction:     additive, plus an a x b interaction of INTERACTION points (the report's convention:
                   half the change in a's effect between b's values, so a is worth 1.5 at b low, 4.5 at b high);
- null:            no effect at all;
- seed_dependent:  additive, but a's effect at each seed is 3 + u (u ~ N(0, SEED_EFFECT_SD)); the truth
                   is the mean effect 3 over seeds.

And two sweeps a new user writes, a 2 x 2 grid (lr, weight_decay) at 2 seeds, noise sd 1 point, where lr's
effect is fixed per seed: consistent_sign, +24 at one seed and +33 at the other (every seed sees it: a call is
right), and sign_changing, +5 and -5 (no direction holds: a call is wrong).

The runs go through the report's own functions, as a runs table of completed runs:

- per-seed/Lenth: `matched_pair_effects` below, the matched-pair method of the first report (t over per-seed
                  effects; with one seed, Lenth's pseudo standard error, lib.report.lenth); "called" as its
                  findings did: CI excludes 0;
- before:         lib.report.factorial.fit with seed_rule "f_test_switch", the pooled model as it was: an F
                  test of parameter x seed switching to a t-interval over per-seed effects;
- after:          lib.report.factorial.fit as the report uses it now: the variance-component interval and
                  the every-seed call; "called" (both): Holm p < 0.05, as the findings;
- OLS:            the textbook analysis, written here: val_acc ~ main effects + seed, residual pooled over
                  the design, unadjusted CIs (the reference for width).

Measured per method and seed count: coverage of the main effects' CIs and their median width (points)
in the additive scenario, the width next to OLS's, the chance the +0.5 and +3 effects are called (with
the right sign), the family-wise false-call rate (a sweep stating at least one difference that is 0 or
has the wrong sign: for before and after over every effect, interaction and simple effect their findings
state; for the others over the main effects their findings state), the coverage of the seed-dependent
effect's CI, and how often a configuration truly 3 points below the best is listed as not distinguishable
from it; and the share of consistent_sign and sign_changing sweeps that call lr. A last table is the
frontier of the variance component's share (lib.report.factorial.VC_SHARE) at 2 and 3 seeds: how much of
the noise's error is taken off the parameter x seed spread trades seed-dependent coverage against width.
Writes reports/benchmarks/stats_coverage.json (--quick: stats_coverage-quick.json).
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

from benchmarks import results_path
from lib.report import factorial
from lib.report.design import CONFIDENCE, make_design, t_quantile
from lib.report.lenth import lenth_error, matched_differences, one_seed_interval
from lib.core.records import atomic_write_text

FACTORS = ["a", "b", "c", "d"]
LEVELS = ["low", "high"]
EFFECTS = {"a": 3.0, "b": 0.5, "c": 0.0, "d": 0.0}  # points, high minus low
INTERACTION = 1.5  # points, a x b, half the change in a's effect between b's values
NOISE_SD = 1.0  # points, run to run
SEED_SD = 0.5  # points, a shift shared by every configuration of one seed
SEED_EFFECT_SD = 1.0  # points, seed_dependent: sd of a's effect between seeds
SCENARIOS = ["additive", "interaction", "null", "seed_dependent"]
SEEDS = [1, 2, 3]
USER_CASES = {"consistent_sign": (24.0, 33.0), "sign_changing": (5.0, -5.0)}  # lr's effect at seeds 0 and 1, points
USER_GRID = {"lr": [0.001, 0.1], "weight_decay": [0.0, 0.0005]}
VC_SHARES = [0.0, 0.25, 0.5, 1.0]  # the frontier table, at 2 and 3 seeds
METHODS = ["per-seed/Lenth", "before", "after", "OLS"]
RULES = {"before": {"seed_rule": "f_test_switch"}, "after": {}}  # factorial.fit's arguments per method
TARGETS = {"consistent_sign_called": (">=", 0.95), "sign_changing_called": ("<=", 0.05),
           "seed_dependent_coverage_3_seeds": (">=", 0.90), "coverage_2_seeds": (">=", 0.93),
           "width_vs_ols_2_seeds": ("<=", 1.2), "power_3_2_seeds": (">=", 0.95), "false_null_2_seeds": ("<=", 0.07)}


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


def simulate_user(case: str, rng: np.random.Generator) -> pd.DataFrame:
    """The 2 x 2 demo-like sweep at 2 seeds whose lr effect is USER_CASES[case] per seed (accuracy near 65%)."""
    rows = []
    for seed, effect in enumerate(USER_CASES[case]):
        shift = rng.normal(0, SEED_SD)
        for lr, wd in itertools.product(*USER_GRID.values()):
            y = 65 + effect * ((lr == USER_GRID["lr"][1]) - 0.5) + shift + rng.normal(0, NOISE_SD)
            rows.append({"run": f"lr{lr:g}-wd{wd:g}-seed{seed}", "sweep": "sim", "status": "completed", "lr": lr,
                         "weight_decay": wd, "seed": seed, "val_acc": y / 100, "test_acc": y / 100})
    return pd.DataFrame(rows)


def user_calls(runs: pd.DataFrame, rule: dict) -> bool:
    """Whether the findings call lr's effect (either way)."""
    pooled = factorial.fit(runs, list(USER_GRID), **rule)
    lr = pooled.effects[pooled.effects["parameter"] == "lr"].iloc[0]
    return pooled.called(lr["p_holm"])


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


def pooled_sweep(runs: pd.DataFrame, truth: dict, rule: dict) -> dict:
    pooled = factorial.fit(runs, FACTORS, **rule)
    out = {"main": {}, "false": False, "ties": _worse_by_3(pooled.configs)}
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


def matched_pair_effects(runs: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """The first report's effects: each value against the reference over runs matched on every other parameter
    and the seed; with two or more seeds a t-interval over the per-seed means of those differences, with one
    seed Lenth's (lib.report.lenth)."""
    design = make_design(runs, params)
    error = lenth_error(design)
    rows = []
    for p, code, values in matched_differences(design):
        effect = float(values.mean()) if len(values) else math.nan
        per_seed = values.groupby(level="seed").mean()
        if len(per_seed) >= 2:
            half = t_quantile(len(per_seed) - 1) * per_seed.std(ddof=1) / math.sqrt(len(per_seed))
        elif len(values):
            half, _ = one_seed_interval(effect, error, "effect")
        else:
            half = math.nan
        rows.append({"parameter": p, "value": design.levels[p][code], "reference": design.levels[p][0],
                     "effect": effect, "ci_low": effect - half, "ci_high": effect + half, "n": len(values),
                     "seeds": len(per_seed)})
    return pd.DataFrame(rows, columns=["parameter", "value", "reference", "effect", "ci_low", "ci_high", "n", "seeds"])


def old_sweep(runs: pd.DataFrame, truth: dict) -> dict:
    effects = matched_pair_effects(runs, FACTORS).set_index("parameter")
    out = {"main": {}, "false": False}
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
    low, high = result.conf_int(alpha=1 - CONFIDENCE).T
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
    if "ties" in additive[0]:
        inter = by_scenario["interaction"]
        out["interaction_coverage"] = _rate(_covers(e["ab"], INTERACTION) for e in inter if "ab" in e)
        out["interaction_power"] = _rate(e.get("ab", (0, 0, 0, False))[3] for e in inter)
    return out


def run(sweeps: int, seed: int, frontier_sweeps: int) -> dict:
    results, frontier = [], []
    for k in SEEDS:
        sims = {s: [simulate(s, k, np.random.default_rng([seed, k, i])) for i in range(sweeps)] for s in SCENARIOS}
        per_method = {
            "per-seed/Lenth": {s: [old_sweep(r, t) for r, t in sims[s]] for s in SCENARIOS},
            **{m: {s: [pooled_sweep(r, t, rule) for r, t in sims[s]] for s in SCENARIOS} for m, rule in RULES.items()},
            "OLS": {s: [ols_sweep(r, t) for r, t in sims[s]] for s in SCENARIOS},
        }
        summaries = {m: summarise(v) for m, v in per_method.items()}
        for method in METHODS:
            summaries[method]["width_vs_ols"] = summaries[method]["median_width"] / summaries["OLS"]["median_width"]
            results.append({"seeds": k, "method": method, **summaries[method]})
        if k >= 2:
            for share in VC_SHARES:
                if share == factorial.VC_SHARE:
                    row = summaries["after"]
                else:
                    row = summarise({s: [pooled_sweep(r, t, {"vc_share": share}) for r, t in sims[s][:frontier_sweeps]]
                                     for s in SCENARIOS})
                frontier.append({"seeds": k, "vc_share": share, "sweeps": sweeps if share == factorial.VC_SHARE
                                 else min(sweeps, frontier_sweeps), "power_3": row["power_3"],
                                 "coverage": row["coverage"], "median_width": row["median_width"],
                                 "width_vs_ols": row["median_width"] / summaries["OLS"]["median_width"],
                                 "seed_dependent_coverage": row["seed_dependent_coverage"],
                                 "false_null": row["false_null"]})
    users = []
    for method, rule in RULES.items():
        rates = {case: _rate(user_calls(simulate_user(case, np.random.default_rng([seed, 9, j, i])), rule)
                             for i in range(sweeps)) for j, case in enumerate(USER_CASES)}
        users.append({"method": method, **{f"{case}_called": rate for case, rate in rates.items()}})
    return {"results": results, "user_cases": users, "frontier": frontier,
            "targets": targets(results, users)}


def targets(results: list[dict], users: list[dict]) -> list[dict]:
    """Each target of the report's statistics, the value before and after, and whether after meets it."""
    def value(method: str, name: str) -> float:
        if name.endswith("_called"):
            return next(u[name] for u in users if u["method"] == method)
        measure, seeds = name.rsplit("_", 2)[0], int(name.rsplit("_", 2)[1])
        return next(r[measure] for r in results if r["method"] == method and r["seeds"] == seeds)

    rows = []
    for name, (sense, bound) in TARGETS.items():
        before, after = value("before", name), value("after", name)
        met = after >= bound if sense == ">=" else after <= bound
        rows.append({"target": f"{name} {sense} {bound:g}", "before": before, "after": after, "met": bool(met)})
    return rows


COLUMNS = [("seeds", "seeds", "d"), ("coverage", "coverage", ".3f"), ("median_width", "width", ".2f"),
           ("width_vs_ols", "xOLS", ".2f"), ("power_0.5", "power+0.5", ".2f"), ("power_3", "power+3", ".2f"),
           ("false_null", "false(null)", ".3f"), ("false_additive", "false(add)", ".3f"),
           ("false_interaction", "false(int)", ".3f"), ("seed_dependent_coverage", "seed-dep cov", ".3f"),
           ("tied_3_points_worse", "tied -3pt", ".2f"), ("interaction_coverage", "int cov", ".3f"),
           ("interaction_power", "int power", ".2f")]
USER_COLUMNS = [("method", "method", "s"), ("consistent_sign_called", "+24/+33 called", ".3f"),
                ("sign_changing_called", "+5/-5 called", ".3f")]
FRONTIER_COLUMNS = [("seeds", "seeds", "d"), ("vc_share", "share", "g"), ("sweeps", "sweeps", "d"),
                    ("power_3", "power+3", ".2f"), ("coverage", "coverage", ".3f"), ("median_width", "width", ".2f"),
                    ("width_vs_ols", "xOLS", ".2f"), ("seed_dependent_coverage", "seed-dep cov", ".3f"),
                    ("false_null", "false(null)", ".3f")]
TARGET_COLUMNS = [("target", "target", "s"), ("before", "before", ".3f"), ("after", "after", ".3f"),
                  ("met", "met", "")]


def _table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    cells = [[("-" if r.get(k) is None or (isinstance(r.get(k), float) and math.isnan(r[k])) else
               format(r[k], f) if f else str(r[k])) for k, _, f in columns] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (_, h, _) in enumerate(columns)]
    lines = ["  ".join(h.rjust(w) for (_, h, _), w in zip(columns, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=300, help="simulated sweeps per scenario and seed count")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation")
    parser.add_argument("--frontier-sweeps", type=int, default=None,
                        help="sweeps per scenario for the other shares of the frontier table (default: a third of "
                             "--sweeps)")
    parser.add_argument("--quick", action="store_true", help="4 sweeps per setting (seconds): a smoke test, not a "
                                                             "measurement")
    parser.add_argument("--out", help="default reports/benchmarks/stats_coverage.json (--quick: "
                                      "stats_coverage-quick.json)")
    args = parser.parse_args(argv)
    sweeps = 4 if args.quick else args.sweeps
    if sweeps < 1:
        parser.error(f"--sweeps {sweeps}: give a whole number >= 1")
    frontier_sweeps = args.frontier_sweeps if args.frontier_sweeps is not None else max(1, sweeps // 3)
    if frontier_sweeps < 1:
        parser.error(f"--frontier-sweeps {frontier_sweeps}: give a whole number >= 1")
    start = time.perf_counter()
    found = run(sweeps, args.seed, frontier_sweeps)
    seconds = time.perf_counter() - start
    record = {"settings": {"sweeps": sweeps, "frontier_sweeps": frontier_sweeps, "seed": args.seed, "quick": args.quick,
                           "factors": FACTORS, "effects": EFFECTS, "interaction": INTERACTION, "noise_sd": NOISE_SD,
                           "seed_sd": SEED_SD, "seed_effect_sd": SEED_EFFECT_SD, "vc_share": factorial.VC_SHARE,
                           "user_cases": {k: list(v) for k, v in USER_CASES.items()}},
              **found, "seconds": round(seconds, 1)}
    out = Path(args.out or results_path("stats_coverage", args.quick))
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(record, indent=2) + "\n")
    print(f"2^4 factorial, effects +3/+0.5/0/0 points, noise sd {NOISE_SD}, seed shift sd {SEED_SD}, seed-dependent "
          f"effect sd {SEED_EFFECT_SD}, {sweeps} sweeps per setting; widths in points")
    for method in METHODS:
        print(f"\n{method}:")
        print(_table([r for r in found["results"] if r["method"] == method], COLUMNS))
    print("\n2 x 2 grid at 2 seeds, lr's effect fixed per seed: share of sweeps whose findings call lr")
    print(_table(found["user_cases"], USER_COLUMNS))
    print(f"\nafter, by the share of the noise's error taken off the parameter x seed spread (the report: "
          f"{factorial.VC_SHARE:g})")
    print(_table(found["frontier"], FRONTIER_COLUMNS))
    print("\ntargets")
    print(_table(found["targets"], TARGET_COLUMNS))
    print(f"\n{seconds:.0f} s; written {out}")


if __name__ == "__main__":
    main()
