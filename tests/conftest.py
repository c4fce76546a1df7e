"""Shared test settings: no network, no real datasets, no W&B, quiet runs."""

import html
import os
import re

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path_factory):
    """Tests never read ../shared or a user's DATA_DIR, and never reach W&B."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path_factory.mktemp("no-data")))
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch-home")))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("CUDA_VISIBLE_DEVICES") == "":
        return
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    skip = pytest.mark.skip(reason="needs a CUDA device; none is available here")
    for item in items:
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(skip)


@pytest.fixture
def shown(monkeypatch):
    """What the report's show_* functions display, as text."""
    import IPython.display

    out = []

    def text(item) -> str:
        if isinstance(item, IPython.display.Markdown):  # as a reader reads it: escapes undone
            return html.unescape(re.sub(r"\\(.)", r"\1", item.data))
        return item.to_html() if hasattr(item, "to_html") else getattr(item, "data", str(item))

    monkeypatch.setattr(IPython.display, "display", lambda item: out.append(text(item)))
    return out
