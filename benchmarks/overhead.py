"""Per-run overhead: the same short run through the CLI, one papermill execution, and a sweep, side by side.

    python -m benchmarks.overhead [--runs 6] [--cold] [--quick] [--out reports/benchmarks/overhead.json]

The run is one epoch of LeNet on scikit-learn's digits, with the values a sweep gives it
(`fixed: {dataset: digits, model: lenet, epochs: 1, wandb_mode: disabled}`); only the seed differs
between the sweep's runs.

- cli_s:           wall time of `python -m lib.train --config <the run's values>` in a subprocess;
- notebook_s:      wall time of `python -m papermill notebooks/train.ipynb` for the run, in a subprocess,
                   as the sweep runner executed each run before it kept kernels warm;
- sweep_per_run_s: wall time of `python -m lib.sweep run <K seeds> --workers 1 --no-report`, divided by K
                   (the sweep process's own start and its first run's cold start are spread over K);
- train_s:         the run's own work as its records state it: metrics.json's `wall_time_s`, which
                   `lib.run.loop.run` measures from picking the device to writing metrics.json (data
                   load, the epoch, validation, checkpoints, the test), mean over the sweep's K runs.

`sweep_per_run_s - train_s` is the overhead a sweep adds to each run (the issue's goal: <= 2.5 s on
2 cores). `breakdown` says where the time outside the training goes, each item measured here:
interpreter start and imports (subprocesses that only import), a kernel's start, the notebook's
import cell and the data load in that kernel, the notebook's cells as papermill timed them, and
papermill's notebook writes (an in-process execution with its saves timed).
Writes reports/benchmarks/overhead.json.

`--quick` checks that the benchmark runs, in about 20 s: a sweep of one run and one papermill
execution only (no CLI run, no breakdown but the notebook's cells), written to overhead-quick.json;
tests/test_benchmarks.py runs it. Its numbers are one sample each.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks import ROOT, results_path
from lib.core.formatting import timestamp
from lib.core.records import write_json
from lib.config.runs import run_config

NOTEBOOK = ROOT / "notebooks" / "train.ipynb"
# W&B off: its offline logging costs the run seconds of its own (wandb.init inside train_s, wandb.finish
# after it), which are no part of the launcher's overhead.
FIXED = {"dataset": "digits", "model": "lenet", "epochs": 1, "wandb_mode": "disabled"}


def _env() -> dict[str, str]:
    """The environment every subprocess gets: this interpreter's bin first (papermill's kernel), lib importable."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p)
    return env


