"""The one validated description of a training run.

Every entry point (the `python -m lib.train` command line, the training notebook, sweep files)
builds a `RunConfig` through `RunConfig.from_dict`, which rejects unknown keys, wrong types,
unknown choices and impossible values before any data or model is touched. This module imports
neither torch nor numpy, so a bad flag fails in well under a second.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from lib.core.formatting import shown, too_large
from lib.core.values import number_text
from lib.config.errors import ConfigError
from lib.config.keys import did_you_mean

DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10", "cifar100", "imagefolder")
# One channel; kept in step with lib.run.datasets by tests/run/test_datasets.py. Colour jitter cannot act on them.
GRAYSCALE_DATASETS = ("digits", "mnist", "fashion_mnist")
# Kept in step with lib.run.models.MODELS by tests/run/test_models.py; listed here so that validating a
# config never has to import torch.
MODELS = ("mlp", "lenet", "resnet18", "preact_resnet18", "resnet18_imagenet")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULERS = ("none", "step", "plateau", "cosine")
AMP_DTYPES = ("bf16", "fp16")
WANDB_MODES = ("auto", "online", "offline", "disabled")
# Settings that may differ between a checkpoint and the config that resumes it: they change where
# and how fast a run goes, not what it computes.
RUNTIME_FIELDS = frozenset({"resume", "device", "num_workers", "pin_memory", "num_threads", "progress",
                            "out_dir", "data_dir", "download", "wandb_mode", "wandb_project", "wandb_group",
                            "run_name", "compile", "cache", "study", "study_name", "trial"})
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
MAX_DEVICE_INDEX = 127  # torch stores a device index in 8 bits: cuda:99999 silently becomes cuda:-97
MAX_SEED = 2**32 - 1  # per-epoch seeds derived from it must fit torch's 64-bit generator seed
MAX_THREADS = 1024


@dataclass(frozen=True)
class RunConfig:
    """Every parameter of one training run, flat, each with a default (a CPU smoke run)."""

    # data
    dataset: str = "digits"  # one of DATASETS
    data_dir: str | None = None  # None: $DATA_DIR, else data/; relative to the project root
    download: bool = False  # let torchvision download a missing dataset
    val_fraction: float = 0.1  # share of the training set held out; 0: the test set validates
    subset: int | None = None  # cap on training samples, for quick runs
    # model
    model: str = "lenet"  # one of MODELS
    pretrained: bool = False  # ImageNet weights (resnet18_imagenet only)
    weights_file: str | None = None  # local state_dict to load instead of downloading
    input_size: int | None = None  # upsample inputs to this side length (e.g. 224)
    # optimisation
    epochs: int = 10  # upper bound on training epochs
    batch_size: int = 128  # training images per step
    optimizer: str = "sgd"  # one of OPTIMIZERS
    lr: float = 0.05  # initial learning rate
    weight_decay: float = 5e-4  # L2 penalty (decoupled for adamw)
    momentum: float = 0.9  # SGD momentum; RMSprop momentum
    nesterov: bool = False  # SGD only
    label_smoothing: float = 0.0  # cross-entropy label smoothing
    # learning-rate schedule, stepped once per epoch
    scheduler: str = "none"  # one of SCHEDULERS
    step_size: int = 10  # step: epochs between decays
    gamma: float = 0.1  # step: decay factor
    plateau_patience: int = 5  # plateau: epochs without val-loss improvement before a decay
    plateau_factor: float = 0.1  # plateau: decay factor
    t_max: int | None = None  # cosine: period in epochs; None: epochs
    # early stopping on validation loss
    early_stopping: bool = False  # stop when validation loss stops improving
    patience: int = 3  # epochs without an improvement of at least min_delta
    min_delta: float = 0.0  # smallest drop in validation loss that counts as improving
    # augmentation (training batches only)
    augment: bool = False  # master switch for flip, crop, rotation and colour jitter
    flip: bool = True  # random horizontal flip of half the images
    crop_padding: int = 4  # random crop after zero padding by this many pixels; 0: off
    rotation: float = 15.0  # random rotation within ±degrees; 0: off
    color_jitter: float = 0.2  # brightness, contrast and saturation within 1 ± this (RGB only)
    hue: float = 0.05  # hue shift within ± this fraction of the colour wheel (RGB only)
    normalize: bool = True  # subtract the dataset mean, divide by its std
    mix: bool = False  # CutMix or MixUp, chosen at random for each batch
    mix_alpha: float = 1.0  # Beta(alpha, alpha) for the mixing ratio
    # speed
    cache: bool = True  # decode once into a uint8 tensor on the device; False: DataLoader path
    amp: bool = True  # autocast on CUDA (ignored on the CPU)
    amp_dtype: str = "bf16"  # bf16, or fp16 with a GradScaler
    channels_last: bool = False  # NHWC memory layout (faster convolutions on GPUs)
    compile: bool = False  # torch.compile the model
    num_workers: int = 2  # DataLoader workers (cache: false only)
    pin_memory: bool = True  # DataLoader pinned memory on CUDA (cache: false only)
    num_threads: int | None = None  # torch intra-op threads; None: torch's default
    # run
    seed: int = 0  # model init, validation split, shuffling and augmentation
    device: str = "auto"  # auto, cpu, cuda, cuda:N or mps
    resume: bool = False  # continue from out_dir/checkpoints/last.pt when it exists
    progress: bool = True  # a progress bar per epoch
    out_dir: str = "reports/runs/latest"  # where the run writes its records; relative to the project root
    run_name: str | None = None  # shown in W&B; None: the out_dir's name
    study: str | None = None  # set by the sweep runner: the Optuna storage (journal file or database URL)
    study_name: str | None = None  # set by the sweep runner: the sweep's study in that storage
    trial: int | None = None  # set by the sweep runner: the trial this run reports to; it may stop the run early
    # Weights & Biases
    wandb_mode: str = "disabled"  # auto (online with credentials, else offline), online, offline or disabled
    wandb_project: str = "sweeplab"  # W&B project name
    wandb_group: str | None = None  # sweeps set this to the sweep name

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "RunConfig":
        """Build a config from plain values, raising ConfigError listing every problem."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"a run config must be a mapping of keys to values, got {type(values).__name__}")
        problems = [unknown_field(key) for key in values if key not in FIELD_TYPES]
        problems += [msg for key, value in values.items() if key in FIELD_TYPES
                     for msg in [_type_problem(key, value)] if msg]
        if problems:
            raise ConfigError("; ".join(problems))
        config = cls(**{k: _coerce(k, v) for k, v in values.items()})
        problems = config.problems()
        if problems:
            raise ConfigError("; ".join(problems))
        return config

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> "RunConfig":
        """A validated copy with some fields changed."""
        return RunConfig.from_dict({**self.to_dict(), **changes})

    def problems(self) -> list[str]:
        """Every impossible value or combination, as user-facing messages."""
        out = []
        for name, choices in CHOICES.items():
            if getattr(self, name) not in choices:
                out.append(f"{name} {getattr(self, name)!r} is not one of: {', '.join(choices)}")
        match = _DEVICE_RE.match(self.device)
        if not match or (match.group(2) and int(match.group(2)[1:]) > MAX_DEVICE_INDEX):
            out.append(f"device {self.device!r} is not one of: auto, cpu, cuda, cuda:N (N from 0 to "
                       f"{MAX_DEVICE_INDEX}), mps")
        for name, value in self.to_dict().items():
            if isinstance(value, float) and not math.isfinite(value):
                out.append(f"{name} {value!r} is not a finite number")
        for limit in LIMITS.values():
            value = getattr(self, limit.field)
            if value is None or (isinstance(value, float) and not math.isfinite(value)):
                continue
            if not limit.allows(value):
                out.append(f"{limit.field} {value!r} is out of range: expected {limit.text()}")
        if self.optimizer == "sgd" and self.nesterov and not self.momentum > 0:
            out.append("nesterov needs momentum > 0 with sgd; set momentum (e.g. 0.9) or nesterov: false")
        if (self.pretrained or self.weights_file) and self.model != "resnet18_imagenet":
            out.append(f"pretrained weights exist only for model resnet18_imagenet, not {self.model!r}")
        if not self.out_dir:
            out.append("out_dir is empty: give the folder the run writes to")
        if (self.study is None, self.study_name is None, self.trial is None) not in ((True,) * 3, (False,) * 3):
            out.append("study, study_name and trial go together (the sweep runner sets all three); set all or none")
        if self.trial is not None and self.trial < 0:
            out.append(f"trial {self.trial!r} is out of range: expected >= 0")
        return out

    def warnings(self, given: Iterable[str] | None = None) -> list[str]:
        """Settings that cannot take effect, or that another setting defeats, one sentence each:
        the setting, why, and what to change. `given` names the fields the user set; without it, a
        field counts as set when it differs from its default. A warning never stops a run."""
        defaults = _DEFAULTS
        given = set(given) if given is not None else {k for k, v in self.to_dict().items() if v != defaults[k]}
        out: list[str] = []
        if self.scheduler == "plateau" and self.early_stopping and self.patience <= self.plateau_patience + 1:
            out.append(f"scheduler plateau never lowers the rate: early stopping (patience {self.patience}) ends "
                       f"the run before ReduceLROnPlateau (plateau_patience {self.plateau_patience}) acts, which "
                       f"takes {self.plateau_patience + 1} epochs without improvement; set patience to at least "
                       f"{self.plateau_patience + 2}, or plateau_patience below {max(self.patience - 1, 0)}")
        if self.scheduler == "step" and self.step_size >= self.epochs:
            out.append(f"step_size {self.step_size} is not below epochs {self.epochs}: StepLR never "
                       f"lowers the rate; set step_size below epochs")
        inert = {
            "step": ("step_size", "gamma"), "plateau": ("plateau_patience", "plateau_factor"), "cosine": ("t_max",),
        }
        for scheduler, names in inert.items():
            for name in names:
                if self.scheduler != scheduler and name in given and getattr(self, name) is not None:
                    out.append(f"{name} is set but scheduler is not {scheduler}, the only one that uses "
                               f"it; remove {name} or set scheduler: {scheduler}")
        if self.scheduler == "cosine" and self.t_max is not None and self.t_max < self.epochs:
            out.append(f"t_max {self.t_max} is below epochs {self.epochs}: the cosine rate reaches its "
                       f"minimum at epoch {self.t_max} and rises again; set t_max to epochs ({self.epochs}) "
                       f"or leave it unset")
        if self.optimizer in ("adam", "adamw"):
            for name in ("momentum", "nesterov"):
                if name in given and getattr(self, name):
                    out.append(f"{name} is set but adam and adamw have no momentum setting (their "
                               f"betas play that role); remove {name} or use optimizer sgd")
        if self.optimizer == "rmsprop" and self.nesterov:
            out.append("nesterov is set but rmsprop has no Nesterov variant; remove it or use "
                       "optimizer sgd")
        if not self.augment:
            for name in ("flip", "crop_padding", "rotation", "color_jitter", "hue"):
                if name in given:
                    out.append(f"{name} is set but augment is false, so no augmentation runs; set "
                               f"augment: true or remove {name}")
        elif self.dataset in GRAYSCALE_DATASETS:
            for name in ("color_jitter", "hue"):
                if name in given and getattr(self, name):
                    out.append(f"{name} is set but {self.dataset} is grayscale, and colour jitter acts "
                               f"on RGB images only; remove {name}")
        if not self.mix and "mix_alpha" in given:
            out.append("mix_alpha is set but mix is false; set mix: true or remove mix_alpha")
        if not self.early_stopping:
            for name in ("patience", "min_delta"):
                if name in given:
                    out.append(f"{name} is set but early_stopping is false; set early_stopping: true or "
                               f"remove {name}")
        if self.cache:
            for name in ("num_workers", "pin_memory"):
                if name in given:
                    out.append(f"{name} is set but cache is true: the data sits on the device and no "
                               f"DataLoader runs; set cache: false or remove {name}")
        return out


