"""pass@k, worst-group accuracy and size monotonicity."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

from metaeval.errors import InsufficientDataError, MetaevalError
from metaeval.stats.benchmark import monotone_in_size, pass_at_k, worst_group_accuracy


@pytest.mark.parametrize(("n", "c", "k"), [(10, 3, 1), (10, 3, 5), (200, 17, 10), (5, 5, 2), (20, 0, 3),
                                          (100, 99, 100)])
def test_pass_at_k_equals_the_combinatorial_formula(n, c, k):
    want = 1 - comb(n - c, k) / comb(n, k)
    assert pass_at_k([n, n], [c, c], k).estimate == pytest.approx(want, abs=1e-12)


def test_pass_at_k_is_unbiased_and_its_interval_covers():
    rng = np.random.default_rng(0)
    p = rng.beta(0.5, 1.5, size=60)  # per-problem success probabilities
    truth = float(np.mean(1 - (1 - p) ** 5))
    hits, est = 0, []
    for _ in range(400):
        c = rng.binomial(20, p)
        e = pass_at_k(np.full(60, 20), c, 5)
        est.append(e.estimate)
        hits += e.ci.contains(truth)
    assert abs(np.mean(est) - truth) < 0.005  # unbiased for the problems at hand
    # the interval is over problems; here the problems are fixed, so it is conservative
    assert hits / 400 >= 0.93


def test_pass_at_k_at_the_boundary_keeps_coverage():
    """When every problem's pass@k is 1 the t interval would collapse to [1, 1]; the exact bound (α/2)^(1/n)
    covers the true mean pass@k (pass@10 of 10 samples, near 1, so most runs are at the boundary)."""
    rng = np.random.default_rng(3)
    hits, at_bound = 0, 0
    for _ in range(1000):
        p = rng.uniform(0.3, 0.95, 40)  # problems drawn afresh: the interval is over problems
        truth = float(1 - np.mean([(1 - q) ** 10 for q in np.linspace(0.3, 0.95, 10001)]))
        e = pass_at_k(np.full(40, 10), rng.binomial(10, p), 10)
        at_bound += e.ci.method.startswith("exact")
        hits += e.ci.contains(truth)
    assert at_bound > 300
    assert hits / 1000 >= 0.93
    assert pass_at_k([10, 10], [0, 0], 5).ci.high == pytest.approx(1 - 0.025**0.5)


def test_worst_group_and_size_monotonicity():
    rng = np.random.default_rng(1)
    groups = np.repeat(["a", "b", "c"], 200)
    correct = (rng.uniform(size=600) < np.repeat([0.9, 0.6, 0.8], 200)).astype(float)
    est, table = worst_group_accuracy(correct, groups)
    assert table["group"][0] == "b" and est.ci.contains(0.6) and table.height == 3
    _tau, drops = monotone_in_size([1, 7, 13, 34, 70], [0.4, 0.5, 0.6, 0.55, 0.8],
                                   names=["1b", "7b", "13b", "34b", "70b"])
    assert drops.to_dicts()[0]["smaller"] == "13b" and drops.height == 1
    with pytest.raises(MetaevalError, match="problem 0: need 0 ≤ c ≤ n and n ≥ k"):
        pass_at_k([3], [4], 1)
    with pytest.raises(MetaevalError, match="`k` must be an int >= 1"):
        pass_at_k([3], [1], 0)
    with pytest.raises(MetaevalError, match="`correct` must be 0 or 1"):
        worst_group_accuracy([0.5], ["a"])


def test_accuracy_on_the_line_equals_statsmodels_and_its_intervals_cover():
    """Probit-space OLS of Miller et al. (2021): estimates, intervals and bands equal statsmodels' OLS; over
    simulated leaderboards the slope's t interval and the prediction band for a new model cover at 95 %."""
    import statsmodels.api as sm
    from scipy import stats as st

    from metaeval.stats.benchmark import accuracy_on_the_line

    gen = np.random.default_rng(0)
    x = gen.uniform(0.5, 0.95, 20)
    y = st.norm.cdf(-0.3 + 0.8 * st.norm.ppf(x) + gen.normal(0, 0.1, 20))
    fit = accuracy_on_the_line(x, y)
    ols = sm.OLS(st.norm.ppf(y), sm.add_constant(st.norm.ppf(x))).fit()
    assert fit.slope.estimate == pytest.approx(ols.params[1]) and fit.intercept.estimate == pytest.approx(ols.params[0])
    assert [fit.slope.ci.low, fit.slope.ci.high] == pytest.approx(list(ols.conf_int()[1]))
    assert fit.r_squared == pytest.approx(ols.rsquared)
    frame = ols.get_prediction(sm.add_constant(st.norm.ppf(fit.band["id_accuracy"].to_numpy()))).summary_frame()
    np.testing.assert_allclose(fit.band["prediction_low"], st.norm.cdf(frame["obs_ci_lower"]), atol=1e-12)
    np.testing.assert_allclose(fit.band["line_high"], st.norm.cdf(frame["mean_ci_upper"]), atol=1e-12)
    slope_hits = new_hits = n_inside = 0
    for _ in range(1000):
        xp = gen.normal(0.5, 0.5, 13)
        yp = -0.3 + 0.8 * xp + gen.normal(0, 0.15, 13)
        f = accuracy_on_the_line(st.norm.cdf(xp[:12]), st.norm.cdf(yp[:12]))
        slope_hits += f.slope.ci.contains(0.8)
        # the 13th model, new: inside the prediction band at its in-distribution accuracy?
        b = f.band
        lo = np.interp(st.norm.cdf(xp[12]), b["id_accuracy"], b["prediction_low"], left=np.nan, right=np.nan)
        hi = np.interp(st.norm.cdf(xp[12]), b["id_accuracy"], b["prediction_high"], left=np.nan, right=np.nan)
        if np.isfinite(lo):  # the band is drawn over the fitted models' range only
            n_inside += 1
            new_hits += bool(lo <= st.norm.cdf(yp[12]) <= hi)
    assert 0.93 <= slope_hits / 1000 <= 0.97
    assert n_inside > 700 and 0.93 <= new_hits / n_inside <= 0.975


def test_accuracy_on_the_line_edges():
    from metaeval.errors import EstimationWarning
    from metaeval.stats.benchmark import accuracy_on_the_line

    with pytest.warns(EstimationWarning, match="left out m0"):
        fit = accuracy_on_the_line([1.0, 0.6, 0.7, 0.8], [0.9, 0.4, 0.5, 0.6], names=["m0", "m1", "m2", "m3"])
    assert fit.models["model"].to_list() == ["m1", "m2", "m3"]
    with pytest.raises(MetaevalError, match=r"\[0, 1\]"):
        accuracy_on_the_line([1.2, 0.5, 0.6], [0.5, 0.5, 0.5])
    with pytest.raises(InsufficientDataError):
        accuracy_on_the_line([0.5, 0.6], [0.5, 0.5])
