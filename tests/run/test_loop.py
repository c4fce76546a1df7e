"""Training: optimizers and schedulers, a real short run, resume equivalence, divergence, records."""

import importlib.util
import json
import math
import os
import shlex
import signal
import subprocess
import sys
import types
import warnings

import pytest
import torch

import lib.run.loop as train_module
from lib.core.records import RunLockedError, load_checkpoint, load_history, run_lock
from lib.run.checkpoints import EarlierRunError
from lib.run.cli import config_from_argv, main
from lib.run.state import (OPTIMIZER_BUILDERS, SCHEDULER_BUILDERS, EarlyStopping, RunError, build_optimizer,
                           build_scheduler, step_scheduler)
from lib.run.loop import run
from lib.config import runconfig
from lib.config.runconfig import RunConfig

TIMING = {"epoch_s", "images_per_s", "wall_time_s", "resumed_after_epochs"}


def quick(tmp_path, **overrides) -> RunConfig:
    values = {"dataset": "digits", "model": "mlp", "epochs": 3, "batch_size": 64, "progress": False,
              "out_dir": str(tmp_path / "run"), **overrides}
    return RunConfig.from_dict(values)


def without_timing(rows):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in rows]


def test_the_optimizer_and_scheduler_registries_hold_exactly_the_names_runconfig_accepts():
    assert tuple(OPTIMIZER_BUILDERS) == runconfig.OPTIMIZERS
    assert tuple(SCHEDULER_BUILDERS) == runconfig.SCHEDULERS


def test_an_unknown_optimizer_or_scheduler_names_the_valid_ones():
    model = torch.nn.Linear(4, 2)
    with pytest.raises(ValueError, match="'lamb' is not one of: " + ", ".join(runconfig.OPTIMIZERS)):
        build_optimizer("lamb", model.parameters(), lr=0.1, weight_decay=0, momentum=0, nesterov=False)
    opt = build_optimizer("sgd", model.parameters(), lr=0.1, weight_decay=0, momentum=0, nesterov=False)
    with pytest.raises(ValueError, match="'cyclic' is not one of: " + ", ".join(runconfig.SCHEDULERS)):
        build_scheduler("cyclic", opt, epochs=4, step_size=1, gamma=0.5, plateau_patience=0, plateau_factor=0.5,
                        t_max=None)


@pytest.mark.parametrize("optimizer", runconfig.OPTIMIZERS)
@pytest.mark.parametrize("scheduler", runconfig.SCHEDULERS)
def test_every_optimizer_and_scheduler_builds_and_steps(optimizer, scheduler):
    model = torch.nn.Linear(4, 2)
    opt = build_optimizer(optimizer, model.parameters(), lr=0.1, weight_decay=1e-4, momentum=0.9, nesterov=True)
    sched = build_scheduler(scheduler, opt, epochs=4, step_size=1, gamma=0.5, plateau_patience=0,
                            plateau_factor=0.5, t_max=None)
    before = model.weight.detach().clone()
    for val_loss in (1.0, 2.0, 3.0):
        model(torch.randn(8, 4)).sum().backward()
        opt.step()
        opt.zero_grad()
        step_scheduler(sched, val_loss)
    assert not torch.equal(before, model.weight)
    if scheduler != "none":  # every schedule has lowered the rate by now
        assert opt.param_groups[0]["lr"] < 0.1


def test_early_stopping_counts_epochs_without_a_large_enough_improvement():
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    assert [stopper.update(v) for v in (1.0, 0.95, 0.5, 0.45, 0.44)] == [False, False, False, False, True]
    assert EarlyStopping(patience=0).update(1.0) is False


def test_a_short_run_learns_and_writes_every_record(tmp_path):
    result = run(quick(tmp_path, model="lenet", epochs=8, augment=True, flip=False, crop_padding=1, rotation=10.0))
    out = tmp_path / "run"
    assert result.metrics["status"] == "completed" and result.metrics["epochs_run"] == 8
    assert result.metrics["test_acc"] > 0.8  # chance is 0.1
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("status", "best_epoch", "epochs_run", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss",
                "test_acc", "wall_time_s"):
        assert key in metrics
    assert json.loads((out / "config.json").read_text())["model"] == "lenet"
    history = load_history(out / "history.csv")
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert set(history[0]) >= {"train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_s", "images_per_s",
                               "train_acc_measure"}
    best = load_checkpoint(out / "checkpoints" / "best.pt")
    assert best["epoch"] == metrics["best_epoch"] and best["config"]["model"] == "lenet"
    assert set(best) >= {"model", "optimizer", "scheduler", "scaler", "epoch", "history", "config"}
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_the_same_seed_gives_the_same_history(tmp_path):
    a = run(quick(tmp_path / "a", augment=True, mix=True))
    b = run(quick(tmp_path / "b", augment=True, mix=True))
    c = run(quick(tmp_path / "c", augment=True, mix=True, seed=1))
    assert without_timing(a.history) == without_timing(b.history)
    assert without_timing(a.history) != without_timing(c.history)


