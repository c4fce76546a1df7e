"""The README's commands work as written in a fresh clone: the environment is activated before the
first one, and every module, notebook, sweep file and make target they name exists."""

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
COMMANDS = "\n".join(re.findall(r"```bash\n(.*?)```", README, re.S) + re.findall(r"`([^`\n]+)`", README))


def test_setup_activates_the_environment_before_any_command_that_needs_it():
    setup = README[README.index("## Setup"):README.index("## The workflow")]
    assert "source .venv/bin/activate" in setup
    activate = README.index("source .venv/bin/activate")
    first = min(m.start() for m in re.finditer(r"(python -m |papermill |sweeplab (run|train))", README))
    assert activate < first


def test_every_module_notebook_sweep_file_and_make_target_the_readme_names_exists():
    modules = set(re.findall(r"python -m ([A-Za-z_][\w.]*)", COMMANDS))
    assert {"lib.train", "lib.sweep", "lib.run.notebook"} <= modules
    assert [m for m in sorted(modules) if importlib.util.find_spec(m) is None] == []
    files = set(re.findall(r"(?:notebooks|params)/[\w.-]+\.(?:ipynb|yaml)", COMMANDS))
    written = {f for f in files if f.endswith("_next.yaml")}  # what `python -m lib.sweep next` writes
    assert [f for f in sorted(files - written) if not (ROOT / f).is_file()] == []
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    assert sorted(set(re.findall(r"\bmake ([a-z][\w-]*)", COMMANDS)) - targets) == []


def test_fashion_mnist_commands_download_what_a_fresh_clone_lacks():
    for line in re.findall(r"python -m lib.train [^\n`]*fashion_mnist[^\n`]*", COMMANDS):
        assert "--download true" in line, line


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lab_passes_allow_root_exactly_when_run_as_root():
    result = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lab = next(line for line in result.stdout.splitlines() if "jupyter lab" in line)
    assert ("--allow-root" in lab) == (os.geteuid() == 0)
