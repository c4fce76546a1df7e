"""The journal file that holds a sweep's Optuna study: Optuna's JournalFileBackend, made safe to append to,
safe to read without writing, and honest about its lock.

Optuna's journal is one JSON record per line, appended under a lock file (`<journal>.lock`, made
with O_EXCL, which NFS honours). Three ways it goes wrong, and what is done here:

- An append cut short (a full disk, a writer killed mid-write) leaves half a record at the end; the
  next append is glued onto it and Optuna can no longer read the file. Here an append that fails is
  cut back to where it started, and a half record that a dead writer left is dropped, under the
  lock, before the next append (never through a symlink, and only in a file that is a journal).
- A writer killed while it held the lock leaves the lock file behind; Optuna then waits 30 s (its
  grace period) on every write, saying nothing. Here the holder writes who it is into the lock file,
  so a lock whose holder is gone is freed at once, and a wait says whom it waits for.
- Opening a journal creates it, and Optuna's create_study appends a record even when the study
  exists. `ReadOnlyJournal` reads an existing journal and refuses every write (status, report, --dry-run).
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import time
from typing import Any

from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.storages.journal._file import LOCK_FILE_SUFFIX

from lib.core.locks import holder_gone, holder_record, parse_holder, who

SQLITE_HEADER = b"SQLite format 3\x00"  # the first bytes of every SQLite database
SAY_WAITING_AFTER_S = 2.0  # a lock held longer than an append takes: say whom we wait for


class JournalError(OSError):
    """A journal cannot be used safely; the message says why and what to do."""

    def __str__(self) -> str:
        return str(self.strerror)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def lock_path(journal: str) -> str:
    """Optuna's lock file for a journal."""
    return journal + LOCK_FILE_SUFFIX


