"""The LaTeX reports compile: every generated ``report.tex`` (the demo's, and each workflow's on
pairwise, pointwise and leaderboard inputs, with and without figures) goes through pdflatex +
bibtex and lualatex in a temporary folder and must come out clean.

Clean means: exit status 0; no error, no undefined control sequence, citation or reference, no
missing character (lualatex's font would drop it silently); every ``\\includegraphics`` names a
PDF or PNG file that exists; the source is ASCII (so nothing depends on the engine's input
encoding); and no overfull line wider than :data:`OVERFULL_PT`. That tolerance is 2 pt: less
than a thin space (1/6 em = 1.67 pt at 10 pt), invisible in print, and the size of the
rounding in :mod:`metaeval.report.latex`'s width estimates; anything wider is a table or line
that runs into the margin.

Skipped, with the reason, where TeX Live is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

import metaeval
from metaeval import report
from metaeval.cli import cli

OVERFULL_PT = 2.0
TEX_PACKAGES = "texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-luatex"
needs_pdflatex = pytest.mark.skipif(
    shutil.which("pdflatex") is None or shutil.which("bibtex") is None,
    reason=f"needs pdflatex and bibtex (apt-get install -y {TEX_PACKAGES})")


@functools.cache
def _lualatex_works() -> bool:
    """lualatex is installed and has its font loader (Debian's texlive-luatex)."""
    if shutil.which("lualatex") is None:
        return False
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "t.tex").write_text("\\documentclass{article}\\usepackage{fontspec}\\begin{document}x"
                                       "\\end{document}\n")
        res = subprocess.run(["lualatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=d,
                             capture_output=True, timeout=180)
    return res.returncode == 0


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=240, errors="replace")


def _problems(log: str) -> list[str]:
    bad = []
    for pattern in (r"^! .*", r".*Undefined control sequence.*", r".*Citation .* undefined.*",
                    r".*Reference .* undefined.*", r".*Missing character.*", r".*There were undefined.*",
                    r".*Missing \$ inserted.*", r".*File .* not found.*"):
        bad += re.findall(pattern, log, flags=re.MULTILINE)
    for m in re.finditer(r"Overfull \\hbox \(([\d.]+)pt too wide\)(.*)", log):
        if float(m.group(1)) > OVERFULL_PT:
            bad.append(m.group(0))
    return bad


def compile_report(folder: Path, tmp: Path, *, lualatex: bool = True) -> dict[str, str]:
    """Compile ``folder/report.tex`` in a copy under ``tmp``: pdflatex, bibtex (when it cites),
    pdflatex twice; then lualatex on the same aux files (again if longtable asks). Returns the
    final log of each engine; fails the test on any problem."""
    work = tmp / folder.name
    shutil.copytree(folder, work)
    tex = (work / "report.tex").read_text(encoding="utf-8")
    assert tex.isascii(), [ch for ch in tex if not ch.isascii()][:5]
    for path in re.findall(r"\\includegraphics\[[^\]]*\]\{([^}]*)\}", tex):
        assert path.endswith((".pdf", ".png")) and (work / path).is_file(), path
    logs = {}
    res = _run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"], work)
    assert res.returncode == 0, res.stdout[-3000:]
    if "\\citation" in (work / "report.aux").read_text():
        bib = _run(["bibtex", "report"], work)
        assert bib.returncode == 0 and "Warning" not in bib.stdout, bib.stdout
    for _ in range(2):
        res = _run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"], work)
        assert res.returncode == 0, res.stdout[-3000:]
    logs["pdflatex"] = (work / "report.log").read_text(errors="replace")
    assert not _problems(logs["pdflatex"]), _problems(logs["pdflatex"])
    if lualatex and _lualatex_works():
        for _ in range(2):
            res = _run(["lualatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"], work)
            assert res.returncode == 0, res.stdout[-3000:]
            logs["lualatex"] = (work / "report.log").read_text(errors="replace")
            if "Rerun LaTeX" not in logs["lualatex"]:
                break
        assert not _problems(logs["lualatex"]), _problems(logs["lualatex"])
    # the tables file, as a paper would \input it
    (work / "paper.tex").write_text("\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{booktabs}"
                                    "\\usepackage{longtable}\\usepackage{array}\\usepackage{pdflscape}"
                                    "\\begin{document}\\input{tables}\\end{document}\n")
    res = _run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"], work)
    assert res.returncode == 0, res.stdout[-3000:]
    return logs


