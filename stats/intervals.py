"""Intervals for a single score: a proportion (Wilson, Clopper–Pearson, Jeffreys), a mean
with a (clustered) CLT standard error, or a correlation coefficient (Fisher z).

Array-level: ``successes`` and ``n`` may be scalars or arrays (broadcast together).
Checked against ``statsmodels.stats.proportion.proportion_confint`` in the tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from scipy import stats as _st

from metaeval._validate import LEVEL, Options, validate_params
from metaeval.errors import InsufficientDataError, MetaevalError, ParameterError, SmallSampleWarning, warn
from metaeval.results import ConfidenceInterval, Estimate, RunInfo
from metaeval.stats.paired import CLT_MIN_ITEMS, item_means, paired_mean_interval
from metaeval.tables import as_judgments

if TYPE_CHECKING:
    from metaeval.results import Estimate
    from metaeval.tables import Judgments

__all__ = ["correlation_interval", "proportion_interval", "score_interval"]

Method = Literal["wilson", "clopper_pearson", "jeffreys"]


@validate_params({"confidence_level": [LEVEL], "method": [Options(str, ("wilson", "clopper_pearson", "jeffreys"))]})
def proportion_interval(
    successes: float | np.ndarray,
    n: float | np.ndarray,
    *,
    confidence_level: float = 0.95,
    method: Method = "wilson",
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided interval for a binomial proportion.

    Parameters
    ----------
    successes, n : float or numpy.ndarray
        Counts (``successes`` may be fractional, e.g. wins + ½ ties, for Wilson).
    confidence_level : float, default 0.95
        Coverage of the interval.
    method : {"wilson", "clopper_pearson", "jeffreys"}, default "wilson"
        ``"wilson"`` (score interval, the default: good coverage at every n),
        ``"clopper_pearson"`` (exact, conservative) or ``"jeffreys"`` (Beta(½, ½) posterior).

    Returns
    -------
    (low, high)
        Arrays (0-d for scalar input); ``nan`` where ``n == 0``.

    Examples
    --------
    >>> low, high = proportion_interval(81, 100)
    >>> round(float(low), 4), round(float(high), 4)
    (0.7222, 0.8749)
    """
    if not 0 < confidence_level < 1:
        raise ParameterError(f"`confidence_level` must lie in (0, 1); got {confidence_level!r}")
    x = np.asarray(successes, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    if np.any(n_arr < 0) or np.any(x < 0) or np.any(x > n_arr):
        raise MetaevalError("need 0 <= `successes` <= `n`")
    alpha = 1 - confidence_level
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "wilson":
            z = _st.norm.ppf(1 - alpha / 2)
            p = x / n_arr
            denom = 1 + z**2 / n_arr
            center = (p + z**2 / (2 * n_arr)) / denom
            half = z * np.sqrt(p * (1 - p) / n_arr + z**2 / (4 * n_arr**2)) / denom
            low, high = center - half, center + half
        elif method == "clopper_pearson":
            low = np.where(x > 0, _st.beta.ppf(alpha / 2, x, n_arr - x + 1), 0.0)
            high = np.where(x < n_arr, _st.beta.ppf(1 - alpha / 2, x + 1, n_arr - x), 1.0)
        elif method == "jeffreys":
            low = np.where(x > 0, _st.beta.ppf(alpha / 2, x + 0.5, n_arr - x + 0.5), 0.0)
            high = np.where(x < n_arr, _st.beta.ppf(1 - alpha / 2, x + 0.5, n_arr - x + 0.5), 1.0)
        else:
            raise ParameterError(f"`method` must be 'wilson', 'clopper_pearson' or 'jeffreys'; got {method!r}")
    low = np.where(n_arr > 0, np.clip(low, 0.0, 1.0), np.nan)
    high = np.where(n_arr > 0, np.clip(high, 0.0, 1.0), np.nan)
    return low, high


@validate_params({
    "method": [Options(str, ("auto", "wilson", "clopper_pearson", "jeffreys", "clt"))],
    "confidence_level": [LEVEL],
})
def score_interval(
    results: Judgments,
    model: str,
    *,
    method: Literal["auto", "wilson", "clopper_pearson", "jeffreys", "clt"] = "auto",
    cluster: str | None = None,
    judge: str | None = None,
    confidence_level: float = 0.95,
) -> Estimate:
    """Mean score of one model with an interval (an accuracy, when scores are 0/1).

    Scores are first averaged per item (over repeats / samples and judges): the standard error
    of the mean of item means carries the resampling term of Miller (2024). ``"auto"`` uses
    Wilson for 0/1 scores with one sample per item and no clusters, and otherwise the CLT
    interval with a (cluster-robust, when ``cluster`` is given) standard error; the CLT on
    fewer than a few hundred items warns and names the alternatives (Bowyer et al. 2025).

    Parameters
    ----------
    results : Judgments
        Pointwise scores.
    model : str
        The model.
    method : {"auto", "wilson", "clopper_pearson", "jeffreys", "clt"}, default "auto"
        The interval: Wilson, Clopper–Pearson (exact) or Jeffreys for 0/1 scores with one sample per
        item, or the CLT (t) interval on the item means; ``"auto"`` as above.
    cluster : str, optional
        A column grouping dependent items; the CLT standard error is then cluster-robust.
    judge : str, optional
        Use this judge's scores only. Default: every judge's, averaged per item.
    confidence_level : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    Estimate
        ``estimate`` (the mean score), ``ci`` (``ci.method`` names the interval), ``n`` (items).

    Examples
    --------
    >>> import metaeval
    >>> from metaeval.stats import score_interval
    >>> sim = metaeval.simulate.pointwise(n_models=2, n_items=50, scale=(0, 1), n_humans=0,
    ...                                   judges=("exact_match",), rng=0)
    >>> score_interval(sim.judgments, "atlas-1").ci.method
    'wilson'
    """

    results = as_judgments(results)

    if results.kind != "pointwise" or "score" not in results.frame.columns:
        raise MetaevalError("`score_interval` needs a pointwise table with numeric `score`")
    if model not in results.models:
        raise MetaevalError(f"unknown model {model!r}")
    per = item_means(results, [model], judge=judge, cluster=cluster)
    n = per.height
    if n < 2:
        raise InsufficientDataError(f"{model!r} has {n} scored items; need 2")
    s = per["s"].to_numpy()
    binary_single = bool(np.isin(s, (0.0, 1.0)).all() and (per["k"] == 1).all())
    if method == "auto":
        method = "wilson" if binary_single and cluster is None else "clt"
    if method in ("wilson", "clopper_pearson", "jeffreys"):
        if not np.isin(s, (0.0, 1.0)).all():
            raise MetaevalError(f"`method={method!r}` needs one 0/1 score per item; use 'clt'")
        low, high = proportion_interval(s.sum(), n, confidence_level=confidence_level, method=method)
        ci = ConfidenceInterval(float(low), float(high), confidence_level, method)
    elif method == "clt":
        if n < CLT_MIN_ITEMS:
            warn(f"the CLT interval on {n} items can under-cover; for accuracies prefer 'wilson' or "
                 "'clopper_pearson', or a Bayesian interval (Bowyer et al. 2025)", SmallSampleWarning)
        cl = per["c"].to_numpy() if cluster is not None else None
        _, _, (lo, hi), _, _ = paired_mean_interval(s, cluster=cl, confidence_level=confidence_level)
        ci = ConfidenceInterval(lo, hi, confidence_level, "CLT, cluster-robust SE" if cluster else "CLT")
    else:
        raise ParameterError(f"`method` must be auto, wilson, clopper_pearson, jeffreys or clt; got {method!r}")
    run = RunInfo("score_interval", {"method": method, "cluster": cluster, "judge": judge}, None,
                  results.fingerprint, n, int(per["k"].sum()))
    return Estimate(f"mean score of {model}", float(s.mean()), ci, None, n, run)


_MIN_CORR_N = {"spearman": 4, "kendall": 5, "pearson": 4}


@validate_params({"method": [Options(str, ("spearman", "kendall", "pearson"))], "confidence_level": [LEVEL]})
def correlation_interval(r: float, n: int, *, method: Literal["spearman", "kendall", "pearson"] = "spearman",
                         confidence_level: float = 0.95) -> tuple[float, float]:
    """Fisher-z interval for a correlation over ``n`` pairs, with the standard error that suits
    the coefficient: Bonett & Wright (2000) √((1 + r²/2)/(n − 3)) for Spearman's ρ, Fieller,
    Hartley & Pearson (1957) √(0.437/(n − 4)) for Kendall's τ, 1/√(n − 3) for Pearson's r.
    ``(nan, nan)`` when ``r`` is nan or ``n`` is too small (4, 5 and 4 pairs at least). A rank
    coefficient of ±1 (a discrete outcome with an infinite Fisher z) gets the outer bound of the
    next attainable value, one adjacent swap away; a Pearson r of ±1 gives the point.

    Parameters
    ----------
    r : float
        The correlation.
    n : int
        Number of pairs it was computed on.
    method : {"spearman", "kendall", "pearson"}, default "spearman"
        Which coefficient ``r`` is.
    confidence_level : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    tuple of (float, float)
        The interval; ``(nan, nan)`` when ``r`` is nan or ``n`` is too small (4, 5 and 4 pairs at
        least).

    Notes
    -----
    Cohen (1988) called correlations of 0.1, 0.3 and 0.5 small, medium and large; for agreement
    between a metric and human judgement, the field compares coefficients across metrics on the
    same data rather than against fixed marks. Kendall's τ runs lower than ρ and r on the same
    data (for a bivariate normal, τ = (2/π) arcsin r), so never compare across coefficients.

    Examples
    --------
    >>> [round(x, 4) for x in correlation_interval(0.5, 30, method="pearson")]
    [0.1704, 0.729]
    """
    if not np.isfinite(r) or n < _MIN_CORR_N[method]:
        return float("nan"), float("nan")
    if abs(r) >= 1:
        if method == "pearson":
            return float(r), float(r)
        # a rank coefficient of ±1 is one discrete outcome, whose Fisher z is infinite: the bound away from it is
        # the one of the next attainable value (one adjacent swap), not the point
        step = 12 / (n * (n * n - 1)) if method == "spearman" else 4 / (n * (n - 1))
        lo, hi = correlation_interval(float(np.sign(r)) * (1 - step), n, method=method,
                                      confidence_level=confidence_level)
        return (lo, float(r)) if r > 0 else (float(r), hi)
    if method == "spearman":
        se = float(np.sqrt((1 + r * r / 2) / (n - 3)))
    elif method == "kendall":
        se = float(np.sqrt(0.437 / (n - 4)))
    else:
        se = float(1 / np.sqrt(n - 3))
    z = float(np.arctanh(r))
    q = float(_st.norm.ppf(1 - (1 - confidence_level) / 2))
    return float(np.tanh(z - q * se)), float(np.tanh(z + q * se))
