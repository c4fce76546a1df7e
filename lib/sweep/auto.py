"""The autopilot: a budget of runs turned into a chain of sweeps, each proposed from the evidence of all before it.

    python -m lib.sweep auto SWEEP.yaml --budget RUNS [--rounds N] [--budget-hours H] [every option of run]

Round 0 is SWEEP.yaml. After each round the records of every round so far are read, `next` proposes the
following sweep with the budget that is left (lib.report.proposal, `next --budget`), and that file is
written beside the first as `<name>_r1.yaml`, `<name>_r2.yaml`, ... : ordinary sweep files, readable and
editable, that `run` takes by hand. The chain stops when no rule fires (or all it calls for ran already), the
budget is spent, --rounds is reached, or the runs' time reaches --budget-hours.

The chain's state is on disk only: the round files and the run records. Started again after a kill, `auto`
finds the last round file, runs what of it has not finished (as `run` does: a killed run resumes, a
finished one never reruns), and goes on. A run counts against the budget once it has started and ended
(finished or failed), read from its records. One report of the whole chain, `reports/<name>_chain/`, is
rebuilt after each round, with a "How we got here" section (lib.report.chain) read from `chain.json` there.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lib.core.formatting import is_number, timestamp
from lib.core.layout import run_dir
from lib.core.records import FINISHED_STATUSES, atomic_write_text, load_run, write_json
from lib.config.errors import SweepFileError
from lib.config.runs import MAX_RUNS
from lib.config.sweepfile import Sweep, load_sweep
from lib.sweep.plan import plan, sweep_root

CHAIN_JSON = "chain.json"  # in the chain's report folder: each round's file and the proposal lines that made it
PAID = FINISHED_STATUSES + ("failed",)  # a run that started and ended has been paid for


def round_path(first: Path, name: str, k: int) -> Path:
    """Round k's sweep file: beside the first, `<name>_r<k>.yaml` (round 0 is the first file itself)."""
    return first if k == 0 else first.parent / f"{name}_r{k}.yaml"


def chain_paths(first: Path, name: str) -> list[Path]:
    """The rounds written so far, in order: the first file, then each `_r<k>` file while they follow on."""
    paths = [first]
    while round_path(first, name, len(paths)).is_file():
        paths.append(round_path(first, name, len(paths)))
    return paths


@dataclass
class Spent:
    """What the rounds so far have cost, from their records."""

    runs: int = 0  # started and ended: finished or failed
    seconds: float = 0.0  # the runs' wall time
    per_round: list[dict] = field(default_factory=list)


def spent(sweeps: list[Sweep], reports_dir: str | Path) -> Spent:
    out = Spent()
    for sweep in sweeps:
        root = sweep_root(sweep, reports_dir)
        _, states = plan(sweep, root)
        runs = [name for name, st in states.items() if st.status in PAID]
        epochs = seconds = 0.0
        for name in runs:
            metrics = load_run(run_dir(root, name))["metrics"] or {}
            epochs += metrics.get("epochs_run", 0) if is_number(metrics.get("epochs_run")) else 0
            seconds += metrics.get("wall_time_s", 0.0) if is_number(metrics.get("wall_time_s")) else 0.0
        out.runs += len(runs)
        out.seconds += seconds
        out.per_round.append({"sweep": sweep.name, "runs": len(runs), "epochs": int(epochs), "seconds": seconds})
    return out


@dataclass
class Chain:
    """The settings of one chain."""

    first: Path
    budget: int  # runs, the first sweep's included
    reports_dir: str | Path = "reports"
    rounds: int | None = None  # at most this many rounds after round 0
    budget_hours: float | None = None
    max_runs: int = MAX_RUNS
    report: bool = True  # rebuild the chain's report after each round
    echo: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr))

    def __post_init__(self) -> None:
        self.first = Path(self.first)
        self.name = load_sweep(self.first, self.max_runs).name

    @property
    def report_dir(self) -> Path:
        return Path(self.reports_dir) / f"{self.name}_chain"


def check(chain: Chain) -> None:
    """Refuse settings the chain cannot start with, in one line."""
    if chain.budget < 1:
        raise SweepFileError(f"--budget {chain.budget} must be at least 1 run")
    if chain.rounds is not None and chain.rounds < 0:
        raise SweepFileError(f"--rounds {chain.rounds} must be 0 or more (rounds after the first sweep)")
    if chain.budget_hours is not None and not (is_number(chain.budget_hours) and chain.budget_hours > 0):
        raise SweepFileError(f"--budget-hours {chain.budget_hours} must be a number of hours above 0")
    if re.search(r"_r\d+$", chain.name):
        raise SweepFileError(f"{chain.first}: sweep {chain.name!r} looks like a round of a chain already; start "
                             f"`auto` from the chain's first file")
    first = load_sweep(chain.first, chain.max_runs)
    if first.search:
        size = int(first.search.trials)
    else:
        size = len(first.runs)
    if size > chain.budget:
        raise SweepFileError(f"{chain.first} has {size} runs, more than --budget {chain.budget}; raise the budget "
                             f"or start from a smaller sweep")