def _check_citations(folder: Path) -> None:
    """Each cited work once in the Methods; references.bib holds exactly the works cited."""
    tex = (folder / "report.tex").read_text()
    cites = [k for group in re.findall(r"\\citep\{([^}]*)\}", tex) for k in group.split(",")]
    assert len(cites) == len(set(cites)), cites
    bib = (folder / "references.bib").read_text() if (folder / "references.bib").exists() else ""
    assert set(re.findall(r"@\w+\{([^,]+),", bib)) == set(cites)


EVIL = ["gpt_4 & co", "50% #2 {x}", "a~b^c\\d $5", "Zoë-β", "模型-7b", "rock 🎸"]


def _evil_pointwise() -> metaeval.Judgments:
    sim = metaeval.simulate.pointwise(n_models=6, n_items=40, n_humans=2, rng=4)
    names = dict(zip(sim.judgments.models, EVIL, strict=True))
    frame = sim.judgments.frame.with_columns(pl.col("model").replace(names))
    return metaeval.Judgments(frame)


# ------------------------------------------------------------------------ fast (default)
@needs_pdflatex
def test_pairwise_report_with_pdf_figures_compiles(tmp_path):
    pytest.importorskip("vl_convert")
    sim = metaeval.simulate.pairwise(n_models=9, n_items=120, judges=("judge-atlas", "judge-borealis"), n_humans=2,
                                     both_orders=True, position_bias=0.5, rng=1)
    rep = report.build(sim.judgments, n_resamples=200, progress=False)
    out = tmp_path / "pairwise"
    rep.write(out, figure_formats=("pdf",))
    tex = (out / "report.tex").read_text()
    assert tex.count("\\includegraphics") == sum(len(s.figures) for s in rep.sections)
    compile_report(out, tmp_path / "build")
    _check_citations(out)


@needs_pdflatex
def test_untrusted_names_compile_and_svg_only_figures_are_not_included(tmp_path):
    pytest.importorskip("vl_convert")
    rep = report.build(_evil_pointwise(), n_resamples=100, progress=False, title="Models: 100% & $ — κ ≥ 0.5")
    out = tmp_path / "evil"
    rep.write(out, figure_formats=("svg",))
    tex = (out / "report.tex").read_text()
    assert "\\includegraphics" not in tex
    assert "agreement.svg} (written as SVG only" in tex
    assert "\\texttt{[U+6A21]}" in tex and "Zo\\\"{e}" in tex and "$\\beta$" in tex
    compile_report(out, tmp_path / "build")
    _check_citations(out)


@needs_pdflatex
def test_leaderboard_report_without_figures_compiles(tmp_path):
    board = tmp_path / "board.csv"
    pl.DataFrame({"model": [f"m_{i}" for i in range(12)], **{f"task_{t}": [(i * 7 + t * 3) % 11 / 10 for i in
                                                                             range(12)] for t in range(6)}}
                 ).write_csv(board)
    res = CliRunner().invoke(cli, ["audit-leaderboard", str(board), "-o", str(tmp_path / "lb"), "--figures", "",
                                   "--n-resamples", "50"])
    assert res.exit_code == 0, res.output
    compile_report(tmp_path / "lb", tmp_path / "build")
    _check_citations(tmp_path / "lb")


