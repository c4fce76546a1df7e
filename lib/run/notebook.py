"""The training notebook's config adapter: its parameters cell, and the RunConfig built from it.

The parameters cell is generated from RunConfig (`parameters_cell()`; `python -m lib.run.notebook`
rewrites it in notebooks/train.ipynb), so it holds exactly RunConfig's defaults and comments and a
test keeps the two together. Papermill injects overrides after it; `config_from_namespace(globals())`
turns all of them into a RunConfig. A misspelt papermill `-p` name becomes an unknown key there, so
the run fails with a suggestion instead of silently training with the default.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Mapping

from lib.core.layout import NOTEBOOK
from lib.spec.config import FIELD_TYPES, RunConfig, base_type, field_comments, field_sections, parse_text

TRAIN_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / NOTEBOOK
# Names IPython puts into every user namespace.
_IPYTHON_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "open"}
_LITERALS = (str, int, float, bool, type(None))


def namespace_literals(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The plain literals a notebook defined: its parameters and whatever papermill injected.

    Only literals count (papermill injects nothing else), so the objects later cells make (`cfg`,
    `result`, a figure) don't get in the way when a cell is run again in JupyterLab.
    """
    return {k: v for k, v in namespace.items()
            if not k.startswith("_") and k not in _IPYTHON_NAMES and isinstance(v, _LITERALS)}


def config_from_namespace(namespace: Mapping[str, Any]) -> RunConfig:
    """A RunConfig from a notebook's globals; text from `papermill -p mix true` is converted like a
    command-line flag. Raises ConfigError for unknown names or bad values; prints a `warning:`
    line for each setting that cannot take effect."""
    values = namespace_literals(namespace)
    for key, value in values.items():
        if isinstance(value, str) and key in FIELD_TYPES and base_type(key)[0] is not str:
            values[key] = parse_text(key, value)
    cfg = RunConfig.from_dict(values)
    for line in cfg.warnings():
        print(f"warning: {line}", file=sys.stderr)
    return cfg


def parameters_cell() -> str:
    """The source of train.ipynb's parameters cell: every RunConfig field with its default and comment."""
    comments, defaults = field_comments(), RunConfig().to_dict()
    lines = []
    for section, names in field_sections():
        lines.append(f"# {section}")
        for name in names:
            kind, optional = base_type(name)
            annotation = f'"Optional[{kind.__name__}]"' if optional else kind.__name__
            lines.append(f"{name}: {annotation} = {defaults[name]!r}  # {comments[name]}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_parameters_cell(path: Path = TRAIN_NOTEBOOK) -> None:
    """Rewrite the parameters cell of the training notebook from RunConfig."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = parameters_cell().rstrip("\n")
    nbformat.write(notebook, path)


if __name__ == "__main__":
    write_parameters_cell()
    print(f"rewrote the parameters cell of {TRAIN_NOTEBOOK} from RunConfig")
