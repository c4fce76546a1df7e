"""Where a sweep's Optuna study lives, and opening it: a journal file in the sweep folder, or a database.

The sweep runner (lib.sweep.study), the run's trial reporter (lib.run.trial) and the report
(lib.report) all open a study through here, from the one string a run's config carries.

- Only `run` (and the runs it starts) open a study to write (`open_storage(spec)`); status, report and
  --dry-run read it through `read_study` (`writable=False`): nothing is created, locked, repaired or
  appended. `quiet_optuna` is the one place Optuna is told to be quiet.
- A database URL's password is never stored or shown. `storage_spec` takes it out of the URL; the
  URL without it is what sweep.json, each run's config, its checkpoints and W&B record. The password
  travels in this process's environment (`PASSWORD_ENV`), which the local runs inherit, and is handed
  to the database driver when it connects. Without it the driver's own ways apply (PostgreSQL:
  PGPASSWORD, ~/.pgpass), which is how workers on other machines get it.
- Every failure to open or read a study becomes `StudyStorageError`, one line that says what is wrong:
  a missing driver, a bad URL, permission denied, a database that cannot be reached, a damaged journal.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass
from pathlib import Path

from lib.core.layout import STUDY_FILE, SWEEP_JSON

PASSWORD_ENV = "SWEEPLAB_STUDY_PASSWORD"  # a study database's password, for this process and the runs it starts
DRIVERS = {"psycopg2": "psycopg2-binary", "pymysql": "pymysql", "MySQLdb": "mysqlclient", "pg8000": "pg8000",
           "psycopg": "psycopg[binary]"}  # module -> what to pip install
_URL_PASSWORD = re.compile(r"(://[^/?#@:]*:)[^/?#]*@")


class StudyStorageError(ValueError):
    """A study's storage cannot be opened or read; the message is one line, without any password."""


class StudyMissing(StudyStorageError):
    """Opened read-only, the storage holds nothing yet (no journal file, no database file, no tables)."""


class NoSuchStudy(StudyStorageError):
    """The storage holds studies, but none of the name asked for (another sweep's is never taken for it)."""


def is_url(spec: str) -> bool:
    return "://" in spec


def masked(text: str) -> str:
    """`text` with the password of any URL in it replaced by ***, and the password this process holds too."""
    text = _URL_PASSWORD.sub(r"\1***@", str(text))
    password = os.environ.get(PASSWORD_ENV)
    return text.replace(password, "***") if password and len(password) >= 3 else text


def storage_spec(root: Path, given: str | None = None) -> str:
    """Where a sweep's study lives, as the string runs receive: a database URL (its password taken out and
    kept in this process's environment) or a journal file given with --study-storage, else study.journal
    in the sweep folder. Journal paths and SQLite files are absolute, with symlinks kept (a journal is never
    repaired through one). Refuses in-memory databases and URLs that name no database."""
    if given and is_url(given):
        return _database_spec(given)
    return os.path.abspath(Path(given).expanduser() if given else root / STUDY_FILE)


def _database_spec(given: str) -> str:
    from sqlalchemy.engine import URL, make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(given)
    except (ArgumentError, ValueError) as exc:
        raise StudyStorageError(f"--study-storage {masked(given)} is not a database URL ({exc}); valid: "
                                f"sqlite:///PATH, postgresql://USER@HOST/DB, mysql+pymysql://USER@HOST/DB, or "
                                f"a journal file path") from None
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:") or \
                url.query.get("mode") == "memory":
            raise StudyStorageError(f"--study-storage {masked(given)} is an in-memory database: the study would "
                                    f"be gone when the sweep ends, and no run could reach it; give a file, e.g. "
                                    f"sqlite:///studies.db")
        if not database.startswith("file:") and not os.path.isabs(database):
            # as a journal path: taken from where it was given, then absolute, so a run or a later command
            # started in another folder (a Ray or SLURM worker's) reaches the same file, not a new one
            url = url.set(database=os.path.abspath(os.path.expanduser(database)))
            given = url.render_as_string(hide_password=False)
    if url.password is None:
        return given
    os.environ[PASSWORD_ENV] = str(url.password)  # for connecting here and in the runs this process starts
    return URL.create(url.drivername, url.username, None, url.host, url.port, url.database,
                      url.query).render_as_string(hide_password=False)