def check_journal(path: str) -> None:
    """Refuse a file that is not a journal (an SQLite database given without sqlite:///, any other file),
    before anything reads, repairs or appends to it. A missing or empty file is a new journal."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise JournalError(errno.EISDIR, f"{path} is a folder, not a journal file") from None
    if head == SQLITE_HEADER:
        raise JournalError(errno.EINVAL, f"{path} is an SQLite database, not a journal file; give it as "
                                         f"sqlite:///{os.path.abspath(path)}")
    if head and not head.startswith(b"{"):
        raise JournalError(errno.EINVAL, f"{path} is not an Optuna journal (its first line is not a JSON "
                                         f"record); give the study's journal or a database URL")


def drop_cut_record(fd: int, path: str) -> int:
    """Drop a last record that ends without a newline: its writer was stopped mid-write (the caller holds
    the journal's lock, so no live write is cut). Returns the journal's size after. Refuses to cut a file
    reached through a symlink: the file it points to may be anyone's."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    if os.path.islink(path):
        raise JournalError(errno.EINVAL, f"the last record of {path} is cut short, and {path} is a symlink, "
                                         f"which is never repaired; give the journal's own path "
                                         f"({os.path.realpath(path)}) with --study-storage")
    keep = size
    while keep > 0:
        start = max(0, keep - 65536)
        chunk = os.pread(fd, keep - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            break
        keep = start
    os.ftruncate(fd, keep)
    os.fsync(fd)
    _say(f"warning: dropped an unfinished last record ({size - keep} bytes) from {path}: its writer was stopped "
         f"mid-write")
    return keep


def _write_all(fd: int, data: bytes) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


class JournalLock(JournalFileOpenLock):
    """Optuna's O_EXCL lock file, with its holder (pid, host, start) written in it. A lock whose holder is a
    process of this host that is gone is freed at once; any other is waited for, saying whom after a
    moment, and freed after Optuna's grace period (`grace_period` s without change), saying so."""

    def __init__(self, journal: str, grace_period: int = 30):
        super().__init__(journal, grace_period)
        self._journal = journal

    def acquire(self) -> bool:
        delay, seen, since, said = 0.001, None, time.monotonic(), False
        while True:
            try:
                fd = os.open(self._lock_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                text, mtime = self._read()
                if text is None:  # released meanwhile
                    continue
                holder = parse_holder(text)
                if holder_gone(holder):
                    if self._free(text):
                        _say(f"note: freed {self._lock_file}, a lock left by a process that is gone ({who(holder)})")
                    continue
                if (text, mtime) != seen:  # a new holder, or the same one still at work: its wait starts now
                    seen, since = (text, mtime), time.monotonic()
                waited = time.monotonic() - since
                if waited > SAY_WAITING_AFTER_S and not said:
                    _say(f"note: waiting for {self._lock_file}, held by {who(holder) if holder else 'an unknown process'}; "
                         f"a lock unchanged for {self.grace_period} s is taken to be left behind and freed")
                    said = True
                if waited > self.grace_period:
                    if self._free(text):
                        _say(f"warning: freed {self._lock_file} after {self.grace_period} s unchanged "
                             f"({who(holder) if holder else 'no holder recorded'})")
                    continue
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
                continue
            try:
                os.write(fd, holder_record().encode())
            finally:
                os.close(fd)
            return True

    def _read(self) -> tuple[str | None, float]:
        try:
            with open(self._lock_file) as handle:
                return handle.read(), os.fstat(handle.fileno()).st_mtime
        except FileNotFoundError:
            return None, 0.0

    def _free(self, expected: str) -> bool:
        """Remove the lock file if it still holds `expected`. Two processes freeing the same stale lock must
        not remove the fresh lock of whichever came first, so the check and the removal happen under an
        flock on the journal itself (the journal is never renamed or removed)."""
        try:
            guard = os.open(self._journal, os.O_RDONLY)
        except OSError:
            guard = None
        try:
            if guard is not None:
                try:
                    fcntl.flock(guard, fcntl.LOCK_EX)
                except OSError:  # a filesystem without flock: the check below still narrows the race
                    pass
            text, _ = self._read()
            if text != expected:
                return False
            try:
                os.unlink(self._lock_file)
            except FileNotFoundError:
                return False
            return True
        finally:
            if guard is not None:
                os.close(guard)


class JournalFile(JournalFileBackend):
    """A journal that `run` writes: appends that never leave a cut record, under a `JournalLock`."""

    def __init__(self, path: str):
        check_journal(path)
        super().__init__(path, lock_obj=JournalLock(path))  # creates the file when it is new

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        import json

        data = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs).encode()
        self._lock.acquire()
        try:
            fd = os.open(self._file_path, os.O_RDWR | os.O_APPEND)
            try:
                end = drop_cut_record(fd, self._file_path)
                try:
                    _write_all(fd, data)
                except OSError as exc:
                    # A full disk (or any failed write) may have written part of the records: cut them
                    # back, so the journal stays readable and the next append starts on a fresh line.
                    # Truncating frees space, so it works on a full disk.
                    os.ftruncate(fd, end)
                    if exc.filename is None:  # os.write names no file; the user must see which disk is full
                        raise OSError(exc.errno, exc.strerror, self._file_path) from exc
                    raise
                os.fsync(fd)
            finally:
                os.close(fd)
        finally:
            self._lock.release()


class ReadOnlyJournal(JournalFileBackend):
    """An existing journal, read and never written: no file is created, no lock taken, no record cut or added."""

    def __init__(self, path: str):
        check_journal(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        super().__init__(path, lock_obj=JournalFileOpenLock(path))  # the file exists: Optuna creates nothing

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        raise JournalError(errno.EROFS, f"{self._file_path} is open read-only here (only `run` writes a study)")


def repair_journal(path: str) -> None:
    """Under the journal's lock, drop a last record that a writer stopped mid-write left (with a warning).
    `run` calls this before it reads the study; every append does it too."""
    check_journal(path)
    if not os.path.isfile(path):
        return
    lock = JournalLock(path)
    lock.acquire()
    try:
        fd = os.open(path, os.O_RDWR)
        try:
            drop_cut_record(fd, path)
        finally:
            os.close(fd)
    finally:
        lock.release()
