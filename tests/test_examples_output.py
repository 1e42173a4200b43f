"""The scripts in examples/ never rewrite a tracked file unless asked: by default they write under
build/examples/ (ignored by git); --refresh rewrites the committed copy in reports/."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metaeval._examples import output_folder

from .conftest import ROOT, shared

EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if "OUT = " in p.read_text(encoding="utf-8"))


def test_build_is_ignored_and_the_default_folder_is_under_it():
    assert "build/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert output_folder(ROOT, "x") == ROOT / "build" / "examples" / "x"
    assert output_folder(ROOT, "x", refresh=True) == ROOT / "reports" / "x"
    assert output_folder(ROOT, "x", refresh=True, out="elsewhere") == Path("elsewhere")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_writes_to_the_ignored_folder_by_default(path):
    """Each example that writes a report takes its default folder from default_folder(), its folder
    from output_folder() (with --refresh / --out), and names no reports/ path of its own."""
    text = path.read_text(encoding="utf-8")
    joined = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div)
              and isinstance(n.right, ast.Constant) and str(n.right.value).startswith("reports")]
    assert not joined, f"{path.name} builds a reports/ path itself"
    assert "OUT = default_folder(ROOT" in text and "output_folder(ROOT" in text and "arguments(__doc__" in text


def test_refresh_environment_variable(monkeypatch):
    monkeypatch.setenv("METAEVAL_REFRESH_REPORTS", "1")
    assert output_folder(ROOT, "x") == ROOT / "reports" / "x"
    monkeypatch.setenv("METAEVAL_REFRESH_REPORTS", "0")
    assert output_folder(ROOT, "x") == ROOT / "build" / "examples" / "x"


@pytest.mark.realdata
def test_an_example_run_writes_where_it_is_told(tmp_path):
    shared("vote-n-rank", "leaderboard_glue.csv")
    env = {**os.environ, "METAEVAL_PROGRESS": "0"}
    env.pop("METAEVAL_REFRESH_REPORTS", None)
    res = subprocess.run([sys.executable, str(ROOT / "examples" / "vote_n_rank.py"), "--out", str(tmp_path)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    written = tmp_path / "index.md"
    assert f"wrote {written}" in res.stdout
    # the committed copy regenerates byte for byte
    assert written.read_bytes() == (ROOT / "reports" / "vote_n_rank" / "index.md").read_bytes()
