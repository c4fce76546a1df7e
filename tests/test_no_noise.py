"""A normal session prints no warning that is not about the user's own settings (the editable install
`make setup` does here; the kernel of a notebook run in tests/test_notebooks.py), and writes one thing one
way (the leaderboard's heading in tests/report/test_report.py; run.log's lines in tests/sweep/test_kernels.py)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BUILD = """
import contextlib, io, tempfile, warnings
from setuptools import build_meta
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        build_meta.build_editable(tempfile.mkdtemp())
for w in caught:
    print(f"{w.category.__name__}: {w.message}")
"""


def test_the_editable_install_raises_no_setuptools_warning(tmp_path):
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("lib", "benchmarks"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([sys.executable, "-c", BUILD], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == ""  # e.g. no "Editable installation. ... folders ... with the same name as your package"


def test_plus_or_minus_has_one_spelling_in_what_users_read():
    texts = {path: path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "lib").rglob("*.py"))]}
    assert [str(path.relative_to(ROOT)) for path, text in texts.items()
            if re.search(r"\+/-|\+- |\+-[a-z]", text)] == []  # ± everywhere: the card, the findings, next, --help