@needs_pdflatex
def test_long_and_wide_tables_fit_the_page(tmp_path):
    from metaeval.report import Report, Section, Table
    from metaeval.report.latex import table_layout

    rng = np.random.default_rng(0)
    long = pl.DataFrame({"model": [f"model_{i}" for i in range(58)], "score": rng.random(58),
                         "low": rng.random(58) - 1, "high": rng.random(58) + 1})
    wide = pl.DataFrame({"model": ["a_very_long_model_name_with_underscores-7b-instruct", "b"],
                         **{f"metric_number_{k}": rng.random(2) for k in range(12)}})
    text = pl.DataFrame({"probe": ["position"] * 3, "effect": ["a long description of what the effect measures, "
                                                               "in words, that must wrap inside its column"] * 3,
                         **{f"value_{k}": rng.random(3) for k in range(6)}})
    tables = [Table("long", "58 rows", long, intervals={"score": ("low", "high")}), Table("wide", "12 numbers", wide),
              Table("text", "a text column", text)]
    out = tmp_path / "tables"
    Report("Long and wide", [Section("Tables", tables=tables)]).write(out, figure_formats=())
    tex = (out / "report.tex").read_text()
    assert "\\begin{longtable}" in tex and "\\begin{landscape}" in tex and "p{" in tex
    assert "resizebox" not in tex  # fitted by type size, wrapping or a landscape page, never scaled
    logs = compile_report(out, tmp_path / "build")
    assert "Overfull" not in logs["pdflatex"]
    assert table_layout(["m", "x"], [[("a", False), ("1", False)]], [False, True]).size == "\\small"


# ---------------------------------------------------------------------- the whole matrix
def _inputs(tmp: Path) -> dict[str, Path]:
    pw = metaeval.simulate.pairwise(n_models=6, n_items=80, judges=("judge-atlas", "judge-borealis"), n_humans=2,
                                    both_orders=True, rng=0).judgments
    pt = metaeval.simulate.pointwise(n_models=5, n_items=60, n_humans=2, rng=1).judgments
    paths = {"pairwise": tmp / "pairwise.parquet", "pointwise": tmp / "pointwise.parquet",
             "leaderboard": tmp / "leaderboard.csv"}
    pw.write_parquet(paths["pairwise"])
    pt.write_parquet(paths["pointwise"])
    pt.score_matrix(by="judge").to_polars().write_csv(paths["leaderboard"])
    return paths


# each workflow on each kind of input it takes, without figures and with them (PDF, or PNG when
# no PDF is written: the LaTeX takes what exists)
_RUNS = [(cmd, kind) for cmd in ("report", "audit-judge", "audit-leaderboard")
         for kind in ("pairwise", "pointwise", "leaderboard") if not (cmd == "audit-judge" and kind == "leaderboard")]
WORKFLOWS = [(cmd, kind, figs) for i, (cmd, kind) in enumerate(_RUNS) for figs in ("", ("svg,pdf", "png")[i % 2])]


@pytest.mark.slow
@needs_pdflatex
@pytest.mark.parametrize(("command", "kind", "figures"), WORKFLOWS)
def test_every_workflow_report_compiles(tmp_path, command, kind, figures):
    if figures:
        pytest.importorskip("vl_convert")
    table = _inputs(tmp_path)[kind]
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, [command, str(table), "-o", str(out), "--figures", figures, "--n-resamples", "100"])
    assert res.exit_code == 0, res.output
    tex = (out / "report.tex").read_text()
    want = "pdf" if "pdf" in figures else "png" if "png" in figures else None
    included = re.findall(r"\\includegraphics\[[^\]]*\]\{figures/([^}]*)\}", tex)
    assert all(p.endswith(f".{want}") for p in included) and (bool(included) == (want is not None)
                                                               or "\\section{Data}" in tex)
    compile_report(out, tmp_path / "build")
    _check_citations(out)


@pytest.mark.slow
@needs_pdflatex
def test_demo_reports_compile(tmp_path):
    res = CliRunner().invoke(cli, ["demo", "-o", str(tmp_path / "demo")])
    assert res.exit_code == 0, res.output
    for folder in ("audit-judge", "audit-leaderboard", "compare"):
        compile_report(tmp_path / "demo" / folder, tmp_path / "build")
        _check_citations(tmp_path / "demo" / folder)
