"""Where a study lives, hardened: read-only commands change nothing, a journal survives a full disk and
stale locks, in-memory and unopenable storages are one true line each, and a password is never shown
or stored. Sweeps run in this process through test_search's `Inline` executor, on digits in seconds."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from test_search import QUICK, run_sweep, study_of, sweep_file

import lib.core.journal
import lib.sweep.cli
from lib.core.journal import JournalLock
from lib.core.storage import PASSWORD_ENV, StudyStorageError, open_storage, storage_spec
from lib.sweep.cli import main

SEARCH = {"method": "random", "trials": 2, "space": {"lr": {"log_uniform": [0.01, 0.3]}}}


@pytest.fixture(autouse=True)
def _no_password(monkeypatch):
    """A password a test gives stays in that test (the sweep keeps it in this process's environment)."""
    monkeypatch.delenv(PASSWORD_ENV, raising=False)


def one_line_error(capsys) -> str:
    """The command's error: one line, its last (a sweep's progress bar may come before it)."""
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err, err
    last = err.splitlines()[-1] if err else ""
    assert last.startswith("error: ") and ("\n" not in err or "%|" in err), err
    return last


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, byte for byte (symlinks as where they point)."""
    return {str(p.relative_to(folder)): (os.readlink(p).encode() if p.is_symlink() else p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file() or p.is_symlink()}


def searched(tmp_path, name="ro", extra=(), **body) -> tuple[Path, Path]:
    """A finished 2-trial search on digits: its sweep file and its reports folder."""
    path = sweep_file(tmp_path, {"name": name, "fixed": {**QUICK, "epochs": 1}, "search": SEARCH, **body})
    reports = tmp_path / "reports"
    assert run_sweep(path, reports, *extra) == 0
    return path, reports


# ---------------------------------------------------------------------------------------------
# 1. Read-only commands write nothing; repair only under run, only a journal, never through a symlink


def test_status_dry_run_and_report_leave_the_study_and_sweep_folder_byte_for_byte(tmp_path, inline, no_report,
                                                                                    capsys):
    path, reports = searched(tmp_path)
    before = snapshot(reports)
    for command in (["status"], ["run", "--dry-run"], ["report"]):
        assert main([command[0], str(path), *command[1:], "--reports-dir", str(reports)]) == 0
    assert snapshot(reports) == before  # Optuna's create_study appended a record on every call
    assert "2 runs: 2 completed" in capsys.readouterr().out


def test_an_sqlite_database_given_as_a_journal_is_refused_and_left_whole(tmp_path, inline, capsys):
    db = tmp_path / "studies.db"
    optuna.create_study(study_name="other", storage=f"sqlite:///{db}")
    intact = db.read_bytes()
    path = sweep_file(tmp_path, {"name": "ro", "fixed": {**QUICK, "epochs": 1}, "search": SEARCH})
    for command in (["status"], ["run", "--dry-run"], ["run", "--no-report"]):
        assert main([command[0], str(path), *command[1:], "--reports-dir", str(tmp_path / "r"),
                     "--study-storage", str(db)]) == 2
        assert f"{db} is an SQLite database, not a journal file; give it as sqlite:///{db}" in one_line_error(capsys)
    assert db.read_bytes() == intact and inline.submitted == []


@pytest.mark.parametrize("storage", ["typo.db", "newdir/study.journal", "sqlite:///{tmp}/typo.db",
                                     "sqlite:///{tmp}/newdir/typo.db"])
def test_read_only_commands_create_no_storage_that_does_not_exist(tmp_path, no_report, capsys, storage,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = sweep_file(tmp_path, {"name": "none", "fixed": QUICK, "search": SEARCH})
    before = sorted(p.name for p in tmp_path.rglob("*"))
    for command in (["status"], ["run", "--dry-run"], ["report"]):
        assert main([command[0], str(path), *command[1:], "--reports-dir", "reports",
                     "--study-storage", storage.format(tmp=tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert "(0 started so far)" in capsys.readouterr().out


def test_a_record_cut_short_is_repaired_only_by_run_and_never_through_a_symlink(tmp_path, inline, no_report, capsys):
    path, reports = searched(tmp_path)
    journal = reports / "ro" / "study.journal"
    cut = journal.read_bytes() + b'{"op_code": 7, "worker'  # a writer killed mid-append
    journal.write_bytes(cut)
    for command in (["status"], ["run", "--dry-run"], ["report"]):
        assert main([command[0], str(path), *command[1:], "--reports-dir", str(reports)]) == 0
        assert journal.read_bytes() == cut  # they read around it, and leave it
    target = tmp_path / "elsewhere.journal"
    journal.rename(target)
    journal.symlink_to(target)
    capsys.readouterr()
    assert run_sweep(path, reports) == 2
    err = one_line_error(capsys)
    assert "is cut short" in err and "is a symlink, which is never repaired" in err and str(target) in err
    assert target.read_bytes() == cut and journal.is_symlink()
    journal.unlink()
    target.rename(journal)
    assert run_sweep(path, reports) == 0  # the journal's own path: repaired, with a warning
    assert "dropped an unfinished last record (22 bytes)" in capsys.readouterr().err
    assert journal.read_bytes().endswith(b"\n")


def test_a_file_that_is_not_a_journal_is_refused_by_every_command_and_never_cut(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"my notes, no newline at the end")
    path = sweep_file(tmp_path, {"name": "ro", "fixed": QUICK, "search": SEARCH})
    for command in (["status"], ["run", "--no-report"]):
        assert main([command[0], str(path), *command[1:], "--reports-dir", str(tmp_path / "r"),
                     "--study-storage", str(notes)]) == 2
        assert "is not an Optuna journal" in one_line_error(capsys)
    assert notes.read_bytes() == b"my notes, no newline at the end"


def test_report_says_on_the_command_line_when_it_cannot_read_the_study(tmp_path, capsys, no_report):
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"my notes, no newline at the end")
    path = sweep_file(tmp_path, {"name": "ro", "fixed": QUICK, "search": SEARCH})
    root = tmp_path / "r" / "ro"
    (root / "runs" / "trial-000").mkdir(parents=True)
    (root / "sweep.json").write_text(json.dumps({"name": "ro", "study": str(notes)}))
    assert main(["report", str(path), "--reports-dir", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "warning: the report of 'ro' will have no search section: " in err and "is not an Optuna journal" in err
    assert notes.read_bytes() == b"my notes, no newline at the end"


# ---------------------------------------------------------------------------------------------
# 2. A full disk while a trial reports an epoch


def test_a_full_disk_mid_append_leaves_the_journal_readable_and_stops_the_sweep_in_one_line(tmp_path, inline,
                                                                                              monkeypatch, capsys):
    body = {"name": "full", "fixed": {**QUICK, "epochs": 2}, "search": {**SEARCH, "trials": 3},
            "early_terminate": {"type": "median", "min_epochs": 1, "startup_trials": 5}}
    path, reports = sweep_file(tmp_path, body), tmp_path / "reports"
    journal = str(reports / "full" / "study.journal")
    real_write = os.write
    full = {"after": None}

    def write(fd, data):  # the disk fills while trial 1 reports its first epoch: half a record lands
        if full["after"] is None and b'"op_code":7' in data and b'"trial_id":1' in data:
            full["after"] = True
            if os.path.realpath(f"/proc/self/fd/{fd}") == journal:
                real_write(fd, data[:len(data) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(lib.core.journal.os, "write", write)
    assert run_sweep(path, reports) == 1
    err = one_line_error(capsys)
    assert err.startswith("error: No space left on device") and "resume" in err
    assert f"({journal}; " in err and "free in" in err  # the file that could not be written, and its room
    monkeypatch.setattr(lib.core.journal.os, "write", real_write)  # space again
    lines = Path(journal).read_bytes().splitlines()
    assert all(json.loads(line) for line in lines)  # no half record: Optuna reads it, nothing is glued on
    states = [t.state for t in study_of(reports / "full", "full").trials]
    assert states == [TrialState.COMPLETE, TrialState.RUNNING]  # not failed: it resumes
    inline.submitted.clear()
    assert run_sweep(path, reports) == 0
    trials = study_of(reports / "full", "full").trials
    assert [t.user_attrs["run"] for t in trials] == ["trial-000", "trial-001", "trial-002"]  # the budget held
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert [s.name for s in inline.submitted] == ["trial-001", "trial-002"]  # the finished trial never ran again


def test_a_run_stopped_by_a_full_disk_records_no_failure_and_stays_resumable(tmp_path):
    from lib.config.sweepfile import RunSpec
    from lib.sweep.executors.base import execute_run, run_task

    class FullDisk:  # a runner whose notebook dies as a full disk makes it die
        def start(self, output, parameters_file, log):
            line = f"OSError: [Errno {errno.ENOSPC}] {os.strerror(errno.ENOSPC)}"
            return subprocess.Popen([sys.executable, "-c", f"open({str(log)!r}, 'a').write({line!r} + '\\n'); "
                                                           f"raise SystemExit(1)"])

    run_dir = tmp_path / "r"
    outcome = execute_run(run_task(RunSpec("r", {"dataset": "digits"}, "test", sweep="s"), str(run_dir), str(run_dir),
                                   "no.ipynb"),
                          runner=FullDisk())
    assert outcome.failed and "No space left on device" in outcome.error
    assert not (run_dir / "failure.json").exists()  # a rerun resumes it instead of waiting for --retry-failed


# ---------------------------------------------------------------------------------------------
# 3. In-memory storages


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:s?mode=memory&uri=true"])
def test_an_in_memory_study_storage_is_refused_in_one_line(tmp_path, inline, capsys, url):
    path = sweep_file(tmp_path, {"name": "mem", "fixed": QUICK, "search": SEARCH})
    for command in (["run", "--no-report"], ["status"]):
        assert main([command[0], str(path), *command[1:], "--reports-dir", str(tmp_path / "r"),
                     "--study-storage", url]) == 2
        assert f"--study-storage {url} is an in-memory database" in one_line_error(capsys)
    assert inline.submitted == [] and not (tmp_path / "r").exists()


# ---------------------------------------------------------------------------------------------
# 14. Passwords


def files_holding(folder: Path, secret: bytes) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and secret in p.read_bytes()]


PG_URL = "postgresql://sweeper:hunter2@127.0.0.1:9/studies"  # no server here: opening it is redirected or fails
PG_STORED = "postgresql://sweeper@127.0.0.1:9/studies"


@pytest.fixture
def pg_in_sqlite(tmp_path, monkeypatch):
    """PostgreSQL URLs opened in this process go to an SQLite file instead; the specs asked for are kept."""
    asked = []
    real_open = lib.core.storage._open

    def redirected(spec, writable):
        if spec.startswith("postgresql"):
            asked.append(spec)
            spec = f"sqlite:///{tmp_path / 'pg-stand-in.db'}"
        return real_open(spec, writable)

    monkeypatch.setattr(lib.core.storage, "_open", redirected)
    return asked


def test_a_password_in_a_database_url_is_never_shown_or_stored(tmp_path, inline, pg_in_sqlite, monkeypatch, capsys):
    """A search on a database given with a password: every file it writes (sweep.json, config.json, history,
    checkpoints, the study), what each run hands papermill (params.yaml, the notebook's injected cell), its
    W&B config, and every line it prints, are searched for the password."""
    import yaml

    import lib.run.loop

    configs = []
    real_tracking = lib.run.loop.start_tracking
    monkeypatch.setattr(lib.run.loop, "start_tracking", lambda mode, **kw: configs.append(kw["config"]) or
                        real_tracking(mode, **kw))
    path = sweep_file(tmp_path, {"name": "secret", "fixed": {**QUICK, "epochs": 2}, "search": SEARCH,
                                 "early_terminate": {"type": "median", "min_epochs": 1}})
    reports = tmp_path / "reports"
    assert run_sweep(path, reports, "--study-storage", PG_URL) == 0
    for command in (["status"], ["run", "--dry-run"]):
        assert main([command[0], str(path), *command[1:], "--reports-dir", str(reports), "--study-storage",
                     PG_URL]) == 0
    assert main(["status", str(path), "--reports-dir", str(reports)]) == 0  # from sweep.json's record
    out = capsys.readouterr()
    assert "hunter2" not in out.out + out.err and "2 runs: 2 completed" in out.out
    assert set(pg_in_sqlite) == {PG_STORED}  # every open, the runs' own included, without the password
    assert len(configs) == 2 and all(c["study"] == PG_STORED for c in configs)  # W&B's config
    assert all("hunter2" not in yaml.safe_dump(task.config) for task in inline.submitted)  # params.yaml
    assert files_holding(tmp_path, b"hunter2") == []
    assert (reports / "secret" / "runs" / "trial-000" / "checkpoints" / "last.pt").is_file()
    assert json.loads((reports / "secret" / "sweep.json").read_text())["study"] == PG_STORED


@pytest.mark.slow
def test_a_password_reaches_no_file_of_a_run_through_papermill(tmp_path, pg_in_sqlite, capsys):
    """The real executor: the sweep's own opens are redirected, its runs' kernels are not, so each run fails
    to reach the database (no driver here), after writing params.yaml, the notebook and run.log."""
    path = sweep_file(tmp_path, {"name": "secret", "fixed": {**QUICK, "epochs": 1},
                                 "search": {**SEARCH, "trials": 1}})
    reports = tmp_path / "reports"
    assert run_sweep(path, reports, "--study-storage", PG_URL) == 1
    run = reports / "secret" / "runs" / "trial-000"
    assert "needs the database driver" in json.loads((run / "failure.json").read_text())["error"]
    assert PG_STORED in (run / "params.yaml").read_text() and PG_STORED in (run / "train.ipynb").read_text()
    out = capsys.readouterr()
    assert "hunter2" not in out.out + out.err and files_holding(tmp_path, b"hunter2") == []


def test_a_password_is_masked_in_every_message_and_handed_only_to_the_driver(tmp_path, no_report, monkeypatch,
                                                                              capsys):
    url = "postgresql://sweeper:hunter2@127.0.0.1:9/studies"
    path = sweep_file(tmp_path, {"name": "pg", "fixed": QUICK, "search": SEARCH})
    for command in (["status"], ["run", "--dry-run"], ["run", "--no-report"], ["report"]):
        code = main([command[0], str(path), *command[1:], "--reports-dir", str(tmp_path / "r"), "--study-storage", url])
        out = capsys.readouterr()
        assert "hunter2" not in out.out + out.err
        if command != ["report"]:  # the report reads the study where sweep.json records it
            assert code == 2 and "postgresql://sweeper@127.0.0.1:9/studies" in out.err
    assert files_holding(tmp_path, b"hunter2") == []
    assert "hunter2" not in lib.core.storage.masked(f"cannot parse {url}")

    seen = {}

    class Stub:  # Optuna's RDBStorage, recording what it is given instead of connecting
        def __init__(self, url, engine_kwargs=None, **kwargs):
            seen.update(url=url, engine_kwargs=engine_kwargs)

    monkeypatch.setattr(optuna.storages, "RDBStorage", Stub)
    spec = storage_spec(tmp_path, url)
    assert spec == "postgresql://sweeper@127.0.0.1:9/studies" and os.environ[PASSWORD_ENV] == "hunter2"
    open_storage(spec)  # the runs open their study from this string, with the variable they inherit
    assert seen == {"url": spec, "engine_kwargs": {"connect_args": {"password": "hunter2"}}}


# ---------------------------------------------------------------------------------------------
# 17. Each storage failure, its own true line


@pytest.mark.parametrize("storage, message", [
    ("postgresql://sweeper@127.0.0.1:9/studies", "needs the database driver psycopg, which is not installed: pip "
                                                 "install psycopg[binary]"),
    ("nosuchdb://host/studies", "is not a database URL SQLAlchemy knows"),
    ("sqlite:///{tmp}/no/such/folder/studies.db", "cannot open the study database"),
    ("{tmp}", "is a folder, not a journal file"),
])
def test_each_storage_failure_says_what_is_wrong(tmp_path, capsys, storage, message):
    path = sweep_file(tmp_path, {"name": "bad", "fixed": QUICK, "search": SEARCH})
    assert main(["run", str(path), "--no-report", "--reports-dir", str(tmp_path / "r"),
                 "--study-storage", storage.format(tmp=tmp_path)]) == 2
    err = one_line_error(capsys)
    assert message in err and "restore it from a backup" not in err


def test_a_storage_this_user_may_not_write_is_permission_denied(tmp_path, capsys):
    if os.geteuid() == 0:  # root writes anywhere but in /sys
        place = Path("/sys/sweeplab-test/study.journal")
        if not Path("/sys").is_dir() or place.parent.exists():
            pytest.skip("needs /sys, where even root may not make folders")
    else:
        (tmp_path / "locked").mkdir(mode=0o500)
        place = tmp_path / "locked" / "sub" / "study.journal"
    path = sweep_file(tmp_path, {"name": "denied", "fixed": QUICK, "search": SEARCH})
    assert main(["run", str(path), "--no-report", "--reports-dir", str(tmp_path / "r"), "--study-storage",
                 str(place)]) == 2
    assert f"permission denied on the study storage {place}" in one_line_error(capsys)


def test_a_seed_no_sampler_takes_is_refused_when_the_file_is_read(tmp_path, capsys):
    path = sweep_file(tmp_path, {"name": "seed", "fixed": QUICK, "search": {**SEARCH, "seed": 2**32}})
    assert main(["run", str(path), "--no-report", "--reports-dir", str(tmp_path / "r")]) == 2
    err = one_line_error(capsys)
    assert "search.seed must be a whole number from 0 to 2**32 - 1 (4294967295), got 4294967296" in err
    assert not (tmp_path / "r").exists()


def test_a_lock_left_by_a_writer_that_is_gone_is_freed_at_once_and_read_only_commands_never_wait(
        tmp_path, inline, no_report, capsys):
    path, reports = searched(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    lock = reports / "ro" / "study.journal.lock"
    record = json.dumps({"pid": gone.pid, "host": os.uname().nodename, "started": "2026-01-01 00:00:00"})
    lock.write_text(record)  # as a sweep killed mid-append leaves it
    for command in (["status"], ["run", "--dry-run"], ["report"]):
        assert main([command[0], str(path), *command[1:], "--reports-dir", str(reports)]) == 0
    assert lock.read_text() == record and "waiting for" not in capsys.readouterr().err  # no lock taken
    body = {"name": "ro", "fixed": {**QUICK, "epochs": 1}, "search": {**SEARCH, "trials": 3}}
    assert run_sweep(sweep_file(tmp_path, body), reports) == 0
    err = capsys.readouterr().err
    assert f"note: freed {lock}, a lock left by a process that is gone (pid {gone.pid} on " in err
    assert not lock.exists() and len(study_of(reports / "ro", "ro").trials) == 3


def test_a_lock_held_by_an_unknown_writer_is_waited_for_saying_so_then_freed(tmp_path, capsys):
    journal = tmp_path / "study.journal"
    journal.write_text("")
    Path(f"{journal}.lock").write_text("")  # Optuna's own lock records no holder
    lock = JournalLock(str(journal), grace_period=3)
    assert lock.acquire()
    err = capsys.readouterr().err
    assert f"note: waiting for {journal}.lock, held by an unknown process; a lock unchanged for 3 s is taken " \
           f"to be left behind and freed" in err
    assert f"warning: freed {journal}.lock after 3 s unchanged (no holder recorded)" in err
    holder = json.loads(Path(f"{journal}.lock").read_text())
    assert holder["pid"] == os.getpid()
    lock.release()
    assert not Path(f"{journal}.lock").exists()


def test_opening_errors_are_study_storage_errors_without_a_traceback(tmp_path):
    with pytest.raises(StudyStorageError, match="is a folder, not a journal file"):
        open_storage(str(tmp_path))


def test_read_study_opens_only_what_is_there_and_never_takes_another_sweeps_study(tmp_path):
    from lib.core.storage import NoSuchStudy, read_study

    journal = tmp_path / "study.journal"
    assert read_study(str(journal), "mine") is None and not journal.exists()  # nothing made to read from
    optuna.create_study(study_name="theirs", storage=open_storage(str(journal)))
    before = journal.read_bytes()
    with pytest.raises(NoSuchStudy, match="holds no study named 'mine' \\(1 other: theirs\\)"):
        read_study(str(journal), "mine")
    storage, study = read_study(str(journal), "theirs")
    assert study.study_name == "theirs" and storage.get_all_studies()[0].study_name == "theirs"
    assert journal.read_bytes() == before  # read-only: not a byte appended
