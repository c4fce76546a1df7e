"""Train one image classifier from a RunConfig: `run(cfg)`, or `python -m lib.train --help`.

A run trains for up to `epochs`, validates after each epoch, keeps the checkpoint with the lowest
validation loss, evaluates that checkpoint on the test set, and writes config.json, history.csv,
metrics.json and checkpoints/{last,best}.pt to `out_dir`. `resume: true` continues from
checkpoints/last.pt; on the CPU, a resumed run ends with exactly the metrics of an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import sys
import time
from dataclasses import dataclass
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
from lib.records import (FINISHED_STATUSES, RunLockedError, load_checkpoint, run_lock, save_checkpoint,
                         write_history, write_json)
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
# A whole run


def run(cfg: RunConfig) -> RunResult:
    """Train, validate, test and write the run's records. Divergence is a result, not an exception."""
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with run_lock(out):
        return _run(cfg, out)


def _check_resumable(saved: dict[str, Any], cfg: RunConfig, path: Path) -> None:
    diffs = config_diff(saved, cfg.to_dict())
    if diffs:
        raise RunError(f"cannot resume from {path}: it was made with a different config ({'; '.join(diffs)}); "
                       f"use another out_dir, or resume: false to start over")


def _fresh_start(out: Path) -> None:
    """Remove the records of an earlier run in the same folder, so none of them outlive it."""
    for name in ("metrics.json", "history.csv", "checkpoints/last.pt", "checkpoints/best.pt", "wandb-id"):
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


def _build(cfg: RunConfig, data: Data, device: torch.device):
    """The model and everything that steps with it, fresh from the config."""
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
    precision = Precision.for_device(device, cfg.amp, cfg.amp_dtype)
    return model, optimizer, scheduler, precision, EarlyStopping(cfg.patience, cfg.min_delta)


def _restore(state: dict[str, Any], model, optimizer, scheduler, precision: Precision, stopper: EarlyStopping):
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    if state["scaler"] and precision.scaler.is_enabled():  # empty when saved without fp16 (e.g. on a CPU)
        precision.scaler.load_state_dict(state["scaler"])
    stopper.load_state_dict(state["early_stopping"])


def _checkpoint(model, optimizer, scheduler, precision, stopper, epoch, history, cfg, stopped, elapsed):
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": precision.scaler.state_dict(), "early_stopping": stopper.state_dict(), "epoch": epoch,
            "history": history, "config": cfg.to_dict(), "stopped": stopped, "elapsed_s": elapsed}


