"""`from: sweep/run`: the earlier run a follow-up names must exist, so the report's comparison is the one stated.

`run` (and its --dry-run) is given one sweep file; the sweep a `from:` names is found where `run` would have
put it, `<--reports-dir>/<sweep>/runs/<run>`, and must hold that run's records (its config.json).
"""

from __future__ import annotations

from pathlib import Path

from lib.core.layout import CONFIG, run_dir
from lib.config.errors import SweepFileError
from lib.config.naming import unseeded
from lib.config.sweepfile import Sweep


def check_parents(sweep: Sweep, reports_dir: str | Path) -> None:
    """Refuse (SweepFileError, one line) the first explicit run whose `from:` names itself, its own sweep, or a
    run with no records under `reports_dir`."""
    where = sweep.path or sweep.name
    for spec in sweep.runs:
        if not spec.parent:
            continue
        parent_sweep, parent_run = spec.parent.split("/")
        if parent_sweep == sweep.name:
            what = "itself" if parent_run in (spec.name, unseeded(spec.name)) \
                else f"a run of its own sweep {sweep.name!r}"
            raise SweepFileError(f"{where}: run {spec.name!r} has from: {spec.parent!r}, which names {what}; "
                                 f"from: names a run of an earlier sweep, as sweep/run")
        folder = run_dir(Path(reports_dir) / parent_sweep, parent_run)
        if not (folder / CONFIG).is_file():
            missing = folder.parent.parent if not folder.parent.parent.is_dir() else folder
            raise SweepFileError(f"{where}: run {spec.name!r} has from: {spec.parent!r}, but {missing} does not "
                                 f"hold it (no {CONFIG}); name an existing run of a sweep under --reports-dir "
                                 f"{reports_dir}, as sweep/run")

