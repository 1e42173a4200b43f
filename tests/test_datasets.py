"""The tables shipped with metaeval (metaeval.datasets): small, documented with source and licence,
installed as package data, and readable by metaeval."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path

import polars as pl
import pytest

import metaeval
from metaeval import datasets
from metaeval.errors import MetaevalError

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "metaeval" / "datasets"
DATA_SUFFIXES = (".csv", ".jsonl", ".parquet")


def test_every_file_is_listed_small_and_documented():
    files = sorted(p.name for p in FOLDER.iterdir() if p.suffix in DATA_SUFFIXES)
    assert files == sorted(datasets.names())
    readme = (FOLDER / "README.md").read_text(encoding="utf-8")
    for name, d in datasets.DATASETS.items():
        assert datasets.path(name).stat().st_size <= 12_000, f"{name} is larger than a few KB"
        assert f"`{name}`" in readme, f"{name} is not described in metaeval/datasets/README.md"
        assert d.source and d.licence and d.description
    # excerpts of data sets without a licence are never shipped
    for unlicensed in ("judgebench", "faireval"):
        assert not any(unlicensed in n.lower() for n in datasets.names())
        assert all(unlicensed not in d.source.lower() for d in datasets.DATASETS.values())
    assert "Permission is hereby granted" in readme  # LLMBar's MIT notice travels with its excerpts


def test_the_files_are_installed_as_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert "metaeval.datasets" in config["packages"]
    patterns = config["package-data"]["metaeval.datasets"]
    for name in [*datasets.names(), "README.md"]:
        assert any(fnmatch.fnmatch(name, p) for p in patterns), f"{name} would not be installed"


def test_each_table_reads_as_documented():
    assert metaeval.read(datasets.path("llmbar_natural.csv")).kind == "pairwise"
    alpaca = metaeval.read(datasets.path("alpacaeval_annotations.csv"))
    assert alpaca.provenance["format"] == "alpaca_eval (csv)" and len(alpaca.items) == 40
    assert set(metaeval.read(datasets.path("judge_study.parquet")).judges) == {
        "human:1", "judge-atlas", "judge-borealis", "judge-cirrus"}
    assert metaeval.read(datasets.path("grades.csv")).kind == "pointwise"
    assert metaeval.read(datasets.path("per_item.csv")).kind == "pointwise"
    assert metaeval.read(datasets.path("judge_scores.csv")).kind == "pointwise"
    board = metaeval.read_leaderboard(datasets.path("glue_top30.csv"), top=30, preset="vote_n_rank")
    assert len(board.models) == 30 and "AX" not in board.tasks
    votes = pl.read_csv(datasets.path("votes.csv"))
    assert set(votes["verdict"].unique().to_list()) <= {"A>B", "B>A", "A=B"}
    answers = pl.read_csv(datasets.path("answers.csv"))
    assert set(answers.columns) == {"item", "model", "answer", "gold"}
    judges = pl.read_csv(datasets.path("alpacaeval_judges.csv"))
    assert judges["human_agreement"].min() > 1  # percentages throughout (the source's unit slip left out)
    items = [json.loads(x) for x in datasets.path("llmbar_items.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(items) == 8 and all({"id", "prompt", "response_a", "response_b", "gold"} <= set(x) for x in items)


def test_copy_puts_the_tables_and_their_licences_in_a_folder(tmp_path):
    written = datasets.copy(tmp_path / "tour")
    assert sorted(p.name for p in written) == sorted([*datasets.names(), "DATASETS.md"])
    assert (tmp_path / "tour" / "DATASETS.md").read_text(encoding="utf-8").startswith("# The tables")


def test_an_unknown_name_is_one_clear_error():
    message = "no shipped table 'nope.csv'; the tables are llmbar_natural.csv"
    with pytest.raises(MetaevalError, match=re.escape(message)):
        datasets.path("nope.csv")


SIMULATED = ("votes.csv", "grades.csv", "judge_study.parquet", "per_item.csv", "answers.csv", "judge_scores.csv",
             "arena_battles.parquet")
EXCERPTS = ("llmbar_natural.csv", "llmbar_items.jsonl", "alpacaeval_annotations.csv", "alpacaeval_judges.csv",
            "glue_top30.csv")


def test_the_simulated_tables_regenerate_byte_for_byte(tmp_path):
    """The shipped simulated tables are what their recipe (metaeval/datasets/_make.py, fixed seeds) writes:
    the text tables byte for byte; the Parquet table value for value, with its schema (its bytes depend on
    the writer's version: polars 2.2 lays out the same table differently from 2.1)."""
    from metaeval.datasets import _make

    assert sorted([*SIMULATED, *EXCERPTS]) == sorted(datasets.names())
    _make.simulated(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(SIMULATED)
    for name in SIMULATED:
        if name.endswith(".parquet"):
            new, shipped = pl.read_parquet(tmp_path / name), pl.read_parquet(datasets.path(name))
            assert new.schema == shipped.schema and new.equals(shipped), name
        else:
            assert (tmp_path / name).read_bytes() == datasets.path(name).read_bytes(), name


@pytest.mark.realdata
def test_the_excerpts_regenerate_byte_for_byte_from_the_public_data(tmp_path):
    """The excerpts are what _make.py cuts from the public data sets (skipped without ../shared/data)."""
    from metaeval.datasets import _make

    from .conftest import shared

    data = shared("llmbar", "judgments.csv").parents[1]
    shared("alpaca-eval", "annotations_compact.csv")
    shared("vote-n-rank", "leaderboard_glue.csv")
    _make.llmbar(data, tmp_path)
    _make.alpaca_eval(data, tmp_path)
    _make.glue(data, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(EXCERPTS)
    for name in EXCERPTS:
        assert (tmp_path / name).read_bytes() == datasets.path(name).read_bytes(), name
