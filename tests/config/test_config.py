"""RunConfig validation and the `python -m lib.train` command line."""

import math
import re
import subprocess
import sys
import time

import pytest
import yaml

from lib.run.cli import config_from_argv, load_config_file
from lib.config.runconfig import CHOICES, FIELD_TYPES, RunConfig, field_comments, parse_text
from lib.config.errors import ConfigError


def test_defaults_are_valid_and_flat():
    cfg = RunConfig.from_dict({})
    assert cfg == RunConfig()
    assert all(not isinstance(v, (dict, list)) for v in cfg.to_dict().values())


def test_covers_every_parameter_the_report_needs():
    needed = {"dataset", "data_dir", "download", "val_fraction", "subset", "model", "pretrained", "input_size",
              "epochs", "batch_size", "optimizer", "lr", "weight_decay", "momentum", "nesterov", "scheduler",
              "step_size", "gamma", "plateau_patience", "plateau_factor", "t_max", "early_stopping", "patience",
              "min_delta", "augment", "mix", "mix_alpha", "label_smoothing", "cache", "amp", "channels_last",
              "num_workers", "pin_memory", "seed", "device", "resume", "wandb_mode", "wandb_project", "out_dir",
              "compile"}
    assert needed <= set(FIELD_TYPES)


def test_unknown_key_suggests_the_close_match_and_lists_valid_keys():
    with pytest.raises(ConfigError, match=r"unknown key 'modle' \(did you mean 'model'\?\); valid: dataset"):
        RunConfig.from_dict({"modle": "lenet"})


@pytest.mark.parametrize("key, value, expected", [
    ("epochs", "3", "epochs must be an int, got str '3'"),
    ("epochs", 2.5, "epochs must be an int"),
    ("lr", "fast", "lr must be a number"),
    ("mix", 1, "mix must be a bool"),
    ("model", None, "model must be a string, got None"),
    ("batch_size", True, "batch_size must be an int, got bool"),
])
def test_wrong_types_are_rejected(key, value, expected):
    with pytest.raises(ConfigError, match=expected):
        RunConfig.from_dict({key: value})


@pytest.mark.parametrize("key, value", [("model", "resnet19"), ("dataset", "imagenet"), ("optimizer", "lbfgs"),
                                        ("scheduler", "onecycle"), ("wandb_mode", "sometimes")])
def test_unknown_choices_list_the_valid_ones(key, value):
    with pytest.raises(ConfigError, match=f"{key} '{value}' is not one of: "):
        RunConfig.from_dict({key: value})


@pytest.mark.parametrize("key, value", [
    ("lr", 0.0), ("lr", -1.0), ("lr", math.nan), ("epochs", 0), ("batch_size", 0), ("val_fraction", 1.0),
    ("val_fraction", -0.1), ("patience", -1), ("min_delta", -0.1), ("momentum", 1.0), ("weight_decay", -1e-4),
    ("gamma", 0.0), ("plateau_factor", 1.0), ("t_max", 0), ("subset", 1), ("mix_alpha", 0.0), ("rotation", 200.0),
    ("seed", -1), ("num_workers", -1), ("label_smoothing", 1.0),
])
def test_impossible_values_name_the_value_and_the_range(key, value):
    with pytest.raises(ConfigError, match=f"{key} .* (out of range|not a finite number)"):
        RunConfig.from_dict({key: value})


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        RunConfig.from_dict({"lr": -1.0, "epochs": 0})
    assert "lr" in str(info.value) and "epochs" in str(info.value) and "\n" not in str(info.value)


def test_combinations():
    with pytest.raises(ConfigError, match="nesterov needs momentum > 0"):
        RunConfig.from_dict({"nesterov": True, "momentum": 0.0})
    with pytest.raises(ConfigError, match="pretrained weights exist only for model resnet18_imagenet"):
        RunConfig.from_dict({"pretrained": True, "model": "lenet"})
    with pytest.raises(ConfigError, match="device 'gpu'"):
        RunConfig.from_dict({"device": "gpu"})
    RunConfig.from_dict({"nesterov": True, "optimizer": "adam", "momentum": 0.0})  # nesterov is SGD's only


def test_whole_numbers_for_float_fields_are_stored_as_floats():
    cfg = RunConfig.from_dict({"lr": 1, "t_max": None})
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float)


