"""Cluster executors: a real local Ray cluster on loopback, and SLURM through submitit's local executor.

Needs the [cluster] extra (ray, submitit), which `make setup` installs; without it these tests skip.
"""

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from lib.sweep.cli import main

ray = pytest.importorskip("ray", reason="the [cluster] extra is not installed: pip install -e '.[cluster]'")
submitit = pytest.importorskip("submitit", reason="the [cluster] extra is not installed: pip install -e '.[cluster]'")

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

TWO_RUNS = """name: {name}
fixed: {{dataset: digits, model: mlp, epochs: 2, batch_size: 64}}
grid: {{lr: [0.05, 0.1]}}
"""


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def statuses(root: Path) -> dict[str, str]:
    return {p.name: json.loads((p / "metrics.json").read_text())["status"] if (p / "metrics.json").is_file()
            else "missing" for p in sorted((root / "runs").iterdir())}


@pytest.fixture(scope="module")
def local_ray():
    """One real Ray cluster on loopback for the module (starting one takes several seconds)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    yield
    ray.shutdown()


def test_ray_runs_a_sweep_with_the_same_records_as_the_local_executor(tmp_path, local_ray, capsys):
    path = write(tmp_path, TWO_RUNS.format(name="both"))
    ray_reports, local_reports = tmp_path / "ray", tmp_path / "local"
    assert main(["run", str(path), "--executor", "ray", "--workers", "2", "--reports-dir", str(ray_reports),
                 "--no-report"]) == 0
    assert main(["run", str(path), "--workers", "2", "--reports-dir", str(local_reports), "--no-report"]) == 0
    ray_root, local_root = ray_reports / "both", local_reports / "both"
    assert statuses(ray_root) == statuses(local_root) == {"lr0.05": "completed", "lr0.1": "completed"}
    for name in ("lr0.05", "lr0.1"):
        run_dir = ray_root / "runs" / name
        for record in ("train.ipynb", "config.json", "history.csv", "metrics.json", "run.log"):
            assert (run_dir / record).is_file(), record
        assert not (run_dir / "checkpoints").exists()  # checkpoints stay in storage
        assert (ray_reports / ".storage" / "both" / name / "checkpoints" / "last.pt").is_file()
    capsys.readouterr()
    main(["status", str(path), "--reports-dir", str(ray_reports)])
    ray_table = capsys.readouterr().out
    main(["status", str(path), "--reports-dir", str(local_reports)])
    local_table = capsys.readouterr().out
    column = lambda table: [line.split()[:3] for line in table.splitlines()[2:]  # run, status, epochs
                            if not line.startswith("records: ")]  # each names its own folder
    assert column(ray_table) == column(local_table)


def test_a_killed_ray_worker_is_retried_and_the_retry_resumes(tmp_path, local_ray):
    path = write(tmp_path, """name: retried
fixed: {dataset: digits, model: lenet, batch_size: 16, lr: 0.02, epochs: 25}
""")
    reports = tmp_path / "reports"
    work = reports / ".storage" / "retried" / "retried"
    killed = {}

    def kill_the_worker_after_epoch_3():
        deadline = time.monotonic() + 180
        history = work / "history.csv"
        while time.monotonic() < deadline:
            if history.is_file() and len(history.read_text().splitlines()) >= 4:
                pid = int((work / "worker.pid").read_text())
                os.kill(pid, signal.SIGKILL)
                killed["pid"] = pid
                return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_the_worker_after_epoch_3)
    killer.start()
    code = main(["run", str(path), "--executor", "ray", "--reports-dir", str(reports), "--no-report",
                 "--max-retries", "2"])
    killer.join()
    assert killed, "the run finished before the worker could be killed"
    assert code == 0
    metrics = json.loads((reports / "retried" / "runs" / "retried" / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["epochs_run"] == 25
    assert len(metrics["resumed_after_epochs"]) == 1 and metrics["resumed_after_epochs"][0] >= 3
    assert int((work / "worker.pid").read_text()) != killed["pid"]


def test_slurm_executor_through_submitit_local(tmp_path):
    path = write(tmp_path, TWO_RUNS.format(name="slurm"))
    reports = tmp_path / "reports"
    assert main(["run", str(path), "--executor", "slurm", "--slurm-local", "--workers", "2", "--time-limit", "10",
                 "--reports-dir", str(reports), "--no-report"]) == 0
    assert statuses(reports / "slurm") == {"lr0.05": "completed", "lr0.1": "completed"}
    assert (reports / "slurm" / "runs" / "lr0.1" / "train.ipynb").is_file()
    assert any((reports / ".storage" / "submitit").iterdir())


def test_slurm_without_sbatch_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    path = write(tmp_path, TWO_RUNS.format(name="nosbatch"))
    assert main(["run", str(path), "--executor", "slurm", "--reports-dir", str(tmp_path / "r")]) == 2
    assert "found no sbatch on PATH" in capsys.readouterr().err


def test_ray_runs_report_to_the_study_and_stop_when_pruned(tmp_path, local_ray):
    from optuna.trial import TrialState
    from test_search import study_of

    path = write(tmp_path, """name: pruned
fixed: {dataset: digits, model: mlp, epochs: 3, batch_size: 64, optimizer: sgd}
grid: {lr: [0.1, 0.00001]}
early_terminate: {type: asha, min_epochs: 1, reduction_factor: 2}
""")
    reports = tmp_path / "reports"
    assert main(["run", str(path), "--executor", "ray", "--reports-dir", str(reports), "--no-report"]) == 0
    root = reports / "pruned"
    assert statuses(root) == {"lr0.1": "completed", "lr1e-5": "pruned"}
    trials = {t.user_attrs["run"]: t for t in study_of(root, "pruned").trials}
    assert trials["lr0.1"].state == TrialState.COMPLETE and trials["lr1e-5"].state == TrialState.PRUNED
    assert list(trials["lr1e-5"].intermediate_values) == [1]  # reported from the Ray worker, then stopped