FIELD_TYPES: dict[str, Any] = {f.name: f.type for f in dataclasses.fields(RunConfig)}
CHOICES = {"dataset": DATASETS, "model": MODELS, "optimizer": OPTIMIZERS,
           "scheduler": SCHEDULERS, "amp_dtype": AMP_DTYPES, "wandb_mode": WANDB_MODES}
@dataclass(frozen=True)
class Limit:
    """A numeric field's possible values and why; `unsafe`: values it may take but a proposal never chooses."""

    field: str
    low: float
    high: float | None  # None: no upper limit
    why: str
    low_ok: bool = True  # whether `low` itself is allowed
    high_ok: bool = True
    unsafe: tuple = ()
    unsafe_why: str = ""

    def allows(self, value: float) -> bool:
        above = value >= self.low if self.low_ok else value > self.low  # False for NaN too
        below = self.high is None or (value <= self.high if self.high_ok else value < self.high)
        return bool(above and below)

    def text(self) -> str:
        low = f"{self.low} {'<=' if self.low_ok else '<'}"
        if self.high is None:
            return f"{'>=' if self.low_ok else '>'} {self.low}"
        return f"{low} value {'<=' if self.high_ok else '<'} {self.high}"

    def problem(self, value: float) -> str | None:
        """Why a proposal may not choose `value` (None: it may)."""
        if not self.allows(value):
            return f"{self.field} {number_text(value)} is impossible: expected {self.text()} ({self.why})"
        if any(value == u for u in self.unsafe):
            return f"{self.field} {number_text(value)} is never proposed: {self.unsafe_why}"
        return None


