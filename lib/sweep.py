"""Run a sweep file through the training notebook, resumably; show its status; build its report.

    python -m lib.sweep run PARAMS.yaml [--workers N] [--dry-run] [--retry-failed]
    python -m lib.sweep status PARAMS.yaml
    python -m lib.sweep report PARAMS.yaml

Everything lands in `reports/<sweep>/`: `sweep.json` (the expanded plan), `runs/<run>/` (the
executed train.ipynb, config.json, history.csv, metrics.json, run.log, checkpoints/, and
failure.json for a run that failed) and `report.ipynb` / `report.html`. The state of a run is read
from its folder, so re-running a sweep executes only what has not finished: a killed run resumes
from its last checkpoint, a failed one waits for --retry-failed.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from lib.config import COMPUTE_FIELDS, ConfigError, RunConfig, config_diff, group_warnings
from lib.executors import ClusterError, LocalExecutor, RunOutcome, RunTask, drive, stop_all
from lib.formatting import duration, is_number, number
from lib.paths import resolve
from lib.records import RunState, atomic_write_bytes, read_json, run_state, write_json
from lib.studies import SweepStudy, existing_study, with_search_runs
from lib.sweepfile import MAX_RUNS, NAME_RE, Sweep, SweepFileError, config_key, load_sweep, run_values

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def sweep_root(sweep: Sweep, reports_dir: str | Path) -> Path:
    return Path(reports_dir) / sweep.name


def run_config(sweep: Sweep, name: str, work_dir: Path) -> RunConfig:
    """The config a run of the sweep executes with."""
    return RunConfig.from_dict(run_values(sweep.name, name, sweep.run(name).params, str(work_dir)))


def _saved_config(run_dir: Path) -> dict[str, Any] | None:
    """A run folder's config.json, or None when it is missing; unreadable is reported and counts as missing."""
    path = run_dir / "config.json"
    if not path.is_file():
        return None
    try:
        saved = read_json(path)
    except (OSError, ValueError) as exc:
        print(f"warning: {path} is unreadable ({type(exc).__name__}); the run's checkpoint decides whether it "
              f"resumes", file=sys.stderr)
        return None
    return saved if isinstance(saved, dict) else None


def _identity(config: dict[str, Any]) -> str:
    """What a run computes, as a key: its config without the settings that only say where and how fast."""
    return json.dumps({k: config.get(k) for k in COMPUTE_FIELDS}, sort_keys=True)


def adopt_renamed_runs(sweep: Sweep, root: Path) -> list[str]:
    """Give existing records to planned runs that compute the same thing under a new name (adding
    `seeds` to a sweep renames its runs, say), so nothing that ran runs again. Returns 'old -> new' lines."""
    runs_dir = root / "runs"
    planned = {spec.name for spec in sweep.runs}
    if not runs_dir.is_dir():
        return []
    orphans = {}
    for folder in sorted(p for p in runs_dir.iterdir() if p.is_dir() and p.name not in planned):
        saved = _saved_config(folder)
        if saved is not None:
            orphans.setdefault(_identity(saved), folder)
    moved = []
    for spec in sweep.runs:
        target = runs_dir / spec.name
        if target.exists() or not orphans:
            continue
        source = orphans.pop(_identity(run_config(sweep, spec.name, target).to_dict()), None)
        if source is not None:
            os.rename(source, target)
            moved.append(f"{source.name} -> {spec.name}")
    return moved


def check_records_match(sweep: Sweep, root: Path) -> None:
    """Refuse to mix a run's existing records with a different config under the same name."""
    for spec in sweep.runs:
        run_dir = root / "runs" / spec.name
        saved = _saved_config(run_dir)
        if saved is None:
            continue
        diffs = config_diff(saved, run_config(sweep, spec.name, run_dir).to_dict())
        if diffs:
            raise SweepFileError(
                f"{run_dir} holds a run made with other settings ({'; '.join(diffs)} (on disk -> sweep file)); "
                f"give the sweep a new name, or delete that folder to run it again")