def recorded_study(root: Path) -> str | None:
    """Where the sweep folder's sweep.json says its study is (None without a readable record of one)."""
    import json

    try:
        record = json.loads((Path(root) / SWEEP_JSON).read_text())
    except (OSError, ValueError):
        return None
    study = record.get("study") if isinstance(record, dict) else None
    if not isinstance(study, str) or not study:
        return None
    try:  # a record written before passwords were kept out of URLs: used, never shown or kept
        return storage_spec(Path(root), study)
    except StudyStorageError:
        return study


def study_location(root: Path, given: str | None = None) -> str:
    """Where a sweep's study is: --study-storage when given, else where sweep.json records it (a journal
    recorded at a path that is gone, as after the sweep folder moved, gives way to the folder's own),
    else study.journal in the sweep folder."""
    if given:
        return storage_spec(root, given)
    default = storage_spec(root)
    recorded = recorded_study(root)
    if recorded is None or (not is_url(recorded) and not os.path.isfile(recorded) and os.path.isfile(default)):
        return default
    return recorded


def storage_exists(spec: str) -> bool:
    """Whether there is anything at `spec` to read (a database server counts, whatever it holds)."""
    if not is_url(spec):
        return os.path.isfile(spec)
    path = _sqlite_path(spec)
    return path is None or os.path.isfile(path)


def _sqlite_path(spec: str) -> str | None:
    """The file of an SQLite URL; None for any other database."""
    from sqlalchemy.engine import make_url

    url = make_url(spec)
    return url.database if url.get_backend_name() == "sqlite" else None


def open_storage(spec: str, writable: bool = True):
    """Optuna storage for `storage_spec`'s string: a journal file (NFS-safe lock, appends that never leave a
    cut record) or a database. Read-only (`writable=False`), it creates and writes nothing, and raises
    StudyMissing when there is nothing to read. Any other failure is a StudyStorageError."""
    try:
        return _open(spec, writable)
    except StudyStorageError:
        raise
    except Exception as exc:  # noqa: BLE001 - drivers and Optuna raise many kinds; each gets its one line
        if not writable and isinstance(exc, FileNotFoundError):
            raise StudyMissing(f"no study at {spec}") from None
        raise StudyStorageError(storage_problem(spec, exc)) from None


def _open(spec: str, writable: bool):
    import optuna

    if not is_url(spec):
        from lib.core.journal import JournalFile, ReadOnlyJournal

        if writable:
            Path(spec).parent.mkdir(parents=True, exist_ok=True)
            return optuna.storages.JournalStorage(JournalFile(spec))
        return optuna.storages.JournalStorage(ReadOnlyJournal(spec))
    path = _sqlite_path(spec)
    if path is not None:
        if writable:
            return optuna.storages.RDBStorage(spec)
        if not os.path.isfile(path):
            raise StudyMissing(f"no study at {spec}: {path} does not exist")
        # SQLite's read-only mode: nothing is written, not even a rollback journal beside the database
        return _read_only(f"sqlite:///{Path(path).resolve().as_uri()}?mode=ro&uri=true", {}, spec)
    password = os.environ.get(PASSWORD_ENV)
    # The password goes to the driver's connect() and never into the URL Optuna and SQLAlchemy keep.
    engine_kwargs = {"connect_args": {"password": password}} if password else {}
    if writable:
        return optuna.storages.RDBStorage(spec, engine_kwargs=engine_kwargs)
    return _read_only(spec, engine_kwargs, spec)