# Each numeric field's limits, declared once: RunConfig.problems checks them, the proposal rules
# (lib.report.proposal) never step outside them, nor onto an unsafe value.
LIMITS = {limit.field: limit for limit in [
    Limit("val_fraction", 0, 1, "a share of the training set; 1 leaves nothing to train on", high_ok=False,
          unsafe=(0,), unsafe_why="val_fraction 0 validates on the test set, so choosing on it selects on test"),
    Limit("subset", 2, None, "a split needs two examples"),
    Limit("input_size", 8, None, "the smallest side the models take"),
    Limit("epochs", 1, None, "a run trains at least one epoch"),
    Limit("batch_size", 1, None, "a batch holds at least one example"),
    Limit("lr", 0, None, "a rate of 0 or below does not learn", low_ok=False),
    Limit("weight_decay", 0, None, "negative decay grows the weights"),
    Limit("momentum", 0, 1, "momentum 1 never forgets a gradient and diverges", high_ok=False),
    Limit("label_smoothing", 0, 1, "a probability mass; 1 leaves nothing on the true label", high_ok=False),
    Limit("mix_alpha", 0, None, "the Beta distribution's parameter is positive", low_ok=False),
    Limit("gamma", 0, 1, "a factor the rate is multiplied by; above 1 it grows", low_ok=False),
    Limit("plateau_factor", 0, 1, "a factor the rate is multiplied by; 1 never lowers it", low_ok=False,
          high_ok=False),
    Limit("step_size", 1, None, "epochs between steps"),
    Limit("plateau_patience", 0, None, "epochs waited"),
    Limit("t_max", 1, None, "epochs of the cosine schedule"),
    Limit("patience", 0, None, "epochs waited"),
    Limit("min_delta", 0, None, "an improvement is not negative"),
    Limit("crop_padding", 0, None, "pixels"),
    Limit("rotation", 0, 180, "degrees either way"),
    Limit("color_jitter", 0, 1, "a probability-like strength"),
    Limit("hue", 0, 0.5, "torchvision's hue jitter is at most half the circle"),
    Limit("num_workers", 0, None, "processes"),
    Limit("num_threads", 1, MAX_THREADS, "threads"),
    Limit("seed", 0, MAX_SEED, "per-epoch seeds derived from it must fit torch's generator"),
]}


