"""Reading a YAML file users wrote: numbers as they mean them, and one-line errors for hostile files.

1e-4 reads as a number (YAML 1.1 would read a string), a key given twice in one mapping is an error
naming both lines, and alias bombs, deep nesting, integers too long to read and files that are not
UTF-8 are refused with the place. Only a regular file is read, and at most MAX_YAML_BYTES of it (so
`extends: /dev/zero` or a FIFO is one line, not a hang). Sweep files and `--config` files are read here.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from lib.config.errors import SweepFileError

MAX_YAML_VALUES = 100_000  # values in a file after YAML aliases are expanded (alias bombs)
MAX_YAML_BYTES = 2 * 2**20  # far above any sweep file: 10,000 explicit runs take about 0.5 MiB


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads 1e-4 as a string; sweep files mean a number."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def _mapping_without_duplicates(loader: _Loader, node: yaml.MappingNode) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, (str, int, float, bool)) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping (first on line {seen[key] + 1}); "
                            f"keep one", key_node.start_mark)
        if isinstance(key, (str, int, float, bool)):
            seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def _int_within_limits(loader: _Loader, node: yaml.ScalarNode) -> int:
    """An integer, or an error at its place when it has more digits than Python converts (4,300)."""
    try:
        return loader.construct_yaml_int(node)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"an integer of {len(node.value):,} digits is too long to read; no setting needs one",
            node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:int", _int_within_limits)


def _expanded_size(value: Any, sizes: dict[int, int]) -> int:
    """How many values `value` holds once YAML aliases are expanded, without expanding them."""
    if id(value) in sizes:
        return sizes[id(value)]
    children = list(value.items()) if isinstance(value, dict) else value if isinstance(value, list) else []
    total = 1
    for child in children:
        total += sum(_expanded_size(v, sizes) for v in child) if isinstance(value, dict) else \
            _expanded_size(child, sizes)
        if total > MAX_YAML_VALUES:
            break
    sizes[id(value)] = total
    return total


def _read_bounded(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_YAML_BYTES; anything else is a SweepFileError.
    Opened without blocking, so a FIFO is refused instead of waiting for a writer."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise SweepFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = ("a directory" if stat.S_ISDIR(mode) else "a pipe" if stat.S_ISFIFO(mode) else
                    "a socket" if stat.S_ISSOCK(mode) else "a device")
            raise SweepFileError(f"cannot read {path}: it is {what}, not a regular file; give a YAML file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        raise SweepFileError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_YAML_BYTES:
        raise SweepFileError(f"{path} is larger than {MAX_YAML_BYTES // 2**20} MiB; a sweep file is a few "
                             f"kilobytes of YAML")
    return data


def read_yaml(path: str | Path) -> Any:
    """A YAML file's content (1e-4 read as a number), or a SweepFileError naming the line."""
    path = Path(path)
    data = _read_bounded(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise SweepFileError(f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
                             f"save it with UTF-8 encoding") from None
    try:
        content = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SweepFileError(f"{path}: YAML syntax error{where}: {problem}") from None
    except RecursionError:
        raise SweepFileError(f"{path}: YAML nests too deeply; a sweep file is a few flat mappings") from None
    if _expanded_size(content, {}) > MAX_YAML_VALUES:
        raise SweepFileError(f"{path}: expands to more than {MAX_YAML_VALUES:,} values once its YAML aliases "
                             f"are resolved (nested aliases?); write the values out")
    return content
