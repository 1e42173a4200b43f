"""Comparing two models on the same items: paired tests and intervals, with clusters.

Kernels on arrays (``d`` = per-item score differences A − B, optional cluster ids):

- :func:`mcnemar_test` — exact binomial test on the discordant pairs, and its mid-p version;
  :func:`bonett_price_interval` — the adjusted Wald interval for the difference of paired
  proportions (small samples);
- :func:`paired_mean_interval` — mean difference, its standard error and the t interval
  (Miller 2024, "Adding Error Bars to Evals"); with clusters the CR2 standard error and
  Bell–McCaffrey degrees of freedom (:func:`cluster_robust_se`);
- :func:`sign_flip_test` — the paired permutation test (random signs of the differences, or of
  the cluster totals), and :func:`sign_flip_interval`, the interval that inverts it;
- :func:`studentized_bootstrap` — the bootstrap-t interval and the test it inverts, resampling
  items or clusters;
- :func:`hodges_lehmann_interval` — the pseudo-median and the interval that inverts the
  Wilcoxon signed-rank test;
- :func:`paired_bootstrap` — percentile interval for the mean difference, drawn through the
  sufficient statistic when the differences take few values.

Resampling kernels draw through the sufficient statistic when the units take few distinct
values (a binary paired design needs only its 2 × 2 table).

:func:`metaeval.stats.comparison.compare` is the table-level entry point (``metaeval.compare``)
that chooses among them.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import Any, Literal, NamedTuple

import numpy as np
import polars as pl
from scipy import stats as st

from metaeval._numeric import MAX_ABS_SCORE, check_magnitude, scaled_std, unit_exponent
from metaeval._random import as_generator
from metaeval._validate import ALTERNATIVES, LEVEL, N_RESAMPLES, SIGNIFICANCE, Interval, Options, validate_params
from metaeval.errors import (
    DataDroppedWarning,
    EstimationWarning,
    InsufficientDataError,
    MetaevalError,
    ParameterError,
    warn,
)
from metaeval.results import ConfidenceInterval, Result, RunInfo, check_confidence_level
from metaeval.stats.resampling import (
    DEFAULT_N_RESAMPLES,
    DEFAULT_N_TEST_RESAMPLES,
    Bootstrap,
    cluster_weights,
    percentile_interval,
    resample_indices,
    studentized_interval,
    t_statistics,
)
from metaeval.tables import Judgments, as_judgments

__all__ = [
    "Comparison",
    "PairedMean",
    "PairedScores",
    "bonett_price_interval",
    "cluster_robust_se",
    "hodges_lehmann_interval",
    "item_means",
    "mcnemar_attained_level",
    "mcnemar_test",
    "paired_bootstrap",
    "paired_mean_interval",
    "paired_scores",
    "sign_flip_interval",
    "sign_flip_test",
    "studentized_bootstrap",
]

Alternative = Literal["two-sided", "greater", "less"]
CLT_MIN_ITEMS = 300  # below this, the CLT interval is flagged (Bowyer et al. 2025)
T_PAIRED = "paired t"  # Comparison.ci.method of the t intervals (Comparison.confidence_interval recomputes them)
T_CLUSTERED = "t, cluster-robust SE (CR2)"


class PairedMean(NamedTuple):
    """What :func:`paired_mean_interval` returns; a tuple, so ``mean, se, (low, high), pvalue, df =``
    unpacks it as before.

    >>> PairedMean(0.5, 0.1, (0.3, 0.7), 0.01, 9.0).ci
    (0.3, 0.7)
    """

    mean: float
    """The mean difference A − B."""
    se: float
    """Its standard error (cluster-robust CR2 with clusters)."""
    ci: tuple[float, float]
    """The t interval ``(low, high)`` (one bound infinite for a one-sided alternative)."""
    pvalue: float
    """The t test's p-value of H0: mean 0."""
    df: float
    """The degrees of freedom of the t distribution."""


def _check_alternative(alternative: str) -> None:
    if alternative not in ("two-sided", "greater", "less"):
        raise ParameterError(f"`alternative` must be 'two-sided', 'greater' or 'less'; got {alternative!r}")


# ------------------------------------------------------------------------ kernels
@validate_params({
    "n10": [Interval(Integral, 0, None, closed="left")],
    "n01": [Interval(Integral, 0, None, closed="left")],
    "mid_p": ["boolean"],
    "alternative": [Options(str, ALTERNATIVES)],
})
def mcnemar_test(n10: int, n01: int, *, mid_p: bool = False, alternative: Alternative = "two-sided") -> float:
    """Exact McNemar p-value from the discordant counts.

    Under H0 n10 ~ Bin(n10 + n01, ½). The mid-p version subtracts half the probability of the
    observed count (Fagerland et al. 2013).

    Parameters
    ----------
    n10 : int
        Items A got right and B wrong.
    n01 : int
        Items B got right and A wrong.
    mid_p : bool, default False
        Return the mid-p value (less conservative; Fagerland et al. recommend it) instead of the
        exact conditional p-value.
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        ``"greater"``: A is more often right than B (n10 > n01); ``"less"`` the reverse.

    Returns
    -------
    float
        The p-value (1 when there are no discordant items).

    Examples
    --------
    >>> round(mcnemar_test(10, 2), 6)
    0.038574
    """
    n = n10 + n01
    if n == 0:
        return 1.0
    binom = st.binom(n, 0.5)
    if alternative == "greater":
        p = binom.sf(n10 - 1) - (0.5 * binom.pmf(n10) if mid_p else 0.0)
    elif alternative == "less":
        p = binom.cdf(n10) - (0.5 * binom.pmf(n10) if mid_p else 0.0)
    else:
        k = min(n10, n01)
        p = 2 * binom.cdf(k) - (binom.pmf(k) if mid_p else 0.0)
    return float(min(1.0, p))


