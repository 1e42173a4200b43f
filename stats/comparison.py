"""The table-level paired comparison: :func:`compare` (``metaeval.compare``) chooses the right
paired test of :mod:`metaeval.stats.paired` for the data, or the Bayesian comparison of
:mod:`metaeval.stats.bayes`; its calibration study is :mod:`metaeval.stats.paired_calibration`
(``reports/calibration/compare.md``).
"""

from __future__ import annotations

from dataclasses import replace
from numbers import Real
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats as st

from metaeval._random import as_generator
from metaeval._validate import ALTERNATIVES, LEVEL, N_RESAMPLES, Interval, Options, validate_params
from metaeval.errors import MetaevalError, SmallSampleWarning, warn
from metaeval.results import ConfidenceInterval, RunInfo
from metaeval.stats.bayes import bayesian_bootstrap, paired_binary, t_posterior
from metaeval.stats.paired import (
    CLT_MIN_ITEMS,
    T_CLUSTERED,
    T_PAIRED,
    Alternative,
    Comparison,
    PairedScores,
    _sign_flip,
    bonett_price_interval,
    hodges_lehmann_interval,
    mcnemar_attained_level,
    mcnemar_test,
    paired_mean_interval,
    paired_scores,
    studentized_bootstrap,
)
from metaeval.stats.resampling import DEFAULT_N_TEST_RESAMPLES
from metaeval.tables import Judgments, as_judgments

__all__ = ["compare"]


def _bootstrap_caveat(d: np.ndarray, cluster: np.ndarray | None) -> str:
    """Why the studentized bootstrap may miss its level on these data (from the calibration
    study, ``reports/calibration/compare.md``), or ``""``."""
    if cluster is None:
        nonzero = int(np.count_nonzero(d))
        if d.size < CLT_MIN_ITEMS:
            return (f"with {d.size} items (fewer than {CLT_MIN_ITEMS}) its false-positive rate reached 8-9 % with "
                    "heavy-tailed differences or binary scores in the calibration study")
        if nonzero < 30:
            return (f"only {nonzero} items differ (fewer than 30): its false-positive rate reached 9 % with few "
                    "discordant pairs in the calibration study")
        return ""
    sizes = np.unique(np.asarray(cluster), return_counts=True)[1]
    if sizes.size < 50:
        return (f"only {sizes.size} clusters (fewer than 50): its false-positive rate reached 6-9 % with 12 to 40 "
                "clusters in the calibration study")
    if sizes.max() > 2 * sizes.min():
        return (f"cluster sizes range from {sizes.min()} to {sizes.max()}: with unequal clusters its false-positive "
                "rate reached 8-9 % in the calibration study")
    return ""


