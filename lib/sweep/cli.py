"""The sweep command line: run a sweep file through the training notebook, resumably; show its status;
build its report.

    python -m lib.sweep run PARAMS.yaml [--workers N] [--dry-run] [--retry-failed]
    python -m lib.sweep status PARAMS.yaml
    python -m lib.sweep report PARAMS.yaml [MORE.yaml ...]
    python -m lib.sweep next PARAMS.yaml [MORE.yaml ...] [--budget RUNS]
    python -m lib.sweep auto PARAMS.yaml --budget RUNS [--rounds N] [--budget-hours H] [options of run]

Everything lands in `reports/<sweep>/`: `sweep.json` (the expanded plan), `runs/<run>/` (the
executed train.ipynb, config.json, history.csv, metrics.json, run.log, checkpoints/, and
failure.json for a run that failed) and `report.ipynb` / `report.html`. The state of a run is read
from its folder, so re-running a sweep executes only what has not finished: a killed run resumes
from its last checkpoint, a failed one waits for --retry-failed. Nothing here imports torch or pandas.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lib.core.formatting import is_number
from lib.core.layout import NOTEBOOK, runs_dir
from lib.core.exits import os_error_line, quiet_pipe
from lib.core.storage import StudyStorageError, storage_spec, study_location
from lib.config.errors import ConfigError, SweepFileError
from lib.config.naming import NAME_RE
from lib.config.runs import MAX_RUNS
from lib.config.sweepfile import Sweep, load_sweep
from lib.sweep.driver import execute
from lib.sweep.executors import EXECUTORS, checkpoint_storage, make_executor
from lib.sweep.executors.base import ClusterError, stop_all
from lib.sweep.parents import check_parents
from lib.sweep.plan import (adopt_renamed_runs, check_records_match, confirmation, plan, planned_sweep, sweep_lock,
                            sweep_root, sweep_warnings, trials_left, wait_for_running, write_sweep_record)
from lib.sweep.publish import NOTEBOOKS, ReportError, publish
from lib.sweep.status import format_table, has_records, plan_line, records_line, search_line
from lib.sweep.study import SweepStudy, existing_study, with_search_runs


def _print_warnings(sweep: Sweep) -> None:
    for line in sweep_warnings(sweep):
        print(f"warning: {line}", file=sys.stderr)


def _study(sweep: Sweep, root: Path, args: argparse.Namespace, create: bool) -> SweepStudy | None:
    if not sweep.uses_study:
        return None
    if create:
        study = SweepStudy.for_run(sweep, root, args.study_storage)
        study.reconcile()
        return study
    return existing_study(sweep, root, args.study_storage)


def cmd_run(args: argparse.Namespace) -> int:
    sweep = load_sweep(args.params, args.max_runs)
    root = sweep_root(sweep, args.reports_dir)
    check_parents(sweep, args.reports_dir)
    _print_warnings(sweep)
    if args.dry_run:
        study = _study(sweep, root, args, create=False)
        sweep = planned_sweep(sweep, root, study)
        check_records_match(sweep, root)
        todo, states = plan(sweep, root, args.retry_failed)
        print(sweep.settings_line())
        print(format_table(list(states.values()), sweep, every=args.all))
        if sweep.uses_study:
            print(search_line(sweep, study))
        print(plan_line(todo, len(sweep.runs), trials_left(sweep, study)))
        print(records_line(sweep, root))
        return 0
    with sweep_lock(root, sweep.name):
        study = _study(sweep, root, args, create=True)
        if not sweep.search:
            for old, new in adopt_renamed_runs(sweep, root):
                print(f"reusing the records of {old} -> {new} (same config)")
                if study:
                    study.renamed(old, new, sweep.run(new).params)
        studied = {spec.name for spec in with_search_runs(sweep, study).runs}  # confirmation runs are not trials
        sweep = planned_sweep(sweep, root, study)
        check_records_match(sweep, root)
        todo, states = plan(sweep, root, args.retry_failed)
        if any(st.status == "running" for st in states.values()):
            todo, states = wait_for_running(sweep, root, args.retry_failed)
        write_sweep_record(sweep, root, study)
        failed_before = [n for n, st in states.items() if st.status == "failed" and n not in todo]
        left = trials_left(sweep, study)
        print(f"{sweep.name}: {len(sweep.runs)} runs, {len(todo)} to execute"
              + (f", then up to {left} new trial(s)" if left else "")
              + (f" ({len(failed_before)} failed earlier; --retry-failed reruns them)" if failed_before else ""))
        if sweep.uses_study:
            print(search_line(sweep, study))
        executor = make_executor(args)
        storage = checkpoint_storage(args)
        try:
            outcomes = execute(sweep, root, todo, executor, notebook=Path(args.notebook), timeout_s=args.timeout,
                               storage=storage, study=study,
                               outside_study={n for n in todo if n not in studied}) if todo or left else []
            sweep = with_search_runs(sweep, study)
            confirmed = confirmation(sweep, root)
            if len(confirmed.runs) > len(sweep.runs):
                sweep = confirmed
                write_sweep_record(sweep, root, study)
                todo, _ = plan(sweep, root, args.retry_failed)
                print(f"{sweep.name}: confirming the best {sweep.confirm_top} configuration(s) with seeds "
                      f"{', '.join(map(str, sweep.confirm_seeds))}: {len(todo)} run(s) to execute")
                outcomes += execute(sweep, root, todo, executor, notebook=Path(args.notebook),
                                    timeout_s=args.timeout, storage=storage) if todo else []
        finally:
            executor.close()
        write_sweep_record(sweep, root, study)
        failed = [o.name for o in outcomes if o.failed] + failed_before
        if not args.no_report:
            publish(root)
    if failed:
        print(f"{len(failed)} run(s) failed: {', '.join(failed)}; see their run.log, then rerun with --retry-failed",
              file=sys.stderr)
        return 1
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    sweep = load_sweep(args.params, args.max_runs)
    root = sweep_root(sweep, args.reports_dir)
    study = _study(sweep, root, args, create=False)
    sweep = planned_sweep(sweep, root, study)
    _, states = plan(sweep, root)
    print(format_table(list(states.values()), sweep, every=args.all))
    if sweep.uses_study:
        print(search_line(sweep, study))
    print(records_line(sweep, root))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """One sweep's report in its folder, or one report over several sweeps in reports/<NAME>/. Writes
    nothing but the report's own files: not sweep.json, not a study."""
    from lib.report.load import plan_note

    roots: list[Path] = []
    for params in args.params:
        sweep = load_sweep(params, args.max_runs)
        root = sweep_root(sweep, args.reports_dir)
        if any(root.resolve() == r.resolve() for r in roots):
            print(f"note: {params} is sweep {sweep.name!r} again; its runs are reported once", file=sys.stderr)
            continue
        if args.study_storage and sweep.uses_study and study_location(root, args.study_storage) != study_location(root):
            print(f"note: the report reads the study of {sweep.name!r} where its sweep.json records it "
                  f"({study_location(root)}), not --study-storage", file=sys.stderr)
        note = plan_note(root)
        if note:
            print(f"warning: {note}", file=sys.stderr)
        problem = _unreadable_study(root, sweep.name) if sweep.uses_study else None
        if problem:
            print(f"warning: the report of {sweep.name!r} will have no search section: {problem}", file=sys.stderr)
        roots.append(root)
    name = args.name if args.name is not None else "-".join(dict.fromkeys(root.name for root in roots))
    if not NAME_RE.match(name):
        raise SweepFileError(f"--name {name!r} must be a folder-safe word (letters, digits, _ . -)")
    out = roots[0] if len(roots) == 1 and args.name is None else Path(args.reports_dir) / name
    own = len(roots) == 1 and out.resolve() == roots[0].resolve()
    if not own and has_records(out):
        raise SweepFileError(f"--name {name!r}: {out} is the folder of sweep {name!r}, and its own report is there; "
                             f"give the report over {len(roots)} sweep(s) another --name")
    if not any(runs_dir(root).is_dir() and any(p.is_dir() for p in runs_dir(root).iterdir()) for root in roots):
        print(f"warning: no run of {', '.join(r.name for r in roots)} has records yet (nothing under "
              f"{', '.join(str(runs_dir(r)) for r in roots)}): the report shows no runs", file=sys.stderr)
    publish(roots, out)
    return 0


