"""W&B sweep configurations: recognized, converted exactly to our format, and refused in one clear line."""

import math
from pathlib import Path

import numpy as np
import pytest

from lib.config.errors import SweepFileError
from lib.config.sweepfile import load_sweep
from lib.config.wandb import DISTRIBUTIONS, convert, is_wandb_sweep
from lib.config.yamlfile import read_yaml
from lib.sweep.cli import main

ROOT = Path(__file__).resolve().parents[2]
PATH = Path("sweeps/lr.yaml")


def wandb(method="random", run_cap=8, **extra):
    """A minimal W&B file: one parameter that varies, plus whatever the test adds."""
    raw = {"method": method, "parameters": {"lr": {"values": [0.1, 0.01]}}, **extra}
    if run_cap is not None:
        raw["run_cap"] = run_cap
    return raw


def space_of(spec: dict, method="random"):
    out, _ = convert({"method": method, "run_cap": 4, "parameters": {"lr": spec}}, PATH)
    return out["search"]["space"]["lr"]


def refused(raw: dict) -> str:
    with pytest.raises(SweepFileError) as info:
        convert(raw, PATH)
    message = str(info.value)
    assert message.startswith("sweeps/lr.yaml: ") and "\n" not in message
    return message


def test_wandb_files_are_told_apart_from_ours():
    assert is_wandb_sweep({"method": "grid"}) and is_wandb_sweep({"parameters": {}})
    assert not is_wandb_sweep({"name": "x", "fixed": {}, "grid": {"lr": [0.1]}, "metric": {"name": "val_acc"},
                               "search": {}, "early_terminate": {}})
    assert not is_wandb_sweep(["method"]) and not is_wandb_sweep(None)


def test_the_example_file_converts_exactly():
    path = ROOT / "params" / "wandb_example.yaml"
    out, notes = convert(read_yaml(path), path)
    assert out == {
        "name": "wandb_example",
        "description": "LeNet or an MLP on scikit-learn's 8x8 digits; learning rate and weight decay on log scales.",
        "fixed": {"dataset": "digits", "epochs": 6, "batch_size": 64, "seed": 0},
        "metric": {"name": "val_acc", "goal": "maximize"},
        "search": {"method": "gp", "trials": 12, "seed": 0, "space": {
            "model": ["lenet", "mlp"], "optimizer": ["sgd", "adam"],
            "lr": {"log_uniform": [0.001, 0.3]}, "weight_decay": {"log_uniform": [1e-5, 0.01]}}},
        "early_terminate": {"type": "asha", "min_epochs": 1, "reduction_factor": 3},
    }
    assert notes == ["program is a W&B agent setting; ignored here (runs execute notebooks/train.ipynb)"]


def test_grid_takes_values_as_axes_and_value_as_fixed_and_project_as_wandb_project():
    out, notes = convert({
        "method": "grid", "project": "mnist", "entity": "me", "command": ["${env}", "python", "${program}"],
        "parameters": {"model": {"values": ["lenet", "mlp"]}, "epochs": {"value": 3},
                       "lr": {"distribution": "categorical", "values": [0.1, 0.01]},
                       "seed": {"distribution": "constant", "value": 1}},
        "metric": {"name": "val_loss"}, "run_cap": 4}, PATH)
    assert out == {"name": "lr", "fixed": {"epochs": 3, "seed": 1, "wandb_project": "mnist"},
                   "grid": {"model": ["lenet", "mlp"], "lr": [0.1, 0.01]},
                   "metric": {"name": "val_loss", "goal": "minimize"}}
    assert notes == ["command and entity are W&B agent settings; ignored here (runs execute notebooks/train.ipynb)"]


@pytest.mark.parametrize("low, high, q", [(16, 128, 16), (0, 1, 0.25), (0.1, 0.4, 0.1)])
def test_grid_enumerates_int_uniform_and_q_uniform_as_wandb_does(low, high, q):
    out, _ = convert({"method": "grid", "parameters": {
        "epochs": {"distribution": "int_uniform", "min": 2, "max": 4},
        "rotation": {"distribution": "q_uniform", "min": low, "max": high, "q": q}}}, PATH)
    # W&B's grid: int_uniform is min..max; q_uniform is numpy.arange(min, max, q), cleaned of float noise
    assert out["grid"] == {"epochs": [2, 3, 4],
                           "rotation": [float(f"{v:.12g}") for v in np.arange(low, high, q).tolist()]}
    assert out["grid"]["rotation"][:3] == [low, low + q, float(f"{low + 2 * q:.12g}")]


