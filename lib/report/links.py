"""Where the report lives: paths and links relative to its folder, so a page that is moved or shared names no
folder of the machine that built it."""

from __future__ import annotations

import os
from pathlib import Path

from lib.core.layout import NOTEBOOK, NOTEBOOK_HTML, RUN_LOG, run_dir
from lib.core.paths import project_root
from lib.report.load import SweepReport
from lib.report.render import Markup, escape


def set_output(report: SweepReport, folder: str | Path) -> None:
    """Tell the sections where the report is written, so its paths and links are relative to that folder."""
    report.derived.out = Path(folder).resolve()


def output_folder(report: SweepReport) -> Path:
    """The folder the report is written to (its first sweep's folder until `set_output` says otherwise)."""
    return report.derived.out or Path(report.root).resolve()


def relative(report: SweepReport, path: str | Path) -> str:
    """`path` relative to the report's folder (the folder a reader opens report.html from)."""
    return os.path.relpath(Path(path).resolve(), output_folder(report))


def _run_folder(report: SweepReport, key: str) -> Path | None:
    """The run folder of a run key ('run' or 'sweep/run')."""
    sweep = report.runs.loc[report.runs["run"] == key, "sweep"]
    if sweep.empty:
        return None
    root = report.roots[report.sweeps.index(sweep.iloc[0])]
    return run_dir(root, key.split("/")[-1])


def run_link(report: SweepReport, key: str) -> Markup:
    """A run's name linking to its executed notebook (its HTML page where there is one), and its log."""
    folder = _run_folder(report, key)
    name = escape(key)
    if folder is None:
        return Markup(name)
    notebook, log = folder / (NOTEBOOK_HTML if (folder / NOTEBOOK_HTML).is_file() else NOTEBOOK), folder / RUN_LOG
    link = f'<a href="{escape(relative(report, notebook))}">{name}</a>' if notebook.is_file() else name
    return Markup(link + (f' <a href="{escape(relative(report, log))}" style="font-size:85%">log</a>'
                          if log.is_file() else ""))


def local_paths(report: SweepReport, text: str) -> str:
    """`text` (a failure message, a note) with the building machine's folders written relative to the report's
    folder, and the home folder as ~, so a shared page names no path of the machine that built it."""
    out = output_folder(report)
    folders = {str(Path(r).resolve()): relative(report, r) for r in [*report.roots, out]}
    root = project_root()
    if root is not None:
        folders.setdefault(str(root), relative(report, root))
    folders.setdefault(str(Path.home()), "~")
    for folder in sorted(folders, key=len, reverse=True):  # the deepest first: /home/me/p before /home/me
        if len(folder) > 1:
            text = text.replace(folder, folders[folder])
    return text
