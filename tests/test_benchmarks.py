"""The closed-form parts of the benchmarks agree with a simulation of what they describe."""

import math

import numpy as np
from scipy import stats as st

from benchmarks.stats_coverage import EFFECTS, FACTORS, NOISE_SD, SEED_EFFECT_SD, bound_at_two_seeds


def test_the_seed_guard_bound_is_what_its_rule_achieves_in_simulation():
    bound = bound_at_two_seeds()
    assert bound["pooled_coverage"] < bound["coverage"] < 0.95
    rng = np.random.default_rng(0)
    n, runs = 400_000, 2 ** len(FACTORS)
    per_seed_sd = math.sqrt(4 * NOISE_SD ** 2 / runs)  # one seed's effect estimate from its 16 runs
    df = 2 * runs - (1 + len(FACTORS) + math.comb(len(FACTORS), 2) + 1)
    t = st.t.ppf(0.975, df)
    seed_part = rng.normal(0, SEED_EFFECT_SD, (n, 2))
    effects = EFFECTS["a"] + seed_part + rng.normal(0, per_seed_sd, (n, 2))
    mean, half_difference = effects.mean(1), (effects[:, 0] - effects[:, 1]) / 2
    se = np.where(np.abs(half_difference) > bound["threshold"], bound["widened_se"], per_seed_sd / math.sqrt(2))
    covered = np.abs(mean - EFFECTS["a"]) < t * se
    assert abs(covered.mean() - bound["coverage"]) < 0.005


def test_asking_less_power_of_the_plus_3_effect_leaves_more_room_for_coverage():
    assert bound_at_two_seeds(power=0.5)["coverage"] > bound_at_two_seeds(power=0.95)["coverage"]
    assert bound_at_two_seeds(tests=16)["coverage"] < bound_at_two_seeds(tests=10)["coverage"]
