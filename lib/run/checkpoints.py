"""A run folder's checkpoints: where a resume continues from, starting over, and the best epoch's weights.

Each new last.pt keeps the one it replaces as last.prev.pt (so a run needs room for three
checkpoints). A resume that cannot read last.pt continues from last.prev.pt, and starts over when
neither can be read; it moves an unreadable file aside to `<name>.corrupt`, prints a warning and
says what it did in metrics.json (`recovered_from` and `recovery`, or `restarted`). When best.pt
cannot be read at the end, the test set is evaluated on the final weights and `tested_on` says so.

A run that does not resume never deletes the records of an earlier run in its folder: it is refused
(`EarlierRunError`, what `python -m lib.train` does), or, when its caller asks for it (the training
notebook, where *Restart Kernel and Run All* is the way to try a change), it moves them aside to
`earlier/<time>/` in the same folder first.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from lib.core.layout import BEST, CHECKPOINTS, CONFIG, LAST, PREVIOUS, RUN_RESULTS, WANDB_ID
from lib.core.records import load_checkpoint, remove_stale_temp_files, write_json
from lib.run.state import RunError, TrainState
from lib.config.runconfig import RunConfig, config_diff

CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "scaler", "early_stopping", "epoch", "history", "config",
                   "stopped", "elapsed_s")


EARLIER = "earlier"  # a folder's earlier runs, moved aside: earlier/<time>/
EARLIER_RUN = ("refuse", "set_aside")  # what a run that does not resume does with an earlier run's records


class EarlierRunError(RunError):
    """The folder holds the records of an earlier run, and this run would start over without resuming."""

    def __init__(self, out: Path, found: list[str]):
        self.out, self.found = out, found
        super().__init__(f"{out} holds the records of an earlier run ({', '.join(found)}); nothing was deleted: "
                         f"continue that run with resume: true, or give a new out_dir")


def earlier_records(out: Path) -> list[str]:
    """The records of an earlier run in `out` that a new run would replace (a W&B id alone is none)."""
    return [name for name in RUN_RESULTS if name != WANDB_ID and (out / name).is_file()]


def prepare_folder(cfg: RunConfig, out: Path, earlier_run: str = "refuse") -> tuple[dict[str, Any] | None,
                                                                                   dict[str, str]]:
    """Clear what killed writers left, find the checkpoint to resume, and write config.json. A run that
    does not resume refuses a folder with an earlier run's records, or with `earlier_run="set_aside"`
    moves them to earlier/<time>/ first. Returns what `_resume_point` does."""
    for folder in (out, out / CHECKPOINTS):
        remove_stale_temp_files(folder)
    checkpoint, recovery = _resume_point(cfg, out)
    if checkpoint is None and not cfg.resume:
        found = earlier_records(out)
        if found and earlier_run == "set_aside":
            _set_aside(out, found)
        elif found:
            raise EarlierRunError(out, found)
    if checkpoint is None:
        _fresh_start(out)
    write_json(out / CONFIG, cfg.to_dict())
    return checkpoint, recovery


def _set_aside(out: Path, found: list[str]) -> Path:
    """Move an earlier run's records (and its config) to out/earlier/<time>/, keeping their layout."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, n = out / EARLIER / stamp, 1
    while target.exists():
        n += 1
        target = out / EARLIER / f"{stamp}-{n}"
    for name in [CONFIG, *found] if (out / CONFIG).is_file() else found:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        os.replace(out / name, target / name)
    print(f"note: moved the records of the earlier run in {out} to {target} (delete it when you no longer "
          f"need it)", file=sys.stderr, flush=True)
    return target


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
                       f"give a new out_dir, or delete {path.parents[1]} to start over there")


def _fresh_start(out: Path) -> None:
    """Remove what an earlier attempt left that a run starting over must not inherit: nothing a run that
    does not resume would lose (prepare_folder refused or moved those), or, on a resume with no readable
    checkpoint, the records of the attempt it restarts."""
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
