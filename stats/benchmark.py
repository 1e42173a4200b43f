"""Leaderboard-audit estimators: unbiased pass@k, worst-group accuracy, monotone scaling, accuracy on the line.

- :func:`pass_at_k`: the unbiased estimator of Chen et al. (2021), 1 − C(n − c, k) / C(n, k)
  per problem (n samples, c correct), averaged over problems, with a t interval over problems
  (the problems are the sampling units; the estimator is unbiased per problem);
- :func:`worst_group_accuracy`: the accuracy of the worst group, with a simultaneous interval
  (Bonferroni over the groups, Wilson per group) and the group's identity;
- :func:`monotone_in_size`: do scores rise with model size? Kendall's τ between size and score
  with its Fieller interval, and every adjacent pair that goes down;
- :func:`accuracy_on_the_line`: out-of-distribution against in-distribution accuracy across models,
  a straight line in probit space (Miller et al. 2021, "Accuracy on the Line"), with t intervals
  for its slope and intercept, a confidence band for the line and a prediction band for a new
  model, and each model's distance from the line (its effective robustness).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
import polars as pl

from metaeval._validate import LEVEL, Interval, validate_params
from metaeval.errors import EstimationWarning, InsufficientDataError, MetaevalError, ParameterError, warn
from metaeval.results import ConfidenceInterval, Estimate, Result, RunInfo
from metaeval.stats.intervals import proportion_interval
from metaeval.stats.paired import paired_mean_interval
from metaeval.stats.variance import monotonicity

__all__ = ["LineFit", "accuracy_on_the_line", "monotone_in_size", "pass_at_k", "worst_group_accuracy"]


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
    >>> round(pass_at_k([10] * 120, [6] * 120, k=5).ci.low, 4)  # every problem solved: (0.025)^(1/120)
    0.9697
    """

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


@dataclass(frozen=True)
class LineFit(Result):
    """The probit-space line of out- against in-distribution accuracy, its bands, and the models."""

    slope: Estimate
    intercept: Estimate
    r_squared: float
    models: pl.DataFrame
    band: pl.DataFrame
    run_info: RunInfo
    title: str = "accuracy on the line"

    def to_polars(self) -> pl.DataFrame:
        return self.models

    def chart(self) -> Any:
        import altair as alt

        band = alt.Chart(self.band.to_pandas())
        pred = band.mark_area(opacity=0.15, color="grey").encode(
            x=alt.X("id_accuracy:Q", title="in-distribution accuracy"), y="prediction_low:Q", y2="prediction_high:Q")
        conf = band.mark_area(opacity=0.35, color="steelblue").encode(x="id_accuracy:Q", y="line_low:Q",
                                                                       y2="line_high:Q")
        line = band.mark_line(color="steelblue").encode(
            x="id_accuracy:Q", y=alt.Y("line:Q", title="out-of-distribution accuracy"))
        pts = alt.Chart(self.models.to_pandas()).mark_point(filled=True, color="black").encode(
            x="id_accuracy:Q", y="ood_accuracy:Q", tooltip=["model", "id_accuracy", "ood_accuracy",
                                                            "effective_robustness"])
        return alt.layer(pred, conf, line, pts).properties(width=360, height=300)