@validate_params({"d": ["finite-array"], "cluster": ["array-like"]})
def cluster_robust_se(d: np.ndarray, cluster: np.ndarray) -> tuple[float, float, int]:
    """CR2 standard error of the mean of ``d`` over clustered items, with Bell–McCaffrey degrees of freedom.

    The mean is the intercept of a regression of ``d`` on a constant; CR2 (Bell & McCaffrey
    2002) scales each cluster's residual total S_g by (1 − n_g / n)^(−1/2), the inverse square
    root of its leverage block, so SE² = Σ_g S_g² / (1 − n_g / n) / n². The degrees of freedom
    are Satterthwaite's under independent, equal-variance items: (Σ λ)² / Σ λ² over the
    eigenvalues λ of the G × G matrix a_g a_h (δ_gh n_g − n_g n_h / n) / n², a_g = (1 − n_g /
    n)^(−1/2) (Imbens & Kolesár 2016; ``clubSandwich``'s "CR2" with Satterthwaite df). With
    equal cluster sizes CR2 equals the usual CR1 (G / (G − 1) times the sandwich) and the
    degrees of freedom are G − 1; with unequal sizes CR1 with G − 1 df under-covers (93 % at
    G = 40 in ``reports/calibration/compare.md``) where CR2 with these df holds 95 %.

    Parameters
    ----------
    d : numpy.ndarray
        Per-item differences (or any values whose mean is wanted).
    cluster : numpy.ndarray
        The cluster label of each item.

    Returns
    -------
    tuple of (float, float, int)
        The standard error of the mean, the degrees of freedom for a t interval, and the number of
        clusters G.

    Examples
    --------
    >>> d = np.array([0.1, 0.3, -0.2, 0.5, 0.4, 0.0, 0.2, 0.6])
    >>> se, df, g = cluster_robust_se(d, np.array([0, 0, 1, 1, 2, 2, 3, 3]))
    >>> round(se, 4), round(df, 1), g  # statsmodels OLS(d, 1).fit(cov_type="cluster"): SE 0.0554
    (0.0554, 3.0, 4)
    """
    d = check_magnitude(d, "d", limit=2 * MAX_ABS_SCORE)
    codes = np.unique(np.asarray(cluster), return_inverse=True)[1]
    g = int(codes.max()) + 1 if codes.size else 0
    if g < 2:
        raise InsufficientDataError(f"a clustered interval needs at least 2 clusters; got {g}")
    n = d.size
    sizes = np.bincount(codes, minlength=g).astype(float)
    sums = np.bincount(codes, weights=d - d.mean(), minlength=g)
    inv = 1.0 / (1.0 - sizes / n)
    e = unit_exponent(sums)  # squares of tiny (huge) totals would underflow (overflow): scale by 2^-e, exactly
    se = float(np.ldexp(np.sqrt(np.sum(np.ldexp(sums, -e) ** 2 * inv)), e) / n)
    # the matrix is diag(D) - u u' with D = a² n_g / n² and u = a n_g / n^1.5, so Σλ is its trace and
    # Σλ² its squared Frobenius norm: O(G), no eigen-decomposition
    diag = inv * sizes / n**2
    u2 = inv * sizes**2 / n**3
    trace = diag.sum() - u2.sum()
    frob2 = np.sum(diag**2) - 2 * np.sum(diag * u2) + u2.sum() ** 2
    df = float(trace**2 / frob2)
    return se, df, g


@validate_params({
    "m": [Interval(Integral, 0, None, closed="left")],
    "alpha": [SIGNIFICANCE],
    "alternative": [Options(str, ALTERNATIVES)],
})
def mcnemar_attained_level(m: int, *, alpha: float = 0.05, alternative: Alternative = "two-sided") -> float:
    """The level McNemar's exact test attains with ``m`` discordant items.

    That is P(p ≤ alpha) under H0, the Bin(m, ½) mass of the outcomes it rejects. The test is
    discrete, so this is at most ``alpha`` and often well below it (conservative) when m is small;
    0 when it cannot reject.

    Parameters
    ----------
    m : int
        Number of discordant items (n10 + n01).
    alpha : float, default 0.05
        The nominal level.
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        The alternative of the test, as in :func:`mcnemar_test`.

    Returns
    -------
    float
        The attained level, in [0, ``alpha``].

    Examples
    --------
    >>> round(mcnemar_attained_level(6) * 64, 6)  # rejects only 0 or 6 of 6: 2 / 64
    2.0
    """
    if m <= 0:
        return 0.0
    k = np.arange(m + 1)
    if alternative == "greater":
        p = st.binom.sf(k - 1, m, 0.5)
    elif alternative == "less":
        p = st.binom.cdf(k, m, 0.5)
    else:  # as mcnemar_test: twice the smaller tail
        p = np.minimum(1.0, 2 * st.binom.cdf(np.minimum(k, m - k), m, 0.5))
    return float(st.binom.pmf(k[p <= alpha], m, 0.5).sum())


@validate_params({"d": ["finite-array"], "confidence_level": [LEVEL], "alternative": [Options(str, ALTERNATIVES)]})
def paired_mean_interval(
    d: np.ndarray,
    *,
    cluster: np.ndarray | None = None,
    confidence_level: float = 0.95,
    alternative: Alternative = "two-sided",
) -> PairedMean:
    """Mean difference, standard error, t interval, p-value (H0: mean 0) and degrees of freedom.

    With ``cluster`` the standard error is cluster-robust (CR2) with Bell–McCaffrey degrees of
    freedom (:func:`cluster_robust_se`); with equal cluster sizes these are statsmodels'
    cluster-robust OLS standard error on an intercept and G − 1.

    Parameters
    ----------
    d : numpy.ndarray
        Per-item differences A − B.
    cluster : numpy.ndarray, optional
        A cluster label per item (e.g. the source document or the prompt template); items of one
        cluster are treated as dependent. Default: independent items.
    confidence_level : float, default 0.95
        Coverage of the interval.
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        The alternative hypothesis about the mean difference A − B: not 0, above 0 or below 0. A
        one-sided alternative gives a one-sided interval (the other bound infinite).

    Returns
    -------
    PairedMean
        A named tuple ``(mean, se, ci, pvalue, df)``: it unpacks as
        ``mean, se, (low, high), pvalue, df``.

    Examples
    --------
    >>> d = np.array([0.4, 1.1, 0.2, 0.9, -0.3, 0.7, 1.3, 0.5, 0.8, 0.1, 0.6, 1.0])
    >>> mean, se, (low, high), p, df = paired_mean_interval(d)
    >>> round(mean, 4), round(low, 4), round(high, 4), int(df)
    (0.6083, 0.3172, 0.8994, 11)
    >>> r = paired_mean_interval(d)
    >>> r.ci == (low, high), int(r.df)
    (True, 11)
    """
    d = check_magnitude(d, "d", limit=2 * MAX_ABS_SCORE)
    n = d.size
    if n < 2:
        raise InsufficientDataError(f"a paired interval needs at least 2 items; got {n}")
    mean = float(d.mean())
    df: float
    if cluster is None:
        se = scaled_std(d, ddof=1) / float(np.sqrt(n))
        df = n - 1
    else:
        se, df, _ = cluster_robust_se(d, cluster)
    if se == 0:
        return PairedMean(mean, 0.0, (mean, mean), (1.0 if mean == 0 else 0.0), df)
    t = mean / se
    if alternative == "two-sided":
        p = 2 * st.t.sf(abs(t), df)
    elif alternative == "greater":
        p = st.t.sf(t, df)
    else:
        p = st.t.cdf(t, df)
    return PairedMean(mean, se, _t_interval(mean, se, df, confidence_level, alternative), float(p), df)


