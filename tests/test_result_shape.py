"""Results share a shape (issue 21): ``estimate``, ``ci`` and ``confidence_interval(level)``.

For every result that keeps draws or a standard error, ``confidence_interval`` at the result's own
level is the reported interval exactly, and at another level it is the interval the analysis
reports when run again at that level with the same seed (the draws do not depend on the level).
Results that keep neither say so with a ParameterError.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats as st

import metaeval
from metaeval import Judgments, agreement
from metaeval.errors import ParameterError
from metaeval.results import ConfidenceInterval
from metaeval.stats import (
    PairedMean,
    bayesian_bootstrap,
    beta_binomial,
    compare,
    correlated_t_test,
    paired_binary,
    paired_mean_interval,
    score_interval,
    t_posterior,
    win_rates,
)
from metaeval.stats.bayes import signed_rank_test


def _same(a: ConfidenceInterval, b: ConfidenceInterval) -> bool:
    """Equal bounds (nan equal to nan), level and method."""
    return (np.array_equal([a.low, a.high], [b.low, b.high], equal_nan=True) and a.level == b.level
            and a.method == b.method)


# small simulated tables warn about small samples; not what these tests are about
pytestmark = [pytest.mark.filterwarnings("ignore::metaeval.errors.SmallSampleWarning"),
              pytest.mark.filterwarnings("ignore::metaeval.errors.EstimationWarning")]


# ------------------------------------------------------------------------------ win rates
@pytest.fixture(scope="module")
def pairwise_sim():
    return metaeval.simulate.pairwise(n_models=4, n_items=60, rng=0).judgments


def test_win_rates_interval_at_its_own_and_another_level(pairwise_sim):
    wr = win_rates(pairwise_sim, n_resamples=300, rng=1)
    low, high = wr.confidence_interval(wr.confidence_level)
    assert np.array_equal(low, wr.ci_low) and np.array_equal(high, wr.ci_high)
    assert wr.ci == (wr.ci_low, wr.ci_high)
    again = win_rates(pairwise_sim, n_resamples=300, confidence_level=0.8, rng=1)
    low80, high80 = wr.confidence_interval(0.8)
    assert np.array_equal(low80, again.ci_low) and np.array_equal(high80, again.ci_high)
    assert np.all(high80 - low80 < high - low)
    # the percentile interval of the kept draws, by numpy directly
    assert np.allclose(low80, np.quantile(wr.draws, 0.1, axis=0))


def test_win_rates_one_item_model_has_no_interval_at_any_level():
    j = Judgments({"item": ["q1", "q2", "q3", "q1"], "judge": "j", "model_a": ["x", "x", "x", "z"],
                   "model_b": ["y", "y", "y", "x"], "outcome": ["a", "b", "a", "a"]})
    wr = win_rates(j, n_resamples=200, rng=0)
    z = wr.models.index("z")
    assert np.isnan(wr.ci_low[z])
    for level in (wr.confidence_level, 0.5):
        low, high = wr.confidence_interval(level)
        assert np.isnan(low[z]) and np.isnan(high[z])
    low, high = wr.confidence_interval(wr.confidence_level)
    assert np.array_equal(low, wr.ci_low, equal_nan=True) and np.array_equal(high, wr.ci_high, equal_nan=True)


def test_win_rates_without_draws_say_so(pairwise_sim):
    wr = dataclasses.replace(win_rates(pairwise_sim, n_resamples=50, rng=1), draws=None)  # a result that kept none
    with pytest.raises(ParameterError, match="kept no bootstrap draws"):
        wr.confidence_interval(0.9)
    with pytest.raises(ParameterError, match="confidence_level"):
        win_rates(pairwise_sim, n_resamples=50, rng=1).confidence_interval(1.0)


# ------------------------------------------------------------------------------ agreement
@pytest.fixture(scope="module")
def graded_sim():
    return metaeval.simulate.pointwise(n_models=3, n_items=60, n_humans=3, judges=("judge-atlas",), scale=(1, 3),
                                       rng=0).judgments


AGREEMENTS = {
    "fleiss_kappa": lambda j, **kw: agreement.fleiss_kappa(j, **kw),
    "gwet_ac": lambda j, **kw: agreement.gwet_ac(j, **kw),
    "brennan_prediger": lambda j, **kw: agreement.brennan_prediger(j, **kw),
    "percent_agreement": lambda j, **kw: agreement.percent_agreement(j, **kw),
    "krippendorff_alpha": lambda j, **kw: agreement.krippendorff_alpha(j, "interval", **kw),
    "cohen_kappa": lambda j, **kw: agreement.cohen_kappa(j, "human:1", "human:2", **kw),
    "scott_pi": lambda j, **kw: agreement.scott_pi(j, "human:1", "human:2", **kw),
}


@pytest.mark.parametrize("ci", ["bootstrap", "analytic"])
@pytest.mark.parametrize("name", list(AGREEMENTS))
def test_agreement_interval_at_its_own_and_another_level(graded_sim, name, ci):
    f = AGREEMENTS[name]
    a = f(graded_sim, ci=ci, n_resamples=200, rng=1)
    assert _same(a.confidence_interval(a.ci.level), a.ci)
    again = f(graded_sim, ci=ci, n_resamples=200, confidence_level=0.8, rng=1)
    assert _same(a.confidence_interval(0.8), again.ci)
    assert a.confidence_interval(0.8).width < a.ci.width
    if ci == "analytic":  # the estimate ± a t (Gwet's family, α) or normal (Cohen's κ) quantile × the SE
        q = st.norm.ppf(0.9) if a.df is None else st.t.ppf(0.9, a.df)
        assert a.confidence_interval(0.8).low == pytest.approx(a.estimate - q * a.se, rel=1e-12)


def test_correlation_interval_at_another_level():
    j = metaeval.simulate.pointwise(n_models=4, n_items=40, n_humans=1, rng=0).judgments
    r = agreement.correlation(j, "judge-atlas", "human", granularity="all", n_resamples=100, rng=0)
    assert _same(r.confidence_interval(r.ci.level), r.ci)
    again = agreement.correlation(j, "judge-atlas", "human", granularity="all", n_resamples=100,
                                  confidence_level=0.8, rng=0)
    assert _same(r.confidence_interval(0.8), again.ci)


def test_agreement_without_an_interval_says_so(graded_sim):
    a = agreement.fleiss_kappa(graded_sim, ci="none")
    with pytest.raises(ParameterError, match="ci='none'"):
        a.confidence_interval(0.9)


def test_reliability_interval_at_its_own_and_another_level():
    rng = np.random.default_rng(3)
    n = 300
    p = rng.uniform(size=n)
    ref = np.where(rng.uniform(size=n) < p, "a", "b").astype(object)
    ref[::17] = "tie"  # ties count ½: the counts the interval is computed from are halves
    j = Judgments({"item": [f"q{i}" for i in range(n)] * 2, "judge": ["judge"] * n + ["human"] * n,
                   "model_a": "x", "model_b": "y", "outcome": ["a"] * n + ref.tolist(),
                   "p_a": p.tolist() + [None] * n})
    r = agreement.reliability(j, "human", bins=10)
    low, high = r.confidence_interval(r.confidence_level)
    assert np.array_equal(low, r.table["ci_low"].to_numpy()) and np.array_equal(high, r.table["ci_high"].to_numpy())
    again = agreement.reliability(j, "human", bins=10, confidence_level=0.8)
    low80, high80 = r.confidence_interval(0.8)
    assert np.array_equal(low80, again.table["ci_low"].to_numpy())
    assert np.array_equal(high80, again.table["ci_high"].to_numpy())


@pytest.fixture(scope="module")
def both_orders_sim():
    return metaeval.simulate.pairwise(n_models=3, n_items=40, judges=("judge-atlas", "judge-b"), n_humans=2,
                                      both_orders=True, rng=2).judgments


def _frame_bounds(res_table, ci) -> bool:
    """The interval frame equals the table's key and bound columns exactly (nan equal to nan)."""
    return ci.columns[0] in res_table.columns and ci.equals(res_table.select(ci.columns))


