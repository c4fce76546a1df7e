"""Sweep files: expansion, run names, and clear errors for bad files before anything executes."""

import itertools
import os
from pathlib import Path

import pytest

from lib.config.errors import SweepFileError
from lib.config.runs import RUNNER_KEYS, run_config
from lib.config.sweepfile import load_sweep
from lib.config.yamlfile import MAX_YAML_BYTES
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


# Files whose point is to keep settings that cannot act (the research report's grid as it ran), so
# their warnings say which; every other file must not warn about itself.
WARN_ON_PURPOSE = ("cifar100_grid.yaml", "cifar100_grid_cifar_stem.yaml")


def _planned_points(sweep) -> list[dict]:
    """A sweep's runs' parameters; for a search, every combination of its lists of choices (with each
    distribution at its low end), so the trials it may draw are checked too."""
    if not sweep.search:
        return [r.params for r in sweep.runs]
    space = sweep.search.space
    lists = {k: d.args if d.kind == "choice" else [d.value(d.args[0])] for k, d in space.items()
             if d.kind == "choice" or d.native}
    return [{**sweep.fixed, **dict(zip(lists, combo))} for combo in itertools.product(*lists.values())]


@pytest.mark.parametrize("path", [p for p in PARAMS if p.name not in WARN_ON_PURPOSE],
                         ids=[p.name for p in PARAMS if p.name not in WARN_ON_PURPOSE])
def test_params_files_do_not_warn_about_themselves(path, tmp_path, capsys):
    assert main(["run", str(path), "--dry-run", "--reports-dir", str(tmp_path)]) == 0
    assert "warning:" not in capsys.readouterr().err
    sweep = load_sweep(path)
    for params in _planned_points(sweep):
        assert run_config(sweep.name, "", params).warnings(given=params) == [], params


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


# ---------------------------------------------------------------------------------------------
# Checks against the epochs and keys the runs really have


def dry_run(path, capsys, *flags) -> tuple[int, str, str]:
    code = main(["run", str(path), "--dry-run", "--reports-dir", str(path.parent / "reports"), *flags])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("epochs", ["[1, 2]", "{int_uniform: [1, 2]}"])
def test_early_termination_is_checked_against_the_searched_epochs_as_against_a_grids(tmp_path, epochs):
    terminate = "metric: {name: val_acc}\nearly_terminate: {type: asha, min_epochs: 3}\n"
    grid = write(tmp_path, "name: g\ngrid: {epochs: [1, 2]}\n" + terminate)
    with pytest.raises(SweepFileError, match=r"min_epochs 3 is not below the runs' epochs \(2\)"):
        load_sweep(grid)
    search = write(tmp_path, f"name: s\nsearch: {{trials: 2, space: {{epochs: {epochs}}}}}\n" + terminate)
    with pytest.raises(SweepFileError, match=r"min_epochs 3 is not below the runs' epochs \(2\)"):
        load_sweep(search)
    ok = write(tmp_path, "name: s\nsearch: {trials: 2, space: {epochs: [1, 4]}}\n" + terminate)
    assert load_sweep(ok).early_terminate.min_epochs == 3  # a trial of 4 epochs can be stopped at epoch 3


@pytest.mark.parametrize("key", RUNNER_KEYS)
@pytest.mark.parametrize("section", ["search: {trials: 2, space: {%s: [1, 2], lr: [0.1, 0.2]}}",
                                     "random: {samples: 2, space: {%s: [1, 2], lr: [0.1, 0.2]}}"])
def test_runner_keys_are_refused_in_a_search_space_as_in_fixed(tmp_path, key, section):
    with pytest.raises(SweepFileError, match=f"space.{key}: {key} is set by the sweep runner for each run; remove"):
        load_sweep(write(tmp_path, "name: s\n" + section % key + "\n"))


@pytest.mark.parametrize("text, runs", [
    ("grid: {lr: [0.1, 0.01]}\nconfirm: {top: 1, seeds: [1, 2]}\n", "4 runs (2 in the file and up to 2 confirmation"),
    ("grid: {lr: [0.1, 0.01]}\nseeds: [0, 1]\nconfirm: {top: 2, seeds: [1, 2]}\n",
     "6 runs (4 in the file and up to 2 confirmation"),  # seed 1 has run already
    ("search: {trials: 2, space: {lr: [0.1, 0.01]}}\nconfirm: {top: 1, seeds: [1]}\n",
     "3 runs (2 trials and up to 1 confirmation"),
])
def test_max_runs_counts_the_confirmation_runs(tmp_path, capsys, text, runs):
    path = write(tmp_path, "name: c\n" + text)
    code, _, err = dry_run(path, capsys, "--max-runs", "2")
    assert code == 2 and f"describes {runs} runs), above the cap of 2" in err
    assert dry_run(path, capsys, "--max-runs", runs.split()[0])[0] == 0  # the sum is exactly the cap


def test_hyperband_needs_max_epochs_above_min_epochs(tmp_path):
    path = write(tmp_path, "name: h\nfixed: {epochs: 5}\ngrid: {lr: [0.1, 0.01]}\nmetric: {name: val_acc}\n"
                           "early_terminate: {type: hyperband, min_epochs: 2, max_epochs: 1}\n")
    with pytest.raises(SweepFileError, match="min_epochs 2 is not below max_epochs 1: hyperband could stop no run"):
        load_sweep(path)