@validate_params({"confidence_level": [LEVEL]})
def accuracy_on_the_line(id_accuracy: Sequence[float] | np.ndarray, ood_accuracy: Sequence[float] | np.ndarray,
                         names: Sequence[str] | None = None, *, confidence_level: float = 0.95) -> LineFit:
    """Fit Φ⁻¹(ood) = a + b Φ⁻¹(id) across models by least squares (Miller et al. 2021).

    ``slope`` and ``intercept`` carry t intervals (n − 2 degrees of freedom); ``band`` holds, on
    a grid of in-distribution accuracies, the line with its confidence band (where the mean
    out-of-distribution accuracy lies) and the prediction band (where a new model on the same
    line falls), mapped back from probit space; ``models`` holds each model's effective
    robustness, its out-of-distribution accuracy minus the line's prediction. Accuracies of
    exactly 0 or 1 have no probit and are left out with a warning naming the models.

    Parameters
    ----------
    id_accuracy : sequence of float
        Each model's in-distribution accuracy, in [0, 1].
    ood_accuracy : sequence of float
        Each model's out-of-distribution accuracy, in the same order.
    names : sequence of str, optional
        The models' names. Default: their positions, ``"0"``, ``"1"``, ….
    confidence_level : float, default 0.95
        Coverage of the t intervals of the slope and intercept, and of both bands.

    Returns
    -------
    LineFit
        ``slope`` and ``intercept`` (each an :class:`~metaeval.results.Estimate` with its
        interval), ``r_squared``, ``models`` (``id_accuracy``, ``ood_accuracy``,
        ``predicted_ood`` and ``effective_robustness`` per model) and ``band`` (the line with
        its confidence and prediction bands on a grid).

    Notes
    -----
    A model above the line (positive effective robustness) is more robust than its
    in-distribution accuracy predicts; compare the effective robustness with the prediction
    band, not with 0, before calling it so. The line is a fit across the models given: it
    describes them, and extrapolating it past their accuracies is a guess.

    Examples
    --------
    >>> fit = accuracy_on_the_line([0.6, 0.7, 0.8, 0.9, 0.95], [0.4, 0.5, 0.62, 0.75, 0.84])
    >>> round(fit.slope.estimate, 3), round(fit.r_squared, 4)
    (0.894, 0.9993)
    >>> [round(v, 4) for v in fit.slope.ci]  # statsmodels OLS on the probits: 0.8517, 0.9356
    [0.8517, 0.9356]
    """
    from scipy import stats as st

    x_acc, y_acc = np.asarray(id_accuracy, float), np.asarray(ood_accuracy, float)
    if x_acc.shape != y_acc.shape or x_acc.ndim != 1:
        raise ParameterError("`id_accuracy` and `ood_accuracy` must be 1-d and of one length (one entry per model)")
    labels = [str(n) for n in names] if names is not None else [str(i) for i in range(len(x_acc))]
    if len(labels) != len(x_acc):
        raise ParameterError("`names` must have one name per model")
    finite = np.isfinite(x_acc) & np.isfinite(y_acc)
    if np.any(finite & ((x_acc < 0) | (x_acc > 1) | (y_acc < 0) | (y_acc > 1))):
        raise MetaevalError("accuracies must lie in [0, 1]")
    inside = finite & (x_acc > 0) & (x_acc < 1) & (y_acc > 0) & (y_acc < 1)
    edge = [labels[i] for i in np.flatnonzero(finite & ~inside)]
    if edge:
        warn(f"accuracy of exactly 0 or 1 has no probit: left out {', '.join(edge[:5])}"
             + (f" and {len(edge) - 5} more" if len(edge) > 5 else ""), EstimationWarning)
    n = int(inside.sum())
    if n < 3:
        raise InsufficientDataError(f"a line through models needs at least 3 with both accuracies in (0, 1); got {n}")
    x, y = st.norm.ppf(x_acc[inside]), st.norm.ppf(y_acc[inside])
    xm = x.mean()
    sxx = float(np.sum((x - xm) ** 2))
    if sxx == 0:
        raise InsufficientDataError("every model has the same in-distribution accuracy: no line can be fitted")
    b = float(np.sum((x - xm) * (y - y.mean())) / sxx)
    a = float(y.mean() - b * xm)
    resid = y - a - b * x
    df = n - 2
    s2 = float(np.sum(resid**2) / df) if df > 0 else float("nan")
    t = float(st.t.ppf(0.5 + confidence_level / 2, df)) if df > 0 else float("nan")
    se_b = float(np.sqrt(s2 / sxx))
    se_a = float(np.sqrt(s2 * (1 / n + xm**2 / sxx)))
    syy = float(np.sum((y - y.mean()) ** 2))
    r2 = 1 - float(np.sum(resid**2)) / syy if syy > 0 else float("nan")
    run = RunInfo("accuracy_on_the_line", {"confidence_level": confidence_level}, None, None, n)
    slope = Estimate("slope (probit)", b, ConfidenceInterval(b - t * se_b, b + t * se_b, confidence_level,
                                                             f"t, {df} df"), None, n, run)
    intercept = Estimate("intercept (probit)", a, ConfidenceInterval(a - t * se_a, a + t * se_a, confidence_level,
                                                                     f"t, {df} df"), None, n, run)
    lo_x, hi_x = float(x.min()), float(x.max())
    grid = np.linspace(lo_x, hi_x, 50)
    fit = a + b * grid
    half_line = t * np.sqrt(s2 * (1 / n + (grid - xm) ** 2 / sxx))
    half_pred = t * np.sqrt(s2 * (1 + 1 / n + (grid - xm) ** 2 / sxx))
    phi = st.norm.cdf
    band = pl.DataFrame({"id_accuracy": phi(grid), "line": phi(fit), "line_low": phi(fit - half_line),
                         "line_high": phi(fit + half_line), "prediction_low": phi(fit - half_pred),
                         "prediction_high": phi(fit + half_pred)})
    idx = np.flatnonzero(inside)
    models = pl.DataFrame({"model": [labels[i] for i in idx], "id_accuracy": x_acc[inside],
                           "ood_accuracy": y_acc[inside], "predicted_ood": phi(a + b * x),
                           "effective_robustness": y_acc[inside] - phi(a + b * x)})
    return LineFit(slope, intercept, r2, models, band, run)