def test_icc_interval_at_its_own_and_another_level(graded_sim):
    res = agreement.icc(graded_sim)
    low, high = res.confidence_interval(res.confidence_level)
    assert np.array_equal(low, res.table["ci_low"].to_numpy()) and np.array_equal(high, res.table["ci_high"].to_numpy())
    again = agreement.icc(graded_sim, confidence_level=0.8)
    low80, high80 = res.confidence_interval(0.8)
    assert np.array_equal(low80, again.table["ci_low"].to_numpy())
    assert np.array_equal(high80, again.table["ci_high"].to_numpy())
    assert np.all(high80 - low80 < high - low)
    # ICC(3,1) by its exact F bound, from the table's own F and degrees of freedom (Shrout & Fleiss 1979)
    f, df1, df2 = (float(res.table[c][2]) for c in ("f", "df1", "df2"))
    k = len(res.run_info.params["judges"])
    fl = f / st.f.ppf(0.9, df1, df2)
    assert low80[2] == pytest.approx((fl - 1) / (fl + k - 1), rel=1e-12)


def test_two_order_interval_at_its_own_and_another_level(both_orders_sim):
    res = agreement.two_order(both_orders_sim, "human:1", by=("judge",), n_resamples=200, rng=0)
    ci = res.confidence_interval(res.confidence_level)
    assert ci.columns == ["judge"] + [f"{m}_ci_{e}" for m in ("accuracy", "positional_agreement", "abstention_rate")
                                      for e in ("low", "high")]
    assert _frame_bounds(res.table, ci)
    again = agreement.two_order(both_orders_sim, "human:1", by=("judge",), n_resamples=200, confidence_level=0.8,
                                rng=0)
    ci80 = res.confidence_interval(0.8)
    assert _frame_bounds(again.table, ci80)
    assert (ci80["accuracy_ci_high"] - ci80["accuracy_ci_low"] < ci["accuracy_ci_high"] - ci["accuracy_ci_low"]).all()


