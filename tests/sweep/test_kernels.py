"""Warm runners (lib.sweep.executors.kernels): a kernel warmed with its slot's environment, fresh for every run, gone with its parent."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from lib.config.sweepfile import RunSpec
from lib.sweep.executors.base import execute_run, run_task
from lib.sweep.executors.kernels import KernelPool, Runner, notebook_imports

ROOT = Path(__file__).resolve().parents[2]

# A stand-in for torch and lib.train: importing it leaves "<kernel pid>" in $WARM_MARKER.
WARM_MODULE = "import os\nwith open(os.environ['WARM_MARKER'], 'a') as f:\n    f.write(f'{os.getpid()}\\n')\n"
PROBE = """import json, os, sys
was_warm = "warmmod" in sys.modules
import warmmod
with open(out, "w") as f:
    json.dump({"omp": os.environ.get("OMP_NUM_THREADS"), "was_warm": was_warm, "pid": os.getpid(),
               "seed_seen": "seed" in globals() and seed}, f)
seed = 99  # state a later run must not see
"""


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """A small notebook that reports its kernel's environment, whether its import was warm, and its pid."""
    (tmp_path / "warmmod.py").write_text(WARM_MODULE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), str(ROOT)]))
    monkeypatch.setenv("WARM_MARKER", str(tmp_path / "warm.txt"))
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    params = nbformat.v4.new_code_cell("out: str = ''  # where the probe writes")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(PROBE)]
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    return path


def _wait_for(path: Path, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text().strip():
            return path.read_text()
        time.sleep(0.1)
    pytest.fail(f"{path} never appeared")


def _run(runner: Runner, tmp_path: Path, name: str) -> dict:
    params = tmp_path / f"{name}.yaml"
    params.write_text(f"out: {tmp_path / (name + '.json')}\n")
    process = runner.start(tmp_path / f"{name}.ipynb", params, tmp_path / f"{name}.log")
    assert process.wait(timeout=120) == 0, (tmp_path / f"{name}.log").read_text()
    return json.loads((tmp_path / f"{name}.json").read_text())


def test_the_warm_up_imports_what_the_notebook_imports(probe):
    assert notebook_imports(nbformat.read(probe, as_version=4)) == ["json", "os", "sys", "warmmod"]


def test_the_pool_hands_out_a_warm_kernel_started_with_the_slots_environment_and_fresh_for_each_run(probe, tmp_path):
    pool = KernelPool()
    try:
        for _ in range(2):
            pool.prepare(str(probe), {"OMP_NUM_THREADS": "3"})
        _wait_for(tmp_path / "warm.txt")
        first = _run(pool.take(str(probe), {"OMP_NUM_THREADS": "3"}), tmp_path, "first")
        second = _run(pool.take(str(probe), {"OMP_NUM_THREADS": "3"}), tmp_path, "second")
        other = _run(pool.take(str(probe), {"OMP_NUM_THREADS": "5"}), tmp_path, "other")  # none prepared: cold
    finally:
        pool.close()
    assert first["omp"] == second["omp"] == "3" and first["was_warm"] and second["was_warm"]
    assert other["omp"] == "5"
    assert len({first["pid"], second["pid"], other["pid"]}) == 3  # a new kernel per run
    assert first["seed_seen"] is False and second["seed_seen"] is False  # nothing carried over
    assert "Executing Cell 2" in (tmp_path / "first.log").read_text()  # papermill's log reaches the run's


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] if Path(f"/proc/{pid}").exists() else "X"
    return state not in ("Z", "X")


def test_killing_the_parent_takes_its_warm_runners_and_kernels_down(probe, tmp_path):
    script = (f"import time\nfrom lib.sweep.executors.kernels import KernelPool\npool = KernelPool()\n"
              f"pool.prepare({str(probe)!r}, {{}})\nrunner = pool.take({str(probe)!r}, {{}})\n"
              f"print(runner.process.pid, flush=True)\ntime.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        runner_pid = int(parent.stdout.readline())
        kernel_pid = int(_wait_for(tmp_path / "warm.txt").split()[0])
        assert _alive(runner_pid) and _alive(kernel_pid)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 5
    while (_alive(runner_pid) or _alive(kernel_pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(runner_pid) and not _alive(kernel_pid)


@pytest.mark.slow
def test_a_run_through_a_warm_kernel_has_the_metrics_of_a_cold_one(tmp_path):
    notebook = str(ROOT / "notebooks" / "train.ipynb")
    params = {"dataset": "digits", "model": "lenet", "epochs": 1, "batch_size": 64}
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    pool = KernelPool()
    try:
        pool.prepare(notebook, env)
        warm = execute_run(run_task(RunSpec("warm", params, "test", sweep="s"), str(tmp_path / "warm"),
                                    str(tmp_path / "warm"), notebook, env=env), runner=pool.take(notebook, env))
    finally:
        pool.close()
    cold = execute_run(run_task(RunSpec("cold", params, "test", sweep="s"), str(tmp_path / "cold"),
                                str(tmp_path / "cold"), notebook, env=env))
    assert warm.status == cold.status == "completed", (warm.error, cold.error)
    timing = ("wall_time_s", "images_per_s")
    assert {k: v for k, v in warm.metrics.items() if k not in timing} == \
        {k: v for k, v in cold.metrics.items() if k not in timing}
    executed = nbformat.read(tmp_path / "warm" / "train.ipynb", as_version=4)
    counts = [c.execution_count for c in executed.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))  # the warm-up left no trace in the notebook
    assert any("image/png" in o.get("data", {}) for c in executed.cells for o in c.get("outputs", []))


@pytest.mark.slow
def test_run_logs_hold_no_warning_about_unencrypted_kernel_sockets(probe, tmp_path):
    _run(Runner(str(probe), {}), tmp_path, "warm")
    log = (tmp_path / "warm.log").read_text()
    assert "Executing Cell 2" in log and "without encryption" not in log
    # A warm-up that fails hands the run to a kernel papermill starts: that one gets the keys too.
    broken = nbformat.read(probe, as_version=4)
    broken.cells.append(nbformat.v4.new_code_cell("import no_such_module_here"))
    nbformat.write(broken, tmp_path / "broken.ipynb")
    runner = Runner(str(tmp_path / "broken.ipynb"), {})
    params = tmp_path / "cold.yaml"
    params.write_text(f"out: {tmp_path / 'cold.json'}\n")
    assert runner.start(tmp_path / "cold.ipynb", params, tmp_path / "cold.log").wait(timeout=120) == 1
    log = (tmp_path / "cold.log").read_text()
    assert "the warm-up kernel failed" in log and "Executing Cell 2" in log and "no_such_module_here" in log
    assert "without encryption" not in log


@pytest.mark.slow
def test_a_run_log_has_a_line_per_output_line_and_no_blank_line_between(probe, tmp_path):
    nb = nbformat.read(probe, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print('epoch 1/2', flush=True)\nimport time; time.sleep(0.3)\n"
                                              "print('epoch 2/2', flush=True)"))
    nbformat.write(nb, tmp_path / "epochs.ipynb")
    _run(Runner(str(tmp_path / "epochs.ipynb"), {}), tmp_path, "epochs")
    assert "\nepoch 1/2\nepoch 2/2\n" in (tmp_path / "epochs.log").read_text()  # two outputs, as each epoch's are
