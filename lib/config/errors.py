"""The errors of what users write: each message is one line naming the bad value and what is valid."""

from __future__ import annotations


class ConfigError(ValueError):
    """A run parameter is unknown, of the wrong type, or out of range. The message is one line."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for it in a notebook (and papermill quotes): one line, no traceback (which would
        show only the library's code checking the value, not where it was given). The class name stays in
        front, as in any Python error line: a sweep run's failure message is read from it (run.log)."""
        return [f"{type(self).__name__}: {self}"]


class SweepFileError(ConfigError):
    """A sweep file is malformed; the message names the file, the place and the fix."""
