"""The command line: import, info, winrates, demo; one-line errors, JSON output."""

from __future__ import annotations

import json
import subprocess
import sys

import polars as pl
from click.testing import CliRunner

import metaeval
from metaeval.cli import cli

from .conftest import FIXTURES


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_version():
    res = run("--version")
    assert res.exit_code == 0 and metaeval.__version__ in res.output


def test_import_then_info(tmp_path):
    out = tmp_path / "t.parquet"
    res = run("import", str(FIXTURES / "arena" / "clean_battle.json"), "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "read 4 pairwise judgments" in res.output and "detected" in res.output
    info = run("info", str(out), "--json")
    data = json.loads(info.output)
    assert data["rows"]["rows"] == "4" and data["models"] == ["alpaca-13b", "koala-13b", "oasst-pythia-12b",
                                                                "vicuna-13b"]


def test_import_with_mapping(tmp_path):
    out = tmp_path / "t.parquet"
    res = run("import", str(FIXTURES / "generic" / "pairwise.csv"), "-o", str(out), "--map", "item=question_id",
              "--map", "judge=annotator", "--map", "model_a=left", "--map", "model_b=right", "--map",
              "outcome=verdict", "--value", "outcome:A>B=a", "--value", "outcome:B>A=b", "--value",
              "outcome:A=B=tie", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["rows"] == 4
    assert pl.read_parquet(out)["outcome"].cast(pl.String).to_list() == ["a", "tie", "b", "b"]


def test_errors_are_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("item,judge,model_a,model_b,outcome\nq1,j,x,y,A>B\n")
    res = CliRunner().invoke(cli, ["info", str(bad)])
    assert res.exit_code == 2
    assert res.output.startswith("metaeval: error: invalid table in")
    assert "Traceback" not in res.output
    missing = CliRunner().invoke(cli, ["info", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    wrong_out = CliRunner().invoke(cli, ["import", str(FIXTURES / "arena" / "clean_battle.json"), "-o",
                                         str(tmp_path / "x.csv")])
    assert wrong_out.exit_code == 2 and "must end in .parquet" in wrong_out.output



def test_errors_under_json_are_json_with_a_stable_shape(tmp_path):
    dup = tmp_path / "dup.csv"
    dup.write_text("item,judge,model,score,score\n1,a,x,3,4\n")
    res = CliRunner().invoke(cli, ["winrates", str(dup), "--json"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    error = json.loads(res.stdout)["error"]
    assert set(error) == {"type", "message", "path", "line", "field"}
    assert error["type"] == "ImportFormatError" and error["line"] == 1 and error["field"] == "score"
    assert error["path"] == str(dup) and "appears twice" in error["message"]
    bad = tmp_path / "bad.csv"
    bad.write_text("item,judge,model_a,model_b,outcome\nq1,j,x,y,A>B\n")
    schema = json.loads(CliRunner().invoke(cli, ["winrates", str(bad), "--json"]).stdout)["error"]
    assert schema["type"] == "SchemaError" and schema["path"] == str(bad) and schema["line"] is None


def test_debug_shows_the_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("item,judge\nq1,j\n")
    proc = subprocess.run([sys.executable, "-m", "metaeval.cli", "--debug", "info", str(bad)], capture_output=True,
                          text=True)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_winrates_json(tmp_path):
    out = tmp_path / "s.parquet"
    metaeval.simulate.pairwise(n_models=3, n_items=40, rng=1).judgments.write_parquet(out)
    res = run("winrates", str(out), "--seed", "3", "--n-resamples", "200", "--json")
    data = json.loads(res.output)
    assert data["run_info"]["seed"] == 3 and len(data["rows"]) == 3


def test_winrates_graded_by_default_and_discrete_on_request():
    path = str(FIXTURES / "alpaca_eval" / "annotations.json")
    out_g = run("winrates", path, "--seed", "1", "--n-resamples", "50", "--json").output
    out_d = run("winrates", path, "--seed", "1", "--n-resamples", "50", "--discrete", "--json").output
    # the fixture's dropped row and its five items are warned about before the JSON
    graded, discrete = (json.loads(o[o.index("{"):]) for o in (out_g, out_d))
    assert graded["run_info"]["params"]["graded"] is True and discrete["run_info"]["params"]["graded"] is False
    g = {r["model"]: r["win_rate"] for r in graded["rows"]}
    d = {r["model"]: r["win_rate"] for r in discrete["rows"]}
    assert g.keys() == d.keys() and g != d


def test_demo_writes_the_report(tmp_path):
    res = run("demo", "-o", str(tmp_path / "demo"), "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert (tmp_path / "demo" / "index.html").exists() and (tmp_path / "demo" / "index.md").exists()
    assert summary["rank_correlation_with_truth"] > 0.8
    text = (tmp_path / "demo" / "index.md").read_text()
    assert "## Win rates" in text and "## Pairwise counts" in text and "## The three workflows" in text
    page = (tmp_path / "demo" / "index.html").read_text()
    for folder in ("audit-judge", "audit-leaderboard", "compare"):  # the index links its sub-reports
        assert f"]({folder}/index.md)" in text and f'<a href="{folder}/index.html">' in page
    for folder, section in (("audit-judge", "## Bias audit"), ("audit-leaderboard", "## Ratings and rank uncertainty"),
                            ("compare", "## Model comparison")):
        assert section in (tmp_path / "demo" / folder / "index.md").read_text()
        assert (tmp_path / "demo" / folder / "index.html").exists()


def test_import_reports_abstentions(tmp_path):
    out = tmp_path / "a.parquet"
    res = CliRunner().invoke(cli, ["import", str(FIXTURES / "alpaca_eval" / "annotations.json"), "-o", str(out)])
    assert res.exit_code == 0
    assert "metaeval: warning: 1 of 6 rows have no verdict: they are kept as abstentions" in res.output
    info = CliRunner().invoke(cli, ["info", str(out), "--json"])
    assert json.loads(info.stdout)["rows"]["abstentions (no verdict)"] == "1"


def test_rank_command(tmp_path):
    out = tmp_path / "s.parquet"
    metaeval.simulate.pairwise(n_models=4, n_items=80, rng=2).judgments.write_parquet(out)
    res = run("rank", str(out), "--method", "bradley_terry", "--seed", "1", "--n-resamples", "100", "--scale", "elo",
              "--json")
    data = json.loads(res.output)
    assert len(data["rows"]) == 4 and data["run_info"]["params"]["scale"] == "elo"
    text = run("rank", str(out), "--ci", "sandwich", "--cluster", "item")
    assert "cluster-robust sandwich" in text.output
