"""Paper-ready reports: a report is data (sections of text, tables with intervals, charts) and
writes itself as a self-contained HTML page (works offline), Markdown, LaTeX (booktabs, escaped,
best values in bold), figures (SVG / PNG / PDF) and the tidy data behind every table.

>>> import polars as pl
>>> from metaeval.report import Report, Section, Table
>>> t = Table("demo", "Accuracy", pl.DataFrame({"model": ["a_1", "b"], "acc": [0.8, 0.7], "lo": [0.75, 0.6],
...                                             "hi": [0.85, 0.8]}), intervals={"acc": ("lo", "hi")},
...           best={"acc": "max"})
>>> print(Report("R", [Section("S", tables=[t])]).latex_table(t).splitlines()[7])
a\\_1 & \\textbf{0.800 [0.750, 0.850]} \\\\
"""

from metaeval.report.build import BIBTEX, build
from metaeval.report.document import Figure, Report, Section, Table, paper_cells

__all__ = ["BIBTEX", "Figure", "Report", "Section", "Table", "build", "paper_cells"]
