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


# ---------------------------------------------------------------------------------------------
# The README as it runs: its setup order, and every example taken from what the shipped files produce

SETUP = README[README.index("## Setup"):README.index("## The workflow")]
# A run or configuration name of a shipped sweep, as the README quotes one: lr0.1-wd0.0005, lr0.1-wd0-seed2.
RUN_NAME = re.compile(r"(?<![\w.-])(?:lr\d[\w.]*(?:-[\w.]+)*|[a-z][\w.]*(?:-[\w.]+)*-seed\d+)(?![\w-])")
# A finding as the README quotes one: "lr: 0.1 beat 0.001 by ...", "weight_decay (0.0005 vs 0): inconclusive, ...".
FINDING = re.compile(r'"([a-z_]+(?:\s+\([^()"]*\))?:\s[^"]{0,200}?(?:\bbeat\b|\blost\b|inconclusive)[^"]{0,200})"')


def shipped_names() -> tuple[dict[str, set[str]], set[str]]:
    """Every shipped sweep's run names by sweep, and every run and configuration name (less its seed)."""
    from lib.config.sweepfile import is_sweep, load_sweep
    from lib.config.yamlfile import read_yaml

    runs: dict[str, set[str]] = {}
    for path in sorted((ROOT / "params").glob("*.yaml")):
        if not is_sweep(read_yaml(path)):
            continue
        sweep = load_sweep(path)
        runs.setdefault(sweep.name, set()).update(spec.name for spec in sweep.runs)
    names = set().union(*runs.values())
    return runs, names | {re.sub(r"-seed\d+$", "", name) for name in names}


def test_setup_runs_setup_and_the_demo_first_and_says_make_test_takes_minutes():
    block = re.search(r"```bash\n(.*?)```", SETUP, re.S).group(1)
    assert re.findall(r"^make (\S+)", block, re.M) == ["setup", "demo"]
    after = SETUP[SETUP.index(block) + len(block):]
    assert re.search(r"`make test`[^.]*takes minutes", after)


def test_every_run_name_and_from_the_readme_quotes_is_one_the_shipped_files_make():
    runs, names = shipped_names()
    quoted = set(RUN_NAME.findall(README))
    assert {"lr0.1-wd0.0005", "lr0.1-wd0.0005-seed0"} <= quoted  # the patterns find what the README quotes
    assert sorted(quoted - names) == []
    sources = re.findall(r"from: ([\w.-]+)/([\w.-]+)", README)
    assert sources and [f"{s}/{r}" for s, r in sources if r not in runs.get(s, set())] == []


def test_readme_commands_write_under_reports_or_where_git_ignores():
    outputs = re.findall(r"papermill \S+\.ipynb (\S+\.ipynb)", COMMANDS)
    outputs += re.findall(r"--(?:out-dir|reports-dir|out) (?!FILE)(\S+)", COMMANDS)
    outputs += re.findall(r"writes\s+`(params/[\w.-]+\.yaml)`", README)  # what `next` writes by default
    assert "reports/train-out.ipynb" in outputs and "params/demo_next.yaml" in outputs
    if shutil.which("git") is None:
        pytest.skip("needs git")
    loose = [o for o in outputs if not o.startswith("reports/")]
    ignored = subprocess.run(["git", "check-ignore", *loose], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert sorted(set(loose) - set(ignored)) == []


def quoted_findings() -> list[str]:
    return [" ".join(text.split()) for text in FINDING.findall(README)]


@pytest.mark.slow
def test_every_finding_the_readme_quotes_is_one_the_demo_produces(tmp_path):
    from lib.report.analysis import analysis_of
    from lib.report.load import load_report
    from lib.sweep.cli import main

    assert len(quoted_findings()) >= 2  # the pattern finds the README's quotes
    assert main(["run", str(ROOT / "params" / "demo.yaml"), "--workers", "2", "--no-report",
                 "--reports-dir", str(tmp_path)]) == 0
    found = " ".join(analysis_of(load_report(tmp_path / "demo")).findings)
    assert [quote for quote in quoted_findings() if quote not in found] == []
