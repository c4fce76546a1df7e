"""Run records on disk: atomic writes, safe checkpoint loading, readers, and what state a run is in.

A run folder holds the files `lib.core.layout` names (config.json, history.csv, metrics.json,
checkpoints/{last,best}.pt, ...). Every file is written to a temporary name in the same folder, flushed to disk, then renamed over
the old one, so a crash leaves either the old file or the new one, never half of one (and perhaps
the temporary file, which `remove_stale_temp_files` clears once its writer is gone).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from lib.core.layout import CONFIG, FAILURE, HISTORY, LAST, LOCK, METRICS, PREVIOUS, SUBMITTED
from lib.core.locks import LockBusy, hold, is_held, process_alive

FINISHED_STATUSES = ("completed", "early_stopped", "diverged", "pruned")
# Pruned runs (stopped by early termination) trained only part of their epochs: they are shown,
# never ranked, flagged or averaged.
RANKED_STATUSES = tuple(s for s in FINISHED_STATUSES if s != "pruned")
DAMAGED = "damaged"  # a run whose records cannot be what they must be (load_run's problems): named, never compared


def atomic_write_bytes(path: str | Path, data: bytes, previous: str | Path | None = None) -> None:
    """Write `data` to `path` atomically; with `previous`, the file it replaces is renamed to that."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if previous is not None and path.exists():
            os.replace(path, previous)  # the new file is on disk already: no moment without either
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


_TEMP_NAME = re.compile(r"\..+\.(\d+)\.tmp")  # atomic_write_bytes's `.<name>.<pid>.tmp`


def remove_stale_temp_files(folder: str | Path) -> list[Path]:
    """Delete the temporary files that writers killed mid-write left in `folder`: those whose
    process is gone. Returns what it deleted."""
    removed = []
    for path in Path(folder).glob(".*.tmp"):
        match = _TEMP_NAME.fullmatch(path.name)
        if match and not process_alive(int(match[1])):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def _json_safe(value: Any) -> Any:
    """NaN and infinity are not JSON: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(_json_safe(obj), indent=2, allow_nan=False) + "\n")


def read_json(path: str | Path) -> Any:
    with open(path) as f:
        return json.load(f)


def write_history(path: str | Path, history: list[dict[str, Any]]) -> None:
    """One CSV row per epoch; columns in the order of the first row."""
    buffer = io.StringIO()
    if history:
        writer = csv.DictWriter(buffer, fieldnames=list(history[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
    atomic_write_text(path, buffer.getvalue())


def _parse_cell(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def load_history(path: str | Path) -> list[dict[str, Any]]:
    """history.csv as a list of rows with numbers parsed (empty cells and 'nan' become NaN). A line too long for
    the csv module (a field over its limit) raises csv.Error, as any malformed file does."""
    with open(path, newline="") as f:
        return [{k: (math.nan if v in ("", "nan") else _parse_cell(v)) for k, v in row.items()}
                for row in csv.DictReader(f)]


def save_checkpoint(state: dict[str, Any], path: str | Path, previous: str | Path | None = None) -> None:
    """Write a checkpoint atomically; with `previous`, keep the one it replaces under that name."""
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue(), previous)


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """A checkpoint written by `save_checkpoint`, loaded without unpickling arbitrary objects."""
    import torch

    return torch.load(path, map_location=map_location, weights_only=True)


# What a run's records must hold, or the run is damaged: metrics.json's numbers (accuracies are fractions; None
# is how write_json stores NaN, e.g. the test accuracy of a pruned run) and history.csv's accuracies.
_FRACTIONS = ("train_acc", "val_acc", "test_acc", "best_val_acc")
_NON_NEGATIVE = ("train_loss", "val_loss", "test_loss", "wall_time_s", "images_per_s")
_COUNTS = ("best_epoch", "epochs_run")


def _number_problem(key: str, value: Any) -> str | None:
    """What is impossible about a metric's value, or None when it is possible (or null)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{key} is {value!r:.60}, not a number"
    if not math.isfinite(value):
        return f"{key} is {value}, not a finite number"
    if key in _FRACTIONS and not 0 <= value <= 1:
        return f"{key} is {value:g}, outside [0, 1]"
    if key in _NON_NEGATIVE and value < 0:
        return f"{key} is {value:g}, below 0"
    if key in _COUNTS and (value < 0 or not float(value).is_integer()):
        return f"{key} is {value:g}, not a whole number of epochs"
    return None


def metrics_problem(metrics: Any) -> str | None:
    """Why a metrics.json's content cannot be a run's result (None when it can): not a JSON object, an unknown
    status, or a metric that is not a number, not finite or impossible (an accuracy outside [0, 1])."""
    if not isinstance(metrics, dict):
        return f"holds a JSON {type(metrics).__name__}, not an object of metrics"
    if metrics.get("status") not in FINISHED_STATUSES:
        return f"status is {metrics.get('status')!r:.60}, not one of {', '.join(FINISHED_STATUSES)}"
    return next(filter(None, (_number_problem(k, metrics.get(k)) for k in (*_FRACTIONS, *_NON_NEGATIVE, *_COUNTS))),
                None)