def _t_interval(mean: float, se: float, df: float, confidence_level: float,
               alternative: Alternative = "two-sided") -> tuple[float, float]:
    """The t interval ``mean ± t_{df} × se`` at ``confidence_level``; one-sided (the other bound
    infinite) for a one-sided ``alternative``, the point ``(mean, mean)`` when ``se`` is 0. The
    interval of :func:`paired_mean_interval`, and of a :class:`Comparison` at another level.

    >>> [round(v, 4) for v in _t_interval(0.6083, 0.1323, 11, 0.95)]
    [0.3171, 0.8995]
    """
    if se == 0:
        return mean, mean
    if alternative == "two-sided":
        q = st.t.ppf(1 - (1 - confidence_level) / 2, df)
        ci = (mean - q * se, mean + q * se)
    elif alternative == "greater":
        ci = (mean - st.t.ppf(confidence_level, df) * se, np.inf)
    else:
        ci = (-np.inf, mean + st.t.ppf(confidence_level, df) * se)
    return float(ci[0]), float(ci[1])


@validate_params({
    "n10": [Interval(Integral, 0, None, closed="left")],
    "n01": [Interval(Integral, 0, None, closed="left")],
    "n": [Interval(Integral, 0, None, closed="left")],
    "confidence_level": [LEVEL],
    "alternative": [Options(str, ALTERNATIVES)],
})
def bonett_price_interval(n10: int, n01: int, n: int, *, confidence_level: float = 0.95,
                          alternative: Alternative = "two-sided") -> tuple[float, float]:
    """Adjusted Wald interval for the difference of paired proportions p10 − p01 (Bonett & Price 2012).

    One pseudo-count goes in each discordant cell, p̃ = (n10 + 1) / (n + 2) and
    (n01 + 1) / (n + 2), SE² = (p̃10 + p̃01 − (p̃10 − p̃01)²) / (n + 2), clipped to [−1, 1].
    Recommended for small samples by Fagerland, Lydersen & Laake (2014); it keeps 95 %
    coverage where the Wald and percentile bootstrap intervals do not (a handful of discordant
    pairs). Equals R ``statpsych::ci.prop.ps``.

    Parameters
    ----------
    n10 : int
        Items A got right and B wrong.
    n01 : int
        Items B got right and A wrong.
    n : int
        All items (concordant and discordant).
    confidence_level : float, default 0.95
        Coverage of the interval.
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        A one-sided alternative gives a one-sided interval (the other bound infinite).

    Returns
    -------
    tuple of (float, float)
        The interval for the difference in accuracy A − B.

    Examples
    --------
    >>> [round(v, 4) for v in bonett_price_interval(26, 4, 48)]  # statpsych: 0.2548067 0.6251933
    [0.2548, 0.6252]
    """
    if min(n10, n01) < 0 or n10 + n01 > n:
        raise MetaevalError(f"need 0 <= `n10`, `n01` and `n10` + `n01` <= `n`; got {n10}, {n01}, {n}")
    p10, p01 = (n10 + 1) / (n + 2), (n01 + 1) / (n + 2)
    diff = p10 - p01
    se = float(np.sqrt((p10 + p01 - diff**2) / (n + 2)))
    a = 1 - confidence_level
    if alternative == "two-sided":
        z = st.norm.ppf(1 - a / 2)
        return float(max(-1.0, diff - z * se)), float(min(1.0, diff + z * se))
    z = st.norm.ppf(1 - a)
    if alternative == "greater":
        return float(max(-1.0, diff - z * se)), np.inf
    return -np.inf, float(min(1.0, diff + z * se))


