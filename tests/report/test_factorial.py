"""The pooled linear model of a sweep (lib.report.factorial) on small runs tables whose answers are known."""

import itertools
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from rows import row
from scipy import stats
from statsmodels.stats.multitest import multipletests

from lib.report import factorial
from lib.report.diagnostics import flags_column
from lib.report.factorial import fit
from lib.report.findings import _decimals, findings, method_note
from lib.report.linear import holm


def runs_of(params: dict, seeds, val_acc, name=None) -> pd.DataFrame:
    """Every combination of `params` at every seed, completed, validation accuracy val_acc(config, seed);
    runs are named like the sweep runner names them (`a1-b0-seed2`)."""
    rows = []
    for values in itertools.product(*params.values()):
        config = dict(zip(params, values))
        for seed in seeds:
            label = "-".join(f"{k}{v}" for k, v in config.items())
            rows.append({"run": f"{label}-seed{seed}", "sweep": "t", "status": "completed", **config, "seed": seed,
                         "val_acc": val_acc(config, seed), "test_acc": 0.5})
    return pd.DataFrame(rows)


def two_way_residual_variance(cells: pd.DataFrame) -> tuple[float, int]:
    """Textbook two-way ANOVA (configuration x seed, one value per cell): residual mean square and its df."""
    table = cells.pivot(index="config", columns="seed", values="val_acc").to_numpy()
    resid = table - table.mean(axis=1, keepdims=True) - table.mean(axis=0, keepdims=True) + table.mean()
    df = (table.shape[0] - 1) * (table.shape[1] - 1)
    return float((resid ** 2).sum() / df), df


def sentences(runs, params):
    return findings(runs, fit(runs, params), flags_column(runs, {}), [])


# --- coding, error and intervals ---------------------------------------------------------------------------------

NOISE = np.random.default_rng(3).normal(0, 0.004, size=(2, 2, 3))  # (a, b, seed)
SHIFT = [0.0, 0.02, -0.01]


@pytest.fixture
def two_by_two():
    """a is worth 1 point with b at 0 and 3 points with b at 1; b is worth 2 points; three seeds, run noise."""
    return runs_of({"a": [0, 1], "b": [0, 1]}, [0, 1, 2], lambda c, s: (
        0.8 + 0.01 * c["a"] + 0.02 * c["b"] + 0.02 * c["a"] * c["b"] + SHIFT[s] + NOISE[c["a"], c["b"], s]))


def test_an_effect_is_value_minus_reference_averaged_over_the_other_parameter(two_by_two):
    pooled = fit(two_by_two, ["a", "b"])
    y = two_by_two.groupby(["a", "b"])["val_acc"].mean()
    a = row(pooled.effects, parameter="a")
    # not the effect at b's reference (treatment coding would give y[1,0] - y[0,0], about 1 point)
    assert a["effect"] == pytest.approx(((y[1, 0] - y[0, 0]) + (y[1, 1] - y[0, 1])) / 2, abs=1e-12)
    assert a["effect"] == pytest.approx(0.02, abs=0.01)
    interaction = row(pooled.interactions, parameter_a="a", parameter_b="b")
    assert interaction["interaction"] == pytest.approx(((y[1, 1] - y[0, 1]) - (y[1, 0] - y[0, 0])) / 2, abs=1e-12)
    simple = {r["at"]: r["estimate"].effect for r in pooled.simple_effects("a", "b")}
    assert simple == pytest.approx({0: y[1, 0] - y[0, 0], 1: y[1, 1] - y[0, 1]}, abs=1e-12)


def test_the_error_is_the_configuration_x_seed_scatter_pooled_over_the_design(two_by_two):
    pooled = fit(two_by_two, ["a", "b"])
    cells = two_by_two.assign(config=two_by_two["a"].astype(str) + two_by_two["b"].astype(str))
    variance, df = two_way_residual_variance(cells)
    a = row(pooled.effects, parameter="a")
    # 12 cells: a's effect is a mean of 6 minus a mean of 6; the pooled residual has (4 - 1)(3 - 1) = 6 df
    assert a["df"] == df == 6 and not any(pooled.per_seed)
    assert a["se"] == pytest.approx(math.sqrt(variance * (1 / 6 + 1 / 6)), rel=1e-9)
    half = stats.t.ppf(0.975, 6) * a["se"]
    assert (a["ci_low"], a["ci_high"]) == pytest.approx((a["effect"] - half, a["effect"] + half), abs=1e-12)
    assert a["p_average"] == pytest.approx(2 * stats.t.sf(abs(a["effect"]) / a["se"], 6), rel=1e-9)
    # the call's p: Bonferroni over the average and the every-seed readings
    assert a["p"] == pytest.approx(min(1.0, 2 * min(a["p_average"], a["p_every_seed"])), rel=1e-12)
    assert a["ci_method"].startswith("pooled linear model, t with 6 df")