def test_parse_text():
    assert parse_text("mix", "true") is True and parse_text("mix", "False") is False
    assert parse_text("t_max", "none") is None and parse_text("lr", "1e-4") == 1e-4
    with pytest.raises(ConfigError, match="epochs must be an int, got 'ten'"):
        parse_text("epochs", "ten")


def test_command_line_flags_and_config_files(tmp_path):
    cfg = config_from_argv(["--model", "mlp", "--mix", "true", "--t-max", "none", "--lr", "0.1"])
    assert (cfg.model, cfg.mix, cfg.t_max, cfg.lr) == ("mlp", True, None, 0.1)
    flat = tmp_path / "flat.yaml"
    flat.write_text("model: mlp\nepochs: 4\nlr: 1e-4\n")
    cfg = config_from_argv(["--config", str(flat), "--epochs", "2"])
    assert (cfg.epochs, cfg.lr) == (2, 0.0001)  # flags win over the file; 1e-4 is a number
    given = tmp_path / "params.yaml"  # what a sweep run's notebook was given: its whole config as one parameter
    swept = {**RunConfig(model="mlp", lr=0.2).to_dict(), "out_dir": "/sweep/runs/a", "resume": True, "run_name": "a",
             "wandb_group": "sweep"}
    given.write_text(yaml.safe_dump({"config": swept}))
    cfg = config_from_argv(["--config", str(given), "--out-dir", str(tmp_path / "again")])
    assert (cfg.model, cfg.lr, cfg.out_dir) == ("mlp", 0.2, str(tmp_path / "again"))
    alone = RunConfig()  # the runner's keys stay behind: not the sweep's folder, resume, name or W&B group
    assert (cfg.resume, cfg.run_name, cfg.wandb_group) == (alone.resume, alone.run_name, alone.wandb_group)
    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text("name: x\nfixed: {model: mlp}\ngrids: {lr: [0.1]}\n")
    with pytest.raises(ConfigError, match=r"unknown top-level key 'grids' \(did you mean 'grid'\?\)"):
        load_config_file(misspelt)
    one_run = tmp_path / "one.yaml"
    one_run.write_text("name: one\nfixed: {model: lenet, lr: 1e-3}\n")
    assert load_config_file(one_run) == {"model": "lenet", "lr": 0.001}
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("name: two\ngrid: {lr: [0.1, 0.01]}\n")
    with pytest.raises(ConfigError, match="is a sweep of 2 runs"):
        load_config_file(sweep)
    with pytest.raises(ConfigError, match="did you mean 'model'"):
        config_from_argv(["--modle", "mlp"])
    with pytest.raises(ConfigError, match="write it as --t-max"):
        config_from_argv(["--t_max", "3"])


def test_every_field_has_help_text():
    helps = field_comments()
    assert [f for f in FIELD_TYPES if not helps.get(f)] == []


@pytest.mark.parametrize("flags, message", [
    (["--model", "resnet19"], "model 'resnet19' is not one of: mlp, lenet, resnet18, preact_resnet18, resnet18_imagenet"),
    (["--lr", "-1"], "lr -1.0 is out of range: expected > 0"),
])
def test_bad_flags_fail_fast_with_one_line_and_no_traceback(flags, message):
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "lib.train", *flags], capture_output=True, text=True)
    elapsed = time.monotonic() - start
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {message}"
    assert "Traceback" not in result.stderr
    assert elapsed < 5


def test_help_lists_the_values_of_every_field_with_a_fixed_list():
    result = subprocess.run([sys.executable, "-m", "lib.train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    entries = {entry.split()[0]: " ".join(entry.split()) for entry in re.split(r"\n  (?=--)", result.stdout)[1:]}
    for name, choices in CHOICES.items():
        entry = entries[f"--{name.replace('_', '-')}"]
        assert all(re.search(rf"\b{re.escape(choice)}\b", entry) for choice in choices), entry
    assert not re.search(r"one of [A-Z_]{4,}", result.stdout)  # 'one of DATASETS' named a constant
    assert "one of digits, mnist, fashion_mnist, cifar10, cifar100, imagefolder (default: digits)" in entries["--dataset"]


def test_a_config_file_that_extends_another_keeps_the_others_fixed_settings(tmp_path):
    (tmp_path / "base.yaml").write_text("name: base\nfixed: {dataset: fashion_mnist, model: mlp, epochs: 6}\n")
    child = tmp_path / "short.yaml"
    child.write_text("extends: base.yaml\nfixed: {epochs: 2}\n")
    assert load_config_file(child) == {"dataset": "fashion_mnist", "model": "mlp", "epochs": 2}