def limit_problem(name: str, value: Any) -> str | None:
    """Why a proposal may not set `name` to `value`: outside its limits or unsafe (None: it may, or no limit)."""
    limit = LIMITS.get(name)
    if limit is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return limit.problem(value)


def base_type(name: str) -> tuple[type, bool]:
    """The plain type of a field and whether it may be None."""
    hint = _RESOLVED_TYPES[name]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0], True
    return hint, False


def _a(kind: type) -> str:
    return {int: "an int", float: "a number", bool: "a bool (true or false)", str: "a string"}[kind]


def _type_problem(name: str, value: Any) -> str | None:
    kind, optional = base_type(name)
    if value is None:
        return None if optional else f"{name} must be {_a(kind)}, got None"
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[kind]
    if ok and too_large(value):  # 10**400 from a YAML file: no setting needs it, and float() of it overflows
        return f"{name} must be {_a(kind)} that a float can hold, got {shown(value)}"
    if ok:
        return None
    return f"{name} must be {_a(kind)}, got {type(value).__name__} {shown(value)}"


_RESOLVED_TYPES = typing.get_type_hints(RunConfig)


def _coerce(name: str, value: Any) -> Any:
    """Store whole numbers given for float fields as floats, so config.json is consistent."""
    kind, _ = base_type(name)
    return float(value) if kind is float and isinstance(value, int) else value


