"""One lock helper: an exclusive `flock` on a file, held for a block of work.

A lock dies with its process, so after a crash or a kill it is free again. The holder writes who it
is (pid, host, start time) into the file, so whoever finds it busy can say who has it. Used for a
run folder (one training process at a time) and a sweep folder (one `run` of a sweep at a time).
The same holder record marks the lock file of a study's journal (lib.core.journal), which is
Optuna's kind of lock, so that one too can say who holds it, and be freed when its holder is gone.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from lib.core.formatting import timestamp


class LockBusy(Exception):
    """Another process holds the lock; `holder` is what it wrote (pid, host, started), or {}."""

    def __init__(self, path: Path, holder: dict[str, Any]):
        super().__init__(f"{path} is held by another process")
        self.path, self.holder = path, holder

    def who(self) -> str:
        """'pid 123 on host, started 2026-12-01 20:00:00', with '?' for what is unknown."""
        return who(self.holder)


def holder_record() -> str:
    """What a lock's holder writes into the lock file: this process, its host, the time."""
    return json.dumps({"pid": os.getpid(), "host": os.uname().nodename, "started": timestamp()})


def who(holder: dict[str, Any]) -> str:
    """A holder record as 'pid 123 on host, started 2026-12-01 20:00:00', with '?' for what is unknown."""
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {holder.get('started', '?')}"


def parse_holder(text: str) -> dict[str, Any]:
    """A holder record read back ({} when it is empty or not one)."""
    try:
        holder = json.loads(text or "{}")
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def holder_gone(holder: dict[str, Any]) -> bool:
    """Whether the record names a process of this host that no longer exists (a lock it left is stale).
    A holder on another host, or one that is unknown, is never taken for gone."""
    pid = holder.get("pid")
    return holder.get("host") == os.uname().nodename and isinstance(pid, int) and not process_alive(pid)


def process_alive(pid: int) -> bool:
    """Whether a process of this id exists on this host (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except (OverflowError, ValueError):
        return False  # not a possible pid
    return True


@contextmanager
def hold(path: str | Path, wait_s: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created with its folder if missing) for the block. A process
    that is still letting go (a kernel whose parent was killed) gets `wait_s` seconds; after that,
    LockBusy."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait_s
        while not _try(handle):
            if time.monotonic() >= deadline:
                raise LockBusy(path, _holder(handle))
            time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(holder_record())
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_held(path: str | Path) -> bool:
    """Whether a process holds the lock on `path` right now (a missing file is free; nothing is created)."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        handle = open(path)
    except OSError:
        return False
    with handle:
        if not _try(handle):
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _try(handle) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        return False
    return True


def _holder(handle) -> dict[str, Any]:
    handle.seek(0)
    return parse_holder(handle.read())
