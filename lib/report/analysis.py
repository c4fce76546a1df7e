"""The statistics of one report (lib.report.stats over its runs), computed once per report.

`analysis(report)` is what every table and section reads: configurations over seeds, effects,
interactions, isolation, per-run flags, boundary notes and the findings' sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lib.report import stats
from lib.report.load import SweepReport


@dataclass
class Analysis:
    """The tables and sentences of lib.report.stats for one report; see there for how each is computed."""

    params: list[str]
    configs: pd.DataFrame
    effects: pd.DataFrame
    interactions: pd.DataFrame
    isolation: pd.DataFrame
    flags: pd.Series  # aligned with report.runs
    boundary: list[str]
    findings: list[str]


def analyse(report: SweepReport) -> Analysis:
    runs, params = report.runs, report.params
    configs = stats.configs_table(runs, params)
    effects = stats.effects_table(runs, params)
    flags = stats.flags_column(runs, report.histories)
    boundary = stats.boundary_notes(runs, configs, params)
    found = stats.findings(runs, configs, effects, flags, boundary)
    sampled = [p for p in report.sampled if p in params]
    if sampled:
        found.append(f"{', '.join(sampled)} {'was' if len(sampled) == 1 else 'were'} sampled from a range, so runs "
                     f"rarely share a value: the matched-pair effects seldom apply to a search; the Search "
                     f"section's importances and slices show what it did")
    return Analysis(params, configs, effects, stats.interactions_table(runs, params),
                    stats.isolation_table(runs, params), flags, boundary, found)


def analysis(report: SweepReport) -> Analysis:
    """The report's Analysis, computed on first use and kept with the report."""
    if "analysis" not in report.derived:
        report.derived["analysis"] = analyse(report)
    return report.derived["analysis"]