def parse_text(name: str, text: str) -> Any:
    """Turn a command-line string into the field's type ('true', '0.01', 'none'), or raise ConfigError."""
    if name not in FIELD_TYPES:
        raise ConfigError(unknown_field(name))
    kind, optional = base_type(name)
    if optional and text.strip().lower() in ("none", "null", ""):
        return None
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {text!r}")
    if kind is str:
        return text
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"{name} must be {_a(kind)}, got {text!r}") from None


def group_warnings(runs: Iterable[tuple[str, "RunConfig", Iterable[str] | None]]) -> dict[str, list[str]]:
    """Each distinct warning over several runs, given as (name, config, the fields its user set),
    with the names of the runs it concerns, in first-seen order."""
    found: dict[str, list[str]] = {}
    said: dict[tuple, list[str]] = {}  # runs that share a config object and its given fields warn alike
    for name, cfg, given in runs:
        key = (id(cfg), None if given is None else tuple(given))
        if key not in said:
            said[key] = list(dict.fromkeys(cfg.warnings(given)))
        for line in said[key]:
            found.setdefault(line, []).append(name)
    return found


def config_diff(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs between two configs in fields that change what a run computes, as 'key a -> b'."""
    return [f"{k} {saved.get(k)!r} -> {current[k]!r}" for k in current
            if k not in RUNTIME_FIELDS and saved.get(k) != current[k]]


def defaults() -> dict[str, Any]:
    return RunConfig().to_dict()


_DEFAULTS = defaults()
# The fields that decide what a run computes; the rest say only where and how fast it runs.
COMPUTE_FIELDS = tuple(k for k in FIELD_TYPES if k not in RUNTIME_FIELDS)


# The fields the sweep runner sets for every run (lib.config.runs.runner_values gives their values); a sweep
# file may not set them.
RUNNER_FIELDS = ("out_dir", "resume", "run_name", "wandb_group", "progress", "study", "study_name", "trial")
RUNNER_NOTE = "set by the sweep runner (by hand only for a single run)"


def unknown_field(name: Any, what: str = "key") -> str:
    """The one line for a name that is no RunConfig field: the close match among every field, the fields a
    user sets as the valid ones, and the sweep runner's own named once, apart."""
    users = [k for k in FIELD_TYPES if k not in RUNNER_FIELDS]
    return (f"unknown {what} {name!r}{did_you_mean(name, FIELD_TYPES)}; valid: {', '.join(users)}; "
            f"{RUNNER_NOTE}: {', '.join(RUNNER_FIELDS)}")


def field_comments() -> dict[str, str]:
    """The comment beside each field in RunConfig's source: its meaning, for --help and the notebook.
    A field with a fixed list of values ("one of DATASETS" in the source) lists them."""
    source = inspect.getsource(RunConfig)
    comments = {m.group(1): m.group(2).strip()
                for m in re.finditer(r"^\s+(\w+): [^=]+=[^#\n]*#(.*)$", source, re.M)}
    for name, choices in CHOICES.items():
        comments[name] = re.sub(r"\bone of [A-Z_]+\b", f"one of {', '.join(choices)}", comments[name])
    return comments


def field_sections() -> list[tuple[str, list[str]]]:
    """RunConfig's fields grouped under the comment lines that head them in its source ('data', ...)."""
    sections: list[tuple[str, list[str]]] = []
    for line in inspect.getsource(RunConfig).splitlines():
        heading = re.match(r"^    # (.+)$", line)
        field_name = re.match(r"^    (\w+): ", line)
        if heading:
            sections.append((heading.group(1).strip(), []))
        elif field_name and field_name.group(1) in FIELD_TYPES and sections:
            sections[-1][1].append(field_name.group(1))
    return sections


__all__ = ["RunConfig", "ConfigError", "FIELD_TYPES", "CHOICES", "RUNTIME_FIELDS", "COMPUTE_FIELDS", "config_diff",
           "group_warnings", "parse_text", "defaults", "unknown_field", "RUNNER_NOTE", "RUNNER_FIELDS",
           "field_comments", "field_sections"]
