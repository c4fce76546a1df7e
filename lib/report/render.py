"""How the report's sections reach the page: sentences, tables and figures as HTML, every string from a sweep
file, a record or an error escaped here and nowhere else.

A sentence is Markdown made safe by `sentence` (user text inside it goes through `literal`); a table cell is
text printed by its column's kind (lib.report.columns) and escaped, unless it is `Markup` this package built
from escaped parts (a run's links); headers are escaped too. Tables have no index column, wrap or scroll
inside their box, and the long ones (every run, every trial) are sortable and searchable in the page (itables,
bundled offline, its scripts hashed for the page's Content-Security-Policy).
"""

from __future__ import annotations

import html
import re
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from lib.core import values
from lib.core.formatting import is_bool, is_missing, is_number
from lib.core.pagescripts import SCRIPT_HASHES, script_hashes
from lib.report.columns import cell_text, header, kind_of

LEADERBOARD_ROWS = 25  # rows a table shows as it is; a longer one is sortable and searchable (`interactive`)


class Markup:
    """HTML built from escaped parts (a run's links): the one kind of table cell shown as is. Every other value in
    a table, a string included, is text."""

    def __init__(self, markup: str):
        self.markup = markup

    def __html__(self) -> str:
        return self.markup

    __str__ = __html__

    def __repr__(self) -> str:
        return f"Markup({self.markup!r})"


# Markdown's control characters (and MathJax's $); HTML's (& < >) are escaped for the whole sentence by `sentence`
_MARKDOWN_CONTROL = re.compile(r"([\\`*_{}\[\]()#+\-!|~$^])")
_SCHEME_LINK = re.compile(r"\]\((?=\s*<?[A-Za-z][A-Za-z0-9+.-]*:)")  # [text](javascript:...), [text](https://...)


def literal(value: Any) -> str:
    """A string a user controls (a sweep's name or description, a value, an error, a note) as part of a sentence:
    it shows as written. Markdown's control characters are backslash-escaped and line breaks become spaces."""
    return _MARKDOWN_CONTROL.sub(r"\\\1", " ".join(str(value).split()))


# A code span as CommonMark reads one: a run of backticks (not a literal's \`) closed by the next run of the same
# length; Markdown shows what is inside as text.
_CODE_SPAN = re.compile(r"(?<![\\`])(`+)(?!`)(.*?)(?<!`)\1(?!`)", re.S)
_BACKTICKS = re.compile(r"`+")


def code(value: Any) -> str:
    """A string a user controls (a path, a command) as a code span that shows it as written: fenced by one more
    backtick than its longest run of them, so no backtick inside can end the span early."""
    text = " ".join(str(value).split())
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def sentence(text: str) -> str:
    """The one place a sentence (Markdown) is made safe to render: outside code spans, HTML's control characters
    are escaped, so no tag, attribute or entity in it takes effect (inside one, Markdown shows them as text
    itself), and a link with a URL scheme is disarmed (the report links only to its own anchors and files). The
    report's own emphasis, code spans and bullets still render."""
    out, at = [], 0
    for span in _CODE_SPAN.finditer(text):
        out += [_SCHEME_LINK.sub(r"]\\(", html.escape(text[at:span.start()], quote=False)), span.group(0)]
        at = span.end()
    return "".join(out) + _SCHEME_LINK.sub(r"]\\(", html.escape(text[at:], quote=False))


def cell_html(value: Any, kind: str = "value") -> str:
    """A table cell as HTML: `Markup` as built, anything else as its kind prints it, escaped."""
    return str(value) if isinstance(value, Markup) else html.escape(cell_text(value, kind))


def styled(table: pd.DataFrame, index: bool = False, kinds: Mapping[str, str] | None = None):
    """A table for the report: every value printed by its column's kind (lib.report.columns; `kinds` for a column
    this table uses differently), escaped (only `Markup` cells are HTML), headers as declared and escaped, no
    index column unless asked, run names on one line, and a box that scrolls sideways when the table is wider
    than the page."""
    styler = table.style.format({c: (lambda v, kind=kind_of(c, kinds): cell_html(v, kind)) for c in table.columns})
    styler = styler.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    text = [c for c in table.columns if table[c].map(lambda v: isinstance(v, (str, Markup))).any()]
    if text:  # names and sentences read from the left; numbers stay right-aligned, digits under digits
        styler = styler.set_properties(subset=text, **{"text-align": "left"})
    styler = styler.set_table_styles([
        {"selector": "th", "props": [("text-align", "left"), ("white-space", "nowrap")]},
        {"selector": "td", "props": [("white-space", "nowrap")]},
        {"selector": "th, td", "props": [("padding", "2px 8px"), ("font-size", "12px")]},
    ]).set_table_attributes('style="table-layout: auto; width: auto"')
    if any(header(c) != str(c) for c in table.columns):  # relabelled headers are shown as given: escaped here
        styler = styler.relabel_index([html.escape(header(c)) for c in table.columns], axis="columns")
    return styler if index else styler.hide(axis="index")


