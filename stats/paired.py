"""Comparing two models on the same items: paired tests and intervals, with clusters.

Kernels on arrays (``d`` = per-item score differences A − B, optional cluster ids):

- :func:`mcnemar_test` — exact binomial test on the discordant pairs, and its mid-p version;
- :func:`paired_mean_interval` — mean difference, its (cluster-robust) standard error and the
  t interval (Miller 2024, "Adding Error Bars to Evals");
- :func:`paired_bootstrap` — percentile interval for the mean difference, drawn through the
  sufficient statistic when the differences take few values (a binary paired design needs
  only its 2 × 2 table), resampling clusters when given;
- :func:`sign_flip_test` — the paired permutation test (random signs of the differences),
  drawn through binomial counts of each distinct |d|.

:func:`compare` is the table-level entry point (``metaeval.compare``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats as st

from metaeval._random import as_generator, resample_counts
from metaeval.errors import (
    DataDroppedWarning,
    InsufficientDataError,
    MetaevalError,
    SmallSampleWarning,
    warn,
)
from metaeval.results import ConfidenceInterval, Result, RunInfo
from metaeval.tables import Judgments

__all__ = [
    "Comparison",
    "PairedScores",
    "compare",
    "item_means",
    "mcnemar_test",
    "paired_bootstrap",
    "paired_mean_interval",
    "paired_scores",
    "sign_flip_test",
]

Alternative = Literal["two-sided", "greater", "less"]
CLT_MIN_ITEMS = 300  # below this, the CLT interval is flagged (Bowyer et al. 2025)


def _check_alternative(alternative: str) -> None:
    if alternative not in ("two-sided", "greater", "less"):
        raise MetaevalError(f"`alternative` must be 'two-sided', 'greater' or 'less'; got {alternative!r}")


# ------------------------------------------------------------------------ kernels
def mcnemar_test(n10: int, n01: int, *, mid_p: bool = False, alternative: Alternative = "two-sided") -> float:
    """Exact McNemar p-value from the discordant counts.

    ``n10``: items A got right and B wrong; ``n01``: the reverse. Under H0 n10 ~ Bin(n10 + n01, ½).
    The mid-p version subtracts half the probability of the observed count (Fagerland et al. 2013).

    >>> round(mcnemar_test(10, 2), 6)
    0.038574
    """
    _check_alternative(alternative)
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


def paired_mean_interval(
    d: np.ndarray,
    *,
    cluster: np.ndarray | None = None,
    confidence_level: float = 0.95,
    alternative: Alternative = "two-sided",
) -> tuple[float, float, tuple[float, float], float, int]:
    """Mean difference, standard error, t interval, p-value (H0: mean 0), degrees of freedom.

    With ``cluster`` the standard error is cluster-robust (the sum over clusters of the squared
    within-cluster residual sums, times G / (G − 1)), equal to statsmodels' cluster-robust OLS
    on an intercept, and the t distribution has G − 1 degrees of freedom.
    """
    _check_alternative(alternative)
    d = np.asarray(d, float)
    n = d.size
    if n < 2:
        raise InsufficientDataError(f"a paired interval needs at least 2 items; got {n}")
    mean = float(d.mean())
    if cluster is None:
        se = float(d.std(ddof=1) / np.sqrt(n))
        df = n - 1
    else:
        codes = np.unique(np.asarray(cluster), return_inverse=True)[1]
        g = int(codes.max()) + 1
        if g < 2:
            raise InsufficientDataError("a clustered interval needs at least 2 clusters")
        sums = np.bincount(codes, weights=d - mean, minlength=g)
        se = float(np.sqrt(g / (g - 1) * np.sum(sums**2)) / n)
        df = g - 1
    if se == 0:
        return mean, 0.0, (mean, mean), (1.0 if mean == 0 else 0.0), df
    t = mean / se
    if alternative == "two-sided":
        p = 2 * st.t.sf(abs(t), df)
        q = st.t.ppf(1 - (1 - confidence_level) / 2, df)
        ci = (mean - q * se, mean + q * se)
    elif alternative == "greater":
        p = st.t.sf(t, df)
        ci = (mean - st.t.ppf(confidence_level, df) * se, np.inf)
    else:
        p = st.t.cdf(t, df)
        ci = (-np.inf, mean + st.t.ppf(confidence_level, df) * se)
    return mean, se, (float(ci[0]), float(ci[1])), float(p), df


def _distinct(d: np.ndarray, limit: int = 1000) -> tuple[np.ndarray, np.ndarray] | None:
    values, counts = np.unique(d, return_counts=True)
    return (values, counts) if values.size <= limit else None


def paired_bootstrap(
    d: np.ndarray,
    *,
    cluster: np.ndarray | None = None,
    n_resamples: int = 10_000,
    confidence_level: float = 0.95,
    rng: np.random.Generator | int | None = None,
    chunk: int = 500,
) -> tuple[tuple[float, float], np.ndarray]:
    """Percentile bootstrap interval for the mean difference, and the resampled means.

    Without clusters and with few distinct differences (binary or graded scores), a resample
    is a multinomial draw over the distinct values — the same distribution as resampling
    items, at O(distinct values) per resample. Otherwise items (or clusters, with the mean as
    a ratio of resampled sums) are resampled in chunks.
    """
    gen, _ = as_generator(rng)
    d = np.asarray(d, float)
    n = d.size
    if n < 2:
        raise InsufficientDataError(f"a bootstrap needs at least 2 items; got {n}")
    a = (1 - confidence_level) / 2
    if cluster is None:
        distinct = _distinct(d)
        if distinct is not None:
            values, counts = distinct
            draws = gen.multinomial(n, counts / n, size=n_resamples) @ values / n
        else:
            draws = np.empty(n_resamples)
            for s in range(0, n_resamples, chunk):
                size = min(chunk, n_resamples - s)
                idx = gen.integers(0, n, (size, n))
                draws[s:s + size] = d[idx].mean(1)
    else:
        codes = np.unique(np.asarray(cluster), return_inverse=True)[1]
        g = int(codes.max()) + 1
        sums = np.bincount(codes, weights=d, minlength=g)
        sizes = np.bincount(codes, minlength=g).astype(float)
        w = resample_counts(gen, g, n_resamples)
        draws = (w @ sums) / (w @ sizes)
    low, high = np.quantile(draws, [a, 1 - a])
    return (float(low), float(high)), draws


def sign_flip_test(
    d: np.ndarray,
    *,
    cluster: np.ndarray | None = None,
    n_resamples: int = 10_000,
    alternative: Alternative = "two-sided",
    rng: np.random.Generator | int | None = None,
) -> float:
    """Monte Carlo sign-flip (paired permutation) test of mean difference 0.

    Under H0 each item's (or each cluster's) difference is as likely to be +|d| as −|d|. For
    each distinct |d| with count c, the number of positive signs is Bin(c, ½), so a resample
    costs O(distinct |d|). p = (1 + #{resampled ≥ observed}) / (n_resamples + 1).
    """
    _check_alternative(alternative)
    gen, _ = as_generator(rng)
    d = np.asarray(d, float)
    if cluster is not None:
        codes = np.unique(np.asarray(cluster), return_inverse=True)[1]
        d = np.bincount(codes, weights=d)
    observed = d.sum()
    mags, counts = np.unique(np.abs(d), return_counts=True)
    keep = mags > 0
    mags, counts = mags[keep], counts[keep]
    if mags.size == 0:
        return 1.0
    pos = gen.binomial(counts[None, :], 0.5, size=(n_resamples, mags.size))
    sims = (2 * pos - counts[None, :]) @ mags
    tol = 1e-9 * max(1.0, np.abs(d).sum())
    if alternative == "two-sided":
        hits = np.sum(np.abs(sims) >= abs(observed) - tol)
    elif alternative == "greater":
        hits = np.sum(sims >= observed - tol)
    else:
        hits = np.sum(sims <= observed + tol)
    return float((1 + hits) / (n_resamples + 1))


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
    return f.group_by("item", "model").agg(aggs)


def paired_scores(judgments: Judgments, model_a: str, model_b: str, *, cluster: str | None = None,
                  judge: str | None = None) -> PairedScores:
    """Average each model's scores per item (over repeats and judges) and pair them by item."""
    if judgments.kind != "pointwise" or "score" not in judgments.frame.columns:
        raise MetaevalError("comparing two models needs a pointwise table with numeric `score`")
    for m in (model_a, model_b):
        if m not in judgments.models:
            raise MetaevalError(f"unknown model {m!r}; the table has {', '.join(judgments.models[:8])}"
                                + (" …" if len(judgments.models) > 8 else ""))
    if model_a == model_b:
        raise MetaevalError("`model_a` and `model_b` must differ")
    per = item_means(judgments, [model_a, model_b], judge=judge, cluster=cluster)
    wa = per.filter(pl.col("model") == model_a).drop("model")
    wb = per.filter(pl.col("model") == model_b).drop("model")
    both = wa.join(wb, on="item", suffix="_b").sort("item")
    dropped = wa.height + wb.height - 2 * both.height
    if dropped:
        warn(f"{dropped} items were scored for only one of the two models and were left out", DataDroppedWarning)
    if both.height < 2:
        raise InsufficientDataError(f"{model_a!r} and {model_b!r} share {both.height} scored items; need 2")
    cl = both["c"].to_numpy() if cluster is not None else None
    return PairedScores(both["item"].to_numpy(), both["s"].to_numpy(), both["s_b"].to_numpy(), cl,
                        both["k"].to_numpy(), dropped)


@dataclass(frozen=True)
class Comparison(Result):
    """A paired comparison of two models: the mean difference A − B with its interval, the
    test that was run, its p-value, and why that test was chosen."""

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

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({
            "model_a": [self.model_a], "model_b": [self.model_b], "mean_a": [self.mean_a], "mean_b": [self.mean_b],
            "difference": [self.estimate], "ci_low": [self.ci.low], "ci_high": [self.ci.high],
            "pvalue": [self.pvalue], "test": [self.test], "n": [self.n],
        })

    def summary(self) -> str:
        return super().summary() + f"\ninterval: {self.ci}\nwhy this test: {self.reason}"


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
    n_resamples: int = 10_000,
    rng: np.random.Generator | int | None = None,
    method: Literal["frequentist", "bayes"] = "frequentist",
    rope: float = 0.0,
) -> Any:
    """Is model A better than model B on the same items? The right paired test for the data.

    ``method="bayes"`` answers with posterior probabilities instead (a
    :class:`~metaeval.stats.bayes.BayesComparison`): binary scores get the Dirichlet posterior of
    the paired 2 × 2 table, continuous scores (or clusters) the Bayesian bootstrap; ``rope`` is
    the region of practical equivalence on the difference A − B.

    ``test="auto"`` chooses: with clusters, the cluster-robust paired t (few clusters: the
    cluster bootstrap interval and a cluster sign-flip test); binary scores, McNemar's exact
    test; continuous scores, the paired t test from a few hundred items on and the Wilcoxon
    signed-rank test below. The interval is the t interval from ``CLT_MIN_ITEMS`` items on and a
    paired bootstrap below. The result says which test ran and why.

    Examples
    --------
    >>> import metaeval
    >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=400, scale=(0, 1), n_humans=0,
    ...                                   judges=("exact_match",), rng=1)
    >>> c = metaeval.compare(sim.judgments, "atlas-1", "borealis-1", rng=0)
    >>> c.test
    'mcnemar'
    """
    _check_alternative(alternative)
    if not 0 < confidence_level < 1:
        raise MetaevalError(f"`confidence_level` must lie in (0, 1); got {confidence_level!r}")
    if method not in ("frequentist", "bayes"):
        raise MetaevalError(f"`method` must be 'frequentist' or 'bayes'; got {method!r}")
    if method == "bayes":
        return _compare_bayes(results, model_a, model_b, cluster=cluster, judge=judge, rope=rope,
                              confidence_level=confidence_level, test=test, rng=rng)
    if rope:
        raise MetaevalError("`rope` applies to method='bayes'")
    gen, seed = as_generator(rng)
    ps = paired_scores(results, model_a, model_b, cluster=cluster, judge=judge)
    d, n = ps.d, ps.d.size
    n_clusters = len(np.unique(ps.cluster)) if ps.cluster is not None else None
    details: dict[str, Any] = {"dropped_items": ps.dropped}
    if test == "auto":
        if ps.cluster is not None:
            test = "paired_t" if n_clusters >= 30 else "bootstrap"  # type: ignore[operator]
            reason = (f"items come in {n_clusters} clusters: " + ("cluster-robust standard error" if test == "paired_t"
                      else "fewer than 30 clusters, so a cluster bootstrap and a cluster sign-flip test"))
        elif ps.binary:
            test = "mcnemar"
            reason = "binary scores on the same items: McNemar's exact test on the discordant pairs"
        elif n >= CLT_MIN_ITEMS:
            test = "paired_t"
            reason = f"continuous scores, {n} items: the paired t test (CLT) is reliable"
        else:
            test = "wilcoxon"
            reason = f"continuous scores, only {n} items: Wilcoxon signed-rank instead of the CLT"
    else:
        reason = "asked for"
    use_boot_ci = n < CLT_MIN_ITEMS if ps.cluster is None else n_clusters < 30  # type: ignore[operator]
    mean, se, t_ci, t_p, df = paired_mean_interval(d, cluster=ps.cluster, confidence_level=confidence_level,
                                                   alternative=alternative)
    details.update({"se": se, "df": df})
    if test in ("mcnemar", "mcnemar_midp"):
        if not ps.binary:
            raise MetaevalError("McNemar's test needs binary (0/1) scores")
        if ps.cluster is not None:
            warn("McNemar's test ignores the clusters; prefer the clustered paired t", SmallSampleWarning)
        n10 = int(np.sum((ps.a == 1) & (ps.b == 0)))
        n01 = int(np.sum((ps.a == 0) & (ps.b == 1)))
        pvalue = mcnemar_test(n10, n01, mid_p=test == "mcnemar_midp", alternative=alternative)
        details.update({"a_only_correct": n10, "b_only_correct": n01})
    elif test == "paired_t":
        pvalue = t_p
    elif test == "wilcoxon":
        if ps.cluster is not None:
            raise MetaevalError("the Wilcoxon test does not handle clusters; use `paired_t` or `permutation`")
        if np.all(d == 0):
            pvalue = 1.0
        else:
            pvalue = float(st.wilcoxon(ps.a, ps.b, alternative=alternative, zero_method="wilcox").pvalue)
    elif test == "permutation":
        pvalue = sign_flip_test(d, cluster=ps.cluster, n_resamples=n_resamples, alternative=alternative, rng=gen)
    elif test == "bootstrap":
        pvalue = sign_flip_test(d, cluster=ps.cluster, n_resamples=n_resamples, alternative=alternative, rng=gen)
        details["pvalue_from"] = "sign-flip test"
    else:
        raise MetaevalError(f"`test` must be one of auto, mcnemar, mcnemar_midp, paired_t, wilcoxon, bootstrap, "
                            f"permutation; got {test!r}")
    if use_boot_ci or test == "bootstrap":
        (lo, hi), _ = paired_bootstrap(d, cluster=ps.cluster, n_resamples=n_resamples,
                                       confidence_level=confidence_level, rng=gen)
        ci = ConfidenceInterval(lo, hi, confidence_level, "paired bootstrap" + (" (clusters)" if ps.cluster is not None
                                                                                else ""))
        if use_boot_ci and test != "bootstrap":
            reason += f"; interval by paired bootstrap (fewer than {CLT_MIN_ITEMS} items)"
    else:
        ci = ConfidenceInterval(t_ci[0], t_ci[1], confidence_level,
                                "t, cluster-robust SE" if ps.cluster is not None else "paired t")
    run = RunInfo("compare", {"test": test, "alternative": alternative, "confidence_level": confidence_level,
                              "cluster": cluster, "n_resamples": n_resamples}, seed, results.fingerprint,
                  int(n), len(results))
    return Comparison(model_a, model_b, mean, ci, pvalue, test, reason, int(n), float(ps.a.mean()),
                      float(ps.b.mean()), alternative, details, run)


