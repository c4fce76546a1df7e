"""The sweep runner end to end: papermill runs, records, resumption, failures, status and report."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lib.core.records import run_state
from lib.sweep.cli import main
from lib.sweep.executors.base import _failure_message
from lib.sweep.executors.local import visible_gpus, worker_environments
from test_search import Inline

QUICK = "dataset: digits, epochs: 2, batch_size: 64, lr: 0.05"


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def headers(run_dir: Path) -> int:
    """How many times a run was started: run.log gets a header per attempt."""
    return (run_dir / "run.log").read_text().count("\n=== ")


@pytest.mark.slow
def test_a_two_run_sweep_end_to_end(tmp_path, capsys):
    path = write(tmp_path, f"name: two\nfixed: {{{QUICK}}}\ngrid: {{model: [mlp, lenet]}}\n")
    reports = tmp_path / "reports"
    assert main(["run", str(path), "--workers", "2", "--reports-dir", str(reports)]) == 0
    root = reports / "two"
    plan = json.loads((root / "sweep.json").read_text())
    assert [r["name"] for r in plan["runs"]] == ["mlp", "lenet"] and plan["varying"] == ["model"]
    for name in ("mlp", "lenet"):
        run_dir = root / "runs" / name
        for record in ("train.ipynb", "config.json", "history.csv", "metrics.json", "run.log", "params.yaml"):
            assert (run_dir / record).is_file(), record
        config = json.loads((run_dir / "config.json").read_text())
        assert config["model"] == name and config["wandb_group"] == "two" and config["out_dir"] == str(run_dir)
        assert json.loads((run_dir / "metrics.json").read_text())["status"] == "completed"
        assert not (run_dir / "train.partial.ipynb").exists()
    html = (root / "report.html").read_text()
    assert "mlp" in html and "lenet" in html and "Leaderboard" in html
    assert "load_report(" not in html and "import " not in html  # code inputs are hidden

    capsys.readouterr()
    assert main(["run", str(path), "--reports-dir", str(reports)]) == 0
    assert "2 runs, 0 to execute" in capsys.readouterr().out
    assert headers(root / "runs" / "mlp") == 1 and headers(root / "runs" / "lenet") == 1

    assert main(["status", str(path), "--reports-dir", str(reports)]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["run", "status", "model", "epochs", "run", "val", "acc*", "test", "acc", "training", "time"]
    assert "2 runs: 2 completed" in table


@pytest.mark.slow
def test_a_failed_run_is_recorded_the_sweep_goes_on_and_retry_reruns_only_it(tmp_path, capsys):
    path = write(tmp_path, f"""name: mixed
fixed: {{{QUICK}, model: mlp}}
runs:
  - {{name: good}}
  - {{name: broken, dataset: mnist}}
""")
    reports = tmp_path / "reports"
    assert main(["run", str(path), "--reports-dir", str(reports)]) == 1
    err = capsys.readouterr().err
    assert "1 run(s) failed: broken" in err
    root = reports / "mixed"
    failure = json.loads((root / "runs" / "broken" / "failure.json").read_text())
    assert "dataset 'mnist' not found under" in failure["error"]
    assert (root / "runs" / "broken" / "train.ipynb").is_file()  # the executed notebook shows the error
    assert json.loads((root / "runs" / "good" / "metrics.json").read_text())["status"] == "completed"
    assert "broken" in (root / "report.html").read_text()

    assert main(["run", str(path), "--reports-dir", str(reports), "--no-report"]) == 1  # still failed, not rerun
    assert headers(root / "runs" / "broken") == 1
    assert main(["run", str(path), "--reports-dir", str(reports), "--no-report", "--retry-failed"]) == 1
    assert headers(root / "runs" / "broken") == 2 and headers(root / "runs" / "good") == 1
    capsys.readouterr()
    main(["status", str(path), "--reports-dir", str(reports)])
    assert "1 completed, 1 failed" in capsys.readouterr().out


@pytest.mark.slow
def test_after_a_sigkill_the_sweep_resumes_where_it_stopped(tmp_path):
    path = write(tmp_path, """name: killed
fixed: {dataset: digits, model: lenet, batch_size: 16, lr: 0.02}
runs:
  - {name: short, epochs: 2}
  - {name: long, epochs: 30}
