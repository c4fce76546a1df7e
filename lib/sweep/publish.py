"""Publishing a report: the report notebook executed by path over sweep folders, then turned into HTML that
carries a Content-Security-Policy allowing only the page's own scripts (lib.core.pagescripts).

The sweep layer never imports the report's code: the notebook does, in its own kernel. Papermill
dies with the sweep process, as run kernels do (lib.sweep.executors.kernels.DIE_WITH_PARENT), and
its kernel follows it within a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from lib.core.layout import NOTEBOOK, NOTEBOOK_HTML, REPORT_HTML, REPORT_NOTEBOOK, REPORT_PARTIAL
from lib.core.pagescripts import SCRIPT_HASHES, script_hashes, with_policy
from lib.core.records import atomic_write_bytes
from lib.sweep.executors.kernels import DIE_WITH_PARENT

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


class ReportError(RuntimeError):
    """The report notebook failed; the message names the error and the partial notebook."""


def render_run_notebook(folder: Path) -> bool:
    """Write NOTEBOOK_HTML beside a run folder's executed NOTEBOOK when it is missing or older (a browser shows a
    notebook as raw JSON); whether one was written. Called where a run ends (lib.sweep.executors.base), never by
    the report, which leaves run folders as they are. Best effort: an unreadable notebook is left as it is."""
    notebook, page = folder / NOTEBOOK, folder / NOTEBOOK_HTML
    if not notebook.is_file() or (page.is_file() and page.stat().st_mtime >= notebook.stat().st_mtime):
        return False
    import nbformat
    from nbconvert import HTMLExporter

    try:
        html, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    except Exception as exc:  # a page is a convenience: whatever nbformat or nbconvert raise, the run's records stand
        print(f"warning: {notebook} not rendered to {NOTEBOOK_HTML}: {exc}", file=sys.stderr)
        return False
    atomic_write_bytes(page, html.encode())
    return True


def build_report(sweep_dirs: Path | list[Path], out: Path | None = None, notebook: Path = NOTEBOOKS / REPORT_NOTEBOOK
                 ) -> Path:
    """Execute the report notebook for one sweep folder or several (earlier first); write report.ipynb,
    report.html and the report's CSV tables into `out` (default: the first folder)."""
    from nbconvert import HTMLExporter

    dirs = [sweep_dirs] if isinstance(sweep_dirs, Path) else list(sweep_dirs)
    root = out or dirs[0]
    root.mkdir(parents=True, exist_ok=True)
    partial = root / REPORT_PARTIAL
    command = [sys.executable, "-c", DIE_WITH_PARENT, str(os.getpid()), sys.executable, "-m", "papermill",
               str(notebook), str(partial), "-p", "sweep_dirs",
               ",".join(str(d.resolve()) for d in dirs), "-p", "out_dir", str(root.resolve()), "--no-progress-bar"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise ReportError(f"the report notebook failed ({lines[-1] if lines else result.returncode}); "
                          f"see {partial}")
    import nbformat

    executed = nbformat.read(partial, as_version=4)
    executed.metadata["title"] = f"{' + '.join(d.name for d in dirs)}: sweep report"  # the page's title
    nbformat.write(executed, partial)
    os.replace(partial, root / REPORT_NOTEBOOK)
    exporter = HTMLExporter(exclude_input=True)
    html, _ = exporter.from_notebook_node(executed)
    atomic_write_bytes(root / REPORT_HTML, with_policy(html, own_scripts(executed, exporter)).encode())
    return root / REPORT_HTML


def own_scripts(executed, exporter) -> set[str]:
    """The hashes of the scripts report.html may run: the page template's (the exporter's page for an empty
    notebook) and those the notebook's outputs declare in their metadata (lib.core.pagescripts)."""
    import nbformat

    template, _ = exporter.from_notebook_node(nbformat.v4.new_notebook())
    allowed = set(script_hashes(template))
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            metadata = output.get("metadata") or {}
            for part in (metadata, *metadata.values()):  # IPython files an HTML object's metadata under text/html
                if isinstance(part, dict):
                    allowed.update(h for h in part.get(SCRIPT_HASHES) or [] if isinstance(h, str))
    return allowed


def publish(sweep_dirs: Path | list[Path], out: Path | None = None) -> Path:
    """`build_report`, saying when it starts and when it ends, with its time (it takes seconds: a kernel
    starts, the statistics and figures are computed)."""
    from lib.core.formatting import duration

    dirs = [sweep_dirs] if isinstance(sweep_dirs, Path) else list(sweep_dirs)
    target = (out or dirs[0]) / REPORT_HTML
    print(f"report: building {target} ...", flush=True)
    start = time.monotonic()
    path = build_report(dirs, out)
    print(f"report: {path} (built in {duration(time.monotonic() - start)})", flush=True)
    return path