def write_sweep_record(sweep: Sweep, root: Path, study: SweepStudy | None = None) -> None:
    record = {**sweep.to_dict(), "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "file_text": sweep.path.read_text() if sweep.path else None, "study": study.spec if study else None}
    write_json(root / "sweep.json", record)


def plan(sweep: Sweep, root: Path, retry_failed: bool = False) -> tuple[list[str], dict[str, RunState]]:
    """The runs to execute now, and the state of every run."""
    states = {spec.name: run_state(root / "runs" / spec.name) for spec in sweep.runs}
    todo = [name for name, st in states.items()
            if st.status in ("pending", "submitted", "interrupted") or (retry_failed and st.status == "failed")]
    return todo, states


def confirmation(sweep: Sweep, root: Path) -> Sweep:
    """The sweep with its confirmation runs, once every other run has ended: the `confirm.top`
    configurations with the highest mean validation accuracy (ties: the earlier in the file), each with
    the extra seeds. Decided from the records alone, so a rerun plans the same runs."""
    if not sweep.confirm_top:
        return sweep
    states = {spec.name: run_state(root / "runs" / spec.name) for spec in sweep.runs}
    if any(st.status in ("pending", "submitted", "interrupted", "running") for st in states.values()):
        return sweep
    scores: dict[str, list[float]] = {}
    configs: dict[str, dict[str, Any]] = {}
    for spec in sweep.runs:
        st = states[spec.name]
        if st.status in ("completed", "early_stopped") and is_number(st.val_acc):
            config = {k: v for k, v in spec.params.items() if k != "seed"}
            key = config_key(config)
            configs.setdefault(key, config)
            scores.setdefault(key, []).append(st.val_acc)
    order = list(configs)
    best = sorted(order, key=lambda k: (-sum(scores[k]) / len(scores[k]), order.index(k)))[:sweep.confirm_top]
    return sweep.with_confirmation([configs[k] for k in best])


def _after_running(sweep: Sweep, root: Path, retry_failed: bool, wait_s: float = 30.0):
    """Plan again once runs that hold their lock let go: after the sweep process is killed, its
    kernels notice within a second or two. Runs still held after `wait_s` belong to another live
    sweep process, and executing them twice would corrupt them."""
    deadline = time.monotonic() + wait_s
    while True:
        todo, states = plan(sweep, root, retry_failed)
        running = [n for n, st in states.items() if st.status == "running"]
        if not running:
            return todo, states
        if time.monotonic() > deadline:
            raise SweepFileError(f"runs {', '.join(running)} are being executed by another process right now; "
                                 f"wait for it or stop it, then run again")
        time.sleep(0.5)


def format_table(states: list[RunState], sweep: Sweep | None = None) -> str:
    """The status table: each run's state, the parameters that vary, its epochs, validation accuracy at
    the best epoch (the report's figure), test accuracy and time."""
    if not states:
        return "no runs yet"
    params = [k for k in sweep.varying] if sweep else []
    rows = [("run", "status", *params, "epochs run", "val acc*", "test acc", "time")]
    for st in states:
        values = sweep.run(st.name).params if sweep else {}
        rows.append((st.name, st.status, *[_param_text(values.get(k)) for k in params], number(st.epochs),
                     number(st.val_acc), number(st.test_acc), duration(st.seconds)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    left = 2 + len(params)
    lines = ["  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    counts: dict[str, int] = {}
    for st in states:
        counts[st.status] = counts.get(st.status, 0) + 1
    lines.append(f"{len(states)} runs: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    lines.append("* validation accuracy at each run's best epoch (lowest validation loss), as in the report")
    return "\n".join(lines)


def _param_text(value: Any) -> str:
    return "-" if value is None else number(value, "g") if is_number(value) else str(value)


def sweep_warnings(sweep: Sweep) -> list[str]:
    """Each distinct warning of the sweep's runs once, with how many runs it concerns."""
    found = group_warnings((spec.name, RunConfig.from_dict({**spec.params, "out_dir": "unused"}), spec.params)
                           for spec in sweep.runs)
    return [line + ("" if len(names) == len(sweep.runs) == 1 else
                    f" ({len(names)} of {len(sweep.runs)} runs" + (f", e.g. {names[0]})" if len(names) < len(
                        sweep.runs) else ")"))
            for line, names in found.items()]


def _storage(args: argparse.Namespace) -> Path | None:
    """Where cluster runs keep checkpoints; local runs keep them in their run folder."""
    if args.executor == "local":
        return None
    from lib.cluster import default_storage

    return Path(args.storage) if args.storage else default_storage(args.reports_dir)


def make_executor(args: argparse.Namespace):
    if args.executor == "local":
        return LocalExecutor(args.workers)
    from lib import cluster

    return cluster.make_executor(args)


def execute(sweep: Sweep, root: Path, names: list[str], executor, *, notebook: Path, timeout_s: float | None,
            storage: Path | None = None, study: SweepStudy | None = None) -> list[RunOutcome]:
    """Execute the named runs, then (a search) new trials while its budget lasts, with a progress bar
    across runs; returns their outcomes. With a study, every run reports to its trial, and the study
    is told how each run ended."""
    from tqdm import tqdm

    queue = list(names)
    planned = {spec.name: spec for spec in sweep.runs}

    def next_task() -> RunTask | None:
        if queue:
            spec = planned[queue.pop(0)]
            trial = study.trial_for(spec.name, spec.params) if study else None
        elif study and sweep.search:
            made = study.new_search_run()
            if made is None:
                return None
            spec, trial = made
            write_sweep_record(with_search_runs(sweep, study), root, study)
        else:
            return None
        run_dir = root / "runs" / spec.name
        work_dir = (storage / sweep.name / spec.name) if storage else run_dir
        return RunTask(sweep.name, spec.name, spec.params, str(run_dir.resolve()), str(work_dir.resolve()),
                       str(notebook.resolve()), timeout_s, _data_env(), trial)

    total = len(names) + _trials_left(sweep, study)
    outcomes: list[RunOutcome] = []
    bar = tqdm(total=total, unit="run", desc=f"{sweep.name} ({executor.name})", dynamic_ncols=True)
    counts = {"done": 0, "failed": 0, "running": 0}

    def on_start(task: RunTask) -> None:
        counts["running"] += 1
        bar.set_postfix(**counts, left=total - len(outcomes) - counts["running"], refresh=True)

    def on_done(task: RunTask, outcome: RunOutcome) -> None:
        counts["running"] -= 1
        if outcome.status == "interrupted":  # stopped by the user: it stays to do
            return
        if study:
            study.settle(task.name)
        outcomes.append(outcome)
        counts["failed" if outcome.failed else "done"] += 1
        test_acc = (outcome.metrics or {}).get("test_acc")
        detail = f"test acc {test_acc:.4f}" if is_number(test_acc) else (outcome.error or "")
        if outcome.status == "pruned":
            detail = f"stopped after epoch {(outcome.metrics or {}).get('epochs_run')}"
        bar.write(f"{'FAILED' if outcome.failed else 'done  '} {task.name}: {outcome.status}, {detail} "
                  f"({duration(outcome.seconds)}; log: {Path(task.run_dir) / 'run.log'})")
        bar.update(1)
        bar.set_postfix(**counts, left=total - len(outcomes) - counts["running"], refresh=True)

    try:
        drive(executor, next_task, on_start, on_done)
    finally:
        bar.close()
    return outcomes


def _data_env() -> dict[str, str]:
    """Runs may execute elsewhere than the sweep was started; a relative DATA_DIR must still point right."""
    data_dir = os.environ.get("DATA_DIR")
    return {"DATA_DIR": str(resolve(data_dir))} if data_dir else {}


class ReportError(RuntimeError):
    """The report notebook failed; the message names the error and the partial notebook."""


def build_report(sweep_dirs: Path | list[Path], out: Path | None = None, notebook: Path = NOTEBOOKS / "report.ipynb"
                 ) -> Path:
    """Execute the report notebook for one sweep folder or several (earlier first); write report.ipynb,
    report.html and the report's CSV tables into `out` (default: the first folder)."""
    from nbconvert import HTMLExporter

    dirs = [sweep_dirs] if isinstance(sweep_dirs, Path) else list(sweep_dirs)
    root = out or dirs[0]
    root.mkdir(parents=True, exist_ok=True)
    partial = root / "report.partial.ipynb"
    command = [sys.executable, "-m", "papermill", str(notebook), str(partial), "-p", "sweep_dirs",
               ",".join(str(d.resolve()) for d in dirs), "-p", "out_dir", str(root.resolve()), "--no-progress-bar"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise ReportError(f"the report notebook failed ({lines[-1] if lines else result.returncode}); "
                          f"see {partial}")
    os.replace(partial, root / "report.ipynb")
    html, _ = HTMLExporter(exclude_input=True).from_filename(str(root / "report.ipynb"))
    atomic_write_bytes(root / "report.html", html.encode())
    return root / "report.html"


# ---------------------------------------------------------------------------------------------


@contextmanager
def sweep_lock(root: Path, name: str) -> Iterator[None]:
    """One `run` per sweep folder at a time. A second process exits at once, naming the first; the lock
    dies with its process, so a killed sweep never blocks the next run."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".sweep.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            try:
                holder = json.loads(handle.read() or "{}")
            except ValueError:
                holder = {}
            raise SweepBusyError(
                f"sweep {name!r} is already running (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
                f"started {holder.get('started', '?')}); wait for it, or stop it and run this command again to "
                f"resume. `python -m lib.sweep status` shows its progress") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": os.uname().nodename,
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S")}))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class SweepBusyError(SweepFileError):
    """Another process is running the same sweep."""


def _print_warnings(sweep: Sweep) -> None:
    for line in sweep_warnings(sweep):
        print(f"warning: {line}", file=sys.stderr)


def _study(sweep: Sweep, root: Path, args: argparse.Namespace, create: bool) -> SweepStudy | None:
    if not sweep.uses_study:
        return None
    if create:
        study = SweepStudy(sweep, root, args.study_storage)
        study.reconcile()
        return study
    return existing_study(sweep, root, args.study_storage)


def _planned_sweep(sweep: Sweep, root: Path, study: SweepStudy | None) -> Sweep:
    """The sweep's runs as they stand: a search's trials so far, then confirmation runs once every run
    has ended (and a search has spent its budget)."""
    sweep = with_search_runs(sweep, study)
    if sweep.search and (study is None or study.budget_left() > 0):
        return sweep
    return confirmation(sweep, root)


def _trials_left(sweep: Sweep, study: SweepStudy | None) -> int:
    """New trials a search may still start (its whole budget when it has no study yet)."""
    if sweep.search is None:
        return 0
    return study.budget_left() if study else sweep.search.trials


def _search_line(sweep: Sweep, study: SweepStudy | None) -> str:
    made = len(study.latest()) if study else 0
    line = ""
    if sweep.search:
        line = (f"search: {sweep.search.method} over {', '.join(sweep.search.space)}, {sweep.search.trials} trials "
                f"({made} started so far); ")
    if sweep.early_terminate:
        line += f"early termination: {sweep.early_terminate.type}; "
    return line + f"metric: {sweep.metric.name} ({sweep.metric.goal})"


def cmd_run(args: argparse.Namespace) -> int:
    sweep = load_sweep(args.params, args.max_runs)
    root = sweep_root(sweep, args.reports_dir)
    _print_warnings(sweep)
    if args.dry_run:
        study = _study(sweep, root, args, create=False)
        sweep = _planned_sweep(sweep, root, study)
        check_records_match(sweep, root)
        todo, states = plan(sweep, root, args.retry_failed)
        print(format_table(list(states.values()), sweep))
        if sweep.uses_study:
            print(_search_line(sweep, study))
        left = _trials_left(sweep, study)
        print(f"dry run: {len(sweep.runs)} runs valid; would execute {len(todo)}: {', '.join(todo) or 'none'}"
              + (f", then up to {left} new trial(s)" if left else ""))
        return 0
    with sweep_lock(root, sweep.name):
        study = _study(sweep, root, args, create=True)
        if not sweep.search:
            for line in adopt_renamed_runs(sweep, root):
                print(f"reusing the records of {line} (same config)")
        sweep = _planned_sweep(sweep, root, study)
        check_records_match(sweep, root)
        todo, states = plan(sweep, root, args.retry_failed)
        if any(st.status == "running" for st in states.values()):
            todo, states = _after_running(sweep, root, args.retry_failed)
        write_sweep_record(sweep, root, study)
        failed_before = [n for n, st in states.items() if st.status == "failed" and n not in todo]
        left = _trials_left(sweep, study)
        print(f"{sweep.name}: {len(sweep.runs)} runs, {len(todo)} to execute"
              + (f", then up to {left} new trial(s)" if left else "")
              + (f" ({len(failed_before)} failed earlier; --retry-failed reruns them)" if failed_before else ""))
        if sweep.uses_study:
            print(_search_line(sweep, study))
        executor = make_executor(args)
        try:
            outcomes = execute(sweep, root, todo, executor, notebook=Path(args.notebook), timeout_s=args.timeout,
                               storage=_storage(args), study=study) if todo or left else []
            sweep = with_search_runs(sweep, study)
            confirmed = confirmation(sweep, root)
            if len(confirmed.runs) > len(sweep.runs):
                sweep = confirmed
                write_sweep_record(sweep, root, study)
                todo, _ = plan(sweep, root, args.retry_failed)
                print(f"{sweep.name}: confirming the best {sweep.confirm_top} configuration(s) with seeds "
                      f"{', '.join(map(str, sweep.confirm_seeds))}: {len(todo)} run(s) to execute")
                outcomes += execute(sweep, root, todo, executor, notebook=Path(args.notebook),
                                    timeout_s=args.timeout, storage=_storage(args)) if todo else []
        finally:
            executor.close()
        write_sweep_record(sweep, root, study)
        failed = [o.name for o in outcomes if o.failed] + failed_before
        if not args.no_report:
            print(f"report: {build_report(root)}")
    if failed:
        print(f"{len(failed)} run(s) failed: {', '.join(failed)}; see their run.log, then rerun with --retry-failed",
              file=sys.stderr)
        return 1
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    sweep = load_sweep(args.params, args.max_runs)
    root = sweep_root(sweep, args.reports_dir)
    study = _study(sweep, root, args, create=False)
    sweep = _planned_sweep(sweep, root, study)
    _, states = plan(sweep, root)
    print(format_table(list(states.values()), sweep))
    if sweep.uses_study:
        print(_search_line(sweep, study))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """One sweep's report in its folder, or one report over several sweeps in reports/<NAME>/."""
    roots = []
    for params in args.params:
        sweep = load_sweep(params, args.max_runs)
        root = sweep_root(sweep, args.reports_dir)
        study = _study(sweep, root, args, create=False)
        write_sweep_record(_planned_sweep(sweep, root, study), root, study)
        roots.append(root)
    name = args.name or "-".join(dict.fromkeys(root.name for root in roots))
    if not NAME_RE.match(name):
        raise SweepFileError(f"--name {name!r} must be a folder-safe word (letters, digits, _ . -)")
    out = roots[0] if len(roots) == 1 and not args.name else Path(args.reports_dir) / name
    print(f"report: {build_report(roots, out)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lib.sweep", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (("run", "execute the runs that have not finished, then build the report"),
                           ("status", "print a table of every run's state"),
                           ("report", "build reports/<sweep>/report.html from the run records")):
        p = sub.add_parser(name, help=helptext)
        if name == "report":
            p.add_argument("params", nargs="+", help="sweep file(s); several make one report, later sweeps "
                                                     "compared with earlier ones")
            p.add_argument("--name", default=None, help="folder under --reports-dir for a report over several "
                                                        "sweeps (default: their names joined by -)")
        else:
            p.add_argument("params", help="sweep file, e.g. params/demo.yaml")
        p.add_argument("--reports-dir", default="reports", help="where sweep folders go (default: reports)")
        p.add_argument("--max-runs", type=int, default=MAX_RUNS,
                       help=f"refuse sweep files that describe more runs than this (default: {MAX_RUNS:,})")
        p.add_argument("--study-storage", default=None, metavar="URL_OR_FILE",
                       help="where a searching or early-terminating sweep keeps its Optuna study: a database URL "
                            "(postgresql://...) or a journal file every worker can reach (default: "
                            "study.journal in the sweep folder)")
        if name != "run":
            continue
        p.add_argument("--workers", type=int, default=1, help="runs at once (default: 1)")
        p.add_argument("--dry-run", action="store_true", help="validate and show the plan; execute nothing")
        p.add_argument("--retry-failed", action="store_true", help="also rerun runs that failed before")
        p.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="kill a run after this long")
        p.add_argument("--no-report", action="store_true", help="skip building the report at the end")
        p.add_argument("--notebook", default=str(NOTEBOOKS / "train.ipynb"), help=argparse.SUPPRESS)
        p.add_argument("--executor", choices=("local", "ray", "slurm"), default="local",
                       help="where runs execute (default: local processes)")
        p.add_argument("--storage", default=None,
                       help="checkpoint folder for cluster executors (a shared filesystem on a real cluster)")
        cluster = p.add_argument_group("cluster executors (pip install -e '.[cluster]')")
        cluster.add_argument("--address", default=None, help="ray: address of a running cluster (default: start one)")
        cluster.add_argument("--gpus-per-run", type=float, default=None,
                             help="GPUs each run asks for; fractions share a GPU on ray "
                                  "(default: ray 1 if the cluster has GPUs, else 0; slurm 0)")
        cluster.add_argument("--cpus-per-run", type=float, default=1.0, help="CPUs each run asks for (default: 1)")
        cluster.add_argument("--max-retries", type=int, default=2, help="ray: retries of a run whose worker died")
        cluster.add_argument("--partition", default=None, help="slurm: partition")
        cluster.add_argument("--time-limit", type=int, default=240, metavar="MINUTES", help="slurm: time limit per run")
        cluster.add_argument("--slurm-local", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    problem = _argument_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if getattr(args, "storage", None) and args.executor == "local":
        print("error: --storage is for --executor ray or slurm; local runs keep checkpoints in their run folder",
              file=sys.stderr)
        return 2
    try:
        return {"run": cmd_run, "status": cmd_status, "report": cmd_report}[args.command](args)
    except (SweepFileError, ConfigError, ClusterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        stop_all()
        print("\nstopped; run the same command again to resume", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a folder without write permission: the records written so far stand
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}; fix that and run the same command again to resume",
              file=sys.stderr)
        return 1


def _argument_problem(args: argparse.Namespace) -> str | None:
    """A one-line complaint about a bad command-line value, or None."""
    if getattr(args, "workers", 1) < 1:
        return f"--workers {args.workers} must be at least 1"
    if args.max_runs < 1:
        return f"--max-runs {args.max_runs} must be at least 1"
    timeout = getattr(args, "timeout", None)
    if timeout is not None and not (is_number(timeout) and timeout > 0):
        return f"--timeout {timeout} must be a number of seconds above 0"
    return None


if __name__ == "__main__":
    sys.exit(main())