def test_mixing_measures_train_accuracy_on_the_dominant_label(tmp_path):
    result = run(quick(tmp_path, mix=True))
    assert {h["train_acc_measure"] for h in result.history} == {"dominant_label"}
    assert result.metrics["train_acc_measure"] == "dominant_label"


def test_a_resumed_run_ends_exactly_like_an_uninterrupted_one(tmp_path, monkeypatch):
    settings = dict(model="lenet", epochs=4, augment=True, mix=True, scheduler="cosine", nesterov=True,
                    early_stopping=True, patience=5)
    whole = run(quick(tmp_path / "whole", **settings))

    real_epoch = train_module.train_one_epoch
    calls = {"n": 0}

    def crash_on_third_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process dies after epoch 2 was saved
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_one_epoch", crash_on_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        run(quick(tmp_path / "split", **settings))
    monkeypatch.setattr(train_module, "train_one_epoch", real_epoch)
    assert not (tmp_path / "split" / "run" / "metrics.json").exists()
    resumed = run(quick(tmp_path / "split", resume=True, **settings))

    assert resumed.metrics["resumed_after_epochs"] == [2]
    assert without_timing(resumed.history) == without_timing(whole.history)
    assert {k: v for k, v in resumed.metrics.items() if k not in TIMING} == \
           {k: v for k, v in whole.metrics.items() if k not in TIMING}


def test_resuming_with_another_config_is_refused(tmp_path):
    run(quick(tmp_path, epochs=1))
    with pytest.raises(RunError, match=r"cannot resume .*\(lr 0.05 -> 0.1\)"):
        run(quick(tmp_path, epochs=1, lr=0.1, resume=True))


def test_resuming_a_finished_run_trains_no_more(tmp_path):
    first = run(quick(tmp_path, epochs=2))
    again = run(quick(tmp_path, epochs=2, resume=True))
    assert without_timing(again.history) == without_timing(first.history)
    assert again.metrics["test_acc"] == first.metrics["test_acc"]


