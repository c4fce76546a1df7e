"""What the proposal rules read: the report and the latest sweep file (Evidence), and the helpers more than
one rule uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from lib.core import values
from lib.core.formatting import is_number
from lib.report.analysis import analysis_of, runs_of, statistics_runs
from lib.report.load import SweepReport

NO_EFFECT_BAND = 0.005  # 0.5 points of validation accuracy: an effect confidently inside this is none


@dataclass
class Evidence:
    """The report and what the latest sweep file said: the base every change edits."""

    report: SweepReport
    base: Mapping[str, Any]  # the latest sweep's effective mapping: fixed, grid, runs, seeds, search, ...
    sweep: str  # its name

    @property
    def ranked(self) -> pd.DataFrame:
        """The ranked runs, with a column for each linked grid axis (the statistics' factors)."""
        runs, _ = statistics_runs(self.report)
        ranked = self.report.ranked
        return runs.loc[ranked.index]

    @property
    def factors(self) -> list[str]:
        return analysis_of(self.report).params

    @property
    def configs(self) -> pd.DataFrame:
        return analysis_of(self.report).configs

    @property
    def effects(self) -> pd.DataFrame:
        return analysis_of(self.report).effects

    def fixed(self) -> dict[str, Any]:
        fixed = dict(self.base.get("fixed") or {})
        if not self.base.get("grid"):  # values every grid run of the file shares are fixed for it
            runs = self._grid_runs()
            fixed.update({k: v for k, v in (runs[0] if runs else {}).items()
                          if k != "seed" and all(k in r and values.same(r[k], v) for r in runs)})
        return fixed

    def grid(self) -> dict[str, list]:
        """The latest sweep's grid; for a file without one, whose runs (those without `from`) were a grid of
        which some points had finished before (`next` writes such a file), the grid they span."""
        if self.base.get("grid"):
            return {k: list(v) for k, v in self.base["grid"].items()}
        runs = self._grid_runs()
        keys = list(dict.fromkeys(k for r in runs for k in r if k != "seed"))
        grid = {}
        for key in keys:
            column = [r.get(key) for r in runs]
            if any(isinstance(v, (dict, list)) for v in column) or not all(key in r for r in runs):
                continue
            distinct = values.ordered(column)
            if len(distinct) > 1:
                grid[key] = distinct
        return grid

    def seeds(self) -> list[int] | None:
        if self.base.get("seeds"):
            return list(self.base["seeds"])
        if self.base.get("grid"):
            return list(self.base["grid"]["seed"]) if "seed" in self.base["grid"] else None
        seeds = sorted({int(r["seed"]) for r in self._grid_runs() if is_number(r.get("seed"))})
        return seeds or None

    def _grid_runs(self) -> list[dict[str, Any]]:
        if self.base.get("search"):
            return []
        return [{k: v for k, v in r.items() if k != "name"} for r in (self.base.get("runs") or [])
                if isinstance(r, dict) and not r.get("from")]

    def best_config(self, model: str | None = None) -> pd.Series | None:
        """The configurations table's best row (of those whose runs are of `model`, when given)."""
        for _, row in self.configs.iterrows():
            if model is None or set(self.runs_of(row).get("model", [])) == {model}:
                return row
        return None

    def runs_of(self, row: pd.Series) -> pd.DataFrame:
        """The ranked runs of one configuration (lib.report.analysis.runs_of)."""
        return runs_of(self.report, row)

    def recipe(self, run: Mapping[str, Any]) -> dict[str, Any]:
        """A run's parameters as a sweep file gives them, seed aside (SweepReport.recipe)."""
        return self.report.recipe(run, seed=False)


def points(fraction: float) -> str:
    """An accuracy difference in points: 0.0123 -> '1.2'."""
    return f"{100 * fraction:.1f}"


def spacing(tried: Sequence[float]) -> str:
    """'log' for positive values spanning a decade or more, else 'linear'."""
    return "log" if min(tried) > 0 and max(tried) / min(tried) >= 10 else "linear"
