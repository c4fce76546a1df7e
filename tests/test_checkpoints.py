"""Damaged checkpoints and leftovers of killed writers: a resume recovers, says so, and never loops."""

import os
import subprocess
import sys
from pathlib import Path

from lib.config import RunConfig
from lib.train import run

REPO = Path(__file__).resolve().parents[1]


def quick(tmp_path, **overrides) -> RunConfig:
    values = {"dataset": "digits", "model": "mlp", "epochs": 3, "batch_size": 64, "progress": False,
              "out_dir": str(tmp_path / "run"), **overrides}
    return RunConfig.from_dict(values)


def test_temporary_files_of_killed_writers_are_removed_when_a_run_starts(tmp_path):
    checkpoints = tmp_path / "run" / "checkpoints"
    checkpoints.mkdir(parents=True)
    # A writer killed between writing its temporary file and renaming it over last.pt.
    killed = subprocess.Popen(
        [sys.executable, "-c", "import os, signal\nfrom lib import records\n"
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
