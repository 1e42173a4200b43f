"""The resampling core (metaeval.stats.resampling): the studentized (bootstrap-t) interval against
a hand computation and R's boot.ci rule, its coverage, intervals at another level, and the draws
the stats modules take from the core (index blocks, grouped multinomial weights)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as st

from metaeval.calibration import study
from metaeval.errors import EstimationWarning, MetaevalError, ParameterError
from metaeval.stats.paired import _studentized_draws, _units, paired_bootstrap, studentized_bootstrap
from metaeval.stats.resampling import (
    Bootstrap,
    bootstrap,
    bootstrap_pvalue,
    cluster_weights,
    resample_indices,
    studentized_interval,
    t_statistics,
)


def _mean_and_se(x: np.ndarray):
    """The weighted mean and its standard error sd(ddof 1) / sqrt(n), as functions of cluster weights."""

    def mean(W: np.ndarray) -> np.ndarray:
        return (W @ x / W.sum(axis=1))[:, None]

    def se(W: np.ndarray) -> np.ndarray:
        n = W.sum(axis=1)
        m = W @ x / n
        return np.sqrt((W * (x - m[:, None]) ** 2).sum(axis=1) / (n - 1) / n)[:, None]

    return mean, se


def _boot_norm_inter(t: np.ndarray, alpha: float) -> float:
    """R boot's ``norm.inter`` (Davison & Hinkley 1997, eq. 5.8): the (R + 1)·alpha-th order
    statistic of the finite values, interpolated on the normal quantile scale when that is not a
    whole number."""
    t = np.sort(t[np.isfinite(t)])
    R = t.size
    rk = (R + 1) * alpha
    k = math.trunc(rk)
    if k == rk:
        return float(t[k - 1])
    if k == 0:
        return float(t[0])
    if k == R:
        return float(t[-1])
    z, z_k, z_k1 = st.norm.ppf(alpha), st.norm.ppf(k / (R + 1)), st.norm.ppf((k + 1) / (R + 1))
    return float(t[k - 1] + (z - z_k) / (z_k1 - z_k) * (t[k] - t[k - 1]))


@pytest.mark.parametrize("level", [0.95, 0.9, 0.8])
def test_studentized_interval_by_hand_and_boot_ci(level):
    # the mean of 15 exponential values; R = 999 resamples, so (R + 1)·alpha is a whole number and
    # boot.ci(type="stud") takes an order statistic without interpolation
    x = np.random.default_rng(42).exponential(2.0, 15)
    n, R = x.size, 999
    mean, se = _mean_and_se(x)
    b = bootstrap(mean, n, n_resamples=R, rng=7, standard_error=se)
    # by hand: the same weights (bootstrap draws them with cluster_weights from the same seed),
    # each resample written out as its list of drawn values
    W = cluster_weights(n, R, 7)
    theta = float(np.mean(x))
    se_hat = float(np.std(x, ddof=1) / math.sqrt(n))
    t_hand = []
    for w in W:
        drawn = np.repeat(x, w.astype(int))
        t_hand.append((drawn.mean() - theta) / (drawn.std(ddof=1) / math.sqrt(n)))
    t_hand = np.array(t_hand)
    np.testing.assert_allclose(b.t_draws[:, 0], t_hand, rtol=1e-11)
    assert b.estimate_se[0] == pytest.approx(se_hat, rel=1e-14)
    # boot.ci's stud.ci: [t0 - se * q((1 + conf)/2), t0 - se * q((1 - conf)/2)]
    ref = (theta - se_hat * _boot_norm_inter(t_hand, (1 + level) / 2),
           theta - se_hat * _boot_norm_inter(t_hand, (1 - level) / 2))
    low, high = b.confidence_interval(level, method="studentized")
    assert (low[0], high[0]) == pytest.approx(ref, rel=1e-12)
    # and the order statistics themselves: the ceil(p R)-th smallest t
    s = np.sort(t_hand)
    k_lo, k_hi = math.ceil((1 - level) / 2 * R - 1e-9), math.ceil((1 + level) / 2 * R - 1e-9)
    assert (low[0], high[0]) == pytest.approx((theta - s[k_hi - 1] * se_hat, theta - s[k_lo - 1] * se_hat),
                                              rel=1e-12)
    # the percentile interval of the same resamples is narrower on the skewed side
    _, p_high = b.confidence_interval(level)
    assert high[0] - theta > p_high[0] - theta


def test_studentized_interval_between_boot_ci_order_statistics_when_interpolating():
    # R = 1000: (R + 1)·0.025 = 25.025 is not whole; boot.ci interpolates between the 25th and
    # 26th smallest t on the normal scale; metaeval takes the ceil(p·R)-th, one of the two (the
    # 26th: in floating point p = (1 - 0.95) / 2 is a hair above 0.025)
    t = np.random.default_rng(3).standard_t(5, 1000)
    low, high = studentized_interval(0.0, 1.0, t, 0.95)
    s = np.sort(t)
    assert -high in (s[24], s[25]) and -low in (s[974], s[975])
    assert s[24] <= _boot_norm_inter(t, 0.025) <= s[25]
    assert s[974] <= _boot_norm_inter(t, 0.975) <= s[975]


def test_studentized_coverage_for_the_mean_of_a_skewed_distribution():
    # the mean of 20 exponential values: the percentile interval is too narrow in small skewed
    # samples, the studentized one is second-order accurate (Hall 1992)
    def replicate(gen, n=20, truth=1.0, R=999):
        x = gen.exponential(truth, n)
        mean, se = _mean_and_se(x)
        b = bootstrap(mean, n, n_resamples=R, rng=gen, standard_error=se)
        s_lo, s_hi = b.confidence_interval(0.95, method="studentized")
        p_lo, p_hi = b.confidence_interval(0.95)
        t0 = (b.estimate[0] - truth) / b.estimate_se[0]
        t = b.t_draws[:, 0]
        p_t = min(1.0, 2 * min(1 + np.sum(t >= t0), 1 + np.sum(t <= t0)) / (R + 1))
        return [{"test": "studentized", "pvalue": p_t, "ci_low": s_lo[0], "ci_high": s_hi[0], "truth": truth},
                {"test": "percentile", "pvalue": bootstrap_pvalue(b.draws[:, 0] - truth), "ci_low": p_lo[0],
                 "ci_high": p_hi[0], "truth": truth}]

    n_rep = 1000
    mcse = math.sqrt(0.95 * 0.05 / n_rep)
    res = study(replicate, {"exponential n=20": {}}, n_replicates=n_rep, coverage_band=(0.95 - 3 * mcse, 0.97),
                rng=0, progress=False)
    cov = dict(zip(res.table["test"], res.table["coverage"], strict=True))
    # studentized: nominal within 3 Monte Carlo standard errors (measured 0.943 on 4000 replicates)
    assert abs(cov["studentized"] - 0.95) <= 3 * mcse, cov
    # percentile: about 0.90 (0.897 on 4000), below the band and clearly below the studentized
    assert cov["percentile"] < 0.95 - 3 * mcse, cov
    assert cov["studentized"] - cov["percentile"] > 0.02, cov


@pytest.mark.parametrize("cluster", [False, True])
def test_confidence_interval_at_another_level_equals_rerunning(cluster):
    gen = np.random.default_rng(8)
    d = gen.normal(0.2, 1.0, 80)
    cl = gen.integers(0, 25, 80) if cluster else None
    boot = _studentized_draws(*_units(d, cl), 999, np.random.default_rng(5))
    for level in (0.5, 0.8, 0.9, 0.95, 0.99):
        low, high = boot.confidence_interval(level, method="studentized")
        rerun, _ = studentized_bootstrap(d, cluster=cl, n_resamples=999, confidence_level=level, rng=5)
        assert (float(low[0]), float(high[0])) == rerun
    (_, _), draws = paired_bootstrap(d, cluster=cl, n_resamples=999, rng=5)
    kept = Bootstrap(np.array([d.mean()]), draws[:, None], 0, "multinomial")
    for level in (0.5, 0.8, 0.99):
        low, high = kept.confidence_interval(level)
        rerun, _ = paired_bootstrap(d, cluster=cl, n_resamples=999, confidence_level=level, rng=5)
        assert (float(low[0]), float(high[0])) == rerun


def test_studentized_columns_are_each_their_own_bootstrap():
    gen = np.random.default_rng(2)
    xs = [gen.exponential(1.0, 30), gen.normal(0.0, 1.0, 30)]
    pairs = [_mean_and_se(x) for x in xs]
    both = bootstrap(lambda W: np.hstack([m(W) for m, _ in pairs]), 30, n_resamples=500, rng=4,
                     standard_error=lambda W: np.hstack([s(W) for _, s in pairs]))
    low, high = both.confidence_interval(0.9, method="studentized")
    for k, (m, s) in enumerate(pairs):
        one = bootstrap(m, 30, n_resamples=500, rng=4, standard_error=s)
        lo1, hi1 = one.confidence_interval(0.9, method="studentized")
        assert (low[k], high[k]) == (lo1[0], hi1[0])


def test_t_statistics_and_degenerate_resamples():
    t = t_statistics(np.array([2.0, 1.0, 0.0, 1.0, np.nan]), 1.0, np.array([0.5, 0.0, 0.0, np.nan, 1.0]))
    assert t[0] == 2.0 and t[1] == 0.0 and t[2] == -np.inf
    assert np.isnan(t[3]) and np.isnan(t[4])
    # a resample whose standard error cannot be computed is degenerate: counted, warned, left out
    x = np.arange(6.0)
    mean, se = _mean_and_se(x)

    def se_nan_when_first_drawn_twice(W):
        out = se(W)
        out[W[:, 0] == 2] = np.nan
        return out

    with pytest.warns(EstimationWarning, match="had no estimate"):
        b = bootstrap(mean, 6, n_resamples=300, rng=1, standard_error=se_nan_when_first_drawn_twice)
    bad = np.isnan(b.t_draws[:, 0])
    assert b.n_degenerate == int(bad.sum()) > 0
    low, high = b.confidence_interval(0.9, method="studentized")
    assert (low[0], high[0]) == studentized_interval(b.estimate[0], b.estimate_se[0], b.t_draws[~bad, 0], 0.9)


def test_studentized_one_sided_and_zero_standard_error():
    t = np.arange(-4.0, 5.0)
    assert studentized_interval(10.0, 0.5, t, 0.8, alternative="greater") == (10.0 - 3.0 * 0.5, math.inf)
    assert studentized_interval(10.0, 0.5, t, 0.8, alternative="less") == (-math.inf, 10.0 + 3.0 * 0.5)
    assert studentized_interval(10.0, 0.0, t, 0.8) == (10.0, 10.0)
    with pytest.raises(ParameterError):
        studentized_interval(10.0, 0.5, t, 0.8, alternative="two.sided")  # type: ignore[arg-type]


def test_methods_need_what_they_read():
    x = np.arange(8.0)
    mean, _ = _mean_and_se(x)
    b = bootstrap(mean, 8, n_resamples=50, rng=0)
    with pytest.raises(MetaevalError, match="standard_error"):
        b.confidence_interval(0.9, method="studentized")
    with pytest.raises(MetaevalError, match="bca=True"):
        b.confidence_interval(0.9, method="bca")
    with pytest.raises(ParameterError, match="'studentized'"):
        b.confidence_interval(0.9, method="student")  # type: ignore[arg-type]


def test_resample_indices_do_not_depend_on_the_block():
    whole = np.concatenate([idx for _, idx in resample_indices(13, 101, 3, block=101)])
    for block in (1, 7, 64, 500):
        parts = list(resample_indices(13, 101, np.random.default_rng(3), block=block))
        assert [s for s, _ in parts] == list(range(0, 101, block))
        assert np.array_equal(np.concatenate([idx for _, idx in parts]), whole)
    # one resample is n draws of rng.integers(0, n): the classic bootstrap's indices
    gen = np.random.default_rng(3)
    assert np.array_equal(whole[:5], np.stack([gen.integers(0, 13, 13) for _ in range(5)]))
    with pytest.raises(ParameterError):
        next(resample_indices(13, 10, 0, block=0))


def test_grouped_multinomial_weights_resample_the_units():
    m = np.array([30, 10, 5])
    W = cluster_weights(3, 20_000, 11, multiplicity=m)
    assert np.all(W.sum(axis=1) == 45)
    # the same distribution as resampling the 45 units one by one: mean m, variance m (1 - m/N)
    np.testing.assert_allclose(W.mean(axis=0), m, rtol=0.01)
    np.testing.assert_allclose(W.var(axis=0), m * (1 - m / 45), rtol=0.05)
    units = np.repeat(np.arange(3), m)
    by_unit = np.stack([np.bincount(units[idx], minlength=3) for _, block in
                        resample_indices(45, 20_000, 12, block=5000) for idx in block])
    np.testing.assert_allclose(by_unit.var(axis=0), W.var(axis=0), rtol=0.06)
    with pytest.raises(ParameterError):
        cluster_weights(3, 5, 0, multiplicity=np.array([1, 2]))
    with pytest.raises(ParameterError):
        cluster_weights(3, 5, 0, kind="poisson", multiplicity=m)


def test_studentized_bootstrap_warns_nothing_on_plain_data():
    d = np.random.default_rng(0).normal(size=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (low, high), p = studentized_bootstrap(d, n_resamples=499, rng=0)
    assert low < d.mean() < high and 0 < p <= 1


def test_studentized_bootstrap_says_when_it_cannot_studentize():
    """Constant differences have no spread: the computed standard error is rounding noise (~1e-9 of the
    mean), which made t_obs ~1e8 and p = 2/(R+1) from five items; it is now nan with a warning. Resamples
    of one repeated value keep their infinite t (dropping them would drop the most extreme resamples and
    make the test anti-conservative) and the warning says the interval is unbounded on that side."""
    with pytest.warns(EstimationWarning, match=r"every item's difference is the same \(0\.2\).*p-value is nan"):
        (low, high), p = studentized_bootstrap(np.full(5, 0.2), n_resamples=999, rng=0)
    assert (low, high) == (0.2, 0.2) and np.isnan(p)
    binary = np.array([1, 0, 1, 1, 0, 1, 1, 1.0])
    with pytest.warns(EstimationWarning, match=r"resamples had no spread .* infinite t statistic"):
        (low, high), p = studentized_bootstrap(binary, n_resamples=999, rng=0)
    assert low == -np.inf and np.isfinite(high) and 0.1 < p < 0.3
    assert studentized_bootstrap(np.zeros(6), n_resamples=99, rng=0) == ((0.0, 0.0), 1.0)
