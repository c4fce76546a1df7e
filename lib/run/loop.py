"""Train one image classifier from a RunConfig: `run(cfg)` (`python -m lib.train --help` for the flags).

A run trains for up to `epochs`, validates after each epoch, keeps the checkpoint with the lowest
validation loss, evaluates that checkpoint on the test set, and writes config.json, history.csv,
metrics.json and checkpoints/{last,best}.pt to `out_dir`. `resume: true` continues from
checkpoints/last.pt (lib.run.checkpoints); on the CPU, a resumed run ends with exactly the metrics
of an uninterrupted one.
"""

from __future__ import annotations

import importlib.util
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lib.core.formatting import number
from lib.core.layout import BEST, HISTORY, LAST, METRICS, PREVIOUS
from lib.core.paths import resolve
from lib.core.records import FINISHED_STATUSES, best_epoch, run_lock, save_checkpoint, write_history, write_json
from lib.run.augment import AugmentSpec, mix_batch
from lib.run.backend import configure_backend, select_device
from lib.run.checkpoints import EARLIER_RUN, load_best_weights, prepare_folder
from lib.run.datasets import Data, load_data
from lib.run.loaders import MIX, epoch_seed, make_loader
from lib.run.state import Precision, TrainState, build_train_state
from lib.run.tracking import start_tracking
from lib.run.trial import trial_reporter
from lib.config.runconfig import RunConfig


@dataclass
class RunResult:
    out_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]]


def _say(line: str) -> None:
    """One line of the run's progress, written and flushed at once: one output in a notebook (print's two
    writes could be flushed apart by the kernel, leaving a blank output after each line) and live in run.log."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _progress(iterable, total: int, enabled: bool, desc: str):
    """A per-batch progress bar where it draws in place: a terminal, or a notebook with ipywidgets (one
    widget). Elsewhere (a notebook without ipywidgets, a log file) every redraw would be another output
    or line, tqdm warns that IProgress is missing, and the epoch lines already say how far the run is."""
    if not enabled:
        return iterable
    if "ipykernel" in sys.modules:
        if importlib.util.find_spec("ipywidgets") is None:
            return iterable
        from tqdm.notebook import tqdm
    elif sys.stderr.isatty():
        from tqdm import tqdm
    else:
        return iterable
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

def run(cfg: RunConfig, earlier_run: str = "refuse") -> RunResult:
    """Train, validate, test and write the run's records. Divergence is a result, not an exception.
    Without `resume`, a folder that holds an earlier run's records is refused (EarlierRunError), or with
    `earlier_run="set_aside"` they are moved to out_dir/earlier/<time>/ first: never deleted."""
    if earlier_run not in EARLIER_RUN:
        raise ValueError(f"earlier_run {earlier_run!r} is not one of: {', '.join(EARLIER_RUN)}")
    out = resolve(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with run_lock(out):
        return _run(cfg, out, earlier_run)


def _run(cfg: RunConfig, out: Path, earlier_run: str) -> RunResult:
    session_start = time.perf_counter()
    device = select_device(cfg.device)
    configure_backend(device, cfg.num_threads)
    checkpoint, recovery = prepare_folder(cfg, out, earlier_run)

    torch.manual_seed(cfg.seed)
    data = load_data(cfg.dataset, cfg.data_dir, download=cfg.download, val_fraction=cfg.val_fraction,
                     subset=cfg.subset, seed=cfg.seed, cache=cfg.cache)
    state = build_train_state(cfg, data, device, session_start=session_start)
    if checkpoint is not None:
        state.load_state_dict(checkpoint)
        if recovery:  # history.csv may be ahead of the checkpoint resumed, whose history is the truth
            write_history(out / HISTORY, state.history)
    state.recovery.update(recovery)
    train_loader, val_loader, test_loader = _loaders(data, cfg, device)
    name = cfg.run_name or out.resolve().name
    tracker = start_tracking(cfg.wandb_mode, project=cfg.wandb_project, group=cfg.wandb_group, name=name,
                             config=cfg.to_dict(), run_dir=out)
    _say(f"{name}: {cfg.model} on {cfg.dataset} ({len(data.train)} train / {len(data.val)} "
         f"{'test-as-val' if data.val_is_test else 'val'} / {len(data.test)} test images) on {device}, "
         f"{state.precision.name}" + (f", resuming after epoch {state.epoch}" if checkpoint is not None else ""))

    reporter = trial_reporter(cfg.study, cfg.study_name, cfg.trial)
    _train(state, train_loader, val_loader, data.num_classes, tracker, out, reporter)
    metrics = _finish(state, data, test_loader, out)
    metrics.update(wall_time_s=round(state.elapsed_s, 2), resumed_after_epochs=state.resumes, device=str(device),
                   precision=state.precision.name)
    write_json(out / METRICS, metrics)
    tracker.finish(metrics)
    _say(f"{name}: {metrics['status']} after {metrics['epochs_run']} epochs; best epoch {metrics['best_epoch']}, "
         f"val acc {number(metrics['val_acc'])}, test acc {number(metrics['test_acc'])}")
    return RunResult(out, metrics, state.history)


def _loaders(data: Data, cfg: RunConfig, device: torch.device):
    common = dict(batch_size=cfg.batch_size, device=device, augment=AugmentSpec.from_config(cfg), normalize_inputs=cfg.normalize,
                  cache=cfg.cache, seed=cfg.seed, num_workers=cfg.num_workers, pin_memory=cfg.pin_memory)
    eval_common = {**common, "batch_size": max(cfg.batch_size, 256)}
    return (make_loader(data, data.train, train=True, **common),
            make_loader(data, data.val, train=False, **eval_common),
            make_loader(data, data.test, train=False, **eval_common))


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
        _say(f"epoch {row['epoch']:>3}/{cfg.epochs}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}  "
             f"val loss {row['val_loss']:.4f} acc {row['val_acc']:.4f}  lr {row['lr']:.3g}  "
             f"{row['epoch_s']:.1f}s  {row['images_per_s']:.0f} img/s")
        is_best = state.end_epoch(row)
        ended = bool(state.stopped) or state.epoch >= cfg.epochs
        if reporter is not None and reporter.should_stop(state.history, last_epoch=ended):
            state.stopped = "pruned"
            _say(f"stopped by early termination after epoch {state.epoch}: the study's pruner ranks the run "
                 f"below those that go on")
        checkpoint = state.state_dict()
        if is_best:
            save_checkpoint(checkpoint, out / BEST)
        save_checkpoint(checkpoint, out / LAST, previous=out / PREVIOUS)
        write_history(out / HISTORY, state.history)


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
        tested_on = load_best_weights(state, out, best["epoch"])
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


