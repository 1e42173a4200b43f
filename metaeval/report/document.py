"""A report as data (sections of text, tables and charts) and its writers: a self-contained HTML
page, Markdown, a LaTeX document, figures (SVG / PNG / PDF) and the tidy data behind every table.

Every text that comes from the input (model names, judge names, responses) is untrusted: HTML
output escapes it (and chart specs travel as JSON in a ``<script type="application/json">``
element, with ``<``, ``>`` and ``&`` escaped), LaTeX output escapes its special characters, and
the HTML page forbids network access through its Content-Security-Policy, so it works offline
and cannot call out.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from metaeval._files import atomic_path, atomic_write_text
from metaeval._format import format_value, latex_escape
from metaeval._version import __version__
from metaeval.errors import MetaevalError

__all__ = ["Figure", "Report", "Section", "Table", "paper_cells"]

CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
       "img-src data:; font-src data:")
STYLE = """body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}h1{font-size:1.7em}
h2{margin-top:2em;border-bottom:1px solid #ddd}
table.metaeval{border-collapse:collapse;margin:1em 0;font-size:.88em}table.metaeval th,table.metaeval td{
padding:.25em .6em;border-bottom:1px solid #eee}table.metaeval th{border-bottom:2px solid #999;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}caption{caption-side:top;text-align:left;font-weight:600;
padding:.3em 0}figure{margin:1.5em 0}figcaption{font-size:.9em;color:#555}.note{color:#555;font-size:.9em}
pre.bib{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:.8em}"""


@dataclass
class Table:
    """A table for the paper: ``intervals`` maps an estimate column to its (low, high) columns,
    shown as ``est [low, high]``; ``best`` maps a column to ``"max"`` or ``"min"``: that value is
    set in bold. ``name`` names the exported data files."""

    name: str
    caption: str
    frame: pl.DataFrame
    intervals: dict[str, tuple[str, str]] = field(default_factory=dict)
    best: dict[str, str] = field(default_factory=dict)
    digits: int = 3


@dataclass
class Figure:
    """An altair chart (or a Vega-Lite spec as a dict) with a caption."""

    name: str
    caption: str
    chart: Any

    def spec(self) -> dict[str, Any]:
        spec = self.chart if isinstance(self.chart, dict) else self.chart.to_dict()
        return spec


@dataclass
class Section:
    """A titled part of the report: paragraphs of plain text, tables, figures and notes."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _fmt(value: Any, digits: int) -> str:
    if isinstance(value, float) and math.isfinite(value) and value != 0 and 1e-4 <= abs(value) < 1e6:
        return f"{value:.{digits}f}" if abs(value) < 10 else f"{value:.{max(digits - 2, 1)}f}"
    return format_value(value, digits + 1)


def paper_cells(table: Table) -> tuple[list[str], list[list[tuple[str, bool]]], list[bool]]:
    """Header, rows of (text, bold) and which columns are numeric: interval columns merged into
    their estimate, the best value of each ``best`` column flagged."""
    f = table.frame
    for est, (lo, hi) in table.intervals.items():
        for c in (est, lo, hi):
            if c not in f.columns:
                raise MetaevalError(f"table {table.name!r} has no column `{c}`")
    hidden = {c for lo, hi in table.intervals.values() for c in (lo, hi)}
    cols = [c for c in f.columns if c not in hidden]
    best_row: dict[str, int] = {}
    for c, how in table.best.items():
        if c not in f.columns:
            raise MetaevalError(f"table {table.name!r} has no column `{c}`")
        s = f[c].cast(pl.Float64, strict=False)
        if s.drop_nulls().drop_nans().len():
            best_row[c] = int((s.fill_nan(None).arg_max() if how == "max" else s.fill_nan(None).arg_min()) or 0)
    rows = []
    for i, row in enumerate(f.iter_rows(named=True)):
        cells = []
        for c in cols:
            text = _fmt(row[c], table.digits)
            if c in table.intervals:
                lo, hi = table.intervals[c]
                if row[lo] is not None and row[hi] is not None and not (
                        isinstance(row[lo], float) and math.isnan(row[lo])):
                    text += f" [{_fmt(row[lo], table.digits)}, {_fmt(row[hi], table.digits)}]"
            cells.append((text, best_row.get(c) == i))
        rows.append(cells)
    numeric = [f.schema[c].is_numeric() for c in cols]
    return cols, rows, numeric


def _md_escape(text: str) -> str:
    """One line of Markdown that renders as the literal text: no emphasis, code, HTML or link."""
    text = " ".join(str(text).split())
    for ch in ("\\", "|", "*", "_", "`", "<", ">"):
        text = text.replace(ch, "\\" + ch)
    text = text.replace("](", "]\\(")
    # a line that would open a heading, a list or a quote
    return "\\" + text if re.match(r"(#|[-+] |\d+[.)] )", text) else text


def _json_for_html(obj: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: no ``</script>``, no HTML comment."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, default=str)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _clean_spec(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean_spec(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean_spec(v) for v in obj]
    return obj


@dataclass
class Report:
    """A report: a title, sections, a methods paragraph with its BibTeX, and provenance."""

    title: str
    sections: list[Section]
    methods: str = ""
    bibtex: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)

    # ---------------------------------------------------------------- Markdown
    def to_markdown(self, figure_dir: str | None = "figures") -> str:
        out = [f"# {_md_escape(self.title)}\n"]
        for s in self.sections:
            out.append(f"## {_md_escape(s.title)}\n")
            out += [_md_escape(p) + "\n" for p in s.paragraphs]
            for t in s.tables:
                cols, rows, numeric = paper_cells(t)
                out.append(f"**{_md_escape(t.caption)}**\n")
                out.append("| " + " | ".join(_md_escape(c) for c in cols) + " |")
                out.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
                for r in rows:
                    out.append("| " + " | ".join(f"**{_md_escape(x)}**" if b else _md_escape(x) for x, b in r) + " |")
                out.append("")
            if figure_dir is not None:
                for fig in s.figures:
                    out.append(f"![{_md_escape(fig.caption)}]({figure_dir}/{fig.name}.svg)\n")
            out += [f"- {_md_escape(n)}" for n in s.notes]
            if s.notes:
                out.append("")
        if self.methods:
            out += ["## Methods\n", _md_escape(self.methods) + "\n"]
        if self.provenance:
            out += ["## Provenance\n"] + [f"- {_md_escape(k)}: {_md_escape(str(v))}" for k, v in
                                          self.provenance.items()] + [""]
        return "\n".join(out)

    # ------------------------------------------------------------------- LaTeX
    def to_latex(self, figures: bool = True) -> str:
        """A standalone LaTeX document (booktabs tables; with ``figures``, the figures included as
        ``figures/NAME.pdf``, which :meth:`write` writes when asked for PDF figures)."""
        out = [r"\documentclass{article}", r"\usepackage[utf8]{inputenc}", r"\usepackage{booktabs}",
               r"\usepackage{graphicx}", r"\begin{document}", r"\section*{" + latex_escape(self.title) + "}"]
        for s in self.sections:
            out.append(r"\subsection*{" + latex_escape(s.title) + "}")
            out += [latex_escape(p) + "\n" for p in s.paragraphs]
            for t in s.tables:
                out.append(self.latex_table(t))
            for fig in s.figures if figures else ():
                out += [r"\begin{figure}[t]", r"\centering",
                        r"\includegraphics[width=\linewidth]{figures/" + fig.name + ".pdf}",
                        r"\caption{" + latex_escape(fig.caption) + "}", r"\end{figure}"]
            if s.notes:
                out += [r"\begin{itemize}"] + [r"\item " + latex_escape(n) for n in s.notes] + [r"\end{itemize}"]
        if self.methods:
            out += [r"\subsection*{Methods}", latex_escape(self.methods)]
        out.append(r"\end{document}")
        return "\n".join(out) + "\n"

    @staticmethod
    def latex_table(t: Table) -> str:
        """One booktabs table: intervals as ``est [low, high]``, the best values in bold, every
        cell escaped."""
        cols, rows, numeric = paper_cells(t)
        spec = "".join("r" if n else "l" for n in numeric)
        body = [r"\begin{table}[t]", r"\centering", r"\caption{" + latex_escape(t.caption) + "}",
                r"\begin{tabular}{" + spec + "}", r"\toprule", " & ".join(latex_escape(c) for c in cols) + r" \\",
                r"\midrule"]
        for r in rows:
            body.append(" & ".join(r"\textbf{" + latex_escape(x) + "}" if b else latex_escape(x) for x, b in r)
                        + r" \\")
        body += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
        return "\n".join(body)

    # -------------------------------------------------------------------- HTML
    def to_html(self, bundle: str | None = None) -> str:
        """One self-contained page: styles, the Vega / Vega-Lite / vega-embed bundle (once) and
        every chart's spec inline; no network access."""
        esc = html.escape
        figures = [f for s in self.sections for f in s.figures]
        draw = True
        if figures and bundle is None:
            try:
                bundle = vega_bundle()
            except MetaevalError:  # no vl-convert: the page keeps its tables and says where the charts went
                draw = False
        body = [f"<h1>{esc(self.title)}</h1>"]
        specs = []
        k = 0
        for s in self.sections:
            body.append(f"<h2>{esc(s.title)}</h2>")
            body += [f"<p>{esc(p)}</p>" for p in s.paragraphs]
            for t in s.tables:
                cols, rows, numeric = paper_cells(t)
                tr = [f'<table class="metaeval"><caption>{esc(t.caption)}</caption><thead><tr>'
                      + "".join(f"<th>{esc(c)}</th>" for c in cols) + "</tr></thead><tbody>"]
                for r in rows:
                    tds = "".join(f'<td{" class=num" if n else ""}>' + (f"<strong>{esc(x)}</strong>" if b else esc(x))
                                  + "</td>" for (x, b), n in zip(r, numeric, strict=True))
                    tr.append(f"<tr>{tds}</tr>")
                tr.append("</tbody></table>")
                body.append("".join(tr))
            for fig in s.figures:
                if not draw:
                    body.append(f'<p class="note">chart left out ({esc(fig.caption)}): it needs the `report` extra '
                                "(vl-convert-python)</p>")
                    continue
                body.append(f'<figure><div class="chart" id="chart-{k}"></div><figcaption>{esc(fig.caption)}'
                            "</figcaption></figure>")
                specs.append(f'<script type="application/json" class="vl-spec" data-target="chart-{k}">'
                             f"{_json_for_html(_clean_spec(fig.spec()))}</script>")
                k += 1
            if s.notes:
                body.append('<ul class="note">' + "".join(f"<li>{esc(n)}</li>" for n in s.notes) + "</ul>")
        if self.methods:
            body += ["<h2>Methods</h2>", f"<p>{esc(self.methods)}</p>"]
        if self.bibtex:
            body.append(f'<details><summary>BibTeX</summary><pre class="bib">{esc(self.bibtex)}</pre></details>')
        if self.provenance:
            body += ["<h2>Provenance</h2>", '<ul class="note">'
                     + "".join(f"<li>{esc(str(k_))}: {esc(str(v))}</li>" for k_, v in self.provenance.items())
                     + "</ul>"]
        scripts = ""
        if specs:
            runner = ("const specs=[...document.querySelectorAll('script.vl-spec')];"
                      "Promise.all(specs.map(el=>vegaEmbed('#'+el.dataset.target,JSON.parse(el.textContent),"
                      "{actions:false,renderer:'svg'}))).then(()=>{document.body.dataset.charts='drawn';})"
                      ".catch(err=>{document.body.dataset.charts='failed';console.error(err);});")
            # a "</script" inside the library would end the element; nothing else needs changing
            library = re.sub(r"</(script)", r"<\\/\1", bundle or "", flags=re.IGNORECASE)
            scripts = (f'<script type="module">{library}</script>' + "".join(specs)
                       + f'<script type="module">{runner}</script>')
        return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{esc(self.title)}</title><style>{STYLE}</style></head><body>"
                + "\n".join(body) + f'<p class="note">metaeval {esc(__version__)}</p>' + scripts
                + "</body></html>\n")

    # ------------------------------------------------------------------ writing
    def write(self, outdir: str | Path, *, formats: Sequence[str] = ("html", "md", "latex"),
              figure_formats: Sequence[str] = ("svg", "png", "pdf"), data: bool = True) -> list[Path]:
        """Write the report files into ``outdir`` (each atomically) and return their paths."""
        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        bad = [f for f in formats if f not in ("html", "md", "latex")]
        if bad:
            raise MetaevalError(f"`formats` may hold html, md and latex; got {bad[0]!r}")
        written: list[Path] = []
        figures = [f for s in self.sections for f in s.figures]
        if figures and figure_formats:
            written += write_figures(figures, out / "figures", figure_formats)
        if "html" in formats:
            written.append(atomic_write_text(out / "index.html", self.to_html()))
        if "md" in formats:
            # link only the figures that are written: no broken image links
            written.append(atomic_write_text(out / "index.md", self.to_markdown(
                "figures" if figures and "svg" in figure_formats else None)))
        if "latex" in formats:
            written.append(atomic_write_text(out / "report.tex", self.to_latex(bool(figures) and
                                                                               "pdf" in figure_formats)))
            tables = [t for s in self.sections for t in s.tables]
            written.append(atomic_write_text(out / "tables.tex", "\n\n".join(self.latex_table(t) for t in tables)
                                             + "\n"))
            if self.bibtex:
                written.append(atomic_write_text(out / "references.bib", self.bibtex))
        if data:
            for s in self.sections:
                for t in s.tables:
                    for ext in ("csv", "parquet"):
                        with atomic_path(out / "data" / f"{t.name}.{ext}") as tmp:
                            frame = t.frame.select([c for c in t.frame.columns
                                                    if not isinstance(t.frame.schema[c], (pl.List, pl.Struct))])
                            frame.write_csv(tmp) if ext == "csv" else t.frame.write_parquet(tmp)
                        written.append(out / "data" / f"{t.name}.{ext}")
        return written


_BUNDLE: dict[str, str] = {}


def vega_bundle() -> str:
    """The Vega, Vega-Lite and vega-embed libraries as one script (from vl-convert; made once
    per process)."""
    if "js" not in _BUNDLE:
        try:
            import vl_convert as vlc
        except ImportError as exc:
            raise MetaevalError("charts in the HTML report need the `report` extra (vl-convert-python)") from exc
        _BUNDLE["js"] = vlc.javascript_bundle()
    return _BUNDLE["js"]


def write_figures(figures: Sequence[Figure], folder: Path, formats: Sequence[str]) -> list[Path]:
    """Each figure as SVG / PNG / PDF through vl-convert (one converter for the whole process)."""
    try:
        import vl_convert as vlc
    except ImportError as exc:
        raise MetaevalError("figures need the `report` extra (vl-convert-python)") from exc
    bad = [f for f in formats if f not in ("svg", "png", "pdf")]
    if bad:
        raise MetaevalError(f"figure formats may be svg, png and pdf; got {bad[0]!r}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for fig in figures:
        spec = _clean_spec(fig.spec())
        for fmt in formats:
            path = folder / f"{fig.name}.{fmt}"
            with atomic_path(path) as tmp:
                if fmt == "svg":
                    tmp.write_text(vlc.vegalite_to_svg(spec), encoding="utf-8")
                elif fmt == "png":
                    tmp.write_bytes(vlc.vegalite_to_png(spec, scale=2))
                else:
                    tmp.write_bytes(vlc.vegalite_to_pdf(spec))
            written.append(path)
    return written
