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
    """history.csv as a list of rows with numbers parsed (empty cells and 'nan' become NaN)."""
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


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """Whatever records a run directory holds: config, metrics, history (missing ones are None)."""
    run_dir = Path(run_dir)
    out: dict[str, Any] = {"dir": run_dir}
    for name, reader, file in (("config", read_json, CONFIG), ("metrics", read_json, METRICS),
                               ("history", load_history, HISTORY)):
        path = run_dir / file
        try:
            out[name] = reader(path) if path.is_file() else None
        except (ValueError, OSError):
            out[name] = None  # unreadable counts as missing; the writer is atomic, so this is rare
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
    status: str  # pending, submitted, interrupted, running, completed, early_stopped, diverged, pruned, failed
    epochs: int | None = None
    val_acc: float | None = None  # at the best epoch (see VAL_ACC_MEANING)
    test_acc: float | None = None
    seconds: float | None = None
    error: str | None = None


def run_state(run_dir: Path, record: dict[str, Any] | None = None) -> RunState:
    """What a run's folder says about it (`record`: its `load_run`, if already read)."""
    record = record or load_run(run_dir)
    metrics, history = record["metrics"], record["history"] or []
    name = run_dir.name
    epochs = len(history) or None
    best = best_epoch(history)
    best_val = best["val_acc"] if best else None
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
        return RunState(name, "failed", epochs, best_val, None, info.get("seconds"), info.get("error"))
    if (run_dir / SUBMITTED).is_file():
        return RunState(name, "submitted", epochs, best_val)
    if any((run_dir / name).is_file() for name in (LAST, PREVIOUS)):
        return RunState(name, "interrupted", epochs, best_val)
    return RunState(name, "pending")


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