def plan_lines(chain: Chain, todo: int) -> list[str]:
    """--dry-run: how the budget will be counted, from the records so far."""
    paths = chain_paths(chain.first, chain.name)
    sweeps = [load_sweep(p, chain.max_runs) for p in paths]
    paid = spent(sweeps, chain.reports_dir)
    limits = [f"--rounds {chain.rounds}" if chain.rounds is not None else None,
              f"--budget-hours {chain.budget_hours:g}" if chain.budget_hours else None]
    return [f"auto: round {len(paths) - 1} is {paths[-1]}; the chain has {len(paths)} round file(s)",
            f"auto: budget {chain.budget} runs; paid so far {paid.runs} (runs of the chain that started and "
            f"ended, from their records; {paid.seconds / 3600:.2f} h of run time); this round executes {todo}; "
            f"left after it: {max(chain.budget - paid.runs - todo, 0)}",
            "auto: each later round is proposed with what is left (next --budget) and written beside the first as "
            f"{chain.name}_r<k>.yaml; the chain stops when no rule fires, the budget is spent"
            + "".join(f", {limit} is reached" for limit in limits if limit)]


def run_chain(chain: Chain, run_round: Callable[[Path], int]) -> tuple[int, str]:
    """Run the chain to its end: returns (the last round's exit status, why it stopped). `run_round(path)` runs
    one round's sweep file as `run` does (the CLI: cmd_run; a benchmark: records written without training)."""
    from lib.report.load import load_report
    from lib.report.nextfile import next_file_text
    from lib.report.proposal import propose

    check(chain)
    paths = chain_paths(chain.first, chain.name)
    log = _read_log(chain)
    status = 0
    while True:
        sweeps = [load_sweep(p, chain.max_runs) for p in paths]
        k = len(paths) - 1
        before = spent(sweeps, chain.reports_dir)
        chain.echo(f"auto: round {k}{f' of at most {chain.rounds}' if chain.rounds is not None else ''} "
                   f"({paths[-1]}): budget left {chain.budget - before.runs} of {chain.budget} run(s)")
        status = run_round(paths[-1])
        after = spent(sweeps, chain.reports_dir)
        left = chain.budget - after.runs
        reason = None
        if chain.rounds is not None and k >= chain.rounds:
            reason = f"--rounds {chain.rounds} reached"
        elif left <= 0:
            reason = f"the budget of {chain.budget} runs is spent"
        elif chain.budget_hours and after.seconds >= chain.budget_hours * 3600:
            reason = f"the runs' time reached --budget-hours {chain.budget_hours:g}"
        proposal = None
        if reason is None:
            roots = [sweep_root(s, chain.reports_dir) for s in sweeps]
            report = load_report(roots)
            if report.ranked.empty:
                reason = "no run of the chain finished, so there is nothing to learn from"
            else:
                name = f"{chain.name}_r{k + 1}"
                proposal = propose(report, sweeps[-1].raw, sweeps[-1].name, name, left)
                for line in proposal.lines():
                    chain.echo(f"auto: {line}")
                if proposal.draft is None:
                    reason = ("every change the rules call for is cut to fit the budget left" if proposal.cut
                              and not proposal.changes else "no rule fired, or all it calls for ran already")
        if reason is not None:
            log["stopped"] = reason
            _write_log(chain, paths, log, after)
            chain.echo(f"auto: stopped after round {k}: {reason}; {after.runs} of {chain.budget} run(s) paid")
            if chain.report:
                _build_report(chain, sweeps)
            return status, reason
        path = round_path(chain.first, chain.name, k + 1)
        command = f"python -m lib.sweep auto {chain.first} --budget {chain.budget}"
        atomic_write_text(path, next_file_text(proposal, command))
        load_sweep(path, chain.max_runs)  # an ordinary sweep file, or a bug in the proposal
        log.setdefault("rounds", {})[path.stem] = {"lines": proposal.lines(), "proposed_runs": proposal.draft.size()}
        log.pop("stopped", None)
        paths.append(path)
        _write_log(chain, paths, log, after)
        if chain.report:
            _build_report(chain, sweeps)
        chain.echo(f"auto: wrote {path}: {proposal.draft.size()} new run(s)")


def _read_log(chain: Chain) -> dict:
    from lib.core.records import read_json

    path = chain.report_dir / CHAIN_JSON
    try:
        found = read_json(path) if path.is_file() else None
    except (OSError, ValueError):
        found = None
    return found if isinstance(found, dict) else {}


def _write_log(chain: Chain, paths: list[Path], log: dict, paid: Spent) -> None:
    chain.report_dir.mkdir(parents=True, exist_ok=True)
    log.update({"name": chain.name, "budget": chain.budget, "files": [str(p) for p in paths],
                "sweeps": [load_sweep(p, chain.max_runs).name for p in paths], "paid_runs": paid.runs,
                "updated": timestamp()})
    write_json(chain.report_dir / CHAIN_JSON, log)


def _build_report(chain: Chain, sweeps: list[Sweep]) -> None:
    from lib.sweep.publish import build_report

    roots = [sweep_root(s, chain.reports_dir) for s in sweeps]
    chain.echo(f"auto: report of the whole chain: {build_report(roots, chain.report_dir)}")