def _run(cfg: RunConfig, out: Path) -> RunResult:
    session_start = time.perf_counter()
    device = select_device(cfg.device)
    configure_backend(device, cfg.num_threads)
    last_path, best_path = out / "checkpoints" / "last.pt", out / "checkpoints" / "best.pt"
    state = load_checkpoint(last_path) if cfg.resume and last_path.is_file() else None
    if state is not None:
        _check_resumable(state["config"], cfg, last_path)
    else:
        _fresh_start(out)
    write_json(out / "config.json", cfg.to_dict())

    torch.manual_seed(cfg.seed)
    data = load_data(cfg.dataset, cfg.data_dir, download=cfg.download, val_fraction=cfg.val_fraction,
                     subset=cfg.subset, seed=cfg.seed, cache=cfg.cache)
    model, optimizer, scheduler, precision, stopper = _build(cfg, data, device)
    history: list[dict[str, Any]] = []
    start_epoch, stopped, elapsed_before, resumes = 1, None, 0.0, []
    if state is not None:
        _restore(state, model, optimizer, scheduler, precision, stopper)
        history, stopped, elapsed_before = list(state["history"]), state["stopped"], float(state["elapsed_s"])
        start_epoch = int(state["epoch"]) + 1
        resumes = list(state.get("resumes", [])) + [int(state["epoch"])]
    net = torch.compile(model) if cfg.compile else model
    train_loader, val_loader, test_loader = _loaders(data, cfg, device)
    name = cfg.run_name or out.resolve().name
    tracker = start_tracking(cfg.wandb_mode, project=cfg.wandb_project, group=cfg.wandb_group, name=name,
                             config=cfg.to_dict(), run_dir=out)
    mixing = cfg.mix_alpha if cfg.mix else None
    measure = "dominant_label" if cfg.mix else "exact_label"
    print(f"{name}: {cfg.model} on {cfg.dataset} ({len(data.train)} train / {len(data.val)} "
          f"{'test-as-val' if data.val_is_test else 'val'} / {len(data.test)} test images) on {device}, "
          f"{precision.name}" + (f", resuming after epoch {start_epoch - 1}" if state is not None else ""),
          flush=True)

    for epoch in range(start_epoch, cfg.epochs + 1):
        if stopped:
            break
        train_loader.set_epoch(epoch)
        lr = optimizer.param_groups[0]["lr"]
        mix_gen = torch.Generator().manual_seed(epoch_seed(cfg.seed, epoch, MIX))
        train = train_one_epoch(net, train_loader, optimizer, precision, num_classes=data.num_classes,
                                mix_alpha=mixing, mix_generator=mix_gen, label_smoothing=cfg.label_smoothing,
                                channels_last=cfg.channels_last, progress=cfg.progress,
                                desc=f"epoch {epoch}/{cfg.epochs}")
        finite, is_best = math.isfinite(train["loss"]), False
        val = evaluate(net, val_loader, precision, channels_last=cfg.channels_last) if finite \
            else {"loss": math.nan, "acc": math.nan}
        row = {"epoch": epoch, "train_loss": train["loss"], "train_acc": train["acc"], "val_loss": val["loss"],
               "val_acc": val["acc"], "lr": lr, "epoch_s": round(train["seconds"], 3),
               "images_per_s": round(train["images_per_s"], 1), "train_acc_measure": measure}
        history.append(row)
        tracker.log(row, step=epoch)
        print(f"epoch {epoch:>3}/{cfg.epochs}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}  "
              f"val loss {row['val_loss']:.4f} acc {row['val_acc']:.4f}  lr {lr:.3g}  "
              f"{row['epoch_s']:.1f}s  {row['images_per_s']:.0f} img/s", flush=True)
        if not (finite and math.isfinite(val["loss"])):
            stopped = "diverged"
        else:
            is_best = val["loss"] < min((h["val_loss"] for h in history[:-1] if math.isfinite(h["val_loss"])),
                                        default=math.inf)
            step_scheduler(scheduler, val["loss"])
            if stopper.update(val["loss"]) and cfg.early_stopping:
                stopped = "early_stopped"
        elapsed = elapsed_before + time.perf_counter() - session_start
        ckpt = _checkpoint(model, optimizer, scheduler, precision, stopper, epoch, history, cfg, stopped, elapsed)
        ckpt["resumes"] = resumes
        if is_best:
            save_checkpoint(ckpt, best_path)
        save_checkpoint(ckpt, last_path)
        write_history(out / "history.csv", history)

    metrics = _finish(cfg, data, model, test_loader, precision, history, stopped, best_path, device)
    metrics.update(wall_time_s=round(elapsed_before + time.perf_counter() - session_start, 2),
                   resumed_after_epochs=resumes, device=str(device), precision=precision.name)
    write_json(out / "metrics.json", metrics)
    tracker.finish(metrics)
    print(f"{name}: {metrics['status']} after {metrics['epochs_run']} epochs; best epoch {metrics['best_epoch']}, "
          f"val acc {_fmt(metrics['val_acc'])}, test acc {_fmt(metrics['test_acc'])}", flush=True)
    return RunResult(out, metrics, history)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.4f}"


def _finish(cfg, data, model, test_loader, precision, history, stopped, best_path, device) -> dict[str, Any]:
    """Test the best checkpoint and summarise the run at its best epoch."""
    valid = [h for h in history if math.isfinite(h["val_loss"])]
    best = min(valid, key=lambda h: h["val_loss"]) if valid else None
    test = {"loss": math.nan, "acc": math.nan}
    if best is not None and best_path.is_file():
        model.load_state_dict(load_checkpoint(best_path, map_location=device)["model"])
        test = evaluate(model, test_loader, precision, channels_last=cfg.channels_last)
    status = stopped or "completed"
    assert status in FINISHED_STATUSES
    pick = (lambda key: best[key]) if best else (lambda key: math.nan)
    return {
        "status": status, "best_epoch": best["epoch"] if best else None, "epochs_run": len(history),
        "train_loss": pick("train_loss"), "train_acc": pick("train_acc"), "train_acc_measure": history[-1][
            "train_acc_measure"] if history else None,
        "val_loss": pick("val_loss"), "val_acc": pick("val_acc"),
        "best_val_acc": max((h["val_acc"] for h in valid), default=math.nan),
        "test_loss": test["loss"], "test_acc": test["acc"], "val_is_test": data.val_is_test,
        "n_train": len(data.train), "n_val": len(data.val), "n_test": len(data.test),
        "images_per_s": statistics.median(h["images_per_s"] for h in history) if history else math.nan,
    }


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