@validate_params({"d": ["finite-array"], "confidence_level": [LEVEL]})
def hodges_lehmann_interval(d: np.ndarray, *, confidence_level: float = 0.95) -> tuple[float, tuple[float, float]]:
    """Hodges–Lehmann estimate of the pseudo-median of the differences, with its distribution-free interval.

    The estimate is the median of the Walsh averages (d_i + d_j) / 2, i ≤ j; the interval
    (Hollander, Wolfe & Chicken 2014, §3.3; R's ``wilcox.test(conf.int = TRUE)`` in its exact
    branch) runs from the k-th smallest to the k-th largest Walsh average, k from the exact
    signed-rank distribution up to 50 items and its normal approximation above.

    Without ties or zeros it inverts the signed-rank test (``scipy.stats.wilcoxon``). With tied or
    zero differences (graded scores) no shift of the data inverts that test — moving a block of
    zeros to one side changes the statistic by a jump — and this interval is conservative
    (coverage above 95 % in ``reports/calibration/compare.md``). Both the test and the interval
    are about the pseudo-median, not the mean: for skewed differences the test can reject when
    the mean difference is 0.

    Parameters
    ----------
    d : numpy.ndarray
        Per-item differences A − B.
    confidence_level : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    tuple
        ``(estimate, (low, high))``.

    Examples
    --------
    >>> est, (low, high) = hodges_lehmann_interval(np.array([1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30])
    ...                                           - np.array([0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]))
    >>> round(est, 3), round(low, 3), round(high, 3)  # Hollander, Wolfe & Chicken, Table 3.1 (depression)
    (0.46, 0.01, 0.786)
    """
    d = np.sort(check_magnitude(d, "d", limit=2 * MAX_ABS_SCORE))
    n = d.size
    if n < 2:
        raise InsufficientDataError(f"a Hodges–Lehmann interval needs at least 2 items; got {n}")
    walsh = None
    if n <= 1000:  # all n (n + 1) / 2 Walsh averages; above, bisection on sorted d
        i, j = np.triu_indices(n)
        walsh = np.sort((d[i] + d[j]) / 2)
    m = n * (n + 1) // 2
    a = 1 - confidence_level
    if n <= 50:
        # exact null distribution of the signed-rank statistic: counts of subsets of 1..n by sum
        counts = np.zeros(m + 1)
        counts[0] = 1.0
        for r in range(1, n + 1):
            counts[r:] = counts[r:] + counts[:-r].copy()
        cdf = np.cumsum(counts) / 2.0**n
        k = max(1, int(np.searchsorted(cdf, a / 2, side="left")))  # R's qsignrank(a / 2, n), at least 1
    else:
        z = st.norm.ppf(1 - a / 2)
        k = max(1, int(np.floor(m / 2 - z * np.sqrt(n * (n + 1) * (2 * n + 1) / 24))))

    def walsh_kth(j: int) -> float:  # j-th smallest Walsh average, 1-based
        if walsh is not None:
            return float(walsh[j - 1])
        lo, hi = float(d[0]), float(d[-1])
        for _ in range(200):  # bisection on the value: count pairs i <= l with d_i + d_l <= 2 v
            v = (lo + hi) / 2
            cnt = int(np.sum(np.clip(np.searchsorted(d, 2 * v - d, side="right") - np.arange(n), 0, None)))
            if cnt >= j:
                hi = v
            else:
                lo = v
            if hi - lo <= 1e-12 * max(1.0, abs(hi)):
                break
        return hi

    est = (walsh_kth((m + 1) // 2) + walsh_kth(m // 2 + 1)) / 2
    return est, (walsh_kth(k), walsh_kth(m - k + 1))


def _distinct(d: np.ndarray, limit: int = 1000) -> tuple[np.ndarray, np.ndarray] | None:
    values, counts = np.unique(d, return_counts=True)
    return (values, counts) if values.size <= limit else None


@validate_params({
    "d": ["finite-array"],
    "n_resamples": [N_RESAMPLES],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
    "chunk": [Interval(Integral, 1, None, closed="left")],
})
def paired_bootstrap(
    d: np.ndarray,
    *,
    cluster: np.ndarray | None = None,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    rng: np.random.Generator | int | None = None,
    chunk: int = 500,
) -> tuple[tuple[float, float], np.ndarray]:
    """Percentile bootstrap interval for the mean difference, and the resampled means.

    Without clusters and with few distinct differences (binary or graded scores), a resample
    is a multinomial draw over the distinct values — the same distribution as resampling
    items, at O(distinct values) per resample. Otherwise items (or clusters, with the mean as
    a ratio of resampled sums) are resampled in chunks.

    Parameters
    ----------
    d : numpy.ndarray
        Per-item differences A − B.
    cluster : numpy.ndarray, optional
        A cluster label per item (e.g. the source document or the prompt template); items of one
        cluster are treated as dependent. Default: independent items. With clusters, whole clusters are resampled.
    n_resamples : int, default 1000
        Bootstrap resamples. Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the percentile interval.
    rng : int, numpy.random.Generator or None
        Seed; the same seed gives the same interval.
    chunk : int, default 500
        Resamples drawn at a time (memory only; the numbers do not depend on it).

    Returns
    -------
    tuple
        ``((low, high), means)``: the percentile interval and the ``n_resamples`` resampled means.

    Examples
    --------
    >>> d = np.array([0.4, 1.1, 0.2, 0.9, -0.3, 0.7, 1.3, 0.5, 0.8, 0.1, 0.6, 1.0])
    >>> (low, high), means = paired_bootstrap(d, n_resamples=2000, rng=0)
    >>> round(low, 3), round(high, 3), means.shape
    (0.358, 0.85, (2000,))
    """
    gen, _ = as_generator(rng)
    d = check_magnitude(d, "d", limit=2 * MAX_ABS_SCORE)
    n = d.size
    if n < 2:
        raise InsufficientDataError(f"a bootstrap needs at least 2 items; got {n}")
    if cluster is None:
        distinct = _distinct(d)
        # a multinomial draw costs ~100 ns per category, an index ~7 ns: few distinct values only
        if distinct is not None and 16 * distinct[0].size <= n:
            values, counts = distinct
            draws = cluster_weights(values.size, n_resamples, gen, multiplicity=counts) @ values / n
        else:
            draws = np.empty(n_resamples)
            for s, idx in resample_indices(n, n_resamples, gen, block=chunk):
                draws[s:s + len(idx)] = d[idx].mean(1)
    else:
        codes = np.unique(np.asarray(cluster), return_inverse=True)[1]
        g = int(codes.max()) + 1
        sums = np.bincount(codes, weights=d, minlength=g)
        sizes = np.bincount(codes, minlength=g).astype(float)
        w = cluster_weights(g, n_resamples, gen)
        draws = (w @ sums) / (w @ sizes)
    return percentile_interval(draws, confidence_level, axis=None, nan_policy="propagate"), draws


def _resampled_moments(x: np.ndarray, w: np.ndarray, n_resamples: int, gen: np.random.Generator,
                       chunk: int = 2_000_000) -> np.ndarray:
    """Sums over units resampled with replacement: columns sum x, sum w, sum x², sum x w, sum w²."""
    g = x.size
    rows, counts = np.unique(np.column_stack([x, w]), axis=0, return_counts=True)
    feats = np.column_stack([rows[:, 0], rows[:, 1], rows[:, 0] ** 2, rows[:, 0] * rows[:, 1], rows[:, 1] ** 2])
    if 16 * rows.shape[0] <= g:  # few distinct units (binary, graded): multinomial counts over them
        return cluster_weights(rows.shape[0], n_resamples, gen, multiplicity=counts) @ feats
    ones = bool(np.all(w == 1))
    out = np.empty((n_resamples, 5))
    for start, idx in resample_indices(g, n_resamples, gen, block=max(1, chunk // g)):
        xs = x[idx]
        block = out[start:start + len(idx)]
        block[:, 0] = xs.sum(1)
        block[:, 2] = np.einsum("ij,ij->i", xs, xs)
        if ones:  # items: every size is 1
            block[:, 1] = block[:, 4] = g
            block[:, 3] = block[:, 0]
        else:
            ws = w[idx]
            block[:, 1] = ws.sum(1)
            block[:, 3] = np.einsum("ij,ij->i", xs, ws)
            block[:, 4] = np.einsum("ij,ij->i", ws, ws)
    return out


@validate_params({
    "d": ["finite-array"],
    "n_resamples": [N_RESAMPLES],
    "confidence_level": [LEVEL],
    "alternative": [Options(str, ALTERNATIVES)],
    "rng": ["rng"],
})
def studentized_bootstrap(
    d: np.ndarray,
    *,
    cluster: np.ndarray | None = None,
    n_resamples: int = DEFAULT_N_TEST_RESAMPLES,
    confidence_level: float = 0.95,
    alternative: Alternative = "two-sided",
    rng: np.random.Generator | int | None = None,
) -> tuple[tuple[float, float], float]:
    """Bootstrap-t interval for the mean difference and the bootstrap test it inverts.

    Items (or whole clusters) are resampled; each resample gives t* = (mean* − mean) / se*, with
    se* the (cluster-robust) standard error of the resample. The interval is
    [mean − q(1 − a/2) se, mean − q(a/2) se] with q the quantiles of t* (Efron & Tibshirani 1993,
    ch. 12; Hall 1992: second-order accurate, unlike the percentile interval, which is too
    narrow in small samples). The p-value compares t = mean / se with the same t* (equal-tailed:
    twice the smaller tail), so the interval excludes 0 when p < 1 − ``confidence_level``, up to
    Monte Carlo error.

    Parameters
    ----------
    d : numpy.ndarray
        Per-item differences A − B.
    cluster : numpy.ndarray, optional
        A cluster label per item; whole clusters are resampled. Default: independent items.
    n_resamples : int, default 10000
        Bootstrap resamples.
        Default: the package default for Monte Carlo p-values, 10000 (``DEFAULT_N_TEST_RESAMPLES``, see
        :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the interval.
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        The alternative about the mean difference; a one-sided alternative gives a one-sided
        interval.
    rng : int, numpy.random.Generator or None
        Seed for the resampling.

    Returns
    -------
    ((low, high), pvalue)
        The bootstrap-t interval and the p-value of mean 0.

    Examples
    --------
    >>> d = np.array([0.4, 1.1, 0.2, 0.9, -0.3, 0.7, 1.3, 0.5, 0.8, 0.1, 0.6, 1.0])
    >>> (low, high), p = studentized_bootstrap(d, rng=0)
    >>> bool(0 < low < d.mean() < high) and bool(p < 0.05)
    True
    """
    gen, _ = as_generator(rng)
    d = check_magnitude(d, "d", limit=2 * MAX_ABS_SCORE)
    e = unit_exponent(d)
    if e:  # the moments square d: run on d scaled by a power of two (exact) and scale the interval back
        (lo, hi), p = studentized_bootstrap(np.ldexp(d, -e), cluster=cluster, n_resamples=n_resamples,
                                            confidence_level=confidence_level, alternative=alternative, rng=gen)
        return (float(np.ldexp(lo, e)), float(np.ldexp(hi, e))), p
    x, w = _units(d, cluster)
    if x.size < 2:
        raise InsufficientDataError(f"a bootstrap needs at least 2 {'clusters' if cluster is not None else 'items'}; "
                                    f"got {x.size}")
    boot = _studentized_draws(x, w, n_resamples, gen)
    mean, se = float(boot.estimate[0]), float(boot.estimate_se[0])  # type: ignore[index]
    if se == 0:
        if mean == 0:
            return (mean, mean), 1.0
        warn(f"every {'cluster' if cluster is not None else 'item'}'s difference is the same ({mean:g}): the "
             "studentized bootstrap has no spread to studentize by, so its p-value is nan; the sign-flip test "
             "(sign_flip_test) gives an exact p-value here", EstimationWarning)
        return (mean, mean), float("nan")
    t_star = boot.t_draws[:, 0]  # type: ignore[index]
    t_obs = mean / se
    upper_tail = (1 + np.sum(t_star >= t_obs)) / (n_resamples + 1)
    lower_tail = (1 + np.sum(t_star <= t_obs)) / (n_resamples + 1)
    p = {"two-sided": min(1.0, 2 * min(upper_tail, lower_tail)), "greater": upper_tail,
         "less": lower_tail}[alternative]
    return studentized_interval(mean, se, t_star, confidence_level, alternative=alternative), float(p)


def _mean_se(m: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean (a ratio of sums) and its cluster-robust standard error from the moment sums of
    :func:`_resampled_moments` (sum x, sum w, sum x², sum x w, sum w²) over ``g`` units."""
    mean = m[..., 0] / m[..., 1]
    rss = np.maximum(m[..., 2] - 2 * mean * m[..., 3] + mean**2 * m[..., 4], 0.0)
    return mean, np.sqrt(g / (g - 1) * rss) / m[..., 1]


#: A standard error below this share of the data's scale is rounding noise, not spread.
_NO_SPREAD = 1e-7


def _studentized_draws(x: np.ndarray, w: np.ndarray, n_resamples: int, gen: np.random.Generator) -> Bootstrap:
    """The bootstrap of the mean over units (totals ``x``, sizes ``w``) with each resample's t
    statistic, as the core's :class:`~metaeval.stats.resampling.Bootstrap` (its
    ``confidence_interval(method="studentized")`` is :func:`studentized_bootstrap`'s interval).
    Where the data have no spread (every unit's mean the same) nothing is drawn: the draws are
    empty and the standard error 0.

    A standard error below ``_NO_SPREAD`` of the units' largest |mean| is no spread: the moments
    square the data, so a constant sample's computed standard error is rounding noise (about
    1e-9 of its mean). A resample of one repeated value has a t statistic of ±∞ (0 where it
    equals the estimate), as bootstrap-t defines it: leaving such resamples out would drop the
    most extreme ones and make the test anti-conservative. With few distinct values they are
    common (a resample of 8 binary differences is all-equal about one time in ten) and make the
    interval unbounded; a warning says so."""
    g = x.size
    obs = np.array([x.sum(), w.sum(), (x**2).sum(), (x * w).sum(), (w**2).sum()])
    mean, se = (float(v) for v in _mean_se(obs, g))
    tol = _NO_SPREAD * float(np.max(np.abs(x / w)))
    if se <= tol:
        return Bootstrap(np.array([mean]), np.empty((0, 1)), 0, "multinomial", None, np.empty((0, 1)), np.array([0.0]))
    m_star, se_star = _mean_se(_resampled_moments(x, w, n_resamples, gen), g)
    flat = se_star <= tol
    t = t_statistics(m_star, mean, np.where(flat, 0.0, se_star))
    n_inf = int(np.isinf(t).sum())
    if n_inf:
        warn(f"{n_inf} of {n_resamples} resamples had no spread (every resampled difference the same), so an "
             "infinite t statistic: the bootstrap-t cannot bound the interval on that side, and its p-value is "
             "unreliable with so few distinct values; the sign-flip test (sign_flip_test) is exact",
             EstimationWarning)
    return Bootstrap(np.array([mean]), m_star[:, None], 0, "multinomial", None, t[:, None], np.array([se]))


def _units(d: np.ndarray, cluster: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The resampling units: per-item differences and sizes 1, or cluster totals and sizes."""
    if cluster is None:
        return d, np.ones_like(d)
    codes = np.unique(np.asarray(cluster), return_inverse=True)[1]
    return np.bincount(codes, weights=d), np.bincount(codes).astype(float)


def _flip_draws(x: np.ndarray, w: np.ndarray, n_resamples: int, gen: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """Random sign flips of the units: ``a_r = sum_i e_ri x_i`` and ``s_r = sum_i e_ri w_i``.

    Units with the same (total, size) share one Bin(count, 1/2) number of positive signs, so a
    resample of a binary or graded table costs O(distinct values); otherwise one sign per unit.
    """
    rows, counts = np.unique(np.column_stack([x, w]), axis=0, return_counts=True)
    if 4 * rows.shape[0] <= x.size:
        pos = gen.binomial(counts[None, :], 0.5, size=(n_resamples, rows.shape[0]))
        signed = 2 * pos - counts[None, :]
        return signed @ rows[:, 0], signed @ rows[:, 1]
    a, s = np.empty(n_resamples), np.empty(n_resamples)
    ones = bool(np.all(w == 1))
    step = max(1, 2_000_000 // x.size)
    for start in range(0, n_resamples, step):
        size = min(step, n_resamples - start)
        pos = gen.integers(0, 2, (size, x.size), dtype=np.int8)
        a[start:start + size] = 2.0 * (pos @ x) - x.sum()
        s[start:start + size] = 2.0 * (pos.sum(1, dtype=np.int64) if ones else pos @ w) - w.sum()
    return a, s


def _kth(values: np.ndarray, k: int, *, largest: bool) -> float:
    """The k-th smallest (or largest) value, ``-inf`` / ``inf`` when there are fewer than k."""
    if k <= 0:
        return -np.inf if not largest else np.inf
    if k > values.size:
        return np.inf if largest else -np.inf
    v = np.partition(values, values.size - k if largest else k - 1)
    return float(v[values.size - k] if largest else v[k - 1])


def _sign_flip(d: np.ndarray, cluster: np.ndarray | None, n_resamples: int, confidence_level: float,
               alternative: Alternative, gen: np.random.Generator) -> tuple[tuple[float, float], float, float]:
    """:func:`sign_flip_interval`, and the level the test attains on these data."""
    _check_alternative(alternative)
    if not 0 < confidence_level < 1:
        raise ParameterError(f"`confidence_level` must lie in (0, 1); got {confidence_level!r}")
    d = check_magnitude(d, "d", limit=2 * MAX_ABS_SCORE)
    if d.size < 1:
        raise InsufficientDataError("a sign-flip test needs at least 1 item")
    x, w = _units(d, cluster)
    a, s = _flip_draws(x, w, n_resamples, gen)
    S, N = float(x.sum()), float(w.sum())
    tol = 1e-9 * max(1.0, float(np.abs(x).sum()))
    if alternative == "two-sided":
        hits = np.sum(np.abs(a) >= abs(S) - tol)
    elif alternative == "greater":
        hits = np.sum(a >= S - tol)
    else:
        hits = np.sum(a <= S + tol)
    pvalue = float(min(1.0, (1 + hits) / (n_resamples + 1)))
    k = int(np.floor((1 - confidence_level) * (n_resamples + 1)))
    every = (s == N) | (s == -N)  # all signs equal: the resample equals (minus) the data for every mu
    with np.errstate(divide="ignore", invalid="ignore"):
        r1 = np.where(every, np.nan, (S - a) / (N - s))  # T*(mu) = T(mu)
        r2 = np.where(every, np.nan, (S + a) / (N + s))  # T*(mu) = -T(mu)
    n_every = int(every.sum())
    r1f, r2f = r1[~every], r2[~every]
    if alternative == "two-sided":
        low = _kth(np.minimum(r1f, r2f), k - n_every, largest=False)
        high = _kth(np.maximum(r1f, r2f), k - n_every, largest=True)
    elif alternative == "greater":  # accept mu when T*(mu) >= T(mu) in at least k resamples: mu >= r1
        low, high = _kth(r1f, k - n_every, largest=False), np.inf
    else:
        low, high = -np.inf, _kth(r1f, k - n_every, largest=True)
    # the level the test attains on these data: with few distinct unit values many resamples tie
    # with each other and an exact test rejects less often than 1 - confidence_level under H0
    stat = np.abs(a) if alternative == "two-sided" else (a if alternative == "greater" else -a)
    ordered = np.sort(stat)
    at_least = n_resamples - np.searchsorted(ordered, stat - tol, side="left")
    attained = float(np.mean((1 + at_least) / (n_resamples + 1) <= 1 - confidence_level))
    return (low, high), pvalue, attained


@validate_params({
    "d": ["finite-array"],
    "n_resamples": [N_RESAMPLES],
    "confidence_level": [LEVEL],
    "alternative": [Options(str, ALTERNATIVES)],
    "rng": ["rng"],
})
def sign_flip_interval(
    d: np.ndarray,
    *,
    cluster: np.ndarray | None = None,
    n_resamples: int = DEFAULT_N_TEST_RESAMPLES,
    confidence_level: float = 0.95,
    alternative: Alternative = "two-sided",
    rng: np.random.Generator | int | None = None,
) -> tuple[tuple[float, float], float]:
    """The sign-flip (paired permutation) test of mean difference 0 and the interval that inverts it.

    Under H0 "the two models are exchangeable on every item" (or on every cluster), each
    item's difference (each cluster's total) is as likely to be +d as −d. The statistic is
    T(mu) = sum(d − mu) over items; a resample flips the sign of each unit's total of d − mu.
    With one set of random signs for every mu, each resample r accepts the mu in an interval
    [L_r, U_r] around the mean (the roots of |a_r − mu s_r| = |S − mu N|, where a_r and s_r are
    the signed sums of the unit totals and sizes), so the confidence set {mu : p(mu) > alpha} is
    exactly [k-th smallest L_r, k-th largest U_r] with k = floor(alpha (R + 1)): the interval
    excludes 0 exactly when the p-value is at most alpha (Hartigan 1969; Good 2005, §3.5).

    Parameters
    ----------
    d : numpy.ndarray
        Per-item differences A − B.
    cluster : numpy.ndarray, optional
        A cluster label per item (e.g. the source document or the prompt template); items of one
        cluster are treated as dependent. Default: independent items. With clusters, the signs flip per cluster.
    n_resamples : int, default 10000
        Random sign flips.
        Default: the package default for Monte Carlo p-values, 10000 (``DEFAULT_N_TEST_RESAMPLES``, see
        :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the interval.
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        The alternative hypothesis about the mean difference A − B: not 0, above 0 or below 0. A
        one-sided alternative gives a one-sided interval (the other bound infinite).
    rng : int, numpy.random.Generator or None
        Seed for the signs.

    Returns
    -------
    ((low, high), pvalue)
        ``p = (1 + #{resamples at least as extreme as observed}) / (n_resamples + 1)``. With G units
        the smallest attainable two-sided p is 2 / 2^G; when it exceeds 1 − ``confidence_level``
        the interval is unbounded.

    Examples
    --------
    >>> d = np.array([0.4, 1.1, 0.2, 0.9, -0.3, 0.7, 1.3, 0.5, 0.8, 0.1, 0.6, 1.0])
    >>> (low, high), p = sign_flip_interval(d, rng=0)
    >>> bool(low > 0) and bool(p < 0.05)
    True
    """
    gen, _ = as_generator(rng)
    ci, p, _ = _sign_flip(np.asarray(d, float), cluster, n_resamples, confidence_level, alternative, gen)
    return ci, p


@validate_params({
    "d": ["finite-array"],
    "n_resamples": [N_RESAMPLES],
    "alternative": [Options(str, ALTERNATIVES)],
    "rng": ["rng"],
})
def sign_flip_test(
    d: np.ndarray,
    *,
    cluster: np.ndarray | None = None,
    n_resamples: int = DEFAULT_N_TEST_RESAMPLES,
    alternative: Alternative = "two-sided",
    rng: np.random.Generator | int | None = None,
) -> float:
    """Monte Carlo sign-flip (paired permutation) test of mean difference 0.

    Under H0 each item's (or each cluster's) difference is as likely to be +d as −d. Items
    with the same difference share one Bin(count, ½) number of positive signs, so a resample
    of a binary table costs O(distinct values). p = (1 + #{resampled ≥ observed}) /
    (n_resamples + 1). :func:`sign_flip_interval` gives the interval that inverts this test.

    Parameters
    ----------
    d : numpy.ndarray
        Per-item differences A − B.
    cluster : numpy.ndarray, optional
        A cluster label per item (e.g. the source document or the prompt template); items of one
        cluster are treated as dependent. Default: independent items. With clusters, the signs flip per cluster.
    n_resamples : int, default 10000
        Random sign flips.
        Default: the package default for Monte Carlo p-values, 10000 (``DEFAULT_N_TEST_RESAMPLES``, see
        :mod:`metaeval.stats.resampling`).
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        The alternative about the mean difference: not 0, above 0 or below 0.
    rng : int, numpy.random.Generator or None
        Seed for the signs.

    Returns
    -------
    float
        The Monte Carlo p-value.

    Examples
    --------
    >>> round(sign_flip_test(np.array([1.0] * 9 + [-1.0] * 1), rng=0), 2)
    0.02
    """
    return sign_flip_interval(d, cluster=cluster, n_resamples=n_resamples, alternative=alternative, rng=rng)[1]


# ------------------------------------------------------------------- table level
@dataclass(frozen=True)
class PairedScores:
    """Per-item scores of two models on the items both were scored on."""

    items: np.ndarray
    a: np.ndarray
    b: np.ndarray
    cluster: np.ndarray | None
    n_samples: np.ndarray  # scores averaged per item (repeats, judges)
    dropped: int
    baseline: str | None = None  # a pairwise table's common baseline (the scores are preferences against it)

    @property
    def d(self) -> np.ndarray:
        return self.a - self.b

    @property
    def binary(self) -> bool:
        return bool(np.isin(self.a, (0.0, 1.0)).all() and np.isin(self.b, (0.0, 1.0)).all())


def item_means(judgments: Judgments, models: list[str], *, judge: str | None = None,
               cluster: str | None = None) -> pl.DataFrame:
    """Mean score per (item, model) over repeats and judges (``s``), the number of scores (``k``)
    and the item's cluster label (``c``), for the given models."""
    f = judgments.frame.filter(pl.col("score").is_not_null(), pl.col("model").is_in(models))
    if judge is not None:
        f = f.filter(pl.col("judge") == judge)
    if cluster is not None and cluster not in f.columns:
        raise MetaevalError(f"cannot cluster on `{cluster}`: the table has no such column")
    aggs = [pl.col("score").mean().alias("s"), pl.len().alias("k")]
    if cluster is not None:
        aggs.append(pl.col(cluster).first().cast(pl.String).alias("c"))
    return f.group_by("item", "model", maintain_order=True).agg(aggs)


def paired_scores(judgments: Judgments, model_a: str, model_b: str, *, cluster: str | None = None,
                  judge: str | None = None) -> PairedScores:
    """Average each model's scores per item (over repeats and judges) and pair them by item.

    A pairwise table in which every verdict involves one common baseline (AlpacaEval's design) is
    compared through each model's preference against the baseline on each item
    (:meth:`~metaeval.tables.Judgments.baseline_scores`).

    Parameters
    ----------
    judgments : Judgments
        Pointwise scores, or pairwise verdicts against a common baseline.
    model_a, model_b : str
        The two models.
    cluster : str, optional
        A column grouping items into clusters (e.g. the source document). Default: none.
    judge : str, optional
        Use this judge's scores only. Default: every judge's, averaged.

    Returns
    -------
    PairedScores
        ``items`` (scored for both models), ``a`` and ``b`` (the per-item mean scores),
        ``cluster`` (per item, or None), ``n_samples`` (scores averaged per item) and ``dropped``
        (items scored for one model only).

    Examples
    --------
    >>> import metaeval
    >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=30, judges=("judge-x",), rng=0)
    >>> ps = paired_scores(sim.judgments, "atlas-1", "borealis-1")
    >>> len(ps.items), ps.dropped
    (30, 0)
    """
    judgments = as_judgments(judgments)
    for m in (model_a, model_b):
        if m not in judgments.models:
            raise MetaevalError(f"unknown model {m!r}; the table has {', '.join(judgments.models[:8])}"
                                + (" …" if len(judgments.models) > 8 else ""))
    if model_a == model_b:
        raise ParameterError("`model_a` and `model_b` must differ")
    if judgments.kind == "pairwise":
        # the verdicts that involve the two models (of the judge, if one is named) must share a baseline
        mine = pl.col("model_a").is_in([model_a, model_b]) | pl.col("model_b").is_in([model_a, model_b])
        if judge is not None and judgments.frame.filter(mine, pl.col("judge") == judge).height == 0:
            by = sorted(set(judgments.frame.filter(mine)["judge"].to_list()))
            raise MetaevalError(f"judge {judge!r} gave no verdict on {model_a!r} or {model_b!r}; the judges that did: "
                                f"{', '.join(by) if by else 'none'}")
        sub = judgments.filter(mine) if judge is None else judgments.filter(mine, pl.col("judge") == judge)
        try:
            judgments = sub.baseline_scores()
        except MetaevalError as exc:
            reason = str(exc).split(" — pass `baseline=`")[0]
            hint = ("; pass `judge=` to compare within one judge" if judge is None and len(sub.judges) > 1
                    else "")
            raise MetaevalError(f"comparing {model_a!r} and {model_b!r} on a pairwise table needs one baseline that "
                                f"every verdict of theirs involves (AlpacaEval's design), or a pointwise table with "
                                f"numeric `score`: {reason}{hint}") from None
        if model_a == judgments.provenance.get("baseline") or model_b == judgments.provenance.get("baseline"):
            raise MetaevalError(f"{judgments.provenance['baseline']!r} is the baseline every verdict involves; "
                                "compare two of the other models (each against it)")
    if judgments.kind != "pointwise" or "score" not in judgments.frame.columns:
        raise MetaevalError("comparing two models needs a pointwise table with numeric `score`")
    per = item_means(judgments, [model_a, model_b], judge=judge, cluster=cluster)
    wa = per.filter(pl.col("model") == model_a).drop("model")
    wb = per.filter(pl.col("model") == model_b).drop("model")
    both = wa.join(wb, on="item", suffix="_b", maintain_order="left").sort("item")
    dropped = wa.height + wb.height - 2 * both.height
    if dropped:
        warn(f"{dropped} items were scored for only one of the two models and were left out", DataDroppedWarning)
    if both.height < 2:
        raise InsufficientDataError(f"{model_a!r} and {model_b!r} share {both.height} scored items; need 2")
    cl = both["c"].to_numpy() if cluster is not None else None
    return PairedScores(both["item"].to_numpy(), both["s"].to_numpy(), both["s_b"].to_numpy(), cl,
                        both["k"].to_numpy(), dropped, judgments.provenance.get("baseline"))


@dataclass(frozen=True)
class Comparison(Result):
    """A paired comparison of two models: the mean difference A − B with its interval, the
    test that was run, its p-value, and why that test was chosen. With ``test="wilcoxon"`` the
    estimate and interval are the Hodges–Lehmann pseudo-median of the differences (the signed-
    rank test's question; ``estimand`` says which); the mean difference is then in
    ``details["mean_difference"]``."""

    model_a: str
    model_b: str
    estimate: float
    ci: ConfidenceInterval
    pvalue: float
    test: str
    reason: str
    n: int
    mean_a: float
    mean_b: float
    alternative: str
    details: dict[str, Any]
    run_info: RunInfo

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"{self.model_a} vs {self.model_b} ({self.test})"

    @property
    def estimand(self) -> str:
        """What ``estimate``, ``ci`` and ``pvalue`` are about."""
        return "pseudo-median of A - B" if self.test == "wilcoxon" else "mean of A - B"

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({
            "model_a": [self.model_a], "model_b": [self.model_b], "mean_a": [self.mean_a], "mean_b": [self.mean_b],
            "estimand": [self.estimand], "difference": [self.estimate], "ci_low": [self.ci.low],
            "ci_high": [self.ci.high], "pvalue": [self.pvalue], "test": [self.test], "n": [self.n],
        })

    def summary(self) -> str:
        return super().summary() + f"\ninterval: {self.ci}\nwhy this test: {self.reason}"

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """The interval at another level, made as ``ci`` was, from what this comparison kept: the
        t interval (paired t, and McNemar's test from ``CLT_MIN_ITEMS`` items or with clusters)
        from the standard error and degrees of freedom in ``details``; the Bonett–Price interval
        from the discordant counts. At ``ci.level`` it is ``ci`` exactly.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Coverage of the interval, in (0, 1); one-sided as ``alternative`` is.

        Returns
        -------
        ConfidenceInterval
            The interval of ``estimate`` at ``confidence_level``.

        Raises
        ------
        ParameterError
            For the intervals that invert a test on the per-item differences or resample them
            (sign-flip, studentized bootstrap, Hodges–Lehmann) and for credible intervals: the
            comparison keeps neither the differences nor the draws, so call
            :func:`metaeval.compare` again with that ``confidence_level``.

        Examples
        --------
        >>> import metaeval
        >>> sim = metaeval.simulate.pointwise(n_models=2, n_items=400, n_humans=0, judges=("judge-x",), rng=0)
        >>> c = metaeval.compare(sim.judgments, "atlas-1", "borealis-1", test="paired_t")
        >>> c.confidence_interval(c.ci.level) == c.ci
        True
        >>> c.confidence_interval(0.8).width < c.ci.width
        True
        """
        level = check_confidence_level(confidence_level)
        method = self.ci.method
        if method in (T_PAIRED, T_CLUSTERED) and "se" in self.details and "df" in self.details:
            low, high = _t_interval(self.estimate, self.details["se"], self.details["df"], level,
                                    self.alternative)  # type: ignore[arg-type]
            return ConfidenceInterval(low, high, level, method)
        if method == "Bonett-Price" and "a_only_correct" in self.details:
            low, high = bonett_price_interval(self.details["a_only_correct"], self.details["b_only_correct"], self.n,
                                              confidence_level=level,
                                              alternative=self.alternative)  # type: ignore[arg-type]
            return ConfidenceInterval(low, high, level, method)
        raise ParameterError(f"the {method!r} interval cannot be given at another level: it needs the per-item "
                             "differences (or the resampled draws), which this comparison does not keep; call "
                             f"`compare(..., confidence_level={confidence_level!r})` again")
