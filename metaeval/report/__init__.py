"""Paper-ready reports: a report is data (sections of text, tables with intervals, charts, the
Methods it cites) and writes itself as a self-contained HTML page (works offline), Markdown, a
LaTeX document that compiles with pdflatex and lualatex (booktabs, longtable, every character
escaped, best values in bold, natbib citations with ``references.bib``), figures (SVG / PNG /
PDF) and the tidy data behind every table.

>>> import polars as pl
>>> from metaeval.report import Report, Section, Table
>>> t = Table("demo", "Accuracy", pl.DataFrame({"model": ["a_1", "b"], "acc": [0.8, 0.7], "lo": [0.75, 0.6],
...                                             "hi": [0.85, 0.8]}), intervals={"acc": ("lo", "hi")},
...           best={"acc": "max"})
>>> print(Report("R", [Section("S", tables=[t])]).latex_table(t).splitlines()[9])
a\\_\\allowbreak{}1 & \\textbf{0.80 [0.75, 0.85]} \\\\
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from metaeval.report.document import Figure, Link, Reference, Report, Section, Table
from metaeval.report.text import paper_cells

if TYPE_CHECKING:
    from metaeval.report.compose import BIBTEX, REFERENCES, build

__all__ = ["BIBTEX", "REFERENCES", "Figure", "Link", "Reference", "Report", "Section", "Table", "build", "paper_cells"]

# ``build`` (compose.py) imports every analysis (rankers, stats, agreement, bias, juries); it is
# loaded on first use, so that importing ``metaeval.report.charts`` -- which every result's
# ``.chart()`` does, from any layer -- loads only the document model and the charts.
_LAZY = {"BIBTEX": "metaeval.report.compose", "REFERENCES": "metaeval.report.compose",
         "build": "metaeval.report.compose"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'metaeval.report' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
