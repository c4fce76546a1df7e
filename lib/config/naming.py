"""The one naming scheme: a run's or a configuration's name, built from the values of what varies.

    preact_resnet18-mix-sgd-lr0.01-cosine        model, mix, optimizer, lr, scheduler
    lenet-nomix-wd0.0005-seed1                   a bool as `key` / `nokey`, numbers after an abbreviation

Run folders take the folder-safe form; the report labels configurations with the same scheme (seed
aside), so a configuration reads like the names of its runs. Distinct values never print alike: a
number keeps full precision when its short form would merge it with another (lib.core.values.number_text,
the one short form of a number).
"""

from __future__ import annotations

import numbers
import re
from typing import Any, Mapping, Sequence

from lib.core.formatting import is_bool, is_missing
from lib.core.values import number_text

ABBREVIATIONS = {"lr": "lr", "weight_decay": "wd", "batch_size": "bs", "epochs": "ep", "momentum": "mom",
                 "label_smoothing": "ls", "mix_alpha": "alpha", "val_fraction": "val", "t_max": "tmax",
                 "step_size": "step", "patience": "pat", "min_delta": "md", "input_size": "in"}
# Fields whose values are names from a fixed list: shown bare (`sgd`, not `optimizersgd`).
BARE = ("model", "optimizer", "scheduler", "dataset", "device", "amp_dtype")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # a folder-safe name: sweep and run names
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
SEED_SUFFIX = "-seed"  # a seeded copy of a named run: its name, this, the seed
_SEEDED = re.compile(re.escape(SEED_SUFFIX) + r"\d+$")


def seeded(name: str, seed: int) -> str:
    """The name of `name`'s run with `seed`: 'lenet-sgd-seed1'. `unseeded` undoes it."""
    return f"{name}{SEED_SUFFIX}{seed}"


def unseeded(name: str) -> str:
    """A run's name without its seed suffix: 'lenet-sgd-seed1' -> 'lenet-sgd' (a name without one as it is)."""
    return _SEEDED.sub("", name)


def part(key: str, value: Any, folder_safe: bool = True) -> str:
    """One parameter's piece of a name."""
    if is_missing(value):
        return f"{ABBREVIATIONS.get(key, key)}None"
    if is_bool(value):
        return key if value else f"no{key}"
    if isinstance(value, numbers.Real):
        return f"{ABBREVIATIONS.get(key, key)}{number_text(value)}"
    text = str(value)
    if not folder_safe and ("-" in text or not text or text[0] in "'\""):
        text = repr(text)  # so a label still splits one way at its '-'
    return text if key in BARE else f"{ABBREVIATIONS.get(key, key)}{text}"


def describe(values: Mapping[str, Any], keys: Sequence[str], folder_safe: bool = True) -> str:
    """The name of a run or configuration: the pieces of `keys` present in `values`, joined with '-'.
    Folder-safe: characters outside letters, digits and `_ . -` become `_`. '' when no key is present."""
    text = "-".join(part(k, values[k], folder_safe) for k in keys if k in values)
    return _UNSAFE.sub("_", text) if folder_safe else text


def config_label(values: Mapping[str, Any], keys: Sequence[str]) -> str:
    """A configuration's label in the report: `describe` without making it folder-safe; `(fixed)` for none."""
    return describe(values, keys, folder_safe=False) or "(fixed)"
