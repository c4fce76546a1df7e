"""The statistics of one report, computed once per report: the runs and factors they compare (a linked grid
axis as one factor), then the design (lib.report.design), the pooled model (lib.report.factorial), the
diagnostics (lib.report.diagnostics) and the findings (lib.report.findings), in that order.

`analysis_of(report)` is what every table and section reads: configurations over seeds, effects,
interactions, isolation, per-run flags, boundary notes and the findings' sentences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd

from lib.core import values
from lib.core.values import reader_text, same
from lib.report import factorial
from lib.report.design import isolation_table
from lib.report.diagnostics import flags_column
from lib.report.findings import boundary_notes, findings, method_note
from lib.report.load import SweepReport


@dataclass
class Analysis:
    """The tables and sentences of one report; see lib.report.design, factorial, diagnostics and findings for
    how each is computed."""

    params: list[str]  # the factors: the varying parameters, a linked grid axis in place of the ones it sets
    configs: pd.DataFrame
    effects: pd.DataFrame
    interactions: pd.DataFrame
    isolation: pd.DataFrame
    flags: pd.Series  # aligned with report.runs
    boundary: list[str]
    findings: list[str]
    method: str = ""  # how the intervals and calls are made, in plain words, once
    pooled: factorial.Pooled | None = None


def linked_label(mapping: Mapping[str, Any]) -> str:
    """One value of a linked grid axis as its mapping reads: {model: resnet18_imagenet, pretrained: true} ->
    'resnet18_imagenet, pretrained'; a false flag reads 'no pretrained', a number 'lr 0.1'."""
    parts = []
    for key, value in mapping.items():
        if isinstance(value, bool):
            parts.append(key if value else f"no {key}")
        elif isinstance(value, str):
            parts.append(value)
        else:
            parts.append(f"{key} {reader_text(value)}")
    return ", ".join(parts)


def statistics_runs(report: SweepReport) -> tuple[pd.DataFrame, list[str]]:
    """The runs table and factors the statistics compare: each linked grid axis is one factor named by the axis
    (a column of its value labels, `linked_label`), in place of the parameters it sets together."""
    runs, params = report.runs, list(report.params)
    for axis, mappings in report.linked.items():
        keys = [k for k in dict.fromkeys(k for m in mappings for k in m) if k in params]
        if not keys or (axis in params and axis not in keys):
            continue
        labels = []
        for key in runs["run"]:
            config = report.configs.get(key, {})
            matches = [m for m in mappings if all(same(config.get(k), v) for k, v in m.items())]
            labels.append(linked_label(max(matches, key=len)) if matches else
                          ", ".join(reader_text(config.get(k)) for k in keys))
        runs = runs.assign(**{axis: labels})
        at = params.index(keys[0])
        params = [p for p in params if p not in keys]
        params.insert(at, axis)
    return runs, params


def _compute(report: SweepReport) -> Analysis:
    runs, params = statistics_runs(report)
    pooled = factorial.fit(runs, params)
    flags = flags_column(report.runs, report.histories)
    boundary = boundary_notes(runs, pooled.configs, params, pooled.effects)
    found = findings(runs, pooled, flags, boundary, [p for p in report.sampled if p in params])
    return Analysis(params, pooled.configs, pooled.effects, pooled.interactions, isolation_table(runs, params),
                    flags, boundary, found, method_note(pooled), pooled)


def analysis_of(report: SweepReport) -> Analysis:
    """The report's Analysis, computed on first use and kept with the report."""
    if report.derived.analysis is None:
        report.derived.analysis = _compute(report)
    return report.derived.analysis


def runs_of(report: SweepReport, row: pd.Series) -> pd.DataFrame:
    """The ranked runs of one configuration (a row of the configurations table: its factors' values), any seed;
    rows of `statistics_runs`, so a linked grid axis is matched by its label."""
    runs, factors = statistics_runs(report)
    runs = runs.loc[report.ranked.index]
    factors = [p for p in factors if p in row.index and p in runs]
    if report.derived.config_keys is None:  # each ranked run's factor values, as one key, once
        report.derived.config_keys = pd.Series(
            [tuple(values.key(v) for v in point) for point in runs[factors].itertuples(index=False)],
            index=runs.index, dtype=object)
    wanted = tuple(values.key(row[p]) for p in factors)
    return runs[report.derived.config_keys.map(wanted.__eq__).astype(bool)]
