"""Weights & Biases tracking, kept optional: nothing else in the project depends on it.

`wandb_mode: auto` logs online when credentials are configured (WANDB_API_KEY or a netrc entry
from `wandb login`), else offline into the run directory, ready for `wandb sync`. A run that is
resumed continues the same W&B run.
"""

from __future__ import annotations

import netrc
import os
import uuid
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lib.core.layout import WANDB_ID


def has_wandb_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or "api.wandb.ai"
    try:
        return netrc.netrc().authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def resolve_mode(mode: str) -> str:
    """auto -> online or offline; the other modes stand as they are. WANDB_MODE=disabled in the
    environment turns W&B off whatever the config says (tests and offline machines use it)."""
    if os.environ.get("WANDB_MODE") == "disabled":
        return "disabled"
    if mode == "auto":
        return "online" if has_wandb_credentials() else "offline"
    return mode


class Tracker:
    """Does nothing: what a run uses when W&B is disabled."""

    mode = "disabled"

    def log(self, row: dict[str, Any], step: int) -> None:
        pass

    def finish(self, summary: dict[str, Any] | None = None) -> None:
        pass


class WandbTracker(Tracker):
    def __init__(self, run, mode: str):
        self.run, self.mode = run, mode

    def log(self, row: dict[str, Any], step: int) -> None:
        self.run.log({k: v for k, v in row.items() if isinstance(v, (int, float))}, step=step)

    def finish(self, summary: dict[str, Any] | None = None) -> None:
        if summary:
            self.run.summary.update({k: v for k, v in summary.items() if isinstance(v, (int, float, str))})
        self.run.finish()


def start_tracking(mode: str, *, project: str, group: str | None, name: str, config: dict[str, Any],
                   run_dir: Path) -> Tracker:
    """A tracker for one run; `run_dir/wandb-id` keeps the W&B run id so a resume continues it."""
    mode = resolve_mode(mode)
    if mode == "disabled":
        return Tracker()
    import wandb

    id_file = run_dir / WANDB_ID
    run_id = id_file.read_text().strip() if id_file.is_file() else uuid.uuid4().hex[:8]
    id_file.write_text(run_id)
    try:
        run = wandb.init(project=project, group=group, name=name, config=config, dir=str(run_dir), id=run_id,
                         resume="allow", mode=mode, settings=wandb.Settings(console="off", silent=True))
    except Exception as exc:  # W&B must never cost a training run
        warnings.warn(f"W&B {mode} logging is off for this run: {exc}", stacklevel=2)
        return Tracker()
    return WandbTracker(run, mode)