@validate_params({
    "test": [Options(str, ("auto", "mcnemar", "mcnemar_midp", "paired_t", "wilcoxon", "bootstrap", "permutation"))],
    "alternative": [Options(str, ALTERNATIVES)],
    "confidence_level": [LEVEL],
    "n_resamples": [N_RESAMPLES],
    "rng": ["rng"],
    "method": [Options(str, ("frequentist", "bayes"))],
    "rope": [Interval(Real, 0, None, closed="left")],
})
def compare(
    results: Judgments,
    model_a: str,
    model_b: str,
    *,
    test: Literal["auto", "mcnemar", "mcnemar_midp", "paired_t", "wilcoxon", "bootstrap", "permutation"] = "auto",
    alternative: Alternative = "two-sided",
    confidence_level: float = 0.95,
    cluster: str | None = None,
    judge: str | None = None,
    n_resamples: int = DEFAULT_N_TEST_RESAMPLES,
    rng: np.random.Generator | int | None = None,
    method: Literal["frequentist", "bayes"] = "frequentist",
    rope: float = 0.0,
) -> Any:
    """Is model A better than model B on the same items? The right paired test for the data.

    Every test answers one question — is the mean difference A − B zero? — and its interval is
    the one that inverts it (or, for McNemar's test, an interval for the same difference of
    accuracies), except ``"wilcoxon"``, which asks whether the differences are symmetric around
    0 and reports the Hodges–Lehmann interval for their pseudo-median.

    ``test="auto"`` chooses:

    - with clusters (``cluster``): from 30 clusters on, the cluster-robust paired t (CR2
      standard error, Bell–McCaffrey degrees of freedom); below, the cluster sign-flip test and
      the interval that inverts it (exact when A and B are exchangeable within clusters). With
      so few clusters that no sign pattern reaches p < 1 − ``confidence_level`` (5 or fewer at
      95 %) no test holds its level without assuming normal cluster totals: the result warns
      and reports the cluster-robust t;
    - binary scores: McNemar's exact test, with the t (Wald) interval from ``CLT_MIN_ITEMS``
      items on and the Bonett–Price interval below;
    - continuous scores: the paired t test from ``CLT_MIN_ITEMS`` items on; below, the
      sign-flip (paired permutation) test and the interval that inverts it.

    The explicit tests: ``"mcnemar"`` / ``"mcnemar_midp"`` (binary), ``"paired_t"``,
    ``"permutation"`` (sign flips, with clusters when given), ``"bootstrap"`` (studentised
    bootstrap: bootstrap-t interval and the test it inverts, resampling clusters when given)
    and ``"wilcoxon"``. Their false-positive rates and coverage under null scenarios are in
    ``reports/calibration/compare.md`` (:mod:`metaeval.stats.paired_calibration`).

    ``method="bayes"`` answers with posterior probabilities instead (a
    :class:`~metaeval.stats.bayes.BayesComparison`): binary scores get the Dirichlet posterior of
    the paired 2 × 2 table; continuous scores the Bayesian bootstrap (``n_resamples`` draws) from
    ``CLT_MIN_ITEMS`` items on and the Student-t posterior below and with clusters (where the
    Bayesian bootstrap's interval is too narrow: 87–91 % coverage); ``rope`` is the region of
    practical equivalence on the difference A − B.

    Parameters
    ----------
    results : Judgments
        Pointwise scores (0/1 correctness or numeric), or pairwise verdicts against one common
        baseline (compared through each model's preference over the baseline per item).
    model_a, model_b : str
        The two models; the difference is A − B.
    test : {"auto", "mcnemar", "mcnemar_midp", "paired_t", "wilcoxon", "bootstrap", "permutation"}
        The test, default ``"auto"`` (chosen as above).
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        The alternative about A − B: not 0, above 0 (A better) or below 0.
    confidence_level : float, default 0.95
        Coverage of the interval (the test's level is 1 − ``confidence_level``).
    cluster : str, optional
        A column grouping items that are not independent (e.g. several questions on one passage).
        Default: independent items.
    judge : str, optional
        Use this judge's scores only. Default: every judge's scores, averaged per item.
    n_resamples : int, default 10000
        Resamples for the permutation, bootstrap and Bayesian-bootstrap methods.
        Default: the package default for Monte Carlo p-values, 10000 (``DEFAULT_N_TEST_RESAMPLES``, see
        :mod:`metaeval.stats.resampling`).
    rng : int, numpy.random.Generator or None
        Seed for the resampling methods.
    method : {"frequentist", "bayes"}, default "frequentist"
        A test and interval, or posterior probabilities.
    rope : float, default 0.0
        With ``method="bayes"``: the half-width of the region of practical equivalence on A − B.

    Returns
    -------
    Comparison or BayesComparison
        ``Comparison``: ``estimate`` (A − B, or the Hodges–Lehmann pseudo-median for ``"wilcoxon"``),
        ``ci``, ``pvalue``, ``test`` and the ``reason`` it was chosen, ``n`` (items), ``mean_a``,
        ``mean_b`` and ``details``. ``BayesComparison`` (``method="bayes"``): ``estimate`` is the
        posterior mean of A − B and ``ci`` its credible interval, with ``p_a_better``,
        ``p_equivalent`` (inside the ROPE), ``p_b_better`` and the ``decision``.

    Notes
    -----
    The mean difference is in the units of the scores (accuracy points for 0/1 scores). Whether a
    difference matters is a question of its size, not of the p-value: state beforehand the smallest
    difference that would change a decision and compare the interval with it (or use
    ``method="bayes"`` with that ``rope``, Benavoli et al. 2017). Standardised effect sizes (Cohen's
    d) are rarely meaningful for benchmark scores, whose spread depends on the items chosen.

    Examples
    --------
    >>> import metaeval
    >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=400, scale=(0, 1), n_humans=0,
    ...                                   judges=("exact_match",), rng=1)
    >>> c = metaeval.compare(sim.judgments, "atlas-1", "borealis-1", rng=0)
    >>> c.test
    'mcnemar'
    """
    results = as_judgments(results)
    if method == "bayes":
        return _compare_bayes(results, model_a, model_b, cluster=cluster, judge=judge, rope=rope,
                              confidence_level=confidence_level, test=test, n_draws=n_resamples, rng=rng)
    if rope:
        raise MetaevalError("`rope` applies to method='bayes'")
    gen, seed = as_generator(rng)
    ps = paired_scores(results, model_a, model_b, cluster=cluster, judge=judge)
    d, n = ps.d, ps.d.size
    alpha = 1 - confidence_level
    n_clusters = len(np.unique(ps.cluster)) if ps.cluster is not None else None
    units = n_clusters if n_clusters is not None else n
    # the smallest p-value a sign-flip test can give with this many units
    flip_min_p = (2.0 if alternative == "two-sided" else 1.0) / 2.0 ** min(units, 60)
    details: dict[str, Any] = {"dropped_items": ps.dropped}
    notes: list[str] = []
    if test == "auto":
        test, reason = _auto_test(ps, n_clusters, flip_min_p, alpha)
    else:
        reason = "asked for"
    if test in ("permutation", "paired_t") and flip_min_p > alpha and (ps.cluster is not None or test != "paired_t"):
        _too_few_units(test, f"{n_clusters} clusters" if ps.cluster is not None else f"{n} items", flip_min_p, alpha,
                       notes)
    mean, se, t_ci, t_p, df = paired_mean_interval(d, cluster=ps.cluster, confidence_level=confidence_level,
                                                   alternative=alternative)
    details.update({"se": se, "df": df})
    cl_tag = " (clusters)" if ps.cluster is not None else ""
    if test in ("mcnemar", "mcnemar_midp"):
        pvalue, ci = _mcnemar(ps, test, t_ci, confidence_level, alternative, details, notes)
    elif test == "paired_t":
        pvalue = t_p
        ci = ConfidenceInterval(t_ci[0], t_ci[1], confidence_level,
                                T_CLUSTERED if ps.cluster is not None else T_PAIRED)
    elif test == "wilcoxon":
        mean, pvalue, ci = _wilcoxon(ps, d, mean, confidence_level, alternative, details, notes)
    elif test == "permutation":
        (lo, hi), pvalue, attained = _sign_flip(d, ps.cluster, n_resamples, confidence_level, alternative, gen)
        ci = ConfidenceInterval(lo, hi, confidence_level, "inverted sign-flip test" + cl_tag)
        details["attained_level"] = attained
        if 0 < attained < 0.8 * alpha:
            notes.append(f"the differences take few distinct values: the exact sign-flip test is conservative here "
                         f"(its attained level is {attained:.1%}, not {alpha:.0%}) and its interval covers more than "
                         f"{confidence_level:.0%}")
    else:  # bootstrap
        pvalue, ci = _bootstrap_t(ps, d, n_resamples, confidence_level, alternative, gen, details, notes)
    if notes:
        reason += "; " + "; ".join(notes)
    if results.kind == "pairwise":
        base = ps.baseline
        reason = (f"scores are each model's preference against the baseline {base!r} on each item (graded p_a where "
                  f"given); {reason}")
        details["baseline"] = base
    pooled: list[str] = []
    if judge is None and results.kind == "pointwise":
        scored = results.frame.filter(pl.col("model").is_in([model_a, model_b]))
        pooled = sorted(set(scored["judge"].cast(pl.String).to_list()))
    if len(pooled) > 1:
        shown = ", ".join(pooled[:4]) + (" …" if len(pooled) > 4 else "")
        reason += (f"; each item's score is the mean over the {len(pooled)} judges that scored it ({shown}): pass "
                   "`judge=` to compare under one")
        details["judges_pooled"] = pooled
    run = RunInfo("compare", {"test": test, "alternative": alternative, "confidence_level": confidence_level,
                              "cluster": cluster, "n_resamples": n_resamples}, seed, results.fingerprint,
                  int(n), len(results))
    return Comparison(model_a, model_b, mean, ci, pvalue, test, reason, int(n), float(ps.a.mean()),
                      float(ps.b.mean()), alternative, details, run)


