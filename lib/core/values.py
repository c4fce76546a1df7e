"""One way to spell a parameter value: its key, sameness, order, sweep-file text and reader text.

A value is what a sweep file, a config or a table cell holds for one parameter: None, a flag, a number
or a name. Tables hand them out changed (pandas turns 224 into 224.0 in a column with a None in it, and
that None into NaN; numpy gives its own scalars), so every comparison and every text goes through here:

    key(v)           hashable identity: True apart from 1 and 1.0, 224 and 224.0 alike, None and NaN alike
    same(a, b)       key(a) == key(b)
    ordered(values)  the distinct values in the one order: missing first, then False before True, then
                     numbers ascending, then names in the order first seen (a sweep file's own order)
    sweep_text(v)    as a sweep file writes it: null, true/false, short numbers (1e-4, 224), names as they are
    reader_text(v)   as the report shows it to people: None, yes/no, short numbers, names as they are

Short numbers (`number_text`) never print alike for unequal numbers, and YAML as sweep files are read
(lib.config.yamlfile) reads them back as the same number.
"""

from __future__ import annotations

import numbers
from typing import Any, Hashable, Iterable

from lib.core.formatting import is_bool, is_missing, is_whole

__all__ = ["key", "number_text", "ordered", "reader_text", "same", "sort_key", "sweep_text"]

# The kinds of value, in the order `ordered` puts them.
_MISSING, _FLAG, _NUMBER, _NAME = range(4)


def key(value: Any) -> tuple[int, Hashable]:
    """A hashable identity of a value: True is not 1.0, 224 is 224.0, None is NaN, numpy scalars are Python's."""
    if is_missing(value):
        return (_MISSING, 0)
    if is_bool(value):
        return (_FLAG, bool(value))
    if is_whole(value):
        return (_NUMBER, int(value))  # hash(224) == hash(224.0) and they compare equal, so 224.0 meets it
    if isinstance(value, numbers.Real):
        return (_NUMBER, float(value))
    return (_NAME, str(value))


def same(a: Any, b: Any) -> bool:
    """Whether two values are one value (see `key`)."""
    return key(a) == key(b)


def sort_key(value: Any, first_seen: dict[Hashable, int] | None = None) -> tuple:
    """Where a value sorts: missing, flags (False first), numbers ascending, then names by their index in
    `first_seen` (key -> position; names not in it, or without it, sort alphabetically after those in it)."""
    kind, identity = key(value)
    if kind != _NAME:
        return (kind, 0, identity)
    position = (first_seen or {}).get((kind, identity))
    return (kind, 0, position, "") if position is not None else (kind, 1, 0, identity)


def ordered(values: Iterable[Any]) -> list[Any]:
    """The distinct values (by `key`, the first of each kept as it is) in the one order: missing, False,
    True, numbers ascending, names as first seen."""
    first: dict[Hashable, Any] = {}
    for value in values:
        first.setdefault(key(value), value)
    seen = {k: i for i, k in enumerate(first)}
    return sorted(first.values(), key=lambda v: sort_key(v, seen))


def number_text(value: float | int) -> str:
    """1e-06 -> '1e-6', 1e6 -> '1e6', 0.01 -> '0.01', 224.0 -> '224': short, never alike for unequal numbers.
    (Run names are built from it: a change here renames run folders.)"""
    if is_whole(value):
        return str(int(value))
    text = f"{value:g}"
    if float(text) != value:  # :g keeps 6 digits
        text = repr(float(value))
    mantissa, _, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else text


def _text(value: Any, missing: str, flags: tuple[str, str]) -> str:
    """`value` as text, with `missing` for None/NaN and `flags` for (True, False); numbers by `number_text`."""
    kind, _ = key(value)
    if kind == _MISSING:
        return missing
    if kind == _FLAG:
        return flags[0] if value else flags[1]
    return number_text(value) if kind == _NUMBER else str(value)


def sweep_text(value: Any) -> str:
    """A value as a sweep file writes it: null, true, false, 0.001, 1e-4, 224, fashion_mnist."""
    return _text(value, "null", ("true", "false"))


def reader_text(value: Any) -> str:
    """A value as the report shows it to people: None, yes, no, 0.001, 1e-4, 224, fashion_mnist."""
    return _text(value, "None", ("yes", "no"))
