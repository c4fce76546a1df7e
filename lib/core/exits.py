"""How a command ends on a problem of the machine rather than of its input.

A command whose reader went away (`sweeplab status ... | head -4`) ends as Unix tools do: quietly, with
the status a shell gives a process that SIGPIPE ended (128 + 13), and no traceback or advice on stderr.
A full disk is named by the file that could not be written and the free space of its folder, so the
user looks at the right disk.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import sys
from typing import Callable

READER_GONE = 128 + signal.SIGPIPE  # what a shell reports for `yes | head -1`'s yes


def quiet_pipe(main: Callable[[], int]) -> int:
    """`main()`, its output flushed here (so a closed pipe is noticed now, not at interpreter exit); a
    BrokenPipeError anywhere in it ends the command with READER_GONE and nothing more printed."""
    try:
        try:
            return main()
        finally:  # on SystemExit too: argparse's --help and usage errors exit from inside main
            sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit; point it at /dev/null so that flush has nowhere to fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return READER_GONE


def free_space(path: str | os.PathLike) -> str | None:
    """'1.2 GB free in /data/reports' for the folder of `path` (its nearest existing one), or None."""
    folder = os.path.dirname(os.path.abspath(path))
    while folder and not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    try:
        return f"{_size(shutil.disk_usage(folder).free)} free in {folder}"
    except OSError:
        return None


def os_error_line(exc: OSError) -> str:
    """One line for an OSError: its message and the file it names; for a full disk, that folder's free space."""
    if not exc.filename:
        return str(exc.strerror or exc)
    where = str(exc.filename)
    if exc.errno == errno.ENOSPC:
        free = free_space(exc.filename)
        where += f"; {free}" if free else ""
    return f"{exc.strerror or exc} ({where})"


def _size(count: int) -> str:
    """Bytes in the largest unit that keeps a number of at least 1: '0 B', '512 kB', '1.2 GB'."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" or count >= 100 else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")
