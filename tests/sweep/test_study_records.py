"""What ran is what the records say: a search killed at any write holds its budget and runs each point once,
confirmation and renamed runs leave no stray trials, a value no run can take fails once, a budget may
grow, database studies are found again, and the report counts each run and attempt once. Sweeps run in
this process through test_search's `Inline` executor, on digits in seconds."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.storages import JournalStorage, RDBStorage
from optuna.trial import TrialState
from test_search import QUICK, Inline, fail_run, run_sweep, study_of, sweep_file

import lib.sweep.cli
from lib.report.load import load_report
from lib.report.studies import searches, trials_table
from lib.sweep.cli import main
from lib.sweep.executors.base import RunOutcome, execute_run
from lib.sweep.study import SweepStudy

ROOT = Path(__file__).resolve().parents[2]
GRID = {"method": "grid", "space": {"optimizer": ["sgd", "adam", "rmsprop"]}}  # 3 points, 3 trials


def storage_url(tmp_path, kind: str) -> list[str]:
    """--study-storage for a study in the sweep folder's journal (none) or in an SQLite database."""
    return [] if kind == "journal" else ["--study-storage", f"sqlite:///{tmp_path / 'studies.db'}"]


def load(reports: Path, name: str, kind: str, tmp_path: Path) -> optuna.Study:
    if kind == "journal":
        return study_of(reports / name, name)
    return optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / 'studies.db'}")


def points_run(reports: Path, name: str, key: str) -> list:
    runs = reports / name / "runs"
    return sorted(json.loads((p / "config.json").read_text())[key] for p in runs.iterdir()
                  if (p / "metrics.json").is_file())


