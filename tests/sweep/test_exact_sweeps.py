"""A sweep file is the whole truth about its runs: one set of defaults, linked grid values, the
CIFAR-100 files as the research report ran them, and warnings for settings that cannot act."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lib.core.paths import data_root, project_root, resolve
from lib.core.records import RunState, write_history, write_json
from lib.run.notebook import TRAIN_NOTEBOOK, config_from_namespace, parameters_cell
from lib.config.runconfig import DATASETS, GRAYSCALE_DATASETS, RunConfig
from lib.config.errors import ConfigError, SweepFileError
from lib.config.runs import CONFIG_PARAMETER, RUNNER_KEYS, run_config
from lib.config.sweepfile import load_sweep
from lib.sweep.cli import main
from lib.sweep.plan import sweep_warnings
from lib.sweep.status import format_table

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, text: str, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- one source of truth -------------------------------------------------------------------------


def test_the_notebook_parameters_cell_is_runconfig_exactly():
    cell = next(c for c in nbformat.read(TRAIN_NOTEBOOK, as_version=4).cells
                if "parameters" in c.metadata.get("tags", []))
    assert cell.source.strip() == parameters_cell().strip(), "run `python -m lib.run.notebook --write` to regenerate the cell"
    values = {node.target.id: ast.literal_eval(node.value) for node in ast.parse(cell.source).body}
    assert values.pop(CONFIG_PARAMETER) is None  # the sweep runner's whole config; the cell's own values otherwise
    assert values == RunConfig().to_dict()


def test_sweep_runs_get_every_field_from_runconfig_the_file_and_the_runner_only():
    values = run_config("s", "r", {"dataset": "mnist", "epochs": 2}, "/tmp/out").to_dict()
    expected = {**RunConfig().to_dict(), "dataset": "mnist", "epochs": 2, "wandb_mode": "auto", "out_dir": "/tmp/out",
                "resume": True, "run_name": "r", "wandb_group": "s", "progress": False}
    assert values == expected


@pytest.mark.parametrize("key", RUNNER_KEYS)
def test_a_sweep_file_that_sets_a_runner_key_is_refused(tmp_path, key):
    value = {"out_dir": "x", "resume": "false", "run_name": "x", "wandb_group": "x", "progress": "false",
             "study": "x", "study_name": "x", "trial": "3"}[key]
    with pytest.raises(SweepFileError, match=f"{key} is set by the sweep runner for each run; remove it"):
        load_sweep(write(tmp_path, f"name: s\nfixed: {{{key}: {value}}}\n"))


def test_relative_paths_start_at_the_project_root_from_anywhere_inside_it(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT / "notebooks")  # where JupyterLab starts a kernel
    assert project_root() == ROOT
    assert resolve("reports/x") == ROOT / "reports" / "x"
    monkeypatch.setenv("DATA_DIR", "somewhere")
    assert data_root(None) == ROOT / "somewhere" and data_root("/abs") == Path("/abs")
    monkeypatch.delenv("DATA_DIR")
    assert data_root(None) == ROOT / "data"
    monkeypatch.chdir(tmp_path)  # outside the project: the working directory
    assert resolve("reports/x") == tmp_path.resolve() / "reports" / "x"


def test_the_notebook_config_keeps_values_as_given_and_can_run_again(monkeypatch):
    monkeypatch.chdir(ROOT / "notebooks")
    namespace = {**RunConfig().to_dict(), "In": [], "get_ipython": print}
    cfg = config_from_namespace(namespace)
    assert cfg == RunConfig()  # paths are resolved where used, not rewritten into the config
    namespace.update(cfg=cfg, result=object(), mix="true")  # objects from later cells; papermill text
    assert config_from_namespace(namespace).mix is True


def test_the_notebook_takes_a_whole_config_as_it_is_and_refuses_values_changed_beside_it(monkeypatch):
    cell = {**RunConfig().to_dict(), CONFIG_PARAMETER: None, "In": []}
    given = run_config("s", "r", {"lr": 0.2, "mix": True}, "/tmp/out").to_dict()
    built = []
    real = RunConfig.from_dict.__func__
    monkeypatch.setattr(RunConfig, "from_dict",
                        classmethod(lambda cls, values: built.append(values) or real(cls, values)))
    cfg = config_from_namespace({**cell, CONFIG_PARAMETER: given})
    assert cfg.to_dict() == given and built == [given]  # one RunConfig, from the dict as the sweep validated it
    with pytest.raises(ConfigError, match="config is given, and so are lr; put them in config"):
        config_from_namespace({**cell, CONFIG_PARAMETER: given, "lr": 0.3})
    with pytest.raises(ConfigError, match="config must be a mapping"):
        config_from_namespace({**cell, CONFIG_PARAMETER: "lr: 0.2"})
    with pytest.raises(ConfigError, match="unknown key 'modle'"):
        config_from_namespace({**cell, CONFIG_PARAMETER: {**given, "modle": "mlp"}})


@pytest.mark.slow
def test_a_terse_sweep_runs_once_with_runconfig_defaults_and_a_rerun_executes_nothing(tmp_path, capsys):
    path = write(tmp_path, "name: terse\nfixed: {dataset: digits, epochs: 1}\ngrid: {model: [mlp, lenet]}\n")
    reports = tmp_path / "reports"
    assert main(["run", str(path), "--workers", "2", "--reports-dir", str(reports), "--no-report"]) == 0
    capsys.readouterr()
    assert main(["run", str(path), "--reports-dir", str(reports), "--no-report"]) == 0
    assert "2 runs, 0 to execute" in capsys.readouterr().out
    for model in ("mlp", "lenet"):
        run_dir = reports / "terse" / "runs" / model
        config = json.loads((run_dir / "config.json").read_text())
        expected = run_config("terse", model, {"dataset": "digits", "epochs": 1, "model": model}, str(run_dir)).to_dict()
        assert config == expected
        assert config["batch_size"] == RunConfig().batch_size
        assert (run_dir / "run.log").read_text().count("\n=== ") == 1


# --- linked grid values ---------------------------------------------------------------------------


def test_a_grid_axis_of_mappings_sets_parameters_together(tmp_path):
    sweep = load_sweep(write(tmp_path, """
