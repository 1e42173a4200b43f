"""Leaderboard-audit estimators: unbiased pass@k, worst-group accuracy, monotone scaling.

- :func:`pass_at_k`: the unbiased estimator of Chen et al. (2021), 1 − C(n − c, k) / C(n, k)
  per problem (n samples, c correct), averaged over problems, with a t interval over problems
  (the problems are the sampling units; the estimator is unbiased per problem);
- :func:`worst_group_accuracy`: the accuracy of the worst group, with a simultaneous interval
  (Bonferroni over the groups, Wilson per group) and the group's identity;
- :func:`monotone_in_size`: do scores rise with model size? Kendall's τ between size and score
  with its Fieller interval, and every adjacent pair that goes down.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
import polars as pl

from metaeval._validate import LEVEL, Interval, validate_params
from metaeval.errors import InsufficientDataError, MetaevalError, ParameterError
from metaeval.results import ConfidenceInterval, Estimate, RunInfo

__all__ = ["monotone_in_size", "pass_at_k", "worst_group_accuracy"]


def _pass_at_k_one(n: int, c: int, k: int) -> float:
    if n - c < k:
        return 1.0
    # 1 − Π_{i=n−c+1}^{n} (1 − k / i): stable for large n (Chen et al. 2021, Fig. 3)
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


@validate_params({"k": [Interval(Integral, 1, None, closed="left")], "confidence_level": [LEVEL]})
def pass_at_k(n: Sequence[int] | np.ndarray, c: Sequence[int] | np.ndarray, k: int, *,
              confidence_level: float = 0.95) -> Estimate:
    """Unbiased pass@k over problems with ``n[i]`` samples of which ``c[i]`` are correct.

    Per problem, pass@k = 1 − C(n − c, k) / C(n, k) (Chen et al. 2021), averaged over problems.

    Parameters
    ----------
    n : sequence of int
        Samples drawn per problem (each at least ``k``).
    c : sequence of int
        Correct samples per problem.
    k : int
        The k of pass@k.
    confidence_level : float, default 0.95
        Coverage of the t interval over problems (clipped to [0, 1]; nan with one problem).

    Returns
    -------
    Estimate
        ``estimate`` (mean pass@k) with its ``ci`` over problems and ``n`` (problems).

    Examples
    --------
    >>> e = pass_at_k([10, 10, 10], [0, 3, 10], k=1)
    >>> round(e.estimate, 4)
    0.4333
    >>> round(pass_at_k([10], [3], k=5).estimate, 4)  # 1 − C(7, 5) / C(10, 5) = 1 − 21/252
    0.9167
    """
    from metaeval.stats.paired import paired_mean_interval

    n_arr, c_arr = np.asarray(n), np.asarray(c)
    if n_arr.shape != c_arr.shape or n_arr.ndim != 1:
        raise ParameterError("`n` and `c` must be 1-d and of one length (one entry per problem)")
    if not (np.issubdtype(n_arr.dtype, np.integer) and np.issubdtype(c_arr.dtype, np.integer)):
        raise ParameterError("`n` and `c` must be integer counts")
    bad = (c_arr < 0) | (c_arr > n_arr) | (n_arr < k)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise MetaevalError(f"problem {i}: need 0 ≤ c ≤ n and n ≥ k; got n={int(n_arr[i])}, c={int(c_arr[i])}, k={k}")
    per = np.array([_pass_at_k_one(int(a), int(b), int(k)) for a, b in zip(n_arr, c_arr, strict=True)])
    if len(per) < 2:
        est = float(per[0])
        ci = ConfidenceInterval(float("nan"), float("nan"), confidence_level, "t over problems")
    else:
        est, _se, (lo, hi), _p, _df = paired_mean_interval(per, confidence_level=confidence_level)
        ci = ConfidenceInterval(max(0.0, lo), min(1.0, hi), confidence_level, "t over problems")
    return Estimate(f"pass@{k}", float(est), ci, None, len(per), RunInfo("pass_at_k", {"k": int(k)}))


@validate_params({"confidence_level": [LEVEL], "min_size": [Interval(Integral, 1, None, closed="left")]})
def worst_group_accuracy(correct: Sequence[float] | np.ndarray, group: Sequence[Any], *,
                         confidence_level: float = 0.95, min_size: int = 1) -> tuple[Estimate, pl.DataFrame]:
    """The lowest group accuracy, with a simultaneous (Bonferroni) Wilson interval, and the table of groups.

    Parameters
    ----------
    correct : sequence of float
        1 where an item is answered correctly, 0 where not.
    group : sequence
        The group of each item (e.g. a demographic or a subtask).
    confidence_level : float, default 0.95
        Simultaneous coverage of the intervals over all groups (each Wilson interval is made at
        1 − (1 − ``confidence_level``) / number of groups).
    min_size : int, default 1
        Groups with fewer items are left out.

    Returns
    -------
    tuple of (Estimate, polars.DataFrame)
        The worst group's accuracy with its interval, and one row per group, worst first.

    Examples
    --------
    >>> est, table = worst_group_accuracy([1, 1, 0, 1, 0, 0], ["a", "a", "a", "b", "b", "b"])
    >>> round(est.estimate, 3), table["group"][0]
    (0.333, 'b')
    """
    from metaeval.stats.intervals import proportion_interval

    y = np.asarray(correct, dtype=float)
    g = np.asarray(group, dtype=object)
    if y.shape != g.shape or y.ndim != 1:
        raise ParameterError("`correct` and `group` must be 1-d and of one length")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ParameterError("`correct` must be 0 or 1")
    df = pl.DataFrame({"group": [str(x) for x in g], "y": y}).group_by("group").agg(
        pl.len().alias("n"), pl.col("y").sum().alias("k")).filter(pl.col("n") >= min_size)
    if df.height == 0:
        raise InsufficientDataError(f"no group has at least {min_size} items")
    level = 1 - (1 - confidence_level) / df.height  # Bonferroni: the worst group's interval holds jointly
    lo, hi = proportion_interval(df["k"].to_numpy(), df["n"].to_numpy(), confidence_level=level)
    df = df.with_columns((pl.col("k") / pl.col("n")).alias("accuracy"), pl.Series("ci_low", np.asarray(lo, float)),
                         pl.Series("ci_high", np.asarray(hi, float))).sort("accuracy", "group")
    w = df.row(0, named=True)
    est = Estimate(f"worst-group accuracy ({w['group']})", float(w["accuracy"]),
                   ConfidenceInterval(float(w["ci_low"]), float(w["ci_high"]), confidence_level,
                                      f"Wilson, Bonferroni over {df.height} groups"), None, int(w["n"]),
                   RunInfo("worst_group_accuracy", {"groups": df.height}))
    return est, df.select("group", "n", "accuracy", "ci_low", "ci_high")


@validate_params({"confidence_level": [LEVEL]})
def monotone_in_size(size: Sequence[float] | np.ndarray, score: Sequence[float] | np.ndarray,
                     names: Sequence[str] | None = None, *, confidence_level: float = 0.95
                     ) -> tuple[Estimate, pl.DataFrame]:
    """Kendall's τ between model size and score, and the adjacent pairs whose score goes down.

    τ and its interval are those of :func:`~metaeval.stats.monotonicity`; the adjacent pairs in size
    order whose score goes down are candidates for a broken scaling trend.

    Parameters
    ----------
    size : sequence of float
        Model sizes (parameters, compute, …).
    score : sequence of float
        The models' scores.
    names : sequence of str, optional
        Model names for the table. Default: their positions.
    confidence_level : float, default 0.95
        Coverage of τ's interval.

    Returns
    -------
    tuple of (Estimate, polars.DataFrame)
        τ with its interval, and the adjacent pairs (in size order) whose score drops.

    Notes
    -----
    τ = 1 is a perfectly monotone scaling trend; with a handful of models its interval is wide, and
    a single drop is weak evidence on its own. Kendall's τ runs below Pearson's r and Spearman's ρ
    on the same data; Cohen's (1988) 0.1 / 0.3 / 0.5 marks are for r.

    Examples
    --------
    >>> est, drops = monotone_in_size([1, 2, 4, 8, 16, 32], [10, 12, 11, 15, 18, 20])
    >>> round(est.estimate, 3), drops.height
    (0.867, 1)
    """
    from metaeval.stats.variance import monotonicity

    s, v = np.asarray(size, float), np.asarray(score, float)
    if s.shape != v.shape or s.ndim != 1:
        raise ParameterError("`size` and `score` must be 1-d and of one length")
    keep = np.isfinite(s) & np.isfinite(v)
    est = monotonicity(s[keep], v[keep], confidence_level=confidence_level)
    labels = list(names) if names is not None else [str(i) for i in range(len(s))]
    if len(labels) != len(s):
        raise ParameterError("`names` must have one name per model")
    ok = np.isfinite(s) & np.isfinite(v)
    idx = np.flatnonzero(ok)[np.argsort(s[ok], kind="stable")]
    rows = [{"smaller": labels[a], "larger": labels[b], "size_smaller": s[a], "size_larger": s[b],
             "drop": float(v[a] - v[b])} for a, b in itertools.pairwise(idx) if v[b] < v[a]]
    schema = {"smaller": pl.String, "larger": pl.String, "size_smaller": pl.Float64, "size_larger": pl.Float64,
              "drop": pl.Float64}
    return est, pl.DataFrame(rows, schema=schema)