def assert_exact(study: optuna.Study, reports: Path, name: str, budget: int) -> None:
    """The budget held, every trial ended, and each run has one trial and a point of its own."""
    named = [t for t in study.trials if t.user_attrs.get("run", "").startswith("trial-")]
    assert len(named) == budget and len({t.user_attrs["run"] for t in named}) == budget
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in named)
    assert not [t for t in study.trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert len(points_run(reports, name, "optimizer")) == budget


# ---------------------------------------------------------------------------------------------
# 5. A grid search killed between a trial handed out and named


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
@pytest.mark.parametrize("cut", ["before the name", "while sampling"])
def test_a_grid_trial_handed_out_but_never_named_runs_its_point_once(tmp_path, inline, kind, cut):
    body = {"name": "g", "fixed": {**QUICK, "epochs": 1}, "search": GRID}
    path, reports = sweep_file(tmp_path, body), tmp_path / "reports"
    sweep = lib.sweep.cli.load_sweep(path)
    study = SweepStudy.for_run(sweep, reports / "g", *storage_url(tmp_path, kind)[1:])
    if cut == "before the name":  # what new_search_run does up to the kill
        study.study.ask(sweep.search.distributions())
    else:  # the trial and its grid point exist; none of its parameters does yet
        storage = study.storage
        trial_id = storage.create_new_trial(storage.get_study_id_from_name("g"))
        study.study.sampler.before_trial(study.study, storage.get_trial(trial_id))
    del study
    assert run_sweep(path, reports, *storage_url(tmp_path, kind)) == 0
    assert points_run(reports, "g", "optimizer") == ["adam", "rmsprop", "sgd"]  # each point once, none skipped
    assert len(inline.submitted) == 3
    assert_exact(load(reports, "g", kind, tmp_path), reports, "g", 3)


def test_a_grid_run_whose_trial_was_left_waiting_gets_that_trial(tmp_path, inline):
    body = {"name": "w", "fixed": {**QUICK, "epochs": 2}, "grid": {"lr": [0.1, 0.05]},
            "early_terminate": {"type": "median", "min_epochs": 1}}
    path, reports = sweep_file(tmp_path, body), tmp_path / "reports"
    study = SweepStudy.for_run(lib.sweep.cli.load_sweep(path), reports / "w")
    study.study.enqueue_trial({}, user_attrs={"values": {"lr": 0.1}, "run": "lr0.1"})  # killed before the ask
    del study
    assert run_sweep(path, reports) == 0
    trials = study_of(reports / "w", "w").trials
    assert [(t.user_attrs["run"], t.state) for t in trials] == [("lr0.1", TrialState.COMPLETE),
                                                                ("lr0.05", TrialState.COMPLETE)]


class Killed(BaseException):
    """Stands for SIGKILL: nothing catches it."""


STORAGE_WRITES = ("create_new_study", "set_study_user_attr", "create_new_trial", "set_trial_param",
                  "set_trial_state_values", "set_trial_intermediate_value", "set_trial_user_attr",
                  "set_trial_system_attr")


def kill_at_write(monkeypatch, when: dict) -> None:
    """Every write to a study, in a journal or a database, counts; the `when["at"]`-th never happens."""
    for cls in (JournalStorage, RDBStorage):
        for name in STORAGE_WRITES:
            def write(self, *args, _real=getattr(cls, name), **kwargs):
                when["count"] += 1
                if when["count"] == when.get("at"):
                    raise Killed
                return _real(self, *args, **kwargs)

            monkeypatch.setattr(cls, name, write)


class Quick(Inline):
    """Runs that train nothing, so a sweep can be killed at each of its writes in turn: each epoch's made-up
    metric is reported to the run's trial (lib.run.trial, as lib.train does, before the epoch's records),
    and the records are written as lib.train writes them; a run cut short goes on from its history."""

    ACC = {"sgd": 0.5, "adam": 0.7, "rmsprop": 0.6}

    def submit(self, task):
        from lib.core.records import load_history, write_history, write_json
        from lib.run.trial import trial_reporter
        from lib.config.runconfig import RunConfig

        self.submitted.append(task)
        cfg = RunConfig.from_dict(task.config)  # the worker's one RunConfig, as the notebook's
        out = Path(cfg.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", cfg.to_dict())
        history = load_history(out / "history.csv") if (out / "history.csv").is_file() else []
        reporter = trial_reporter(cfg.study, cfg.study_name, cfg.trial)
        status = "completed"
        while len(history) < cfg.epochs and status == "completed":
            acc = self.ACC[cfg.optimizer] + 0.1 * (len(history) + 1)
            history.append({"epoch": len(history) + 1, "val_loss": 1 - acc, "val_acc": acc})
            if reporter.should_stop(history, last_epoch=len(history) == cfg.epochs):
                status = "pruned"
            write_history(out / "history.csv", history)
        metrics = {"status": status, "epochs_run": len(history), "val_acc": history[-1]["val_acc"], "test_acc": 0.5}
        write_json(out / "metrics.json", metrics)
        self.ended.append((task, RunOutcome(task.name, status, 0.0, None, metrics)))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_a_search_killed_at_any_write_holds_its_budget_and_runs_each_point_once(tmp_path, monkeypatch, kind):
    """The sweep is stopped before each of its study writes in turn (the runs' own reports included), then
    run again: the budget holds, each grid point runs once, and no run that finished runs again."""
    executor = Quick()
    monkeypatch.setattr(lib.sweep.cli, "make_executor", lambda args: executor)
    when = {"count": 0}
    kill_at_write(monkeypatch, when)
    body = {"name": "k", "fixed": {**QUICK, "epochs": 2}, "search": GRID,
            "early_terminate": {"type": "median", "min_epochs": 1, "startup_trials": 1}}
    first = tmp_path / "whole"
    first.mkdir()
    assert run_sweep(sweep_file(first, body), first / "reports", *storage_url(first, kind)) == 0
    writes = when["count"]
    assert writes > 20
    for at in range(1, writes + 1):
        place = tmp_path / f"at{at}"
        place.mkdir()
        path, reports = sweep_file(place, body), place / "reports"
        when.update(count=0, at=at)
        with pytest.raises(Killed):
            run_sweep(path, reports, *storage_url(place, kind))
        finished = {p.parent.name for p in (reports / "k" / "runs").glob("*/metrics.json")}
        when["at"] = None
        executor.submitted.clear()
        assert run_sweep(path, reports, *storage_url(place, kind)) == 0, f"killed at write {at}"
        assert points_run(reports, "k", "optimizer") == ["adam", "rmsprop", "sgd"], f"killed at write {at}"
        assert_exact(load(reports, "k", kind, place), reports, "k", 3)
        assert not finished & {t.name for t in executor.submitted}, f"killed at write {at}"


# ---------------------------------------------------------------------------------------------
# 6. Confirmation runs and renamed runs


def test_a_confirmation_run_resumed_after_a_kill_is_never_a_trial(tmp_path, inline):
    body = {"name": "c", "fixed": {**QUICK, "epochs": 1},
            "search": {"method": "random", "trials": 2, "space": {"lr": {"log_uniform": [0.01, 0.3]}}},
            "confirm": {"top": 1, "seeds": [1]}}
    path, reports = sweep_file(tmp_path, body), tmp_path / "reports"
    assert run_sweep(path, reports) == 0
    confirm = next(p for p in (reports / "c" / "runs").iterdir() if not p.name.startswith("trial-"))
    (confirm / "metrics.json").unlink()  # killed before it ended: it resumes from its checkpoint
    assert (confirm / "checkpoints" / "last.pt").is_file()
    inline.submitted.clear()
    assert run_sweep(path, reports) == 0
    assert [t.name for t in inline.submitted] == [confirm.name] and inline.submitted[0].config["trial"] is None
    trials = study_of(reports / "c", "c").trials
    assert [t.user_attrs["run"] for t in trials] == ["trial-000", "trial-001"]
    assert json.loads((confirm / "config.json").read_text())["trial"] is None


def test_a_run_adopted_under_a_new_name_takes_its_open_trial_along(tmp_path, inline, monkeypatch, capsys):
    from lib.run.trial import TrialReporter

    class Stop(BaseException):
        pass

    real = TrialReporter.should_stop

    def killed_after_the_first_epoch(self, history, last_epoch):
        stop = real(self, history, last_epoch)
        if len(history) == 1 and not done:
            done.append(True)
            raise Stop
        return stop

    done: list = []
    monkeypatch.setattr(TrialReporter, "should_stop", killed_after_the_first_epoch)
    text = yaml.safe_dump({"name": "a", "fixed": {**QUICK, "epochs": 3}, "grid": {"lr": [0.1, 0.05]},
                           "early_terminate": {"type": "median", "min_epochs": 1, "startup_trials": 5}})
    path = tmp_path / "a.yaml"
    path.write_text(text)
    reports = tmp_path / "reports"
    with pytest.raises(Stop):
        run_sweep(path, reports)
    assert [t.state for t in study_of(reports / "a", "a").trials] == [TrialState.RUNNING]
    path.write_text(text + "seeds: [0, 1]\n")  # renames lr0.1 to lr0.1-seed0
    capsys.readouterr()
    assert run_sweep(path, reports) == 0
    assert "reusing the records of lr0.1 -> lr0.1-seed0" in capsys.readouterr().out
    trials = study_of(reports / "a", "a").trials
    assert sorted(t.user_attrs["run"] for t in trials) == ["lr0.05-seed0", "lr0.05-seed1", "lr0.1-seed0",
                                                           "lr0.1-seed1"]  # one trial each: the old one went along
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert trials[0].user_attrs == {"run": "lr0.1-seed0", "values": {"lr": 0.1, "seed": 0}}
    assert sorted(trials[0].intermediate_values) == [1, 2, 3]


def test_a_finished_run_adopted_under_a_new_name_shows_its_new_name_in_the_trials_table(tmp_path, inline):
    text = yaml.safe_dump({"name": "a", "fixed": {**QUICK, "epochs": 2}, "grid": {"lr": [0.1, 0.05]},
                           "early_terminate": {"type": "median", "min_epochs": 1, "startup_trials": 5}})
    path = tmp_path / "a.yaml"
    path.write_text(text)
    reports = tmp_path / "reports"
    assert run_sweep(path, reports) == 0
    path.write_text(text + "seeds: [0, 1]\n")  # lr0.1 -> lr0.1-seed0: its finished trial keeps the old name
    assert run_sweep(path, reports) == 0
    table = trials_table(load_report(reports / "a"))
    assert sorted(table["run"]) == ["lr0.05-seed0", "lr0.05-seed1", "lr0.1-seed0", "lr0.1-seed1"]
    assert table["value"].notna().all()

# ---------------------------------------------------------------------------------------------
# 7. A sampled value no run can take


class ViaExecuteRun(Inline):
    """Runs go through execute_run, as on every executor (a value no run can take fails before any kernel)."""

    def submit(self, task):
        self.submitted.append(task)
        try:
            outcome = execute_run(task)
        except BaseException as exc:  # as LocalExecutor does
            outcome = RunOutcome(task.name, "failed", 0.0, f"{type(exc).__name__}: {exc}")
        self.ended.append((task, outcome))


def test_an_invalid_sampled_value_is_one_failed_trial_with_its_reason(tmp_path, monkeypatch, capsys):
    executor = ViaExecuteRun()
    monkeypatch.setattr(lib.sweep.cli, "make_executor", lambda args: executor)
    body = {"name": "neg", "fixed": {**QUICK, "epochs": 1},
            "search": {"method": "random", "trials": 1, "space": {"lr": {"normal": [-1.0, 0.01]}}}}
    path, reports = sweep_file(tmp_path, body), tmp_path / "reports"
    assert run_sweep(path, reports) == 1
    run = reports / "neg" / "runs" / "trial-000"
    failure = json.loads((run / "failure.json").read_text())["error"]
    assert failure.startswith("invalid parameters, not run: lr -") and "expected > 0" in failure
    assert failure in (run / "run.log").read_text() and not (run / "params.yaml").exists()
    assert [t.state for t in study_of(reports / "neg", "neg").trials] == [TrialState.FAIL]
    executor.submitted.clear()
    capsys.readouterr()
    assert run_sweep(path, reports) == 1  # a plain rerun executes nothing: the failure waits for --retry-failed
    assert executor.submitted == [] and len(study_of(reports / "neg", "neg").trials) == 1
    assert "1 run(s) failed: trial-000" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# 9. Raising the budget


@pytest.mark.parametrize("recorded", ["now", "by an older version"])
def test_raising_the_trials_continues_a_search_with_default_startup_trials(tmp_path, inline, recorded):
    body = {"name": "grow", "fixed": {**QUICK, "epochs": 1},
            "search": {"method": "tpe", "trials": 2, "space": {"lr": {"log_uniform": [0.01, 0.3]}}}}
    reports = tmp_path / "reports"
    assert run_sweep(sweep_file(tmp_path, body), reports) == 0
    if recorded == "by an older version":  # it recorded the default it used (2 for 2 trials)
        study = study_of(reports / "grow", "grow")
        study.set_user_attr("search", {**study.user_attrs["search"], "startup_trials": 2})
    body["search"]["trials"] = 12  # the default startup trials become 4
    study = SweepStudy.for_run(lib.sweep.cli.load_sweep(sweep_file(tmp_path, body)), reports / "grow")
    assert study.budget_left() == 10 and study.study.sampler._n_startup_trials == 4
    body["search"]["trials"] = 3
    assert run_sweep(sweep_file(tmp_path, body), reports) == 0  # and it runs on
    assert len(study_of(reports / "grow", "grow").trials) == 3
    body["search"]["startup_trials"] = 7
    with pytest.raises(lib.sweep.cli.SweepFileError, match="was made with another search"):
        lib.sweep.cli.cmd_run(lib.sweep.cli.build_parser().parse_args(
            ["run", str(sweep_file(tmp_path, body)), "--reports-dir", str(reports), "--no-report"]))


# ---------------------------------------------------------------------------------------------
# 10. A database-backed search found again; a report over two kinds of study


def test_status_and_report_find_a_database_study_from_sweep_json_and_report_keeps_it(tmp_path, inline, no_report,
                                                                                     capsys):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    body = {"name": "indb", "fixed": {**QUICK, "epochs": 1},
            "search": {"method": "random", "trials": 2, "space": {"lr": {"log_uniform": [0.01, 0.3]}}}}
    path, reports = sweep_file(tmp_path, body), tmp_path / "reports"
    assert run_sweep(path, reports, "--study-storage", url) == 0
    record = (reports / "indb" / "sweep.json").read_bytes()
    capsys.readouterr()
    assert main(["status", str(path), "--reports-dir", str(reports)]) == 0  # no --study-storage
    out = capsys.readouterr().out
    assert "2 runs: 2 completed" in out and "(2 started so far)" in out and f"study: {url}" in out
    assert main(["report", str(path), "--reports-dir", str(reports)]) == 0
    assert (reports / "indb" / "sweep.json").read_bytes() == record  # study and search section kept
    (search,) = searches(load_report(reports / "indb"))
    assert search.study.study_name == "indb" and search.source == url


def test_a_relative_sqlite_file_is_the_same_study_from_any_folder(tmp_path, inline, no_report, capsys, monkeypatch):
    # a worker or a later command starts in another folder: a relative path would reach a new, empty file
    (tmp_path / "here").mkdir(), (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    body = {"name": "rel", "fixed": {**QUICK, "epochs": 1},
            "search": {"method": "random", "trials": 2, "space": {"lr": {"log_uniform": [0.01, 0.3]}}}}
    path, reports = sweep_file(tmp_path, body), tmp_path / "reports"
    assert run_sweep(path, reports, "--study-storage", "sqlite:///studies.db") == 0
    database = tmp_path / "here" / "studies.db"
    assert database.is_file()
    assert f"sqlite:///{database}" in (reports / "rel" / "sweep.json").read_text()
    monkeypatch.chdir(tmp_path / "elsewhere")
    capsys.readouterr()
    assert main(["status", str(path), "--reports-dir", str(reports)]) == 0
    assert "(2 started so far)" in capsys.readouterr().out
    assert list((tmp_path / "elsewhere").iterdir()) == []

def test_a_report_over_a_journal_search_and_a_database_search_shows_both_and_makes_no_study(tmp_path, inline,
                                                                                          no_report):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    space = {"lr": {"log_uniform": [0.01, 0.3]}}
    reports = tmp_path / "reports"
    files = []
    for name, extra in (("injournal", []), ("indb", ["--study-storage", url])):
        files.append(sweep_file(tmp_path, {"name": name, "fixed": {**QUICK, "epochs": 1},
                                           "search": {"method": "random", "trials": 2, "space": space}}))
        assert run_sweep(files[-1], reports, *extra) == 0
    journal = reports / "injournal" / "study.journal"
    before = journal.read_bytes()
    for extra in ([], ["--study-storage", url]):
        assert main(["report", *map(str, files), "--reports-dir", str(reports), *extra]) == 0
    assert [s.study_name for s in optuna.get_all_study_summaries(url)] == ["indb"]  # nothing added
    assert journal.read_bytes() == before
    report = load_report([reports / "injournal", reports / "indb"])
    assert [(s.sweep, s.study.study_name, s.source) for s in searches(report)] == [
        ("injournal", "injournal", "study.journal"), ("indb", "indb", url)]
    assert len(trials_table(report)) == 4


# ---------------------------------------------------------------------------------------------
# 11. Reports that miscount


def test_a_sweep_given_twice_is_reported_once(tmp_path, inline, no_report, capsys):
    body = {"name": "twice", "fixed": {**QUICK, "epochs": 1}, "grid": {"lr": [0.1, 0.05]}}
    path, reports = sweep_file(tmp_path, body), tmp_path / "reports"
    assert run_sweep(path, reports) == 0
    assert main(["report", str(path), str(path), "--reports-dir", str(reports)]) == 0
    assert no_report == [([reports / "twice"], reports / "twice")]
    assert "is sweep 'twice' again; its runs are reported once" in capsys.readouterr().err
    assert list(load_report([reports / "twice", reports / ".." / "reports" / "twice"]).runs["run"]) == \
        ["lr0.1", "lr0.05"]


def test_a_failed_attempt_retried_shows_as_failed_and_its_epochs_count_once(tmp_path, inline, monkeypatch):
    body = {"name": "retry", "fixed": {**QUICK, "epochs": 2},
            "search": {"method": "random", "trials": 2, "space": {"lr": {"log_uniform": [0.01, 0.3]}}}}
    real_submit = fail_run(monkeypatch, "trial-001")
    path, reports = sweep_file(tmp_path, body), tmp_path / "reports"
    assert run_sweep(path, reports) == 1
    monkeypatch.setattr(Inline, "submit", real_submit)
    assert run_sweep(path, reports, "--retry-failed") == 0
    table = trials_table(load_report(reports / "retry"))
    assert list(zip(table["run"], table["status"], table["epochs_run"])) == [
        ("trial-000", "completed", 2), ("trial-001", "failed", 0), ("trial-001", "completed", 2)]
    assert list(table["cumulative_epochs"]) == [2, 2, 4]
    assert table["value"].isna().tolist() == [False, True, False]


def test_a_combined_report_never_takes_the_folder_of_one_of_its_sweeps(tmp_path, inline, no_report, capsys):
    reports = tmp_path / "reports"
    files = [sweep_file(tmp_path, {"name": n, "fixed": {**QUICK, "epochs": 1}, "grid": {"lr": [0.1]}})
             for n in ("A", "B")]
    for path in files:
        assert run_sweep(path, reports) == 0
    (reports / "A" / "report.html").write_text("A's own report")
    assert main(["report", *map(str, files), "--reports-dir", str(reports), "--name", "A"]) == 2
    err = capsys.readouterr().err
    assert "--name 'A':" in err and "is the folder of sweep 'A'" in err and no_report == []
    assert (reports / "A" / "report.html").read_text() == "A's own report"
    assert main(["report", str(files[0]), "--reports-dir", str(reports), "--name", "A"]) == 0  # its own report
    assert main(["report", *map(str, files), "--reports-dir", str(reports), "--name", "AB"]) == 0
    assert [out for _, out in no_report] == [reports / "A", reports / "AB"]


def test_an_empty_combined_report_says_so(tmp_path, no_report, capsys):
    files = [sweep_file(tmp_path, {"name": n, "fixed": QUICK, "grid": {"lr": [0.1, 0.01]}}) for n in ("x", "y")]
    assert main(["report", *map(str, files), "--reports-dir", str(tmp_path / "r"), "--name", "both"]) == 0
    assert "warning: no run of x, y has records yet" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# 19. The report's papermill dies with the sweep


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every live process now (zombies are dead, only not yet reaped)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
            if state != "Z":
                out[int(entry.name)] = (int(ppid), cmdline)
    return out


def _descendants(pid: int) -> set[int]:
    found, table = set(), _processes()
    frontier = {pid}
    while frontier:
        children = {p for p, (ppid, _) in table.items() if ppid in frontier} - found
        found |= children
        frontier = children
    return found


@pytest.mark.slow
def test_papermill_and_its_kernel_building_the_report_die_with_the_sweep(tmp_path):
    path = sweep_file(tmp_path, {"name": "rep", "fixed": QUICK, "grid": {"lr": [0.1]}})
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    sweep = subprocess.Popen([sys.executable, "-m", "lib.sweep", "report", str(path), "--reports-dir",
                              str(tmp_path / "r")], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    kernel = set()
    while time.monotonic() < deadline and sweep.poll() is None and not kernel:
        kernel = {p for p in _descendants(sweep.pid) if "ipykernel" in _processes().get(p, (0, ""))[1]}
        time.sleep(0.1)
    assert kernel, "the report's kernel never started"
    below = _descendants(sweep.pid)
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    # They die with it at once (PR_SET_PDEATHSIG); without it they outlived the sweep by about 7 s, while
    # papermill waited on its kernel, so a short deadline is what shows the difference.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and below & set(_processes()):
        time.sleep(0.1)
    assert not below & set(_processes()), "papermill or its kernel outlived the sweep"
    partial = tmp_path / "r" / "rep" / "report.partial.ipynb"
    if partial.exists():  # papermill stopped with the sweep, before the end of the notebook
        assert not json.loads(partial.read_text())["metadata"]["papermill"].get("end_time")


# ---------------------------------------------------------------------------------------------
# 23. Status from another directory


def test_status_says_which_folder_it_read_and_where_the_projects_records_are(tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    for folder in ("lib", "notebooks", "params", "reports/s/runs/lr0.1"):
        (project / folder).mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    path = sweep_file(project / "params", {"name": "s", "fixed": QUICK, "grid": {"lr": [0.1]}})
    (project / "reports" / "s" / "sweep.json").write_text("{}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["status", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"records: {elsewhere / 'reports' / 's'} holds no record of sweep 's', but the project's " \
           f"{project / 'reports' / 's'} does: run the command from {project}, or pass --reports-dir " \
           f"{project / 'reports'}" in out
    monkeypatch.chdir(project)
    assert main(["status", str(path)]) == 0
    assert f"records: {project / 'reports' / 's'}\n" in capsys.readouterr().out
