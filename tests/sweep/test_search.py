"""Search and early termination on Optuna: sweep-file sections, samplers, pruners, studies, resumption.

Most sweeps here run in this process through `Inline`, an executor that calls lib.run.loop.run directly
(no notebook), so each method and termination type trains real runs on `digits` in seconds; the
kill-and-resume test goes through the real command and papermill.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import lib.sweep.cli
from lib.core.records import FINISHED_STATUSES, best_epoch, load_run
from lib.core.storage import TrialRef, open_storage
from lib.config.runconfig import RunConfig
from lib.config.errors import SweepFileError
from lib.config.search import parse_dimension
from lib.config.sweepfile import load_sweep, parse_sweep
from lib.sweep.cli import main
from lib.sweep.executors.base import RunOutcome

ROOT = Path(__file__).resolve().parents[2]
QUICK = {"dataset": "digits", "batch_size": 64, "model": "mlp"}


class Inline:
    """An executor that trains each run in this process, one at a time (tests only)."""

    name, capacity = "inline", 1

    def __init__(self):
        self.ended = []
        self.submitted = []

    def submit(self, task):
        from lib.run.loop import run

        self.submitted.append(task)
        start = time.monotonic()
        try:
            metrics = run(RunConfig.from_dict(task.config)).metrics
            self.ended.append((task, RunOutcome(task.name, metrics["status"], time.monotonic() - start, None, metrics)))
        except Exception as exc:  # noqa: BLE001 - recorded as the run's failure, like execute_run does
            self.ended.append((task, RunOutcome(task.name, "failed", 0.0, str(exc))))

    def poll(self, timeout_s):
        ended, self.ended = self.ended, []
        return ended

    def cancel(self):
        pass

    def close(self):
        pass


def fail_run(monkeypatch, name: str):
    """Make Inline record `name` as failed, as execute_run does (failure.json, a failed outcome), without training
    it; returns the real submit, to put back."""
    real_submit = Inline.submit

    def submit(self, task):
        if task.name != name:
            return real_submit(self, task)
        Path(task.run_dir).mkdir(parents=True)
        (Path(task.run_dir) / "failure.json").write_text('{"error": "boom"}')
        self.ended.append((task, RunOutcome(task.name, "failed", 0.0, "boom")))

    monkeypatch.setattr(Inline, "submit", submit)
    return real_submit


def sweep_file(tmp_path, body: dict) -> Path:
    import yaml

    path = tmp_path / f"{body['name']}.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def study_of(root: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(str(root / "study.journal")))


def run_sweep(path: Path, reports: Path, *extra: str) -> int:
    return main(["run", str(path), "--reports-dir", str(reports), "--no-report", *extra])


# ---------------------------------------------------------------------------------------------
# What a sweep file's sections mean


@pytest.mark.parametrize("method, sampler", [("tpe", "TPESampler"), ("gp", "GPSampler"), ("random", "RandomSampler"),
                                             ("qmc", "QMCSampler"), ("grid", "GridSampler")])
def test_each_method_is_optunas_sampler(method, sampler):
    space = {"lr": [0.01, 0.1], "optimizer": ["sgd", "adam"]} if method == "grid" else \
        {"lr": {"log_uniform": [0.001, 0.1]}, "optimizer": ["sgd", "adam"]}
    sweep = parse_sweep({"name": "s", "search": {"method": method, "trials": 4, "space": space}})
    assert type(sweep.search.sampler()).__name__ == sampler
    assert sweep.runs == [] and sweep.varying == ["lr", "optimizer"]


@pytest.mark.parametrize("spec, pruner, attrs", [
    ({"type": "asha", "min_epochs": 2, "reduction_factor": 4}, "SuccessiveHalvingPruner",
     {"_min_resource": 2, "_reduction_factor": 4}),
    ({"type": "hyperband", "min_epochs": 1}, "HyperbandPruner", {"_min_resource": 1, "_max_resource": 8}),
    ({"type": "median", "min_epochs": 3, "startup_trials": 2}, "MedianPruner",
     {"_n_warmup_steps": 2, "_n_startup_trials": 2}),
])
def test_each_termination_type_is_optunas_pruner(spec, pruner, attrs):
    sweep = parse_sweep({"name": "s", "fixed": {"epochs": 8}, "grid": {"lr": [0.1, 0.01]}, "early_terminate": spec})
    made = sweep.early_terminate.pruner()
    assert type(made).__name__ == pruner
    assert {k: getattr(made, k) for k in attrs} == attrs  # hyperband's max_resource: the runs' epochs


@pytest.mark.parametrize("body, message", [
    ({"search": {"method": "bayes", "space": {"lr": [0.1]}}}, "search.method 'bayes' is not valid; valid: tpe, gp"),
    ({"search": {"trials": 3, "space": {"lr": {"log_uniform": [0, 1]}}}}, "low must be above 0"),
    ({"search": {"trials": 3, "space": {"lrr": [0.1, 0.2]}}}, "unknown parameter 'lrr' (did you mean 'lr'?)"),
    ({"search": {"trials": 3, "space": {"lr": {"gaussian": [0, 1]}}}}, "must be a list of values or one of"),
    ({"search": {"trials": 3, "space": {"lr": {"uniform": [-1, 1]}}}}, "search.space.lr: lr -1.0 is out of range: expected > 0"),
    ({"search": {"method": "grid", "trials": 5, "space": {"lr": [0.1, 0.2]}}}, "more than the grid's 2 points"),
    ({"search": {"method": "grid", "space": {"lr": {"uniform": [0.1, 0.2]}}}}, "method grid needs a list of values"),
    ({"fixed": {"lr": 0.1}, "search": {"trials": 3, "space": {"lr": [0.1, 0.2]}}}, "is also in fixed"),
    ({"grid": {"model": ["mlp"]}, "search": {"trials": 3, "space": {"lr": [0.1, 0.2]}}}, "cannot go with grid"),
    ({"search": {"space": {"lr": [0.1, 0.2]}}}, "search.trials must be a whole number"),
    ({"grid": {"lr": [0.1, 0.2]}, "early_terminate": {"type": "asha", "min_epochs": 10}},
     "min_epochs 10 is not below the runs' epochs (10)"),
    ({"grid": {"lr": [0.1, 0.2]}, "early_terminate": {"type": "bohb"}}, "valid: asha, hyperband, median"),
    ({"grid": {"lr": [0.1, 0.2]}, "early_terminate": {"type": "asha", "startup_trials": 3}},
     "startup_trials has no meaning for asha"),
    ({"grid": {"lr": [0.1, 0.2]}, "early_terminate": {"type": "asha", "reduction_factor": 1}},
     "reduction_factor must be a whole number >= 2"),
    ({"grid": {"lr": [0.1, 0.2]}, "metric": {"name": "accuracy"}}, "valid: val_acc, val_loss, train_acc, train_loss"),
    ({"grid": {"lr": [0.1, 0.2]}, "metric": {"name": "val_acc", "goal": "max"}}, "valid: maximize, minimize"),
])
def test_a_bad_search_section_is_one_line_naming_the_value_and_what_is_valid(body, message):
    with pytest.raises(SweepFileError) as err:
        parse_sweep({"name": "s", **body})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_metric_goal_follows_the_metric_unless_given():
    assert parse_sweep({"name": "s", "metric": {"name": "val_loss"}}).metric.goal == "minimize"
    assert parse_sweep({"name": "s"}).metric.name == "val_acc"
    assert parse_sweep({"name": "s"}).metric.goal == "maximize"


@pytest.mark.parametrize("spec, sampled, expected", [
    ({"normal": [0.5, 0.1]}, 0.5, 0.5),  # the median quantile is the mean
    ({"log_normal": [0.0, 1.0]}, 0.5, 1.0),
    ({"beta": [2, 2]}, 0.5, 0.5),
    ({"q_uniform": [0.0, 1.0, 0.25]}, 0.6, 0.5),
    ({"q_log_uniform": [0.001, 1.0, 0.01]}, 0.0234, 0.02),
    ({"q_normal": [0.5, 0.1, 0.05]}, 0.9, 0.65),  # 0.5 + 0.1 * 1.2816 = 0.628 -> 0.65
])
def test_distributions_optuna_lacks_are_searched_through_their_quantiles(spec, sampled, expected):
    dim = parse_dimension("weight_decay", spec, "space.weight_decay")
    assert dim.value(sampled) == pytest.approx(expected)
    if "uniform" not in dim.kind:  # Optuna samples a quantile
        assert (dim.distribution().low, dim.distribution().high) == (1e-6, 1 - 1e-6)


def test_a_whole_number_parameter_gets_whole_numbers_from_a_quantized_distribution():
    dim = parse_dimension("batch_size", {"q_uniform": [16, 256, 16]}, "space.batch_size")
    value = dim.value(70.0)
    assert value == 64 and isinstance(value, int)


def test_extends_takes_the_other_files_sections_and_null_removes_one(tmp_path):
    (tmp_path / "base.yaml").write_text("name: base\nfixed: {dataset: digits, epochs: 4}\ngrid: {lr: [0.1, 0.01]}\n")
    (tmp_path / "asha.yaml").write_text("extends: base.yaml\nearly_terminate: {type: asha}\n")
    (tmp_path / "tpe.yaml").write_text("extends: base.yaml\ngrid: null\n"
                                       "search: {trials: 3, space: {lr: {log_uniform: [0.001, 0.1]}}}\n")
    asha, tpe = load_sweep(tmp_path / "asha.yaml"), load_sweep(tmp_path / "tpe.yaml")
    assert asha.name == "asha" and [r.name for r in asha.runs] == ["lr0.1", "lr0.01"]
    assert asha.fixed == {"dataset": "digits", "epochs": 4} and asha.early_terminate.type == "asha"
    assert tpe.search.trials == 3 and tpe.runs == []
    (tmp_path / "chain.yaml").write_text("extends: asha.yaml\n")
    with pytest.raises(SweepFileError, match="extends 'asha.yaml' must name a sweep file .* that extends no other"):
        load_sweep(tmp_path / "chain.yaml")


def test_the_params_files_of_the_search_issue_mean_what_they_say():
    grid = load_sweep(ROOT / "params" / "fashion_mnist.yaml")
    asha = load_sweep(ROOT / "params" / "fashion_mnist_asha.yaml")
    tpe = load_sweep(ROOT / "params" / "fashion_mnist_tpe.yaml")
    wandb = load_sweep(ROOT / "params" / "wandb_example.yaml")
    assert [r.params for r in asha.runs] == [r.params for r in grid.runs] and asha.early_terminate.type == "asha"
    assert tpe.search.method == "tpe" and tpe.search.trials == 16
    assert set(tpe.search.space) == {"model", "mix", "optimizer", "lr"} <= set(grid.varying)  # linked values aside
    assert tpe.fixed == {**grid.fixed, "scheduler": "cosine"}  # fixed merged key by key
    assert wandb.search.method == "gp" and wandb.search.trials == 12 and wandb.early_terminate.type == "asha"


@pytest.mark.parametrize("method", ["tpe", "gp", "random", "qmc", "grid"])
def test_a_search_resumed_in_a_new_process_draws_new_points_and_a_grid_ends_cleanly(tmp_path, method):
    from lib.sweep.study import SweepStudy

    space = {"lr": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]} if method == "grid" else \
        {"lr": {"log_uniform": [0.001, 0.1]}, "optimizer": ["sgd", "adam"]}
    sweep = parse_sweep({"name": "s", "search": {"method": method, "trials": 6, "startup_trials": 2, "space": space}})
    points = []
    for _ in range(2):  # two sessions, as after a kill: a new SweepStudy over the same journal
        study = SweepStudy.for_run(sweep, tmp_path)
        for _ in range(3):
            spec, trial = study.new_search_run()
            study._tell(trial.number, 0.5)
            points.append(repr(sorted(spec.params.items())))
    assert len(set(points)) == 6  # a seeded sampler restarted in a new process must not repeat its draws
    assert SweepStudy.for_run(sweep, tmp_path).new_search_run() is None  # the budget is spent (the grid, too)


# ---------------------------------------------------------------------------------------------
# Searches and early termination on digits


def trials_by_run(root: Path, name: str) -> dict[str, optuna.trial.FrozenTrial]:
    return {t.user_attrs["run"]: t for t in study_of(root, name).trials}


@pytest.mark.parametrize("method", ["tpe", "gp", "random", "qmc", "grid"])
def test_each_method_runs_its_trials_on_digits_and_tells_the_study_each_result(tmp_path, inline, method):
    space = {"lr": [0.03, 0.1, 0.3], "optimizer": ["sgd", "adam"]} if method == "grid" else \
        {"lr": {"log_uniform": [0.01, 0.3]}, "optimizer": ["sgd", "adam"]}
    body = {"name": method, "fixed": {**QUICK, "epochs": 2},
            "search": {"method": method, "trials": 3, "seed": 1, "startup_trials": 2, "space": space}}
    reports = tmp_path / "reports"
    assert run_sweep(sweep_file(tmp_path, body), reports) == 0
    root = reports / method
    trials = trials_by_run(root, method)
    assert sorted(trials) == ["trial-000", "trial-001", "trial-002"]
    points = set()
    for run, trial in trials.items():
        record = load_run(root / "runs" / run)
        assert record["metrics"]["status"] == "completed" and trial.state == TrialState.COMPLETE
        assert trial.value == best_epoch(record["history"])["val_acc"]  # the metric at the run's best epoch
        assert record["config"]["lr"] == trial.user_attrs["values"]["lr"] and record["config"]["trial"] == trial.number
        points.add((record["config"]["lr"], record["config"]["optimizer"]))
    assert len(points) == 3  # three different points of the space
    plan = json.loads((root / "sweep.json").read_text())
    assert [r["name"] for r in plan["runs"]] == sorted(trials) and plan["search"]["method"] == method
    inline.submitted.clear()
    assert run_sweep(sweep_file(tmp_path, body), reports) == 0  # the budget is spent: nothing more runs
    assert inline.submitted == [] and len(study_of(root, method).trials) == 3


@pytest.mark.parametrize("spec", [{"type": "asha", "min_epochs": 1, "reduction_factor": 2},
                                  {"type": "hyperband", "min_epochs": 1, "reduction_factor": 2},
                                  {"type": "median", "min_epochs": 1, "startup_trials": 2}])
def test_each_termination_type_stops_hopeless_runs_of_a_grid_and_records_them_as_pruned(tmp_path, inline, spec):
    # good learning rates first, so that the hopeless ones meet a standard to fall short of
    lrs = [0.1, 0.05, 0.2, 0.03, 1e-5, 2e-5, 3e-5, 5e-5, 1e-4, 2e-4]
    body = {"name": spec["type"], "fixed": {**QUICK, "epochs": 4, "optimizer": "sgd"}, "grid": {"lr": lrs},
            "early_terminate": spec}
    reports = tmp_path / "reports"
    assert run_sweep(sweep_file(tmp_path, body), reports) == 0
    root = reports / spec["type"]
    trials = trials_by_run(root, spec["type"])
    assert len(trials) == len(lrs)
    pruned = [run for run, trial in trials.items() if trial.state == TrialState.PRUNED]
    assert pruned, "no run was stopped early"
    for run in pruned:
        metrics = load_run(root / "runs" / run)["metrics"]
        assert metrics["status"] == "pruned" and metrics["epochs_run"] < 4
        assert metrics["test_acc"] is None  # NaN, written as null: a pruned run is not tested
        assert trials[run].intermediate_values.keys() == set(range(1, metrics["epochs_run"] + 1))
    assert "lr0.1" not in pruned  # the first run of a sweep has nothing to fall short of
    inline.submitted.clear()
    assert run_sweep(sweep_file(tmp_path, body), reports) == 0
    assert inline.submitted == []  # pruned runs count as finished


def test_a_failed_search_run_is_retried_as_a_new_trial_at_the_same_point(tmp_path, inline, monkeypatch):
    body = {"name": "retry", "fixed": {**QUICK, "epochs": 1},
            "search": {"method": "random", "trials": 2, "space": {"lr": {"log_uniform": [0.01, 0.3]}}}}
    real_submit = fail_run(monkeypatch, "trial-001")
    reports = tmp_path / "reports"
    path = sweep_file(tmp_path, body)
    assert run_sweep(path, reports) == 1
    study = study_of(reports / "retry", "retry")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.FAIL]
    monkeypatch.setattr(Inline, "submit", real_submit)
    assert run_sweep(path, reports, "--retry-failed") == 0
    trials = study_of(reports / "retry", "retry").trials
    assert len(trials) == 3 and trials[2].user_attrs["run"] == "trial-001" and trials[2].state == TrialState.COMPLETE
    assert trials[2].params == trials[1].params  # the same point, not a new sample from the budget


def test_a_study_made_with_other_settings_is_not_mixed_with_a_new_search(tmp_path, inline):
    body = {"name": "changed", "fixed": {**QUICK, "epochs": 1},
            "search": {"method": "random", "trials": 1, "space": {"lr": {"log_uniform": [0.01, 0.3]}}}}
    reports = tmp_path / "reports"
    assert run_sweep(sweep_file(tmp_path, body), reports) == 0
    body["search"]["space"]["lr"] = {"log_uniform": [0.001, 0.3]}
    with pytest.raises(SweepFileError, match="was made with another search; give the sweep a new name"):
        lib.sweep.cli.cmd_run(lib.sweep.cli.build_parser().parse_args(
            ["run", str(sweep_file(tmp_path, body)), "--reports-dir", str(reports), "--no-report"]))


def test_a_run_outside_a_sweep_with_a_settled_trial_is_never_stopped(tmp_path):
    from lib.run.trial import TrialReporter

    storage = str(tmp_path / "study.journal")
    study = optuna.create_study(study_name="s", storage=open_storage(storage), direction="maximize")
    study.set_user_attr("metric", {"name": "val_acc", "goal": "maximize"})
    study.set_user_attr("early_terminate", {"type": "median", "min_epochs": 1, "reduction_factor": 3,
                                            "max_epochs": None, "startup_trials": 0})
    for value in (0.9, 0.8):
        trial = study.ask()
        trial.report(value, 1)
        study.tell(trial, value)
    hopeless = study.ask()
    reporter = TrialReporter(TrialRef(storage, "s", hopeless.number))
    assert reporter.should_stop([{"epoch": 1, "val_acc": 0.1}], last_epoch=False)  # below the median
    assert not reporter.should_stop([{"epoch": 1, "val_acc": 0.1}], last_epoch=True)  # nothing left to save
    study.tell(hopeless.number, state=TrialState.FAIL)
    assert not reporter.should_stop([{"epoch": 1, "val_acc": 0.1}, {"epoch": 2, "val_acc": 0.1}], last_epoch=False)


# ---------------------------------------------------------------------------------------------
# A real search, killed


@pytest.mark.slow
def test_a_search_killed_mid_run_resumes_with_its_finished_trials_and_budget_intact(tmp_path):
    # 12 short epochs: the kill after the second trial's first epoch lands well before that trial ends
    body = {"name": "killed", "fixed": {**QUICK, "epochs": 12, "batch_size": 16},
            "search": {"method": "tpe", "trials": 3, "startup_trials": 2,
                       "space": {"lr": {"log_uniform": [0.01, 0.2]}, "optimizer": ["sgd", "adam"]}},
            "early_terminate": {"type": "median", "min_epochs": 1, "startup_trials": 2}}  # the first 2 go on
    path, reports = sweep_file(tmp_path, body), tmp_path / "reports"
    root = reports / "killed"
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    command = [sys.executable, "-m", "lib.sweep", "run", str(path), "--reports-dir", str(reports), "--no-report"]
    sweep = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    second = root / "runs" / "trial-001" / "history.csv"
    while time.monotonic() < deadline and not (second.is_file() and len(second.read_text().splitlines()) >= 2):
        time.sleep(0.02)
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    assert second.is_file(), "the second trial never started"
    assert not (root / "runs" / "trial-001" / "metrics.json").exists(), "the second trial ended before the kill"
    first = (root / "runs" / "trial-000" / "metrics.json").read_text()
    assert json.loads(first)["status"] in FINISHED_STATUSES
    assert [t.state for t in study_of(root, "killed").trials] == [TrialState.COMPLETE, TrialState.RUNNING]

    assert subprocess.run(command, cwd=ROOT, env=env, capture_output=True).returncode == 0
    trials = trials_by_run(root, "killed")
    assert sorted(trials) == ["trial-000", "trial-001", "trial-002"]  # the budget held
    assert len({repr(sorted(t.params.items())) for t in trials.values()}) == 3  # the resumed sampler drew anew
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials.values())
    assert (root / "runs" / "trial-000" / "metrics.json").read_text() == first  # never run again
    assert (root / "runs" / "trial-000" / "run.log").read_text().count("\n=== ") == 1
    resumed = json.loads((root / "runs" / "trial-001" / "metrics.json").read_text())
    assert resumed["resumed_after_epochs"] and trials["trial-001"].number == 1  # same trial, from its checkpoint


def test_a_study_in_a_database_given_with_a_flag_serves_runs_status_and_report(tmp_path, inline, capsys):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    body = {"name": "indb", "fixed": {**QUICK, "epochs": 1},
            "search": {"method": "random", "trials": 2, "space": {"lr": {"log_uniform": [0.01, 0.3]}}}}
    path, reports = sweep_file(tmp_path, body), tmp_path / "reports"
    assert run_sweep(path, reports, "--study-storage", url) == 0
    assert not (reports / "indb" / "study.journal").exists()
    study = optuna.load_study(study_name="indb", storage=url)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    assert load_run(reports / "indb" / "runs" / "trial-000")["config"]["study"] == url
    assert json.loads((reports / "indb" / "sweep.json").read_text())["study"] == url  # where the report looks
    capsys.readouterr()
    assert main(["status", str(path), "--reports-dir", str(reports), "--study-storage", url]) == 0
    assert "2 runs: 2 completed" in capsys.readouterr().out


def test_a_damaged_or_lost_study_is_one_line_and_nothing_is_run_or_written(tmp_path, inline, capsys):
    body = {"name": "hurt", "fixed": {**QUICK, "epochs": 1},
            "search": {"method": "random", "trials": 2, "space": {"lr": {"log_uniform": [0.01, 0.3]}}}}
    path, reports = sweep_file(tmp_path, body), tmp_path / "reports"
    assert run_sweep(path, reports) == 0
    journal = reports / "hurt" / "study.journal"
    intact = journal.read_bytes()
    journal.write_bytes(intact[:-30] + b"\x00\xffnot json\n")  # a line cut short, then garbage
    capsys.readouterr()
    for command in (["run", str(path), "--no-report"], ["status", str(path)]):
        assert main([*command, "--reports-dir", str(reports)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: cannot read the study {journal} (") and "\n" not in err
    journal.unlink()  # lost: a new study would hand trial-000's name, and records, to another point
    inline.submitted.clear()
    assert run_sweep(path, reports) == 2
    err = capsys.readouterr().err
    assert "holds search runs that the study" in err and "(trial-000, trial-001)" in err
    assert inline.submitted == [] and not journal.exists()


def test_a_search_continues_with_more_trials_and_after_a_record_cut_short(tmp_path, inline, capsys):
    body = {"name": "more", "fixed": {**QUICK, "epochs": 1},
            "search": {"method": "tpe", "trials": 2, "space": {"lr": {"log_uniform": [0.01, 0.3]}}}}
    reports = tmp_path / "reports"
    assert run_sweep(sweep_file(tmp_path, body), reports) == 0
    journal = reports / "more" / "study.journal"
    journal.write_bytes(journal.read_bytes()[:-25])  # killed while appending its last record
    body["search"]["trials"] = 3
    capsys.readouterr()
    assert run_sweep(sweep_file(tmp_path, body), reports) == 0
    assert "warning: dropped an unfinished last record" in capsys.readouterr().err
    trials = study_of(reports / "more", "more").trials
    assert [t.user_attrs["run"] for t in trials] == ["trial-000", "trial-001", "trial-002"]
    assert all(t.state == TrialState.COMPLETE for t in trials)  # the cut record was re-told from the run's
    assert [s.name for s in inline.submitted] == ["trial-000", "trial-001", "trial-002"]  # none ran twice