def test_configurations_are_compared_with_the_best_against_the_pooled_error(two_by_two):
    pooled = fit(two_by_two, ["a", "b"])
    configs = pooled.configs
    assert list(configs["config"]) == ["a1-b1", "a0-b1", "a1-b0", "a0-b0"]  # named like the runs, seed aside
    cells = two_by_two.assign(config=two_by_two["a"].astype(str) + two_by_two["b"].astype(str))
    variance, df = two_way_residual_variance(cells)
    second = configs.iloc[1]
    assert second["vs_best"] == pytest.approx(second["val_acc_mean"] - configs.iloc[0]["val_acc_mean"], abs=1e-12)
    raw = [2 * stats.t.sf(abs(d) / math.sqrt(2 * variance / 3), df) for d in configs["vs_best"].iloc[1:]]
    assert list(configs["p_vs_best"].iloc[1:]) == pytest.approx(raw, rel=1e-9)
    assert list(configs["p_holm_vs_best"].iloc[1:]) == pytest.approx(list(holm(raw)), rel=1e-12)
    assert list(configs["tied_with_best"]) == [True] + [bool(q >= 0.05) for q in holm(raw)]


def test_a_parameter_in_a_called_interaction_is_stated_at_each_value_of_the_other(two_by_two):
    text = "\n".join(sentences(two_by_two, ["a", "b"]))
    statement = next(s for s in text.splitlines() if s.startswith("a x b interact (interaction +1."))
    a, b = statement.split(": a: ")[1].split("; b: ")
    assert " at b 0 " in a and a.endswith(" at b 1")  # a at each value of b ...
    assert " at a 0 " in b and b.endswith(" at a 1")  # ... and b at each a
    assert "\na: " not in text and "\na (" not in text  # never the average alone


# --- unbalanced designs, one seed, no error at all -----------------------------------------------------------------

def test_an_unbalanced_sweep_with_a_failed_run_recovers_an_additive_truth_and_says_what_was_left_out():
    runs = runs_of({"a": [0, 1], "b": [0, 1], "c": [0, 1]}, [0, 1],
                   lambda c, s: 0.7 + 0.03 * c["a"] - 0.01 * c["b"] + 0.05 * s)  # no noise, no interaction
    runs.loc[(runs["a"] == 1) & (runs["b"] == 1) & (runs["c"] == 0) & (runs["seed"] == 1), "status"] = "failed"
    runs = runs[~((runs["a"] == 0) & (runs["b"] == 0) & (runs["c"] == 1) & (runs["seed"] == 0))]
    pooled = fit(runs, ["a", "b", "c"])
    effects = pooled.effects.set_index("parameter")
    # raw marginal means are biased by the missing cells; the model is not
    assert runs[runs["status"] == "completed"].groupby("a")["val_acc"].mean().diff().iloc[1] != pytest.approx(0.03)
    assert effects.loc["a", "effect"] == pytest.approx(0.03, abs=1e-12)
    assert effects.loc["b", "effect"] == pytest.approx(-0.01, abs=1e-12)
    said = sentences(runs, ["a", "b", "c"])
    assert said[0].startswith("statistics rest on 14 of 15 runs") and said[0].endswith("left out: 1 failed")
    assert "unbalanced: 2 of 16 configuration x seed combinations have no run in the statistics" in "\n".join(said)
    # c changes nothing, but a missing cell leaves runs unmatched, so it is no "identical runs"
    assert "c (1 vs 0): inconclusive, no difference at all (the model fits every run exactly" in "\n".join(said)