@pytest.mark.parametrize("spec, expected", [
    ({"values": ["sgd", "adam"]}, ["sgd", "adam"]),
    ({"min": 1, "max": 5}, {"int_uniform": [1, 5]}),
    ({"min": 0.0, "max": 1}, {"uniform": [0.0, 1]}),
    ({"distribution": "int_uniform", "min": 1, "max": 5}, {"int_uniform": [1, 5]}),
    ({"distribution": "uniform", "min": 0, "max": 2}, {"uniform": [0, 2]}),
    ({"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25}, {"q_uniform": [0, 1, 0.25]}),
    ({"distribution": "q_uniform", "min": 0, "max": 10}, {"q_uniform": [0, 10, 1]}),
    ({"distribution": "log_uniform", "min": -9, "max": -2}, {"log_uniform": [math.exp(-9), math.exp(-2)]}),
    ({"distribution": "log_uniform_values", "min": 1e-4, "max": 0.1}, {"log_uniform": [1e-4, 0.1]}),
    ({"distribution": "q_log_uniform", "min": 0, "max": 5, "q": 2},
     {"q_log_uniform": [1.0, math.exp(5), 2]}),
    ({"distribution": "q_log_uniform_values", "min": 8, "max": 256, "q": 8}, {"q_log_uniform": [8, 256, 8]}),
    # log(1/X) uniform on [2, 9]: X = e^-U is log-uniform on [e^-9, e^-2]
    ({"distribution": "inv_log_uniform", "min": 2, "max": 9}, {"log_uniform": [math.exp(-9), math.exp(-2)]}),
    # log(1/X) uniform on [log(1/max), log(1/min)]: X is log-uniform on [min, max]
    ({"distribution": "inv_log_uniform_values", "min": 1e-4, "max": 0.1}, {"log_uniform": [1e-4, 0.1]}),
    ({"distribution": "normal"}, {"normal": [0.0, 1.0]}),
    ({"distribution": "normal", "mu": 0.5, "sigma": 0.1}, {"normal": [0.5, 0.1]}),
    ({"distribution": "q_normal", "mu": 10, "sigma": 2, "q": 2}, {"q_normal": [10, 2, 2]}),
    ({"distribution": "log_normal", "mu": -3, "sigma": 1}, {"log_normal": [-3, 1]}),
    ({"distribution": "q_log_normal", "mu": 3, "sigma": 0.5}, {"q_log_normal": [3, 0.5, 1]}),
    ({"distribution": "beta", "a": 2, "b": 5}, {"beta": [2, 5]}),
    ({"distribution": "q_beta", "q": 0.05}, {"q_beta": [1.0, 1.0, 0.05]}),
])
def test_every_wandb_distribution_maps_to_our_space(spec, expected):
    assert space_of(spec) == expected


def test_the_table_above_covers_every_distribution():
    covered = {"categorical", "constant", "int_uniform", "uniform", "q_uniform", "log_uniform", "log_uniform_values",
               "q_log_uniform", "q_log_uniform_values", "inv_log_uniform", "inv_log_uniform_values", "normal",
               "q_normal", "log_normal", "q_log_normal", "beta", "q_beta"}
    assert set(DISTRIBUTIONS) == covered


def test_inv_log_uniform_matches_wandbs_sampling():
    # W&B draws inv_log_uniform as exp(-U), U uniform on [min, max]: its extremes are our bounds
    low, high = space_of({"distribution": "inv_log_uniform", "min": 1, "max": 4})["log_uniform"]
    assert (low, high) == (math.exp(-4), math.exp(-1)) and 1 / high == pytest.approx(math.e)


def test_random_and_bayes_become_a_search_with_run_cap_trials():
    out, _ = convert(wandb("random", run_cap=5, parameters={"lr": {"min": 0.0, "max": 0.5}, "epochs": {"value": 2}}),
                     PATH)
    assert out == {"name": "lr", "fixed": {"epochs": 2},
                   "search": {"method": "random", "trials": 5, "seed": 0, "space": {"lr": {"uniform": [0.0, 0.5]}}}}
    out, _ = convert(wandb("bayes", metric={"name": "val_acc", "goal": "maximize"}), PATH)
    assert out["search"]["method"] == "gp" and out["metric"] == {"name": "val_acc", "goal": "maximize"}


def test_metric_goal_defaults_to_minimize_as_in_wandb_and_target_is_ignored_with_a_note():
    out, notes = convert(wandb(metric={"name": "val_acc", "target": 0.99}), PATH)
    assert out["metric"] == {"name": "val_acc", "goal": "minimize"}
    assert any("W&B's default is minimize" in n for n in notes)
    assert any(n.startswith("metric.target is ignored") and "0.99" in n for n in notes)


@pytest.mark.parametrize("early_terminate, min_epochs, eta", [
    ({"type": "hyperband", "min_iter": 3}, 3, 3),
    ({"type": "hyperband", "min_iter": 2, "eta": 2}, 2, 2),
    ({"type": "hyperband", "min_iter": 1, "eta": 4.0}, 1, 4),
    # bands int(27 / 3^k) for k = 1..3: 9, 3, 1
    ({"type": "hyperband", "max_iter": 27, "s": 3}, 1, 3),
    # bands int(100 / 2^k) for k = 1..2: 50, 25
    ({"type": "hyperband", "max_iter": 100, "s": 2, "eta": 2}, 25, 2),
    # 10/3 = 3.3, 10/9 = 1.1, 10/27 < 1 stops: bands 3, 1
    ({"type": "hyperband", "max_iter": 10, "s": 5}, 1, 3),
])
def test_hyperband_becomes_asha_from_the_lowest_band(early_terminate, min_epochs, eta):
    out, _ = convert(wandb(metric={"name": "val_loss"}, early_terminate=early_terminate), PATH)
    assert out["early_terminate"] == {"type": "asha", "min_epochs": min_epochs, "reduction_factor": eta}


def test_hyperband_works_with_grid_and_strict_is_a_note():
    out, notes = convert(wandb("grid", metric={"name": "val_loss"},
                               early_terminate={"type": "hyperband", "min_iter": 2, "strict": True}), PATH)
    assert out["grid"] == {"lr": [0.1, 0.01]}
    assert out["early_terminate"] == {"type": "asha", "min_epochs": 2, "reduction_factor": 3}
    assert any(n.startswith("early_terminate.strict is ignored") for n in notes)


def test_a_log_uniform_with_value_like_bounds_gets_a_note():
    _, notes = convert(wandb(parameters={"lr": {"distribution": "log_uniform", "min": 0.0001, "max": 0.1}}), PATH)
    assert any("natural-log exponents" in n and "log_uniform_values" in n for n in notes)


def test_a_name_that_is_not_folder_safe_is_made_safe_with_a_note():
    out, notes = convert(wandb(name="My sweep #1"), PATH)
    assert out["name"] == "My-sweep-1" and any("'My-sweep-1'" in n for n in notes)


@pytest.mark.parametrize("raw, pieces", [
    (wandb("bayes", run_cap=None, metric={"name": "val_acc"}), ["run_cap is missing", "method bayes", "run_cap: 20"]),
    (wandb("random", run_cap=None), ["run_cap is missing", "method random"]),
    (wandb(parameters={"lr": {"distribution": "log_uniform_value", "min": 1e-4, "max": 0.1}}),
     ["parameters.lr.distribution 'log_uniform_value'", "did you mean 'log_uniform_values'", "valid: constant"]),
    (wandb(parameters={"optimizer": {"values": ["sgd", "adam"], "probabilities": [0.8, 0.2]}}),
     ["parameters.optimizer.probabilities", "weighted categories"]),
    (wandb(parameters={"optimizer": {"distribution": "categorical_w_probabilities", "values": ["sgd"]}}),
     ["parameters.optimizer.probabilities"]),
    (wandb(parameters={"opt": {"parameters": {"lr": {"value": 0.1}}}}),
     ["parameters.opt.parameters", "nested parameters are not supported"]),
    (wandb(parameters={"learning_rate": {"values": [0.1]}}),
     ["parameters.learning_rate: unknown parameter 'learning_rate'", "valid: dataset"]),
    (wandb(parameters={"lrr": {"values": [0.1]}}), ["parameters.lrr: unknown parameter 'lrr' (did you mean 'lr'?)"]),
    (wandb(parameters={"out_dir": {"value": "x"}}), ["parameters.out_dir", "set by the sweep runner"]),
    (wandb("grid", parameters={"lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 0.1}}),
     ["parameters.lr", "log_uniform_values", "grid needs values lists", "use method random or bayes"]),
    (wandb("grid", run_cap=3, parameters={"lr": {"values": [0.1, 0.01]}, "model": {"values": ["lenet", "mlp"]}}),
     ["run_cap 3 is below the grid's 4 runs"]),
    (wandb(metric={"name": "val_loss"}, early_terminate={"type": "hyperband", "min_iter": 1, "eta": 2.5}),
     ["early_terminate.eta 2.5", "whole-number", ">= 2"]),
    (wandb(metric={"name": "val_loss"}, early_terminate={"type": "hyperband", "min_iter": 1, "eta": 1}),
     ["early_terminate.eta 1"]),
    (wandb(metric={"name": "val_loss"}, early_terminate={"type": "envelope"}),
     ["early_terminate.type 'envelope' is not supported; valid: hyperband"]),
    (wandb(metric={"name": "val_loss"}, early_terminate={"type": "hyperband", "eta": 3}),
     ["early_terminate needs min_iter", "max_iter and s"]),
    (wandb(metric={"name": "val_loss"}, early_terminate={"type": "hyperband", "max_iter": 9}),
     ["early_terminate.s is missing", "with max_iter"]),
    (wandb(metric={"name": "val_loss"}, early_terminate={"type": "hyperband", "max_iter": 2, "s": 1}),
     ["max_iter 2 / eta 3 is below 1"]),
    (wandb(early_terminate={"type": "hyperband", "min_iter": 1}), ["early_terminate", "metric is missing"]),
    (wandb(metric={"name": "val_accuracy"}),
     ["metric.name 'val_accuracy'", "did you mean 'val_acc'", "valid: val_acc"]),
    (wandb(metric={"name": "accuracy"}), ["did you mean 'val_acc'"]),
    (wandb(metric={"name": "loss"}), ["metric.name 'loss'", "did you mean 'val_loss'"]),
    (wandb(metric={"name": "train/loss"}), ["did you mean 'train_loss'"]),
    (wandb(metric={"name": "val_acc", "goal": "max"}), ["metric.goal 'max'", "valid: maximize, minimize"]),
    (wandb(metric={"name": "val_acc", "impute": "worst"}), ["metric.impute: unknown metric key", "valid: name"]),
    (wandb(paramters={}), ["unknown W&B sweep key 'paramters'", "valid: name, description, method"]),
    (wandb("hyperopt"), ["method 'hyperopt' is not supported; valid: grid, random, bayes"]),
    ({"parameters": {"lr": {"values": [0.1]}}}, ["method is missing"]),
    (wandb(parameters={"lr": {"distribution": "uniform", "min": 0.5, "max": 0.1}}), ["parameters.lr: min 0.5",
                                                                                     "below max 0.1"]),
    (wandb(parameters={"lr": {"distribution": "log_uniform_values", "min": 0, "max": 0.1}}),
     ["parameters.lr.min 0", "min > 0"]),
    (wandb(parameters={"lr": {"distribution": "normal", "min": 0}}),
     ["parameters.lr.min: unknown key for distribution normal 'min'", "valid: distribution, mu, sigma"]),
    (wandb(parameters={"epochs": {"distribution": "int_uniform", "min": 1.5, "max": 4}}),
     ["parameters.epochs: int_uniform needs whole-number"]),
    (wandb(parameters={"lr": {"distribution": "log_uniform", "min": 0, "max": 1000}}),
     ["natural-log exponents", "use log_uniform_values"]),
    (wandb(parameters={"lr": {"min": 0.1}}), ["parameters.lr needs value, values, min and max"]),
    (wandb(parameters={"lr": {"values": [[0.1, 0.2]]}}), ["parameters.lr.values", "single values"]),
    (wandb("random", parameters={"lr": {"value": 0.1}}), ["needs a parameter with values or a distribution"]),
    (wandb("bayes"), ["metric is missing", "method bayes"]),
])
def test_bad_wandb_files_fail_in_one_line_naming_the_key(raw, pieces):
    message = refused(raw)
    for piece in pieces:
        assert piece in message, (piece, message)


def test_a_pure_wandb_grid_runs_end_to_end_through_load_sweep(tmp_path, capsys):
    path = tmp_path / "lenet_lr.yaml"
    path.write_text("""
program: train.py
method: grid
project: digits-sweeps
parameters:
  dataset: {value: digits}
  model: {value: lenet}
  epochs: {value: 1}
  optimizer: {values: [sgd, adam]}
  lr: {values: [0.1, 1e-2]}
""")
    sweep = load_sweep(path)
    assert sweep.name == "lenet_lr"
    assert sweep.fixed == {"dataset": "digits", "model": "lenet", "epochs": 1, "wandb_project": "digits-sweeps"}
    assert [r.name for r in sweep.runs] == ["sgd-lr0.1", "sgd-lr0.01", "adam-lr0.1", "adam-lr0.01"]
    assert capsys.readouterr().err == ("note: program is a W&B agent setting; ignored here "
                                       "(runs execute notebooks/train.ipynb)\n")
    assert main(["run", str(path), "--dry-run", "--reports-dir", str(tmp_path / "reports")]) == 0
    assert "4 runs valid" in capsys.readouterr().out


def test_a_bad_wandb_file_stops_the_runner_with_one_error_line(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("method: bayes\nmetric: {name: val_acc, goal: maximize}\nparameters: {lr: {min: 0.0, max: 1.0}}\n")
    reports = tmp_path / "reports"
    assert main(["run", str(path), "--reports-dir", str(reports)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: run_cap is missing") and err.count("\n") == 1
    assert not reports.exists()