def _timed(command: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env={**_env(), **(env or {})}, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return seconds


def _wall_time(out_dir: Path) -> float:
    return float(json.loads((out_dir / "metrics.json").read_text())["wall_time_s"])


def _params_file(tmp: Path, name: str, seed: int = 0) -> tuple[Path, Path]:
    """A flat YAML of every RunConfig field of the run (what `lib.train --config` and papermill's `-f` both take; the
    sweep runner's params.yaml holds the same dict under `config`); and its out_dir."""
    out_dir = tmp / name
    values = run_config("overhead", name, {**FIXED, "seed": seed}, str(out_dir)).to_dict()
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path, out_dir


def measure_cli(tmp: Path) -> dict[str, float]:
    params, out_dir = _params_file(tmp, "cli")
    seconds = _timed([sys.executable, "-m", "lib.train", "--config", str(params)])
    return {"cli_s": seconds, "cli_train_s": _wall_time(out_dir)}


def measure_notebook(tmp: Path) -> dict:
    """One papermill execution in a subprocess; the cells' durations papermill recorded in the notebook."""
    params, out_dir = _params_file(tmp, "notebook")
    executed = tmp / "notebook.ipynb"
    seconds = _timed([sys.executable, "-m", "papermill", str(NOTEBOOK), str(executed), "-f", str(params),
                      "--no-progress-bar"])
    nb = json.loads(executed.read_text())
    cells = {}
    for index, cell in enumerate(nb["cells"]):
        duration = cell["metadata"].get("papermill", {}).get("duration")
        if cell["cell_type"] == "code" and duration is not None:
            source = "".join(cell["source"])
            first = next((line for line in source.splitlines() if not line.startswith("#")), "")
            cells[f"{index}: {first.strip()[:50]}"] = round(duration, 3)
    return {"notebook_s": seconds, "notebook_train_s": _wall_time(out_dir), "cells_s": cells}


def measure_notebook_writes(tmp: Path) -> dict[str, float]:
    """Papermill's saves of the notebook during one execution, timed in this process."""
    import papermill
    from papermill.engines import NotebookExecutionManager

    params, _ = _params_file(tmp, "writes")
    saves: list[float] = []
    original = NotebookExecutionManager.save

    def timed_save(self, **kwargs):
        start = time.perf_counter()
        original(self, **kwargs)
        saves.append(time.perf_counter() - start)

    NotebookExecutionManager.save = timed_save
    old_path = os.environ["PATH"]
    os.environ["PATH"] = _env()["PATH"]
    try:
        start = time.perf_counter()
        papermill.execute_notebook(str(NOTEBOOK), str(tmp / "writes.ipynb"), parameters=yaml.safe_load(params.read_text()),
                                   progress_bar=False)
        in_process = time.perf_counter() - start
    finally:
        NotebookExecutionManager.save = original
        os.environ["PATH"] = old_path
    return {"notebook_in_process_s": in_process, "notebook_writes": len(saves), "notebook_writes_s": sum(saves)}


def measure_kernel() -> dict[str, float]:
    """A fresh kernel's start, then in it the notebook's import cell and the digits data load."""
    import nbformat
    from jupyter_client.manager import start_new_kernel

    imports = next(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells
                   if c.cell_type == "code" and "import" in c.source and "parameters" not in c.metadata.get("tags", []))
    old_path = os.environ["PATH"]
    os.environ["PATH"] = _env()["PATH"]
    start = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(ROOT), env=_env())
    kernel_start = time.perf_counter() - start
    os.environ["PATH"] = old_path
    try:
        start = time.perf_counter()
        _execute(kc, imports)
        kernel_imports = time.perf_counter() - start
        start = time.perf_counter()
        _execute(kc, "from lib.run.datasets import load_data\nload_data('digits', val_fraction=0.1, seed=0)")
        data_load = time.perf_counter() - start
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return {"kernel_start_s": kernel_start, "kernel_imports_s": kernel_imports, "data_load_s": data_load}


def _execute(kc, code: str) -> None:
    reply = kc.execute_interactive(code, silent=True, store_history=False, timeout=120)
    if reply["content"]["status"] != "ok":
        raise SystemExit(f"in the kernel: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")


def measure_imports() -> dict[str, float]:
    """Interpreter start, and what importing each entry point's modules adds to it (subprocesses)."""
    python = _timed([sys.executable, "-c", "pass"])
    result = {"python_start_s": python}
    for name, modules in (("import_train_s", "lib.run.loop"), ("import_papermill_s", "papermill"),
                          ("import_sweep_s", "lib.sweep.cli")):
        result[name] = _timed([sys.executable, "-c", f"import {modules}"]) - python
    return result


