"""Power and design: how many items to detect a difference δ, and the smallest detectable δ.

Normal-approximation formulas (Miller 2024, "Adding Error Bars to Evals", Section 5):
    n = DE · (z_{1−α/2} + z_{1−β})² · σ² / δ²,    MDE(n) = (z_{1−α/2} + z_{1−β}) · √(DE · σ² / n)

with σ² the per-item variance of the paired difference (paired design) or the sum of the two
per-item variances (two independent item sets, n per model), plus the resampling term
σ²_within / K when each item is answered K times, and DE = 1 + (m − 1) ICC the design effect
of clusters of m items. :func:`power_from_pilot` estimates σ² (and the ICC) from pilot data
and carries their uncertainty into an interval for the number of items.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats as st

from metaeval._validate import LEVEL, SIGNIFICANCE, Interval, Options, validate_params
from metaeval.errors import InsufficientDataError, MetaevalError, ParameterError, warn
from metaeval.results import Result, RunInfo
from metaeval.stats.paired import paired_scores
from metaeval.tables import Judgments, as_judgments

__all__ = ["PowerAnalysis", "minimum_detectable_effect", "power_from_pilot", "sample_size"]


def _z(alpha: float, power: float, alternative: str) -> float:
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ParameterError("`alpha` and `power` must lie in (0, 1)")
    if alternative not in ("two-sided", "greater", "less", "one-sided"):
        raise ParameterError(f"`alternative` must be 'two-sided', 'greater' or 'less'; got {alternative!r}")
    if alternative == "one-sided":
        warn("`alternative='one-sided'` is now 'greater' or 'less' (scipy's words; the sample size is the same for "
             "either); the old value goes in the next release", FutureWarning)
    za = st.norm.ppf(1 - alpha / 2) if alternative == "two-sided" else st.norm.ppf(1 - alpha)
    return float(za + st.norm.ppf(power))


def _variance(sd: float | None, p_a: float | None, p_b: float | None, paired: bool, within_var: float,
              k_samples: int) -> float:
    if sd is not None:
        if sd < 0:
            raise ParameterError(f"`sd` must not be negative; got {sd}")
        var = sd**2
    elif p_a is not None and p_b is not None:
        if not (0 <= p_a <= 1 and 0 <= p_b <= 1):
            raise ParameterError("`p_a` and `p_b` must lie in [0, 1]")
        # Paired with unknown correlation: independence, which is conservative when the models agree.
        var = p_a * (1 - p_a) + p_b * (1 - p_b)
    else:
        raise MetaevalError("give `sd` (per-item sd of the difference, or of each model when unpaired) or "
                            "`p_a` and `p_b` (accuracies)")
    if not paired and sd is not None:
        var = 2 * var
    if k_samples < 1:
        raise ParameterError(f"`k_samples` must be at least 1; got {k_samples}")
    return var + within_var / k_samples


def _design_effect(cluster_size: float, icc: float) -> float:
    if cluster_size < 1 or not 0 <= icc <= 1:
        raise ParameterError("`cluster_size` must be >= 1 and `icc` in [0, 1]")
    return 1 + (cluster_size - 1) * icc


@validate_params({
    "delta": [Interval(Real, None, 0, closed="neither"), Interval(Real, 0, None, closed="neither")],
    "sd": [Interval(Real, 0, None, closed="left"), None],
    "p_a": [Interval(Real, 0, 1, closed="both"), None],
    "p_b": [Interval(Real, 0, 1, closed="both"), None],
    "power": [LEVEL],
    "alpha": [SIGNIFICANCE],
    "alternative": [Options(str, ("two-sided", "greater", "less", "one-sided"))],
    "paired": ["boolean"],
    "cluster_size": [Interval(Real, 1, None, closed="left")],
    "icc": [Interval(Real, 0, 1, closed="both")],
    "within_var": [Interval(Real, 0, None, closed="left")],
    "k_samples": [Interval(Integral, 1, None, closed="left")],
})
def sample_size(
    delta: float,
    *,
    sd: float | None = None,
    p_a: float | None = None,
    p_b: float | None = None,
    power: float = 0.8,
    alpha: float = 0.05,
    alternative: Literal["two-sided", "greater", "less"] = "two-sided",
    paired: bool = True,
    cluster_size: float = 1,
    icc: float = 0.0,
    within_var: float = 0.0,
    k_samples: int = 1,
) -> int:
    """Items needed (per model when unpaired) to detect a mean difference ``delta``.

    The normal approximation n = DE · (z_{1−α/2} + z_{1−β})² · σ² / δ², rounded up (Miller 2024,
    Section 5; see the module's notes).

    Parameters
    ----------
    delta : float
        The difference in mean score A − B to detect (not 0; its sign does not matter for the
        size), in the units of the scores (accuracy points for 0/1 scores).
    sd : float, optional
        The per-item standard deviation of the paired difference A − B (paired), or of each
        model's scores (unpaired: the variance is doubled). Give ``sd`` or ``p_a`` and ``p_b``.
    p_a, p_b : float, optional
        The two models' expected accuracies (0/1 scores); the variance is
        p_a (1 − p_a) + p_b (1 − p_b), as for independent models, which is conservative when
        the models tend to get the same items right.
    power : float, default 0.8
        The probability of detecting the difference, 1 − β.
    alpha : float, default 0.05
        The test's significance level.
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        A one-sided test uses z_{1−α} instead of z_{1−α/2}.
    paired : bool, default True
        Both models answer the same items (the usual evaluation); ``False``: two independent sets
        of ``n`` items each.
    cluster_size : float, default 1
        Items per cluster (e.g. questions per passage); with ``icc`` it sets the design effect
        1 + (cluster_size − 1) × icc.
    icc : float, default 0.0
        The intraclass correlation of the differences within a cluster, in [0, 1].
    within_var : float, default 0.0
        The variance of an item's score across repeated samples of the model (temperature > 0);
        it adds ``within_var / k_samples`` to the per-item variance.
    k_samples : int, default 1
        Answers sampled per item and averaged.

    Returns
    -------
    int
        The number of items (per model when ``paired=False``).

    Notes
    -----
    The formula is a large-sample one: for n below a few hundred the paired t test needs a few
    more items than it says. Plan with a pilot's variance (:func:`power_from_pilot`), not a
    guess: with 0/1 scores, two models that agree on most items have a much smaller variance of
    the difference than ``p_a`` and ``p_b`` suggest.

    Examples
    --------
    >>> sample_size(0.05, sd=0.5)   # paired, 80 % power, alpha 0.05
    785
    >>> sample_size(0.05, p_a=0.7, p_b=0.65)  # accuracies, independent models: more items
    1374
    >>> sample_size(0.05, sd=0.5, cluster_size=10, icc=0.1)  # clusters of 10 items: design effect 1.9
    1492
    """
    if delta == 0:
        raise ParameterError("`delta` must not be 0")
    var = _variance(sd, p_a, p_b, paired, within_var, k_samples)
    n = _design_effect(cluster_size, icc) * _z(alpha, power, alternative) ** 2 * var / delta**2
    return int(np.ceil(n))


@validate_params({
    "n": [Interval(Integral, 2, None, closed="left")],
    "sd": [Interval(Real, 0, None, closed="left"), None],
    "p_a": [Interval(Real, 0, 1, closed="both"), None],
    "p_b": [Interval(Real, 0, 1, closed="both"), None],
    "power": [LEVEL],
    "alpha": [SIGNIFICANCE],
    "alternative": [Options(str, ("two-sided", "greater", "less", "one-sided"))],
    "paired": ["boolean"],
    "cluster_size": [Interval(Real, 1, None, closed="left")],
    "icc": [Interval(Real, 0, 1, closed="both")],
    "within_var": [Interval(Real, 0, None, closed="left")],
    "k_samples": [Interval(Integral, 1, None, closed="left")],
})
def minimum_detectable_effect(
    n: int,
    *,
    sd: float | None = None,
    p_a: float | None = None,
    p_b: float | None = None,
    power: float = 0.8,
    alpha: float = 0.05,
    alternative: Literal["two-sided", "greater", "less"] = "two-sided",
    paired: bool = True,
    cluster_size: float = 1,
    icc: float = 0.0,
    within_var: float = 0.0,
    k_samples: int = 1,
) -> float:
    """Smallest mean difference detectable with ``n`` items at the given power.

    MDE(n) = (z_{1−α/2} + z_{1−β}) · √(DE · σ² / n): the inverse of :func:`sample_size`.

    Parameters
    ----------
    n : int
        Items (per model when ``paired=False``), at least 2.
    sd : float, optional
        The per-item standard deviation of the paired difference A − B (paired), or of each
        model's scores (unpaired: the variance is doubled). Give ``sd`` or ``p_a`` and ``p_b``.
    p_a, p_b : float, optional
        The two models' expected accuracies (0/1 scores); the variance is
        p_a (1 − p_a) + p_b (1 − p_b), as for independent models, which is conservative when
        the models tend to get the same items right.
    power : float, default 0.8
        The probability of detecting the difference, 1 − β.
    alpha : float, default 0.05
        The test's significance level.
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        A one-sided test uses z_{1−α} instead of z_{1−α/2}.
    paired : bool, default True
        Both models answer the same items (the usual evaluation); ``False``: two independent sets
        of ``n`` items each.
    cluster_size : float, default 1
        Items per cluster (e.g. questions per passage); with ``icc`` it sets the design effect
        1 + (cluster_size − 1) × icc.
    icc : float, default 0.0
        The intraclass correlation of the differences within a cluster, in [0, 1].
    within_var : float, default 0.0
        The variance of an item's score across repeated samples of the model (temperature > 0);
        it adds ``within_var / k_samples`` to the per-item variance.
    k_samples : int, default 1
        Answers sampled per item and averaged.

    Returns
    -------
    float
        The smallest difference A − B (in the units of the scores) that the test detects with
        probability ``power``.

    Examples
    --------
    >>> round(minimum_detectable_effect(785, sd=0.5), 4)
    0.05
    >>> round(minimum_detectable_effect(500, p_a=0.7, p_b=0.65), 4)  # 500 items: about 8 accuracy points
    0.0829
    """
    if n < 2:
        raise ParameterError(f"`n` must be at least 2; got {n}")
    var = _variance(sd, p_a, p_b, paired, within_var, k_samples)
    return float(_z(alpha, power, alternative) * np.sqrt(_design_effect(cluster_size, icc) * var / n))


@dataclass(frozen=True)
class PowerAnalysis(Result):
    """Items needed for ``delta`` and the detectable effect at the pilot's size, from pilot data."""

    model_a: str
    model_b: str
    n_pilot: int
    observed_difference: float
    sd: float
    sd_interval: tuple[float, float]
    icc: float
    cluster_size: float
    delta: float
    n_needed: int
    n_needed_interval: tuple[int, int]
    mde_pilot: float
    power: float
    alpha: float
    run_info: RunInfo
    title: str = "power analysis"

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({
            "quantity": ["pilot items", "observed difference", "sd of per-item difference", "ICC",
                         f"items needed for delta = {self.delta:g}", "items needed (95% interval)",
                         "detectable effect at pilot size"],
            "value": [str(self.n_pilot), f"{self.observed_difference:.4g}",
                      f"{self.sd:.4g} [{self.sd_interval[0]:.4g}, {self.sd_interval[1]:.4g}]", f"{self.icc:.3g}",
                      str(self.n_needed), f"[{self.n_needed_interval[0]}, {self.n_needed_interval[1]}]",
                      f"{self.mde_pilot:.4g}"],
        })


@validate_params({"delta": ["finite", None], "power": [LEVEL], "alpha": [SIGNIFICANCE], "confidence_level": [LEVEL]})
def power_from_pilot(
    results: Judgments,
    model_a: str,
    model_b: str,
    *,
    delta: float | None = None,
    power: float = 0.8,
    alpha: float = 0.05,
    cluster: str | None = None,
    confidence_level: float = 0.95,
) -> PowerAnalysis:
    """Estimate the per-item sd of the paired difference (and the ICC of ``cluster``) from pilot
    data and return the items needed to detect ``delta`` (default: the observed difference),
    with an interval from the chi-square interval of the variance.

    Parameters
    ----------
    results : Judgments
        The pilot: pointwise scores of both models on the same items (as :func:`metaeval.compare`
        takes them).
    model_a, model_b : str
        The two models; the difference is A − B.
    delta : float, optional
        The difference to detect. Default: the pilot's observed mean difference (which is noisy:
        prefer the smallest difference that would change a decision).
    power : float, default 0.8
        The probability of detecting ``delta``.
    alpha : float, default 0.05
        The two-sided test's significance level.
    cluster : str, optional
        A column grouping dependent items; its ICC (one-way ANOVA estimate of the differences)
        and mean cluster size give the design effect.
    confidence_level : float, default 0.95
        Coverage of the chi-square interval of the variance, and so of ``n_needed_interval``.

    Returns
    -------
    PowerAnalysis
        ``n_needed`` with ``n_needed_interval``, the pilot's ``sd`` with ``sd_interval``, ``icc``,
        ``cluster_size``, the ``observed_difference`` and ``mde_pilot`` (the smallest difference
        the pilot's own size detects).

    Notes
    -----
    The interval for ``n_needed`` carries only the uncertainty of the variance; a pilot of a few
    dozen items gives a wide one. The chi-square interval assumes near-normal differences; with
    0/1 scores it is a rough guide.

    Examples
    --------
    >>> import metaeval
    >>> sim = metaeval.simulate.pointwise(n_models=2, n_items=200, n_humans=0, judges=("exact_match",),
    ...                                   scale=(0, 1), rng=0)
    >>> r = power_from_pilot(sim.judgments, "atlas-1", "borealis-1", delta=0.05)
    >>> r.n_needed, r.n_needed_interval
    (539, (447, 663))
    """
    results = as_judgments(results)

    ps = paired_scores(results, model_a, model_b, cluster=cluster)
    d = ps.d
    n = d.size
    if n < 3:
        raise InsufficientDataError("a pilot needs at least 3 paired items")
    var = float(d.var(ddof=1))
    a = 1 - confidence_level
    var_lo = (n - 1) * var / st.chi2.ppf(1 - a / 2, n - 1)
    var_hi = (n - 1) * var / st.chi2.ppf(a / 2, n - 1)
    icc, m = 0.0, 1.0
    if ps.cluster is not None:
        codes = np.unique(ps.cluster, return_inverse=True)[1]
        g = int(codes.max()) + 1
        sizes = np.bincount(codes)
        means = np.bincount(codes, weights=d) / sizes
        msb = np.sum(sizes * (means - d.mean()) ** 2) / max(g - 1, 1)
        msw = np.sum((d - means[codes]) ** 2) / max(n - g, 1)
        m0 = (n - np.sum(sizes**2) / n) / max(g - 1, 1)
        icc = float(max(0.0, (msb - msw) / (msb + (m0 - 1) * msw))) if msb + (m0 - 1) * msw > 0 else 0.0
        m = float(n / g)
    target = delta if delta is not None else float(d.mean())
    if target == 0:
        raise MetaevalError("the observed difference is 0: pass `delta`")
    de = _design_effect(m, icc)
    z2 = _z(alpha, power, "two-sided") ** 2
    n_needed = int(np.ceil(de * z2 * var / target**2))
    n_int = (int(np.ceil(de * z2 * var_lo / target**2)), int(np.ceil(de * z2 * var_hi / target**2)))
    mde = float(np.sqrt(z2 * de * var / n))
    run = RunInfo("power_from_pilot", {"delta": target, "power": power, "alpha": alpha, "cluster": cluster}, None,
                  results.fingerprint, n, len(results))
    return PowerAnalysis(model_a, model_b, n, float(d.mean()), float(np.sqrt(var)),
                         (float(np.sqrt(var_lo)), float(np.sqrt(var_hi))), icc, m, target, n_needed, n_int, mde,
                         power, alpha, run)