def _history_problem(history: list[dict[str, Any]]) -> str | None:
    for row in history:
        for key in _FRACTIONS:
            value = row.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
                    and not 0 <= value <= 1:
                return f"epoch {row.get('epoch', '?')}: {key} is {value:g}, outside [0, 1]"
    return None


def _read_record(path: Path, reader, problem) -> tuple[Any, str | None]:
    """A record file's content, or None and what is wrong with it ('<file>: <problem>')."""
    try:
        content = reader(path)
    except csv.Error as exc:  # a field over the csv module's limit, a NUL byte
        return None, f"{path}: {exc} (not a history the trainer writes)"
    except (ValueError, OSError) as exc:
        return None, f"{path} cannot be read ({type(exc).__name__}: {str(exc)[:120]})"
    wrong = problem(content)
    return (content, None) if wrong is None else (None, f"{path}: {wrong}")


_RECORD_FILES = (  # (key, file, reader, what is wrong with its content)
    ("config", CONFIG, read_json,
     lambda c: None if isinstance(c, dict) else f"holds a JSON {type(c).__name__}, not an object of settings"),
    ("metrics", METRICS, read_json, metrics_problem),
    ("history", HISTORY, load_history, _history_problem),
)


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """Whatever records a run directory holds: config, metrics, history (None when missing or damaged), and
    `problems`: one line per damaged file, naming it and what is wrong (a JSON list where an object belongs, a
    field over the csv limit, an accuracy outside [0, 1], NaN). The writer is atomic, so damage means a file
    written by something else; the run is then `damaged` (run_state) and left out of every comparison."""
    run_dir = Path(run_dir)
    out: dict[str, Any] = {"dir": run_dir, "problems": []}
    for name, file, reader, problem in _RECORD_FILES:
        path = run_dir / file
        out[name], wrong = _read_record(path, reader, problem) if path.is_file() else (None, None)
        if wrong:
            out["problems"].append(wrong)
    return out


def best_epoch(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The epoch a run's metrics are taken at: the lowest finite validation loss (None if there is none)."""
    valid = [h for h in history if isinstance(h.get("val_loss"), (int, float)) and math.isfinite(h["val_loss"])]
    return min(valid, key=lambda h: h["val_loss"]) if valid else None


# What `RunState.val_acc` and the report's val_acc are, in words, for column headings.
VAL_ACC_MEANING = "validation accuracy at the best epoch (lowest validation loss)"


@dataclass
class RunState:
    name: str
    status: str  # pending, submitted, interrupted, running, completed, early_stopped, diverged, pruned, failed,
    # damaged (a record that cannot be what it must be: load_run's problems)
    epochs: int | None = None
    val_acc: float | None = None  # at the best epoch (see VAL_ACC_MEANING)
    test_acc: float | None = None
    seconds: float | None = None
    error: str | None = None


def run_state(run_dir: Path, record: dict[str, Any] | None = None) -> RunState:
    """What a run's folder says about it (`record`: its `load_run`, if already read). A run with a metrics.json
    and a damaged record is `damaged`, its error naming each file and what is wrong; a run without one that has
    a damaged record keeps its state (it executes, and rewrites its records) with the damage as its error."""
    record = record or load_run(run_dir)
    metrics, history = record["metrics"], record["history"] or []
    name = run_dir.name
    epochs = len(history) or None
    best = best_epoch(history)
    best_val = best.get("val_acc") if best else None
    damage = "; ".join(record.get("problems") or []) or None
    if damage and (run_dir / METRICS).is_file() and not is_held(run_dir / LOCK):
        return RunState(name, DAMAGED, epochs, None, None, None,
                        f"{damage}; the run is left out of the results (delete {run_dir} to run it again)")
    if metrics and metrics.get("status") in FINISHED_STATUSES:
        return RunState(name, metrics["status"], metrics.get("epochs_run"), metrics.get("val_acc"),
                        metrics.get("test_acc"), metrics.get("wall_time_s"))
    if is_held(run_dir / LOCK):
        return RunState(name, "running", epochs, best_val)
    failure = run_dir / FAILURE
    if failure.is_file():
        try:
            info = read_json(failure)
            info = info if isinstance(info, dict) else {}
        except (OSError, ValueError) as exc:
            info = {"error": f"{failure} is unreadable ({type(exc).__name__}); delete it and rerun with "
                             f"--retry-failed"}
        return RunState(name, "failed", epochs, best_val, None, info.get("seconds"), info.get("error") or damage)
    if (run_dir / SUBMITTED).is_file():
        return RunState(name, "submitted", epochs, best_val, error=damage)
    if any((run_dir / name).is_file() for name in (LAST, PREVIOUS)):
        return RunState(name, "interrupted", epochs, best_val, error=damage)
    return RunState(name, "pending", error=damage)


class RunLockedError(RuntimeError):
    """Another process is executing a run in the same directory."""


@contextmanager
def run_lock(run_dir: str | Path, wait_s: float = 30.0) -> Iterator[None]:
    """Hold the run folder's lock for the duration of a run (one training process per folder). A
    process still winding down (a kernel whose parent was killed) gets `wait_s` seconds to let go."""
    try:
        with hold(Path(run_dir) / LOCK, wait_s):
            yield
    except LockBusy as busy:
        raise RunLockedError(f"{run_dir} is in use by another running process ({busy.who()}); wait for it "
                             f"to finish or stop it, then run again") from None
