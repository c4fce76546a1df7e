"""The errors of what users write: each message is one line naming the bad value and what is valid."""

from __future__ import annotations


class ConfigError(ValueError):
    """A run parameter is unknown, of the wrong type, or out of range. The message is one line."""


class SweepFileError(ConfigError):
    """A sweep file is malformed; the message names the file, the place and the fix."""
