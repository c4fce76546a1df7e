"""Unknown names, with the close match: the one "did you mean" of the project."""

from __future__ import annotations

import difflib
from typing import Any, Iterable

from lib.config.errors import SweepFileError


def closest(name: Any, valid: Iterable[str]) -> str | None:
    """The valid name `name` is most likely a misspelling of, or None."""
    close = difflib.get_close_matches(str(name), list(valid), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(name: Any, valid: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a close valid name, else ''."""
    close = closest(name, valid)
    return f" (did you mean {close!r}?)" if close else ""


def unknown(name: Any, valid: Iterable[str], what: str = "key") -> str:
    """"unknown key 'modle' (did you mean 'model'?); valid: dataset, ...": one line."""
    valid = list(valid)
    return f"unknown {what} {name!r}{did_you_mean(name, valid)}; valid: {', '.join(valid)}"


def check_keys(mapping: dict, valid: Iterable[str], where: str, what: str = "key") -> None:
    """Raise SweepFileError for the first key of `mapping` that is not in `valid`."""
    valid = list(valid)
    for key in mapping:
        if key not in valid:
            raise SweepFileError(f"{where}: {unknown(key, valid, what)}")