def _unreadable_study(root: Path, name: str) -> str | None:
    """Why the study the report would read for `root` cannot be read (None when it can, or when there is none
    yet), so the command line says it and not only the page."""
    from lib.core.storage import read_study

    try:
        read_study(study_location(root), name)
    except StudyStorageError as exc:
        return str(exc)
    return None


def _check_out(out: Path, force: bool) -> None:
    """Refuse an output path that is not a file this command may write: a folder, a device, a missing
    folder, or (without --force) anything already there, a dangling link included."""
    if out.is_dir():
        raise SweepFileError(f"--out {out} is a folder; give a file in it, e.g. {out / 'next.yaml'}")
    if out.exists() and not out.is_file():
        raise SweepFileError(f"--out {out} is not a regular file (a device or a pipe); give a .yaml file path")
    if not out.parent.is_dir():
        raise SweepFileError(f"--out {out}: the folder {out.parent} does not exist; create it or give another path")
    if os.path.lexists(out) and not force:
        raise SweepFileError(f"{out} exists; pass --force to overwrite it, or --out another file")


def cmd_next(args: argparse.Namespace) -> int:
    """Write the follow-up sweep the records of one or more sweeps call for (lib.report.proposal)."""
    import yaml

    from lib.core.records import DAMAGED, atomic_write_text
    from lib.report.load import load_report
    from lib.report.nextfile import next_file_text
    from lib.report.proposal import propose
    from lib.config.sweepfile import parse_sweep

    sweeps = [load_sweep(params, args.max_runs) for params in args.params]
    roots = [sweep_root(sweep, args.reports_dir) for sweep in sweeps]
    last, path = sweeps[-1], Path(args.params[-1])
    name = f"{last.name}_next" if args.name is None else args.name
    if not NAME_RE.match(name):
        raise SweepFileError(f"--name {name!r} must be a folder-safe word (letters, digits, _ . -)")
    out = Path(args.out) if args.out else path.parent / f"{name}.yaml"
    _check_out(out, args.force)
    if args.budget is not None and args.budget < 1:
        raise SweepFileError(f"--budget {args.budget} must be at least 1 run")
    report = load_report(roots)
    for key in report.runs.loc[report.runs["status"] == DAMAGED, "run"]:
        print(f"warning: {key} is left out: {report.errors[key]}", file=sys.stderr)
    if report.ranked.empty:
        statuses = list(report.runs["status"]) if len(report.runs) else []
        if statuses and all(s == "failed" for s in statuses):
            raise SweepFileError(f"every run of {', '.join(report.sweeps)} failed ({len(statuses)} run(s)), so "
                                 f"there is nothing to learn from; see their run.log, fix the cause, then rerun "
                                 f"with: python -m lib.sweep run {args.params[-1]} --retry-failed")
        raise SweepFileError(f"no finished run in {', '.join(map(str, roots))} to learn from; run the sweep first "
                             f"(python -m lib.sweep run {args.params[-1]})")
    proposal = propose(report, last.raw, last.name, name, args.budget)
    for line in proposal.lines():
        print(line)
    if proposal.draft is None:
        return 0
    command = " ".join(["python -m lib.sweep next", *args.params] + (["--budget", str(args.budget)] if args.budget
                                                                     else []))
    text = next_file_text(proposal, command)
    proposed = parse_sweep(yaml.safe_load(text), out, args.max_runs)  # an ordinary sweep file, or a bug here
    atomic_write_text(out, text)
    print(f"wrote {out}: {proposal.draft.size()} run(s) ({len(proposed.runs) or proposed.search and 'a search'}); "
          f"check it with: python -m lib.sweep run {out} --dry-run")
    return 0


