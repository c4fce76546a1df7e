"""Where a sweep's Optuna study lives, and opening it: a journal file in the sweep folder, or a database.

The sweep runner (lib.sweep.study), the run's trial reporter (lib.run.trial) and the report
(lib.report) all open a study through here, from the one string a run's config carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lib.core.layout import STUDY_FILE


def storage_spec(root: Path, given: str | None = None) -> str:
    """Where a sweep's study lives: a database URL or journal file given with --study-storage, else
    study.journal in the sweep folder; as the string runs receive."""
    if given and "://" in given:
        return given
    return str(Path(given).resolve() if given else (root / STUDY_FILE).resolve())


def open_storage(spec: str):
    """Optuna storage for `storage_spec`'s string: a journal file (process- and NFS-safe lock) or a database."""
    import optuna

    if "://" in spec:
        return optuna.storages.RDBStorage(spec)
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    Path(spec).parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(spec, lock_obj=JournalFileOpenLock(spec)))


def repair_journal(spec: str) -> str | None:
    """Drop a journal's last line when a writer killed mid-append left it unfinished (Optuna would glue
    the next record onto it and could not read the file again). Under Optuna's own lock, so no live
    write is cut. Returns what was done, or None."""
    path = Path(spec)
    if "://" in spec or not path.is_file():
        return None
    from optuna.storages.journal import JournalFileOpenLock

    lock = JournalFileOpenLock(spec)
    lock.acquire()
    try:
        data = path.read_bytes()
        if not data or data.endswith(b"\n"):
            return None
        keep = data.rfind(b"\n") + 1
        with open(path, "rb+") as handle:
            handle.truncate(keep)
        return f"dropped an unfinished last record ({len(data) - keep} bytes) from {spec}: its writer was stopped " \
               f"mid-write"
    finally:
        lock.release()


def quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass
class TrialRef:
    """The trial a run reports to: what the run's config carries (`study`, `study_name`, `trial`)."""

    storage: str
    study_name: str
    number: int


