"""Reading a YAML file users wrote: numbers as they mean them, and one-line errors for hostile files.

1e-4 reads as a number (YAML 1.1 would read a string), a key given twice in one mapping is an error
naming both lines, and alias bombs, deep nesting and files that are not UTF-8 are refused with the
place. Sweep files and `--config` files are read here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from lib.spec.errors import SweepFileError

MAX_YAML_VALUES = 100_000  # values in a file after YAML aliases are expanded (alias bombs)


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


def read_yaml(path: str | Path) -> Any:
    """A YAML file's content (1e-4 read as a number), or a SweepFileError naming the line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SweepFileError(f"cannot read {path}: {exc.strerror}") from None
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
