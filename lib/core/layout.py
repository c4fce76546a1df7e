"""The names of every file in a run folder and a sweep folder: the one place they are spelled.

A run folder (`reports/runs/latest`, or `reports/<sweep>/runs/<run>` in a sweep):

    config.json  history.csv  metrics.json       the records (written atomically, lib.core.records)
    train.ipynb  run.log  params.yaml            the executed notebook, its output, what papermill was given
    failure.json  submitted.json                 how a run failed; a run out on a cluster
    checkpoints/{last,last.prev,best}.pt         what a resume and the test read
    .lock  wandb-id                              the training process's lock; the W&B run it logs to

A sweep folder (`reports/<sweep>`): `sweep.json` (the expanded plan), `runs/<run>/`, `study.journal`
(the Optuna study of a search) and `study.journal.lock` (Optuna's lock beside it, named by Optuna:
lib.core.journal), `.sweep.lock`, and the report (`report.ipynb`, `report.html`, its CSVs).
"""

from __future__ import annotations

from pathlib import Path

# -- a run folder
CONFIG = "config.json"
HISTORY = "history.csv"
METRICS = "metrics.json"
FAILURE = "failure.json"
SUBMITTED = "submitted.json"  # a cluster executor sent the run out; its records come back when it ends
NOTEBOOK = "train.ipynb"
PARTIAL_NOTEBOOK = "train.partial.ipynb"  # papermill writes here; renamed to NOTEBOOK when it stops
NOTEBOOK_HTML = "train.html"  # NOTEBOOK rendered for a browser (the report's run links open it)
RUN_LOG = "run.log"
PARAMS = "params.yaml"
LOCK = ".lock"
WANDB_ID = "wandb-id"
WORKER_PID = "worker.pid"
CHECKPOINTS = "checkpoints"
LAST = f"{CHECKPOINTS}/last.pt"
PREVIOUS = f"{CHECKPOINTS}/last.prev.pt"  # the last.pt that the newest one replaced
BEST = f"{CHECKPOINTS}/best.pt"
# Records that travel back from wherever a run executed (checkpoints stay in its work folder).
RECORD_FILES = (NOTEBOOK, NOTEBOOK_HTML, CONFIG, HISTORY, METRICS, RUN_LOG, FAILURE)
# What a run that starts over must not inherit from an earlier run in the same folder.
RUN_RESULTS = (METRICS, HISTORY, LAST, PREVIOUS, BEST, WANDB_ID)

# -- a sweep folder
RUNS = "runs"
SWEEP_JSON = "sweep.json"
STUDY_FILE = "study.journal"
SWEEP_LOCK = ".sweep.lock"
REPORT_NOTEBOOK = "report.ipynb"
REPORT_PARTIAL = "report.partial.ipynb"
REPORT_HTML = "report.html"


def runs_dir(sweep_root: Path) -> Path:
    """The folder holding a sweep's run folders."""
    return Path(sweep_root) / RUNS


def run_dir(sweep_root: Path, run: str) -> Path:
    """The folder of one run of a sweep."""
    return Path(sweep_root) / RUNS / run
