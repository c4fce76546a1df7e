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

from lib.spec.config import FIELD_TYPES

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def cells(name: str):
    return nbformat.read(NOTEBOOKS / name, as_version=4).cells


def parameters(name: str) -> dict:
    cell = next(c for c in cells(name) if "parameters" in c.metadata.get("tags", []))
    return {node.target.id: ast.literal_eval(node.value) for node in ast.parse(cell.source).body}


def test_train_parameters_are_every_runconfig_field_in_order():
    params = parameters("train.ipynb")
    assert list(params) == list(FIELD_TYPES)
    assert params["dataset"] == "digits"  # RunConfig's defaults are a smoke run


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