def _auto_test(ps: PairedScores, n_clusters: int | None, flip_min_p: float,
               alpha: float) -> tuple[Literal["paired_t", "permutation", "mcnemar"], str]:
    """``test="auto"``: the test :func:`compare` chooses for these scores, and why."""
    n = ps.d.size
    if ps.cluster is not None:
        if n_clusters >= 30:  # type: ignore[operator]
            return "paired_t", (f"items come in {n_clusters} clusters: cluster-robust (CR2) standard error with "
                                "Bell-McCaffrey degrees of freedom")
        if flip_min_p <= alpha:
            return "permutation", (f"items come in only {n_clusters} clusters (fewer than 30): the cluster sign-flip "
                                   "test and the interval that inverts it (exact when A and B are exchangeable within "
                                   "clusters)")
        return "paired_t", f"items come in only {n_clusters} clusters: cluster-robust (CR2) t"
    if ps.binary:
        return "mcnemar", "binary scores on the same items: McNemar's exact test on the discordant pairs"
    if n >= CLT_MIN_ITEMS:
        return "paired_t", f"continuous scores, {n} items: the paired t test (CLT) is reliable"
    return "permutation", (f"continuous scores, only {n} items (fewer than {CLT_MIN_ITEMS}): the sign-flip (paired "
                           "permutation) test of the mean difference and the interval that inverts it, instead of the "
                           "CLT")


