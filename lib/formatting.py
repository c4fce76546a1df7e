"""Numbers and durations as text for tables and logs, with one rule for missing values."""

from __future__ import annotations

import math
from typing import Any

MISSING = "-"


def is_number(value: Any) -> bool:
    """A finite int or float (bools are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number(value: Any, spec: str = ".4f") -> str:
    """`value` formatted with `spec`; None, NaN and infinity print as '-', whole floats as integers."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    if (isinstance(value, float) and value.is_integer()) or (isinstance(value, int) and not isinstance(value, bool)):
        return str(int(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, spec)
    return str(value)


def duration(seconds: float | None) -> str:
    """'1m05s', '2h03m', or '-' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