def test_two_order_interval_follows_the_sorted_rows():
    """The table is sorted by accuracy: the kept draws follow its rows, not the order the groups were met."""
    sim = metaeval.simulate.pairwise(n_models=3, n_items=60, judges=("judge-atlas", "judge-b", "judge-c"),
                                     n_humans=1, both_orders=True, position_bias=1.0, rng=4).judgments
    res = agreement.two_order(sim, "human:1", by=("judge",), n_resamples=100, rng=0)
    again = agreement.two_order(sim, "human:1", by=("judge",), n_resamples=100, confidence_level=0.5, rng=0)
    assert res.table["judge"].to_list() == again.table["judge"].to_list()
    assert _frame_bounds(again.table, res.confidence_interval(0.5))


@pytest.mark.parametrize("ci", ["bootstrap", "analytic"])
@pytest.mark.parametrize("metric", ["cohen_kappa", "krippendorff_alpha", "percent_agreement", "gwet_ac"])
def test_matrix_interval_at_its_own_and_another_level(graded_sim, metric, ci):
    kw = dict(ci=ci, n_resamples=100, rng=0)
    m = agreement.matrix(graded_sim, metric, **kw)
    low, high = m.confidence_interval(m.confidence_level)
    assert np.array_equal(low, m.pairs["ci_low"].to_numpy(), equal_nan=True)
    assert np.array_equal(high, m.pairs["ci_high"].to_numpy(), equal_nan=True)
    again = agreement.matrix(graded_sim, metric, confidence_level=0.8, **kw)
    low80, high80 = m.confidence_interval(0.8)
    assert np.array_equal(low80, again.pairs["ci_low"].to_numpy(), equal_nan=True)
    assert np.array_equal(high80, again.pairs["ci_high"].to_numpy(), equal_nan=True)
    assert np.all(high80 - low80 < high - low)


def test_matrix_pair_without_shared_units_has_no_interval():
    j = Judgments({"item": ["q1", "q2", "q3", "q4", "q5", "q6", "q1", "q2", "q3", "q7", "q8", "q9"],
                   "judge": ["A"] * 3 + ["B"] * 3 + ["C"] * 6, "model": "m",
                   "label": ["y", "n", "y", "n", "y", "n", "y", "n", "n", "y", "n", "y"]})
    m = agreement.matrix(j, "percent_agreement", n_resamples=50, rng=0)
    low, high = m.confidence_interval(0.5)
    gone = (m.pairs["n_units"] == 0).to_numpy()
    assert gone.any() and np.isnan(low[gone]).all() and np.isnan(high[gone]).all()


