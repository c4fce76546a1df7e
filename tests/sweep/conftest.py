"""Fixtures the sweep tests share: runs trained in this process, and the report command without papermill."""

import pytest
from test_search import Inline

import lib.sweep.cli
import lib.sweep.publish


@pytest.fixture
def inline(monkeypatch):
    """Sweeps run their runs in this process, one at a time (test_search's Inline executor)."""
    executor = Inline()
    monkeypatch.setattr(lib.sweep.cli, "make_executor", lambda args: executor)
    return executor


@pytest.fixture
def no_report(monkeypatch):
    """The report command without papermill: the folders it was asked to report on, and where."""
    built = []

    def build(roots, out):
        built.append((list(roots), out))
        return out / "report.html"

    monkeypatch.setattr(lib.sweep.publish, "build_report", build)  # what publish (start and end lines) calls
    return built
