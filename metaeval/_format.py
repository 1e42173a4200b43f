"""Plain-text, Markdown, LaTeX and HTML renderings of small polars tables.

Used by every result object's ``summary`` / ``to_markdown`` / ``to_latex`` / ``to_html``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import polars as pl

__all__ = ["format_value", "table_html", "table_latex", "table_markdown", "table_text"]


def format_value(value: Any, digits: int = 4) -> str:
    """Format one cell: floats with ``digits`` significant digits, ``nan`` as ``nan``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == 0:
            return "0"
        if abs(value) >= 1e6 or abs(value) < 1e-4:
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}" if abs(value) >= 1 else f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return str(value)


def _cells(frame: pl.DataFrame, digits: int) -> tuple[list[str], list[list[str]]]:
    header = list(frame.columns)
    rows = [[format_value(v, digits) for v in row] for row in frame.iter_rows()]
    return header, rows


def table_text(frame: pl.DataFrame, *, digits: int = 4, title: str | None = None) -> str:
    """Fixed-width text table."""
    header, rows = _cells(frame, digits)
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    numeric = [frame.schema[c].is_numeric() for c in frame.columns]

    def line(cells: Sequence[str]) -> str:
        out = []
        for cell, w, num in zip(cells, widths, numeric, strict=True):
            out.append(cell.rjust(w) if num else cell.ljust(w))
        return "  ".join(out).rstrip()

    parts = []
    if title:
        parts.append(title)
    parts.append(line(header))
    parts.append("  ".join("-" * w for w in widths))
    parts.extend(line(r) for r in rows)
    return "\n".join(parts)


def table_markdown(frame: pl.DataFrame, *, digits: int = 4) -> str:
    """GitHub-flavoured Markdown table."""
    header, rows = _cells(frame, digits)
    numeric = [frame.schema[c].is_numeric() for c in frame.columns]

    def esc(s: str) -> str:
        # a line break would end the table row: cells are one line
        return " ".join(s.split()).replace("|", "\\|") if "\n" in s or "\r" in s else s.replace("|", "\\|")

    out = ["| " + " | ".join(esc(h) for h in header) + " |"]
    out.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    out.extend("| " + " | ".join(esc(c) for c in r) + " |" for r in rows)
    return "\n".join(out)


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def table_latex(frame: pl.DataFrame, *, digits: int = 4, caption: str | None = None) -> str:
    """A booktabs ``tabular`` (wrapped in ``table`` when a caption is given)."""
    header, rows = _cells(frame, digits)
    numeric = [frame.schema[c].is_numeric() for c in frame.columns]
    spec = "".join("r" if n else "l" for n in numeric)
    body = [r"\begin{tabular}{" + spec + "}", r"\toprule"]
    body.append(" & ".join(latex_escape(h) for h in header) + r" \\")
    body.append(r"\midrule")
    body.extend(" & ".join(latex_escape(c) for c in r) + r" \\" for r in rows)
    body += [r"\bottomrule", r"\end{tabular}"]
    if caption is None:
        return "\n".join(body)
    return "\n".join(
        [r"\begin{table}[t]", r"\centering", *body, r"\caption{" + latex_escape(caption) + "}", r"\end{table}"]
    )


def table_html(frame: pl.DataFrame, *, digits: int = 4, caption: str | None = None) -> str:
    """A plain HTML table with a ``metaeval`` class."""
    header, rows = _cells(frame, digits)
    numeric = [frame.schema[c].is_numeric() for c in frame.columns]
    out = ['<table class="metaeval">']
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead>")
    out.append("<tbody>")
    for r in rows:
        tds = "".join(
            f'<td style="text-align:right">{html.escape(c)}</td>' if n else f"<td>{html.escape(c)}</td>"
            for c, n in zip(r, numeric, strict=True)
        )
        out.append(f"<tr>{tds}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)