def records(folder):
    """Every file under a run folder, with its bytes (the lock aside: each run takes it anew)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def test_a_run_that_does_not_resume_never_deletes_an_earlier_runs_records(tmp_path):
    run(quick(tmp_path, epochs=2))
    out = tmp_path / "run"
    before = records(out)
    with pytest.raises(EarlierRunError) as error:
        run(quick(tmp_path, epochs=2, lr=0.1))
    message = str(error.value)
    assert "\n" not in message and str(out) in message and "resume: true" in message and "new out_dir" in message
    assert "metrics.json" in message and "checkpoints/best.pt" in message
    assert records(out) == before  # config.json too: nothing rewritten


def test_the_notebooks_run_sets_an_earlier_run_aside_instead(tmp_path, capsys):
    first = run(quick(tmp_path, epochs=2))
    out = tmp_path / "run"
    before = records(out)
    second = run(quick(tmp_path, epochs=1, lr=0.1), earlier_run="set_aside")
    [aside] = (out / "earlier").iterdir()
    assert "note: moved the records of the earlier run" in capsys.readouterr().err
    assert records(aside) == before
    assert json.loads((aside / "config.json").read_text())["lr"] == 0.05
    assert second.metrics["epochs_run"] == 1 and [h["epoch"] for h in load_history(out / "history.csv")] == [1]
    assert load_checkpoint(aside / "checkpoints" / "last.pt")["epoch"] == first.metrics["epochs_run"] == 2


def test_the_train_command_refuses_an_earlier_runs_folder_and_names_both_ways_on(tmp_path, capsys):
    flags = ["--epochs", "1", "--model", "mlp", "--progress", "false", "--out-dir", str(tmp_path / "cli")]
    assert main(flags) == 0
    before = records(tmp_path / "cli")
    capsys.readouterr()
    assert main([*flags, "--lr", "0.1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {tmp_path / 'cli'} holds the records of an earlier run")
    assert "--resume true" in err and "a new --out-dir" in err and "nothing was deleted" in err
    assert records(tmp_path / "cli") == before
    assert main([*flags, "--resume", "true"]) == 0  # the first way on: the finished run is only tested again


def test_the_train_command_gives_one_line_for_an_out_dir_it_cannot_use(tmp_path, capsys):
    (tmp_path / "afile").write_text("kept")
    flags = ["--epochs", "1", "--model", "mlp", "--progress", "false", "--out-dir"]
    assert main([*flags, str(tmp_path / "afile")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --out-dir {tmp_path / 'afile'} is a file, not a folder; give the folder this run's " \
                  f"records go in\n"
    assert main([*flags, str(tmp_path / "afile" / "run")]) == 1  # an OSError while writing: one line, no traceback
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: Not a directory") and "run the same command" in err
    assert (tmp_path / "afile").read_text() == "kept"

@pytest.mark.slow
def test_ctrl_c_of_the_train_command_says_where_it_stopped_and_how_to_resume(tmp_path):
    out = tmp_path / "run"
    flags = ["--model", "mlp", "--epochs", "500", "--progress", "false", "--out-dir", str(out)]
    process = subprocess.Popen([sys.executable, "-m", "lib.train", *flags], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in process.stdout:
        if line.startswith("epoch   2/"):
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    saved = load_checkpoint(out / "checkpoints" / "last.pt")["epoch"]
    assert lines[0].startswith(f"stopped after epoch {saved} of 500 (saved in {out / 'checkpoints' / 'last.pt'})")
    command = lines[0].split("resume with: ", 1)[1]
    assert command.startswith("python -m lib.train ") and command.endswith(" --resume true")
    resumed = config_from_argv(shlex.split(command)[3:])
    assert resumed.resume and resumed.out_dir == str(out) and resumed.epochs == 500


def test_the_per_batch_bar_is_left_out_where_it_cannot_draw_in_place(monkeypatch):
    batches = [1, 2, 3]
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))  # as in a notebook's kernel
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ipywidgets" else real_find_spec(name, *a))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tqdm's 'IProgress not found' would fail here
        assert train_module._progress(batches, 3, True, "epoch 1/1") is batches
    monkeypatch.delitem(sys.modules, "ipykernel")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)  # a log file
    assert train_module._progress(batches, 3, True, "epoch 1/1") is batches
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)  # a terminal gets its bar
    assert list(train_module._progress(batches, 3, True, "epoch 1/1")) == batches
    assert train_module._progress(batches, 3, True, "epoch 1/1") is not batches


def test_divergence_is_a_result_not_an_exception(tmp_path):
    result = run(quick(tmp_path, lr=1e12, weight_decay=0.0, epochs=5))
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert result.metrics["status"] == metrics["status"] == "diverged"
    assert metrics["epochs_run"] < 5
    history = load_history(tmp_path / "run" / "history.csv")
    assert not math.isfinite(history[-1]["train_loss"]) or not math.isfinite(history[-1]["val_loss"])


def test_early_stopping_ends_the_run_with_its_status(tmp_path):
    result = run(quick(tmp_path, epochs=10, early_stopping=True, patience=1, min_delta=100.0))
    assert result.metrics["status"] == "early_stopped"
    assert result.metrics["epochs_run"] == 2 and result.metrics["best_epoch"] in (1, 2)


def test_validating_on_the_test_set_is_stated(tmp_path):
    result = run(quick(tmp_path, val_fraction=0.0, epochs=1))
    assert result.metrics["val_is_test"] is True
    assert result.metrics["n_val"] == result.metrics["n_test"]


def test_the_dataloader_path_trains_too(tmp_path):
    result = run(quick(tmp_path, cache=False, num_workers=0, augment=True, crop_padding=1, rotation=10.0, epochs=2))
    assert result.metrics["status"] == "completed" and result.metrics["test_acc"] > 0.3


def test_a_run_directory_is_locked_while_it_runs(tmp_path):
    with run_lock(tmp_path):
        with pytest.raises(RunLockedError, match="in use by another running process"):
            with run_lock(tmp_path, wait_s=0.2):
                pass
    with run_lock(tmp_path, wait_s=0.2):
        pass


def test_command_line_run(tmp_path, capsys):
    assert main(["--epochs", "1", "--model", "mlp", "--progress", "false", "--out-dir", str(tmp_path / "cli")]) == 0
    assert (tmp_path / "cli" / "metrics.json").is_file()
    assert main(["--dataset", "cifar10", "--out-dir", str(tmp_path / "x"), "--progress", "false"]) == 1
    assert "dataset 'cifar10' not found under" in capsys.readouterr().err


@pytest.mark.slow
def test_weights_and_biases_logs_offline_into_the_run_directory(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    result = run(quick(tmp_path, epochs=1, wandb_mode="auto", wandb_group="tests"))
    assert result.metrics["status"] == "completed"
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert runs and any(p.suffix == ".wandb" for p in runs[0].iterdir())
    assert (tmp_path / "run" / "wandb-id").read_text().strip() in runs[0].name


@pytest.mark.gpu
def test_mixed_precision_on_cuda(tmp_path):
    result = run(quick(tmp_path, device="cuda", amp=True, channels_last=True, epochs=2))
    assert result.metrics["precision"] in ("bf16", "fp16") and result.metrics["status"] == "completed"
    assert os.path.isfile(tmp_path / "run" / "checkpoints" / "best.pt")


def test_non_square_images_need_an_input_size(tmp_path):
    from PIL import Image

    for split in ("train", "test"):
        for label in ("a", "b"):
            folder = tmp_path / "images" / split / label
            folder.mkdir(parents=True)
            for i in range(6):
                Image.new("RGB", (12, 8), (40 * i, 0, 0)).save(folder / f"{i}.png")
    settings = dict(dataset="imagefolder", data_dir=str(tmp_path / "images"), epochs=1, val_fraction=0.0)
    with pytest.raises(RunError, match="images are 8x12 but the models take square inputs; set input_size"):
        run(quick(tmp_path, **settings))
    assert run(quick(tmp_path, input_size=12, **settings)).metrics["status"] == "completed"
