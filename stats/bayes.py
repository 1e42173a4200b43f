"""Bayesian significance without MCMC: conjugate credible intervals, posterior probabilities
that one model is better, and Benavoli et al.'s (2017) Bayesian tests with a region of
practical equivalence (ROPE) — the closed-form and fast side of metaeval's Bayesian statistics.

Every comparison returns a :class:`BayesComparison`: the posterior mean difference A − B with an
equal-tailed credible interval, the three posterior probabilities (A better by more than the
ROPE, practically equivalent, B better) and a decision at ``decision_level`` (0.95). Random
draws go through a seeded ``rng``.

>>> r = beta_binomial(9, 10, prior="jeffreys")
>>> round(r.estimate, 4), [round(v, 4) for v in r.ci]
(0.8636, [0.6187, 0.989])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl
from scipy import stats as st

from metaeval._numeric import MAX_ABS_SCORE, check_magnitude, scaled_std
from metaeval._random import as_generator
from metaeval._validate import LEVEL, N_RESAMPLES, Interval, Options, validate_params
from metaeval.errors import InsufficientDataError, MetaevalError, ParameterError
from metaeval.results import ConfidenceInterval, Result, RunInfo, check_confidence_level
from metaeval.stats.paired import Comparison, _t_interval, cluster_robust_se
from metaeval.stats.resampling import percentile_interval

__all__ = [
    "BayesComparison",
    "BetaPosterior",
    "bayesian_bootstrap",
    "beta_binomial",
    "correlated_t_test",
    "paired_binary",
    "prob_greater",
    "signed_rank_test",
    "t_posterior",
]

_PRIORS = {"uniform": (1.0, 1.0), "jeffreys": (0.5, 0.5)}


def _beta_prior(prior: str | tuple[float, float]) -> tuple[float, float, str]:
    if isinstance(prior, str):
        if prior not in _PRIORS:
            raise ParameterError(f"`prior` must be 'uniform', 'jeffreys' or a pair (a, b) > 0; got {prior!r}")
        a, b = _PRIORS[prior]
        return a, b, prior
    try:
        a, b = (float(v) for v in prior)
    except (TypeError, ValueError):
        raise ParameterError(f"`prior` must be 'uniform', 'jeffreys' or a pair (a, b) > 0; got {prior!r}") from None
    if not (a > 0 and b > 0):
        raise MetaevalError(f"a Beta prior needs a > 0 and b > 0; got ({a}, {b})")
    return a, b, f"Beta({a:g}, {b:g})"


def _check_counts(k: float, n: float, what: str = "") -> None:
    if not (np.isfinite(k) and np.isfinite(n)) or n < 0 or k < 0 or k > n:
        raise MetaevalError(f"{what}successes must lie in [0, n] with n >= 0; got {k} of {n}")


def _level(confidence_level: float) -> None:
    if not 0 < confidence_level < 1:
        raise ParameterError(f"`confidence_level` must lie in (0, 1); got {confidence_level!r}")


# ----------------------------------------------------------------------------- accuracy
@dataclass(frozen=True)
class BetaPosterior(Result):
    """The Beta posterior of an accuracy after ``successes`` of ``n``: posterior mean and an
    equal-tailed credible interval."""

    successes: float
    n: float
    a: float
    b: float
    prior: str
    estimate: float
    ci: ConfidenceInterval
    run_info: RunInfo
    title: str = "accuracy (Beta posterior)"

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({"successes": [self.successes], "n": [self.n], "prior": [self.prior],
                             "posterior_mean": [self.estimate], "ci_low": [self.ci.low], "ci_high": [self.ci.high],
                             "a": [self.a], "b": [self.b]})

    def prob_above(self, threshold: float) -> float:
        """P(accuracy > threshold | data)."""
        return float(st.beta.sf(threshold, self.a, self.b))

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """The equal-tailed credible interval at another level, from the posterior Beta(``a``, ``b``).
        At ``ci.level`` it is ``ci`` exactly.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Posterior mass of the interval, in (0, 1).

        Returns
        -------
        ConfidenceInterval
            The credible interval of the accuracy.

        Examples
        --------
        >>> post = beta_binomial(7, 10)
        >>> post.confidence_interval(post.ci.level) == post.ci
        True
        """
        level = check_confidence_level(confidence_level)
        tail = (1 - level) / 2
        low, high = st.beta.ppf([tail, 1 - tail], self.a, self.b)
        return ConfidenceInterval(float(low), float(high), level, self.ci.method)


@validate_params({
    "successes": [Interval(Real, 0, None, closed="left")],
    "n": [Interval(Real, 0, None, closed="left")],
    "prior": [Options(str, ("uniform", "jeffreys")), tuple, list],
    "confidence_level": [LEVEL],
})
def beta_binomial(successes: float, n: float, *, prior: str | tuple[float, float] = "jeffreys",
                  confidence_level: float = 0.95) -> BetaPosterior:
    """Credible interval for an accuracy (or any binomial proportion) from its Beta posterior.

    The posterior is Beta(a + successes, b + n − successes) for a Beta(a, b) prior —
    ``"jeffreys"`` (½, ½), ``"uniform"`` (1, 1) or a pair. Works for any n, including 0 correct or
    all correct, where the normal-approximation interval collapses to a point.

    Parameters
    ----------
    successes : float
        Number correct (may be fractional, e.g. ties counted ½).
    n : float
        Number of trials.
    prior : {"jeffreys", "uniform"} or tuple of (float, float), default "jeffreys"
        The Beta prior.
    confidence_level : float, default 0.95
        Mass of the equal-tailed credible interval.

    Returns
    -------
    BetaPosterior
        ``estimate`` (posterior mean), ``ci`` (credible interval), the posterior parameters ``a``
        and ``b``, ``prior``, ``successes`` and ``n``.

    Examples
    --------
    >>> beta_binomial(10, 10, prior="uniform").ci.low > 0.7  # all correct: still an interval
    True
    """
    _check_counts(successes, n)
    _level(confidence_level)
    a0, b0, label = _beta_prior(prior)
    a, b = a0 + successes, b0 + n - successes
    tail = (1 - confidence_level) / 2
    low, high = st.beta.ppf([tail, 1 - tail], a, b)
    ci = ConfidenceInterval(float(low), float(high), confidence_level, "equal-tailed credible")
    run = RunInfo("beta_binomial", {"prior": label, "confidence_level": confidence_level}, None, None, int(n), int(n))
    return BetaPosterior(float(successes), float(n), a, b, label, a / (a + b), ci, run)


@validate_params({
    "k_a": [Interval(Real, 0, None, closed="left")],
    "n_a": [Interval(Real, 0, None, closed="left")],
    "k_b": [Interval(Real, 0, None, closed="left")],
    "n_b": [Interval(Real, 0, None, closed="left")],
    "prior": [Options(str, ("uniform", "jeffreys")), tuple, list],
})
def prob_greater(k_a: float, n_a: float, k_b: float, n_b: float, *,
                 prior: str | tuple[float, float] = "jeffreys") -> float:
    """P(θ_A > θ_B | data) for two accuracies measured on *independent* samples, with Beta posteriors.

    The probability is exact (one-dimensional integration of f_A · F_B). For two models scored on
    the same items use :func:`paired_binary` instead.

    Parameters
    ----------
    k_a, n_a : float
        Successes and trials of A.
    k_b, n_b : float
        Successes and trials of B.
    prior : {"jeffreys", "uniform"} or tuple of (float, float), default "jeffreys"
        The Beta prior of each accuracy.

    Returns
    -------
    float
        The posterior probability that A's accuracy exceeds B's.

    Examples
    --------
    >>> round(prob_greater(8, 10, 2, 10, prior="uniform"), 4)  # a Monte Carlo check with 2e6 draws: 0.9955
    0.9955
    """
    from scipy.integrate import quad

    _check_counts(k_a, n_a, "A: ")
    _check_counts(k_b, n_b, "B: ")
    a0, b0, _ = _beta_prior(prior)
    pa, pb = st.beta(a0 + k_a, b0 + n_a - k_a), st.beta(a0 + k_b, b0 + n_b - k_b)
    val, _ = quad(lambda x: pa.pdf(x) * pb.cdf(x), 0.0, 1.0, limit=200, epsabs=1e-12, epsrel=1e-10,
                  points=[pa.mean(), pb.mean()])
    return float(min(max(val, 0.0), 1.0))


# ----------------------------------------------------------------------------- comparisons
# Comparison is Any to mypy: metaeval.stats is installed from stats/ (pyproject's package-dir), an
# import mypy cannot follow, so the subclass's base is untyped here
@dataclass(frozen=True)
class BayesComparison(Comparison):  # type: ignore[misc]
    """A Bayesian comparison of A and B — a :class:`~metaeval.stats.Comparison` (``estimate``:
    posterior mean of the difference A − B; ``ci``: equal-tailed credible interval; ``pvalue``:
    nan) with P(A better by more than the ROPE), P(within the ROPE), P(B better) and the
    decision at ``decision_level``."""

    p_a_better: float
    p_equivalent: float
    p_b_better: float
    rope: float
    decision: str
    method: str
    draws: np.ndarray | None = field(default=None, repr=False, compare=False)

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """The credible interval at another level, made as ``ci`` was: the central share of the kept
        posterior draws, or, for the Student-t posteriors, the posterior's t quantiles (its
        ``scale`` and ``df`` are in ``details``). At ``ci.level`` it is ``ci`` exactly.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Posterior mass of the equal-tailed interval, in (0, 1).

        Returns
        -------
        ConfidenceInterval
            The credible interval of the difference A − B.

        Raises
        ------
        ParameterError
            When the result kept neither draws nor the t posterior's scale.

        Examples
        --------
        >>> r = paired_binary(40, 12, 5, 43, rng=0)
        >>> r.confidence_interval(r.ci.level) == r.ci
        True
        >>> r.confidence_interval(0.5).width < r.ci.width
        True
        """
        level = check_confidence_level(confidence_level)
        if self.draws is not None:
            low, high = percentile_interval(self.draws, level, axis=None, nan_policy="propagate")
        elif "scale" in self.details and "df" in self.details:
            low, high = _t_interval(self.estimate, self.details["scale"], self.details["df"], level)
        else:
            raise ParameterError(f"this {self.method} result keeps neither posterior draws nor the scale of its t "
                                 "posterior: compute it again with that `confidence_level`")
        return ConfidenceInterval(float(low), float(high), level, self.ci.method)

    @property
    def title(self) -> str:
        return f"{self.model_a} vs {self.model_b} ({self.method})"

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({
            "model_a": [self.model_a], "model_b": [self.model_b], "difference": [self.estimate],
            "ci_low": [self.ci.low], "ci_high": [self.ci.high], "p_a_better": [self.p_a_better],
            "p_equivalent": [self.p_equivalent], "p_b_better": [self.p_b_better], "rope": [self.rope],
            "decision": [self.decision], "method": [self.method], "n": [self.n],
        })

    def summary(self) -> str:
        rope = f" (ROPE ±{self.rope:g})" if self.rope > 0 else ""
        why = f"\nwhy this model: {self.reason}" if self.reason else ""
        return (Result.summary(self) + f"\ncredible interval: {self.ci}{why}\nP({self.model_a} better){rope} = "
                f"{self.p_a_better:.3f}; P(equivalent) = {self.p_equivalent:.3f}; P({self.model_b} better) = "
                f"{self.p_b_better:.3f}\ndecision: {self.decision}")


def _decide(p_a: float, p_eq: float, p_b: float, level: float, a: str, b: str) -> str:
    if p_a >= level:
        return f"{a} is better"
    if p_b >= level:
        return f"{b} is better"
    if p_eq >= level:
        return "practically equivalent"
    return f"undecided: no outcome reaches posterior probability {level:g}"


def _from_draws(draws: np.ndarray, rope: float) -> tuple[float, float, float]:
    p_a = float(np.mean(draws > rope))
    p_b = float(np.mean(draws < -rope))
    return p_a, 1.0 - p_a - p_b, p_b


def _result(method: str, draws: np.ndarray | None, estimate: float, probs: tuple[float, float, float], *,
            rope: float, level: float, decision_level: float, names: tuple[str, str], n: int,
            ci: tuple[float, float], params: dict[str, Any], seed: int | None,
            details: dict[str, Any] | None = None, means: tuple[float, float] = (np.nan, np.nan),
            reason: str = "") -> BayesComparison:
    p_a, p_eq, p_b = probs
    interval = ConfidenceInterval(float(ci[0]), float(ci[1]), level, "equal-tailed credible")
    run = RunInfo(method, params, seed, None, n, n)
    return BayesComparison(names[0], names[1], float(estimate), interval, float("nan"), method, reason, int(n),
                           float(means[0]), float(means[1]), "two-sided", details or {}, run, p_a, max(p_eq, 0.0),
                           p_b, float(rope), _decide(p_a, p_eq, p_b, decision_level, *names), method, draws)


def _check_rope(rope: float) -> float:
    if not (np.isfinite(rope) and rope >= 0):
        raise ParameterError(f"`rope` must be a non-negative number; got {rope!r}")
    return float(rope)


@validate_params({
    "n11": [Interval(Real, 0, None, closed="left")],
    "n10": [Interval(Real, 0, None, closed="left")],
    "n01": [Interval(Real, 0, None, closed="left")],
    "n00": [Interval(Real, 0, None, closed="left")],
    "prior": [Interval(Real, 0, None, closed="neither")],
    "rope": [Interval(Real, 0, None, closed="left")],
    "confidence_level": [LEVEL],
    "decision_level": [LEVEL],
    "n_draws": [N_RESAMPLES],
    "rng": ["rng"],
})
def paired_binary(n11: float, n10: float, n01: float, n00: float, *, prior: float = 1.0, rope: float = 0.0,
                  confidence_level: float = 0.95, decision_level: float = 0.95, n_draws: int = 20_000,
                  names: tuple[str, str] = ("A", "B"), rng: np.random.Generator | int | None = None
                  ) -> BayesComparison:
    """Bayesian comparison of two models scored right / wrong on the same items.

    The 2 × 2 table of (A, B) outcomes ``n11`` (both right), ``n10`` (A only), ``n01`` (B only),
    ``n00`` gets a Dirichlet posterior (``prior`` added to every cell; 1 is uniform), and the
    accuracy difference is p10 − p01 (Bowyer et al. 2025, "Don't use the CLT in LLM evals with fewer
    than a few hundred datapoints"). With no ROPE, P(A better) = P(p10 > p01) is exact (p10 / (p10 +
    p01) is Beta(n10 + prior, n01 + prior)); the interval and ROPE probabilities come from
    ``n_draws`` posterior draws.

    Parameters
    ----------
    n11, n10, n01, n00 : float
        The cells of the paired table.
    prior : float, default 1.0
        Dirichlet pseudo-count added to every cell.
    rope : float, default 0.0
        Half-width of the region of practical equivalence on A − B: differences within ±``rope``
        count as no difference. Set it to the smallest difference that matters (Benavoli et al. 2017).
    confidence_level : float, default 0.95
        Mass of the equal-tailed credible interval.
    decision_level : float, default 0.95
        The posterior probability an outcome (A better, equivalent, B better) must reach to be the
        ``decision``; below it the decision is "undecided".
    n_draws : int, default 20000
        Posterior draws.
    names : tuple of (str, str), default ("A", "B")
        The names used in the result and its decision.
    rng : int, numpy.random.Generator or None
        Seed for the posterior draws.

    Returns
    -------
    BayesComparison
        ``estimate`` (posterior mean of A − B) and ``ci`` (credible interval), ``p_a_better``,
        ``p_equivalent``, ``p_b_better``, ``rope``, ``decision`` and ``method``; ``pvalue`` is nan.

    Notes
    -----
    The posterior probabilities answer the question directly: "how probable is it that A is
    better by more than the ROPE?". Benavoli et al. (2017) suggest deciding only when one of the
    three probabilities exceeds 0.95 and reporting all three otherwise; without a ROPE
    (``rope=0``) equivalence can never be concluded, and ``p_a_better`` is roughly one minus a
    one-sided p-value rather than evidence of a meaningful difference.

    Examples
    --------
    >>> r = paired_binary(5, 4, 0, 1, rng=0)  # A right on 4 items B missed, never the reverse
    >>> round(r.p_a_better, 4)
    0.9688
    """
    cells = np.array([n11, n10, n01, n00], float)
    if np.any(~np.isfinite(cells)) or np.any(cells < 0):
        raise MetaevalError(f"the 2 x 2 counts must be non-negative; got {cells.tolist()}")
    if not prior > 0:
        raise MetaevalError(f"`prior` (the Dirichlet concentration per cell) must be positive; got {prior!r}")
    rope = _check_rope(rope)
    _level(confidence_level)
    gen, seed = as_generator(rng)
    post = cells + prior
    draws_p = gen.dirichlet(post, size=n_draws)
    diff = draws_p[:, 1] - draws_p[:, 2]
    if rope == 0:
        p_a = float(st.beta.sf(0.5, post[1], post[2]))  # exact: P(p10 > p01)
        probs = (p_a, 0.0, 1.0 - p_a)
    else:
        probs = _from_draws(diff, rope)
    n = round(float(cells.sum()))
    estimate = (post[1] - post[2]) / post.sum()  # posterior mean of p10 - p01
    params = {"prior": prior, "rope": rope, "n_draws": n_draws, "confidence_level": confidence_level}
    return _result("bayes_paired_binary", diff, estimate, probs, rope=rope, level=confidence_level,
                   decision_level=decision_level, names=names, n=n,
                   ci=percentile_interval(diff, confidence_level, axis=None, nan_policy="propagate"),
                   params=params, seed=seed, details={"table": {"n11": n11, "n10": n10, "n01": n01, "n00": n00}})


@validate_params({
    "d": ["array-like"],
    "rope": [Interval(Real, 0, None, closed="left")],
    "confidence_level": [LEVEL],
    "decision_level": [LEVEL],
    "n_draws": [N_RESAMPLES],
    "rng": ["rng"],
})
def bayesian_bootstrap(d: np.ndarray, *, rope: float = 0.0, confidence_level: float = 0.95,
                       decision_level: float = 0.95, n_draws: int = 10_000, names: tuple[str, str] = ("A", "B"),
                       cluster: np.ndarray | None = None, rng: np.random.Generator | int | None = None
                       ) -> BayesComparison:
    """Rubin's (1981) Bayesian bootstrap of the mean paired difference ``d`` (A − B per item).

    Each draw puts Dirichlet(1, …, 1) weights on the items and takes the weighted mean. With
    ``cluster``, whole clusters get the weights (the mean is the ratio of weighted cluster totals).

    Parameters
    ----------
    d : numpy.ndarray
        Per-item differences A − B.
    rope : float, default 0.0
        Half-width of the region of practical equivalence on A − B: differences within ±``rope``
        count as no difference. Set it to the smallest difference that matters (Benavoli et al. 2017).
    confidence_level : float, default 0.95
        Mass of the equal-tailed credible interval.
    decision_level : float, default 0.95
        The posterior probability an outcome (A better, equivalent, B better) must reach to be the
        ``decision``; below it the decision is "undecided".
    n_draws : int, default 10000
        Posterior draws.
    names : tuple of (str, str), default ("A", "B")
        The names used in the result and its decision.
    cluster : numpy.ndarray, optional
        A cluster label per item. Default: independent items.
    rng : int, numpy.random.Generator or None
        Seed for the posterior draws.

    Returns
    -------
    BayesComparison
        ``estimate`` (posterior mean of A − B) and ``ci`` (credible interval), ``p_a_better``,
        ``p_equivalent``, ``p_b_better``, ``rope``, ``decision`` and ``method``; ``pvalue`` is nan.

    Notes
    -----
    The posterior probabilities answer the question directly: "how probable is it that A is
    better by more than the ROPE?". Benavoli et al. (2017) suggest deciding only when one of the
    three probabilities exceeds 0.95 and reporting all three otherwise; without a ROPE
    (``rope=0``) equivalence can never be concluded, and ``p_a_better`` is roughly one minus a
    one-sided p-value rather than evidence of a meaningful difference. With few items or few
    clusters the Bayesian bootstrap's interval is too narrow (see :func:`metaeval.compare`, which
    uses :func:`t_posterior` there).

    Examples
    --------
    >>> r = bayesian_bootstrap(np.array([0.2, 0.1, 0.3, 0.25, 0.15]), rng=0)
    >>> r.p_a_better
    1.0
    """
    d = check_magnitude(d, "d", limit=2 * MAX_ABS_SCORE)
    if d.ndim != 1 or d.size < 2:
        raise InsufficientDataError(f"the Bayesian bootstrap needs at least two paired differences; got {d.size}")
    if not np.all(np.isfinite(d)):
        raise MetaevalError("the paired differences must be finite")
    rope = _check_rope(rope)
    _level(confidence_level)
    gen, seed = as_generator(rng)
    if cluster is None:
        totals, sizes = d, np.ones_like(d)
    else:
        _, inv = np.unique(np.asarray(cluster), return_inverse=True)
        totals, sizes = np.bincount(inv, weights=d), np.bincount(inv).astype(float)
        if totals.size < 2:
            raise InsufficientDataError("the clustered Bayesian bootstrap needs at least two clusters")
    k = totals.size
    # Dirichlet(1, ..., 1) weights are standard exponentials over their sum, and the sum cancels in
    # the ratio of weighted totals; units with the same (total, size) pool their weights, a
    # Gamma(count, 1) draw (binary and graded scores: O(distinct values) per draw)
    rows, counts = np.unique(np.column_stack([totals, sizes]), axis=0, return_counts=True)
    pooled = 4 * rows.shape[0] <= k
    if pooled:
        totals, sizes = rows[:, 0], rows[:, 1]
    width = totals.size
    draws = np.empty(n_draws)
    step = max(1, min(n_draws, 2_000_000 // width))  # chunks keep memory at 2e6 weights
    for start in range(0, n_draws, step):
        size = min(step, n_draws - start)
        w = gen.standard_gamma(counts, (size, width)) if pooled else gen.standard_exponential((size, width))
        draws[start:start + size] = (w @ totals) / (w @ sizes)
    params = {"rope": rope, "n_draws": n_draws, "confidence_level": confidence_level,
              "cluster": cluster is not None}
    return _result("bayesian_bootstrap", draws, float(draws.mean()), _from_draws(draws, rope), rope=rope,
                   level=confidence_level, decision_level=decision_level, names=names, n=int(d.size),
                   ci=percentile_interval(draws, confidence_level, axis=None,
                                             nan_policy="propagate"), params=params, seed=seed,
                   details={"n_clusters": int(k)} if cluster is not None else None)


@validate_params({
    "d": ["array-like"],
    "rope": [Interval(Real, 0, None, closed="left")],
    "confidence_level": [LEVEL],
    "decision_level": [LEVEL],
})
def t_posterior(d: np.ndarray, *, rope: float = 0.0, confidence_level: float = 0.95, decision_level: float = 0.95,
                names: tuple[str, str] = ("A", "B"), cluster: np.ndarray | None = None) -> BayesComparison:
    """Student-t posterior of the mean paired difference ``d`` (A − B per item).

    Without clusters: the normal model with the Jeffreys prior p(mu, sigma) ∝ 1 / sigma, whose
    posterior of mu is t with n − 1 degrees of freedom around the mean with scale s / √n (Gelman
    et al., *Bayesian Data Analysis*, §3.2) — its credible interval is the paired t interval,
    so it keeps 95 % frequentist coverage at any n where the Bayesian bootstrap (too narrow by
    √((n − 1) / (n + 1)) and without the t's heavier tails) does not. With ``cluster``: the
    scale is the cluster-robust (CR2) standard error with Bell–McCaffrey degrees of freedom (a
    sandwich posterior, Müller 2013), which stays calibrated with few or unequal clusters. All
    probabilities are exact (the t CDF).

    Parameters
    ----------
    d : numpy.ndarray
        Per-item differences A − B.
    rope : float, default 0.0
        Half-width of the region of practical equivalence on A − B: differences within ±``rope``
        count as no difference. Set it to the smallest difference that matters (Benavoli et al. 2017).
    confidence_level : float, default 0.95
        Mass of the equal-tailed credible interval.
    decision_level : float, default 0.95
        The posterior probability an outcome (A better, equivalent, B better) must reach to be the
        ``decision``; below it the decision is "undecided".
    names : tuple of (str, str), default ("A", "B")
        The names used in the result and its decision.
    cluster : numpy.ndarray, optional
        A cluster label per item. Default: independent items.

    Returns
    -------
    BayesComparison
        ``estimate`` (posterior mean of A − B) and ``ci`` (credible interval), ``p_a_better``,
        ``p_equivalent``, ``p_b_better``, ``rope``, ``decision`` and ``method``; ``pvalue`` is nan.

    Notes
    -----
    The posterior probabilities answer the question directly: "how probable is it that A is
    better by more than the ROPE?". Benavoli et al. (2017) suggest deciding only when one of the
    three probabilities exceeds 0.95 and reporting all three otherwise; without a ROPE
    (``rope=0``) equivalence can never be concluded, and ``p_a_better`` is close to one minus half
    a one-sided p-value rather than evidence of a meaningful difference.

    Examples
    --------
    >>> r = t_posterior(np.array([0.2, 0.1, 0.3, 0.25, 0.15]))
    >>> round(r.p_a_better, 4), r.method  # 1 - scipy.stats.ttest_1samp(d, 0, alternative="greater").pvalue
    (0.9976, 'bayes_student_t')
    """
    d = check_magnitude(d, "d", limit=2 * MAX_ABS_SCORE)
    if d.ndim != 1 or d.size < 2:
        raise InsufficientDataError(f"the t posterior needs at least two paired differences; got {d.size}")
    if not np.all(np.isfinite(d)):
        raise MetaevalError("the paired differences must be finite")
    rope = _check_rope(rope)
    _level(confidence_level)
    mean = float(d.mean())
    details: dict[str, Any] = {}
    if cluster is None:
        scale, df = scaled_std(d, ddof=1) / float(np.sqrt(d.size)), float(d.size - 1)
    else:
        scale, df, g = cluster_robust_se(d, cluster)
        details["n_clusters"] = g
    details.update({"scale": scale, "df": df})
    tail = (1 - confidence_level) / 2
    if scale > 0:
        p_a = float(st.t.sf(rope, df, mean, scale))
        p_b = float(st.t.cdf(-rope, df, mean, scale)) if rope > 0 else 1.0 - p_a
        q = float(st.t.ppf(1 - tail, df))
        ci = (mean - q * scale, mean + q * scale)
    else:  # every difference equal: the posterior is a point
        p_a = float(mean > rope) + 0.5 * float(mean == rope == 0)
        p_b = float(mean < -rope) + 0.5 * float(mean == -rope == 0)
        ci = (mean, mean)
    params = {"rope": rope, "confidence_level": confidence_level, "cluster": cluster is not None}
    return _result("bayes_student_t", None, mean, (p_a, 1.0 - p_a - p_b, p_b), rope=rope, level=confidence_level,
                   decision_level=decision_level, names=names, n=int(d.size), ci=ci, params=params, seed=None,
                   details=details)


@validate_params({
    "a": ["array-like"],
    "b": ["array-like"],
    "rope": [Interval(Real, 0, None, closed="left")],
    "runs": [Interval(Integral, 1, None, closed="left")],
    "test_fraction": [Interval(Real, 0, 1, closed="left"), None],
    "confidence_level": [LEVEL],
    "decision_level": [LEVEL],
})
def correlated_t_test(a: np.ndarray, b: np.ndarray, *, rope: float = 0.0, runs: int = 1,
                      test_fraction: float | None = None, confidence_level: float = 0.95,
                      decision_level: float = 0.95, names: tuple[str, str] = ("A", "B")) -> BayesComparison:
    """Benavoli et al.'s (2017) Bayesian correlated t-test for scores from folds or seeds that share data.

    This is baycomp's ``CorrelatedTTest``. The posterior of the mean difference A − B is Student t
    with n − 1 degrees of freedom, location the mean difference and scale² = (1/n + ρ/(1 − ρ)) · s²,
    the Nadeau–Bengio correction for the correlation ρ between folds: ρ = ``test_fraction`` (the
    test share of the data), by default 1 / (folds per run) as for k-fold cross-validation.
    Probabilities are exact (the t CDF). ``a`` and ``b`` may be 2-d (one comparison per row) and are
    then compared row by row; the first row's result is returned with every row's in
    ``details["rows"]``.

    Parameters
    ----------
    a, b : numpy.ndarray
        Scores of A and B per fold (and run), paired; 1-d, or 2-d with one comparison per row.
    rope : float, default 0.0
        Half-width of the region of practical equivalence on A − B: differences within ±``rope``
        count as no difference. Set it to the smallest difference that matters (Benavoli et al. 2017).
    runs : int, default 1
        Number of repetitions of the cross-validation the folds come from (folds per run = n / runs).
    test_fraction : float, optional
        The test share of the data, ρ. Default: 1 / (folds per run).
    confidence_level : float, default 0.95
        Mass of the equal-tailed credible interval.
    decision_level : float, default 0.95
        The posterior probability an outcome (A better, equivalent, B better) must reach to be the
        ``decision``; below it the decision is "undecided".
    names : tuple of (str, str), default ("A", "B")
        The names used in the result and its decision.

    Returns
    -------
    BayesComparison
        ``estimate`` (posterior mean of A − B) and ``ci`` (credible interval), ``p_a_better``,
        ``p_equivalent``, ``p_b_better``, ``rope``, ``decision`` and ``method``; ``pvalue`` is nan.

    Notes
    -----
    The posterior probabilities answer the question directly: "how probable is it that A is
    better by more than the ROPE?". Benavoli et al. (2017) suggest deciding only when one of the
    three probabilities exceeds 0.95 and reporting all three otherwise; without a ROPE
    (``rope=0``) equivalence can never be concluded, and ``p_a_better`` is roughly one minus a
    one-sided p-value rather than evidence of a meaningful difference.

    Examples
    --------
    >>> a = np.array([.81, .83, .80, .84, .82, .85, .83, .81, .84, .82])
    >>> b = a - np.array([.01, .02, .0, .03, .01, .02, .02, .01, .02, .01])
    >>> round(correlated_t_test(a, b, rope=0.01).p_a_better, 4)  # baycomp.CorrelatedTTest: 0.8838
    0.8838
    """
    A, B = np.atleast_2d(check_magnitude(a, "a")), np.atleast_2d(check_magnitude(b, "b"))
    if A.shape != B.shape:
        raise ParameterError(f"`a` and `b` must have the same shape; got {A.shape} and {B.shape}")
    n = A.shape[1]
    if n < 2:
        raise InsufficientDataError("the correlated t-test needs at least two paired scores")
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(B))):
        raise MetaevalError("the scores must be finite")
    if int(runs) != runs or runs < 1 or n % runs:
        raise ParameterError(f"`runs` must be a positive integer that divides the {n} scores; got {runs!r}")
    rope = _check_rope(rope)
    _level(confidence_level)
    rho = 1.0 / (n / runs) if test_fraction is None else float(test_fraction)
    if not 0 <= rho < 1:
        raise ParameterError(f"`test_fraction` must lie in [0, 1); got {test_fraction!r}")
    D = A - B
    mean = D.mean(1)
    var = D.var(1, ddof=1) * (1.0 / n + rho / (1.0 - rho))
    df = n - 1
    sd = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_b = np.where(sd > 0, st.t.cdf(-rope, df, mean, np.where(sd > 0, sd, 1.0)),
                       (mean < -rope) + 0.5 * ((mean == -rope) & (rope == 0)))
        p_a = np.where(sd > 0, st.t.sf(rope, df, mean, np.where(sd > 0, sd, 1.0)),
                       (mean > rope) + 0.5 * ((mean == rope) & (rope == 0)))
    tail = (1 - confidence_level) / 2
    q = st.t.ppf(1 - tail, df)
    rows = [{"difference": float(mean[i]), "scale": float(sd[i]), "p_a_better": float(p_a[i]),
             "p_equivalent": float(1 - p_a[i] - p_b[i]), "p_b_better": float(p_b[i])} for i in range(len(mean))]
    params = {"rope": rope, "runs": runs, "rho": rho, "confidence_level": confidence_level}
    details = {"df": df, "rho": rho, "scale": float(sd[0])} | ({"rows": rows} if len(mean) > 1 else {})
    return _result("bayes_correlated_t", None, float(mean[0]), (float(p_a[0]), float(1 - p_a[0] - p_b[0]),
                                                                 float(p_b[0])),
                   rope=rope, level=confidence_level, decision_level=decision_level, names=names, n=n,
                   ci=(float(mean[0] - q * sd[0]), float(mean[0] + q * sd[0])), params=params, seed=None,
                   details=details, means=(float(A[0].mean()), float(B[0].mean())),
                   reason="scores from folds or seeds that share data: Student t posterior with the "
                          "Nadeau-Bengio correction")


@validate_params({
    "a": ["array-like"],
    "b": ["array-like"],
    "rope": [Interval(Real, 0, None, closed="left")],
    "prior": [Interval(Real, 0, None, closed="neither")],
    "n_draws": [N_RESAMPLES],
    "confidence_level": [LEVEL],
    "decision_level": [LEVEL],
    "rng": ["rng"],
})
def signed_rank_test(a: np.ndarray, b: np.ndarray, *, rope: float = 0.0, prior: float = 0.5,
                     n_draws: int = 50_000, confidence_level: float = 0.95, decision_level: float = 0.95,
                     names: tuple[str, str] = ("A", "B"), rng: np.random.Generator | int | None = None
                     ) -> BayesComparison:
    """Benavoli et al.'s (2014, 2017) Bayesian signed-rank test across data sets (as baycomp's ``SignedRankTest``).

    A Dirichlet process on the paired differences A − B with a prior pseudo-observation of weight
    ``prior`` at 0. Each posterior draw w gives θ_A = Σ_ij w_i w_j 1[z_i + z_j > 2·rope] (and θ_B,
    θ_rope likewise, ties counting ½); the reported probabilities are the shares of draws in which
    A, the ROPE or B is the most probable — baycomp's definition. Vectorised over draws (no Python
    loop per draw).

    The interval is the credible interval of θ_A − θ_B, the posterior difference between the
    probability that A is better by more than the ROPE and that B is.

    Parameters
    ----------
    a, b : numpy.ndarray
        Scores of A and B on each data set (task), paired.
    rope : float, default 0.0
        Half-width of the region of practical equivalence on A − B: differences within ±``rope``
        count as no difference. Set it to the smallest difference that matters (Benavoli et al. 2017).
    prior : float, default 0.5
        Weight of the prior pseudo-observation at 0.
    n_draws : int, default 50000
        Posterior draws.
    confidence_level : float, default 0.95
        Mass of the equal-tailed credible interval.
    decision_level : float, default 0.95
        The posterior probability an outcome (A better, equivalent, B better) must reach to be the
        ``decision``; below it the decision is "undecided".
    names : tuple of (str, str), default ("A", "B")
        The names used in the result and its decision.
    rng : int, numpy.random.Generator or None
        Seed for the posterior draws.

    Returns
    -------
    BayesComparison
        ``estimate`` (posterior mean of A − B) and ``ci`` (credible interval), ``p_a_better``,
        ``p_equivalent``, ``p_b_better``, ``rope``, ``decision`` and ``method``; ``pvalue`` is nan.

    Notes
    -----
    The posterior probabilities answer the question directly: "how probable is it that A is
    better by more than the ROPE?". Benavoli et al. (2017) suggest deciding only when one of the
    three probabilities exceeds 0.95 and reporting all three otherwise; without a ROPE
    (``rope=0``) equivalence can never be concluded, and ``p_a_better`` is roughly one minus a
    one-sided p-value rather than evidence of a meaningful difference.

    Examples
    --------
    >>> a = np.array([.81, .83, .80, .84, .82, .85, .83, .81, .84, .82])
    >>> b = a - np.array([.01, .02, .0, .03, .01, .02, .02, .01, .02, .01])
    >>> r = signed_rank_test(a, b, rope=0.005, n_draws=5000, rng=0)
    >>> r.decision
    'A is better'
    """
    x, y = check_magnitude(a, "a").ravel(), check_magnitude(b, "b").ravel()
    if x.shape != y.shape:
        raise ParameterError(f"`a` and `b` must have the same length; got {x.size} and {y.size}")
    if x.size < 2:
        raise InsufficientDataError("the signed-rank test needs at least two data sets")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise MetaevalError("the scores must be finite")
    if not prior > 0:
        raise MetaevalError(f"`prior` (the weight of the pseudo-observation at 0) must be positive; got {prior!r}")
    rope = _check_rope(rope)
    _level(confidence_level)
    gen, seed = as_generator(rng)
    z = np.concatenate([[0.0], x - y])
    sums = z[:, None] + z[None, :]
    above = (sums > 2 * rope) + 0.5 * (sums == 2 * rope)
    below = (-sums > 2 * rope) + 0.5 * (-sums == 2 * rope)
    alpha = np.ones(z.size)
    alpha[0] = prior
    theta = np.empty((n_draws, 3))
    chunk = max(1, min(n_draws, 4_000_000 // max(1, z.size ** 2 // 8 + z.size)))
    for start in range(0, n_draws, chunk):
        w = gen.dirichlet(alpha, size=min(chunk, n_draws - start))
        t_a = np.einsum("si,ij,sj->s", w, above, w, optimize=True)
        t_b = np.einsum("si,ij,sj->s", w, below, w, optimize=True) if rope > 0 else 1.0 - t_a
        stop = start + w.shape[0]
        theta[start:stop, 0], theta[start:stop, 2] = t_a, t_b
        theta[start:stop, 1] = 1.0 - t_a - t_b
    winner = np.argmax(theta, axis=1)  # ties go to the first, as in baycomp
    p_a, p_eq, p_b = (np.bincount(winner, minlength=3) / n_draws).tolist()
    diff = theta[:, 0] - theta[:, 2]
    params = {"rope": rope, "prior": prior, "n_draws": n_draws, "confidence_level": confidence_level}
    return _result("bayes_signed_rank", diff, float(diff.mean()), (p_a, p_eq, p_b), rope=rope, level=confidence_level,
                   decision_level=decision_level, names=names, n=int(x.size),
                   ci=percentile_interval(diff, confidence_level, axis=None,
                                                              nan_policy="propagate"), params=params, seed=seed,
                   details={"theta_mean": theta.mean(0).tolist()}, means=(float(x.mean()), float(y.mean())),
                   reason="one score per data set: Dirichlet-process signed-rank posterior")
