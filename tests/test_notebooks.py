"""The notebooks' contracts: parameters in step with RunConfig, no logic, papermill errors are loud.

nbmake executes both notebooks top to bottom with their defaults (`make test` runs
`pytest --nbmake notebooks`); these tests check what that does not.
"""

import ast
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lib.config import FIELD_TYPES, RunConfig

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def cells(name: str):
    return nbformat.read(NOTEBOOKS / name, as_version=4).cells


def parameters(name: str) -> dict:
    cell = next(c for c in cells(name) if "parameters" in c.metadata.get("tags", []))
    return {node.target.id: ast.literal_eval(node.value) for node in ast.parse(cell.source).body}


def test_train_parameters_are_every_runconfig_field_with_a_smoke_default():
    params = parameters("train.ipynb")
    assert list(params) == [f for f in params if f in FIELD_TYPES] and set(params) == set(FIELD_TYPES)
    defaults = RunConfig().to_dict()
    changed = {k: v for k, v in params.items() if defaults[k] != v}
    assert changed == {"epochs": 3, "batch_size": 64, "out_dir": "reports/runs/notebook"}
    assert params["dataset"] == "digits"


@pytest.mark.parametrize("name", ["train.ipynb", "report.ipynb"])
def test_notebooks_hold_no_functions_classes_or_loops(name):
    for cell in cells(name):
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
        for node in ast.walk(ast.parse(source)):
            assert not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While, ast.Lambda)), \
                f"{name}: logic belongs in lib/: {ast.unparse(node)[:60]}"


@pytest.mark.slow
def test_a_misspelt_papermill_parameter_fails_the_run_with_a_suggestion(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "papermill", str(NOTEBOOKS / "train.ipynb"), str(tmp_path / "out.ipynb"),
         "-p", "modle", "mlp", "-p", "out_dir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "unknown key 'modle' (did you mean 'model'?)" in result.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


@pytest.mark.slow
def test_papermill_text_parameters_are_converted_like_flags(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "papermill", str(NOTEBOOKS / "train.ipynb"), str(tmp_path / "out.ipynb"),
         "-p", "model", "mlp", "-p", "epochs", "1", "-p", "mix", "true", "-p", "out_dir", str(out)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"mix": true' in (out / "config.json").read_text()


def test_the_config_cell_can_be_run_again_and_paths_start_at_the_project_root(monkeypatch):
    from lib.notebook import config_from_namespace, project_root

    monkeypatch.chdir(NOTEBOOKS)  # where JupyterLab runs the kernel
    monkeypatch.delenv("DATA_DIR")
    namespace = {**parameters("train.ipynb"), "In": [], "get_ipython": print}
    cfg = config_from_namespace(namespace)
    root = project_root()
    assert cfg.out_dir == str(root / "reports/runs/notebook") and cfg.data_dir == str(root / "data")
    namespace.update(cfg=cfg, result=object(), mix="true")  # objects from later cells; papermill text
    assert config_from_namespace(namespace).mix is True