def prose(styler, columns: Sequence[str] | None = None):
    """Columns of sentences: left-aligned and wrapped, not one long right-aligned line."""
    # !important: the table's own rule keeps other cells on one line, and it is the more specific selector
    return styler.set_properties(subset=columns, **{"white-space": "normal !important", "text-align": "left",
                                                    "min-width": "320px", "max-width": "760px"})


def box(content: str) -> str:
    return f'<div style="overflow-x:auto;max-width:100%">{content}</div>'


def block(content: str):
    """HTML this package built (escaped parts only), ready to show."""
    from IPython.display import HTML

    return HTML(content)


def scripted(content: str):
    """HTML holding scripts of the report's own (itables'), with their hashes in its metadata: report.html's
    Content-Security-Policy runs these and no other (lib.core.pagescripts)."""
    from IPython.display import HTML

    return HTML(content, metadata={SCRIPT_HASHES: script_hashes(content)})


def show(*items) -> None:
    """Display sentences (Markdown, made safe by `sentence`), tables (styled, in a scrolling box) and anything
    IPython can show."""
    from IPython.display import Markdown, display

    for item in items:
        if isinstance(item, pd.DataFrame):
            item = block(box(styled(item).to_html()))
        elif hasattr(item, "to_html") and hasattr(item, "hide"):  # a Styler
            item = block(box(item.to_html()))
        display(Markdown(sentence(item)) if isinstance(item, str) else item)


def interactive(table: pd.DataFrame, caption: str = "", kinds: Mapping[str, str] | None = None):
    """A table sorted and searched in the page (itables; its scripts are in the page, so it works offline). Its
    cells are HTML (for run links), so every other cell is escaped here. Numbers stay numbers, so a column sorts
    as numbers: whole ones as integers, parameter values as they are, others to 4 decimals; a missing value is an
    empty cell."""
    from itables import to_html_datatable

    shown = table.copy().astype(object)
    for column in shown.columns:
        column_values = table[column]
        if column_values.map(is_bool).any():
            shown[column] = column_values.map(lambda v: values.reader_text(v) if is_bool(v) else v)
        elif kind_of(column, kinds) == "flags":
            shown[column] = column_values.map(lambda v: cell_text(v, "flags"))
        elif pd.api.types.is_float_dtype(column_values):
            whole = all(float(v).is_integer() for v in column_values.dropna())
            exact = kind_of(column, kinds) == "value"  # a parameter's value as it is: 1e-5 is not 0.0
            shown[column] = pd.Series([None if is_missing(v) else int(v) if whole else float(v) if exact
                                       else round(float(v), 4) for v in column_values], index=shown.index, dtype=object)
        # A missing value is an empty cell (DataTables still sorts the column as numbers), never None or NaN;
        # anything else (text, a list, a mapping) is escaped text; numbers stay numbers, so the column sorts as numbers.
        shown[column] = shown[column].map(lambda v: "" if is_missing(v) else str(v) if isinstance(v, Markup)
                                          else v if is_number(v) else html.escape(str(v))).astype(object)
    shown.columns = [html.escape(header(c)) for c in shown.columns]
    return scripted(to_html_datatable(shown, caption=html.escape(caption) if caption else None, allow_html=True,
                                      showIndex=False, maxBytes=2 ** 22, lengthMenu=[10, 25, 100, -1], pageLength=10,
                                      classes="display compact nowrap"))


def figure_html(fig, width: int) -> str:
    """A figure as an <img> of its PNG, at most `width` pixels wide; the figure is closed."""
    import base64
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    png = buffer.getvalue()
    drawn = int.from_bytes(png[16:20], "big")  # the PNG's width (IHDR): never shown larger, never blurred
    return (f'<img style="width:{min(width, drawn)}px;max-width:100%" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode()}">')


def figure(fig, width: int):
    """A figure as an image `width` pixels wide (narrower on a narrow page), ready to show; the figure is
    closed (so the notebook does not draw it a second time)."""
    return side_by_side(figure_html(fig, width))


def side_by_side(*parts: str):
    """HTML parts (tables, figures) in one row that wraps on a narrow page."""
    cells = "".join(f"<div style='max-width:100%'>{part}</div>" for part in parts)
    return block(f'<div style="display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap">{cells}</div>')


def bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def heading(level: int, text: str, anchor: str | None = None):
    """A heading of the page, its text escaped."""
    where = f' id="{html.escape(anchor)}"' if anchor else ""
    return block(f"<h{level}{where}>{html.escape(text)}</h{level}>")


escape = html.escape  # the escaping of text in HTML this package builds by hand (the best card, the chain)
