"""The little inline markup a report's text may carry, and how each writer renders it.

* ```code``` — a span between two backticks is code: ``<code>`` in HTML, a code span in
  Markdown, ``\\texttt`` in LaTeX. Backticks never show up literally.
* ``[@key]`` / ``[@a; @b]`` — a citation, only in the Methods text (never in text that came from
  the data, so a model name cannot cite): ``\\citep{a,b}`` in LaTeX, ``(Author Year; …)`` in HTML
  and Markdown.

Everything else is plain text, escaped for the output format by the writer.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from metaeval._format import formatted_rows, interval_columns, latex_escape
from metaeval.errors import MetaevalError

if TYPE_CHECKING:
    from metaeval.report.document import Table

__all__ = ["cited_keys", "compose_methods", "html_inline", "latex_inline", "markdown_inline", "paper_cells", "segments"]

CITATION = re.compile(r"\[@([A-Za-z0-9_:.-]+(?:\s*;\s*@[A-Za-z0-9_:.-]+)*)\]")
_CODE = re.compile(r"`([^`\n]+)`")


def segments(text: str) -> list[tuple[str, str]]:
    """Split text into ``("text", …)`` and ``("code", …)`` parts (code between two backticks).

    >>> segments("use `rank()` here")
    [('text', 'use '), ('code', 'rank()'), ('text', ' here')]
    """
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _CODE.finditer(text):
        if m.start() > pos:
            out.append(("text", text[pos:m.start()]))
        out.append(("code", m.group(1)))
        pos = m.end()
    if pos < len(text):
        out.append(("text", text[pos:]))
    return out


def cited_keys(text: str) -> list[str]:
    """The citation keys in ``text``, in order of first appearance.

    >>> cited_keys("A [@x]; B [@y; @x].")
    ['x', 'y']
    """
    keys: list[str] = []
    for m in CITATION.finditer(text):
        for k in re.split(r"\s*;\s*", m.group(1)):
            k = k.lstrip("@")
            if k not in keys:
                keys.append(k)
    return keys


def _citations(text: str, render: Callable[[list[str]], str], plain: Callable[[str], str]) -> str:
    out, pos = [], 0
    for m in CITATION.finditer(text):
        out.append(plain(text[pos:m.start()]))
        out.append(render([k.lstrip("@") for k in re.split(r"\s*;\s*", m.group(1))]))
        pos = m.end()
    out.append(plain(text[pos:]))
    return "".join(out)


def _labels(keys: list[str], labels: Mapping[str, str]) -> str:
    missing = [k for k in keys if k not in labels]
    if missing:
        raise MetaevalError(f"the report cites `{missing[0]}`, which is not among its references")
    return "(" + "; ".join(labels[k] for k in keys) + ")"


def html_inline(text: str, *, labels: Mapping[str, str] | None = None) -> str:
    """Text as HTML: escaped, code spans as ``<code>``, citations (when ``labels`` are given, for
    the Methods text) as ``(Author Year)``.

    >>> html_inline("a `x<y` & b")
    'a <code>x&lt;y</code> &amp; b'
    """
    def plain(t: str) -> str:
        return "".join(f"<code>{html.escape(s)}</code>" if kind == "code" else html.escape(s)
                       for kind, s in segments(t))

    if labels is None:
        return plain(text)
    return _citations(text, lambda keys: html.escape(_labels(keys, labels)), plain)


def _md_plain(text: str) -> str:
    """One line of Markdown that renders as the literal text: no emphasis, HTML, link, math or
    strike-through (a link needs ``](``: its ``(`` is escaped); ``_`` inside a word
    (``judge_a``) and ``<`` before a space (``< 0.001``) need no escape and get none."""
    text = re.sub(r"\s+", " ", str(text))
    out = []
    for i, ch in enumerate(text):
        nxt = text[i + 1] if i + 1 < len(text) else ""
        prev = text[i - 1] if i else ""
        if ch in "\\*`~$|" or (ch == "_" and not (prev.isalnum() and nxt.isalnum())) \
                or (ch == "<" and (nxt.isalpha() or nxt in "/!?")) or (ch == "&" and (nxt.isalpha() or nxt == "#")) \
                or (ch == "(" and prev == "]"):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _md_code(code: str, in_table: bool) -> str:
    code = " ".join(code.split())
    return "`" + (code.replace("|", "\\|") if in_table else code) + "`"


def markdown_inline(text: str, *, labels: Mapping[str, str] | None = None, in_table: bool = False,
                    line_start: bool = True) -> str:
    """Text as one line of Markdown that shows it literally, with code spans as code spans and
    (when ``labels`` are given) citations as ``(Author Year)``.

    >>> markdown_inline("distinct `rep` values, *x*_y")
    'distinct `rep` values, \\\\*x\\\\*\\\\_y'
    """
    def plain(t: str) -> str:
        return "".join(_md_code(s, in_table) if kind == "code" else _md_plain(s) for kind, s in segments(t))

    text = " ".join(str(text).split())
    out = plain(text) if labels is None else _citations(text, lambda keys: _md_plain(_labels(keys, labels)), plain)
    # a line that would open a heading, a list, a quote or a table row
    if line_start and re.match(r"(#|[-+] |\d+[.)] |>|\[)", out):
        out = "\\" + out
    return out


def latex_inline(text: str, *, cite: bool = False) -> str:
    """Text as LaTeX: escaped (:func:`metaeval._format.latex_escape`), code spans in
    ``\\texttt``, and (with ``cite``, for the Methods text) citations as ``\\citep``.

    >>> print(latex_inline("see `a_b` [@holm1979simple]", cite=True))
    see \\texttt{a\\_\\allowbreak{}b} \\citep{holm1979simple}
    """
    def plain(t: str) -> str:
        return "".join(r"\texttt{" + latex_escape(s) + "}" if kind == "code" else latex_escape(s)
                       for kind, s in segments(t))

    if not cite:
        return plain(text)
    return _citations(text, lambda keys: r"\citep{" + ",".join(keys) + "}", plain)


def compose_methods(sentences: Iterable[str]) -> str:
    """One Methods paragraph from the sentences of the sections present: each sentence once, each
    work cited once (at its first mention; later citations of it are dropped).

    >>> compose_methods(["A uses x [@k].", "B uses x too [@k; @m].", "A uses x [@k]."])
    'A uses x [@k]. B uses x too [@m].'
    """
    seen_sentences: list[str] = []
    cited: set[str] = set()
    for s in sentences:
        if not s or s in seen_sentences:
            continue
        seen_sentences.append(s)
    out = []
    for s in seen_sentences:
        def keep(m: re.Match[str]) -> str:
            keys = [k.lstrip("@") for k in re.split(r"\s*;\s*", m.group(1))]
            new = [k for k in keys if k not in cited]
            cited.update(new)
            return "[" + "; ".join("@" + k for k in new) + "]" if new else ""

        text = CITATION.sub(keep, s)
        text = re.sub(r"\s+([.,;:)])", r"\1", text).replace("()", "")
        out.append(" ".join(text.split()))
    return " ".join(out)


def paper_cells(table: Table) -> tuple[list[str], list[list[tuple[str, bool]]], list[bool]]:
    """Header, rows of (text, bold) and which columns are numeric: interval columns merged into
    their estimate (rounded together), the best value of each ``best`` column flagged, p-values
    in the p-value style (upper bounds as ``< x``), other numbers at one precision per column.

    Parameters
    ----------
    table : Table
        A report table, with the ``intervals``, ``best`` and ``upper_bounds`` it declares.

    Returns
    -------
    tuple
        ``(header, rows, numeric)``: the shown column names, one list of ``(text, bold)`` cells
        per row, and whether each shown column is numeric (to align it right).

    Raises
    ------
    MetaevalError
        When the table declares a column it does not have.

    Examples
    --------
    >>> import polars as pl
    >>> from metaeval.report.document import Table
    >>> frame = pl.DataFrame({"model": ["x", "y"], "acc": [0.81234, 0.7], "lo": [0.75, 0.64], "hi": [0.87, 0.76]})
    >>> header, rows, numeric = paper_cells(Table("acc", "Accuracy", frame, intervals={"acc": ("lo", "hi")},
    ...                                           best={"acc": "max"}))
    >>> header, rows[0], numeric
    (['model', 'acc'], [('x', False), ('0.81 [0.75, 0.87]', True)], [False, True])
    """
    f = table.frame
    for est, (lo, hi) in table.intervals.items():
        for c in (est, lo, hi):
            if c not in f.columns:
                raise MetaevalError(f"table {table.name!r} has no column `{c}`")
    for p, flag in table.upper_bounds.items():
        for c in (p, flag):
            if c not in f.columns:
                raise MetaevalError(f"table {table.name!r} has no column `{c}`")
    hidden = {c for lo, hi in table.intervals.values() for c in (lo, hi)} | set(table.upper_bounds.values())
    cols = [c for c in f.columns if c not in hidden]
    best_row: dict[str, int] = {}
    for c, how in table.best.items():
        if c not in f.columns:
            raise MetaevalError(f"table {table.name!r} has no column `{c}`")
        s = f[c].cast(pl.Float64, strict=False)
        if s.drop_nulls().drop_nans().len():
            best_row[c] = int((s.fill_nan(None).arg_max() if how == "max" else s.fill_nan(None).arg_min()) or 0)
    # the declared intervals, and any other estimate / bound columns (rounded together, not merged)
    numeric_all = [f.schema[c].is_numeric() for c in f.columns]
    detected = {e: b for e, b in interval_columns(f.columns, numeric_all).items()
                if e not in table.intervals and not {e, *b} & {c for x in table.intervals.items() for c in
                                                               (x[0], *x[1])}}
    text = formatted_rows(f, digits=table.digits, intervals={**table.intervals, **detected},
                          upper_bounds=table.upper_bounds)
    rows = []
    for i, row in enumerate(f.iter_rows(named=True)):
        cells = []
        for c in cols:
            cell = text[i][c]
            if c in table.intervals:
                lo, hi = table.intervals[c]
                if _finite(row[lo]) and _finite(row[hi]):
                    cell += f" [{text[i][lo]}, {text[i][hi]}]"
            cells.append((cell, best_row.get(c) == i))
        rows.append(cells)
    numeric = [f.schema[c].is_numeric() for c in cols]
    return cols, rows, numeric


def _finite(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and not math.isfinite(v))
