"""Damaged checkpoints and leftovers of killed writers: a resume recovers, says so, and never loops."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib.core.records import load_checkpoint, load_history
from lib.run.loop import run
from lib.config.runconfig import RunConfig

TIMING = {"epoch_s", "images_per_s", "wall_time_s", "resumed_after_epochs"}
NOTES = {"recovered_from", "recovery", "restarted", "tested_on"}
REPO = Path(__file__).resolve().parents[2]


def quick(tmp_path, **overrides) -> RunConfig:
    values = {"dataset": "digits", "model": "mlp", "epochs": 3, "batch_size": 64, "progress": False,
              "out_dir": str(tmp_path / "run"), **overrides}
    return RunConfig.from_dict(values)


def without(keys, row):
    return {k: v for k, v in row.items() if k not in keys}


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage", ["truncated", "missing"])
def test_a_resume_without_a_readable_last_checkpoint_continues_from_the_previous_one(tmp_path, capsys, damage):
    whole = run(quick(tmp_path))
    checkpoints = tmp_path / "run" / "checkpoints"
    assert load_checkpoint(checkpoints / "last.prev.pt")["epoch"] == 2
    assert not NOTES & set(whole.metrics)
    if damage == "truncated":
        truncate(checkpoints / "last.pt")
    else:
        (checkpoints / "last.pt").unlink()  # killed between replacing last.prev.pt and last.pt
    capsys.readouterr()

    resumed = run(quick(tmp_path, resume=True))

    warning = capsys.readouterr().err
    problem = "checkpoints/last.pt is unreadable" if damage == "truncated" else "checkpoints/last.pt is missing"
    assert "warning:" in warning and problem in warning and "resumed from checkpoints/last.prev.pt" in warning
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["recovered_from"] == "checkpoints/last.prev.pt" and problem in metrics["recovery"]
    assert metrics["resumed_after_epochs"] == [2]
    assert (checkpoints / "last.pt.corrupt").is_file() == (damage == "truncated")
    # Epoch 3 was trained again from epoch 2's checkpoint: on the CPU, exactly as the first time.
    assert [without(TIMING, h) for h in resumed.history] == [without(TIMING, h) for h in whole.history]
    assert without(TIMING | NOTES, resumed.metrics) == without(TIMING, whole.metrics)
    assert [h["epoch"] for h in load_history(tmp_path / "run" / "history.csv")] == [1, 2, 3]
    assert load_checkpoint(checkpoints / "last.pt")["epoch"] == 3


def test_history_follows_the_checkpoint_resumed_not_the_newer_csv(tmp_path, monkeypatch):
    import lib.run.loop as train_module

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the resumed session dies in its first epoch

    run(quick(tmp_path))
    truncate(tmp_path / "run" / "checkpoints" / "last.pt")
    monkeypatch.setattr(train_module, "train_one_epoch", killed)
    with pytest.raises(KeyboardInterrupt):
        run(quick(tmp_path, resume=True))
    assert [h["epoch"] for h in load_history(tmp_path / "run" / "history.csv")] == [1, 2]


def test_a_resume_with_no_readable_checkpoint_starts_over_once(tmp_path, capsys):
    first = run(quick(tmp_path, epochs=2))
    checkpoints = tmp_path / "run" / "checkpoints"
    truncate(checkpoints / "last.pt")
    (checkpoints / "last.prev.pt").write_bytes(b"not a checkpoint")
    capsys.readouterr()

    again = run(quick(tmp_path, epochs=2, resume=True))

    warning = capsys.readouterr().err
    assert "warning:" in warning and "started the run over" in warning
    assert "checkpoints/last.pt is unreadable" in warning and "checkpoints/last.prev.pt is unreadable" in warning
    assert (checkpoints / "last.pt.corrupt").is_file() and (checkpoints / "last.prev.pt.corrupt").is_file()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "started the run over" in metrics["restarted"] and metrics["resumed_after_epochs"] == []
    assert [without(TIMING, h) for h in again.history] == [without(TIMING, h) for h in first.history]

    third = run(quick(tmp_path, epochs=2, resume=True))  # the damaged files are not tried again
    assert "warning:" not in capsys.readouterr().err
    assert third.metrics["resumed_after_epochs"] == [2] and "restarted" in third.metrics


def test_an_unreadable_best_checkpoint_is_reported_and_the_final_weights_tested(tmp_path, capsys):
    first = run(quick(tmp_path))
    checkpoints = tmp_path / "run" / "checkpoints"
    truncate(checkpoints / "best.pt")
    capsys.readouterr()

    again = run(quick(tmp_path, resume=True))  # a finished run: it only tests again

    warning = capsys.readouterr().err
    assert "warning:" in warning and "checkpoints/best.pt is unreadable" in warning
    note = json.loads((tmp_path / "run" / "metrics.json").read_text())["tested_on"]
    assert note.startswith("the final weights (epoch 3)") and "checkpoints/best.pt is unreadable" in note
    assert math.isfinite(again.metrics["test_acc"]) and (checkpoints / "best.pt.corrupt").is_file()
    if first.metrics["best_epoch"] == 3:  # then the final weights are the best ones
        assert again.metrics["test_acc"] == first.metrics["test_acc"]


def test_temporary_files_of_killed_writers_are_removed_when_a_run_starts(tmp_path):
    checkpoints = tmp_path / "run" / "checkpoints"
    checkpoints.mkdir(parents=True)
    # A writer killed between writing its temporary file and renaming it over last.pt.
    killed = subprocess.Popen(
        [sys.executable, "-c", "import os, signal\nfrom lib.core import records\n"
         "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
         f"records.atomic_write_bytes({str(checkpoints / 'last.pt')!r}, b'half a checkpoint')"], cwd=REPO)
    assert killed.wait() == -9
    stale = checkpoints / f".last.pt.{killed.pid}.tmp"
    assert stale.is_file()
    (tmp_path / "run" / f".metrics.json.{killed.pid}.tmp").write_text("{")
    live = tmp_path / "run" / f".history.csv.{os.getppid()}.tmp"  # its writer is still running
    live.write_text("epoch")

    run(quick(tmp_path, epochs=1))

    assert not stale.exists() and not (tmp_path / "run" / f".metrics.json.{killed.pid}.tmp").exists()
    assert live.is_file()