# ---------------------------------------------------------------------------------------------
# extends


def test_extends_takes_paths_from_the_files_folder_or_absolute_and_says_so(tmp_path):
    (tmp_path / "base.yaml").write_text("name: base\nfixed: {dataset: digits, epochs: 4}\ngrid: {lr: [0.1, 0.01]}\n")
    (tmp_path / "sub").mkdir()
    up = tmp_path / "sub" / "up.yaml"
    up.write_text("extends: ../base.yaml\n")
    absolute = tmp_path / "sub" / "absolute.yaml"
    absolute.write_text(f"extends: {tmp_path / 'base.yaml'}\n")
    assert [r.name for r in load_sweep(up).runs] == [r.name for r in load_sweep(absolute).runs] == ["lr0.1", "lr0.01"]
    (tmp_path / "sub" / "bad.yaml").write_text("extends: ../up.yaml\n")
    (tmp_path / "up.yaml").write_text("just: text\n")
    with pytest.raises(SweepFileError) as error:
        load_sweep(tmp_path / "sub" / "bad.yaml")
    message = str(error.value)
    assert "beside it" not in message and "from this file's folder, or is absolute" in message
    assert str(tmp_path / "sub" / ".." / "up.yaml") in message


def test_extends_merges_fixed_key_by_key_and_keeps_its_own_description(tmp_path, capsys):
    (tmp_path / "base.yaml").write_text(
        "name: base\ndescription: LeNet on Fashion-MNIST for 6 epochs\n"
        "fixed: {dataset: fashion_mnist, epochs: 6, subset: 10000, augment: true}\ngrid: {lr: [0.1, 0.01]}\n")
    child = tmp_path / "short.yaml"
    child.write_text("extends: base.yaml\nfixed: {epochs: 3, subset: 2000, augment: null}\n")
    sweep = load_sweep(child)
    assert sweep.fixed == {"dataset": "fashion_mnist", "epochs": 3, "subset": 2000}  # augment removed
    assert sweep.run("lr0.1").params["dataset"] == "fashion_mnist"
    assert sweep.description == ""  # the base's describes other runs
    (tmp_path / "own.yaml").write_text("extends: base.yaml\ndescription: a shorter run\nfixed: null\n")
    own = load_sweep(tmp_path / "own.yaml")
    assert own.description == "a shorter run" and own.fixed == {}  # a section given as null still goes


@pytest.mark.parametrize("text, line", [
    ("name: g\nfixed: {epochs: 3, subset: 2000}\ngrid: {lr: [0.1, 0.01]}\n",
     "fixed: dataset: digits (the default), epochs: 3, subset: 2000"),
    ("name: s\nfixed: {dataset: fashion_mnist, augment: true}\nsearch: {trials: 2, space: {lr: [0.1, 0.01]}}\n",
     "fixed: dataset: fashion_mnist, augment: true"),
    ("name: w\nfixed: {epochs: 2}\ngrid: {dataset: [digits, mnist]}\n", "fixed: epochs: 2"),
])
def test_dry_run_prints_the_settings_every_run_shares(tmp_path, capsys, text, line):
    code, out, _ = dry_run(write(tmp_path, text), capsys)
    assert code == 0 and line + "\n" in out


def test_dry_run_of_an_extending_file_shows_the_inherited_dataset(tmp_path, capsys):
    (tmp_path / "base.yaml").write_text("name: base\nfixed: {dataset: fashion_mnist, epochs: 6}\n"
                                        "grid: {model: [lenet, mlp]}\n")
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nfixed: {epochs: 3, subset: 2000}\n")
    assert "fixed: dataset: fashion_mnist, epochs: 3, subset: 2000\n" in dry_run(child, capsys)[1]


# ---------------------------------------------------------------------------------------------
# Files that are not small regular files


@pytest.mark.parametrize("target", ["/dev/zero", "folder", "fifo", "huge.yaml"])
def test_extends_and_sweep_paths_read_only_small_regular_files(tmp_path, capsys, target):
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")  # opening it for reading would wait for a writer
    with open(tmp_path / "huge.yaml", "wb") as f:
        f.truncate(MAX_YAML_BYTES + 1)  # sparse: nothing is written
    child = write(tmp_path, f"extends: {target}\n")
    code, _, err = dry_run(child, capsys)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
    assert "not a regular file" in err or f"larger than {MAX_YAML_BYTES // 2**20} MiB" in err
    direct = target if target.startswith("/") else str(tmp_path / target)
    assert main(["run", direct, "--dry-run", "--reports-dir", str(tmp_path / "reports")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_seeded_run_name_and_back():
    from lib.config.naming import seeded, unseeded

    assert seeded("lenet-sgd", 3) == "lenet-sgd-seed3" and unseeded("lenet-sgd-seed3") == "lenet-sgd"
    assert unseeded("lenet-seedless") == "lenet-seedless" and unseeded(seeded("a-seed1", 2)) == "a-seed1"