def cmd_auto(args: argparse.Namespace) -> int:
    """Run a chain of sweeps within a budget (lib.sweep.auto): each round through cmd_run, as `run` would."""
    from lib.sweep.auto import Chain, chain_paths, check, plan_lines, run_chain

    chain = Chain(Path(args.params), args.budget, args.reports_dir, args.rounds, args.budget_hours, args.max_runs,
                  report=not args.no_report)
    check(chain)

    def run_round(path: Path, dry_run: bool = False) -> int:
        return cmd_run(argparse.Namespace(**{**vars(args), "params": str(path), "dry_run": dry_run,
                                             "no_report": True}))

    if args.dry_run:
        current = chain_paths(chain.first, chain.name)[-1]
        run_round(current, dry_run=True)
        sweep = load_sweep(current, args.max_runs)
        todo, _ = plan(planned_sweep(sweep, sweep_root(sweep, args.reports_dir), None), sweep_root(sweep,
                                                                                                 args.reports_dir),
                       args.retry_failed)
        for line in plan_lines(chain, len(todo)):
            print(line)
        return 0
    status, _ = run_chain(chain, run_round)
    return status


def build_parser(prog: str = "python -m lib.sweep") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (("run", "execute the runs that have not finished, then build the report"),
                           ("status", "print a table of every run's state"),
                           ("report", "build reports/<sweep>/report.html from the run records"),
                           ("next", "write the follow-up sweep file the records call for, each choice with its "
                                    "evidence"),
                           ("auto", "run a chain of sweeps within a budget: run, propose the next (as next does), "
                                    "run it, ...")):
        p = sub.add_parser(name, help=helptext)
        if name == "report":
            p.add_argument("params", nargs="+", help="sweep file(s); several make one report, later sweeps "
                                                     "compared with earlier ones")
            p.add_argument("--name", default=None, help="folder under --reports-dir for a report over several "
                                                        "sweeps (default: their names joined by -)")
        elif name == "next":
            p.add_argument("params", nargs="+", help="sweep file(s) that ran, earlier first; the proposal follows "
                                                     "the last")
            p.add_argument("--out", default=None, help="where to write it (default: <last file's folder>/<name>.yaml)")
            p.add_argument("--name", default=None, help="the new sweep's name (default: <last sweep>_next)")
            p.add_argument("--budget", type=int, default=None, metavar="RUNS",
                           help="at most this many runs: the least valuable changes are cut first, and named")
            p.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
        else:
            p.add_argument("params", help="sweep file, e.g. params/demo.yaml" + (" (round 0 of the chain)"
                                                                                  if name == "auto" else ""))
        if name == "auto":
            p.add_argument("--budget", type=int, required=True, metavar="RUNS",
                           help="runs the whole chain may use, the first sweep's included")
            p.add_argument("--rounds", type=int, default=None, metavar="N", help="at most N rounds after the first")
            p.add_argument("--budget-hours", type=float, default=None, metavar="H",
                           help="also stop once the chain's runs have taken this many hours")
        p.add_argument("--reports-dir", default="reports", help="where sweep folders go (default: reports)")
        p.add_argument("--max-runs", type=int, default=MAX_RUNS,
                       help=f"refuse sweep files that describe more runs than this (default: {MAX_RUNS:,})")
        p.add_argument("--study-storage", default=None, metavar="URL_OR_FILE",
                       help="where a searching or early-terminating sweep keeps its Optuna study: a database URL "
                            "(postgresql://...) or a journal file every worker can reach (default: "
                            "study.journal in the sweep folder)")
        if name in ("run", "status", "auto"):
            p.add_argument("--all", action="store_true", help="every run's row, however many (default: a summary "
                                                              "above 25 runs)")
        if name not in ("run", "auto"):  # auto takes every option run takes
            continue
        p.add_argument("--workers", type=int, default=1, help="runs at once (default: 1)")
        p.add_argument("--dry-run", action="store_true", help="validate and show the plan; execute nothing")
        p.add_argument("--retry-failed", action="store_true", help="also rerun runs that failed before")
        p.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="kill a run after this long")
        p.add_argument("--no-report", action="store_true", help="skip building the report at the end")
        p.add_argument("--notebook", default=str(NOTEBOOKS / NOTEBOOK), help=argparse.SUPPRESS)
        p.add_argument("--executor", choices=list(EXECUTORS), default="local",
                       help="where runs execute: " + "; ".join(f"{k}: {v.help}" for k, v in EXECUTORS.items())
                            + " (default: local)")
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