@pytest.mark.parametrize("ci", ["bootstrap", "analytic"])
@pytest.mark.parametrize("kind", ["pairwise", "pointwise"])
def test_against_interval_at_its_own_and_another_level(graded_sim, both_orders_sim, kind, ci):
    j = both_orders_sim if kind == "pairwise" else graded_sim
    kw = dict(metrics=("cohen_kappa", "percent_agreement", "krippendorff_alpha"), ci=ci, n_resamples=100, rng=0)
    res = agreement.against(j, "human", **kw)
    ci95 = res.confidence_interval(res.run_info.params["confidence_level"])
    assert ci95.columns == ["judge"] + [f"{m}_ci_{e}" for m in (*kw["metrics"], "abstention_rate")
                                        for e in ("low", "high")]
    assert _frame_bounds(res.table, ci95)
    again = agreement.against(j, "human", confidence_level=0.8, **kw)
    ci80 = res.confidence_interval(0.8)
    assert _frame_bounds(again.table, ci80)
    assert (ci80["cohen_kappa_ci_high"] - ci80["cohen_kappa_ci_low"]
            < ci95["cohen_kappa_ci_high"] - ci95["cohen_kappa_ci_low"]).all()


def test_agreement_tables_computed_without_intervals_say_so(graded_sim, both_orders_sim):
    for res in (agreement.matrix(graded_sim, "cohen_kappa", ci="none"),
                agreement.against(both_orders_sim, "human", ci="none", n_resamples=50, rng=0)):
        with pytest.raises(ParameterError, match="ci='none'"):
            res.confidence_interval(0.9)


def test_agreement_tables_without_draws_say_so(graded_sim, both_orders_sim):
    results = [  # results that kept nothing to rebuild their intervals from (built by hand)
        dataclasses.replace(agreement.icc(graded_sim), anova=None),
        dataclasses.replace(agreement.two_order(both_orders_sim, "human:1", by=("judge",), n_resamples=50, rng=0),
                            draws=None),
        dataclasses.replace(agreement.matrix(graded_sim, "percent_agreement", n_resamples=50, rng=0),
                            coefficients=None),
        dataclasses.replace(agreement.against(both_orders_sim, "human", n_resamples=50, rng=0), kept=None),
    ]
    for res in results:
        with pytest.raises(ParameterError, match=r"confidence_level=0\.9\)` again"):
            res.confidence_interval(0.9)
        with pytest.raises(ParameterError, match="`confidence_level` must lie in"):
            res.confidence_interval(1.0)


# ----------------------------------------------------------------------------- comparison
def _scores(n: int, *, binary: bool, clusters: int | None = None, seed: int = 0) -> Judgments:
    rng = np.random.default_rng(seed)
    if binary:
        a, b = (rng.uniform(size=n) < 0.7).astype(float), (rng.uniform(size=n) < 0.62).astype(float)
    else:
        a, b = rng.normal(0.3, 1, n), rng.normal(0.0, 1, n)
    cols = {"item": [f"q{i}" for i in range(n)] * 2, "judge": "metric", "model": ["A"] * n + ["B"] * n,
            "score": np.concatenate([a, b])}
    if clusters:
        cols["task"] = [f"t{i % clusters}" for i in range(n)] * 2
    return Judgments(cols)


COMPARISONS = {  # name: (table, compare options, the ci.method it gives)
    "paired t": (dict(n=120, binary=False), dict(test="paired_t"), "paired t"),
    "paired t, greater": (dict(n=120, binary=False), dict(test="paired_t", alternative="greater"), "paired t"),
    "clustered t": (dict(n=200, binary=False, clusters=40), dict(cluster="task"), "t, cluster-robust SE (CR2)"),
    "mcnemar, t": (dict(n=400, binary=True), dict(), "paired t"),
    "mcnemar, Bonett-Price": (dict(n=120, binary=True), dict(), "Bonett-Price"),
    "mcnemar, Bonett-Price, less": (dict(n=120, binary=True), dict(alternative="less"), "Bonett-Price"),
}


@pytest.mark.parametrize("name", list(COMPARISONS))
def test_comparison_interval_at_its_own_and_another_level(name):
    table, options, method = COMPARISONS[name]
    j = _scores(**table)
    c = compare(j, "A", "B", **options)
    assert c.ci.method == method
    assert _same(c.confidence_interval(c.ci.level), c.ci)
    again = compare(j, "A", "B", confidence_level=0.8, **options)
    assert _same(c.confidence_interval(0.8), again.ci)


