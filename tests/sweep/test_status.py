"""`status` and `--dry-run` fit a screen at any size: a summary above 25 runs, every row with --all."""

from benchmarks.synthetic import Outcome, write_sweep
from lib.core.records import write_json
from lib.sweep.cli import main

GRID = "name: big\nfixed: {dataset: digits, epochs: 3}\ngrid: {lr: [%s], optimizer: [sgd, adam]}\nseeds: [0, 1, 2, 3, 4]\n"


def big_sweep(tmp_path, values=20):
    """200 planned runs: all finished but one that failed and ten that never started."""
    path = tmp_path / "big.yaml"
    lrs = ", ".join(str(0.001 * (i + 1)) for i in range(values))
    started = iter(range(10_000))
    sweep = write_sweep(path, GRID % lrs, tmp_path / "reports" / "big",
                        lambda p: None if next(started) >= 190 else Outcome(0.5 + 10 * p["lr"], best_epoch=2))
    write_json(tmp_path / "reports" / "big" / "runs" / sweep.runs[0].name / "failure.json",
               {"error": "RuntimeError: the first run broke"})
    (tmp_path / "reports" / "big" / "runs" / sweep.runs[0].name / "metrics.json").unlink()
    return path, sweep


def test_status_of_a_large_sweep_is_a_summary_of_at_most_40_lines(tmp_path, capsys):
    path, sweep = big_sweep(tmp_path)
    assert main(["status", str(path), "--reports-dir", str(tmp_path / "reports")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= 40 and len(sweep.runs) == 200
    assert lines[0] == "200 runs: 1 failed, 189 completed, 10 pending"
    assert "the best 10 of 189 ranked runs:" in lines
    assert lines[lines.index("the best 10 of 189 ranked runs:") + 3].startswith("lr0.019-")  # the highest lr that ran (lr 0.02 never started)
    assert any(line.startswith("failed (1): ") for line in lines)
    assert any("RuntimeError: the first run broke" in line for line in lines)
    assert any(line.startswith("pending (10): ") and line.endswith("and 5 more") for line in lines)


def test_status_all_prints_every_run(tmp_path, capsys):
    path, sweep = big_sweep(tmp_path)
    assert main(["status", str(path), "--all", "--reports-dir", str(tmp_path / "reports")]) == 0
    out = capsys.readouterr().out
    assert all(run.name in out for run in sweep.runs)


def test_a_dry_run_of_a_large_sweep_prints_counts_and_a_few_names(tmp_path, capsys):
    path, _ = big_sweep(tmp_path)
    assert main(["run", str(path), "--dry-run", "--reports-dir", str(tmp_path / "reports")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= 40 and max(len(line) for line in lines) < 300
    planned = next(line for line in lines if line.startswith("dry run: "))
    assert planned.startswith("dry run: 200 runs valid; would execute 10: ") and planned.endswith("and 5 more")


def test_a_small_sweep_still_shows_every_row(tmp_path, capsys):
    path, sweep = big_sweep(tmp_path, values=2)
    assert main(["status", str(path), "--reports-dir", str(tmp_path / "reports")]) == 0
    out = capsys.readouterr().out
    assert all(run.name in out for run in sweep.runs) and "--all" not in out
