"""The columns of the report's tables, declared once: each column name's kind (how its cells print), its header
on the page where that is not the name itself, and the words for the metrics (METRIC_LABELS).

A cell prints by its column's kind, never by its header: renaming a header changes no cell. A column not
declared here holds parameter values (a sweep's parameters are the columns no list can know in advance), and a
table that reuses a name for something else says so (`styled(table, kinds={"value": "number"})`).

    kind      a number prints as                       for
    value     as values.reader_text: 1e-4, 224, yes      parameter values (the default)
    text      as it is                                   names, statuses, sentences
    flag      yes / no                                   true/false columns
    flags     'not converged, unstable'                  the diagnostics' comma-separated flags
    count     a whole number (224, not 224.0)            runs, seeds, epochs
    number    a whole number, else 4 significant digits  percentages, degrees of freedom, a search's metric
    measure   4 decimals: 0.8563                         accuracies, losses, effects and their intervals
    p         2 significant digits: 0.031                p-values
    rate      thousands apart, no decimals: 12,345       images per second
    time      minutes and seconds: 0m27s                 durations in seconds (the unit is in the value)

Whatever the kind, a cell with nothing in it (None, NaN) prints MISSING, and a bool yes or no.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from lib.core import values
from lib.core.formatting import duration, is_bool, is_missing, is_number, number
from lib.core.records import VAL_ACC_MEANING

# A table cell with no value: one spelling on the page. (A sentence names a missing parameter value "None", as
# values.reader_text writes it; a cell has nothing to name, and a dash keeps the column readable. Sortable tables
# leave it empty instead, so DataTables still sorts the column as numbers: lib.report.render.interactive.)
MISSING = "-"


@dataclass(frozen=True)
class Column:
    kind: str
    header: str | None = None  # the page's header, where it is not the column name
    label: str | None = None  # the metric in words, as sentences and the run cards name it
    unit: str | None = None  # the label's unit, where a kind does not print it in the value


def _whole_or_short(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else format(float(value), ".4g")


def _flags(value: Any) -> str:
    return ", ".join(f.replace("_", " ") for f in str(value).split(",") if f) or MISSING


NUMBER_FORMATS: dict[str, Callable[[Any], str]] = {  # kind -> how a number in its column prints
    "value": values.reader_text,
    "text": str,
    "flag": values.reader_text,
    "flags": str,
    "count": _whole_or_short,
    "number": _whole_or_short,
    "measure": lambda v: f"{float(v):.4f}",
    "p": lambda v: number(v, ".2g"),
    "rate": lambda v: f"{float(v):,.0f}",
    "time": lambda v: duration(float(v)),
}
UNIT_IN_VALUE = {"time"}  # kinds whose cells carry their unit (0m27s), so their labels and headers do not

_MEASURE, _COUNT, _P = Column("measure"), Column("count"), Column("p")
COLUMNS: dict[str, Column] = {
    # a run's metrics (lib.report.load's runs table)
    "train_acc": Column("measure", label="training accuracy"),
    "train_loss": Column("measure", label="training loss"),
    "val_acc": Column("measure", label=VAL_ACC_MEANING),
    "val_loss": Column("measure", label="validation loss"),
    "test_acc": Column("measure", label="test accuracy"),
    "test_loss": Column("measure", label="test loss"),
    "best_epoch": Column("count", label="epochs to convergence (best epoch)"),
    "epochs_run": Column("count", label="epochs run"),
    "wall_time_s": Column("time", label="training time", unit="s"),
    "images_per_s": Column("rate", label="training images/s"),
    "flags": Column("flags"),
    # names and words
    **{name: Column("text") for name in ("run", "sweep", "status", "config", "parameter", "kind", "metric", "error",
                                         "warning", "rule", "flag", "changed", "matched", "earlier_run",
                                         "earlier_sweep", "search", "early termination", "source", "best run",
                                         "ci_method", "values")},
    # follow-ups: the earlier run's metrics beside the later run's
    **{f"earlier_{name}": Column(kind) for name, kind in (("val_acc", "measure"), ("test_acc", "measure"),
                                                         ("best_epoch", "count"), ("epochs_run", "count"))},
    # configurations over seeds, effects and interactions (lib.report.analysis)
    "n": _COUNT, "seeds": _COUNT, "runs": _COUNT,
    "val_acc_mean": Column("measure", "val acc mean"), "val_acc_sd": Column("measure", "val acc sd"),
    "val_acc_ci_low": Column("measure", "val acc CI low"), "val_acc_ci_high": Column("measure", "val acc CI high"),
    "test_acc_mean": Column("measure", "test acc mean"), "test_acc_sd": Column("measure", "test acc sd"),
    "vs_best": Column("measure", "vs best"), "p_vs_best": _P, "p_holm_vs_best": Column("p", "p (Holm)"),
    "tied_with_best": Column("flag", "tied with best"),
    "effect": _MEASURE, "interaction": _MEASURE, "se": _MEASURE, "df": Column("number"),
    "ci_low": Column("measure", "CI low"), "ci_high": Column("measure", "CI high"),
    "lenth_ci_low": Column("measure", "Lenth CI low"), "lenth_ci_high": Column("measure", "Lenth CI high"),
    "p": _P, "p_holm": Column("p", "p (Holm)"), "p_average": Column("p", "p (average)"),
    "p_every_seed": Column("p", "p (every seed)"),
    "seed_min": Column("measure", "lowest seed"), "seed_max": Column("measure", "highest seed"),
    "seed_share": Column("number", "share from seed"), "identical": Column("flag"),
    "parameter_a": Column("text", "parameter a"), "parameter_b": Column("text", "parameter b"),
    "value_a": Column("value", "value a"), "value_b": Column("value", "value b"),
    # mean and best per parameter value (lib.report.tables.parameter_effects)
    "mean val acc": _MEASURE, "best val acc": _MEASURE, "mean test acc": _MEASURE,
    # searches (lib.report.studies)
    "trial": _COUNT, "epochs": _COUNT, "best_so_far": Column("number"), "started": _COUNT, "counted": _COUNT,
    "pruned": _COUNT, "other": _COUNT, "best value": _MEASURE, "importance": _MEASURE,
    "finished runs": _COUNT, "epochs run": Column("number"), "epochs unpruned": Column("number"),
    "epochs saved": Column("number"), "epochs saved (%)": Column("number"),
    "time_s": Column("time", "time"), "time_saved_s": Column("time", "time saved"),
    "time saved (%)": Column("number"),
}
_PARAMETER = Column("value")

# The metrics in words, for sentences and tables that name them (a unit where the value does not carry one).
METRIC_LABELS = {name: COLUMNS[name].label + (f" ({COLUMNS[name].unit})" if COLUMNS[name].unit else "")
                 for name in ("train_acc", "train_loss", "val_acc", "val_loss", "test_acc", "test_loss", "best_epoch",
                              "epochs_run", "wall_time_s", "images_per_s")}


def column(name: Any) -> Column:
    """The declaration of a column name; an undeclared name is a parameter's (kind value)."""
    return COLUMNS.get(str(name), _PARAMETER)


def kind_of(name: Any, kinds: Mapping[str, str] | None = None) -> str:
    """A column's kind: what its table says (`kinds`), else its declaration."""
    return (kinds or {}).get(str(name)) or column(name).kind


def header(name: Any) -> str:
    """A column's header on the page."""
    return column(name).header or str(name)


def metric_label(name: str) -> str:
    """A metric's words beside its value in a table: without its unit where the value prints one (0m27s)."""
    declared = column(name)
    return declared.label if declared.kind in UNIT_IN_VALUE else METRIC_LABELS[name]


def cell_text(value: Any, kind: str = "value") -> str:
    """One table cell as text, by its column's kind (see the module's table)."""
    if is_missing(value):
        return MISSING
    if kind == "flags":
        return _flags(value)
    if is_bool(value) or not is_number(value):
        return values.reader_text(value)
    return NUMBER_FORMATS[kind](value)