def _read_only(url: str, engine_kwargs: dict, spec: str):
    """A database storage that is only read: StudyMissing unless it has Optuna's tables already (Optuna
    would create them, and its version records, on opening)."""
    import optuna
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, **engine_kwargs)
    try:
        tables = set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    if not {"studies", "version_info", "alembic_version"} <= tables:
        raise StudyMissing(f"no study at {spec}: the database has no Optuna tables")
    return optuna.storages.RDBStorage(url, engine_kwargs=dict(engine_kwargs), skip_table_creation=True)


def storage_problem(spec: str, exc: BaseException) -> str:
    """One true line for an exception raised while opening or reading the study at `spec`, password masked."""
    where = masked(spec)
    if type(exc).__name__ == "JournalError":  # lib.core.journal's own one-line reasons
        return masked(str(exc))
    cause = exc.__cause__ or exc.__context__
    missing = next((e for e in (exc, cause) if isinstance(e, ModuleNotFoundError)), None)
    if missing is not None or isinstance(exc, ImportError):
        module = (missing.name if missing is not None else None) or "its database driver"
        install = DRIVERS.get(module, module)
        return f"the study storage {where} needs the database driver {module}, which is not installed: " \
               f"pip install {install}"
    kind = type(exc).__name__
    reason = masked((str(exc).strip().splitlines() or [""])[0][:200])
    if kind in ("NoSuchModuleError", "ArgumentError"):
        return f"the study storage {where} is not a database URL SQLAlchemy knows ({reason}); valid: sqlite:///PATH, " \
               f"postgresql://USER@HOST/DB, mysql+pymysql://USER@HOST/DB, or a journal file path"
    if isinstance(exc, PermissionError) or getattr(exc, "errno", None) in (errno.EACCES, errno.EPERM, errno.EROFS) \
            or "readonly database" in reason:
        target = getattr(exc, "filename", None) or where
        return f"permission denied on the study storage {where} ({target}); give a storage this user may read " \
               f"and write, or fix its permissions"
    if getattr(exc, "errno", None) == errno.ENOSPC:
        return f"no space left on the device of the study storage {where}; free some and run again to resume"
    if kind == "OperationalError":
        return f"cannot open the study database {where} ({reason}); check that it is reachable, that the " \
               f"folder of an SQLite file exists, and the user and password (PGPASSWORD, ~/.pgpass or the " \
               f"URL's own)"
    if isinstance(exc, (ValueError, KeyError)) and not is_url(spec):
        return f"cannot read the study {where} ({kind}: {reason}); the journal is damaged: restore it from a " \
               f"backup, or give the sweep a new name to start a new search (the run folders keep every " \
               f"run's records)"
    return f"cannot read the study {where} ({kind}: {reason})"


def quiet_optuna() -> None:
    """Import Optuna without its noise: no INFO line per trial, and no tqdm warning that IProgress is missing
    in a notebook without ipywidgets (Optuna imports tqdm.auto)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def read_study(spec: str, name: str):
    """(storage, study) for the study `name` at `spec`, opened read-only: nothing is created, locked, repaired
    or written. None when there is nothing there to read yet. Raises NoSuchStudy when the storage holds
    studies but none named `name`, and StudyStorageError, in one line, for any other failure."""
    quiet_optuna()
    import optuna

    try:
        storage = open_storage(spec, writable=False)
    except StudyMissing:
        return None
    try:
        names = [s.study_name for s in storage.get_all_studies()]
        if name not in names:
            raise NoSuchStudy(f"{masked(spec)} holds no study named {name!r} "
                              f"({len(names)} other: {', '.join(names[:5]) or 'none'})")
        return storage, optuna.load_study(study_name=name, storage=storage)
    except StudyStorageError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged journal, an unreachable database: one line
        raise StudyStorageError(storage_problem(spec, exc)) from None


@dataclass
class TrialRef:
    """The trial a run reports to: what the run's config carries (`study`, `study_name`, `trial`)."""

    storage: str
    study_name: str
    number: int
