r"""The LaTeX form of a report: a document that compiles with pdflatex and lualatex alike, and
the booktabs tables a paper can ``\input``.

Choices, and why a journal accepts them:

* **Text.** Every character goes through :func:`metaeval._format.latex_escape`: specials
  escaped, Greek letters and math symbols as math (``$\kappa$``, ``$\geq$``), accented letters
  as accent commands, anything else (CJK, emoji) as its code point — so the source is ASCII and
  the same file compiles under pdflatex (T1 + Latin Modern) and lualatex (fontspec).
* **Long tables** (more than :data:`FLOAT_ROWS` rows) are ``longtable``\ s: they break across
  pages and repeat their header; shorter ones are ordinary floats.
* **Wide tables** are fitted in steps, taking the first that fits the text width: ``\small``;
  then ``\footnotesize`` with narrower column gaps; then text columns wrap (``p`` columns sized
  here, long headers of number columns wrap too); then the same on a landscape page
  (``pdflscape``). Nothing is scaled with ``\resizebox``: journals ask for one legible type
  size in tables (8 pt at the smallest), which a scaled box does not keep.
* **Figures** are included only from the files the figure writer actually wrote (PDF, else
  PNG); an SVG-only figure is named in the text instead of included.
* **Citations** use natbib (``\citep``) with ``plainnat`` and the ``references.bib`` written
  beside the document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from metaeval._format import latex_escape
from metaeval.report.text import cited_keys, latex_inline, paper_cells

if TYPE_CHECKING:
    from metaeval.report.document import Report, Table

__all__ = ["FLOAT_ROWS", "latex_document", "latex_table", "table_layout"]

#: tables with more rows than this are longtables (they break across pages)
FLOAT_ROWS = 25
#: the page: A4 with 2.5 cm margins, 10 pt type (article)
TEXT_WIDTH_PT = 453.0
TEXT_HEIGHT_PT = 700.0
#: (font size in pt, LaTeX size command, \tabcolsep in pt) in the order they are tried; the size
#: counts Latin Modern's optical sizes, whose small designs are wider (lmr8: 6 % wider per pt)
SIZES = ((9.0 * 1.035, r"\small", 5.0), (8.0 * 1.065, r"\footnotesize", 3.5))
MIN_WRAP_EM = 6.0  # a wrapped text column is never narrower than this (in em)

# widths of Latin Modern Roman glyphs in em (cmr10 metrics, rounded); others count 0.6 em
_EM = {**dict.fromkeys("0123456789", 0.5), **dict.fromkeys("abdeghknopquvxy", 0.53), **dict.fromkeys("ceszr", 0.43),
       **dict.fromkeys("fjt", 0.33), **dict.fromkeys("il", 0.28), "m": 0.83, "w": 0.72,
       **dict.fromkeys("ABCDEGHKNOQRUVXY", 0.76), **dict.fromkeys("FLPTZ", 0.66), "I": 0.36, "J": 0.51, "M": 0.92,
       "S": 0.56, "W": 1.03, " ": 0.33, **dict.fromkeys(".,:;!'|", 0.28), **dict.fromkeys("[]", 0.28),
       **dict.fromkeys("()", 0.39), "-": 0.33, "_": 0.5, "/": 0.5, **dict.fromkeys("<>=+&", 0.78),
       **dict.fromkeys("%#@", 0.83), "*": 0.5, "?": 0.47, '"': 0.5, "~": 0.5, "^": 0.5, "$": 0.5, "\\": 0.5,
       "{": 0.5, "}": 0.5, "`": 0.28}


def _em(text: str, bold: bool = False) -> float:
    """Estimated width of ``text`` in em at 10 pt (non-ASCII shown as a code point counts 4.2 em;
    a minus sign before a digit, set as math, 0.78 em)."""
    w = 0.0
    for i, ch in enumerate(text):
        if ch == "-" and text[i + 1:i + 2].isdigit():
            w += 0.78
        elif ch in _EM:
            w += _EM[ch]
        elif ord(ch) < 128:
            w += 0.6
        else:
            w += 0.6 if latex_escape(ch).find("U+") < 0 else 4.2
    return w * (1.12 if bold else 1.0)


@dataclass(frozen=True)
class Layout:
    """How one table is set: its size command, column gap, column specs, header cells and page."""

    size: str
    tabcolsep: float
    specs: tuple[str, ...]
    header_widths: tuple[float | None, ...]  # a width in pt: that header cell wraps
    landscape: bool
    fits: bool
    width_pt: float


def table_layout(header: Sequence[str], rows: Sequence[Sequence[tuple[str, bool]]], numeric: Sequence[bool],
                 *, text_width: float = TEXT_WIDTH_PT, text_height: float = TEXT_HEIGHT_PT) -> Layout:
    """The first layout that fits (see the module's notes): ``\\small``; ``\\footnotesize``;
    wrapped text columns; the same on a landscape page. ``fits`` is False when nothing fits.

    >>> lay = table_layout(["model", "score"], [[("a", False), ("0.5", False)]], [False, True])
    >>> lay.size, lay.specs, lay.landscape
    ('\\\\small', ('l', 'r'), False)
    """
    n = len(header)
    cell_em = [max([_em(r[j][0], r[j][1]) for r in rows] or [0.0]) for j in range(n)]
    head_em = [_em(h) for h in header]
    natural = [max(c, h) for c, h in zip(cell_em, head_em, strict=True)]
    base = tuple("r" if num else "l" for num in numeric)
    none: tuple[float | None, ...] = (None,) * n
    attempts = ((False, text_width * 0.98), (True, text_height * 0.98))
    for landscape, avail in attempts:
        for size, cmd, sep in SIZES:
            total = sum(natural) * size + 2 * sep * (n - 1)
            if total <= avail:
                return Layout(cmd, sep, base, none, landscape, True, total)
        # wrap: number columns keep their cells' width (their long headers wrap at `_`), text
        # columns share what is left, the widest ones narrowed first
        size, cmd, sep = SIZES[-1]
        words = [max([_em(w) for w in re.split(r"[_ /]", h) if w] or [0.0]) + 1.0 for h in header]  # + "_"
        num_w = [max(cell_em[j], words[j]) * size if numeric[j] else 0.0 for j in range(n)]
        text_nat = {j: natural[j] * size for j in range(n) if not numeric[j]}
        left = avail - sum(num_w) - 2 * sep * (n - 1)
        cap = _water_fill(list(text_nat.values()), left)
        if cap is None or cap < MIN_WRAP_EM * size:
            continue
        specs, heads = [], []
        for j in range(n):
            if numeric[j]:
                specs.append("r")
                heads.append(num_w[j] if head_em[j] * size > num_w[j] + 0.5 else None)
            elif text_nat[j] > cap:
                specs.append(r">{\raggedright\arraybackslash}p{" + f"{cap:.1f}pt" + "}")
                heads.append(None)
            else:
                specs.append("l")
                heads.append(None)
        width = sum(num_w) + sum(min(w, cap) for w in text_nat.values()) + 2 * sep * (n - 1)
        return Layout(cmd, sep, tuple(specs), tuple(heads), landscape, True, width)
    size, cmd, sep = SIZES[-1]
    return Layout(cmd, sep, base, none, True, False, sum(natural) * size + 2 * sep * (n - 1))


def _water_fill(widths: list[float], total: float) -> float | None:
    """The cap ``c`` with ``sum(min(w, c)) == total`` (``inf`` if all fit, None if ``total`` ≤ 0)."""
    if total <= 0:
        return None
    if sum(widths) <= total:
        return float("inf")
    ws = sorted(widths)
    used = 0.0
    for i, w in enumerate(ws):
        cap = (total - used) / (len(ws) - i)
        if cap <= w:
            return cap
        used += w
    return float("inf")


def _cell(text: str, bold: bool, numeric: bool) -> str:
    out = latex_inline(text)
    if numeric:  # a minus sign, not a hyphen
        out = re.sub(r"(?<![\w.])-(?=\d)", "$-$", out)
    return r"\textbf{" + out + "}" if bold else out


def _label(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9:_-]", "-", name)


def latex_table(t: Table, *, label_prefix: str = "tab:") -> str:
    r"""One booktabs table (a float, or a ``longtable`` past :data:`FLOAT_ROWS` rows) laid out by
    :func:`table_layout`; intervals as ``est [low, high]``, the best values in bold, every cell
    escaped."""

    cols, rows, numeric = paper_cells(t)
    lay = table_layout(cols, rows, numeric)
    n = len(cols)
    specs = list(lay.specs)
    colspec = "@{}" + "".join(specs) + "@{}"

    def head(j: int) -> str:
        text = latex_inline(cols[j])
        w = lay.header_widths[j]
        if w is None:
            return text
        edge_l, edge_r = ("@{}" if j == 0 else ""), ("@{}" if j == n - 1 else "")
        return (r"\multicolumn{1}{" + edge_l + r">{\raggedleft\arraybackslash}p{" + f"{w:.1f}pt" + "}" + edge_r
                + "}{" + text + "}")

    header = " & ".join(head(j) for j in range(n)) + r" \\"
    body = [" & ".join(_cell(x, b, numeric[j]) for j, (x, b) in enumerate(r)) + r" \\" for r in rows]
    caption = r"\caption{" + latex_inline(t.caption) + r"}\label{" + label_prefix + _label(t.name) + "}"
    size = [lay.size, r"\setlength{\tabcolsep}{" + f"{lay.tabcolsep:g}pt" + "}"]
    if len(rows) > FLOAT_ROWS:
        out = [r"\begingroup", *size, r"\begin{longtable}{" + colspec + "}", caption + r" \\", r"\toprule", header,
               r"\midrule", r"\endfirsthead",
               r"\multicolumn{" + str(n) + r"}{@{}l}{\tablename~\thetable{} (continued)} \\", r"\toprule", header,
               r"\midrule", r"\endhead", r"\midrule",
               r"\multicolumn{" + str(n) + r"}{r@{}}{continued on the next page} \\", r"\endfoot", r"\bottomrule",
               r"\endlastfoot", *body, r"\end{longtable}", r"\endgroup"]
    else:
        out = [r"\begin{table}[htbp]", r"\centering", *size, caption, r"\begin{tabular}{" + colspec + "}",
               r"\toprule", header, r"\midrule", *body, r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    if lay.landscape:
        out = [r"\begin{landscape}", *out, r"\end{landscape}"]
    return "\n".join(out)


PACKAGES = (r"\usepackage{booktabs}", r"\usepackage{longtable}", r"\usepackage{array}", r"\usepackage{pdflscape}")


def preamble(*, figures: bool, citations: bool) -> list[str]:
    """The preamble: fonts for either engine, the page, tables, figures and citations."""
    out = [r"\documentclass[10pt,a4paper]{article}", r"\usepackage{iftex}", r"\ifPDFTeX",
           r"  \usepackage[T1]{fontenc}", r"  \usepackage[utf8]{inputenc}", r"  \usepackage{lmodern}", r"\else",
           r"  \usepackage{fontspec}", r"\fi", r"\usepackage[margin=2.5cm]{geometry}", r"\usepackage{amsmath}",
           *PACKAGES, r"\usepackage[section]{placeins}"]
    if figures:
        out += [r"\usepackage{graphicx}", r"\usepackage[export]{adjustbox}"]
    if citations:
        out.append(r"\usepackage[round]{natbib}")
    out.append(r"\setlength{\emergencystretch}{3em}")
    return out


def latex_document(report: Report, figures: Mapping[str, str] | None = None,
                   elsewhere: Mapping[str, str] | None = None) -> str:
    """The whole report as one LaTeX document. ``figures`` maps a figure's name to the PDF or PNG
    file the figure writer wrote for it (relative to the document): those are included; a
    figure in ``elsewhere`` (name to an SVG file) is named with its file; any other is said to be
    left out."""
    figures = dict(figures or {})
    elsewhere = dict(elsewhere or {})
    methods = report.methods_text()
    keys = cited_keys(methods)
    refs = report.references_for(keys)
    out = preamble(figures=bool(figures), citations=bool(refs))
    out += [r"\title{" + latex_inline(report.title) + "}", r"\date{" + latex_escape(
        str(report.provenance.get("created", ""))) + "}", r"\author{}", r"\begin{document}", r"\maketitle"]
    for s in report.sections:
        out.append(r"\section{" + latex_inline(s.title) + "}")
        out += [latex_inline(p) + "\n" for p in s.paragraphs]
        for link in s.links:
            out.append(latex_inline(link.text) + r": \texttt{" + latex_escape(link.latex or link.html) + "}\n")
        for t in s.tables:
            out.append(latex_table(t))
        for fig in s.figures:
            path = figures.get(fig.name)
            if path is None:
                where = elsewhere.get(fig.name)
                out.append(r"\emph{" + latex_inline(fig.caption) + (
                    r": see \texttt{" + latex_escape(where) + "} (written as SVG only; write PDF or PNG figures to "
                    "include it here).}\n" if where else ": not included (no PDF or PNG file of it was written).}\n"))
                continue
            out += [r"\begin{figure}[htbp]", r"\centering",
                    r"\includegraphics[max width=\linewidth,max height=0.4\textheight]{" + path + "}",
                    r"\caption{" + latex_inline(fig.caption) + r"}\label{fig:" + _label(fig.name) + "}",
                    r"\end{figure}"]
        if s.notes:
            out += [r"\begin{itemize}"] + [r"\item " + latex_inline(n) for n in s.notes] + [r"\end{itemize}"]
    if methods:
        out += [r"\section*{Methods}", latex_inline(methods, cite=bool(refs)) + "\n"]
    if report.provenance:
        out += [r"\section*{Provenance}", r"\begin{itemize}"]
        out += [r"\item " + latex_escape(str(k)) + ": " + latex_escape(str(v)) for k, v in report.provenance.items()]
        out.append(r"\end{itemize}")
    if refs:
        out += [r"\bibliographystyle{plainnat}", r"\bibliography{references}"]
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


def tables_file(tables: Sequence[Table]) -> str:
    """Every table of a report, for ``\\input`` into a paper (the packages it needs on top)."""
    head = ["% metaeval tables: \\input{tables} in a document that loads", *("% " + p for p in PACKAGES),
            "% (and, for pdflatex, \\usepackage[T1]{fontenc})", ""]
    return "\n".join(head) + "\n\n".join(latex_table(t) for t in tables) + "\n"