@pytest.mark.parametrize("test", ["permutation", "bootstrap", "wilcoxon"])
def test_comparison_without_what_its_interval_needs_says_so(test):
    c = compare(_scores(60, binary=False), "A", "B", test=test, n_resamples=200, rng=0)
    with pytest.raises(ParameterError, match="does not keep"):
        c.confidence_interval(0.9)


def test_paired_mean_interval_is_a_named_tuple():
    d = np.array([0.4, 1.1, 0.2, 0.9, -0.3, 0.7, 1.3, 0.5, 0.8, 0.1, 0.6, 1.0])
    r = paired_mean_interval(d)
    assert isinstance(r, PairedMean) and isinstance(r, tuple)
    mean, se, (low, high), p, df = r
    assert (r.mean, r.se, r.ci, r.pvalue, r.df) == (mean, se, (low, high), p, df)
    ref = st.ttest_1samp(d, 0.0)
    assert r.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    assert r.ci == pytest.approx(tuple(ref.confidence_interval(0.95)), rel=1e-12)
    zero = paired_mean_interval(np.zeros(5))  # no spread: a point interval, as before
    assert zero.ci == (0.0, 0.0) and zero.se == 0.0


# -------------------------------------------------------------------------------- Bayesian
BAYES = {
    "paired_binary": lambda level: paired_binary(40, 12, 5, 43, n_draws=4000, confidence_level=level, rng=0),
    "bayesian_bootstrap": lambda level: bayesian_bootstrap(
        np.random.default_rng(1).normal(0.1, 1, 80), n_draws=2000, confidence_level=level, rng=0),
    "t_posterior": lambda level: t_posterior(np.random.default_rng(1).normal(0.1, 1, 30), confidence_level=level),
    "t_posterior, clusters": lambda level: t_posterior(np.random.default_rng(1).normal(0.1, 1, 30),
                                                       cluster=np.arange(30) % 6, confidence_level=level),
    "correlated_t_test": lambda level: correlated_t_test(
        np.random.default_rng(2).normal(0.8, 0.02, 10), np.random.default_rng(3).normal(0.79, 0.02, 10),
        test_fraction=0.1, confidence_level=level),
    "signed_rank_test": lambda level: signed_rank_test(
        np.random.default_rng(2).normal(0.8, 0.05, 12), np.random.default_rng(3).normal(0.78, 0.05, 12),
        n_draws=2000, confidence_level=level, rng=0),
}


@pytest.mark.parametrize("name", list(BAYES))
def test_bayes_comparison_interval_at_its_own_and_another_level(name):
    r = BAYES[name](0.95)
    assert _same(r.confidence_interval(r.ci.level), r.ci)
    assert _same(r.confidence_interval(0.8), BAYES[name](0.8).ci)


def test_compare_bayes_keeps_its_draws():
    j = _scores(400, binary=False)
    c = compare(j, "A", "B", method="bayes", n_resamples=2000, rng=0)
    assert c.draws is not None and c.draws.size == 2000
    assert _same(c.confidence_interval(0.8), compare(j, "A", "B", method="bayes", n_resamples=2000, rng=0,
                                                     confidence_level=0.8).ci)


def test_beta_posterior_interval_at_another_level():
    post = beta_binomial(7, 10)
    assert _same(post.confidence_interval(post.ci.level), post.ci)
    assert _same(post.confidence_interval(0.8), beta_binomial(7, 10, confidence_level=0.8).ci)


def test_confidence_level_is_checked():
    post = beta_binomial(7, 10)
    for bad in (0, 1, 1.5, -0.1, True, "0.9", float("nan")):
        with pytest.raises(ParameterError, match="`confidence_level` must lie in"):
            post.confidence_interval(bad)  # type: ignore[arg-type]


def test_estimate_interval_at_its_own_level_and_what_to_call_at_another():
    j = metaeval.simulate.pointwise(n_models=2, n_items=60, n_humans=0, judges=("metric",), rng=0).judgments
    e = score_interval(j, j.models[0], confidence_level=0.9)
    assert _same(e.confidence_interval(0.9), e.ci)
    with pytest.raises(ParameterError, match=r"call `score_interval\(\.\.\., confidence_level=0\.8\)` again"):
        e.confidence_interval(0.8)
    with pytest.raises(ParameterError, match="`confidence_level` must lie in"):
        e.confidence_interval(0.0)