def test_with_one_seed_the_higher_interactions_are_the_error_and_lenth_is_the_cross_check():
    rng = np.random.default_rng(5)
    noise = {v: rng.normal(0, 0.003) for v in itertools.product([0, 1], repeat=4)}
    runs = runs_of({"a": [0, 1], "b": [0, 1], "c": [0, 1], "d": [0, 1]}, [0],
                   lambda c, s: 0.8 + 0.05 * c["a"] + noise[c["a"], c["b"], c["c"], c["d"]])
    pooled = fit(runs, ["a", "b", "c", "d"])
    # 16 runs, intercept + 4 effects + 6 interactions: 5 df, the three- and four-way contrasts
    assert pooled.df == 5 and set(pooled.effects["df"]) == {5}
    assert pooled.effects[["lenth_ci_low", "lenth_ci_high"]].notna().all().all()
    text = "\n".join(sentences(runs, ["a", "b", "c", "d"]))
    assert "a: 1 beat 0 by 5." in text and "cross-check (one seed, two-level full factorial)" in text


def test_with_no_residual_degrees_of_freedom_there_is_no_interval_and_no_call():
    runs = runs_of({"a": [0, 1], "b": [0, 1]}, [0], lambda c, s: 0.8 + 0.1 * c["a"] + 0.001 * c["a"] * c["b"])
    pooled = fit(runs, ["a", "b"])
    assert pooled.df == 0 and pooled.effects["ci_low"].isna().all() and pooled.interactions["ci_low"].isna().all()
    text = "\n".join(sentences(runs, ["a", "b"]))
    assert "nothing is left to measure noise: no interval and no call" in text
    assert " beat " not in text and " lost " not in text
    assert "no range can be given" in method_note(pooled)


# --- seeds, multiplicity, precision ---------------------------------------------------------------------------------

def test_an_effect_that_varies_with_the_seed_widens_with_its_variance_component_and_is_called_at_every_seed():
    a_by_seed = [0.02, 0.06, 0.04]
    noise = np.random.default_rng(1).normal(0, 0.001, size=(2, 2, 3))
    runs = runs_of({"a": [0, 1], "b": [0, 1]}, [0, 1, 2],
                   lambda c, s: 0.8 + a_by_seed[s] * c["a"] + 0.01 * c["b"] + noise[c["a"], c["b"], s])
    pooled = fit(runs, ["a", "b"])
    plain = fit(runs, ["a", "b"], vc_share=math.inf)  # the whole spread taken off: the pooled interval
    per_seed = [runs[(runs["seed"] == s) & (runs["a"] == 1)]["val_acc"].mean()
                - runs[(runs["seed"] == s) & (runs["a"] == 0)]["val_acc"].mean() for s in range(3)]
    a, a_plain = row(pooled.effects, parameter="a"), row(plain.effects, parameter="a")
    s2, d2 = a_plain["se"] ** 2, np.var(per_seed, ddof=1) / 3
    component = d2 - factorial.VC_SHARE * s2
    assert component > 0 and a["se"] == pytest.approx(math.sqrt(s2 + component), rel=1e-9)
    assert a["df"] == pytest.approx(factorial.satterthwaite(s2, a_plain["df"], component, 2), rel=1e-9)
    assert a["df"] < a_plain["df"] and a["ci_high"] - a["ci_low"] > a_plain["ci_high"] - a_plain["ci_low"]
    assert (a["seed_min"], a["seed_max"]) == pytest.approx((min(per_seed), max(per_seed)), abs=1e-9)
    assert a["p_every_seed"] < a["p_average"] and pooled.called(a["p_holm"])
    said = next(t for t in sentences(runs, ["a", "b"]) if t.startswith("a: "))
    assert said.startswith(f"a: 1 beat 0 at every seed (by {100 * min(per_seed):.1f} to {100 * max(per_seed):.1f} "
                           f"points of validation accuracy)")
    b = row(pooled.effects, parameter="b")
    assert b["seed_share"] < a["seed_share"]


def test_an_effect_whose_sign_changes_with_the_seed_is_not_called_at_every_seed():
    runs = runs_of({"a": [0, 1], "b": [0, 1]}, [0, 1],
                   lambda c, s: 0.8 + [0.05, -0.05][s] * c["a"] + 0.001 * c["b"] * (1 + s))
    a = row(fit(runs, ["a", "b"]).effects, parameter="a")
    assert a["p_every_seed"] == 1.0 and a["p_holm"] >= 0.05


