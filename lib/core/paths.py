"""Where relative paths point: one rule for `out_dir`, `data_dir`, `$DATA_DIR` and sweep folders.

A relative path is taken from the project root (the folder holding `pyproject.toml`, `lib/` and
`notebooks/`) when the working directory is inside the project, and from the working directory
otherwise. So `python -m lib.train` started at the root, a kernel that JupyterLab starts in
`notebooks/`, and papermill all read and write the same folders. Configs keep paths as given;
they are resolved here, where they are used.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_DIR = "data"  # used when neither data_dir nor $DATA_DIR is set


def project_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above `start` (default: cwd) that holds this project."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "lib").is_dir() and (folder / "notebooks").is_dir():
            return folder
    return None


def resolve(path: str | Path) -> Path:
    """An absolute path for `path`, by the module's rule."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    return (project_root() or Path.cwd().resolve()) / p


def data_root(data_dir: str | None) -> Path:
    """The dataset folder: `data_dir`, else `$DATA_DIR`, else `./data`, resolved like any path."""
    return resolve(data_dir if data_dir is not None else os.environ.get("DATA_DIR") or DEFAULT_DATA_DIR)
