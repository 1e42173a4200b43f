"""Null calibration of the bias probes (metaeval.bias.study): a fast check that catches gross
miscalibration, and the full study (slow) with every row within tolerance and planted effects
detected."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

from metaeval.bias.study import SCENARIOS, Scenario, calibration_study, markdown_table
from metaeval.errors import MetaevalError

_JUDGES = {"n_models": 5, "judges": ("judge-atlas", "judge-borealis"), "n_humans": 2}

#: The issue's false alarm made gross: judges twice as sharp as the humans, 150 items. The old
#: self-preference model (shared strengths, no sharpness term) rejected in 70 % of these studies.
FAST = {
    "judges twice as sharp, 150 items": Scenario(
        "pairwise", {**_JUDGES, "n_items": 150, "judge_scale": 2.0},
        ("position (one order)", "length", "self-preference")),
    "planted self-preference 0.7, 150 items": Scenario(
        "pairwise", {**_JUDGES, "n_items": 150, "judge_noise": 0.0, "judge_scale": 2.0, "self_preference": 0.7,
                     "length_bias": 0.5},
        ("length", "self-preference"), null=False, truth={"length": 0.5, "self-preference": 0.7}),
}


def test_fast_calibration_catches_gross_false_alarms_and_finds_planted_effects():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = calibration_study(30, scenarios=FAST, rng=1)
    t = {(r["scenario"], r["test"]): r for r in res.table.iter_rows(named=True)}
    # 60 rows per null test (two judges × 30): a 5 % test exceeds 15 % with probability < 0.001.
    for test in ("position (one order)", "length", "self-preference"):
        row = t[("judges twice as sharp, 150 items", test)]
        assert row["n"] == 60 and row["rejection_rate"] <= 0.15, row
        assert row["coverage"] >= 0.85, row
    for test in ("length", "self-preference"):
        row = t[("planted self-preference 0.7, 150 items", test)]
        assert row["rejection_rate"] >= 0.8 and row["coverage"] >= 0.8, row
    assert "| judges twice as sharp, 150 items | self-preference | 60 |" in markdown_table(res)


def test_fast_calibration_of_the_calibration_probe():
    # The old bootstrap held the out-of-fold predictions fixed: 18 % false positives, 82 % coverage here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = calibration_study(120, scenarios=["pointwise, calibrated judge"], rng=3)
    row = res.table.filter(pl.col("test") == "calibration").row(0, named=True)
    assert row["rejection_rate"] <= 0.12 and row["coverage"] >= 0.88, row


def test_study_bad_input():
    with pytest.raises(MetaevalError, match="unknown scenario 'nope'"):
        calibration_study(2, scenarios=["nope"])
    with pytest.raises(MetaevalError, match="unknown probe 'telepathy'"):
        calibration_study(2, scenarios={"x": Scenario("pairwise", _JUDGES, ("telepathy",))})


def test_declared_rows_are_counted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = calibration_study(3, scenarios=["tiny n (6 items)"], rng=2)
    declared = dict(zip(res.table["test"], res.table["declared"], strict=True))
    # Below 12 items the t-based probes say their intervals are approximate; the exact test does not need to.
    assert declared["self-preference"] == declared["length"] == declared["intra-model"] == 1.0
    assert declared["position (both orders)"] == 0.0


#: Least power each planted effect must reach in the full study (its row's rejection rate).
POWER = {
    ("planted position, length and self-preference", "position (both orders)"): 0.95,
    ("planted position, length and self-preference", "position (one order)"): 0.95,
    ("planted position, length and self-preference", "length"): 0.9,
    ("planted position, length and self-preference", "self-preference"): 0.6,
    ("planted self-preference, small n (12 items)", "self-preference"): 0.25,
    ("pointwise, planted effects", "length"): 0.75,
    ("pointwise, planted effects", "self-preference"): 0.6,
    ("pointwise, planted effects", "intra-model"): 0.75,
    ("pointwise, planted effects", "calibration"): 0.9,
}


@pytest.mark.slow
def test_full_null_calibration_study_every_row_within_tolerance():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = calibration_study(500, rng=0)
    table = res.table
    assert set(table["scenario"]) == set(SCENARIOS)
    # A replicate fails only where the design leaves a term unidentified (strengths that collide).
    assert (table["n"] >= 500).all() and (table["n_failed"] <= 0.01 * table["n"]).all()
    bad = table.filter(~pl.col("ok"))
    assert bad.height == 0, markdown_table(res)
    # Rows that pass only because the probe declared itself approximate are the expected ones.
    declared_only = table.filter(~pl.col("within_tolerance") & (pl.col("declared") > 0.5))
    assert set(declared_only["scenario"]) <= {"pointwise, judges sharper", "tiny n (6 items)",
                                              "pointwise, calibrated judge, small n (12 items)"}, declared_only
    for key, least in POWER.items():
        row = table.filter((pl.col("scenario") == key[0]) & (pl.col("test") == key[1])).row(0, named=True)
        assert row["rejection_rate"] >= least, (key, row["rejection_rate"])
    # Coverage where the truth is known and the interval is not declared approximate.
    covered = table.filter(pl.col("coverage").is_not_nan() & (pl.col("declared") <= 0.5)
                           & ~pl.col("test").is_in(["position (both orders)"]))
    assert covered["coverage"].is_between(0.93, 0.97).all(), covered
