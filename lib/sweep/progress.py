"""What a sweep shows while it runs: how many runs are done, which are running and at which epoch, and how
long is left, counted in epochs.

The estimate: the epochs still to train (the planned epochs of every run not started, the rest of each
running run's) at the seconds an epoch has taken so far, spread over the workers in flight, and never
less than what the longest running run still needs. An epoch's seconds come from the runs that ended
(their wall time over their epochs) and from the running ones (time since they started over the epochs
their history.csv holds), so there is an estimate from the first finished epoch, before the first run
ends. Early stopping only makes runs shorter: the estimate is an upper bound then.

On a terminal, one line redrawn in place under the `done` lines; into a file or a pipe, plain lines
only: the `done` line of each run, and a summary line every SUMMARY_EVERY_S seconds, never a `\\r`.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from lib.core.formatting import duration
from lib.core.layout import HISTORY

SUMMARY_EVERY_S = 60.0  # a plain summary line this often when the output is not a terminal
READ_EVERY_S = 2.0  # how often the running runs' history.csv are counted
RUNNING_SHOWN = 3  # running runs named in the line before "+N more"


def epochs_done(work_dir: str | Path) -> int:
    """The epochs a run has finished so far: the rows of its history.csv (0 before the first)."""
    try:
        with open(Path(work_dir) / HISTORY, "rb") as handle:
            return max(0, sum(1 for line in handle if line.strip()) - 1)  # less the header
    except OSError:
        return 0


@dataclass
class _Running:
    planned: int  # epochs the run is set to train
    work_dir: str
    started: float  # time.monotonic()
    done: int = 0  # epochs finished, from its history.csv
    at_start: int = 0  # epochs it had when it started (a resumed run)


@dataclass
class SweepProgress:
    """The progress of one `execute`: told when runs start and end, asked for a line whenever it likes."""

    name: str  # "demo (local)"
    total: int  # runs to execute, new trials included
    workers: int
    planned_epochs: int  # epochs of a run not known yet (a search's trials to come)
    queued: Callable[[], list[int]] = list  # the planned epochs of each known run not started yet
    out: TextIO = field(default_factory=lambda: sys.stdout)
    terminal: bool | None = None  # None: whether `out` is one
    clock: Callable[[], float] = time.monotonic
    done: int = 0
    failed: int = 0
    running: dict[str, _Running] = field(default_factory=dict)
    _epoch_s: list[float] = field(default_factory=lambda: [0.0, 0.0])  # seconds, epochs of the runs that ended
    _started: float = 0.0
    _last_read: float = -1e9
    _last_summary: float = 0.0
    _width: int = 0

    def __post_init__(self) -> None:
        if self.terminal is None:
            self.terminal = bool(getattr(self.out, "isatty", lambda: False)())
        self._started = self._last_summary = self.clock()

    # what the driver tells it

    def started(self, name: str, planned: int, work_dir: str) -> None:
        already = epochs_done(work_dir)
        self.running[name] = _Running(planned, work_dir, self.clock(), already, already)
        self.tick(force=True)

    def ended(self, name: str, line: str | None, failed: bool, epochs: int | None, seconds: float,
              counted: bool = True) -> None:
        """A run ended: its `done` line (if any) printed above the progress line. `counted`: False for a run
        that stays to do (stopped by the user)."""
        run = self.running.pop(name, None)
        if counted:
            self.failed += failed
            self.done += not failed
            trained = (epochs or 0) - (run.at_start if run else 0)
            if trained > 0 and seconds > 0:
                self._epoch_s[0] += seconds
                self._epoch_s[1] += trained
        if line is not None:
            self._clear()
            print(line, file=self.out, flush=True)
        self.tick(force=True)

    def tick(self, force: bool = False) -> None:
        """Called often: re-count the running runs' epochs now and then, redraw the line (a terminal) or
        print a summary once a minute (anything else)."""
        now = self.clock()
        if force or now - self._last_read >= READ_EVERY_S:
            self._last_read = now
            for run in self.running.values():
                run.done = max(run.done, epochs_done(run.work_dir))
        if self.terminal:
            self._draw(self.line())
        elif now - self._last_summary >= SUMMARY_EVERY_S:
            self._last_summary = now
            print(self.line(), file=self.out, flush=True)

    def close(self) -> None:
        self._clear()

    # what it says

    def seconds_per_epoch(self) -> float | None:
        seconds, epochs = self._epoch_s
        now = self.clock()
        for run in self.running.values():
            if run.done > run.at_start:
                seconds += now - run.started
                epochs += run.done - run.at_start
        return seconds / epochs if epochs else None

    def seconds_left(self) -> float | None:
        per_epoch = self.seconds_per_epoch()
        if per_epoch is None:
            return None
        queued = self.queued()
        unknown = max(0, self.total - self.done - self.failed - len(self.running) - len(queued))
        running = [max(0, run.planned - run.done) for run in self.running.values()]
        epochs = sum(queued) + unknown * self.planned_epochs + sum(running)
        in_flight = max(1, min(self.workers, len(queued) + unknown + len(self.running)))
        return max([epochs * per_epoch / in_flight] + [left * per_epoch for left in running])

    def line(self) -> str:
        finished = self.done + self.failed
        parts = [f"{self.name}: {finished}/{self.total} runs ended ({self.done} done, {self.failed} failed)"]
        if self.running:
            named = [f"{name} {run.done}/{run.planned}" for name, run in list(self.running.items())[:RUNNING_SHOWN]]
            more = len(self.running) - RUNNING_SHOWN
            parts.append("running " + ", ".join(named) + (f" +{more} more" if more > 0 else ""))
        left = self.seconds_left()
        parts.append(f"wall time {duration(self.clock() - self._started)}, "
                     + (f"about {duration(left)} left" if left is not None else "time left: after the first epoch"))
        return "; ".join(parts)

    def _draw(self, text: str) -> None:
        width = _columns(self.out) - 1
        text = text if len(text) <= width else text[:max(0, width - 3)] + "..."
        self.out.write("\r" + text + " " * max(0, self._width - len(text)))
        self.out.flush()
        self._width = len(text)

    def _clear(self) -> None:
        if self.terminal and self._width:
            self.out.write("\r" + " " * self._width + "\r")
            self.out.flush()
            self._width = 0


def _columns(out: TextIO) -> int:
    import os
    import shutil

    try:
        return os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return shutil.get_terminal_size().columns
