"""Every benchmark's --quick mode runs (so a change that breaks one fails here), and the closed-form
parts of the benchmarks agree with a simulation of what they describe."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as st

from benchmarks.stats_coverage import EFFECTS, FACTORS, NOISE_SD, SEED_EFFECT_SD, bound_at_two_seeds

ROOT = Path(__file__).resolve().parent.parent


def run_quick(module: str, tmp_path: Path) -> dict:
    """`python -m benchmarks.<module> --quick`, as a user runs it; the JSON it wrote."""
    out = tmp_path / f"{module}.json"
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
           "PYTHONPATH": os.pathsep.join(p for p in [str(ROOT), os.environ.get("PYTHONPATH", "")] if p)}
    result = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", "--quick", "--out", str(out)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert f"wrote {out}" in result.stdout
    return json.loads(out.read_text())


@pytest.mark.slow
def test_throughput_quick_times_every_pipeline_of_both_cases_without_a_dataset(tmp_path):
    report = run_quick("throughput", tmp_path)
    cases = {(row["case"], row["pipeline"]): row["images_per_s"] for row in report["rows"]}
    assert set(cases) == {(case, pipeline) for case in ("lenet/fashion_mnist", "resnet18/cifar10")
                          for pipeline in ("naive", "lib", "compute")}
    assert all(value > 0 for value in cases.values())
    assert "random" in report["cases"]["resnet18/cifar10"]["data"]  # the RGB case ran on stand-in data


@pytest.mark.slow
def test_overhead_quick_times_a_sweep_run_and_a_notebook(tmp_path):
    report = run_quick("overhead", tmp_path)
    assert report["quick"] and report["run"]["sweep_runs"] == 1
    assert 0 < report["train_s"] < report["sweep_per_run_s"]
    assert report["notebook_s"] > report["breakdown"]["notebook_train_s"] > 0
    assert any("run(cfg" in cell for cell in report["breakdown"]["cells_s"])


@pytest.mark.slow
def test_report_scale_quick_builds_and_measures_the_16_run_report(tmp_path):
    report = run_quick("report_scale", tmp_path)
    [result] = report["results"]
    assert result["runs"] == 16
    assert result["html_mb"] > 0 and result["notebook_mb"] > 0
    assert result["status_lines"] > 0 and result["dry_run_lines"] > 0


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
