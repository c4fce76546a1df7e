"""What a running sweep shows: the epochs of its running runs, an estimate that counts the workers and
comes before the first run ends, plain lines when the output is not a terminal, the report build's time."""

import io
from pathlib import Path

from lib.sweep.progress import SUMMARY_EVERY_S, SweepProgress, epochs_done


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def history(folder: Path, epochs: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "history.csv").write_text("epoch,train_loss\n" + "".join(f"{e},0.5\n" for e in range(1, epochs + 1)))


def progress(tmp_path, workers, out=None, terminal=False, runs=4):
    clock = Clock()
    queue = [10] * runs
    shown = SweepProgress("demo (local)", runs, workers, 10, queued=lambda: queue, out=out or io.StringIO(),
                          terminal=terminal, clock=clock)
    for name in ("a", "b")[:workers]:
        queue.pop()
        shown.started(name, 10, str(tmp_path / name))
    return shown, clock, queue


def test_the_estimate_counts_the_workers_and_comes_from_the_first_epochs(tmp_path):
    for workers, expected in ((2, 90.0), (1, 190.0)):
        shown, clock, _ = progress(tmp_path / str(workers), workers)
        assert shown.seconds_left() is None and "time left: after the first epoch" in shown.line()
        clock.now = 10.0
        for name in ("a", "b")[:workers]:
            history(tmp_path / str(workers) / name, 2)  # 5 s an epoch
        shown.tick(force=True)
        # two workers: 2 queued runs x 10 + 8 + 8 epochs left, 5 s each, two at a time; one: 3 x 10 + 8, one at a time
        running = 8 * workers
        queued = (4 - workers) * 10
        assert shown.seconds_left() == (queued + running) * 5.0 / workers == expected
        assert "about 1m30s left" in shown.line() if workers == 2 else "about 3m10s left" in shown.line()


def test_a_running_run_shows_its_epoch(tmp_path):
    shown, clock, _ = progress(tmp_path, 2)
    history(tmp_path / "a", 4)
    clock.now = 20.0
    shown.tick(force=True)
    assert "running a 4/10, b 0/10" in shown.line()
    assert epochs_done(tmp_path / "nothing") == 0


def test_the_estimate_never_promises_less_than_the_longest_running_run_needs(tmp_path):
    shown, clock, queue = progress(tmp_path, 2, runs=2)
    history(tmp_path / "a", 1)
    history(tmp_path / "b", 9)
    clock.now = 10.0
    shown.tick(force=True)
    per_epoch = 20.0 / 10  # both runs' 10 s over their 10 epochs
    assert shown.seconds_left() == 9 * per_epoch  # a's 9 epochs left, not (9 + 1) / 2


def test_into_a_file_plain_lines_a_line_per_run_and_a_summary_a_minute(tmp_path):
    out = io.StringIO()
    shown, clock, _ = progress(tmp_path, 2, out=out)
    clock.now = 30.0
    shown.tick()
    assert out.getvalue() == ""  # nothing redrawn, nothing before the minute
    history(tmp_path / "a", 10)
    shown.ended("a", "done   a: completed", False, 10, 30.0)
    clock.now = SUMMARY_EVERY_S + 1
    shown.tick()
    shown.tick()
    lines = out.getvalue().splitlines()
    assert lines[0] == "done   a: completed"
    assert lines[1].startswith("demo (local): 1/4 runs ended (1 done, 0 failed); running b 0/10; wall time 1m01s, "
                               "about ")
    assert len(lines) == 2 and "\r" not in out.getvalue()


def test_on_a_terminal_one_line_redrawn_below_the_done_lines(tmp_path):
    out = io.StringIO()
    shown, clock, _ = progress(tmp_path, 2, out=out, terminal=True)
    shown.ended("a", "done   a: completed", False, 10, 30.0)
    text = out.getvalue()
    assert text.count("\r") >= 3 and "\rdone   a: completed\n" in text
    shown.close()
    assert out.getvalue().endswith("\r")  # the line cleared: what follows starts on a clean line


def test_a_finished_run_says_its_training_time_and_its_wall_time():
    from lib.sweep.driver import done_line
    from lib.sweep.executors.base import RunOutcome, RunTask

    task = RunTask("lr0.1-seed0", {}, "/r/runs/lr0.1-seed0", "/r/runs/lr0.1-seed0", "train.ipynb")
    line = done_line(task, RunOutcome("lr0.1-seed0", "completed", 24.2, None, {"test_acc": 0.97, "wall_time_s": 9.1}))
    assert line == ("done   lr0.1-seed0: completed, test acc 0.9700 (training time 0m09s, wall time 0m24s; "
                    "log: /r/runs/lr0.1-seed0/run.log)")


def test_the_report_build_says_when_it_starts_and_ends_with_its_time(monkeypatch, capsys, tmp_path):
    import lib.sweep.publish as publish

    def build(dirs, out):
        print("building")
        return tmp_path / "report.html"

    monkeypatch.setattr(publish, "build_report", build)
    publish.publish(tmp_path)
    assert capsys.readouterr().out.splitlines() == [f"report: building {tmp_path / 'report.html'} ...", "building",
                                                    f"report: {tmp_path / 'report.html'} (built in 0m00s)"]


def test_the_training_time_has_one_name_in_the_run_output_status_and_the_report():
    from lib.core.records import RunState
    from lib.report.columns import METRIC_LABELS
    from lib.sweep.status import format_table

    table = format_table([RunState("a", "completed", 10, 0.9, 0.8, 9.1), RunState("b", "failed", 2, None, None, 30.0)])
    header, _, done, failed = table.splitlines()[:4]
    assert header.endswith("training time") and done.endswith("0m09s")
    assert failed.endswith("-")  # failure.json's seconds are the attempt's wall time, not training time
    assert METRIC_LABELS["wall_time_s"] == "training time (s)"  # the report's run metrics and leaderboard
