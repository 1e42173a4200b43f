"""Proportion intervals (against statsmodels) and item-clustered win rates."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from metaeval import Judgments, simulate
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
    assert table.columns == ["model", "win_rate", "standard_error", "ci_low", "ci_high", "n"]
    # No p_a column: graded and discrete are the same numbers.
    assert not a.graded
    np.testing.assert_array_equal(win_rates(sim.judgments, graded=False, n_resamples=300, rng=7).estimate,
                                  a.estimate)
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


def _graded_table():
    # item q3 has no p_a: it counts its hard outcome (a tie, ½) in both modes
    return Judgments({"item": ["q1", "q2", "q3", "q1", "q2", "q3"], "judge": "j",
                      "model_a": ["x", "x", "x", "y", "y", "y"], "model_b": ["y", "y", "y", "z", "z", "z"],
                      "outcome": ["a", "b", "tie", "a", "a", "b"], "p_a": [0.9, 0.3, None, 0.6, 1.0, 0.45]})


def test_win_rates_graded_uses_p_a_and_discrete_the_outcome():
    j = _graded_table()
    with pytest.warns(SmallSampleWarning):
        g = win_rates(j, n_resamples=50, rng=0)
    with pytest.warns(SmallSampleWarning):
        d = win_rates(j, graded=False, n_resamples=50, rng=0)
    assert g.graded and not d.graded and g.run_info.params["graded"] is True
    # x: (0.9 + 0.3 + 0.5) / 3; y: ((0.1 + 0.7 + 0.5) + (0.6 + 1.0 + 0.45)) / 6; z: (0.4 + 0 + 0.55) / 3
    expect_g = {"x": 1.7 / 3, "y": 3.35 / 6, "z": 0.95 / 3}
    expect_d = {"x": 1.5 / 3, "y": 3.5 / 6, "z": 1 / 3}
    for m, ge, de in zip(g.models, g.estimate, d.estimate, strict=True):
        assert ge == pytest.approx(expect_g[m]) and de == pytest.approx(expect_d[m])
    # With one verdict per item the clustered standard error is sd(ddof=1) / sqrt(n).
    x = np.array([0.9, 0.3, 0.5])
    assert g.standard_error[g.models.index("x")] == pytest.approx(x.std(ddof=1) / np.sqrt(3))
    # y met two opponents on each item: the items are the clusters.
    per_item = np.array([0.1 + 0.6, 0.7 + 1.0, 0.5 + 0.45])
    est = per_item.sum() / 6
    se = np.sqrt(((per_item - 2 * est) ** 2).sum() * 3 / 2) / 6
    assert g.standard_error[g.models.index("y")] == pytest.approx(se)


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


def _graded_replicate(gen, *, n_items, field):
    """Graded verdicts p_a = sigma(s_a + v_ai - s_b - v_bi + e): the v's tie together a model's verdicts on one item."""
    strengths = {"x": 0.6, "y": 0.0, "z": -1.0} if field else {"x": -1.2, "base": 0.0}
    pairs = [("x", "y"), ("x", "z"), ("y", "z")] if field else [("base", "x")]
    models = list(strengths)
    v = gen.normal(0, 1, (n_items, len(models)))
    rows = {"item": [], "judge": [], "model_a": [], "model_b": [], "outcome": [], "p_a": []}
    for a, b in pairs:
        eta = (strengths[a] + v[:, models.index(a)] - strengths[b] - v[:, models.index(b)]
               + gen.normal(0, 1, n_items))
        p = 1 / (1 + np.exp(-eta))
        rows["item"] += [f"q{i}" for i in range(n_items)]
        rows["judge"] += ["j"] * n_items
        rows["model_a"] += [a] * n_items
        rows["model_b"] += [b] * n_items
        rows["outcome"] += np.where(p > 0.5, "a", "b").tolist()
        rows["p_a"] += p.tolist()
    wr = win_rates(Judgments(rows), n_resamples=400, rng=gen)
    # truth: E sigma(d + sqrt(3) Z) by Gauss-Hermite, averaged over each model's opponents
    z, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()

    def mean_p(d):
        return float(np.sum(w / (1 + np.exp(-(d + np.sqrt(3) * z)))))

    out = []
    for m in wr.models:
        opp = [b for a, b in pairs if a == m] + [a for a, b in pairs if b == m]
        truth = np.mean([mean_p(strengths[m] - strengths[o]) for o in opp])
        i = wr.models.index(m)
        se = wr.standard_error[i]
        out.append({"test": "bootstrap", "pvalue": np.nan, "ci_low": wr.ci_low[i], "ci_high": wr.ci_high[i],
                    "truth": truth})
        out.append({"test": "standard error", "pvalue": np.nan, "ci_low": wr.estimate[i] - 1.96 * se,
                    "ci_high": wr.estimate[i] + 1.96 * se, "truth": truth})
    return out


def test_graded_win_rate_intervals_cover():
    """Item-bootstrap interval and estimate ± 1.96 clustered standard errors cover the population graded win
    rate: against one baseline (AlpacaEval's design, 200 items) and in a field where each model meets two
    opponents on the same 100 items (verdicts correlated within an item)."""
    from metaeval.calibration import study

    res = study(_graded_replicate, {"baseline, 200 items": {"n_items": 200, "field": False},
                                    "field, 100 items": {"n_items": 100, "field": True}},
                n_replicates=200, coverage_band=(0.91, 0.98), rng=3)
    assert res.passed, res.table
