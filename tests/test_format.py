"""The one rule for numbers (estimate and interval rounded together, p-values, columns) and the
LaTeX escaping every writer shares (metaeval._format)."""

from __future__ import annotations

import math
import re

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

import metaeval
from metaeval._format import (
    column_decimals,
    format_interval,
    format_pvalue,
    interval_columns,
    interval_decimals,
    latex_escape,
    table_text,
)


def _arviz_decimals(two_se: float) -> int:
    """arviz's rule for a statistic next to its Monte Carlo error: the decimal place of the first
    significant digit of 2 × se (arviz_stats.summary, round_to="auto")."""
    return -math.floor(math.log10(abs(two_se)))


@given(st.floats(-1e4, 1e4), st.floats(1e-6, 1e4))
def test_interval_decimals_follow_arvizs_rule_with_the_pdg_refinement(est, half):
    d = interval_decimals(est, est - half, est + half)
    assert d is not None
    leading = half / 10 ** math.floor(math.log10(half))
    expected = _arviz_decimals(half) + (1 if leading < 3.55 else 0)
    # clamped at 0 decimals and 8 at most; up to two more only to keep a non-zero number's sign
    base = min(max(expected, 0), 8)
    assert base <= d <= min(base + 2, 8)
    if d > base:
        assert any(v != 0 and round(v, d - 1) == 0 for v in (est - half, est + half))


@given(st.floats(-1e3, 1e3), st.floats(1e-4, 1e3))
def test_rounding_moves_a_number_by_at_most_15_percent_of_its_uncertainty(est, half):
    e, lo, hi = (float(x) for x in format_interval(est, est - half, est + half))
    if interval_decimals(est, est - half, est + half) > 0:  # not clamped at whole numbers
        assert abs(e - est) <= 0.15 * half + 1e-12
        assert abs(lo - (est - half)) <= 0.15 * half + 1e-12 and abs(hi - (est + half)) <= 0.15 * half + 1e-12


def test_the_issues_examples_are_rounded_together():
    # "12.7 [9.102, 16.3]": one precision for the three, what a half-width of 3.6 supports
    assert format_interval(12.7, 9.102, 16.3) == ("13", "9", "16")
    assert format_interval(0.6123, 0.5811, 0.6431) == ("0.612", "0.581", "0.643")
    # an upper bound of -0.003 keeps its sign: the interval does not hold 0
    assert format_interval(-0.09, -0.18, -0.003) == ("-0.090", "-0.180", "-0.003")
    # ranks stay whole numbers; a degenerate interval keeps the estimate's own digits
    assert format_interval(3, 2.0, 5.0) == ("3", "2", "5")
    assert format_interval(0.5, 0.5, 0.5) == ("0.500", "0.500", "0.500")
    assert format_interval(0.5, float("nan"), float("nan")) == ("0.500", "nan", "nan")


def test_pvalues_have_one_style():
    assert format_pvalue(0.0432) == "0.043" and format_pvalue(0.5) == "0.500" and format_pvalue(1.0) == "1.000"
    assert format_pvalue(3e-12) == "< 0.001" and format_pvalue(float("nan")) == "nan"
    # a resampling floor: 2 / (300 + 1) is only an upper bound
    assert format_pvalue(2 / 301, upper_bound=True) == "< 0.007"
    assert format_pvalue(1 / 10_001, upper_bound=True) == "< 0.001"
    # never rounded up to the level it is below
    assert format_pvalue(0.0499) == "0.0499" and format_pvalue(0.0504) == "0.050"


def test_a_column_has_one_precision():
    # "1.000" next to "10.0" was the old style; now one number of decimals per column
    assert column_decimals([1.5, 10.0]) == 1 and column_decimals([0.5, 0.91]) == 3
    assert column_decimals([1.0, 10.0]) == 0  # whole numbers stay whole
    frame = pl.DataFrame({"model": ["a", "b"], "score": [1.0, 10.25], "tiny": [0.5, 0.00001]})
    lines = table_text(frame, digits=3).splitlines()
    assert lines[2].split()[1:] == ["1.0", "0.500"] and lines[3].split()[1:] == ["10.2", "1.0e-05"]


def test_summaries_round_each_estimate_with_its_interval():
    sim = metaeval.simulate.pairwise(n_models=4, n_items=80, rng=0)
    wr = metaeval.stats.win_rates(sim.judgments, n_resamples=200, rng=0)
    assert interval_columns(wr.to_polars().columns) == {"win_rate": ("ci_low", "ci_high")}
    text = wr.summary().splitlines()
    header = text[1].split()
    for line in text[3:]:
        cells = dict(zip(header, line.split(), strict=True))
        decimals = {len(cells[c].split(".")[1]) if "." in cells[c] else 0 for c in ("win_rate", "ci_low", "ci_high")}
        assert len(decimals) == 1, line


@given(st.text(max_size=40))
def test_latex_escape_gives_ascii_with_balanced_braces(text):
    out = latex_escape(text)
    assert out.isascii()
    bare = out.replace(r"\{", "").replace(r"\}", "")
    depth = 0
    for ch in bare:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    assert out.replace(r"\$", "").count("$") % 2 == 0  # math shifts pair up (a literal $ is \$)


def test_latex_escape_sets_greek_and_symbols_as_math():
    assert latex_escape("Cohen's κ ≥ 0.4, α = 0.05, ±1 × 2") == (
        r"Cohen's $\kappa$ $\geq$ 0.4, $\alpha$ = 0.05, $\pm$1 $\times$ 2")
    assert latex_escape("–") == "--" and latex_escape("--x") == "-{}-x"  # a typed "--" is not a dash
    assert re.fullmatch(r"\\texttt\{\[U\+4E2D\]\}", latex_escape("中"))
    assert latex_escape("Ångström") == r"\AA{}ngstr\"{o}m" and latex_escape("í") == r"\'{\i}"


def test_interval_columns_of_the_result_tables():
    cols = ["judge", "n_units", "cohen_kappa", "cohen_kappa_ci_low", "cohen_kappa_ci_high", "abstention_rate",
            "abstention_rate_ci_low", "abstention_rate_ci_high"]
    assert interval_columns(cols) == {"cohen_kappa": ("cohen_kappa_ci_low", "cohen_kappa_ci_high"),
                                      "abstention_rate": ("abstention_rate_ci_low", "abstention_rate_ci_high")}
    assert interval_columns(["accuracy_gap", "gap_ci_low", "gap_ci_high", "gap_pvalue"]) == {
        "accuracy_gap": ("gap_ci_low", "gap_ci_high")}
    assert interval_columns(["judge", "win_rate", "lc_win_rate", "lc_ci_low", "lc_ci_high"]) == {
        "lc_win_rate": ("lc_ci_low", "lc_ci_high")}
    assert np.isnan(float(format_interval(float("nan"), 0.1, 0.2)[0]))
