"""A report as data (sections of text, tables and charts) and its writers: a self-contained HTML
page, Markdown, a LaTeX document (:mod:`metaeval.report.latex`), figures (SVG / PNG / PDF) and
the tidy data behind every table.

Every text that comes from the input (model names, judge names, responses) is untrusted: HTML
output escapes it (and chart specs travel as JSON in a ``<script type="application/json">``
element, with ``<``, ``>`` and ``&`` escaped), Markdown shows it literally, LaTeX output escapes
every special character, and the HTML page forbids network access through its
Content-Security-Policy, so it works offline and cannot call out. The report's own text may mark
code with backticks and (in the Methods) cite with ``[@key]`` (:mod:`metaeval.report.text`).

Numbers follow one rule (:mod:`metaeval._format`): an estimate and its interval rounded
together to the precision the interval supports, p-values as ``0.012`` / ``< 0.001`` and
``< x`` where a resampling p-value sits at its floor, other numbers at one precision per column.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from metaeval._files import atomic_folder, atomic_path
from metaeval._version import __version__
from metaeval.errors import MetaevalError, ParameterError
from metaeval.report.latex import latex_document, latex_table, tables_file
from metaeval.report.text import cited_keys, compose_methods, paper_cells
from metaeval.report.text import html_inline as hi
from metaeval.report.text import markdown_inline as md

__all__ = ["Figure", "Link", "Reference", "Report", "Section", "Table"]

CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
       "img-src data:; font-src data:")
STYLE = """body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}h1{font-size:1.7em}
h2{margin-top:2em;border-bottom:1px solid #ddd}
table.metaeval{border-collapse:collapse;margin:1em 0;font-size:.88em}table.metaeval th,table.metaeval td{
padding:.25em .6em;border-bottom:1px solid #eee}table.metaeval th{border-bottom:2px solid #999;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}caption{caption-side:top;text-align:left;font-weight:600;
padding:.3em 0}figure{margin:1.5em 0}figcaption{font-size:.9em;color:#555}.note{color:#555;font-size:.9em}
pre.bib{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:.8em}code{font-size:.92em;background:#f3f3f3;
padding:0 .2em;border-radius:3px}ol.refs{font-size:.9em}"""


@dataclass
class Table:
    """A table for the paper: ``intervals`` maps an estimate column to its (low, high) columns,
    shown as ``est [low, high]`` and rounded together; ``best`` maps a column to ``"max"`` or
    ``"min"``: that value is set in bold; ``upper_bounds`` maps a p-value column to a boolean
    column that marks values that are only upper bounds (a resampling p-value at its floor),
    shown as ``< x`` (the flag column itself is not shown). ``digits`` is the significant digits
    of other number columns (at their largest value). ``name`` names the exported data files."""

    name: str
    caption: str
    frame: pl.DataFrame
    intervals: dict[str, tuple[str, str]] = field(default_factory=dict)
    best: dict[str, str] = field(default_factory=dict)
    digits: int = 3
    upper_bounds: dict[str, str] = field(default_factory=dict)


@dataclass
class Figure:
    """An altair chart (or a Vega-Lite spec as a dict) with a caption."""

    name: str
    caption: str
    chart: Any

    def spec(self) -> dict[str, Any]:
        spec = self.chart if isinstance(self.chart, dict) else self.chart.to_dict()
        return spec


_SAFE_HREF = re.compile(r"[A-Za-z0-9_.~/-]+(#[A-Za-z0-9_-]+)?")


@dataclass
class Link:
    """A link to another file of the output (a sub-report): ``html`` is the target from the HTML
    page, ``markdown`` from the Markdown file (default: ``html``), ``latex`` the path named in
    LaTeX (default: ``html``). Targets are relative paths; nothing else is accepted (no scheme,
    so no ``javascript:``)."""

    text: str
    html: str
    markdown: str | None = None
    latex: str | None = None

    def __post_init__(self) -> None:
        for target in (self.html, self.markdown, self.latex):
            if target is not None and (not _SAFE_HREF.fullmatch(target) or target.startswith(("/", "..", "//"))):
                raise MetaevalError(f"a link target must be a relative path inside the report; got {target!r}")


@dataclass
class Section:
    """A titled part of the report: paragraphs of plain text, links, tables, figures, notes, and
    the sentences it adds to the Methods (with ``[@key]`` citations)."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)


@dataclass(frozen=True)
class Reference:
    """A work the Methods cite: its BibTeX key and entry, a label for ``(Label)`` citations in
    HTML and Markdown, and the formatted reference for their reference lists."""

    key: str
    label: str
    text: str
    bibtex: str


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
    """A report: a title, sections, the Methods (composed from the sections' sentences unless
    given), the references they cite, and provenance. ``bibtex`` is written as
    ``references.bib`` when no ``references`` are given (older callers)."""

    title: str
    sections: list[Section]
    methods: str = ""
    bibtex: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    references: dict[str, Reference] = field(default_factory=dict)

    def methods_text(self) -> str:
        """The Methods paragraph: ``methods`` if given, else the sentences of the sections present
        (each once, each work cited once)."""

        return self.methods or compose_methods(m for s in self.sections for m in s.methods)

    def references_for(self, keys: Sequence[str]) -> list[Reference]:
        """The references with these keys, in order; an unknown key is an error."""
        missing = [k for k in keys if k not in self.references]
        if missing and self.references:
            raise MetaevalError(f"the report cites `{missing[0]}`, which is not among its references")
        return [self.references[k] for k in keys if k in self.references]

    def _cited(self) -> tuple[str, list[Reference], dict[str, str] | None]:
        methods = self.methods_text()
        refs = self.references_for(cited_keys(methods)) if self.references else []
        return methods, refs, ({r.key: r.label for r in refs} if self.references else None)

    def bibtex_text(self) -> str:
        """The ``references.bib`` text: the cited references (or ``bibtex`` as given)."""
        _, refs, _ = self._cited()
        if refs:
            return "\n\n".join(r.bibtex for r in refs) + "\n"
        return self.bibtex

    # ---------------------------------------------------------------- Markdown
    def to_markdown(self, figures: Mapping[str, str] | None = None) -> str:
        """The report as Markdown; ``figures`` maps a figure's name to its written file (relative
        to the Markdown file): only those are linked."""

        figures = dict(figures or {})
        methods, refs, labels = self._cited()
        out = [f"# {md(self.title)}\n"]
        for s in self.sections:
            out.append(f"## {md(s.title)}\n")
            out += [md(p) + "\n" for p in s.paragraphs]
            if s.links:
                out += [f"- [{md(k.text, line_start=False)}]({k.markdown or k.html})" for k in s.links] + [""]
            for t in s.tables:
                cols, rows, numeric = paper_cells(t)
                out.append(f"**{md(t.caption, line_start=False)}**\n")
                out.append("| " + " | ".join(md(c, in_table=True, line_start=False) for c in cols) + " |")
                out.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
                for r in rows:
                    out.append("| " + " | ".join(f"**{md(x, in_table=True, line_start=False)}**" if b
                                                 else md(x, in_table=True, line_start=False) for x, b in r) + " |")
                out.append("")
            for fig in s.figures:
                if fig.name in figures:
                    out.append(f"![{md(fig.caption, line_start=False)}]({figures[fig.name]})\n")
            out += [f"- {md(n, line_start=False)}" for n in s.notes]
            if s.notes:
                out.append("")
        if methods:
            out += ["## Methods\n", md(methods, labels=labels) + "\n"]
        if refs:
            out += ["## References\n"] + [f"- {md(r.text, line_start=False)}" for r in refs] + [""]
        if self.provenance:
            out += ["## Provenance\n"] + [f"- {md(str(k), line_start=False)}: {md(str(v), line_start=False)}"
                                          for k, v in self.provenance.items()] + [""]
        return "\n".join(out)

    # ------------------------------------------------------------------- LaTeX
    def to_latex(self, figures: Mapping[str, str] | None = None, elsewhere: Mapping[str, str] | None = None) -> str:
        """A standalone LaTeX document that compiles with pdflatex and lualatex (see
        :mod:`metaeval.report.latex`). ``figures`` maps a figure's name to the PDF or PNG file
        written for it (relative to the document): only those are included; ``elsewhere`` names
        the SVG file of a figure that has no PDF or PNG."""

        return latex_document(self, figures, elsewhere)

    @staticmethod
    def latex_table(t: Table) -> str:
        """One booktabs table: intervals as ``est [low, high]``, the best values in bold, every
        cell escaped; a longtable when long, fitted to the page when wide."""

        return latex_table(t)

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
        methods, refs, labels = self._cited()
        body = [f"<h1>{hi(self.title)}</h1>"]
        specs = []
        k = 0
        for s in self.sections:
            body.append(f"<h2>{hi(s.title)}</h2>")
            body += [f"<p>{hi(p)}</p>" for p in s.paragraphs]
            if s.links:
                body.append("<ul>" + "".join(f'<li><a href="{esc(x.html)}">{hi(x.text)}</a></li>' for x in s.links)
                            + "</ul>")
            for t in s.tables:
                cols, rows, numeric = paper_cells(t)
                tr = [f'<table class="metaeval"><caption>{hi(t.caption)}</caption><thead><tr>'
                      + "".join(f"<th>{hi(c)}</th>" for c in cols) + "</tr></thead><tbody>"]
                for r in rows:
                    tds = "".join(f'<td{" class=num" if n else ""}>' + (f"<strong>{hi(x)}</strong>" if b else hi(x))
                                  + "</td>" for (x, b), n in zip(r, numeric, strict=True))
                    tr.append(f"<tr>{tds}</tr>")
                tr.append("</tbody></table>")
                body.append("".join(tr))
            for fig in s.figures:
                if not draw:
                    body.append(f'<p class="note">chart left out ({hi(fig.caption)}): it needs the <code>report</code> '
                                "extra (vl-convert-python)</p>")
                    continue
                body.append(f'<figure><div class="chart" id="chart-{k}"></div><figcaption>{hi(fig.caption)}'
                            "</figcaption></figure>")
                specs.append(f'<script type="application/json" class="vl-spec" data-target="chart-{k}">'
                             f"{_json_for_html(_clean_spec(fig.spec()))}</script>")
                k += 1
            if s.notes:
                body.append('<ul class="note">' + "".join(f"<li>{hi(n)}</li>" for n in s.notes) + "</ul>")
        if methods:
            body += ["<h2>Methods</h2>", f"<p>{hi(methods, labels=labels)}</p>"]
        if refs:
            body += ["<h2>References</h2>", '<ol class="refs">' + "".join(f"<li>{hi(r.text)}</li>" for r in refs)
                     + "</ol>"]
        bib = self.bibtex_text()
        if bib.strip():
            body.append(f'<details><summary>BibTeX</summary><pre class="bib">{esc(bib)}</pre></details>')
        if self.provenance:
            body += ["<h2>Provenance</h2>", '<ul class="note">'
                     + "".join(f"<li>{hi(str(k_))}: {hi(str(v))}</li>" for k_, v in self.provenance.items())
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
        """Write the report files into the folder ``outdir`` and return their paths.

        The folder is written as a set: into a temporary folder beside it, swapped in whole when
        every file is written (:func:`metaeval._files.atomic_folder`). A report written over an
        older one replaces it entirely (no ``data/*.csv`` of the old one survives); a process
        killed while writing leaves the old report as it was; several writers at once leave one
        writer's complete report. ``outdir`` must be new, empty or an earlier report: a folder
        holding other files is refused.

        The Markdown links, and the LaTeX document includes, only the figure files written here
        (Markdown: SVG, else PNG; LaTeX: PDF, else PNG)."""

        bad = [f for f in formats if f not in ("html", "md", "latex")]
        if bad:
            raise ParameterError(f"`formats` may hold html, md and latex; got {bad[0]!r}")
        out = Path(outdir)
        with atomic_folder(out) as tmp:
            written = self._write_into(tmp, formats, figure_formats, data)
        return [out / p.relative_to(tmp) for p in written]

    def _write_into(self, out: Path, formats: Sequence[str], figure_formats: Sequence[str], data: bool
                    ) -> list[Path]:
        """Write every file of the report into the (new, empty) folder ``out``."""
        written: list[Path] = []
        figures = [f for s in self.sections for f in s.figures]
        fig_files: list[Path] = []
        if figures and figure_formats:
            fig_files = write_figures(figures, out / "figures", figure_formats)
            written += fig_files
        have = {(p.stem, p.suffix.lstrip(".")): p.relative_to(out).as_posix() for p in fig_files if p.exists()}

        def pick(prefer: Sequence[str]) -> dict[str, str]:
            return {f.name: next(have[(f.name, x)] for x in prefer if (f.name, x) in have) for f in figures
                    if any((f.name, x) in have for x in prefer)}

        def text(name: str, content: str) -> None:
            (out / name).write_text(content, encoding="utf-8")
            written.append(out / name)

        if "html" in formats:
            text("index.html", self.to_html())
        if "md" in formats:
            text("index.md", self.to_markdown(pick(("svg", "png"))))
        if "latex" in formats:
            text("report.tex", self.to_latex(pick(("pdf", "png")), pick(("svg",))))
            tables = [t for s in self.sections for t in s.tables]
            text("tables.tex", tables_file(tables))
            bib = self.bibtex_text()
            if bib.strip():
                text("references.bib", bib)
        if data:
            tables = [t for s in self.sections for t in s.tables]
            if tables:
                (out / "data").mkdir(exist_ok=True)
            for t in tables:
                frame = t.frame.select([c for c in t.frame.columns
                                        if not isinstance(t.frame.schema[c], (pl.List, pl.Struct))])
                csv_safe(frame).write_csv(out / "data" / f"{t.name}.csv")
                t.frame.write_parquet(out / "data" / f"{t.name}.parquet")
                written += [out / "data" / f"{t.name}.csv", out / "data" / f"{t.name}.parquet"]
        return written


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every text cell that a spreadsheet would run as a formula (it starts with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) prefixed with ``'``, as OWASP recommends
    against CSV injection; numbers are left alone (the Parquet copy keeps the text as it was).

    >>> csv_safe(pl.DataFrame({"model": ["=1+2", "@sum", "gpt-4"], "score": [-1.0, 2.0, 3.0]})).rows()
    [("'=1+2", -1.0), ("'@sum", 2.0), ('gpt-4', 3.0)]
    """
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(pl.any_horizontal(pl.col(c).str.starts_with(s) for s in _FORMULA_START)).then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c)).alias(c) for c in text) if text else frame


_BUNDLE: dict[str, str] = {}


def vega_bundle() -> str:
    """The Vega, Vega-Lite and vega-embed libraries as one script (from vl-convert; made once
    per process)."""
    if "js" not in _BUNDLE:
        try:
            import vl_convert as vlc
        except ImportError as exc:
            raise MetaevalError("charts in the HTML report need the `report` extra (vl-convert-python)") from exc
        # vl-convert's stub marks `snippet` required; the function defaults it (the global-window snippet)
        _BUNDLE["js"] = vlc.javascript_bundle()  # type: ignore[call-arg]
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
