"""Every package the code imports is one pyproject.toml asks for, directly or through what it asks for: a
module installed here by hand (as itables once was) would pass every other test and fail in a fresh clone."""

import ast
import importlib.metadata as metadata
import json
import re
import sys
import tomllib
from pathlib import Path

from lib.core.paths import project_root

ROOT = project_root(Path(__file__).parent)
OURS = {"lib", "benchmarks", "tests", "test_search", "studies", "rows", "dataset_files", "conftest"}


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0]).lower()


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    for extra in project.get("optional-dependencies", {}).values():
        names |= {_name(r) for r in extra if _name(r) != "sweeplab"}
    return names


def reachable(names: set[str]) -> set[str]:
    """`names` and everything they require, extras and markers included (an over-estimate, which is safe)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            todo += [_name(r) for r in metadata.requires(name) or []]
        except metadata.PackageNotFoundError:
            pass
    return seen


def imported_modules() -> set[str]:
    sources = [p.read_text() for folder in ("lib", "benchmarks") for p in (ROOT / folder).rglob("*.py")]
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
        sources += ["\n".join(line for line in "".join(c["source"]).splitlines()
                               if not line.lstrip().startswith(("%", "!"))) for c in cells]  # no IPython magics
    found = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - OURS - set(sys.stdlib_module_names) - {"__future__"}


def test_every_imported_package_is_asked_for_by_pyproject():
    providers = metadata.packages_distributions()
    allowed = reachable(declared())
    missing = {m: providers.get(m, ["(not installed)"]) for m in imported_modules()
               if not {_name(d) for d in providers.get(m, [])} & allowed}
    assert not missing, f"imported but not in pyproject.toml's dependencies (nor required by them): {missing}"


def test_the_check_finds_a_package_nothing_asks_for():
    assert "itables" in declared()  # what this test was written for
    assert "pytest-timeout" not in reachable({"numpy"})
