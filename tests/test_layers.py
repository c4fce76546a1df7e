"""The shape of lib/: packages in layers, imports one way, no cycles, and notebooks that import only
what their layer may. Every import counts, those inside functions included.

    core  <  spec  <  run                  one training run
    core  <  spec  <  report  <  sweep     many runs: the sweep publishes its report and proposes the next

The entry points (`lib.__main__`, `lib.train`) sit on top and may import any layer.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lib.core.paths import project_root

ROOT = project_root(Path(__file__).parent)
LIB = ROOT / "lib"
LAYERS = ("core", "spec", "run", "report", "sweep")
MAY_IMPORT = {
    "core": {"core"},
    "spec": {"core", "spec"},
    "run": {"core", "spec", "run"},
    "report": {"core", "spec", "report"},
    "sweep": {"core", "spec", "report", "sweep"},
}
ENTRY_POINTS = {"lib.__main__", "lib.train"}
NOTEBOOK_LAYERS = {"train.ipynb": {"core", "spec", "run"}, "report.ipynb": {"core", "spec", "report"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(LIB.rglob("*.py"))}


def imported(tree: ast.AST, modules: set[str]) -> set[str]:
    """The lib modules a piece of code imports, anywhere in it: `from lib.report import stats` is the
    module lib.report.stats; `from lib.report.load import levels` is lib.report.load."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("lib"):
            subs = {f"{node.module}.{alias.name}" for alias in node.names} & modules
            found |= subs or {node.module}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("lib")}
    return found


def import_graph() -> dict[str, set[str]]:
    return {name: imported(ast.parse(path.read_text()), set(MODULES)) - {name} for name, path in MODULES.items()}


def layer(module: str) -> str | None:
    """The layer of a lib module (None for the entry points and the lib package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def against_the_layers(graph: dict[str, set[str]]) -> list[str]:
    """'a -> b' for every import that goes against the layer order."""
    bad = []
    for module, targets in graph.items():
        if module in ENTRY_POINTS or layer(module) is None:
            continue
        for target in sorted(targets):
            if layer(target) is None or layer(target) not in MAY_IMPORT[layer(module)]:
                bad.append(f"{module} -> {target}")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_checks_catch_a_cycle_and_an_upward_import():
    graph = {"lib.core.a": {"lib.spec.b"}, "lib.spec.b": {"lib.core.a"}, "lib.run.c": {"lib.sweep.d"},
             "lib.sweep.d": {"lib.run.c"}, "lib.report.e": {"lib.sweep.d"}}
    assert sorted(map(tuple, cycles(graph))) == [("lib.core.a", "lib.spec.b"), ("lib.run.c", "lib.sweep.d")]
    assert against_the_layers(graph) == ["lib.core.a -> lib.spec.b", "lib.run.c -> lib.sweep.d",
                                         "lib.sweep.d -> lib.run.c", "lib.report.e -> lib.sweep.d"]


def test_every_module_is_in_a_layer():
    loose = [m for m in MODULES if layer(m) is None and m not in ENTRY_POINTS | {"lib"}]
    assert not loose, f"modules outside core/spec/run/report/sweep: {loose}"


def test_lib_has_no_import_cycle():
    assert cycles(import_graph()) == []


def test_no_import_goes_against_the_layer_order():
    assert against_the_layers(import_graph()) == []


@pytest.mark.parametrize("notebook", sorted(NOTEBOOK_LAYERS))
def test_a_notebook_imports_only_from_the_layers_it_may(notebook):
    cells = json.loads((ROOT / "notebooks" / notebook).read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    code = "\n".join(line for line in code.splitlines() if not line.startswith("%"))  # IPython magics
    targets = imported(ast.parse(code), set(MODULES))
    assert targets, "the notebook imports nothing from lib"
    assert sorted(t for t in targets if layer(t) not in NOTEBOOK_LAYERS[notebook]) == []


def loaded_by(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running `code`."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_importing_the_sweep_command_line_loads_neither_torch_nor_pandas():
    loaded = loaded_by("import lib.sweep.cli, lib.__main__")
    assert {"torch", "pandas"} & loaded == set()


def test_the_training_notebooks_import_cell_loads_nothing_of_sweeps_or_reports():
    cells = json.loads((ROOT / "notebooks" / "train.ipynb").read_text())["cells"]
    imports = next("".join(c["source"]) for c in cells if c["cell_type"] == "code" and "import" in "".join(c["source"])
                   and "parameters" not in c["metadata"].get("tags", []))
    loaded = loaded_by(imports.split("\n\n")[0])
    assert "lib.run.train" in loaded
    assert sorted(m for m in loaded if m.startswith(("lib.sweep", "lib.report"))) == []
    assert {"pandas", "optuna", "scipy"} & loaded == set()