def main(argv: list[str] | None = None, prog: str = "python -m lib.sweep",
         parser: argparse.ArgumentParser | None = None) -> int:
    """The sweep commands; `parser` is a larger one that has them (sweeplab's, with `train`)."""
    return quiet_pipe(lambda: _main(argv, parser or build_parser(prog)))


def _main(argv: list[str] | None, parser: argparse.ArgumentParser) -> int:
    args = parser.parse_args(argv)
    problem = _argument_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if getattr(args, "storage", None) and args.executor == "local":
        print("error: --storage is for --executor ray or slurm; local runs keep checkpoints in their run folder",
              file=sys.stderr)
        return 2
    try:
        if getattr(args, "study_storage", None):  # a bad or in-memory URL is refused before anything is read or written
            storage_spec(Path.cwd(), args.study_storage)
        return {"run": cmd_run, "status": cmd_status, "report": cmd_report, "next": cmd_next,
                "auto": cmd_auto}[args.command](args)
    except (SweepFileError, ConfigError, ClusterError, StudyStorageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        stop_all()
        print("\nstopped; run the same command again to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away: quiet_pipe ends the command as Unix tools end
        raise
    except OSError as exc:  # a full disk, a folder without write permission: the records written so far stand
        resume = "; fix that and run the same command again to resume" if args.command == "run" and not args.dry_run \
            else ""
        print(f"error: {os_error_line(exc)}{resume}", file=sys.stderr)
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
    reports = Path(args.reports_dir)
    if reports.exists() and not reports.is_dir():
        return f"--reports-dir {reports} is a file, not a folder; give the folder sweep folders go in (made if missing)"
    return None

