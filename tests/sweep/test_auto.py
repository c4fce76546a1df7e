"""`auto`: the real chain (lib.sweep.auto.run_chain) over records written without training (benchmarks.synthetic
via benchmarks.autopilot's surfaces): it stops, keeps to its budget, never pays twice for a configuration,
resumes after a kill without re-running a finished run, and --dry-run writes nothing."""

from collections import Counter
from pathlib import Path

import pytest

from benchmarks.autopilot import Surface, synthetic_round
from lib.core.layout import CONFIG
from lib.core.records import read_json
from lib.report.chain import chain_html
from lib.report.load import load_report
from lib.report.proposal.finished import run_identity
from lib.config.sweepfile import load_sweep
from lib.sweep.auto import Chain, chain_paths, run_chain
from lib.sweep.cli import build_parser, main
from lib.sweep.plan import sweep_root


def identities(reports: Path) -> Counter:
    found = Counter()
    for config in reports.glob("*/runs/*/" + CONFIG):
        found[run_identity(read_json(config))] += 1
    return found


def start(tmp_path, index=0):
    surface = Surface.draw(index)
    first = tmp_path / f"surface{index}.yaml"
    first.write_text(surface.first_grid())
    return surface, first, tmp_path / "reports"


def test_a_chain_moves_towards_the_optimum_within_its_budget_and_never_pays_twice(tmp_path):
    surface, first, reports = start(tmp_path)
    lines = []
    chain = Chain(first, 90, reports, report=False, echo=lines.append)
    status, reason = run_chain(chain, synthetic_round(surface, reports))
    paths = chain_paths(first, chain.name)
    assert status == 0 and len(paths) >= 3 and paths[1].name == "surface0_r1.yaml"
    paid = identities(reports)
    assert sum(paid.values()) <= 90 and max(paid.values()) == 1
    assert any(line.startswith("auto: round 1 (") and "budget left" in line for line in lines)
    sweeps = [load_sweep(p) for p in paths]
    best = load_report([sweep_root(s, reports) for s in sweeps]).ranked.sort_values("val_acc").iloc[-1]
    start_best = load_report(sweep_root(sweeps[0], reports)).ranked["val_acc"].max()
    assert best["val_acc"] > start_best + 0.05  # the poor first grid is left well behind


def test_rounds_limit_and_a_resumed_chain_reruns_nothing(tmp_path):
    surface, first, reports = start(tmp_path, 1)
    run_round = synthetic_round(surface, reports)
    chain = Chain(first, 150, reports, rounds=1, report=False, echo=lambda line: None)
    _, reason = run_chain(chain, run_round)
    assert reason == "--rounds 1 reached" and len(chain_paths(first, chain.name)) == 2
    r1 = (tmp_path / "surface1_r1.yaml").read_text()

    calls = []

    def killed(path):  # the kill: round 2 dies after writing half of its records
        calls.append(path.name)
        sweep = load_sweep(path)
        if path.name == "surface1_r2.yaml" and calls.count(path.name) == 1:
            from benchmarks.synthetic import write_records
            half = {s.name for s in sweep.runs[: max(1, len(sweep.runs) // 2)]}
            write_records(sweep, sweep_root(sweep, reports),
                          lambda p: surface.outcome(p) if next(s.name for s in sweep.runs if s.params == p) in half
                          else None)
            raise KeyboardInterrupt
        return run_round(path)

    chain = Chain(first, 150, reports, rounds=3, report=False, echo=lambda line: None)
    with pytest.raises(KeyboardInterrupt):
        run_chain(chain, killed)
    before = identities(reports)
    run_chain(chain, killed)  # started again: continues the same chain
    assert (tmp_path / "surface1_r1.yaml").read_text() == r1  # a round file once written stays as it is
    assert calls[:2] == ["surface1_r1.yaml", "surface1_r2.yaml"] and calls[2] == "surface1_r2.yaml"
    after = identities(reports)
    assert max(after.values()) == 1 and set(before) <= set(after)


def test_dry_run_shows_the_plan_and_the_budget_and_writes_nothing(tmp_path, capsys):
    _, first, reports = start(tmp_path)
    assert main(["auto", str(first), "--budget", "100", "--dry-run", "--reports-dir", str(reports)]) == 0
    out = capsys.readouterr().out
    assert "would execute 36" in out and "auto: budget 100 runs; paid so far 0" in out
    assert "this round executes 36; left after it: 64" in out
    assert not reports.exists() and not (tmp_path / "surface0_r1.yaml").exists()


def test_auto_refuses_a_first_sweep_larger_than_its_budget(tmp_path, capsys):
    _, first, reports = start(tmp_path)
    assert main(["auto", str(first), "--budget", "10", "--reports-dir", str(reports)]) == 2
    assert "has 36 runs, more than --budget 10" in capsys.readouterr().err


def test_auto_takes_every_option_run_takes():
    parser = build_parser()
    run = {a.dest for a in parser._subparsers._group_actions[0].choices["run"]._actions}
    auto = {a.dest for a in parser._subparsers._group_actions[0].choices["auto"]._actions}
    assert run <= auto and {"budget", "rounds", "budget_hours"} <= auto


def test_the_chain_report_says_how_we_got_here(tmp_path):
    surface, first, reports = start(tmp_path, 2)
    chain = Chain(first, 80, reports, rounds=2, report=False, echo=lambda line: None)
    run_chain(chain, synthetic_round(surface, reports))
    sweeps = [load_sweep(p) for p in chain_paths(first, chain.name)]
    report = load_report([sweep_root(s, reports) for s in sweeps])
    text = chain_html(report, chain.report_dir)
    assert "How we got here" in text and "Round 0: surface2" in text and "Round 2: surface2_r2" in text
    assert "points over round 0's best (matched on seed" in text
    assert "edge: lr" in text and "Recommendation" in text and "python -m lib.train --config" in text
    assert "--rounds 2 reached" in text


@pytest.mark.slow
def test_the_autopilot_benchmark_runs_quick():
    from benchmarks.autopilot import main as benchmark

    assert benchmark(["--quick"]) == 0  # 1 when a configuration was paid for twice
