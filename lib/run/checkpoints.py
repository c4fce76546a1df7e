"""A run folder's checkpoints: where a resume continues from, starting over, and the best epoch's weights.

Each new last.pt keeps the one it replaces as last.prev.pt (so a run needs room for three
checkpoints). A resume that cannot read last.pt continues from last.prev.pt, and starts over when
neither can be read; it moves an unreadable file aside to `<name>.corrupt`, prints a warning and
says what it did in metrics.json (`recovered_from` and `recovery`, or `restarted`). When best.pt
cannot be read at the end, the test set is evaluated on the final weights and `tested_on` says so.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from lib.core.layout import BEST, CHECKPOINTS, CONFIG, LAST, PREVIOUS, RUN_RESULTS
from lib.core.records import load_checkpoint, remove_stale_temp_files, write_json
from lib.run.state import RunError, TrainState
from lib.spec.config import RunConfig, config_diff

CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "scaler", "early_stopping", "epoch", "history", "config",
                   "stopped", "elapsed_s")


def prepare_folder(cfg: RunConfig, out: Path) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Clear what killed writers left, find the checkpoint to resume (else clear the records of an
    earlier run), and write config.json. Returns what `_resume_point` does."""
    for folder in (out, out / CHECKPOINTS):
        remove_stale_temp_files(folder)
    checkpoint, recovery = _resume_point(cfg, out)
    if checkpoint is None:
        _fresh_start(out)
    write_json(out / CONFIG, cfg.to_dict())
    return checkpoint, recovery


def _resume_point(cfg: RunConfig, out: Path) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The checkpoint to continue from (None: start over), and what it took when last.pt could not serve."""
    if not (cfg.resume and ((out / LAST).is_file() or (out / PREVIOUS).is_file())):
        return None, {}
    problems = []
    for name in (LAST, PREVIOUS):
        path = out / name
        if not path.is_file():
            problems.append(f"{name} is missing")
            continue
        try:
            checkpoint = _load_whole(path)
        except UnreadableCheckpoint as exc:
            os.replace(path, out / f"{name}.corrupt")  # so that no later resume tries it again
            problems.append(f"{name} is unreadable ({exc}); moved it to {name}.corrupt")
            continue
        _check_resumable(checkpoint["config"], cfg, path)
        if not problems:
            return checkpoint, {}
        note = f"{'; '.join(problems)}; resumed from {name} (epoch {checkpoint['epoch']})"
        _warn(out, note)
        return checkpoint, {"recovered_from": name, "recovery": note}
    note = f"{'; '.join(problems)}; started the run over"
    _warn(out, note)
    return None, {"restarted": note}


class UnreadableCheckpoint(Exception):
    """A checkpoint file that cannot be loaded whole; the message says why."""


def _load_whole(path: Path, map_location: Any = "cpu") -> dict[str, Any]:
    try:
        checkpoint = load_checkpoint(path, map_location=map_location)
    except Exception as exc:  # a damaged file fails in the zip reader, the unpickler or the OS, variously
        reason = str(exc).strip().split("\n")[0].split(". ")[0][:200]
        raise UnreadableCheckpoint(f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__) from exc
    missing = [key for key in CHECKPOINT_KEYS if key not in checkpoint] if isinstance(checkpoint, dict) \
        else list(CHECKPOINT_KEYS)
    if missing:
        raise UnreadableCheckpoint(f"it has no {', '.join(missing)}")
    return checkpoint


def _warn(out: Path, note: str) -> None:
    print(f"warning: {out}: {note}", file=sys.stderr, flush=True)


def _check_resumable(saved: dict[str, Any], cfg: RunConfig, path: Path) -> None:
    diffs = config_diff(saved, cfg.to_dict())
    if diffs:
        raise RunError(f"cannot resume from {path}: it was made with a different config ({'; '.join(diffs)}); "
                       f"use another out_dir, or resume: false to start over")


def _fresh_start(out: Path) -> None:
    """Remove the records of an earlier run in the same folder, so none of them outlive it."""
    for name in RUN_RESULTS:
        (out / name).unlink(missing_ok=True)


def load_best_weights(state: TrainState, out: Path, best_epoch: int) -> str | None:
    """Put the best epoch's weights from best.pt into the model. When best.pt cannot give them, the
    model keeps its final weights (those of last.pt), and the returned note says so."""
    path = out / BEST
    if not path.is_file():
        problem = f"{BEST} is missing"
    else:
        try:
            checkpoint = _load_whole(path, map_location=next(state.model.parameters()).device)
        except UnreadableCheckpoint as exc:
            os.replace(path, out / f"{BEST}.corrupt")
            problem = f"{BEST} is unreadable ({exc}); moved it to {BEST}.corrupt"
        else:
            if checkpoint["epoch"] == best_epoch:
                state.model.load_state_dict(checkpoint["model"])
                return None
            problem = f"{BEST} holds epoch {checkpoint['epoch']}"
    note = f"the final weights (epoch {state.epoch}), not the best epoch's ({best_epoch}): {problem}"
    _warn(out, f"testing {note}")
    return note
