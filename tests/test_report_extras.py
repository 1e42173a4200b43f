"""The leaderboard audit's extras (metaeval.report.extras): run where the columns allow, skipped with a reason
where they do not, and their numbers equal the functions they come from."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from metaeval import report
from metaeval.stats.benchmark import pass_at_k
from metaeval.tables import ScoreMatrix, as_judgments


def _section(rep):
    return next(s for s in rep.sections if s.title == "Audit extras")


@pytest.fixture(scope="module")
def samples() -> pl.DataFrame:
    gen = np.random.default_rng(0)
    rows = []
    for m, skill in (("small", -0.5), ("large", 1.0)):
        for i in range(60):
            d = gen.normal()
            for r in range(4):
                p = 1 / (1 + np.exp(-(skill - d)))
                rows.append({"item": f"q{i}", "model": m, "judge": "tests", "score": float(gen.random() < p), "rep": r,
                             "task": ["math", "code", "qa"][i % 3], "confidence": float(p)})
    return pl.DataFrame(rows)


def test_pointwise_samples_get_pass_at_k_groups_and_calibration(samples) -> None:
    rep = report.build(as_judgments(samples), focus="leaderboard", n_resamples=50, progress=False)
    sec = _section(rep)
    names = [t.name for t in sec.tables]
    assert names == ["pass_at_k", "worst_group", "calibration"]
    pk = sec.tables[0].frame.filter((pl.col("model") == "large") & (pl.col("k") == 4))
    counts = samples.filter(pl.col("model") == "large").group_by("item").agg(pl.len(), pl.col("score").sum()) \
        .sort("item")
    want = pass_at_k(counts["len"].to_numpy().astype(int), counts["score"].to_numpy().astype(int), 4)
    assert pk["pass_at_k"][0] == pytest.approx(want.estimate)
    assert [f.name for f in sec.figures] == ["reliability"]
    # one sample per item and no confidence: both skipped, with the reason
    one = samples.filter(pl.col("rep") == 0).drop("confidence")
    sec = _section(report.build(as_judgments(one), focus="leaderboard", n_resamples=50, progress=False))
    assert [t.name for t in sec.tables] == ["worst_group"]
    text = " ".join(sec.notes)
    assert "pass@k skipped: one sample per item" in text and "calibration skipped: no confidence column" in text


def test_leaderboard_reference_size_and_redundancy() -> None:
    gen = np.random.default_rng(1)
    size = np.array([1, 2, 3, 7, 7, 13, 13, 30, 34, 65, 70, 180.0])
    s = np.log(size)
    cols = {"params": size, "arena": 1000 + 60 * s + gen.normal(0, 20, 12), "mmlu": 40 + 6 * s + gen.normal(0, 3, 12),
            "gsm8k": 20 + 9 * s + gen.normal(0, 6, 12), "hellaswag": 60 + 4 * s + gen.normal(0, 2, 12)}
    board = ScoreMatrix(tuple(f"m{i}" for i in range(12)), tuple(cols), np.column_stack(list(cols.values())))
    rep = report.build(board, reference="arena", focus="leaderboard", n_resamples=50, progress=False)
    sec = _section(rep)
    assert [t.name for t in sec.tables] == ["reference_correlation", "size_monotonicity", "redundancy"]
    assert set(sec.tables[0].frame["column"]) == {"mmlu", "gsm8k", "hellaswag"}
    data = next(x for x in rep.sections if x.title == "Data")
    assert "12 models × 3 tasks" in data.paragraphs[0]  # the reference and the size are not ranked
    plain = report.build(board, focus="leaderboard", n_resamples=50, progress=False)
    notes = " ".join(_section(plain).notes)
    assert "reference correlation skipped" in notes and "pass@k, worst-group accuracy and calibration skipped" in notes


def test_a_pointwise_table_scored_only_by_gold_is_reported(samples) -> None:
    """A table whose only scorer is named like a reference (`gold`) used to crash the report deep in the bias
    audit (an IndexError); now there is nothing to hold it against and every section runs."""
    one = samples.filter(pl.col("rep") == 0).with_columns(pl.lit("gold").alias("judge"))
    rep = report.build(as_judgments(one), n_resamples=50, progress=False)
    assert "Audit extras" in [s.title for s in rep.sections]
    assert "Model comparison" in [s.title for s in rep.sections]