def _too_few_units(test: str, what: str, flip_min_p: float, alpha: float, notes: list[str]) -> None:
    """The note and warning for a sign-flip test (or a t test with clusters) on too few units to reach
    ``p < alpha``."""
    note = (f"with only {what} a test cannot hold its level without assumptions: the sign-flip test cannot "
            f"reach p < {alpha:g} (its smallest p-value is {flip_min_p:.3g})"
            + (", and the t interval holds only if the cluster totals are near normal"
               if test == "paired_t" else ", so it never rejects and its interval is unbounded"))
    notes.append(note)
    warn(note, SmallSampleWarning)


def _bootstrap_t(ps: PairedScores, d: np.ndarray, n_resamples: int, confidence_level: float,
                 alternative: Alternative, gen: np.random.Generator, details: dict[str, Any],
                 notes: list[str]) -> tuple[float, ConfidenceInterval]:
    """The studentized bootstrap test and the bootstrap-t interval it inverts (clusters resampled
    when given), with a warning where it cannot hold its level."""
    caveat = _bootstrap_caveat(d, ps.cluster)
    if caveat:
        note = f"the studentized bootstrap cannot hold its level here: {caveat}; prefer test='auto'"
        notes.append(note)
        warn(note, SmallSampleWarning)
    (lo, hi), pvalue = studentized_bootstrap(d, cluster=ps.cluster, n_resamples=n_resamples,
                                             confidence_level=confidence_level, alternative=alternative, rng=gen)
    details["pvalue_from"] = "studentized bootstrap"
    cl_tag = " (clusters)" if ps.cluster is not None else ""
    return pvalue, ConfidenceInterval(lo, hi, confidence_level, "studentized bootstrap" + cl_tag)


def _mcnemar(ps: PairedScores, test: str, t_ci: tuple[float, float], confidence_level: float,
             alternative: Alternative, details: dict[str, Any], notes: list[str]) -> tuple[float, ConfidenceInterval]:
    """McNemar's exact (or mid-p) test and the interval for the difference of accuracies: the t
    interval from ``CLT_MIN_ITEMS`` items on (cluster-robust with clusters), Bonett-Price below."""
    if not ps.binary:
        raise MetaevalError("McNemar's test needs binary (0/1) scores")
    n, alpha = ps.d.size, 1 - confidence_level
    n10 = int(np.sum((ps.a == 1) & (ps.b == 0)))
    n01 = int(np.sum((ps.a == 0) & (ps.b == 1)))
    pvalue = mcnemar_test(n10, n01, mid_p=test == "mcnemar_midp", alternative=alternative)
    m = n10 + n01
    attained = mcnemar_attained_level(m, alpha=alpha, alternative=alternative)
    details.update({"a_only_correct": n10, "b_only_correct": n01, "attained_level": attained})
    if attained == 0:
        notes.append(f"only {m} items where exactly one model is right: McNemar's exact test cannot reach "
                     f"p < {alpha:g}")
    elif attained < 0.8 * alpha and test == "mcnemar":
        notes.append(f"McNemar's exact test is conservative here: with {m} items where exactly one model is "
                     f"right it attains a level of {attained:.1%}, not {alpha:.0%} (test='mcnemar_midp' is "
                     "closer to the nominal level)")
    if ps.cluster is not None:
        warn("McNemar's test ignores the clusters; prefer the clustered paired t", SmallSampleWarning)
        return pvalue, ConfidenceInterval(t_ci[0], t_ci[1], confidence_level, T_CLUSTERED)
    if n >= CLT_MIN_ITEMS:
        return pvalue, ConfidenceInterval(t_ci[0], t_ci[1], confidence_level, T_PAIRED)
    lo, hi = bonett_price_interval(n10, n01, n, confidence_level=confidence_level, alternative=alternative)
    notes.append(f"interval by Bonett-Price (fewer than {CLT_MIN_ITEMS} items)"
                 + (f"; with only {m} items where exactly one model is right it is conservative (it covers "
                    f"at least {confidence_level:.0%})" if m < 10 else ""))
    return pvalue, ConfidenceInterval(lo, hi, confidence_level, "Bonett-Price")


