"""Sweep files: expansion, run names, and clear errors for bad files before anything executes."""

from pathlib import Path

import pytest

from lib.spec.errors import SweepFileError
from lib.spec.sweepfile import load_sweep
from lib.sweep.cli import main

PARAMS = sorted(Path(__file__).resolve().parents[2].joinpath("params").glob("*.yaml"))


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def test_grid_is_the_cartesian_product_named_by_what_varies(tmp_path):
    sweep = load_sweep(write(tmp_path, """
name: g
fixed: {dataset: digits, epochs: 2}
grid:
  model: [resnet18, preact_resnet18]
  mix: [false, true]
  optimizer: [sgd]
  lr: [0.01, 1e-4]
"""))
    assert len(sweep.runs) == 8
    assert sweep.varying == ["model", "mix", "lr"]
    assert sweep.runs[0].name == "resnet18-nomix-lr0.01"
    assert sweep.run("preact_resnet18-mix-lr0.0001").params == {
        "dataset": "digits", "epochs": 2, "model": "preact_resnet18", "mix": True, "optimizer": "sgd", "lr": 0.0001}


def test_runs_merge_over_fixed_and_follow_the_grid(tmp_path):
    sweep = load_sweep(write(tmp_path, """
name: r
fixed: {model: lenet, lr: 0.1}
grid: {optimizer: [sgd, adam]}
runs:
  - {name: long, epochs: 20}
  - {lr: 0.5}
"""))
    assert [r.name for r in sweep.runs] == ["sgd-lr0.1", "adam-lr0.1", "long", "lr0.5"]
    assert sweep.run("long").params == {"model": "lenet", "lr": 0.1, "epochs": 20}
    assert [r.source for r in sweep.runs] == ["grid item 1", "grid item 2", "runs[0]", "runs[1]"]


def test_a_random_section_is_a_random_search_with_the_search_grammar(tmp_path):
    space = """
    lr: {log_uniform: [0.0001, 0.1]}
    optimizer: [sgd, adam]
    label_smoothing: {beta: [2, 5]}
"""
    random = load_sweep(write(tmp_path, "name: s\nrandom:\n  samples: 6\n  seed: 3\n  space:" + space))
    search = load_sweep(write(tmp_path, "name: s\nsearch:\n  method: random\n  trials: 6\n  seed: 3\n  space:" + space))
    assert random.search == search.search and random.search.method == "random" and random.search.trials == 6
    assert random.search.space["label_smoothing"].kind == "beta"  # a kind only the search grammar had
    assert random.runs == [] and random.uses_study  # its runs are the trials of a study, as any search's


def test_a_random_section_goes_with_no_grid_and_keeps_its_own_names_in_errors(tmp_path):
    with pytest.raises(SweepFileError, match="random creates the runs itself, so it cannot go with grid"):
        load_sweep(write(tmp_path, "name: s\ngrid: {lr: [0.1]}\nrandom: {samples: 2, space: {lr: [0.1, 0.2]}}\n"))
    with pytest.raises(SweepFileError, match="random.samples must be a whole number from 1"):
        load_sweep(write(tmp_path, "name: s\nrandom: {samples: 0, space: {lr: [0.1, 0.2]}}\n"))
    with pytest.raises(SweepFileError, match="random: unknown key 'sample' \\(did you mean 'samples'\\?\\)"):
        load_sweep(write(tmp_path, "name: s\nrandom: {sample: 2, space: {lr: [0.1, 0.2]}}\n"))


def test_a_file_with_only_fixed_is_one_run(tmp_path):
    sweep = load_sweep(write(tmp_path, "name: one\nfixed: {model: mlp}\n"))
    assert [(r.name, r.params) for r in sweep.runs] == [("one", {"model": "mlp"})]


def test_two_runs_with_one_name_are_refused_naming_both_sources(tmp_path):
    with pytest.raises(SweepFileError, match=r"run name 'lr0.1' comes from both runs\[0\] and runs\[1\]"):
        load_sweep(write(tmp_path, "name: d\nruns: [{lr: 0.1}, {lr: 0.1}, {lr: 0.2}]\n"))


@pytest.mark.parametrize("text, message", [
    ("name: x\nfixd: {model: mlp}\n", r"unknown top-level key 'fixd' \(did you mean 'fixed'\?\)"),
    ("name: x\ngrid: {modle: [mlp]}\n", r"grid: unknown parameter 'modle' \(did you mean 'model'\?\)"),
    ("name: x\ngrid: {}\n", "grid is empty"),
    ("name: x\ngrid: {lr: []}\n", "grid.lr must be a non-empty list"),
    ("name: x\ngrid: {lr: 0.1}\n", "grid.lr must be a non-empty list"),
    ("name: x\ngrid: {lr: [0.1, -1]}\n", r"run 'lr-1' \(grid item 2\): lr -1.0 is out of range"),
    ("name: x\ngrid: {model: [mlp, resnet19]}\n", r"run 'resnet19' \(grid item 2\): model 'resnet19' is not one of"),
    ("name: x\nfixed: {model: mlp\n", r"YAML syntax error at line 3, column 1"),
    ("name: x\nfixed: {out_dir: here}\n", "out_dir is set by the sweep runner"),
    ("name: x\nruns: [{name: a}, {name: a}]\n", r"run name 'a' comes from both runs\[0\] and runs\[1\]"),
    ("name: x\nrandom: {samples: 2, space: {lr: {log_uniform: [0, 1]}}}\n", r"random.space.lr: log_uniform \[0, 1\]: low must be above 0"),
    ("name: x y\n", "name 'x y' must be a folder-safe word"),
    ("- just\n- a list\n", "expected a mapping"),
])
def test_bad_files_fail_with_a_clear_message_and_execute_nothing(tmp_path, capsys, text, message):
    path = write(tmp_path, text)
    with pytest.raises(SweepFileError, match=message):
        load_sweep(path)
    reports = tmp_path / "reports"
    assert main(["run", str(path), "--reports-dir", str(reports)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert not reports.exists()


@pytest.mark.parametrize("path", PARAMS, ids=[p.name for p in PARAMS])
def test_every_params_file_passes_dry_run(path, tmp_path, capsys):
    assert main(["run", str(path), "--dry-run", "--reports-dir", str(tmp_path)]) == 0
    assert "runs valid" in capsys.readouterr().out
    assert not any(tmp_path.iterdir())  # a dry run writes nothing


def test_the_demo_runs_each_configuration_with_seeds_and_warns_about_none_of_its_settings():
    from lib.sweep.plan import sweep_warnings

    sweep = load_sweep(Path(__file__).resolve().parents[2] / "params" / "demo.yaml")
    assert "seed" in sweep.varying and len({r.params["seed"] for r in sweep.runs}) >= 3
    assert len(sweep.runs) <= 16  # about the time of the 16 one-seed runs it replaced
    assert sweep_warnings(sweep) == []
