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

from lib.run.notebook import parameters_in_step
from lib.config.runconfig import FIELD_TYPES
from lib.config.runs import CONFIG_PARAMETER

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def cells(name: str):
    return nbformat.read(NOTEBOOKS / name, as_version=4).cells


def parameters(name: str) -> dict:
    cell = next(c for c in cells(name) if "parameters" in c.metadata.get("tags", []))
    return {node.target.id: ast.literal_eval(node.value) for node in ast.parse(cell.source).body}


def test_train_parameters_are_every_runconfig_field_in_order():
    params = parameters("train.ipynb")
    assert list(params) == [*FIELD_TYPES, CONFIG_PARAMETER]  # then the sweep's whole config as one parameter
    assert params[CONFIG_PARAMETER] is None  # opened by hand, the values above are the config
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


@pytest.mark.parametrize("name", ["train.ipynb", "report.ipynb"])
def test_notebooks_are_valid_with_an_id_on_every_cell(name):
    import json

    import nbformat

    raw = json.loads((NOTEBOOKS / name).read_text())
    assert all(cell.get("id") for cell in raw["cells"])  # nbformat warns now and will refuse later
    assert len({cell["id"] for cell in raw["cells"]}) == len(raw["cells"])
    nbformat.validate(nbformat.reads(json.dumps(raw), as_version=4))

@pytest.mark.slow
@pytest.mark.parametrize("given, line", [
    (["-p", "modle", "mlp"], "error: unknown key 'modle' (did you mean 'model'?); valid: "),
    (["-p", "lr", "fast"], "error: lr must be a number, got 'fast'"),
])
def test_a_bad_papermill_parameter_fails_with_the_clis_one_line_first_and_no_traceback(given, line, tmp_path):
    import os

    from lib.run.kernel_config import write

    write(tmp_path / "ipython" / "profile_default" / "ipython_kernel_config.py")  # as make setup installs it
    out = tmp_path / "out.ipynb"
    result = subprocess.run(
        [sys.executable, "-m", "papermill", str(NOTEBOOKS / "train.ipynb"), str(out), *given,
         "-p", "out_dir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300,
        env={**{k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"},  # ipykernel captures fd 2 then
             "IPYTHONDIR": str(tmp_path / "ipython")})
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    first = next(i for i, text in enumerate(lines) if line in text)
    assert first < lines.index("Traceback (most recent call last):")  # before papermill's own traceback
    assert "without encryption" not in result.stderr
    errors = [o for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", [])
              if o.output_type == "error" or o.get("name") == "stderr"]
    assert len(errors) == 1 and len(errors[0].traceback) == 1 and errors[0].traceback[0].startswith(line.replace("error: ", "ConfigError: ", 1))
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_setup_installs_the_kernel_config_that_drops_the_encryption_warning():
    from lib.run.kernel_config import TCP_WARNING

    makefile = (NOTEBOOKS.parent / "Makefile").read_text()
    assert "-m lib.run.kernel_config" in makefile.split("\ntest:")[0]  # in the setup recipe
    assert TCP_WARNING in subprocess.run([sys.executable, "-c", "import ipykernel.kernelapp, inspect; "
                                          "print(inspect.getsource(ipykernel.kernelapp))"],
                                         capture_output=True, text=True).stdout  # still ipykernel's words


@pytest.mark.slow
def test_papermill_text_parameters_are_converted_like_flags(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "papermill", str(NOTEBOOKS / "train.ipynb"), str(tmp_path / "out.ipynb"),
         "-p", "model", "mlp", "-p", "epochs", "1", "-p", "mix", "true", "-p", "out_dir", str(out)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"mix": true' in (out / "config.json").read_text()


def test_help_notebook_lists_the_values_of_fields_with_a_fixed_list():
    result = subprocess.run([sys.executable, "-m", "papermill", str(NOTEBOOKS / "train.ipynb"), "--help-notebook"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    dataset = next(i for i, line in enumerate(lines) if line.strip().startswith("dataset:"))
    assert lines[dataset + 1].strip() == "one of digits, mnist, fashion_mnist, cifar10, cifar100, imagefolder"
    assert "one of DATASETS" not in result.stdout and "one of SCHEDULERS" not in result.stdout


def test_the_notebook_command_prints_help_and_rewrites_only_when_asked(tmp_path):
    before = (NOTEBOOKS / "train.ipynb").read_bytes()
    result = subprocess.run([sys.executable, "-m", "lib.run.notebook", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("usage: python -m lib.run.notebook")
    assert "--write" in result.stdout
    assert (NOTEBOOKS / "train.ipynb").read_bytes() == before

    stale = tmp_path / "train.ipynb"
    nb = nbformat.read(NOTEBOOKS / "train.ipynb", as_version=4)
    next(c for c in nb.cells if "parameters" in c.metadata.get("tags", [])).source = "lr: float = 1.0  # old"
    nbformat.write(nb, stale)
    stale_bytes = stale.read_bytes()
    check = subprocess.run([sys.executable, "-m", "lib.run.notebook", str(stale)], capture_output=True, text=True)
    assert check.returncode == 1 and "out of step" in check.stderr and "--write" in check.stderr
    assert stale.read_bytes() == stale_bytes  # checking changes nothing
    write = subprocess.run([sys.executable, "-m", "lib.run.notebook", str(stale), "--write"], capture_output=True,
                           text=True)
    assert write.returncode == 0 and parameters_in_step(stale)
    assert subprocess.run([sys.executable, "-m", "lib.run.notebook"], capture_output=True).returncode == 0


@pytest.mark.slow
def test_a_notebook_run_shows_one_output_per_line_and_no_progress_warning(tmp_path):
    out = tmp_path / "out.ipynb"
    result = subprocess.run(
        [sys.executable, "-m", "papermill", str(NOTEBOOKS / "train.ipynb"), str(out), "-p", "model", "mlp",
         "-p", "epochs", "3", "-p", "out_dir", str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    cell = next(c for c in nbformat.read(out, as_version=4).cells if "run(cfg" in c.source)
    text = "".join(o.get("text", "") for o in cell.outputs)
    assert "TqdmWarning" not in text and "IProgress" not in text and "batch/s" not in text
    lines = text.splitlines()
    assert len(lines) == 1 + 3 + 1 and lines[1].startswith("epoch   1/3")  # the header, each epoch, the summary
    assert len(cell.outputs) <= len(lines)  # one output per line at most, none blank
