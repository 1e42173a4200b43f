"""Proportion intervals (against statsmodels) and item-clustered win rates."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from metaeval import simulate
from metaeval.errors import MetaevalError, SmallSampleWarning
from metaeval.stats import proportion_interval, win_rates


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 500), frac=st.floats(0, 1), level=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_and_clopper_pearson_match_statsmodels(n, frac, level):
    x = round(frac * n)
    for ours, theirs in (("wilson", "wilson"), ("clopper_pearson", "beta")):
        low, high = proportion_interval(x, n, confidence_level=level, method=ours)
        ref = proportion_confint(x, n, alpha=1 - level, method=theirs)
        np.testing.assert_allclose([low, high], ref, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 500), frac=st.floats(0.01, 0.99))
def test_jeffreys_matches_statsmodels_inside(n, frac):
    x = round(frac * n)
    if x in (0, n):
        return
    low, high = proportion_interval(x, n, method="jeffreys")
    np.testing.assert_allclose([low, high], proportion_confint(x, n, method="jeffreys"), atol=1e-10)


def test_jeffreys_boundary_follows_brown_cai_dasgupta():
    # Brown, Cai & DasGupta (2001, Statistical Science 16:101) set the Jeffreys lower bound to 0
    # at x = 0 (and the upper to 1 at x = n); statsmodels returns the raw beta quantile there.
    low, high = proportion_interval(0, 10, method="jeffreys")
    assert low == 0.0
    assert proportion_confint(0, 10, method="jeffreys")[0] > 0
    low, high = proportion_interval(10, 10, method="jeffreys")
    assert high == 1.0


def test_textbook_value():
    # Wilson 95 % interval for 81/263 (Newcombe 1998, Stat Med 17:857, Table I, method 3): 0.2553–0.3662.
    low, high = proportion_interval(81, 263)
    assert round(float(low), 4) == 0.2553 and round(float(high), 4) == 0.3662


def test_interval_edge_cases():
    low, high = proportion_interval(np.array([0, 3]), np.array([0, 3]))
    assert np.isnan(low[0]) and np.isnan(high[0]) and high[1] == 1.0
    with pytest.raises(MetaevalError, match="0 <= `successes` <= `n`"):
        proportion_interval(5, 3)
    with pytest.raises(MetaevalError, match="`method` must be"):
        proportion_interval(1, 3, method="wald")


def test_win_rates_contain_estimate_and_are_reproducible():
    sim = simulate.pairwise(n_models=5, n_items=120, tie_threshold=0.3, rng=2)
    a = win_rates(sim.judgments, n_resamples=300, rng=7)
    b = win_rates(sim.judgments, n_resamples=300, rng=7)
    np.testing.assert_array_equal(a.ci_low, b.ci_low)
    assert np.all(a.ci_low <= a.estimate) and np.all(a.estimate <= a.ci_high)
    assert a.run_info.seed == 7 and a.run_info.fingerprint == sim.judgments.fingerprint
    # Estimate equals the plain count: (wins + ties / 2) / comparisons.
    pc = sim.judgments.pairwise_counts()
    rate = (pc.wins.sum(1) + 0.5 * pc.ties.sum(1)) / pc.n_comparisons.sum(1)
    np.testing.assert_allclose(a.estimate, rate)
    table = a.to_polars()
    assert table.columns == ["model", "win_rate", "ci_low", "ci_high", "n"]
    assert "\\toprule" in a.to_latex() and "<table" in a.to_html() and "| model |" in a.to_markdown()


@pytest.mark.slow
def test_win_rate_interval_coverage():
    # The clustered bootstrap interval covers the population win rate in roughly 95 % of studies.
    strengths = [0.8, 0.0, -0.8]
    big = simulate.pairwise(strengths=dict(zip("xyz", strengths, strict=True)), n_items=20000, judges=("judge-q",),
                            judge_noise=0.0, rng=0)
    truth = win_rates(big.judgments, n_resamples=10, rng=0).estimate
    hits = []
    for seed in range(150):
        sim = simulate.pairwise(strengths=dict(zip("xyz", strengths, strict=True)), n_items=100, judges=("judge-q",),
                                judge_noise=0.0, rng=1000 + seed)
        wr = win_rates(sim.judgments, n_resamples=400, rng=seed)
        hits.append((wr.ci_low <= truth) & (truth <= wr.ci_high))
    coverage = np.mean(hits)
    assert 0.90 <= coverage <= 0.99, coverage


def test_win_rates_warn_on_few_items():
    sim = simulate.pairwise(n_models=3, n_items=10, rng=1)
    with pytest.warns(SmallSampleWarning, match="only 10 items"):
        win_rates(sim.judgments, n_resamples=50, rng=1)


def test_win_rates_need_pairwise():
    sim = simulate.pointwise(n_models=3, n_items=5, rng=1)
    with pytest.raises(MetaevalError, match="needs a pairwise table"):
        win_rates(sim.judgments)


def test_markdown_cells_stay_on_one_line_and_escape_pipes():
    import polars as pl

    from metaeval._format import table_markdown

    text = table_markdown(pl.DataFrame({"model": ["craig.starr \n (ensemble)|v2", "plain"], "x": [1.0, 2.0]}))
    lines = text.splitlines()
    assert len(lines) == 4  # header, rule, two rows: the line break inside the name did not split a row
    assert lines[2] == "| craig.starr (ensemble)\\|v2 | 1 |"
