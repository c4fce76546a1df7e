"""Warm runners: the next run's process, kernel and imports start while the current run trains.

A runner is one `python -m lib.sweep.executors.kernels NOTEBOOK` process in a process group of its own. It imports
papermill, starts a kernel with the environment it was given (its worker slot's threads and GPU),
and imports in that kernel the modules the notebook imports (torch, lib.train, ...). Then it waits
for one run on stdin; given it, it sends its output to the run's run.log, executes the notebook
through papermill in that kernel, shuts the kernel down and exits with papermill's verdict. So every
run still gets a fresh process and a fresh kernel, as with `python -m papermill`, but the seconds
spent starting them pass while the run before it trains; a run started cold pays them itself.

- `Runner(notebook, env)`: start one (warming at once); `runner.start(...)` hands it a run and
  returns its process, which the caller waits on and kills (its group) like any other.
- `KernelPool`: warm runners for an executor's worker slots, keyed by notebook and environment:
  `prepare(notebook, env)` starts one, `take(notebook, env)` hands out a warm one (or a cold one
  when none is ready), `close()` ends those never taken.

A runner dies with the thread that started it (PR_SET_PDEATHSIG), and its kernel follows within a
second (ipykernel polls its parent), so killing the sweep, even with SIGKILL, leaves no kernel behind.
`SWEEPLAB_WARM_KERNELS=0` makes the LocalExecutor start every runner when its run starts (cold), for
comparisons (benchmarks/overhead.py).
"""

from __future__ import annotations

import ast
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

# Launches a command that dies with the thread that started it (Linux prctl PR_SET_PDEATHSIG), so
# killing the sweep with SIGKILL takes its runners along; their kernels follow within a second.
DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    "try:\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)\n"
    "except (OSError, AttributeError):\n"
    "    pass\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(1)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)
# What nbclient passes to an IPython kernel it starts itself: no history database on disk.
_KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]


def process_environment(env: dict[str, str]) -> dict[str, str]:
    """A run's environment: ours, its own settings, and this interpreter's bin first on PATH, so
    papermill's kernel is this environment's Python."""
    full = {**os.environ, **env}
    full["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), full.get("PATH", "")])
    return full


class Runner:
    """One runner process: warming up until `start` hands it a run."""

    def __init__(self, notebook: str, env: dict[str, str]):
        self.notebook, self.env = str(notebook), dict(env)
        self.started = False  # handed a run: it ends by itself, or its taker kills it
        # What the runner and its kernel print before a run is theirs; it goes to that run's log.
        self._spawn_log = tempfile.TemporaryFile()
        command = [sys.executable, "-c", DIE_WITH_PARENT, str(os.getpid()), sys.executable, "-m",
                   "lib.sweep.executors.kernels", self.notebook]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=self._spawn_log,
                                        stderr=subprocess.STDOUT, env=process_environment(self.env),
                                        start_new_session=True)

    def alive(self) -> bool:
        return self.process.poll() is None

    def start(self, output: Path, parameters_file: Path, log: Path) -> subprocess.Popen:
        """Execute the notebook into `output` with the parameters in a YAML file, appending all output to
        `log`. Returns the runner's process; it exits 0 when the notebook ran to the end."""
        task = {"output": str(output), "parameters_file": str(parameters_file), "log": str(log)}
        self.started = True
        try:
            self.process.stdin.write((json.dumps(task) + "\n").encode())
            self.process.stdin.close()
        except BrokenPipeError:  # it died warming up; what it said explains the run's failure
            self.process.wait()
            self._spawn_log.seek(0)
            with open(log, "ab") as f:
                f.write(self._spawn_log.read())
        self._spawn_log.close()  # the runner holds its own copy
        return self.process

    def close(self) -> None:
        """End the runner and its kernel, unless it was handed a run."""
        if self.started:
            return
        self.started = True  # nothing more to hand it
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        if self.process.stdin:
            self.process.stdin.close()
        self._spawn_log.close()


class KernelPool:
    """Warm runners for an executor's worker slots.

    A runner is keyed by the notebook and the environment it was started with, so a run only gets
    a kernel started with its own slot's OMP_NUM_THREADS / CUDA_VISIBLE_DEVICES. Runners are
    started from one thread of the pool's own, which lives until `close()`: a runner dies with the
    thread that started it, and the executor's worker threads may come and go.
    """

    def __init__(self, warm: bool = True):
        self.warm = warm  # False: `prepare` does nothing, and every runner starts when taken (for comparisons)
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="kernel-pool")
        self._ready: dict[tuple, list[Future[Runner]]] = {}
        self._lock = threading.Lock()
        self._closed = False

    @staticmethod
    def _key(notebook: str, env: dict[str, str]) -> tuple:
        return str(notebook), tuple(sorted(env.items()))

    def prepare(self, notebook: str, env: dict[str, str]) -> None:
        """Start a runner for a later run with this notebook and environment; it warms up meanwhile."""
        with self._lock:
            if self._closed or not self.warm:
                return
            future = self._spawner.submit(Runner, notebook, env)
            self._ready.setdefault(self._key(notebook, env), []).append(future)

    def take(self, notebook: str, env: dict[str, str]) -> Runner:
        """A runner for this notebook and environment: a prepared one when one is alive, else a new one."""
        with self._lock:
            futures = self._ready.get(self._key(notebook, env), [])
            future = futures.pop(0) if futures else None
            spawner = None if self._closed else self._spawner
        if future is not None:
            runner = future.result()
            if runner.alive():
                return runner
            runner.close()
        if spawner is None:
            raise RuntimeError("the kernel pool is closed")
        return spawner.submit(Runner, notebook, env).result()

    def close(self) -> None:
        """End every runner not taken; runners taken must have ended or be ended by their taker."""
        with self._lock:
            self._closed = True
            futures = [f for fs in self._ready.values() for f in fs]
            self._ready.clear()
        for future in futures:
            future.result().close()
        self._spawner.shutdown()