def test_holm_matches_statsmodels_and_runs_over_every_effect_and_interaction():
    p = [0.01, 0.04, 0.03, math.nan, 0.2]
    assert list(holm(p)[[0, 1, 2, 4]]) == pytest.approx(list(multipletests([0.01, 0.04, 0.03, 0.2],
                                                                           method="holm")[1]))
    assert math.isnan(holm(p)[3])
    rng = np.random.default_rng(11)
    noise = {k: rng.normal(0, 0.01) for k in itertools.product([0, 1], [0, 1], [0, 1], range(2))}
    runs = runs_of({"a": [0, 1], "b": [0, 1], "c": [0, 1]}, [0, 1], lambda c, s: 0.8 + noise[c["a"], c["b"], c["c"], s])
    pooled = fit(runs, ["a", "b", "c"])
    raw = [*pooled.effects["p"], *pooled.interactions["p"]]
    assert [*pooled.effects["p_holm"], *pooled.interactions["p_holm"]] == pytest.approx(list(holm(raw)), rel=1e-12)
    assert pooled.family == 6


def test_a_sweep_of_pure_noise_calls_nothing_in_most_simulations():
    rng = np.random.default_rng(0)
    false_calls = 0
    for _ in range(40):
        noise = rng.normal(0, 0.01, size=(2, 2, 2, 2))
        runs = runs_of({"a": [0, 1], "b": [0, 1], "c": [0, 1]}, [0, 1],
                       lambda c, s: 0.8 + noise[c["a"], c["b"], c["c"], s])
        text = "\n".join(sentences(runs, ["a", "b", "c"]))
        false_calls += " beat " in text or " lost " in text or " interact (" in text
    assert false_calls <= 6  # Holm at 5%: about 2 of 40 expected; 6 or more is below 1% chance


def test_numbers_print_at_the_precision_their_interval_justifies():
    assert [_decimals(h) for h in (12.0, 4.0, 2.3, 1.2, 0.7, 0.15, 0.04, 0.00001)] == [0, 0, 1, 1, 1, 2, 2, 3]
    noise = np.random.default_rng(2).normal(0, 0.00002, size=(2, 2, 3))
    runs = runs_of({"a": [0, 1], "b": [0, 1]}, [0, 1, 2],
                   lambda c, s: 0.9 + 0.0004 * c["a"] + noise[c["a"], c["b"], s])
    text = "\n".join(sentences(runs, ["a", "b"]))
    assert "a: 1 beat 0 by 0.04" in text and "by 0.0 points" not in text and "CI 0.0 to 0.0" not in text


# --- ordered, continuous and many-valued parameters -----------------------------------------------------------------

def test_an_ordered_parameter_has_a_mean_per_value_a_trend_and_its_best_is_compared_with_its_neighbours():
    curve = {0.0001: 0.80, 0.001: 0.86, 0.01: 0.90, 0.1: 0.88}
    noise = np.random.default_rng(4).normal(0, 0.002, size=(4, 2, 2))
    runs = runs_of({"lr": list(curve), "optimizer": ["sgd", "adam"]}, [0, 1], lambda c, s: (
        curve[c["lr"]] + 0.01 * (c["optimizer"] == "adam") + noise[list(curve).index(c["lr"]),
                                                                  int(c["optimizer"] == "adam"), s]))
    pooled = fit(runs, ["lr", "optimizer"])
    lr = pooled.effects[pooled.effects["parameter"] == "lr"]
    means = lr[lr["kind"] == "mean"]
    assert list(means["value"]) == list(curve)
    assert list(means["effect"]) == pytest.approx([v + 0.005 for v in curve.values()], abs=0.003)
    steps = lr[lr["kind"] == "difference"]
    assert list(zip(steps["reference"], steps["value"])) == [(0.0001, 0.001), (0.001, 0.01), (0.01, 0.1)]
    trend = row(lr, kind="trend")
    assert trend["value"] == "per tenfold"
    slope = np.polyfit(np.log10(list(curve)), list(curve.values()), 1)[0]  # least squares of the means on log10(lr)
    assert trend["effect"] == pytest.approx(slope, abs=0.002)
    assert row(pooled.interactions, parameter_a="lr")["value_a"] == "trend"  # one column, not three
    text = "\n".join(sentences(runs, ["lr", "optimizer"]))
    assert "lr (4 values, ordered): best 0.01, mean val acc 90." in text
    assert "it beat 0.001 by 4.1" in text and "it beat 0.1 by 1.9" in text and "0.0001" not in text.split("lr (")[1]


