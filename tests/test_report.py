"""Reports: golden Markdown and LaTeX, escaping of untrusted names, the self-contained HTML page in
real headless Chromium (charts draw, no console error, nothing fetched, no injected script
runs), the builders for pairwise, pointwise and leaderboard tables, and the CLI workflows."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import polars as pl
import pytest
from click.testing import CliRunner

import metaeval
from metaeval import report
from metaeval.cli import cli
from metaeval.errors import MetaevalError
from metaeval.report import Figure, Report, Section, Table

GOLDEN = Path(__file__).parent / "golden"
EVIL = ['<img src=x onerror="document.body.dataset.pwned=1">', "<script>document.body.dataset.pwned=1</script>"]


def small_report(names: list[str] | None = None) -> Report:
    names = names or ["gpt_4 & co", "50% model #2", "plain"]
    frame = pl.DataFrame({"model": names, "acc": [0.8123, 0.7, 0.65], "acc_low": [0.79, 0.66, 0.6],
                          "acc_high": [0.835, 0.74, 0.7], "n": [100, 100, 100]})
    t = Table("accuracy", "Accuracy with 95% interval (n_items)", frame, intervals={"acc": ("acc_low", "acc_high")},
              best={"acc": "max"})
    s = Section("Results_1", ["Text with $ and ~ and {braces}, κ ≥ 0.5 and `code_span`."], [t],
                notes=["a note_with underscore"], methods=["Method_x cites [@holm1979simple]."])
    return Report("Report: 100% & more", [s], provenance={"seed": 0},
                  references={"holm1979simple": report.REFERENCES["holm1979simple"]})


def test_golden_markdown_and_latex():
    rep = small_report()
    assert rep.to_markdown() == (GOLDEN / "report.md").read_text()
    assert rep.latex_table(rep.sections[0].tables[0]) == (GOLDEN / "table.tex").read_text().rstrip("\n")


def test_latex_escapes_every_special_character():
    nasty = r"a_b %c &d #e $f {g} ~h ^i \j"
    rep = small_report([nasty, "x", "y"])
    tex = rep.to_latex()
    line = next(x for x in tex.splitlines() if x.startswith("a\\_"))
    assert line.startswith(r"a\_\allowbreak{}b \%c \&d \#e \$f \{g\} \textasciitilde{}h \textasciicircum{}i "
                           r"\textbackslash{}j")
    # braces balance outside escaped ones
    unescaped = tex.replace(r"\{", "").replace(r"\}", "")
    assert unescaped.count("{") == unescaped.count("}")
    # that it compiles is tested in test_report_latex.py (pdflatex and lualatex)


def test_markdown_shows_untrusted_names_as_text():
    rep = small_report(["a|b", "*bold*", "[x](javascript:alert(1))"])
    md = rep.to_markdown()
    assert "a\\|b" in md and "\\*bold\\*" in md and "](javascript" not in md


def test_intervals_and_best_values():
    cols, rows, numeric = report.paper_cells(small_report().sections[0].tables[0])
    assert cols == ["model", "acc", "n"] and numeric == [False, True, True]
    # rounded to what the interval supports: a half-width of 0.0225 keeps 3 decimals, 0.04 keeps 2
    assert rows[0][1] == ("0.812 [0.790, 0.835]", True) and rows[1][1] == ("0.70 [0.66, 0.74]", False)
    with pytest.raises(MetaevalError, match="no column `nope`"):
        report.paper_cells(Table("t", "c", pl.DataFrame({"a": [1.0]}), intervals={"a": ("nope", "a")}))


def test_builders_choose_sections_from_the_table(tmp_path):
    pw = metaeval.simulate.pairwise(n_models=4, n_items=60, judges=("judge-atlas", "judge-borealis"), n_humans=2,
                                    both_orders=True, position_bias=0.6, rng=0).judgments
    rep = report.build(pw, n_resamples=60, progress=False)
    titles = [s.title for s in rep.sections]
    assert titles[:3] == ["Data", "Win rates", "Ratings and rank uncertainty"]
    assert "Bias audit" in titles and "Judge or jury" in titles and any(t.startswith("Judges against") for t in titles)
    judge_only = report.build(pw, focus="judge", n_resamples=60, progress=False)
    assert "Win rates" not in [s.title for s in judge_only.sections]
    # focus computes only what it shows, and what it shows is what the full report shows
    full = {s.title: s for s in rep.sections}
    for s in judge_only.sections[1:]:
        assert [t.frame.equals(u.frame) for t, u in zip(s.tables, full[s.title].tables, strict=True)] == \
            [True] * len(s.tables), s.title
    calls = []
    real_rank = metaeval.rankers.api.RANKERS["bradley_terry"]
    import dataclasses

    spy = dataclasses.replace(real_rank, fit=lambda *a: calls.append(a) or real_rank.fit(*a))
    metaeval.rankers.api.RANKERS["bradley_terry"] = spy
    try:
        report.build(pw, focus="judge", n_resamples=20, progress=False)
    finally:
        metaeval.rankers.api.RANKERS["bradley_terry"] = real_rank
    assert calls == []  # no ratings fitted for a judge audit
    pt = metaeval.simulate.pointwise(n_models=4, n_items=50, n_humans=2, rng=1).judgments
    rep_pt = report.build(pt, n_resamples=60, progress=False)
    assert "Model comparison" in [s.title for s in rep_pt.sections]
    jury = next(s for s in rep_pt.sections if s.title == "Judge or jury")  # grades pooled by their mean
    assert jury.tables and jury.paragraphs[0].startswith("Recommended:"), jury.notes
    assert "grades by their mean" in jury.methods[0]
    sm = pt.score_matrix(by="judge")
    rep_sm = report.build(sm, progress=False, n_resamples=20)
    assert [s.title for s in rep_sm.sections][1] == "Winner under every rule"
    files = rep.write(tmp_path, figure_formats=("svg",))
    names = {p.name for p in files}
    assert {"index.html", "index.md", "report.tex", "tables.tex", "references.bib", "win_rates.svg",
            "win_rates.csv", "win_rates.parquet"} <= names
    assert "Bradley" in (tmp_path / "references.bib").read_text()
    with pytest.raises(MetaevalError, match="no judges to audit"):
        report.build(sm, focus="judge")


# -------------------------------------------------------------------- Chromium
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")


def _chromium(page: Path, *extra: str) -> tuple[str, str]:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=20000", *extra, page.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return res.stdout, res.stderr


class _Hits(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@needs_chromium
def test_html_report_draws_every_chart_offline_with_no_console_error(tmp_path):
    chart_judgments = metaeval.simulate.pairwise(n_models=4, n_items=60, judges=("judge-atlas", "judge-borealis"),
                                                 n_humans=2, rng=0).judgments
    rep = report.build(chart_judgments, n_resamples=50, progress=False)
    n_charts = sum(len(s.figures) for s in rep.sections)
    page = tmp_path / "index.html"
    page.write_text(rep.to_html())
    dom, log = _chromium(page, "--dump-dom")
    assert 'data-charts="drawn"' in dom
    assert dom.count('class="chart') == n_charts and dom.count("<svg") >= n_charts
    console = [x for x in log.splitlines() if ":CONSOLE" in x]
    assert not console, console
    shot = tmp_path / "shot.png"
    _chromium(page, f"--screenshot={shot}", "--window-size=1200,2400")
    from PIL import Image

    img = Image.open(shot).convert("RGB")
    colours = img.getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 50  # charts and text, not a blank page


@needs_chromium
def test_untrusted_names_cannot_run_script_or_fetch(tmp_path):
    _Hits.hits = []
    server = HTTPServer(("127.0.0.1", 0), _Hits)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fetch = f'<img src="http://127.0.0.1:{server.server_port}/leak">'
    names = [*EVIL, fetch]
    rep = small_report(names)
    rep.sections[0].figures.append(Figure("bars", "bars", {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json", "mark": "bar",
        "data": {"values": [{"model": n, "acc": 0.5 + i / 10} for i, n in enumerate(names)]},
        "encoding": {"x": {"field": "model", "type": "nominal"}, "y": {"field": "acc", "type": "quantitative"},
                     "tooltip": [{"field": "model", "type": "nominal"}]}}))
    page = tmp_path / "index.html"
    page.write_text(rep.to_html())
    dom, log = _chromium(page, "--dump-dom")
    server.shutdown()
    assert "Uncaught" not in log
    assert 'data-charts="drawn"' in dom
    assert "pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]  # no attribute set on <body>
    assert "&lt;script&gt;document.body.dataset.pwned=1&lt;/script&gt;" in dom  # shown as text
    assert _Hits.hits == []


# ------------------------------------------------------------------------- CLI
def test_cli_report_and_workflows(tmp_path):
    sim = metaeval.simulate.pairwise(n_models=4, n_items=50, judges=("judge-atlas", "judge-borealis"), n_humans=2,
                                     rng=0)
    table = tmp_path / "t.parquet"
    sim.judgments.frame.write_parquet(table)
    runner = CliRunner()
    res = runner.invoke(cli, ["report", str(table), "-o", str(tmp_path / "full"), "--n-resamples", "50",
                              "--figures", "", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert "Win rates" in data["sections"] and (tmp_path / "full" / "index.html").exists()
    res = runner.invoke(cli, ["audit-judge", str(table), "-o", str(tmp_path / "judge"), "--n-resamples", "50",
                              "--figures", "", "--format", "md"])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "judge" / "index.md").read_text()
    assert "## Bias audit" in text and "## Win rates" not in text
    board = tmp_path / "board.csv"
    pl.DataFrame({"model": ["a", "b", "c", "d"], "t1": [0.9, 0.8, 0.7, 0.6], "t2": [0.5, 0.9, 0.4, 0.3],
                  "t3": [0.7, 0.6, 0.8, 0.2]}).write_csv(board)
    res = runner.invoke(cli, ["audit-leaderboard", str(board), "-o", str(tmp_path / "lb"), "--figures", "",
                              "--format", "md", "--n-resamples", "20"])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "lb" / "index.md").read_text()
    assert "Condorcet winner" in text and "## Data\n\n4 models × 3 tasks" in text
    assert "](figures/" not in text  # no figures written, no broken image links
    # --top / --exclude / --tasks / --model read the leaderboard the way `vote` does (one shared reader)
    res = runner.invoke(cli, ["audit-leaderboard", str(board), "-o", str(tmp_path / "lb2"), "--figures", "",
                              "--format", "md", "--n-resamples", "20", "--top", "3", "--exclude", "t3"])
    assert res.exit_code == 0, res.output
    assert "## Data\n\n3 models × 2 tasks" in (tmp_path / "lb2" / "index.md").read_text()
    vote = runner.invoke(cli, ["vote", str(board), "--top", "3", "--exclude", "t3", "--json"])
    cut = metaeval.read_leaderboard(board, top=3, exclude=["t3"])
    assert json.loads(vote.output)["rows"][0]["winners"] == ", ".join(
        metaeval.rankers.compare_rules(cut).winners["arithmetic_mean"])
    typo = runner.invoke(cli, ["audit-leaderboard", str(board), "-o", str(tmp_path / "lb3"), "--exclude", "t9"])
    assert typo.exit_code == 2 and "`exclude` names no column 't9'" in typo.output
    judged = runner.invoke(cli, ["audit-leaderboard", str(table), "-o", str(tmp_path / "lb4"), "--top", "3"])
    assert judged.exit_code == 2 and "apply to a models x tasks leaderboard" in judged.output
    bad = runner.invoke(cli, ["report", str(table), "-o", str(tmp_path / "x"), "--format", "docx"])
    assert bad.exit_code == 2 and "`formats`" in bad.output


def test_html_without_vl_convert_keeps_the_tables_and_says_where_the_charts_went(monkeypatch):
    from metaeval.report import document

    def missing() -> str:
        raise MetaevalError("charts in the HTML report need the `report` extra (vl-convert-python)")

    monkeypatch.setattr(document, "vega_bundle", missing)
    rep = small_report()
    rep.sections[0].figures.append(Figure("f", "a chart", {"mark": "bar"}))
    page = rep.to_html()
    assert "chart left out (a chart)" in page and "<table" in page and "vegaEmbed" not in page


def test_adjacent_differences_find_the_real_steps_of_a_leaderboard():
    from metaeval.rankers import rank
    from metaeval.rankers.ranking import adjacent_differences

    sim = metaeval.simulate.pairwise(n_models=4, n_items=400, strengths=[1.5, 0.0, 0.0, -1.5], judges=("judge-x",),
                                     n_humans=0, rng=3)
    adj = adjacent_differences(rank(sim.judgments, "bradley_terry", n_resamples=300, rng=0))
    steps = dict(zip(zip(adj["model"], adj["next"], strict=True), adj["significant"], strict=True))
    equal = {m for m, s in sim.truth.strengths.items() if s == 0.0}
    for (a, b), sig in steps.items():
        assert sig == ({a, b} != equal), (a, b)
    assert (adj["p_holm"] >= adj["pvalue"]).all()


# ------------------------------------------------------------------ text a reviewer reads
def _cited_once(rep: Report) -> list[str]:
    from metaeval.report.text import CITATION, cited_keys

    methods = rep.methods_text()
    groups = [k.strip().lstrip("@") for m in CITATION.finditer(methods) for k in m.group(1).split(";")]
    assert len(groups) == len(set(groups)), groups  # each work cited once
    keys = cited_keys(methods)
    assert set(re.findall(r"@\w+\{([^,]+),", rep.bibtex_text())) == set(keys)  # the .bib holds exactly those
    return keys


def test_methods_come_from_the_sections_present():
    pw = metaeval.simulate.pairwise(n_models=4, n_items=60, judges=("judge-atlas", "judge-borealis"), n_humans=2,
                                    both_orders=True, rng=0).judgments
    judge = report.build(pw, focus="judge", n_resamples=50, progress=False)
    keys = _cited_once(judge)
    assert "Bradley" not in judge.methods_text() and "bradley1952rank" not in keys
    assert {"cohen1960coefficient", "holm1979simple", "efron1994introduction"} <= set(keys)
    board = report.build(pw, focus="leaderboard", n_resamples=50, progress=False)
    keys = _cited_once(board)
    assert "bradley1952rank" in keys and "cohen1960coefficient" not in keys and "Bias" not in board.methods_text()
    pt = metaeval.simulate.pointwise(n_models=4, n_items=40, n_humans=2, rng=1).judgments
    keys = _cited_once(report.build(pt, n_resamples=50, progress=False))
    assert "krippendorff2018content" in keys and "bradley1952rank" not in keys  # graded scores: α, not κ
    sm = report.build(pt.score_matrix(by="judge"), n_resamples=20, progress=False)
    assert set(_cited_once(sm)) == {"rofin2023votenrank", "demsar2006statistical"}
    # the number of resamples said is the number used
    assert "from 50 resamples" in judge.methods_text()


def test_floored_pvalues_are_bounds_and_a_decision_on_a_floor_gets_more_resamples():
    from metaeval.rankers import rank
    from metaeval.rankers.ranking import adjacent_differences

    sim = metaeval.simulate.pairwise(n_models=9, n_items=300, strengths=[2.4 - 0.6 * i for i in range(9)],
                                     judges=("judge-x",), n_humans=0, rng=5)
    adj = adjacent_differences(rank(sim.judgments, "bradley_terry", n_resamples=200, cluster="item", rng=0))
    # every step is real and every p-value sits at the floor 2 / 201: Holm's 8 x 0.00995 > 0.05
    assert adj["pvalue_at_floor"].all() and adj["decided_by_floor"].any() and not adj["significant"].all()
    rep = report.build(sim.judgments, focus="leaderboard", n_resamples=200, progress=False)
    ratings = next(s for s in rep.sections if s.title == "Ratings and rank uncertainty")
    assert any("resampled 1,000 times" in n for n in ratings.notes), ratings.notes
    assert "from 1,000 bootstrap resamples" in rep.methods_text()
    table = next(t for t in ratings.tables if t.name == "adjacent")
    assert table.frame["significant"].all()  # with 1,000 resamples no flag rests on the floor
    cols, rows, _ = report.paper_cells(table)
    p = [r[cols.index("pvalue")][0] for r in rows]
    assert all(x == "< 0.002" for x in p), p  # 2 / 1001, shown as the bound it is
    assert "pvalue_at_floor" not in cols and "p_holm_bound" not in cols


def test_markdown_and_html_show_code_not_backticks():
    pw = metaeval.simulate.pairwise(n_models=4, n_items=40, judges=("judge-atlas",), n_humans=1, rng=0).judgments
    rep = report.build(pw, focus="leaderboard", n_resamples=30, progress=False)
    md = rep.to_markdown()
    assert "\\`" not in md and "| distinct `rep` values |" in md
    page = re.sub(r"<script.*?</script>", "", rep.to_html(bundle=""), flags=re.DOTALL)
    assert "`" not in page and "<code>rep</code>" in page
    # a model name with backticks and markup is still text, never HTML
    evil = small_report(["`<b>x</b>`", "b", "c"]).to_html(bundle="")
    assert "<b>x</b>" not in evil and "<code>&lt;b&gt;x&lt;/b&gt;</code>" in evil


def test_links_are_relative_paths_only():
    from metaeval.report import Link

    sec = Section("S", links=[Link("sub", "sub/index.html", "sub/index.md")])
    rep = Report("R", [sec])
    assert "[sub](sub/index.md)" in rep.to_markdown() and '<a href="sub/index.html">sub</a>' in rep.to_html()
    for bad in ("javascript:alert(1)", "/etc/passwd", "../x", "http://x.org/a"):
        with pytest.raises(MetaevalError, match="relative path"):
            Link("x", bad)


def test_report_csvs_neutralise_spreadsheet_formulas(tmp_path):
    """A model named like a formula is written as text in the report's CSVs (OWASP: a leading ');
    the Parquet copy keeps the name as it was."""
    evil = '=HYPERLINK("http://x","click")'
    pw = metaeval.simulate.pairwise(n_models=3, n_items=30, rng=0).judgments
    a = pw.models[0]
    frame = pw.frame.with_columns(pl.col("model_a").replace(a, evil), pl.col("model_b").replace(a, evil))
    rep = report.build(metaeval.Judgments(frame), focus="leaderboard", n_resamples=20, progress=False)
    rep.write(tmp_path, formats=("md",), figure_formats=())
    text = (tmp_path / "data" / "win_rates.csv").read_text()
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ',=HYPERLINK' not in text
    assert evil in pl.read_parquet(tmp_path / "data" / "win_rates.parquet")["model"].to_list()


def test_report_takes_rng_and_the_old_seed_name_with_a_warning():
    import warnings

    sim = metaeval.simulate.pairwise(n_models=3, n_items=30, judges=("judge-atlas",), n_humans=1, rng=0)
    new = report.build(sim.judgments, focus="leaderboard", n_resamples=20, rng=5, progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = report.build(sim.judgments, focus="leaderboard", n_resamples=20, seed=5, progress=False)
    assert any("`seed` is now `rng`" in str(w.message) for w in caught)
    assert new.provenance["seed"] == old.provenance["seed"] == 5
    assert [t.frame.equals(u.frame) for s, r in zip(new.sections, old.sections, strict=True)
            for t, u in zip(s.tables, r.tables, strict=True)] == [True] * sum(len(s.tables) for s in new.sections)


def test_the_confidence_level_passes_through_to_every_interval_and_caption():
    import warnings

    sim = metaeval.simulate.pairwise(n_models=4, n_items=60, judges=("judge-atlas",), n_humans=2, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r90 = report.build(sim.judgments, n_resamples=100, confidence_level=0.9, progress=False)
        r95 = report.build(sim.judgments, n_resamples=100, progress=False)
    md90, md95 = r90.to_markdown(), r95.to_markdown()
    assert "95 %" not in md90 and md90.count("90 %") == md95.count("95 %") > 5
    t90 = {t.name: t.frame for s in r90.sections for t in s.tables}
    t95 = {t.name: t.frame for s in r95.sections for t in s.tables}
    for name in ("win_rates", "ratings"):
        narrower = (t90[name]["ci_high"] - t90[name]["ci_low"]) < (t95[name]["ci_high"] - t95[name]["ci_low"])
        assert narrower.all(), name


def test_report_commands_take_the_confidence_level(tmp_path):
    sim = metaeval.simulate.pairwise(n_models=4, n_items=40, judges=("judge-atlas",), n_humans=2, rng=0)
    path = tmp_path / "t.parquet"
    sim.judgments.write_parquet(path)
    r = CliRunner().invoke(cli, ["audit-leaderboard", str(path), "-o", str(tmp_path / "out"), "--confidence-level",
                                 "0.9", "--n-resamples", "50", "--figures", ""])
    assert r.exit_code == 0, r.output
    text = (tmp_path / "out" / "index.md").read_text()
    assert "90 %" in text and "95 %" not in text
    bad = CliRunner().invoke(cli, ["audit-leaderboard", str(path), "-o", str(tmp_path / "o2"), "--confidence-level",
                                   "95"])
    assert bad.exit_code == 2 and "confidence-level" in bad.output


def test_the_agreement_caption_states_the_missing_verdict_rule():
    """Judge × judge agreement leaves a missing verdict's unit out of the pair, while the table
    against the reference counts it as wrong: the caption says both, so a reviewer who sees two κ
    for one judge is told why (numeric scores: only the first half, as both tables drop them)."""
    pw = metaeval.simulate.pairwise(n_models=3, n_items=40, judges=("judge-atlas", "judge-borealis"), n_humans=1,
                                    rng=0).judgments
    rep = report.build(pw, focus="judge", n_resamples=20, progress=False)
    text = " ".join(next(s for s in rep.sections if s.title == "Judge agreement").paragraphs)
    assert "A missing verdict leaves its unit out of that pair (n_units: the units each pair used)" in text
    assert "the table against the reference counts missing verdicts as wrong" in text
    pt = metaeval.simulate.pointwise(n_models=3, n_items=30, n_humans=2, rng=0).judgments
    text = " ".join(next(s for s in report.build(pt, focus="judge", n_resamples=20, progress=False).sections
                         if s.title == "Judge agreement").paragraphs)
    assert "leaves its unit out of that pair" in text and "counts missing verdicts as wrong" not in text
