"""The statistics benchmark runs end to end in its quick mode and measures what it says."""

import json

import numpy as np

from benchmarks import stats_coverage
from benchmarks.stats_coverage import USER_CASES, simulate_user, user_calls


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