name: linked
fixed: {dataset: digits, mix: true}
grid:
  arch:
    - {model: resnet18_imagenet, pretrained: true}
    - {model: preact_resnet18}
  optimizer: [sgd, adam]
"""))
    assert [r.name for r in sweep.runs] == ["resnet18_imagenet-pretrained-sgd", "resnet18_imagenet-pretrained-adam",
                                            "preact_resnet18-sgd", "preact_resnet18-adam"]
    assert sweep.varying == ["model", "pretrained", "optimizer"]  # the real parameters, not the axis name
    assert sweep.runs[0].params == {"dataset": "digits", "mix": True, "model": "resnet18_imagenet",
                                    "pretrained": True, "optimizer": "sgd"}
    assert "pretrained" not in sweep.runs[2].params
    states = [RunState(r.name, "pending") for r in sweep.runs]
    header = format_table(states, sweep).splitlines()[0].split()
    assert header[:5] == ["run", "status", "model", "pretrained", "optimizer"]


@pytest.mark.parametrize("grid, message", [
    ("{arch: [{model: lenet}, mlp]}", "grid.arch mixes mappings and single values"),
    ("{arch: [{modle: lenet}]}", r"unknown parameter 'modle' \(did you mean 'model'\?\)"),
    ("{arch: [{model: [lenet, mlp]}]}", "grid values are single values, or mappings"),
    ("{arch: [{model: lenet}, {model: resnet19}]}", r"\(grid item 2\): model 'resnet19' is not one of"),
    ("{arch: [{model: lenet, pretrained: true}]}", "pretrained weights exist only for model resnet18_imagenet"),
    ("{arch: [{}]}", "an empty mapping sets nothing"),
])
def test_bad_linked_values_are_refused_with_the_place(tmp_path, grid, message):
    with pytest.raises(SweepFileError, match=message):
        load_sweep(write(tmp_path, f"name: bad\ngrid: {grid}\n"))


# --- the CIFAR-100 files ------------------------------------------------------------------------------


def test_the_cifar100_grid_is_the_reports_grid_with_the_pretrained_imagenet_resnet():
    sweep = load_sweep(ROOT / "params" / "cifar100_grid.yaml")
    assert len(sweep.runs) == 32
    imagenet = [r for r in sweep.runs if r.params["model"] == "resnet18_imagenet"]
    preact = [r for r in sweep.runs if r.params["model"] == "preact_resnet18"]
    assert len(imagenet) == len(preact) == 16
    assert all(r.params["pretrained"] is True and "input_size" not in r.params for r in imagenet)
    assert all("pretrained" not in r.params and "input_size" not in r.params for r in preact)
    assert sweep.varying == ["model", "pretrained", "mix", "optimizer", "lr", "scheduler"]
    for key in ("mix", "optimizer", "lr", "scheduler"):
        assert {repr(r.params[key]) for r in sweep.runs} == {
            "mix": {"False", "True"}, "optimizer": {"'sgd'", "'adam'"}, "lr": {"0.0001", "0.01"},
            "scheduler": {"'plateau'", "'cosine'"}}[key]
    fixed = sweep.fixed
    assert (fixed["epochs"], fixed["patience"], fixed["min_delta"], fixed["batch_size"]) == (50, 3, 0.01, 256)
    assert (fixed["weight_decay"], fixed["momentum"], fixed["nesterov"], fixed["t_max"]) == (0.001, 0.9, True, 50)
    assert (fixed["step_size"], fixed["gamma"], fixed["plateau_patience"]) == (10, 0.1, 5)
    assert (fixed["amp_dtype"], fixed["val_fraction"]) == ("fp16", 0.1)  # GradScaler: fp16 with loss scaling
    assert "resnet18_imagenet-pretrained-mix-sgd-lr0.01-cosine" in {r.name for r in sweep.runs}
    assert any(line.startswith("scheduler plateau never lowers the rate") for line in sweep_warnings(sweep))


def test_the_cifar_stem_grid_differs_only_in_its_resnet():
    report = load_sweep(ROOT / "params" / "cifar100_grid.yaml")
    stem = load_sweep(ROOT / "params" / "cifar100_grid_cifar_stem.yaml")
    assert stem.fixed == report.fixed and len(stem.runs) == 32
    swapped = [{**r.params, "model": "resnet18_imagenet", "pretrained": True} if r.params["model"] == "resnet18"
               else r.params for r in stem.runs]
    assert swapped == [r.params for r in report.runs]


def test_the_cifar100_followups_extend_the_reports_runs():
    sweep = load_sweep(ROOT / "params" / "cifar100_followups.yaml")
    extended, imagenet = (r.params for r in sweep.runs)
    assert (extended["model"], extended["optimizer"], extended["lr"], extended["mix"], extended["scheduler"]) == \
        ("preact_resnet18", "sgd", 0.01, True, "cosine")
    assert (extended["epochs"], extended["t_max"]) == (100, 100)
    assert extended["patience"] >= 97  # the report's extended run converged at epoch 97 of 100
    assert (imagenet["model"], imagenet["input_size"], imagenet["pretrained"], imagenet["optimizer"]) == \
        ("resnet18_imagenet", 224, True, "adam")
    assert (imagenet["lr"], imagenet["weight_decay"], imagenet["epochs"], imagenet["patience"]) == (0.001, 0.0001, 50, 15)
    assert sweep_warnings(sweep) == []


# --- warnings --------------------------------------------------------------------------------------


@pytest.mark.parametrize("values, start", [
    ({"scheduler": "plateau", "early_stopping": True, "patience": 3, "plateau_patience": 5},
     "scheduler plateau never lowers the rate: early stopping (patience 3)"),
    ({"scheduler": "cosine", "step_size": 5}, "step_size is set but scheduler is not step"),
    ({"scheduler": "none", "gamma": 0.5}, "gamma is set but scheduler is not step"),
    ({"optimizer": "adam", "momentum": 0.9}, "momentum is set but adam and adamw have no momentum setting"),
    ({"optimizer": "adamw", "nesterov": True}, "nesterov is set but adam and adamw"),
    ({"scheduler": "step", "t_max": 5}, "t_max is set but scheduler is not cosine"),
    ({"scheduler": "cosine", "epochs": 10, "t_max": 5}, "t_max 5 is below epochs 10"),
    ({"augment": False, "rotation": 5.0}, "rotation is set but augment is false"),
    ({"augment": True, "dataset": "mnist", "color_jitter": 0.4}, "color_jitter is set but mnist is grayscale"),
    ({"augment": True, "dataset": "digits", "hue": 0.1}, "hue is set but digits is grayscale"),
    ({"cache": True, "num_workers": 8}, "num_workers is set but cache is true"),
    ({"cache": True, "pin_memory": False}, "pin_memory is set but cache is true"),
    ({"mix": False, "mix_alpha": 0.2}, "mix_alpha is set but mix is false"),
    ({"early_stopping": False, "patience": 9}, "patience is set but early_stopping is false"),
])
def test_each_inert_setting_gets_one_warning_that_names_it(values, start):
    warnings = RunConfig.from_dict(values).warnings(given=values)
    assert [w for w in warnings if w.startswith(start)], warnings
    assert all("\n" not in w for w in warnings)


def test_a_clean_config_has_no_warnings_and_defaults_are_not_settings():
    assert RunConfig().warnings() == []
    assert RunConfig.from_dict({"optimizer": "adam"}).warnings() == []  # default momentum: not set by the user
    fixed = {"scheduler": "plateau", "early_stopping": True, "patience": 7, "plateau_patience": 5}
    assert RunConfig.from_dict(fixed).warnings() == []


def test_grayscale_datasets_are_the_one_channel_ones():
    from lib.run.datasets import load_data

    assert set(GRAYSCALE_DATASETS) <= set(DATASETS)
    assert load_data("digits").channels == 1


@pytest.mark.slow
def test_warnings_print_before_a_single_run_and_never_stop_it(tmp_path):
    result = subprocess.run([sys.executable, "-m", "lib.train", "--model", "mlp", "--epochs", "1", "--optimizer",
                             "adam", "--nesterov", "true", "--progress", "false", "--out-dir", str(tmp_path / "r")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "warning: nesterov is set but adam and adamw have no momentum setting" in result.stderr
    assert (tmp_path / "r" / "metrics.json").is_file()


def test_dry_run_prints_each_warning_once_with_its_run_count(tmp_path, capsys):
    path = write(tmp_path, "name: w\nfixed: {dataset: digits, step_size: 3}\ngrid: {optimizer: [sgd, adam]}\n")
    assert main(["run", str(path), "--dry-run", "--reports-dir", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert err.count("warning: step_size is set but scheduler is not step") == 1
    assert "(2 of 2 runs)" in err


# --- one accuracy per run --------------------------------------------------------------------------


def test_status_and_report_show_the_same_validation_accuracy(tmp_path, capsys):
    from lib.report.load import load_report
    from lib.report.tables import leaderboard

    path = write(tmp_path, "name: acc\nfixed: {dataset: digits}\nruns: [{name: a}]\n")
    root = tmp_path / "reports" / "acc"
    run_dir = root / "runs" / "a"
    history = [{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "val_loss": 0.5, "val_acc": 0.80, "lr": 0.1},
               {"epoch": 2, "train_loss": 0.9, "train_acc": 0.6, "val_loss": 0.7, "val_acc": 0.90, "lr": 0.1}]
    write_history(run_dir / "history.csv", history)
    write_json(run_dir / "config.json", RunConfig.from_dict({"dataset": "digits"}).to_dict())
    # Interrupted (no metrics yet): the value at the lowest validation loss, not the maximum 0.90.
    (run_dir / "checkpoints").mkdir()
    (run_dir / "checkpoints" / "last.pt").write_bytes(b"")
    main(["status", str(path), "--reports-dir", str(tmp_path / "reports")])
    assert "0.8000" in capsys.readouterr().out
    write_json(run_dir / "metrics.json", {"status": "completed", "best_epoch": 1, "epochs_run": 2, "val_acc": 0.80,
                                          "val_loss": 0.5, "test_acc": 0.7})
    main(["status", str(path), "--reports-dir", str(tmp_path / "reports")])
    out = capsys.readouterr().out
    assert "0.8000" in out and "0.9000" not in out and "lowest validation loss" in out
    write_json(root / "sweep.json", {"name": "acc", "fixed": {}, "varying": [],
                                     "runs": [{"name": "a", "source": "runs[0]", "params": {}}]})
    board = leaderboard(load_report(root))
    assert [c for c in board.columns if "validation accuracy" in c and "lowest validation loss" in c]
    assert board.iloc[0][[c for c in board.columns if "validation accuracy" in c][0]] == 0.80


# --- replicates --------------------------------------------------------------------------------------


def test_seeds_run_every_configuration_once_per_seed(tmp_path):
    sweep = load_sweep(write(tmp_path, "name: s\nfixed: {dataset: digits}\ngrid: {optimizer: [sgd, adam]}\n"
                                       "seeds: [0, 1, 2]\n"))
    assert [r.name for r in sweep.runs] == [f"{o}-seed{s}" for o in ("sgd", "adam") for s in (0, 1, 2)]
    assert sweep.varying == ["optimizer", "seed"]
    with pytest.raises(SweepFileError, match=r"seed is set in fixed and by `seeds`"):
        load_sweep(write(tmp_path, "name: s\nfixed: {seed: 3}\nseeds: [0, 1]\n"))
    with pytest.raises(SweepFileError, match=r"seed is set in grid and by `seeds`"):
        load_sweep(write(tmp_path, "name: s\ngrid: {seed: [3, 4]}\nseeds: [0, 1]\n"))
    with pytest.raises(SweepFileError, match=r"seeds lists a seed twice"):
        load_sweep(write(tmp_path, "name: s\nseeds: [0, 0]\n"))
    with pytest.raises(SweepFileError, match=r"confirm.top must be a whole number >= 1"):
        load_sweep(write(tmp_path, "name: s\ngrid: {lr: [0.1, 0.2]}\nconfirm: {top: 0, seeds: [1]}\n"))


@pytest.mark.slow
def test_adding_seeds_reuses_finished_runs_and_confirm_reruns_the_best_with_more_seeds(tmp_path, capsys):
    reports = tmp_path / "reports"
    base = "name: rep\nfixed: {dataset: digits, model: mlp, epochs: 1}\ngrid: {lr: [0.1, 0.001]}\n"
    path = write(tmp_path, base)
    assert main(["run", str(path), "--workers", "2", "--reports-dir", str(reports), "--no-report"]) == 0
    mtimes = {n: (reports / "rep" / "runs" / n / "metrics.json").stat().st_mtime_ns for n in ("lr0.1", "lr0.001")}
    path.write_text(base + "seeds: [0, 1]\nconfirm: {top: 1, seeds: [2]}\n")
    capsys.readouterr()
    assert main(["run", str(path), "--workers", "2", "--reports-dir", str(reports), "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "reusing the records of lr0.1 -> lr0.1-seed0 (same config)" in out
    assert "rep: 4 runs, 2 to execute" in out
    runs = reports / "rep" / "runs"
    for name in ("lr0.1", "lr0.001"):  # seed 0 runs are the old ones, untouched
        assert (runs / f"{name}-seed0" / "metrics.json").stat().st_mtime_ns == mtimes[name]
    best = max(("lr0.1", "lr0.001"), key=lambda n: sum(json.loads((runs / f"{n}-seed{s}" / "metrics.json")
                                                                   .read_text())["val_acc"] for s in (0, 1)))
    assert sorted(p.name for p in runs.iterdir()) == sorted(["lr0.1-seed0", "lr0.1-seed1", "lr0.001-seed0",
                                                             "lr0.001-seed1", f"{best}-seed2"])
    assert json.loads((runs / f"{best}-seed2" / "config.json").read_text())["seed"] == 2
    capsys.readouterr()
    assert main(["run", str(path), "--reports-dir", str(reports), "--no-report"]) == 0
    assert "5 runs, 0 to execute" in capsys.readouterr().out