def _compare_bayes(results: Judgments, model_a: str, model_b: str, *, cluster: str | None, judge: str | None,
                   rope: float, confidence_level: float, test: str, rng: np.random.Generator | int | None) -> Any:
    from metaeval.stats.bayes import bayesian_bootstrap, paired_binary

    if test != "auto":
        raise MetaevalError("`test` chooses a frequentist test; with method='bayes' leave it at 'auto'")
    ps = paired_scores(results, model_a, model_b, cluster=cluster, judge=judge)
    names = (model_a, model_b)
    if ps.binary and ps.cluster is None:
        n11 = int(np.sum((ps.a == 1) & (ps.b == 1)))
        n10 = int(np.sum((ps.a == 1) & (ps.b == 0)))
        n01 = int(np.sum((ps.a == 0) & (ps.b == 1)))
        res = paired_binary(n11, n10, n01, ps.d.size - n11 - n10 - n01, rope=rope, confidence_level=confidence_level,
                            names=names, rng=rng)
        why = "binary scores on the same items: Dirichlet posterior of the paired 2 x 2 table (uniform prior)"
    else:
        res = bayesian_bootstrap(ps.d, rope=rope, confidence_level=confidence_level, names=names, cluster=ps.cluster,
                                 rng=rng)
        why = ("continuous scores" if not ps.binary else "clustered items") + ": Bayesian bootstrap of the mean " \
            "difference" + (" over clusters" if ps.cluster is not None else "")
    details = dict(res.details, reason=why, dropped_items=ps.dropped)
    run = RunInfo("compare", dict(res.run_info.params, method="bayes", cluster=cluster), res.run_info.seed,
                  results.fingerprint, int(ps.d.size), len(results))
    return replace(res, details=details, run_info=run, reason=why, mean_a=float(ps.a.mean()),
                   mean_b=float(ps.b.mean()))
