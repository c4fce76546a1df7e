"""What the training notebook shows of a finished run: its summary as a small table (no pandas needed).

Its curves are lib.core.curves.plot_history, which the report draws for its best runs too.
"""

from __future__ import annotations

import html
from typing import Any, Mapping

from lib.core.formatting import number

SUMMARY_KEYS = ("status", "best_epoch", "epochs_run", "train_loss", "train_acc", "train_acc_measure", "val_loss",
                "val_acc", "test_loss", "test_acc", "val_is_test", "wall_time_s", "images_per_s", "device")


class MetricsTable(dict):
    """A run's summary (metrics.json's main keys), shown by Jupyter as a two-column table."""

    def _rows(self) -> list[tuple[str, str]]:
        return [(k, number(v) if not isinstance(v, str) else v) for k, v in self.items()]

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in self._rows())
        return f"<table><thead><tr><th>metric</th><th>value</th></tr></thead><tbody>{body}</tbody></table>"

    def __repr__(self) -> str:
        width = max((len(k) for k in self), default=0)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in self._rows())


def metrics_table(metrics: Mapping[str, Any]) -> MetricsTable:
    """The run's summary, in a fixed order, ready to display."""
    return MetricsTable((k, metrics.get(k)) for k in SUMMARY_KEYS)
