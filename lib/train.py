"""Train one image classifier from a RunConfig: `run(cfg)`, or `python -m lib.train --help`.

A run trains for up to `epochs`, validates after each epoch, keeps the checkpoint with the lowest
validation loss, evaluates that checkpoint on the test set, and writes config.json, history.csv,
metrics.json and checkpoints/{last,best}.pt to `out_dir`. `resume: true` continues from
checkpoints/last.pt; on the CPU, a resumed run ends with exactly the metrics of an uninterrupted one.

Each new last.pt keeps the one it replaces as last.prev.pt (so a run needs room for three
checkpoints). A resume that cannot read last.pt continues from last.prev.pt, and starts over when
neither can be read; it moves an unreadable file aside to `<name>.corrupt`, prints a warning and
says what it did in metrics.json (`recovered_from` and `recovery`, or `restarted`). When best.pt
cannot be read at the end, the test set is evaluated on the final weights and `tested_on` says so.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from lib.augment import AugmentSpec, mix_batch
from lib.backend import DeviceError, configure_backend, select_device
from lib.config import RunConfig, config_diff
from lib.data import MIX, Data, DatasetError, epoch_seed, load_data, make_loader
from lib.models import WeightsError, build_model
from lib.formatting import number
from lib.paths import resolve
from lib.records import (FINISHED_STATUSES, RunLockedError, best_epoch, load_checkpoint, remove_stale_temp_files,
                         run_lock, save_checkpoint, write_history, write_json)
from lib.tracking import start_tracking


class RunError(RuntimeError):
    """The run cannot start as configured; the message says what to change."""


@dataclass
class RunResult:
    out_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]]


# ---------------------------------------------------------------------------------------------
# Building blocks


def build_optimizer(name: str, params: Iterable[nn.Parameter], *, lr: float, weight_decay: float,
                    momentum: float, nesterov: bool) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0,
                               weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"optimizer {name!r} is not one of: sgd, adam, adamw, rmsprop")


def build_scheduler(name: str, optimizer: torch.optim.Optimizer, *, epochs: int, step_size: int, gamma: float,
                    plateau_patience: int, plateau_factor: float, t_max: int | None):
    """A per-epoch learning-rate schedule, or None. `plateau` steps on the validation loss."""
    if name == "none":
        return None
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=plateau_factor,
                                                          patience=plateau_patience)
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=t_max or epochs)
    raise ValueError(f"scheduler {name!r} is not one of: none, step, plateau, cosine")


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


def _progress(iterable, total: int, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, unit="batch", mininterval=0.5)


def train_one_epoch(model: nn.Module, loader, optimizer: torch.optim.Optimizer, precision: Precision, *,
                    num_classes: int, mix_alpha: float | None, mix_generator: torch.Generator | None,
                    label_smoothing: float = 0.0, channels_last: bool = False, progress: bool = False,
                    desc: str = "train") -> dict[str, float]:
    """One pass over `loader`. With mixing, accuracy counts predictions of each mixed target's
    dominant label."""
    model.train()
    device = next(model.parameters()).device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    start = time.perf_counter()
    for images, labels in _progress(loader, len(loader), progress, desc):
        target = labels  # (B,) class indices, or (B, classes) soft targets
        if mix_alpha is not None:
            images, target = mix_batch(images, labels, num_classes, mix_alpha, mix_generator)
        hard = target.argmax(1) if target.ndim == 2 else target
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with precision.autocast():
            logits = model(images)
            loss = F.cross_entropy(logits, target, label_smoothing=label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        precision.scaler.scale(loss).backward()
        precision.scaler.step(optimizer)
        precision.scaler.update()
        loss_sum += loss.detach().float() * len(labels)
        correct += (logits.detach().argmax(1) == hard).sum()
        seen += len(labels)
    loss_value, correct_value = loss_sum.item(), correct.item()  # the epoch's one host sync
    seconds = time.perf_counter() - start
    return {"loss": loss_value / max(seen, 1), "acc": correct_value / max(seen, 1), "seconds": seconds,
            "images_per_s": seen / seconds if seconds > 0 else math.nan}


@torch.no_grad()
def evaluate(model: nn.Module, loader, precision: Precision, *, channels_last: bool = False) -> dict[str, float]:
    """Mean cross-entropy and accuracy over `loader`."""
    model.eval()
    device = next(model.parameters()).device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    for images, labels in loader:
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with precision.autocast():
            logits = model(images)
        loss_sum += F.cross_entropy(logits.float(), labels, reduction="sum")
        correct += (logits.argmax(1) == labels).sum()
        seen += len(labels)
    return {"loss": loss_sum.item() / max(seen, 1), "acc": correct.item() / max(seen, 1)}


# ---------------------------------------------------------------------------------------------
# The state a checkpoint holds


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


# ---------------------------------------------------------------------------------------------
# A whole run

# Relative to the run's folder; PREVIOUS is the last.pt that the newest one replaced.
LAST, PREVIOUS, BEST = "checkpoints/last.pt", "checkpoints/last.prev.pt", "checkpoints/best.pt"
CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "scaler", "early_stopping", "epoch", "history", "config",
                   "stopped", "elapsed_s")


def run(cfg: RunConfig) -> RunResult:
    """Train, validate, test and write the run's records. Divergence is a result, not an exception."""
    out = resolve(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with run_lock(out):
        return _run(cfg, out)


def _run(cfg: RunConfig, out: Path) -> RunResult:
    session_start = time.perf_counter()
    device = select_device(cfg.device)
    configure_backend(device, cfg.num_threads)
    checkpoint, recovery = _prepare_folder(cfg, out)

    torch.manual_seed(cfg.seed)
    data = load_data(cfg.dataset, cfg.data_dir, download=cfg.download, val_fraction=cfg.val_fraction,
                     subset=cfg.subset, seed=cfg.seed, cache=cfg.cache)
    state = build_train_state(cfg, data, device, session_start=session_start)
    if checkpoint is not None:
        state.load_state_dict(checkpoint)
        if recovery:  # history.csv may be ahead of the checkpoint resumed, whose history is the truth
            write_history(out / "history.csv", state.history)
    state.recovery.update(recovery)
    train_loader, val_loader, test_loader = _loaders(data, cfg, device)
    name = cfg.run_name or out.resolve().name
    tracker = start_tracking(cfg.wandb_mode, project=cfg.wandb_project, group=cfg.wandb_group, name=name,
                             config=cfg.to_dict(), run_dir=out)
    print(f"{name}: {cfg.model} on {cfg.dataset} ({len(data.train)} train / {len(data.val)} "
          f"{'test-as-val' if data.val_is_test else 'val'} / {len(data.test)} test images) on {device}, "
          f"{state.precision.name}" + (f", resuming after epoch {state.epoch}" if checkpoint is not None else ""),
          flush=True)

    _train(state, train_loader, val_loader, data.num_classes, tracker, out, _trial_reporter(cfg))
    metrics = _finish(state, data, test_loader, out)
    metrics.update(wall_time_s=round(state.elapsed_s, 2), resumed_after_epochs=state.resumes, device=str(device),
                   precision=state.precision.name)
    write_json(out / "metrics.json", metrics)
    tracker.finish(metrics)
    print(f"{name}: {metrics['status']} after {metrics['epochs_run']} epochs; best epoch {metrics['best_epoch']}, "
          f"val acc {number(metrics['val_acc'])}, test acc {number(metrics['test_acc'])}", flush=True)
    return RunResult(out, metrics, state.history)


def _prepare_folder(cfg: RunConfig, out: Path) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Clear what killed writers left, find the checkpoint to resume (else clear the records of an
    earlier run), and write config.json. Returns what `_resume_point` does."""
    for folder in (out, out / "checkpoints"):
        remove_stale_temp_files(folder)
    checkpoint, recovery = _resume_point(cfg, out)
    if checkpoint is None:
        _fresh_start(out)
    write_json(out / "config.json", cfg.to_dict())
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
    for name in ("metrics.json", "history.csv", LAST, PREVIOUS, BEST, "wandb-id"):
        (out / name).unlink(missing_ok=True)


def _loaders(data: Data, cfg: RunConfig, device: torch.device):
    spec = AugmentSpec()
    if cfg.augment:
        spec = AugmentSpec(crop_padding=cfg.crop_padding, flip=cfg.flip, rotation=cfg.rotation,
                           jitter=cfg.color_jitter, hue=cfg.hue)
    common = dict(batch_size=cfg.batch_size, device=device, augment=spec, normalize_inputs=cfg.normalize,
                  cache=cfg.cache, seed=cfg.seed, num_workers=cfg.num_workers, pin_memory=cfg.pin_memory)
    eval_common = {**common, "batch_size": max(cfg.batch_size, 256)}
    return (make_loader(data, data.train, train=True, **common),
            make_loader(data, data.val, train=False, **eval_common),
            make_loader(data, data.test, train=False, **eval_common))


def _trial_reporter(cfg: RunConfig):
    """The study trial this run reports to after each epoch (sweeps that search or stop runs early), or None."""
    if cfg.trial is None:
        return None
    from lib.search import TrialRef, TrialReporter

    return TrialReporter(TrialRef(cfg.study, cfg.study_name, cfg.trial))


def _train(state: TrainState, train_loader, val_loader, num_classes: int, tracker, out: Path,
           reporter=None) -> None:
    """Train the epochs after the state's last until the configured number or a stop, writing the
    checkpoints and history.csv after each. With a trial `reporter`, the run reports each epoch and
    stops as `pruned` when the study's pruner says so; the checkpoint then records that it stopped."""
    cfg = state.config
    net = torch.compile(state.model) if cfg.compile else state.model
    while state.epoch < cfg.epochs and not state.stopped:
        row = _train_epoch(net, state, train_loader, val_loader, num_classes)
        tracker.log(row, step=row["epoch"])
        print(f"epoch {row['epoch']:>3}/{cfg.epochs}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}  "
              f"val loss {row['val_loss']:.4f} acc {row['val_acc']:.4f}  lr {row['lr']:.3g}  "
              f"{row['epoch_s']:.1f}s  {row['images_per_s']:.0f} img/s", flush=True)
        is_best = state.end_epoch(row)
        ended = bool(state.stopped) or state.epoch >= cfg.epochs
        if reporter is not None and reporter.should_stop(state.history, last_epoch=ended):
            state.stopped = "pruned"
            print(f"stopped by early termination after epoch {state.epoch}: the study's pruner ranks the run "
                  f"below those that go on", flush=True)
        checkpoint = state.state_dict()
        if is_best:
            save_checkpoint(checkpoint, out / BEST)
        save_checkpoint(checkpoint, out / LAST, previous=out / PREVIOUS)
        write_history(out / "history.csv", state.history)


def _train_epoch(net: nn.Module, state: TrainState, train_loader, val_loader, num_classes: int) -> dict[str, Any]:
    """Train and validate the epoch after the state's last; its history row. `net` is the state's
    model, or its compiled form."""
    cfg, epoch = state.config, state.epoch + 1
    train_loader.set_epoch(epoch)
    lr = state.optimizer.param_groups[0]["lr"]
    mix_gen = torch.Generator().manual_seed(epoch_seed(cfg.seed, epoch, MIX))
    train = train_one_epoch(net, train_loader, state.optimizer, state.precision, num_classes=num_classes,
                            mix_alpha=cfg.mix_alpha if cfg.mix else None, mix_generator=mix_gen,
                            label_smoothing=cfg.label_smoothing, channels_last=cfg.channels_last,
                            progress=cfg.progress, desc=f"epoch {epoch}/{cfg.epochs}")
    val = {"loss": math.nan, "acc": math.nan}
    if math.isfinite(train["loss"]):  # a diverged model is not worth validating
        val = evaluate(net, val_loader, state.precision, channels_last=cfg.channels_last)
    return {"epoch": epoch, "train_loss": train["loss"], "train_acc": train["acc"], "val_loss": val["loss"],
            "val_acc": val["acc"], "lr": lr, "epoch_s": round(train["seconds"], 3),
            "images_per_s": round(train["images_per_s"], 1),
            "train_acc_measure": "dominant_label" if cfg.mix else "exact_label"}


def _finish(state: TrainState, data: Data, test_loader, out: Path) -> dict[str, Any]:
    """Test the best checkpoint and summarise the run at its best epoch."""
    history = state.history
    valid = [h for h in history if math.isfinite(h["val_loss"])]
    best = best_epoch(history)
    test, tested_on = {"loss": math.nan, "acc": math.nan}, None
    if best is not None and state.stopped != "pruned":  # a pruned run is never the sweep's best: no test
        tested_on = _load_best_weights(state, out, best["epoch"])
        test = evaluate(state.model, test_loader, state.precision, channels_last=state.config.channels_last)
    status = state.stopped or "completed"
    assert status in FINISHED_STATUSES
    pick = (lambda key: best[key]) if best else (lambda key: math.nan)
    notes = {**state.recovery, **({"tested_on": tested_on} if tested_on else {})}
    return {
        "status": status, "best_epoch": best["epoch"] if best else None, "epochs_run": len(history),
        "train_loss": pick("train_loss"), "train_acc": pick("train_acc"),
        "train_acc_measure": history[-1]["train_acc_measure"] if history else None,
        "val_loss": pick("val_loss"), "val_acc": pick("val_acc"),
        "best_val_acc": max((h["val_acc"] for h in valid), default=math.nan),
        "test_loss": test["loss"], "test_acc": test["acc"], "val_is_test": data.val_is_test,
        "n_train": len(data.train), "n_val": len(data.val), "n_test": len(data.test),
        "images_per_s": statistics.median(h["images_per_s"] for h in history) if history else math.nan, **notes,
    }


def _load_best_weights(state: TrainState, out: Path, best_epoch: int) -> str | None:
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


def main(argv: list[str] | None = None) -> int:
    from lib.cli import config_from_argv
    from lib.config import ConfigError

    try:
        cfg = config_from_argv(argv, prog="python -m lib.train")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        result = run(cfg)
    except (RunError, DeviceError, DatasetError, WeightsError, RunLockedError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"records written to {result.out_dir}/ (config.json, history.csv, metrics.json, checkpoints/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
