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
from metaeval.errors import InsufficientDataError, MetaevalError
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

    >>> e = pass_at_k([10, 10, 10], [0, 3, 10], k=1)
    >>> round(e.estimate, 4)
    0.4333
    >>> round(pass_at_k([10], [3], k=5).estimate, 4)  # 1 − C(7, 5) / C(10, 5) = 1 − 21/252
    0.9167
    >>> round(pass_at_k([10] * 120, [6] * 120, k=5).ci.low, 4)  # every problem solved: (0.025)^(1/120)
    0.9697
    """
    from metaeval.stats.paired import paired_mean_interval

    n_arr, c_arr = np.asarray(n), np.asarray(c)
    if n_arr.shape != c_arr.shape or n_arr.ndim != 1:
        raise MetaevalError("`n` and `c` must be 1-d and of one length (one entry per problem)")
    if not (np.issubdtype(n_arr.dtype, np.integer) and np.issubdtype(c_arr.dtype, np.integer)):
        raise MetaevalError("`n` and `c` must be integer counts")
    bad = (c_arr < 0) | (c_arr > n_arr) | (n_arr < k)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise MetaevalError(f"problem {i}: need 0 ≤ c ≤ n and n ≥ k; got n={int(n_arr[i])}, c={int(c_arr[i])}, k={k}")
    per = np.array([_pass_at_k_one(int(a), int(b), int(k)) for a, b in zip(n_arr, c_arr, strict=True)])
    if len(per) < 2:
        est = float(per[0])
        ci = ConfidenceInterval(float("nan"), float("nan"), confidence_level, "t over problems")
    elif np.all(per == 1.0) or np.all(per == 0.0):
        # every problem at the bound: the t interval collapses. A value in [0, 1] with mean μ is 1 with
        # probability at most μ (Markov), so all n problems at 1 has probability at most μⁿ: the exact bound
        # μ ≥ (α/2)^(1/n) (and μ ≤ 1 − (α/2)^(1/n) when all are 0), as Clopper–Pearson gives for k = n.
        est = float(per[0])
        b = float((0.5 - confidence_level / 2) ** (1 / len(per)))
        lo, hi = (b, 1.0) if est == 1.0 else (0.0, 1 - b)
        ci = ConfidenceInterval(lo, hi, confidence_level, "exact bound at the boundary (Markov)")
    else:
        est, _se, (lo, hi), _p, _df = paired_mean_interval(per, confidence_level=confidence_level)
        ci = ConfidenceInterval(max(0.0, lo), min(1.0, hi), confidence_level, "t over problems")
    return Estimate(f"pass@{k}", float(est), ci, None, len(per), RunInfo("pass_at_k", {"k": int(k)}))


@validate_params({"confidence_level": [LEVEL], "min_size": [Interval(Integral, 1, None, closed="left")]})
def worst_group_accuracy(correct: Sequence[float] | np.ndarray, group: Sequence[Any], *,
                         confidence_level: float = 0.95, min_size: int = 1) -> tuple[Estimate, pl.DataFrame]:
    """The lowest group accuracy, with a simultaneous (Bonferroni) Wilson interval, and the table of groups.

    >>> est, table = worst_group_accuracy([1, 1, 0, 1, 0, 0], ["a", "a", "a", "b", "b", "b"])
    >>> round(est.estimate, 3), table["group"][0]
    (0.333, 'b')
    """
    from metaeval.stats.intervals import proportion_interval

    y = np.asarray(correct, dtype=float)
    g = np.asarray(group, dtype=object)
    if y.shape != g.shape or y.ndim != 1:
        raise MetaevalError("`correct` and `group` must be 1-d and of one length")
    if not np.isin(y, (0.0, 1.0)).all():
        raise MetaevalError("`correct` must be 0 or 1")
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
    """Kendall's τ between model size and score (:func:`~metaeval.stats.monotonicity`, with its
    interval), and the adjacent pairs in size order whose score goes down (candidates for a
    broken scaling trend).

    >>> est, drops = monotone_in_size([1, 2, 4, 8, 16, 32], [10, 12, 11, 15, 18, 20])
    >>> round(est.estimate, 3), drops.height
    (0.867, 1)
    """
    from metaeval.stats.variance import monotonicity

    s, v = np.asarray(size, float), np.asarray(score, float)
    if s.shape != v.shape or s.ndim != 1:
        raise MetaevalError("`size` and `score` must be 1-d and of one length")
    keep = np.isfinite(s) & np.isfinite(v)
    est = monotonicity(s[keep], v[keep], confidence_level=confidence_level)
    labels = list(names) if names is not None else [str(i) for i in range(len(s))]
    if len(labels) != len(s):
        raise MetaevalError("`names` must have one name per model")
    ok = np.isfinite(s) & np.isfinite(v)
    idx = np.flatnonzero(ok)[np.argsort(s[ok], kind="stable")]
    rows = [{"smaller": labels[a], "larger": labels[b], "size_smaller": s[a], "size_larger": s[b],
             "drop": float(v[a] - v[b])} for a, b in itertools.pairwise(idx) if v[b] < v[a]]
    schema = {"smaller": pl.String, "larger": pl.String, "size_smaller": pl.Float64, "size_larger": pl.Float64,
              "drop": pl.Float64}
    return est, pl.DataFrame(rows, schema=schema)