# ---------------------------------------------------------------------------------------------
# The runner process


def notebook_imports(notebook) -> list[str]:
    """The modules a notebook's code cells import at top level (its parameters cell aside), in order."""
    modules: list[str] = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                modules += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.append(node.module)
    return list(dict.fromkeys(modules))


def _relay(read_fd: int) -> None:
    """Copy the kernel's own stdout and stderr to ours: the spawn log first, the run's log once it has one."""
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            return
        os.write(1, chunk)


def kernel_manager(notebook: str):
    """A kernel manager for the notebook's kernel that gives the kernel CurveZMQ keys where pyzmq and the
    kernelspec support them: the kernel's sockets are then encrypted, and ipykernel no longer warns in
    every run.log that it is 'running over TCP without encryption'."""
    import nbformat
    import zmq
    from jupyter_client.manager import AsyncKernelManager

    nb = nbformat.read(notebook, as_version=4)
    return AsyncKernelManager(kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
                              transport_encryption="auto" if zmq.has("curve") else "disabled")


def _warm_kernel(notebook: str, output_fd: int):
    """A started kernel that has imported what the notebook imports, and a problem that spoilt it, or None."""
    import nbformat
    from jupyter_core.utils import run_sync

    nb = nbformat.read(notebook, as_version=4)
    km = kernel_manager(notebook)
    run_sync(km.start_kernel)(extra_arguments=_KERNEL_ARGUMENTS, stdout=output_fd, stderr=output_fd)
    client = km.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        # Silent: no outputs, and the execution count stays at 0, so the notebook's cells count from 1.
        code = "".join(f"__import__('importlib').import_module({m!r})\n" for m in notebook_imports(nb))
        msg_id = client.execute(code, silent=True, store_history=False)
        import papermill  # noqa: F401  (ours to import while the kernel imports its own)

        content = _reply(client, msg_id, timeout=300)
        problem = None if content["status"] == "ok" else f"{content.get('ename')}: {content.get('evalue')}"
    except Exception as exc:  # a kernel that never got ready, or a warm-up that hung
        problem = f"{type(exc).__name__}: {exc}"
    finally:
        client.stop_channels()
    return km, problem


def _reply(client, msg_id: str, timeout: float) -> dict:
    """The content of the kernel's reply to one request."""
    while True:
        message = client.get_shell_msg(timeout=timeout)
        if message["parent_header"].get("msg_id") == msg_id:
            return message["content"]


def _shutdown(km) -> None:
    from jupyter_core.utils import run_sync

    if km is not None and km.has_kernel:
        run_sync(km.shutdown_kernel)(now=True)


class OutputLine(logging.Formatter):
    """papermill logs each output of a cell with the newline it ends in, and the handler adds its own: without
    the first, run.log has no blank line between a run's epoch lines."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).removesuffix("\n")


def serve(notebook: str) -> int:
    """The runner: warm a kernel, wait for one run on stdin, execute it with papermill, exit (1: it failed)."""
    handler = logging.StreamHandler()
    handler.setFormatter(OutputLine("%(message)s"))  # as papermill's command line does, a line a line
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    read_fd, write_fd = os.pipe()
    relay = threading.Thread(target=_relay, args=(read_fd,), daemon=True)
    relay.start()
    km, problem = None, None
    try:
        km, problem = _warm_kernel(notebook, write_fd)
    except Exception as exc:  # the run starts its kernel cold, and meets the problem in its own log
        problem = f"{type(exc).__name__}: {exc}"
    os.close(write_fd)  # the kernel holds the pipe open; it ends when the kernel does
    import papermill
    import yaml

    line = sys.stdin.readline()
    if not line:  # the pool closed without handing us a run
        _shutdown(km)
        return 0
    task = json.loads(line)
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(task["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    if stat.S_ISREG(os.fstat(1).st_mode):  # the spawn log: what we and the kernel said while warming
        os.write(log, os.pread(1, os.fstat(1).st_size, 0))
    os.dup2(log, 1)
    os.dup2(log, 2)
    if problem is not None:
        print(f"warning: the warm-up kernel failed ({problem}); starting the run in a new kernel", flush=True)
        _shutdown(km)
        km = kernel_manager(notebook)  # papermill starts it, with the keys
    code = 0
    try:
        parameters = yaml.safe_load(Path(task["parameters_file"]).read_text()) or {}
        papermill.execute_notebook(notebook, task["output"], parameters=parameters, log_output=True,
                                   progress_bar=False, km=km)
    except BaseException:  # printed as papermill's command line would, for the run's failure message
        traceback.print_exc()
        code = 1
    _shutdown(km)
    relay.join(timeout=0.5)  # longer only while a process the kernel started holds its output
    sys.stdout.flush()
    sys.stderr.flush()
    # Straight out: the clients papermill leaves open to a kernel it did not start would complain
    # while the interpreter tears them down.
    os._exit(code)


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
