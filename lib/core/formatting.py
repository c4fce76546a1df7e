"""Numbers: what counts as one, and numbers and durations as text, with one rule for missing values.

The predicates accept Python and numpy numbers alike (a pandas column hands out numpy scalars) and
never count a bool as a number.
"""

from __future__ import annotations

import math
import numbers
import time
from typing import Any

MISSING = "-"


def is_missing(value: Any) -> bool:
    """None, or the NaN (or pandas.NA) a table puts in its place."""
    if value is None or type(value).__name__ == "NAType":
        return True
    return isinstance(value, numbers.Real) and not is_whole(value) and not is_bool(value) and math.isnan(value)


def is_bool(value: Any) -> bool:
    """A Python or numpy bool (numpy's is `numpy.bool`, `numpy.bool_` before numpy 2; numpy is not imported here)."""
    kind = type(value)
    return isinstance(value, bool) or (kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"))


def is_number(value: Any) -> bool:
    """A finite real number that a float can hold (int, float or a numpy scalar; bools are not numbers
    here). An integer beyond the float range (10**400 in a YAML file) is not one: every use of a number
    ends up a float somewhere, and it would fail there with an OverflowError."""
    if not isinstance(value, numbers.Real) or is_bool(value):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def too_large(value: Any) -> bool:
    """An integer too large for a float: what a bound like 10**400 is."""
    return is_whole(value) and not is_number(value)


def shown(value: Any, limit: int = 40) -> str:
    """`value`'s repr for a one-line message; an integer too long to read (in a list too) is given as
    its number of digits, and any other long text is cut."""
    if isinstance(value, list):
        return f"[{', '.join(shown(v, limit) for v in value)}]"
    if is_whole(value) and len(str(abs(int(value)))) > limit:
        return f"an integer of {len(str(abs(int(value))))} digits"
    text = repr(value)
    return text if len(text) <= 4 * limit else f"{text[:4 * limit]}..."


def is_whole(value: Any) -> bool:
    """An integer (Python or numpy; bools are not)."""
    return isinstance(value, numbers.Integral) and not is_bool(value)


def as_float(value: Any, missing: float = math.nan) -> float:
    """A number as a float (infinities kept); anything else (None, NaN, bools, text) as `missing`."""
    if isinstance(value, numbers.Real) and not is_bool(value) and not math.isnan(value):
        return float(value)
    return missing


def native(value: Any) -> Any:
    """A value as plain Python, as YAML and JSON can write it: numpy numbers as int, float or bool, NaN and
    pandas.NA as None; anything else as it is."""
    if is_missing(value):
        return None
    if is_bool(value):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def number(value: Any, spec: str = ".4f") -> str:
    """`value` formatted with `spec`; None, NaN and infinity print as '-', whole floats as integers."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    if (isinstance(value, float) and value.is_integer()) or is_whole(value):
        return str(int(value))
    if isinstance(value, numbers.Real) and not is_bool(value):
        return format(value, spec)
    return str(value)


def duration(seconds: float | None) -> str:
    """'1m05s', '2h03m', or '-' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


TIMESTAMP = "%Y-%m-%dT%H:%M:%S"  # local time, as every record, lock and log line states when it was written


def timestamp() -> str:
    """Now as records write it: '2026-12-06T23:08:00' (local time)."""
    return time.strftime(TIMESTAMP)
