"""The executor table: every name the command line offers builds its executor from the parsed arguments,
and its help is what `--executor` lists."""

import pytest

from lib.sweep.cli import build_parser
from lib.sweep.executors import EXECUTORS, make_executor

CLASSES = {"local": "LocalExecutor", "ray": "RayExecutor", "slurm": "SlurmExecutor"}
NEEDS = {"ray": "ray", "slurm": "submitit"}  # the optional package each cluster executor imports


def test_the_table_names_exactly_the_executors_this_test_knows():
    assert set(EXECUTORS) == set(CLASSES)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_each_executor_builds_from_the_command_line_with_its_workers(name, tmp_path):
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    args = build_parser().parse_args(["run", "sweep.yaml", "--executor", name, "--workers", "3", "--slurm-local",
                                      "--reports-dir", str(tmp_path)])
    executor = make_executor(args)
    try:
        assert type(executor).__name__ == CLASSES[name]
        assert executor.capacity == 3
    finally:
        if hasattr(executor, "close"):
            executor.close()


def test_the_executor_help_lists_every_entry_once():
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    [action] = [a for a in run._actions if a.dest == "executor"]
    assert action.choices == list(EXECUTORS)
    for name, entry in EXECUTORS.items():
        assert action.help.count(f"{name}: {entry.help}") == 1


def test_an_unknown_executor_names_the_valid_ones():
    args = build_parser().parse_args(["run", "sweep.yaml"])
    args.executor = "kubernetes"
    with pytest.raises(ValueError, match="'kubernetes'; valid: local, ray, slurm"):
        make_executor(args)