""")
    reports = tmp_path / "reports"
    command = [sys.executable, "-m", "lib.sweep", "run", str(path), "--reports-dir", str(reports), "--no-report"]
    sweep = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    long_history = reports / "killed" / "runs" / "long" / "history.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if long_history.is_file() and len(long_history.read_text().splitlines()) >= 4:  # header + 3 epochs
            break
        time.sleep(0.2)
    else:
        sweep.kill()
        pytest.fail("the long run never got to epoch 3")
    os.kill(sweep.pid, signal.SIGKILL)
    sweep.wait()
    root = reports / "killed"
    assert not (root / "runs" / "long" / "metrics.json").exists()

    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "2 runs, 1 to execute" in result.stdout
    assert headers(root / "runs" / "short") == 1
    metrics = json.loads((root / "runs" / "long" / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["epochs_run"] == 30
    assert len(metrics["resumed_after_epochs"]) == 1 and metrics["resumed_after_epochs"][0] >= 3


def test_workers_get_their_own_gpu_and_a_share_of_the_cpu():
    assert worker_environments(4, gpus=["2", "3"], cpus=8) == [
        {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "CUDA_VISIBLE_DEVICES": g} for g in ("2", "3", "2", "3")]
    assert worker_environments(3, gpus=[], cpus=2) == [{"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}] * 3


def test_only_the_gpus_this_process_may_use_are_handed_out(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    assert visible_gpus() == ["4", "6"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus() == []


def test_the_failure_message_is_the_exception_of_the_last_attempt(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("\n=== first attempt ===\nValueError: old\n"
                   "\n=== second attempt ===\nExecuting cell 3\n"
                   "papermill.exceptions.PapermillExecutionError: \n"
                   "DatasetError: dataset 'mnist' not found under data/MNIST/raw\nmore output\n")
    assert _failure_message(log, 1) == "DatasetError: dataset 'mnist' not found under data/MNIST/raw"
    log.write_text("\n=== only ===\nnothing useful\n")
    assert _failure_message(log, -9) == "killed by signal 9"


def test_existing_records_made_with_other_settings_are_never_mixed_in(tmp_path, capsys):
    path = write(tmp_path, f"name: changed\nfixed: {{{QUICK}, model: mlp}}\n")
    reports = tmp_path / "reports"
    run_dir = reports / "changed" / "runs" / "changed"
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"dataset": "digits", "model": "mlp", "lr": 0.5}))
    assert main(["run", str(path), "--dry-run", "--reports-dir", str(reports)]) == 2
    err = capsys.readouterr().err
    assert "holds a run made with other settings" in err and "lr 0.5 -> 0.05" in err


def test_nothing_starts_once_the_user_has_stopped_the_sweep(tmp_path, monkeypatch):
    from lib.sweep.executors import base as executors

    monkeypatch.setattr(executors, "_STOPPING", threading.Event())
    executors._STOPPING.set()
    task = executors.RunTask("r", {}, str(tmp_path / "r"), str(tmp_path / "r"), "train.ipynb")
    assert executors.execute_run(task).status == "interrupted"
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_ctrl_c_stops_the_sweep_and_its_runs_at_once(tmp_path):
    path = write(tmp_path, """name: stopped