def _wilcoxon(ps: PairedScores, d: np.ndarray, mean: float, confidence_level: float, alternative: Alternative,
              details: dict[str, Any], notes: list[str]) -> tuple[float, float, ConfidenceInterval]:
    """The signed-rank test and the Hodges-Lehmann interval: (the pseudo-median, p-value, interval)."""
    if ps.cluster is not None:
        raise MetaevalError("the Wilcoxon test does not handle clusters; use `paired_t` or `permutation`")
    pvalue = 1.0 if np.all(d == 0) else float(st.wilcoxon(ps.a, ps.b, alternative=alternative,
                                                           zero_method="wilcox").pvalue)
    hl, (lo, hi) = hodges_lehmann_interval(d, confidence_level=confidence_level)
    ci = ConfidenceInterval(lo, hi, confidence_level, "Hodges-Lehmann (pseudo-median)")
    details.update({"pseudo_median": hl, "mean_difference": mean})
    notes.append("the signed-rank test asks whether the differences are symmetric around 0 (their pseudo-median, "
                 "not their mean): with skewed differences it can reject when the mean difference is 0; the "
                 "interval is for the pseudo-median")
    if np.any(d == 0) or np.unique(np.abs(d)).size < d.size:
        notes.append("with tied or zero differences the Hodges-Lehmann interval does not invert the test and "
                     "is conservative (it covers more than the nominal level)")
    return hl, pvalue, ci  # the estimate answers the test's question


def _compare_bayes(results: Judgments, model_a: str, model_b: str, *, cluster: str | None, judge: str | None,
                   rope: float, confidence_level: float, test: str, n_draws: int,
                   rng: np.random.Generator | int | None) -> Any:
    if test != "auto":
        raise MetaevalError("`test` chooses a frequentist test; with method='bayes' leave it at 'auto'")
    ps = paired_scores(results, model_a, model_b, cluster=cluster, judge=judge)
    names = (model_a, model_b)
    n = ps.d.size
    if ps.binary and ps.cluster is None:
        n11 = int(np.sum((ps.a == 1) & (ps.b == 1)))
        n10 = int(np.sum((ps.a == 1) & (ps.b == 0)))
        n01 = int(np.sum((ps.a == 0) & (ps.b == 1)))
        res = paired_binary(n11, n10, n01, n - n11 - n10 - n01, rope=rope, confidence_level=confidence_level,
                            names=names, rng=rng)
        why = "binary scores on the same items: Dirichlet posterior of the paired 2 x 2 table (uniform prior)"
        if n10 + n01 < 10:
            why += (f"; with only {n10 + n01} items where exactly one model is right the uniform prior weighs in: "
                    f"the credible interval is conservative (it covers more than {confidence_level:.0%} of true "
                    "differences)")
    elif ps.cluster is None and n >= CLT_MIN_ITEMS:
        res = bayesian_bootstrap(ps.d, rope=rope, confidence_level=confidence_level, names=names, n_draws=n_draws,
                                 rng=rng)
        why = f"continuous scores, {n} items: Bayesian bootstrap of the mean difference"
    else:
        res = t_posterior(ps.d, rope=rope, confidence_level=confidence_level, names=names, cluster=ps.cluster)
        if ps.cluster is not None:
            g = len(np.unique(ps.cluster))
            why = (f"items in {g} clusters: Student-t posterior of the mean difference with the cluster-robust (CR2) "
                   "scale (the Bayesian bootstrap's interval is too narrow with clusters)")
            if g <= 5:
                why += f"; with only {g} clusters it leans on near-normal cluster totals"
        else:
            why = (f"continuous scores, only {n} items (fewer than {CLT_MIN_ITEMS}): Student-t posterior of the "
                   "mean difference (normal model, Jeffreys prior; the Bayesian bootstrap's interval is too narrow "
                   "with few items)")
    details = dict(res.details, reason=why, dropped_items=ps.dropped)
    run = RunInfo("compare", dict(res.run_info.params, method="bayes", cluster=cluster), res.run_info.seed,
                  results.fingerprint, int(ps.d.size), len(results))
    return replace(res, details=details, run_info=run, reason=why, mean_a=float(ps.a.mean()),
                   mean_b=float(ps.b.mean()))
