"""How the commands behave at the terminal: a closed pipe, `sweeplab`'s own usage, names that are refused."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib.core.exits import READER_GONE

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "params" / "demo.yaml")


# (--help is left out: argparse drops the error of a write that fails, and exits 0 as a tool does whose help
# fits the pipe's buffer before the reader goes away.)
def closed_pipe(args: list[str], tmp_path: Path) -> tuple[int, str]:
    """Run a command whose stdout's reader is gone before it writes (`... | head -0`, deterministically)."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, *args], stdout=write, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    finally:
        os.close(write)
    return done.returncode, done.stderr


@pytest.mark.parametrize("args", [
    ["-m", "lib.sweep", "status", DEMO],
    ["-m", "lib.sweep", "run", DEMO, "--dry-run"],
    ["-m", "lib", "status", DEMO],
    ["-m", "lib", "train", "--epochs", "1", "--subset", "64", "--progress", "false", "--out-dir", "runs/one"],
], ids=lambda a: " ".join(a[1:3]))
def test_a_command_whose_reader_is_gone_exits_quietly_with_sigpipes_status(args, tmp_path):
    code, err = closed_pipe(args, tmp_path)
    assert (code, err) == (READER_GONE, "")
    assert READER_GONE == 141  # what `yes | head -1` gives yes in a shell
    if "train" not in args:
        assert not (tmp_path / "reports").exists()  # and a read-only command still wrote nothing


def test_resume_advice_only_where_something_can_be_resumed(monkeypatch, capsys, tmp_path):
    import errno

    import lib.sweep.cli as cli

    def denied(args):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path / "x"))

    monkeypatch.setattr(cli, "cmd_status", denied)
    monkeypatch.setattr(cli, "cmd_run", denied)
    assert cli.main(["status", DEMO]) == 1
    assert capsys.readouterr().err == f"error: Permission denied ({tmp_path / 'x'})\n"
    assert cli.main(["run", DEMO, "--reports-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err.endswith("; fix that and run the same command again to resume\n")


def test_sweeplab_lists_every_subcommand_from_the_parser(capsys):
    from lib.__main__ import main
    from lib.sweep.cli import build_parser

    sweep_commands = list(next(a for a in build_parser()._actions if hasattr(a, "choices") and a.choices).choices)
    every = [*sweep_commands, "train"]
    assert main([]) == 0  # bare sweeplab: its help
    out = capsys.readouterr().out
    assert out.startswith(f"usage: sweeplab [-h] {{{','.join(every)}}}")
    assert all(f"\n    {name} " in out for name in every)
    with pytest.raises(SystemExit) as exit_:
        main(["bogus"])
    assert exit_.value.code == 2
    assert f"invalid choice: 'bogus' (choose from {', '.join(map(repr, every))})" in capsys.readouterr().err


def test_sweeplab_train_is_lib_train(capsys):
    from lib.__main__ import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert capsys.readouterr().out.startswith("usage: sweeplab train ")


@pytest.mark.parametrize("command", ["next", "report"])
def test_an_empty_name_is_refused_not_replaced_by_the_default(command, capsys, tmp_path):
    from lib.sweep.cli import main

    assert main([command, DEMO, "--name", "", "--reports-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "error: --name '' must be a folder-safe word (letters, digits, _ . -)\n"


def _named_once_apart(message: str) -> None:
    from lib.config.runconfig import FIELD_TYPES, RUNNER_NOTE
    from lib.config.runs import RUNNER_KEYS

    valid, runner = message.split("; valid: ", 1)[1].split(f"; {RUNNER_NOTE}: ")
    assert valid.split(", ") == [k for k in FIELD_TYPES if k not in RUNNER_KEYS]
    assert runner.split(", ") == list(RUNNER_KEYS)


def test_an_unknown_key_lists_what_a_user_sets_and_the_runners_keys_once_apart(tmp_path):
    from lib.config.runconfig import ConfigError, RunConfig
    from lib.config.errors import SweepFileError
    from lib.config.sweepfile import load_sweep

    with pytest.raises(ConfigError) as error:
        RunConfig.from_dict({"modle": "lenet"})
    assert str(error.value).startswith("unknown key 'modle' (did you mean 'model'?); valid: dataset, ")
    _named_once_apart(str(error.value))
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nfixed: {dataset: digits}\ngrid: {lrr: [0.1]}\n")
    with pytest.raises(SweepFileError) as error:
        load_sweep(path)
    _named_once_apart(str(error.value))


def test_train_help_puts_the_runners_keys_in_their_own_group(capsys):
    from lib.run.cli import build_parser
    from lib.config.runconfig import RUNNER_NOTE
    from lib.config.runs import RUNNER_KEYS

    text = build_parser("python -m lib.train").format_help()
    users, runner = text.split("\noptions:\n")[1].split(f"\n{RUNNER_NOTE}; a sweep file may not set them:\n")
    for key in RUNNER_KEYS:
        flag = f"--{key.replace('_', '-')} "
        assert flag in runner and flag not in users, key
    assert "--model " in users and "set by the sweep runner" not in runner  # named once, in the title


def test_the_runner_fields_are_what_the_runner_sets():
    from lib.config.runs import RUNNER_KEYS, runner_values

    assert tuple(runner_values("", "", "")) == RUNNER_KEYS