fixed: {dataset: digits, model: lenet, batch_size: 16, epochs: 30}
grid: {lr: [0.01, 0.02, 0.03, 0.04]}
""")
    reports = tmp_path / "reports"
    command = [sys.executable, "-m", "lib.sweep", "run", str(path), "--workers", "2", "--reports-dir", str(reports),
               "--no-report"]
    # SIGINT as a terminal gives it, even when the tests run in a background job (which ignores SIGINT)
    sweep = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    history = reports / "stopped" / "runs" / "lr0.01" / "history.csv"
    deadline = time.monotonic() + 120
    while not history.is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    sweep.send_signal(signal.SIGINT)
    stderr = sweep.communicate(timeout=30)[1]
    assert sweep.returncode == 130 and "run the same command again to resume" in stderr
    time.sleep(2)  # kernels notice their parent is gone within a second
    leftovers = subprocess.run(["pgrep", "-f", str(reports)], capture_output=True, text=True).stdout.split()
    assert leftovers == []
    states = {run_state(p).status for p in (reports / "stopped" / "runs").iterdir()}
    assert states <= {"pending", "interrupted"}  # no kernel holds a run, none finished or failed


@pytest.mark.parametrize("command", ["run", "status", "report", "next"])
def test_a_reports_dir_that_is_a_file_is_refused_in_one_line_by_every_command(tmp_path, capsys, command):
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: s\nfixed: {dataset: digits}\ngrid: {lr: [0.1, 0.01]}\n")
    (tmp_path / "afile").write_text("kept")
    assert main([command, str(sweep), "--reports-dir", str(tmp_path / "afile")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --reports-dir {tmp_path / 'afile'} is a file, not a folder; give the folder sweep " \
                  f"folders go in (made if missing)\n"
    assert (tmp_path / "afile").read_text() == "kept"


def test_report_warns_on_the_command_line_about_a_damaged_sweep_json_and_leaves_it(tmp_path, capsys, no_report):
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: s\nfixed: {dataset: digits}\ngrid: {lr: [0.1, 0.01]}\n")
    record = tmp_path / "reports" / "s" / "sweep.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"name": ')
    assert main(["report", str(sweep), "--reports-dir", str(tmp_path / "reports")]) == 0
    err = capsys.readouterr().err
    assert f"warning: {record} cannot be read" in err and "running the sweep again rewrites sweep.json" in err
    assert no_report == [([record.parent], record.parent)] and record.read_text() == '{"name": '


class NotebookHere:
    """A runner that does in this process what the training notebook does in its kernel: the parameters cell, then
    what papermill injects from the run's params.yaml, then `config_from_namespace(globals())`; it records the
    RunConfig and writes the records a completed run leaves."""

    def __init__(self, built: list):
        self.built = built

    def start(self, output, parameters_file, log):
        import nbformat
        import yaml

        from lib.core.records import write_json
        from lib.run.notebook import TRAIN_NOTEBOOK, config_from_namespace

        cell = next(c for c in nbformat.read(TRAIN_NOTEBOOK, as_version=4).cells
                    if "parameters" in c.metadata.get("tags", []))
        namespace: dict = {}
        exec(cell.source, namespace)
        namespace.update(yaml.safe_load(Path(parameters_file).read_text()))  # papermill's injected cell
        cfg = config_from_namespace(namespace)
        self.built.append(cfg)
        write_json(Path(cfg.out_dir) / "config.json", cfg.to_dict())
        write_json(Path(cfg.out_dir) / "metrics.json", {"status": "completed", "val_acc": 0.5, "test_acc": 0.5})
        return subprocess.Popen([sys.executable, "-c", "pass"])


def test_a_run_config_is_validated_once_in_the_sweep_and_once_in_the_notebook(tmp_path, monkeypatch, capsys):
    import lib.sweep.cli
    from lib.config.runconfig import RunConfig
    from lib.sweep.executors.base import execute_run

    class Here(Inline):
        """test_search's Inline executor, running each task through the real execute_run and the notebook's cells."""

        def __init__(self):
            super().__init__()
            self.tasks, self.built = [], []

        def submit(self, task):
            self.tasks.append(task)
            self.ended.append((task, execute_run(task, runner=NotebookHere(self.built))))

    executor = Here()
    monkeypatch.setattr(lib.sweep.cli, "make_executor", lambda args: executor)
    made = []
    real = RunConfig.from_dict.__func__
    monkeypatch.setattr(RunConfig, "from_dict", classmethod(lambda cls, values: made.append(dict(values))
                                                            or real(cls, values)))
    path = write(tmp_path, "name: once\nfixed: {dataset: digits, epochs: 1, lr: 0.2}\n")
    command = ["run", str(path), "--reports-dir", str(tmp_path / "reports"), "--no-report"]
    assert main(command) == 0
    task, = executor.tasks
    run_dir = tmp_path / "reports" / "once" / "runs" / "once"
    # planning validates the run once (load_sweep); the notebook builds it once, from the dict the task carried
    assert len(made) == 2 and made[1] == task.config
    assert json.loads((run_dir / "config.json").read_text()) == task.config == executor.built[0].to_dict()
    assert task.config["lr"] == 0.2 and task.config["out_dir"] == str(run_dir.resolve())
    assert (run_dir / "params.yaml").read_text().startswith("config:\n")  # papermill's one parameter: the dict
    made.clear()
    assert main(command) == 0  # the record check compares config.json with the planned config: nothing rebuilt
    assert len(made) == 1 and len(executor.tasks) == 1
    capsys.readouterr()