def test_an_ordered_parameter_whose_trend_interacts_still_names_its_best_value():
    # Peaked at lr 0.01 for both models; the MLP falls off faster at small rates, so the trend interacts.
    curve = {0.0001: 0.70, 0.001: 0.82, 0.01: 0.90, 0.1: 0.87}
    noise = np.random.default_rng(5).normal(0, 0.002, size=(4, 2, 2))
    runs = runs_of({"lr": list(curve), "model": ["lenet", "mlp"]}, [0, 1], lambda c, s: (
        curve[c["lr"]] - (0.08 - 0.02 * list(curve).index(c["lr"])) * (c["model"] == "mlp")
        + noise[list(curve).index(c["lr"]), int(c["model"] == "mlp"), s]))
    found = sentences(runs, ["lr", "model"])
    interaction = next(s for s in found if s.startswith("lr x model interact"))
    assert "points per tenfold lr" in interaction  # the trend at each model
    ordered = next(s for s in found if s.startswith("lr (4 values, ordered): "))
    assert ordered.startswith("lr (4 values, ordered): best 0.01, mean val acc ")
    assert "averaged over model (its trend interacts with it); " in ordered and "it beat 0.1 by " in ordered
    assert "per tenfold" not in ordered  # the trend is the interaction's to state, model by model


def test_a_linear_axis_steps_by_its_gap_and_a_sampled_one_is_a_trend_only():
    runs = runs_of({"epochs": [5, 10, 15], "mix": [False, True]}, [0, 1],
                   lambda c, s: 0.8 + 0.002 * c["epochs"] + 0.001 * s)
    trend = row(fit(runs, ["epochs", "mix"]).effects, kind="trend")
    assert trend["value"] == "per +5" and trend["effect"] == pytest.approx(0.01, abs=1e-9)
    rng = np.random.default_rng(8)
    sampled = pd.DataFrame([{"run": f"trial-{i}", "status": "completed", "lr": float(lr), "seed": 0,
                             "val_acc": 0.9 + 0.01 * math.log10(lr) + rng.normal(0, 0.001)}
                            for i, lr in enumerate(10 ** rng.uniform(-4, -1, 12))])
    pooled = fit(sampled, ["lr"])
    assert pooled.factors[0].kind == "continuous" and list(pooled.effects["kind"]) == ["trend"]
    assert row(pooled.effects, kind="trend")["effect"] == pytest.approx(0.01, abs=0.002)


def test_a_parameter_with_three_unordered_values_is_compared_with_its_reference_and_tested_as_one_interaction():
    bump = {"lenet": 0.0, "mlp": 0.03, "resnet": 0.05}
    noise = np.random.default_rng(6).normal(0, 0.002, size=(3, 3, 2))
    runs = runs_of({"model": list(bump), "optimizer": ["sgd", "adam", "rmsprop"]}, [0, 1], lambda c, s: (
        0.8 + bump[c["model"]] + noise[list(bump).index(c["model"]), ["sgd", "adam", "rmsprop"].index(
            c["optimizer"]), s]))
    pooled = fit(runs, ["model", "optimizer"])
    model = pooled.effects[pooled.effects["parameter"] == "model"]
    assert list(zip(model["value"], model["reference"])) == [("mlp", "lenet"), ("resnet", "lenet")]
    assert list(model["effect"]) == pytest.approx([0.03, 0.05], abs=0.003)
    pair = pooled.interactions
    assert len(pair) == 4 and pair["p_holm"].nunique() == 1  # one F test for the 2 x 2 columns
    assert pooled.family == 2 + 2 + 1


def test_importing_the_statistics_loads_neither_scipy_nor_statsmodels():
    code = ("import sys, lib.report.analysis, lib.report.design, lib.report.factorial, lib.report.findings; "
            "print(sorted(m for m in ('scipy', 'statsmodels') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
