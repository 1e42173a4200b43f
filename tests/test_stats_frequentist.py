"""Frequentist statistics: reference values (Demšar 2006, R's p.adjust, statsmodels), paired
tests, multiple comparisons, power, variance and prompt sensitivity."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats as st
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower

import metaeval
from metaeval import Judgments, ScoreMatrix
from metaeval.errors import InsufficientDataError, MetaevalError, SmallSampleWarning
from metaeval.stats import (
    adjust_pvalues,
    all_pairs,
    bonett_price_interval,
    compare,
    critical_difference,
    critical_difference_value,
    friedman,
    hodges_lehmann_interval,
    mcnemar_attained_level,
    mcnemar_test,
    minimum_detectable_effect,
    monotonicity,
    paired_bootstrap,
    paired_mean_interval,
    power_from_pilot,
    prompt_sensitivity,
    sample_size,
    score_interval,
    seed_variance,
    sign_flip_interval,
    sign_flip_test,
    studentized_bootstrap,
)

from .conftest import DEMSAR
from .conftest import DEMSAR_MODELS as MODELS


def demsar_matrix(table: np.ndarray) -> ScoreMatrix:
    return ScoreMatrix(MODELS, tuple(f"d{i}" for i in range(14)), table.T)


def test_demsar_table6_example():
    # The paper's average ranks (3.143, 2.000, 2.893, 1.964) rank C4.5+cf ahead of C4.5+m+cf on
    # "voting", where the printed three decimals tie (0.975 each): the unrounded AUCs differed.
    paper = DEMSAR.copy()
    paper[12, 2] = 0.97501
    fr = friedman(demsar_matrix(paper), tie_correction=False)
    np.testing.assert_allclose(fr.average_ranks, [3.143, 2.000, 2.893, 1.964], atol=5e-4)
    assert round(fr.chi2, 2) == 9.28
    assert round(fr.f_statistic, 2) == 3.69
    assert round(float(st.f.ppf(0.95, 3, 39)), 2) == 2.85  # the paper's critical value of F(3, 39)
    cd05, q05 = critical_difference_value(4, 14, 0.05)
    cd10, q10 = critical_difference_value(4, 14, 0.10)
    assert (round(q05, 3), round(cd05, 2)) == (2.569, 1.25)
    assert (round(q10, 3), round(cd10, 2)) == (2.291, 1.12)
    # Bonferroni–Dunn q values of Demšar's Table 5(b) for k = 4.
    assert round(critical_difference_value(4, 14, 0.05, "bonferroni_dunn")[1], 3) == 2.394
    assert round(critical_difference_value(4, 14, 0.10, "bonferroni_dunn")[1], 3) == 2.128
    # Demšar's reading: at alpha 0.05 no pair differs (the largest gap, 3.143 - 1.964 = 1.179, is below 1.25);
    # at alpha 0.10 (CD 1.12) C4.5+m+cf and C4.5+m are better than C4.5 (gaps 1.179 and 1.143).
    cd = critical_difference(demsar_matrix(paper), alpha=0.05, tie_correction=False)
    assert cd.cliques == [("C4.5+m+cf", "C4.5+m", "C4.5+cf", "C4.5")]
    cd10 = critical_difference(demsar_matrix(paper), alpha=0.10, tie_correction=False)
    assert cd10.cliques == [("C4.5+m+cf", "C4.5+m", "C4.5+cf"), ("C4.5+cf", "C4.5")]
    printed = friedman(demsar_matrix(DEMSAR), tie_correction=False)
    np.testing.assert_allclose(printed.average_ranks, [3.143, 2.000, 2.929, 1.929], atol=5e-4)


def test_friedman_with_tie_correction_matches_scipy():
    fr = friedman(demsar_matrix(DEMSAR), tie_correction=True)
    ref = st.friedmanchisquare(*(-DEMSAR).T)
    assert fr.chi2 == pytest.approx(ref.statistic) and fr.pvalue == pytest.approx(ref.pvalue)


def test_critical_difference_chart_and_bonferroni_dunn_control():
    cd = critical_difference(demsar_matrix(DEMSAR), test="bonferroni_dunn", control="C4.5")
    assert "differs_from_control" in cd.to_polars().columns
    assert "layer" in cd.chart().to_dict()  # the geometry: tests/test_charts.py
    with pytest.raises(MetaevalError, match="name it"):
        critical_difference(demsar_matrix(DEMSAR), test="bonferroni_dunn")


P = np.array([0.01, 0.02, 0.03, 0.04, 0.05])
# R: p.adjust(c(.01, .02, .03, .04, .05), method), worked by hand from R's definitions.
R_ADJUSTED = {
    "holm": [0.05, 0.08, 0.09, 0.09, 0.09],
    "hochberg": [0.05] * 5,
    "bh": [0.05] * 5,
    "by": [0.05 * sum(1 / k for k in range(1, 6))] * 5,
    "bonferroni": [0.05, 0.10, 0.15, 0.20, 0.25],
}


@pytest.mark.parametrize("method", list(R_ADJUSTED))
def test_pvalue_adjustment_matches_r_and_statsmodels(method):
    np.testing.assert_allclose(adjust_pvalues(P, method), R_ADJUSTED[method], atol=1e-12)
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 0.2, 30)
    sm_name = {"holm": "holm", "hochberg": "simes-hochberg", "bh": "fdr_bh", "by": "fdr_by",
               "bonferroni": "bonferroni"}[method]
    np.testing.assert_allclose(adjust_pvalues(p, method), multipletests(p, method=sm_name)[1], atol=1e-12)


def _cr2_by_matrices(d, g):
    """CR2 and the Bell-McCaffrey df from their general definitions, with n x n matrices: V = (X'X)^-1
    sum_g X_g' A_g e_g e_g' A_g X_g (X'X)^-1 with A_g = (I - H_gg)^(-1/2), and df = (sum lambda)^2 / sum lambda^2
    over the eigenvalues of G'G, G_g = (I - H)_g' A_g X_g (X'X)^-1 (Imbens & Kolesar 2016, eq. 11)."""
    from scipy.linalg import fractional_matrix_power

    n = d.size
    X = np.ones((n, 1))
    H = X @ np.linalg.inv(X.T @ X) @ X.T
    e = d - H @ d
    bread = np.linalg.inv(X.T @ X)
    meat = np.zeros((1, 1))
    cols = []
    for c in np.unique(g):
        idx = np.flatnonzero(g == c)
        A = np.real(fractional_matrix_power(np.eye(idx.size) - H[np.ix_(idx, idx)], -0.5))
        u = X[idx].T @ A @ e[idx]
        meat += np.outer(u, u)
        cols.append(((np.eye(n) - H)[idx].T @ A @ X[idx] @ bread)[:, 0])
    G = np.column_stack(cols)
    lam = np.linalg.eigvalsh(G.T @ G)
    return float(np.sqrt((bread @ meat @ bread)[0, 0])), float(lam.sum() ** 2 / np.sum(lam**2))


def test_clustered_se_is_cr2_with_bell_mccaffrey_df():
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(40), rng.integers(2, 8, 40))  # unequal sizes
    d = rng.normal(0.1, 1, g.size) + rng.normal(0, 0.7, 40)[g]
    _, se, _, _, df = paired_mean_interval(d, cluster=g)
    ref_se, ref_df = _cr2_by_matrices(d, g)
    assert se == pytest.approx(ref_se, rel=1e-10) and df == pytest.approx(ref_df, rel=1e-8)
    assert 1 < df < 39  # unequal sizes: fewer effective degrees of freedom than G - 1
    # equal sizes: CR2 is statsmodels' cluster-robust OLS standard error (CR1) and the df are G - 1
    ge = np.repeat(np.arange(30), 5)
    de = rng.normal(0.1, 1, ge.size) + rng.normal(0, 0.7, 30)[ge]
    _, se_e, _, _, df_e = paired_mean_interval(de, cluster=ge)
    ols = sm.OLS(de, np.ones_like(de)).fit(cov_type="cluster", cov_kwds={"groups": ge})
    assert se_e == pytest.approx(float(ols.bse[0]), rel=1e-10) and df_e == pytest.approx(29)
    # Miller (2024), eq. for the clustered standard error: SE² = SE_CLT² + (1/n²) Σ_c Σ_{i≠j in c} (s_i − s̄)(s_j − s̄);
    # statsmodels (and, with equal sizes, CR2) add the small-sample factor G / (G − 1).
    n, r = de.size, de - de.mean()
    se_clt2 = r.var(ddof=0) / n
    cross = sum(np.sum(np.outer(r[ge == c], r[ge == c])) - np.sum(r[ge == c] ** 2) for c in np.unique(ge)) / n**2
    assert se_e**2 == pytest.approx((se_clt2 + cross) * 30 / 29, rel=1e-10)
    _, se_plain, _, _, _ = paired_mean_interval(d)
    assert se_plain == pytest.approx(d.std(ddof=1) / np.sqrt(d.size))


def test_mcnemar_matches_statsmodels():
    for n10, n01 in [(10, 2), (3, 3), (0, 7), (25, 40)]:
        table = [[50, n10], [n01, 30]]
        assert mcnemar_test(n10, n01) == pytest.approx(sm_mcnemar(table, exact=True).pvalue)
    exact = mcnemar_test(10, 2)
    mid = mcnemar_test(10, 2, mid_p=True)
    assert mid == pytest.approx(exact - st.binom.pmf(2, 12, 0.5))
    assert mcnemar_test(10, 2, alternative="greater") == pytest.approx(st.binom.sf(9, 12, 0.5))


def test_mcnemar_attained_level_is_the_binomial_mass_it_rejects():
    for m in (0, 1, 5, 6, 9, 30, 85):
        for alt in ("two-sided", "greater", "less"):
            ref = sum(st.binom.pmf(k, m, 0.5) for k in range(m + 1) if mcnemar_test(k, m - k, alternative=alt) <= 0.05)
            assert mcnemar_attained_level(m, alternative=alt) == pytest.approx(ref, abs=1e-12)
    assert mcnemar_attained_level(5) == 0  # 2 / 32 > 0.05: it cannot reject
    assert mcnemar_attained_level(6) == pytest.approx(2 / 64)


def test_sign_flip_matches_exact_mcnemar_and_scipy_permutation():
    d = np.array([1] * 14 + [-1] * 5 + [0] * 30, float)
    p = sign_flip_test(d, n_resamples=40_000, rng=0)
    assert p == pytest.approx(mcnemar_test(14, 5), abs=0.01)
    rng = np.random.default_rng(5)
    x = rng.normal(0.5, 1, 14)  # 2^14 sign patterns: scipy enumerates them exactly
    ref = st.permutation_test((x,), np.mean, permutation_type="samples", n_resamples=np.inf).pvalue
    assert sign_flip_test(x, n_resamples=40_000, rng=1) == pytest.approx(ref, abs=0.01)


def test_sign_flip_interval_inverts_the_test():
    rng = np.random.default_rng(8)
    for d, cluster in [(rng.normal(0.3, 1, 25), None), (rng.choice([-1.0, 0.0, 1.0], 60, p=[.2, .5, .3]), None),
                       (rng.normal(0.2, 1, 48), np.repeat(np.arange(8), 6))]:
        (low, high), p = sign_flip_interval(d, cluster=cluster, n_resamples=4000, rng=3)
        assert p == sign_flip_test(d, cluster=cluster, n_resamples=4000, rng=3)
        assert low < d.mean() < high
        # the same random signs (same seed) test d - mu: p > 0.05 inside the interval, <= 0.05 just outside
        for mu, inside in [(low + 1e-7, True), (high - 1e-7, True), (low - 1e-7, False), (high + 1e-7, False)]:
            p_mu = sign_flip_test(d - mu, cluster=cluster, n_resamples=4000, rng=3)
            assert (p_mu > 0.05) == inside, (mu, p_mu)
    # exact: with all 2^12 sign patterns the interval is the inversion of scipy's exact permutation test
    x = rng.normal(0.5, 1, 12)
    (low, high), _ = sign_flip_interval(x, n_resamples=100_000, rng=0)
    for mu, inside in [(low + 0.02, True), (high - 0.02, True), (low - 0.02, False), (high + 0.02, False)]:
        ref = st.permutation_test((x - mu,), np.mean, permutation_type="samples", n_resamples=np.inf).pvalue
        assert (ref > 0.05) == inside
    one_sided, p1 = sign_flip_interval(x, alternative="greater", rng=0)
    assert np.isinf(one_sided[1]) and one_sided[0] > low and p1 < sign_flip_test(x, rng=0)


def test_studentized_bootstrap_matches_a_plain_loop():
    rng = np.random.default_rng(9)
    d = rng.exponential(1.0, 40) - 0.8
    (low, high), p = studentized_bootstrap(d, n_resamples=20_000, rng=1)
    gen = np.random.default_rng(2)
    t_star = []
    for _ in range(20_000):  # Efron & Tibshirani (1993), algorithm 12.1
        x = d[gen.integers(0, d.size, d.size)]
        t_star.append((x.mean() - d.mean()) / (x.std(ddof=1) / np.sqrt(d.size)))
    se = d.std(ddof=1) / np.sqrt(d.size)
    q_lo, q_hi = np.quantile(t_star, [0.025, 0.975])
    assert low == pytest.approx(d.mean() - q_hi * se, abs=0.03) and high == pytest.approx(d.mean() - q_lo * se,
                                                                                            abs=0.03)
    t_obs = d.mean() / se
    ref_p = 2 * min(np.mean(np.array(t_star) >= t_obs), np.mean(np.array(t_star) <= t_obs))
    assert p == pytest.approx(ref_p, abs=0.01)
    # clusters: the cluster-robust t of each resample of whole clusters
    g = np.repeat(np.arange(10), 4)
    (cl_low, cl_high), _ = studentized_bootstrap(d, cluster=g, rng=1)
    assert cl_low < d.mean() < cl_high


def test_bonett_price_matches_statpsych():
    # R statpsych::ci.prop.ps(.05, f00 = 12, f01 = 4, f10 = 26, f11 = 6): 0.2548067 0.6251933
    assert bonett_price_interval(26, 4, 48) == pytest.approx((0.2548067, 0.6251933), abs=1e-7)
    low, high = bonett_price_interval(0, 0, 10)  # no discordant pair: still an interval around 0
    assert low < 0 < high
    assert bonett_price_interval(26, 4, 48, alternative="greater")[1] == np.inf


def test_hodges_lehmann_interval_matches_r_algorithm():
    def by_r(d, level=0.95):  # R's wilcox.test(conf.int = TRUE), exact branch: Walsh averages and qsignrank
        n = d.size
        walsh = np.sort([(d[i] + d[j]) / 2 for i in range(n) for j in range(i, n)])
        counts = np.zeros(n * (n + 1) // 2 + 1)
        counts[0] = 1
        for r in range(1, n + 1):
            counts[r:] += counts[:-r].copy()
        qu = max(1, int(np.argmax(np.cumsum(counts) / 2**n >= (1 - level) / 2)))
        return np.median(walsh), (walsh[qu - 1], walsh[walsh.size - qu])

    rng = np.random.default_rng(4)
    for n in (6, 9, 20, 50):
        d = rng.normal(0.3, 1, n)
        est, ci = hodges_lehmann_interval(d)
        ref_est, ref_ci = by_r(d)
        assert est == pytest.approx(ref_est) and ci == pytest.approx(ref_ci)
    # above 50 items the normal approximation; above 1,000 the Walsh averages are not materialised
    d = rng.normal(0, 1, 1200)
    est, (low, high) = hodges_lehmann_interval(d)
    i, j = np.triu_indices(d.size)
    walsh = np.sort((d[i] + d[j]) / 2)
    k = int(np.floor(walsh.size / 2 - 1.959964 * np.sqrt(1200 * 1201 * 2401 / 24)))
    assert est == pytest.approx(np.median(walsh), abs=1e-9)
    assert (low, high) == pytest.approx((walsh[k - 1], walsh[walsh.size - k]), abs=1e-9)


def test_paired_bootstrap_fast_path_matches_scipy():
    rng = np.random.default_rng(2)
    a = rng.random(400) < 0.7
    b = rng.random(400) < 0.6
    d = a.astype(float) - b.astype(float)
    ours, _ = paired_bootstrap(d, n_resamples=20_000, rng=0)
    ref = st.bootstrap((d,), np.mean, method="percentile", n_resamples=20_000, random_state=1).confidence_interval
    assert ours[0] == pytest.approx(ref.low, abs=0.006) and ours[1] == pytest.approx(ref.high, abs=0.006)
    cont = rng.normal(0, 1, 300)
    ours_c, _ = paired_bootstrap(cont, n_resamples=5000, rng=0)
    ref_c = st.bootstrap((cont,), np.mean, method="percentile", n_resamples=5000, random_state=1).confidence_interval
    assert ours_c[0] == pytest.approx(ref_c.low, abs=0.02)


def binary_study(n_items=400, seed=1):
    return metaeval.simulate.pointwise(n_models=3, n_items=n_items, scale=(0, 1), n_humans=0, judges=("em",), rng=seed)


def test_compare_picks_the_test_and_says_why():
    sim = binary_study()
    c = compare(sim.judgments, "atlas-1", "borealis-1", rng=0)
    assert c.test == "mcnemar" and "McNemar" in c.reason and c.ci.method == "paired t"
    small = binary_study(n_items=60)
    c2 = compare(small.judgments, "atlas-1", "borealis-1", rng=0)
    n10, n01 = c2.details["a_only_correct"], c2.details["b_only_correct"]
    assert c2.ci.method == "Bonett-Price" and "Bonett-Price" in c2.reason
    assert (c2.ci.low, c2.ci.high) == pytest.approx(bonett_price_interval(n10, n01, 60))
    cont = metaeval.simulate.pointwise(n_models=2, n_items=50, scale=None, n_humans=0, judges=("j",), rng=3)
    c3 = compare(cont.judgments, "atlas-1", "borealis-1", rng=0)
    assert c3.test == "permutation" and "sign-flip" in c3.reason and c3.ci.method == "inverted sign-flip test"
    d = cont.judgments.frame.filter(pl.col("model") == "atlas-1").sort("item")["score"].to_numpy() - \
        cont.judgments.frame.filter(pl.col("model") == "borealis-1").sort("item")["score"].to_numpy()
    assert (c3.pvalue < 0.05) == (not c3.ci.contains(0.0))  # the interval inverts the test
    w = compare(cont.judgments, "atlas-1", "borealis-1", test="wilcoxon")
    assert w.pvalue == pytest.approx(st.wilcoxon(d).pvalue) and "pseudo-median" in w.reason
    assert w.ci.method == "Hodges-Lehmann (pseudo-median)"
    assert w.details["pseudo_median"] == pytest.approx(hodges_lehmann_interval(d)[0]) == w.estimate
    assert w.estimand == "pseudo-median of A - B" and w.details["mean_difference"] == pytest.approx(d.mean())
    assert w.to_polars()["estimand"][0] == "pseudo-median of A - B" and c3.estimand == "mean of A - B"
    assert c.ci.contains(c.estimate) and "why this test" in c.summary()


def test_every_explicit_test_reports_its_own_interval():
    cont = metaeval.simulate.pointwise(n_models=2, n_items=80, scale=None, n_humans=0, judges=("j",), rng=4)
    methods = {}
    for test in ("paired_t", "permutation", "bootstrap", "wilcoxon"):
        if test == "bootstrap":  # 80 items: the bootstrap warns that it cannot hold its level
            with pytest.warns(SmallSampleWarning, match="cannot hold its level"):
                r = compare(cont.judgments, "atlas-1", "borealis-1", test=test, rng=1)
        else:
            r = compare(cont.judgments, "atlas-1", "borealis-1", test=test, rng=1)
        methods[test] = r.ci.method
        assert r.test == test and r.ci.low < r.ci.high
        if test != "wilcoxon":
            assert (r.pvalue < 0.05) == (not r.ci.contains(0.0)), test
    assert methods == {"paired_t": "paired t", "permutation": "inverted sign-flip test",
                       "bootstrap": "studentized bootstrap", "wilcoxon": "Hodges-Lehmann (pseudo-median)"}
    with pytest.raises(MetaevalError, match="`test` must be one of"):
        compare(cont.judgments, "atlas-1", "borealis-1", test="ttest")


def _with_tasks(frame, per_task):
    return Judgments(frame.with_columns((pl.col("item").str.slice(1).cast(pl.Int64) // per_task).cast(pl.String)
                                        .alias("task")))


def test_compare_with_clusters():
    sim = binary_study(n_items=300)
    c = compare(_with_tasks(sim.judgments.frame, 10), "atlas-1", "borealis-1", cluster="task", rng=0)
    assert c.test == "paired_t" and "30 clusters" in c.reason and c.ci.method == "t, cluster-robust SE (CR2)"
    assert c.details["df"] == pytest.approx(29)
    c2 = compare(_with_tasks(sim.judgments.frame, 50), "atlas-1", "borealis-1", cluster="task", rng=0)
    assert c2.test == "permutation" and "only 6 clusters" in c2.reason
    assert c2.ci.method == "inverted sign-flip test (clusters)"
    # five clusters: no sign pattern gets below p = 2 / 32; the result says so
    with pytest.warns(SmallSampleWarning, match="cannot hold its level"):
        c3 = compare(_with_tasks(sim.judgments.frame, 60), "atlas-1", "borealis-1", cluster="task", rng=0)
    assert c3.test == "paired_t" and "cannot hold its level" in c3.reason
    with pytest.warns(SmallSampleWarning, match="never rejects"):
        c4 = compare(_with_tasks(sim.judgments.frame, 60), "atlas-1", "borealis-1", cluster="task",
                     test="permutation", rng=0)
    assert c4.pvalue > 0.05 and np.isinf(c4.ci.low) and np.isinf(c4.ci.high)  # p ~ 2 / 32 up to Monte Carlo error


def test_compare_bad_input():
    sim = binary_study(n_items=40)
    with pytest.raises(MetaevalError, match="unknown model 'nope'"):
        compare(sim.judgments, "atlas-1", "nope")
    with pytest.raises(MetaevalError, match="must differ"):
        compare(sim.judgments, "atlas-1", "atlas-1")
    cont = metaeval.simulate.pointwise(n_models=2, n_items=40, scale=None, n_humans=0, judges=("j",), rng=3)
    with pytest.raises(MetaevalError, match="needs binary"):
        compare(cont.judgments, "atlas-1", "borealis-1", test="mcnemar")
    with pytest.raises(MetaevalError, match="`alternative` must be"):
        compare(cont.judgments, "atlas-1", "borealis-1", alternative="bigger")
    pair = metaeval.simulate.pairwise(n_models=3, n_items=10, rng=0)
    with pytest.raises(MetaevalError, match=r"needs one baseline that every verdict of theirs involves .*, or a "
                                            r"pointwise table"):
        compare(pair.judgments, "atlas-1", "borealis-1")
    # on AlpacaEval's design the verdicts of the two models are read per judge: a judge that saw neither is named
    design = metaeval.Judgments({"item": ["q1", "q1", "q2", "q2", "q1"], "judge": ["g", "g", "g", "g", "h"],
                                 "model_a": ["base"] * 5, "model_b": ["x", "y", "x", "y", "z"],
                                 "outcome": ["b", "a", "b", "tie", "a"]})
    assert compare(design, "x", "y", judge="g").details["baseline"] == "base"
    with pytest.raises(MetaevalError, match=r"judge 'h' gave no verdict on 'x' or 'y'; the judges that did: g"):
        compare(design, "x", "y", judge="h")
    # pooled judges are said
    grades = metaeval.simulate.pointwise(n_models=2, n_items=12, judges=("judge-a", "judge-b"), n_humans=0,
                                         rng=0).judgments
    res = compare(grades, *grades.models[:2])
    assert "the mean over the 2 judges that scored it (judge-a, judge-b): pass `judge=`" in res.reason
    assert "judges that scored it" not in compare(grades, *grades.models[:2], judge="judge-a").reason


def test_all_pairs_controls_the_error_rate():
    sim = metaeval.simulate.pointwise(n_models=4, n_items=300, n_humans=0, judges=("j",), rng=4)
    res = all_pairs(sim.judgments, correction="holm", rng=0)
    t = res.to_polars()
    assert t.height == 6
    np.testing.assert_allclose(t["pvalue_adjusted"], adjust_pvalues(t["pvalue"].to_numpy(), "holm"))
    mat = res.matrix("difference")
    assert mat.height == 4
    groups = res.groups
    assert set(groups) == set(sim.judgments.models) and min(groups.values()) == 1
    best = max(sim.truth.strengths, key=sim.truth.strengths.get)
    assert groups[best] == 1


def test_power_formulas_match_statsmodels():
    n_unpaired = sample_size(0.05, sd=0.5, paired=False)
    ref = NormalIndPower().solve_power(effect_size=0.1, alpha=0.05, power=0.8, ratio=1)
    assert n_unpaired == int(np.ceil(ref))
    assert sample_size(0.05, sd=0.5) == 785
    assert minimum_detectable_effect(785, sd=0.5) == pytest.approx(0.05, rel=1e-3)
    # Clusters of 5 items with ICC 0.2 inflate n by 1 + 4 * 0.2; K = 4 samples shrink the within-item term.
    assert sample_size(0.05, sd=0.5, cluster_size=5, icc=0.2) == int(np.ceil(784.89 * 1.8))
    assert sample_size(0.05, sd=0.3, within_var=0.16, k_samples=4) == sample_size(0.05, sd=0.5 * np.sqrt(0.52))
    with pytest.raises(MetaevalError, match="give `sd`"):
        sample_size(0.05)


def test_power_from_pilot():
    sim = binary_study(n_items=200)
    pa = power_from_pilot(sim.judgments, "atlas-1", "borealis-1", delta=0.03)
    assert pa.n_needed_interval[0] <= pa.n_needed <= pa.n_needed_interval[1]
    d = pa.sd
    assert pa.n_needed == sample_size(0.03, sd=d)
    assert "items needed" in pa.summary()


def test_score_interval():
    sim = binary_study(n_items=80)
    e = score_interval(sim.judgments, "atlas-1")
    assert e.ci.method == "wilson"
    with pytest.warns(SmallSampleWarning, match="Bowyer"):
        clt = score_interval(sim.judgments, "atlas-1", method="clt")
    assert clt.estimate == e.estimate
    reps = metaeval.simulate.pointwise(n_models=2, n_items=300, scale=(0, 1), n_reps=4, n_humans=0,
                                       judges=("em",), rng=2)
    r = score_interval(reps.judgments, "atlas-1")
    assert r.ci.method == "CLT" and r.n == 300


def test_seed_variance_and_monotonicity():
    sim = metaeval.simulate.pointwise(n_models=3, n_items=60, n_reps=6, n_humans=0, judges=("j",), rng=5)
    sv = seed_variance(sim.judgments)
    t = sv.to_polars()
    assert (t["sd_ci_low"] <= t["seed_sd"]).all() and (t["seed_sd"] <= t["sd_ci_high"]).all()
    assert sv.signal_to_noise > 1
    rng = np.random.default_rng(0)
    steps = np.arange(20)
    mono = monotonicity(steps, steps * 0.01 + rng.normal(0, 0.02, 20))
    assert mono.ci.contains(mono.estimate) and mono.estimate > 0
    assert mono.pvalue == pytest.approx(st.kendalltau(steps, steps * 0.01 + np.random.default_rng(0)
                                                      .normal(0, 0.02, 20)).pvalue)
    with pytest.raises(InsufficientDataError, match="at least 2 repeats"):
        seed_variance(binary_study(n_items=20).judgments)


def test_prompt_sensitivity():
    rows = []
    acc = {"x": [0.9, 0.5, 0.7], "y": [0.6, 0.65, 0.62], "z": [0.4, 0.45, 0.8]}
    for model, scores in acc.items():
        for t, s in enumerate(scores):
            rows.append({"item": "all", "judge": "acc", "model": model, "score": s, "variant": f"p{t}"})
    ps = prompt_sensitivity(Judgments(pl.DataFrame(rows)))
    t = ps.to_polars()
    x = t.filter(pl.col("model") == "x").row(0, named=True)
    assert x["MaxP"] == 0.9 and x["AvgP"] == pytest.approx(0.7) and x["spread"] == pytest.approx(0.4)
    assert x["CPS"] == pytest.approx((1 - (0.9 - 0.7)) * 0.9)
    z = t.filter(pl.col("model") == "z").row(0, named=True)
    assert (z["rank_min"], z["rank_max"], z["positions_moved"]) == (1, 3, 2)


@pytest.mark.slow
def test_paired_t_interval_coverage_and_clt_undercoverage():
    rng = np.random.default_rng(11)
    hits = []
    for _ in range(1000):
        d = rng.normal(0.2, 1, 300)
        _, _, (lo, hi), _, _ = paired_mean_interval(d)
        hits.append(lo <= 0.2 <= hi)
    assert 0.93 <= np.mean(hits) <= 0.97
    # The CLT (Wald) interval for an accuracy of 0.95 on 20 items under-covers; Wilson does not.
    from metaeval.stats import proportion_interval

    clt_hits, wilson_hits = [], []
    for _ in range(2000):
        x = rng.binomial(20, 0.95)
        p = x / 20
        half = 1.96 * np.sqrt(p * (1 - p) / 20)
        clt_hits.append(p - half <= 0.95 <= p + half)
        lo, hi = proportion_interval(x, 20)
        wilson_hits.append(lo <= 0.95 <= hi)
    assert np.mean(clt_hits) < 0.9 < np.mean(wilson_hits)


def test_compare_cli(tmp_path):
    from click.testing import CliRunner

    from metaeval.cli import cli

    out = tmp_path / "b.parquet"
    binary_study(n_items=120).judgments.write_parquet(out)
    res = CliRunner().invoke(cli, ["compare", str(out), "atlas-1", "borealis-1", "--seed", "0", "--json"])
    assert res.exit_code == 0, res.output
    import json

    data = json.loads(res.output)
    assert data["rows"][0]["test"] == "mcnemar"
    res2 = CliRunner().invoke(cli, ["power", "--delta", "0.05", "--sd", "0.5"])
    assert "785" in res2.output
    res3 = CliRunner().invoke(cli, ["power", str(out), "atlas-1", "borealis-1", "--delta", "0.05"])
    assert res3.exit_code == 0 and "items needed" in res3.output


def test_compare_two_models_judged_against_one_baseline():
    """AlpacaEval's design: every verdict pits a model against one baseline; two models are compared
    through their per-item preferences against it."""
    rng = np.random.default_rng(0)
    n = 400
    pa = np.clip(rng.normal(0.6, 0.2, n), 0, 1)
    pb = np.clip(pa - 0.05 + rng.normal(0, 0.1, n), 0, 1)
    rows = {"item": [f"q{i}" for i in range(n)] * 2, "judge": ["g"] * (2 * n), "model_a": ["base"] * (2 * n),
            "model_b": ["x"] * n + ["y"] * n, "p_a": np.r_[1 - pa, 1 - pb],
            "outcome": ["b" if p > 0.5 else "a" if p < 0.5 else "tie" for p in np.r_[pa, pb]]}
    j = metaeval.Judgments(rows)
    c = metaeval.compare(j, "x", "y", rng=0)
    ref = st.ttest_rel(pa, pb)
    assert c.estimate == pytest.approx(np.mean(pa - pb)) and c.pvalue == pytest.approx(ref.pvalue)
    assert "preference against the baseline 'base'" in c.reason
    with pytest.raises(metaeval.MetaevalError, match="is the baseline every verdict involves"):
        metaeval.compare(j, "x", "base")
