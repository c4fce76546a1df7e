"""What a run trains with and steps each epoch: optimizer, schedule, early stopping, precision, and the
`TrainState` that holds them with the model, which is what a checkpoint stores and a resume restores.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch
from torch import nn

from lib.run.datasets import Data
from lib.run.models import build_model
from lib.config.runconfig import RunConfig


class RunError(RuntimeError):
    """The run cannot start as configured; the message says what to change."""


# Optimizers by the names RunConfig accepts (lib.config.runconfig.OPTIMIZERS): adding one is its line here,
# its name there, and the test that builds and steps every entry.
OPTIMIZER_BUILDERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sgd": lambda params, lr, weight_decay, momentum, nesterov: torch.optim.SGD(
        params, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0, weight_decay=weight_decay),
    "adam": lambda params, lr, weight_decay, **_: torch.optim.Adam(params, lr=lr, weight_decay=weight_decay),
    "adamw": lambda params, lr, weight_decay, **_: torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay),
    "rmsprop": lambda params, lr, weight_decay, momentum, **_: torch.optim.RMSprop(
        params, lr=lr, momentum=momentum, weight_decay=weight_decay),
}

# Per-epoch learning-rate schedules by the names RunConfig accepts (lib.config.runconfig.SCHEDULERS); None: a
# constant rate. `plateau` steps on the validation loss (step_scheduler).
SCHEDULER_BUILDERS: dict[str, Callable[..., Any]] = {
    "none": lambda optimizer, **_: None,
    "step": lambda optimizer, step_size, gamma, **_: torch.optim.lr_scheduler.StepLR(
        optimizer, step_size=step_size, gamma=gamma),
    "plateau": lambda optimizer, plateau_patience, plateau_factor, **_: torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=plateau_factor, patience=plateau_patience),
    "cosine": lambda optimizer, epochs, t_max, **_: torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=t_max or epochs),
}


def build_optimizer(name: str, params: Iterable[nn.Parameter], *, lr: float, weight_decay: float,
                    momentum: float, nesterov: bool) -> torch.optim.Optimizer:
    """The optimizer `name` (one of OPTIMIZER_BUILDERS) over `params`."""
    if name not in OPTIMIZER_BUILDERS:
        raise ValueError(f"optimizer {name!r} is not one of: {', '.join(OPTIMIZER_BUILDERS)}")
    return OPTIMIZER_BUILDERS[name](params, lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov)


def build_scheduler(name: str, optimizer: torch.optim.Optimizer, *, epochs: int, step_size: int, gamma: float,
                    plateau_patience: int, plateau_factor: float, t_max: int | None):
    """A per-epoch learning-rate schedule (one of SCHEDULER_BUILDERS), or None for `none`."""
    if name not in SCHEDULER_BUILDERS:
        raise ValueError(f"scheduler {name!r} is not one of: {', '.join(SCHEDULER_BUILDERS)}")
    return SCHEDULER_BUILDERS[name](optimizer, epochs=epochs, step_size=step_size, gamma=gamma,
                                    plateau_patience=plateau_patience, plateau_factor=plateau_factor, t_max=t_max)


def step_scheduler(scheduler, val_loss: float) -> None:
    if scheduler is None:
        return
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(val_loss)
    else:
        scheduler.step()


@dataclass
class EarlyStopping:
    """Stop after `patience` epochs in which val loss fails to beat the best by `min_delta`."""

    patience: int
    min_delta: float = 0.0
    best: float = math.inf
    bad_epochs: int = 0

    def update(self, val_loss: float) -> bool:
        """Record one epoch; True when training should stop."""
        if val_loss < self.best - self.min_delta:
            self.best, self.bad_epochs = val_loss, 0
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, float]:
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.best, self.bad_epochs = float(state["best"]), int(state["bad_epochs"])


@dataclass
class Precision:
    """Autocast and loss scaling: bf16 (or fp16 with a GradScaler) on CUDA, full fp32 elsewhere."""

    device_type: str
    dtype: torch.dtype | None  # None: no autocast
    scaler: torch.amp.GradScaler

    @classmethod
    def for_device(cls, device: torch.device, amp: bool, amp_dtype: str) -> "Precision":
        dtype = None
        if amp and device.type == "cuda":
            dtype = torch.bfloat16 if amp_dtype == "bf16" and torch.cuda.is_bf16_supported() else torch.float16
        return cls(device.type, dtype, torch.amp.GradScaler(device.type, enabled=dtype == torch.float16))

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    @property
    def name(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]


@dataclass
class TrainState:
    """The model, everything that steps with it, and how far the run has got: what a checkpoint holds.

    `save_checkpoint(state.state_dict(), path)` writes one; `state.load_state_dict(checkpoint)`
    continues from one, as a resume.
    """

    config: RunConfig
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any  # a per-epoch learning-rate schedule, or None
    precision: Precision
    stopper: EarlyStopping
    epoch: int = 0  # the last epoch trained
    history: list[dict[str, Any]] = field(default_factory=list)  # one row per epoch trained
    stopped: str | None = None  # "diverged" or "early_stopped" once training has ended early
    resumes: list[int] = field(default_factory=list)  # the epochs after which the run was resumed
    recovery: dict[str, str] = field(default_factory=dict)  # for metrics.json: how unreadable checkpoints were met
    elapsed_before: float = 0.0  # seconds the run took in the sessions before this one
    session_start: float = field(default_factory=time.perf_counter)  # this session's time.perf_counter()

    @property
    def elapsed_s(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.session_start

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
                "scaler": self.precision.scaler.state_dict(), "early_stopping": self.stopper.state_dict(),
                "epoch": self.epoch, "history": self.history, "config": self.config.to_dict(),
                "stopped": self.stopped, "elapsed_s": self.elapsed_s, "resumes": self.resumes,
                "recovery": self.recovery}

    def load_state_dict(self, checkpoint: dict[str, Any]) -> None:
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(checkpoint["scheduler"])
        if checkpoint["scaler"] and self.precision.scaler.is_enabled():  # empty when saved without fp16
            self.precision.scaler.load_state_dict(checkpoint["scaler"])
        self.stopper.load_state_dict(checkpoint["early_stopping"])
        self.epoch, self.history = int(checkpoint["epoch"]), list(checkpoint["history"])
        self.stopped, self.elapsed_before = checkpoint["stopped"], float(checkpoint["elapsed_s"])
        self.resumes = list(checkpoint.get("resumes", [])) + [self.epoch]
        self.recovery = dict(checkpoint.get("recovery", {}))

    def end_epoch(self, row: dict[str, Any]) -> bool:
        """Add the epoch's history row, then step the schedule and early stopping on its validation
        loss, or stop if it diverged. True when the epoch has the lowest validation loss so far."""
        earlier = [h["val_loss"] for h in self.history if math.isfinite(h["val_loss"])]
        self.history.append(row)
        self.epoch = row["epoch"]
        if not (math.isfinite(row["train_loss"]) and math.isfinite(row["val_loss"])):
            self.stopped = "diverged"
            return False
        step_scheduler(self.scheduler, row["val_loss"])
        if self.stopper.update(row["val_loss"]) and self.config.early_stopping:
            self.stopped = "early_stopped"
        return row["val_loss"] < min(earlier, default=math.inf)


def build_train_state(cfg: RunConfig, data: Data, device: torch.device, *,
                      session_start: float | None = None) -> TrainState:
    """A fresh model for `data` on `device`, with its optimizer, schedule, precision and early stopping.
    `session_start` (a `time.perf_counter()`) is when this session began: now, unless given."""
    height, width = data.image_size
    if height != width and not cfg.input_size:
        raise RunError(f"the images are {height}x{width} but the models take square inputs; set input_size "
                       f"(e.g. {max(height, width)}) to resize them")
    model = build_model(cfg.model, data.channels, data.num_classes, data.image_size[0], input_size=cfg.input_size,
                        pretrained=cfg.pretrained, weights_file=cfg.weights_file).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(cfg.optimizer, model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                                momentum=cfg.momentum, nesterov=cfg.nesterov)
    scheduler = build_scheduler(cfg.scheduler, optimizer, epochs=cfg.epochs, step_size=cfg.step_size,
                                gamma=cfg.gamma, plateau_patience=cfg.plateau_patience,
                                plateau_factor=cfg.plateau_factor, t_max=cfg.t_max)
    return TrainState(cfg, model, optimizer, scheduler, Precision.for_device(device, cfg.amp, cfg.amp_dtype),
                      EarlyStopping(cfg.patience, cfg.min_delta),
                      session_start=time.perf_counter() if session_start is None else session_start)
