"""The shape of lib/: packages in layers, imports one way, no cycles, and notebooks that import only
what their layer may. Every import counts, those inside functions included.

    core  <  config  <  run                  one training run
    core  <  config  <  report  <  sweep     many runs: the sweep publishes its report and proposes the next

The entry points (`lib.__main__`, `lib.train`) sit on top and may import any layer.

Public faces: each package's `__init__` names what other packages may use (`__all__`); code outside a
package (lib's other packages, the notebooks) imports only those names from it, and no module (lib,
benchmarks, notebooks) reaches for another module's private (`_name`) name. Tests and benchmarks may use
any public name of the module they test or measure.
"""

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lib.core.paths import project_root

ROOT = project_root(Path(__file__).parent)
LIB = ROOT / "lib"
LAYERS = ("core", "config", "run", "report", "sweep")
MAY_IMPORT = {
    "core": {"core"},
    "config": {"core", "config"},
    "run": {"core", "config", "run"},
    "report": {"core", "config", "report"},
    "sweep": {"core", "config", "report", "sweep"},
}
ENTRY_POINTS = {"lib.__main__", "lib.train"}
NOTEBOOK_LAYERS = {"train.ipynb": {"core", "config", "run"}, "report.ipynb": {"core", "config", "report"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(LIB.rglob("*.py"))}


def annotation_only(tree: ast.AST) -> set[int]:
    """The ids of the nodes under `if TYPE_CHECKING:`: imports for annotations, which never run."""
    return {id(inner) for node in ast.walk(tree) if isinstance(node, ast.If) and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING" for part in node.body for inner in ast.walk(part)}


def imported(tree: ast.AST, modules: set[str]) -> set[str]:
    """The lib modules a piece of code imports, anywhere in it but under `if TYPE_CHECKING:` (annotations):
    `from lib.report import design` is the module lib.report.design; `from lib.report.load import SweepReport` is
    lib.report.load."""
    found, skipped = set(), annotation_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
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
    graph = {"lib.core.a": {"lib.config.b"}, "lib.config.b": {"lib.core.a"}, "lib.run.c": {"lib.sweep.d"},
             "lib.sweep.d": {"lib.run.c"}, "lib.report.e": {"lib.sweep.d"}}
    assert sorted(map(tuple, cycles(graph))) == [("lib.config.b", "lib.core.a"), ("lib.run.c", "lib.sweep.d")]
    assert against_the_layers(graph) == ["lib.core.a -> lib.config.b", "lib.run.c -> lib.sweep.d",
                                         "lib.sweep.d -> lib.run.c", "lib.report.e -> lib.sweep.d"]


def test_every_module_is_in_a_layer():
    loose = [m for m in MODULES if layer(m) is None and m not in ENTRY_POINTS | {"lib"}]
    assert not loose, f"modules outside core/config/run/report/sweep: {loose}"


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


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def lib_modules_bound(tree: ast.AST, modules: set[str]) -> dict[str, str]:
    """Local names bound to a lib module: `import lib.x.y as m`, `from lib.x import y`; `lib` for `import lib.x`."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("lib"):
                    bound[alias.asname] = alias.name if alias.asname else None
                    bound.setdefault("lib", "lib")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("lib"):
            for alias in node.names:
                if f"{node.module}.{alias.name}" in modules:
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return {name: module for name, module in bound.items() if name and module}


def attribute_uses(tree: ast.AST, modules: set[str]) -> list[tuple[str, str]]:
    """(module, name) for every `alias.name` whose alias is a lib module (`lib.x.y.name` resolved to lib.x.y)."""
    bound = lib_modules_bound(tree, modules)
    uses = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain, value = [node.attr], node.value
        while isinstance(value, ast.Attribute):
            chain.insert(0, value.attr)
            value = value.value
        if not isinstance(value, ast.Name) or value.id not in bound:
            continue
        full = [*bound[value.id].split("."), *chain]
        if ".".join(full) in modules:  # the chain names a module itself
            continue
        for cut in range(len(full) - 1, 0, -1):  # the deepest module on the chain, and the name taken from it
            if ".".join(full[:cut]) in modules or ".".join(full[:cut]) == bound[value.id]:
                uses.append((".".join(full[:cut]), full[cut]))
                break
    return uses


def from_imports(tree: ast.AST, modules: set[str]) -> list[tuple[str, str]]:
    """(module, name) for every `from lib.x.y import name` that is not a submodule."""
    return [(node.module, alias.name) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("lib")
            for alias in node.names if f"{node.module}.{alias.name}" not in modules]


def private_uses(sources: dict[str, ast.AST], modules: set[str]) -> list[str]:
    """'importer: module._name' for every private name one module takes from another."""
    found = []
    for importer, tree in sources.items():
        for module, name in from_imports(tree, modules) + attribute_uses(tree, modules):
            if is_private(name) and module != importer:
                found.append(f"{importer}: {module}.{name}")
    return sorted(set(found))


def outside_public_faces(sources: dict[str, ast.AST], modules: set[str], faces: dict[str, set[str]]) -> list[str]:
    """'importer: module.name' for every name taken from another package that its `__all__` does not list."""
    found = []
    for importer, tree in sources.items():
        for module, name in from_imports(tree, modules) + attribute_uses(tree, modules):
            package = layer(module)
            if package and package != layer(importer) and not is_private(name) and name not in faces[package]:
                found.append(f"{importer}: {module}.{name}")
    return sorted(set(found))


def notebook_code(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return "\n".join(line for line in code.splitlines() if not line.startswith("%"))  # IPython magics


def all_sources() -> dict[str, ast.AST]:
    """Every module of lib, every benchmark and every notebook, parsed; keyed by module (or file) name."""
    sources = {name: ast.parse(path.read_text()) for name, path in MODULES.items()}
    sources |= {f"benchmarks.{p.stem}": ast.parse(p.read_text()) for p in sorted((ROOT / "benchmarks").glob("*.py"))}
    sources |= {f"notebooks/{p.name}": ast.parse(notebook_code(p))
                for p in sorted((ROOT / "notebooks").glob("*.ipynb"))}
    return sources


def test_the_checks_catch_a_planted_private_import_and_a_name_outside_a_public_face():
    modules = {"lib.core.records", "lib.report.stats", "lib.report.factorial", "lib.sweep.cli"}
    planted = {
        "lib.report.factorial": ast.parse("from lib.report.stats import _design, table\nfrom lib.report import stats\n"
                                          "def f():\n    return stats._key(1), stats.__name__\n"),
        "lib.sweep.cli": ast.parse("import lib.core.records\nfrom lib.core.records import write_json\n"
                                   "lib.core.records._atomic()\nlib.core.records.hidden_helper()\n"),
        "lib.report.stats": ast.parse("def _own():\n    return _own\n"),  # its own private names are its own
    }
    assert private_uses(planted, modules) == ["lib.report.factorial: lib.report.stats._design",
                                              "lib.report.factorial: lib.report.stats._key",
                                              "lib.sweep.cli: lib.core.records._atomic"]
    faces = {"core": {"write_json"}, "report": set()}
    assert outside_public_faces(planted, modules, faces) == ["lib.sweep.cli: lib.core.records.hidden_helper"]


def test_no_module_imports_another_modules_private_name():
    found = private_uses(all_sources(), set(MODULES))
    assert found == []


def public_faces() -> dict[str, set[str]]:
    return {package: set(importlib.import_module(f"lib.{package}").__all__) for package in LAYERS}


def test_other_packages_and_the_notebooks_use_only_the_names_a_package_lists_in_its_all():
    sources = {name: tree for name, tree in all_sources().items() if not name.startswith("benchmarks.")}
    assert outside_public_faces(sources, set(MODULES), public_faces()) == []


@pytest.mark.parametrize("package", LAYERS)
def test_every_name_in_a_packages_all_is_there_and_no_name_hides_a_submodule(package):
    face = importlib.import_module(f"lib.{package}")
    submodules = {m.split(".")[2] for m in MODULES if m.count(".") >= 2 and m.startswith(f"lib.{package}.")}
    assert face.__all__ and len(set(face.__all__)) == len(face.__all__)
    assert sorted(set(face.__all__) & submodules) == []
    for name in face.__all__:
        assert getattr(face, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        face.no_such_name


def test_importing_the_sweep_command_line_loads_neither_torch_nor_pandas():
    loaded = loaded_by("import lib.sweep.cli, lib.__main__")
    assert {"torch", "pandas"} & loaded == set()


def test_the_training_notebooks_import_cell_loads_nothing_of_sweeps_or_reports():
    cells = json.loads((ROOT / "notebooks" / "train.ipynb").read_text())["cells"]
    imports = next("".join(c["source"]) for c in cells if c["cell_type"] == "code" and "import" in "".join(c["source"])
                   and "parameters" not in c["metadata"].get("tags", []))
    loaded = loaded_by(imports.split("\n\n")[0])
    assert "lib.run.loop" in loaded
    assert sorted(m for m in loaded if m.startswith(("lib.sweep", "lib.report"))) == []
    assert {"pandas", "optuna", "scipy"} & loaded == set()


def test_a_name_listed_under_two_modules_of_a_public_face_is_refused():
    from lib.core.exports import public_face

    with pytest.raises(ValueError, match="'ConfigError' is listed under both 'config' and 'errors'"):
        public_face("lib.config", {"config": ("ConfigError",), "errors": ("ConfigError",)})


def test_an_import_for_annotations_only_is_no_edge():
    code = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from lib.report.analysis import Analysis\n" \
           "from lib.core.paths import relative\n"
    assert imported(ast.parse(code), set(MODULES)) == {"lib.core.paths"}