def measure_sweep(tmp: Path, runs: int, warm: bool = True) -> dict[str, float]:
    """The sweep of `runs` seeds; `warm=False` starts every run's kernel when the run starts, as before."""
    sweep = tmp / "overhead.yaml"
    sweep.write_text(yaml.safe_dump({"name": "overhead", "fixed": FIXED, "seeds": list(range(runs))}))
    reports = tmp / ("reports" if warm else "reports-cold")
    seconds = _timed([sys.executable, "-m", "lib.sweep", "run", str(sweep), "--workers", "1", "--no-report",
                      "--reports-dir", str(reports)], env={"SWEEPLAB_WARM_KERNELS": "1" if warm else "0"})
    run_dirs = sorted((reports / "overhead" / "runs").iterdir())
    if len(run_dirs) != runs:
        raise SystemExit(f"the sweep made {len(run_dirs)} run folders, expected {runs}")
    train = [_wall_time(d) for d in run_dirs]
    epochs = [sum(float(row["epoch_s"]) for row in csv.DictReader(open(d / "history.csv"))) for d in run_dirs]
    return {"sweep_s": seconds, "sweep_per_run_s": seconds / runs, "train_s": statistics.mean(train),
            "epoch_s": statistics.mean(epochs),
            "train_s_min": min(train), "train_s_max": max(train)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overhead", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=6, help="runs in the sweep, identical but for the seed")
    parser.add_argument("--cold", action="store_true",
                        help="also run the sweep with SWEEPLAB_WARM_KERNELS=0 (each run's kernel started when it starts)")
    parser.add_argument("--quick", action="store_true",
                        help="a sweep of one run and one notebook only: checks that it runs "
                             "(writes overhead-quick.json)")
    parser.add_argument("--out", help="default reports/benchmarks/overhead.json (--quick: overhead-quick.json)")
    args = parser.parse_args(argv)
    args.out = args.out or str(results_path("overhead", args.quick))
    if args.quick:
        args.runs, args.cold = 1, False
    print(f"load average before: {os.getloadavg()[0]:.2f} on {len(os.sched_getaffinity(0))} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="overhead-") as folder:
        tmp = Path(folder)
        print("sweep ...", flush=True)
        sweep = measure_sweep(tmp, args.runs)
        if args.cold:
            print("sweep, kernels started cold ...", flush=True)
            cold = measure_sweep(tmp, args.runs, warm=False)
            sweep.update(cold_per_run_s=cold["sweep_per_run_s"], cold_train_s=cold["train_s"],
                         cold_overhead_per_run_s=cold["sweep_per_run_s"] - cold["train_s"])
        cli = {"cli_s": None, "cli_train_s": None}
        if not args.quick:
            print("cli ...", flush=True)
            cli = measure_cli(tmp)
        print("notebook ...", flush=True)
        notebook = measure_notebook(tmp)
        breakdown = {}
        if not args.quick:
            print("breakdown ...", flush=True)
            breakdown = {**measure_imports(), **measure_kernel(), **measure_notebook_writes(tmp)}
        breakdown.update(cells_s=notebook.pop("cells_s"), cli_train_s=cli.pop("cli_train_s"),
                         notebook_train_s=notebook.pop("notebook_train_s"))
    rounded = lambda d: {k: round(v, 3) if isinstance(v, float) else v for k, v in d.items()}
    report = {"cli_s": cli["cli_s"], "notebook_s": notebook["notebook_s"], "sweep_per_run_s": sweep["sweep_per_run_s"],
              "train_s": sweep["train_s"], "sweep_overhead_per_run_s": sweep["sweep_per_run_s"] - sweep["train_s"],
              "sweep": rounded(sweep), "breakdown": rounded(breakdown),
              "train_s_means": "metrics.json wall_time_s (lib.run.loop.run: data load, training, validation, "
                               "checkpoints, test), mean over the sweep's runs",
              "run": {**FIXED, "workers": 1, "sweep_runs": args.runs, "seeds": f"0..{args.runs - 1}"},
              "quick": args.quick,
              "cpus": len(os.sched_getaffinity(0)), "load_average_after": os.getloadavg()[0], "time": timestamp()}
    report = rounded(report)
    write_json(args.out, report)
    cli_text = "not run (--quick)" if report["cli_s"] is None else f"{report['cli_s']:.2f} s"
    print(f"cli {cli_text}, notebook {report['notebook_s']:.2f} s, sweep per run "
          f"{report['sweep_per_run_s']:.2f} s, train {report['train_s']:.2f} s: sweep overhead per run "
          f"{report['sweep_overhead_per_run_s']:.2f} s")
    print(json.dumps(report["breakdown"], indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
