"""Every benchmark's --quick mode runs (so a change that breaks one fails here), and the statistics benchmark
measures what it says."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import stats_coverage
from benchmarks.stats_coverage import USER_CASES, simulate_user, user_calls

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


def test_the_quick_benchmark_writes_every_table_and_the_targets(tmp_path, capsys):
    out = tmp_path / "stats.json"
    stats_coverage.main(["--quick", "--out", str(out)])
    record = json.loads(out.read_text())
    assert record["settings"]["quick"] and record["settings"]["sweeps"] == 4
    methods = {(r["method"], r["seeds"]) for r in record["results"]}
    assert methods == {(m, k) for m in stats_coverage.METHODS for k in stats_coverage.SEEDS}
    assert {(f["seeds"], f["vc_share"]) for f in record["frontier"]} == {
        (k, s) for k in (2, 3) for s in stats_coverage.VC_SHARES}
    assert [t["target"].split()[0] for t in record["targets"]] == list(stats_coverage.TARGETS)
    assert "targets" in capsys.readouterr().out


def test_the_user_cases_are_what_they_say_and_only_the_consistent_one_is_called():
    for case, (first, second) in USER_CASES.items():
        runs = simulate_user(case, np.random.default_rng(0))
        by_seed = runs.groupby(["seed", "lr"])["val_acc"].mean().unstack()
        gains = 100 * (by_seed[0.1] - by_seed[0.001])
        assert np.allclose(gains.to_numpy(), [first, second], atol=3.0)
    called = [user_calls(simulate_user("consistent_sign", np.random.default_rng(i)), {}) for i in range(5)]
    assert all(called)
    before = [user_calls(simulate_user("consistent_sign", np.random.default_rng(i)), {"seed_rule": "f_test_switch"})
              for i in range(5)]
    assert not all(before)  # the case: the old rule left it inconclusive
    assert not any(user_calls(simulate_user("sign_changing", np.random.default_rng(i)), {}) for i in range(5))


def test_a_quick_run_writes_beside_the_measurement_never_over_it():
    from benchmarks import RESULTS, results_path

    assert results_path("stats_coverage", quick=False) == RESULTS / "stats_coverage.json"
    assert results_path("stats_coverage", quick=True) == RESULTS / "stats_coverage-quick.json"
