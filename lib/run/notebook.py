"""The training notebook's config adapter: its parameters cell, and the RunConfig built from it.

The parameters cell is generated from RunConfig (`parameters_cell()`; `python -m lib.run.notebook`
checks that notebooks/train.ipynb's is in step, `--write` rewrites it), so it holds exactly
RunConfig's defaults and comments and a test keeps the two together, plus one more parameter, `config`:
a run's whole config as one dict, which is how the sweep runner passes the config it validated (its
params.yaml is `config: {...}`). Papermill injects overrides after the cell; `config_from_namespace(globals())`
turns them into a RunConfig, once: `config` when it is given, else the cell's values (JupyterLab, or
`papermill -p lr 0.1`). A misspelt papermill `-p` name becomes an unknown key there, so the run fails
with a suggestion instead of silently training with the default.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Mapping

from lib.core.layout import NOTEBOOK
from lib.config.runconfig import (ConfigError, FIELD_TYPES, RunConfig, base_type, defaults, field_comments,
                                  field_sections, parse_text)
from lib.config.runs import CONFIG_PARAMETER

TRAIN_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / NOTEBOOK
# Names IPython puts into every user namespace.
_IPYTHON_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "open"}
_LITERALS = (str, int, float, bool, type(None))


def namespace_literals(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The plain literals a notebook defined: its parameters and whatever papermill injected.

    Only literals count (papermill injects nothing else), so the objects later cells make (`cfg`,
    `result`, a figure) don't get in the way when a cell is run again in JupyterLab.
    """
    return {k: v for k, v in namespace.items() if not k.startswith("_") and k not in _IPYTHON_NAMES
            and k != CONFIG_PARAMETER and isinstance(v, _LITERALS)}


def config_from_namespace(namespace: Mapping[str, Any]) -> RunConfig:
    """A RunConfig from a notebook's globals: from `config` (the whole config as one dict, as the sweep
    runner passes it) when it is given, else from the parameters; text from `papermill -p mix true` is
    converted like a command-line flag. Raises ConfigError for unknown names or bad values, and for
    parameters changed beside `config`; prints a `warning:` line for each setting that cannot take effect."""
    values = namespace_literals(namespace)
    given = namespace.get(CONFIG_PARAMETER)
    try:
        if given is not None:
            values = _whole(given, values)
        for key, value in values.items():
            if isinstance(value, str) and key in FIELD_TYPES and base_type(key)[0] is not str:
                values[key] = parse_text(key, value)
        cfg = RunConfig.from_dict(values)
    except ConfigError as exc:
        _say_first(f"error: {exc}")
        raise
    for line in cfg.warnings():
        print(f"warning: {line}", file=sys.stderr)
    return cfg


def _whole(config: Any, values: dict[str, Any]) -> dict[str, Any]:
    """`config` as the run's values, refusing parameters changed beside it: one of the two would be lost."""
    if not isinstance(config, Mapping):
        raise ConfigError(f"{CONFIG_PARAMETER} must be a mapping of RunConfig fields to values, got "
                          f"{type(config).__name__}; pass it with papermill -f FILE or -y, or pass single parameters")
    cell = defaults()
    besides = [k for k, v in values.items() if k not in cell or v != cell[k]]
    if besides:
        raise ConfigError(f"{CONFIG_PARAMETER} is given, and so are {', '.join(besides)}; put them in "
                          f"{CONFIG_PARAMETER}, or pass single parameters without it")
    return dict(config)


def _say_first(line: str) -> None:
    """In an ipykernel, the line also goes to the kernel process's own stderr (not the notebook, which shows
    the error once): the terminal of a plain `papermill` run, so the line comes before papermill's
    traceback, and a sweep run's run.log. ipykernel keeps that stream as a copy of file descriptor 2."""
    import os

    if sys.stderr is sys.__stderr__ or sys.__stderr__ is None:  # not in a kernel: the error is shown as it is
        return
    fd = getattr(sys.stderr, "_original_stdstream_copy", None)  # None: the kernel does not capture fd 2
    fd = fd if isinstance(fd, int) else sys.__stderr__.fileno()
    lead = "\n" if os.isatty(fd) else ""  # past papermill's progress bar
    os.write(fd, f"{lead}{line}\n".encode())


def parameters_cell() -> str:
    """The source of train.ipynb's parameters cell: every RunConfig field with its default and comment."""
    comments, default = field_comments(), defaults()
    lines = []
    for section, names in field_sections():
        lines.append(f"# {section}")
        for name in names:
            kind, optional = base_type(name)
            annotation = f'"Optional[{kind.__name__}]"' if optional else kind.__name__
            lines.append(f"{name}: {annotation} = {default[name]!r}  # {comments[name]}")
        lines.append("")
    lines += ["# the whole config at once", f'{CONFIG_PARAMETER}: "Optional[dict]" = None  # set by the sweep runner: '
              f"every value above as one validated dict; None: the values above"]
    return "\n".join(lines).rstrip() + "\n"


def _parameters(path: Path):
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    return notebook, next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))


def parameters_in_step(path: Path = TRAIN_NOTEBOOK) -> bool:
    """Whether the notebook's parameters cell is the one RunConfig gives."""
    return _parameters(path)[1].source == parameters_cell().rstrip("\n")


def write_parameters_cell(path: Path = TRAIN_NOTEBOOK) -> None:
    """Rewrite the parameters cell of the training notebook from RunConfig."""
    import nbformat

    notebook, cell = _parameters(path)
    cell.source = parameters_cell().rstrip("\n")
    nbformat.write(notebook, path)


def main(argv: list[str] | None = None) -> int:
    """Check the parameters cell (exit 1 when it is out of step); with --write, rewrite it."""
    parser = argparse.ArgumentParser(
        prog="python -m lib.run.notebook",
        description="The training notebook's parameters cell is generated from RunConfig. Without --write, "
                    "check that the notebook's cell is in step with RunConfig (exit status 1 when it is not) "
                    "and change nothing; with --write, rewrite the cell.")
    parser.add_argument("notebook", nargs="?", default=str(TRAIN_NOTEBOOK),
                        help=f"the training notebook (default: {TRAIN_NOTEBOOK})")
    parser.add_argument("--write", action="store_true", help="rewrite the parameters cell from RunConfig")
    args = parser.parse_args(argv)
    path = Path(args.notebook)
    if args.write:
        write_parameters_cell(path)
        print(f"rewrote the parameters cell of {path} from RunConfig")
        return 0
    if parameters_in_step(path):
        print(f"the parameters cell of {path} is in step with RunConfig")
        return 0
    print(f"the parameters cell of {path} is out of step with RunConfig; rewrite it with "
          f"python -m lib.run.notebook --write", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
