"""Scores for probabilistic outputs: calibration error, Brier score and its decomposition,
selective accuracy.

For a judge's graded preferences (``p_a`` against the reference's verdicts) and for a model's
confidence on per-item results (confidence against correct / wrong). Everything takes arrays:
``p`` (predicted probabilities of the event) and ``y`` (the outcome, 0/1, or ½ for a tie).

- :func:`calibration_error`: the binned expected calibration error — ``norm="l2"`` with the
  debiased estimator of Kumar, Liang & Ma (2019) (the plug-in's upward bias, the within-bin
  variance of the outcomes, removed), ``norm="l1"`` the usual plug-in ECE — with a percentile
  bootstrap interval over items (or clusters);
- :func:`brier`: the Brier score with a t interval (cluster-robust with ``cluster=``) and
  Murphy's (1973) decomposition, reliability − resolution + uncertainty, over the same bins;
- :func:`selective_accuracy`: accuracy when only the most confident share of items is kept,
  for every share (the risk–coverage curve), with Wilson intervals, and its area.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral
from typing import Any, Literal

import numpy as np
import polars as pl

from metaeval._random import as_generator
from metaeval._validate import LEVEL, N_RESAMPLES, Interval, Options, validate_params
from metaeval.errors import InsufficientDataError, ParameterError
from metaeval.results import ConfidenceInterval, Estimate, Result, RunInfo
from metaeval.stats.intervals import proportion_interval
from metaeval.stats.paired import paired_mean_interval
from metaeval.stats.resampling import DEFAULT_N_RESAMPLES, percentile_interval, resample_indices

__all__ = ["BrierScore", "brier", "calibration_error", "selective_accuracy"]


def _inputs(p: Any, y: Any, cluster: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    if p.ndim != 1 or p.shape != y.shape:
        raise ParameterError(f"`p` and `y` must be 1-d and of one length; got {p.shape} and {y.shape}")
    if len(p) < 2:
        raise InsufficientDataError(f"needs at least 2 predictions; got {len(p)}")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        i = int(np.flatnonzero(~np.isfinite(p) | (p < 0) | (p > 1))[0])
        raise ParameterError(f"`p` must lie in [0, 1]; got {float(p[i])!r} at position {i}")
    if not np.isin(y, (0.0, 0.5, 1.0)).all():
        i = int(np.flatnonzero(~np.isin(y, (0.0, 0.5, 1.0)))[0])
        raise ParameterError(f"`y` must be 0, 1 or ½ (a tie); got {float(y[i])!r} at position {i}")
    cl = None
    if cluster is not None:
        cl = np.unique(np.asarray(cluster), return_inverse=True)[1]
        if cl.shape != p.shape:
            raise ParameterError("`cluster` must have one value per prediction")
    return p, y, cl


def _bins(p: np.ndarray, bins: int, strategy: str) -> np.ndarray:
    if strategy == "uniform":
        return np.minimum((p * bins).astype(int), bins - 1)
    order = np.argsort(p, kind="stable")
    out = np.empty(len(p), dtype=int)
    out[order] = np.minimum(np.arange(len(p)) * bins // len(p), bins - 1)
    return out


def _ce(p: np.ndarray, y: np.ndarray, b: np.ndarray, bins: int, norm: str, w: np.ndarray | None = None) -> float:
    w = np.ones(len(p)) if w is None else w
    n_b = np.bincount(b, weights=w, minlength=bins)
    sp = np.bincount(b, weights=w * p, minlength=bins)
    sy = np.bincount(b, weights=w * y, minlength=bins)
    syy = np.bincount(b, weights=w * y * y, minlength=bins)
    ok = n_b > 0
    pm, ym = sp[ok] / n_b[ok], sy[ok] / n_b[ok]
    share = n_b[ok] / n_b.sum()
    if norm == "l1":
        return float(np.sum(share * np.abs(pm - ym)))
    var = np.where(n_b[ok] > 1, (syy[ok] / n_b[ok] - ym**2) * n_b[ok] / np.maximum(n_b[ok] - 1, 1), 0.0)
    sq = np.sum(share * ((pm - ym) ** 2 - var / np.maximum(n_b[ok], 1)))
    return float(np.sign(sq) * math.sqrt(abs(sq)))


@validate_params({
    "bins": [Interval(Integral, 1, None, closed="left")],
    "norm": [Options(str, ("l1", "l2"))],
    "strategy": [Options(str, ("uniform", "quantile"))],
    "n_resamples": [N_RESAMPLES],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
})
def calibration_error(p: Any, y: Any, *, bins: int = 10, norm: Literal["l1", "l2"] = "l2",
                      strategy: Literal["uniform", "quantile"] = "quantile", cluster: Any = None,
                      n_resamples: int = DEFAULT_N_RESAMPLES, confidence_level: float = 0.95, rng: Any = 0) -> Estimate:
    """Binned calibration error with a bootstrap interval.

    ``norm="l2"`` is √(Σ_b w_b (p̄_b − ȳ_b)² − within-bin variance correction) (Kumar et al.
    2019, debiased; it can be slightly negative for a calibrated predictor and is then reported
    as a negative root — 0 is inside the interval); ``norm="l1"`` is the plug-in ECE
    Σ_b w_b |p̄_b − ȳ_b|, which is biased upward at small bins. ``strategy="quantile"`` makes
    bins of equal counts. The interval resamples items (or ``cluster`` values) with replacement and
    recomputes the estimate with the same binning rule.

    Parameters
    ----------
    p : array-like
        Predicted probabilities of the positive outcome (in [0, 1]).
    y : array-like
        Outcomes, 0 or 1 (or a fraction, e.g. ½ for a tie).
    bins : int, default 10
        Number of bins.
    norm : {"l2", "l1"}, default "l2"
        The debiased L2 calibration error, or the plug-in L1 ECE.
    strategy : {"quantile", "uniform"}, default "quantile"
        Bins of equal counts, or of equal width on [0, 1].
    cluster : array-like, optional
        A cluster label per item, for a cluster-robust interval. Default: independent items.
    n_resamples : int, default 1000
        Bootstrap resamples. Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the interval.
    rng : int, numpy.random.Generator or None, default 0
        Seed for the bootstrap.

    Returns
    -------
    Estimate
        ``estimate`` (the calibration error, on the probability scale) with its bootstrap ``ci``.

    Notes
    -----
    The error is in probability units: 0.05 means the stated probabilities are off by about five
    points on average (L1) or in root-mean-square (L2). No threshold is standard; compare judges
    on the same items with the same binning, as the plug-in ECE in particular depends on the number
    of bins and of items (Kumar et al. 2019).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=2000); y = (rng.uniform(size=2000) < p).astype(float)
    >>> abs(calibration_error(p, y).estimate) < 0.03
    True
    """
    p, y, cl = _inputs(p, y, cluster)
    if norm not in ("l1", "l2"):
        raise ParameterError(f"`norm` must be 'l1' or 'l2'; got {norm!r}")
    if strategy not in ("uniform", "quantile"):
        raise ParameterError(f"`strategy` must be 'uniform' or 'quantile'; got {strategy!r}")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or not 1 <= bins <= len(p):
        raise ParameterError(f"`bins` must be an integer from 1 to the number of predictions; got {bins!r}")
    if not 0 < confidence_level < 1:
        raise ParameterError(f"`confidence_level` must be in (0, 1); got {confidence_level!r}")
    gen, seed = as_generator(rng)
    b = _bins(p, bins, strategy)
    est = _ce(p, y, b, bins, norm)
    units = cl if cl is not None else np.arange(len(p))
    n_units = int(units.max()) + 1
    draws = np.empty(n_resamples)
    # the binning is redone on each resample: one resample at a time, from blocks of index draws
    for start, idx in resample_indices(n_units, n_resamples, gen, block=max(1, 2**20 // n_units)):
        for r, drawn in enumerate(idx, start):
            w = np.bincount(drawn, minlength=n_units).astype(float)[units]
            keep = w > 0
            bb = _bins(p[keep], bins, strategy) if strategy == "quantile" else b[keep]
            draws[r] = _ce(p[keep], y[keep], bb, bins, norm, w[keep])
    lo, hi = percentile_interval(draws, confidence_level, axis=None, nan_policy="propagate")
    method = f"percentile bootstrap ({'clusters' if cl is not None else 'items'})"
    return Estimate(f"{norm} calibration error", est, ConfidenceInterval(float(lo), float(hi), confidence_level,
                                                                         method), None, len(p),
                    RunInfo("calibration_error", {"bins": bins, "norm": norm, "strategy": strategy,
                                                  "n_resamples": n_resamples}, seed))


@dataclass(frozen=True)
class BrierScore(Result):
    """The Brier score with its interval, and Murphy's decomposition over ``bins`` bins:
    ``reliability − resolution + uncertainty`` (equal to the score up to the within-bin spread
    of ``p``, reported as ``within_bin``)."""

    score: Estimate
    reliability: float
    resolution: float
    uncertainty: float
    within_bin: float
    run_info: RunInfo
    title: str = "Brier score"

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({"quantity": ["brier", "reliability", "resolution", "uncertainty", "within_bin"],
                             "estimate": [self.score.estimate, self.reliability, self.resolution,
                                          self.uncertainty, self.within_bin],
                             "ci_low": [self.score.ci.low, *[float("nan")] * 4],
                             "ci_high": [self.score.ci.high, *[float("nan")] * 4]})


@validate_params({"bins": [Interval(Integral, 1, None, closed="left")], "confidence_level": [LEVEL]})
def brier(p: Any, y: Any, *, bins: int = 10, cluster: Any = None, confidence_level: float = 0.95) -> BrierScore:
    """Brier score (mean squared error of the probabilities) and its decomposition.

    Parameters
    ----------
    p : array-like
        Predicted probabilities of the positive outcome (in [0, 1]).
    y : array-like
        Outcomes, 0 or 1 (or a fraction, e.g. ½ for a tie).
    bins : int, default 10
        Bins of ``p`` for Murphy's decomposition.
    cluster : array-like, optional
        A cluster label per item, for a cluster-robust interval. Default: independent items.
    confidence_level : float, default 0.95
        Coverage of the t interval of the score.

    Returns
    -------
    BrierScore
        ``score`` (an :class:`~metaeval.Estimate` with its t interval, cluster-robust with
        ``cluster``), and Murphy's ``reliability``, ``resolution``, ``uncertainty`` and
        ``within_bin``.

    Notes
    -----
    Lower is better; 0.25 is what a constant prediction of ½ scores on balanced outcomes, and the
    ``uncertainty`` term is the score of always predicting the base rate. Reliability (lower is
    better) is the calibration part, resolution (higher is better) the discrimination part
    (Murphy 1973).

    Examples
    --------
    >>> b = brier([0.9, 0.8, 0.3, 0.2], [1, 1, 0, 1])
    >>> round(b.score.estimate, 4)
    0.195
    """

    p, y, cl = _inputs(p, y, cluster)
    if not 0 < confidence_level < 1:
        raise ParameterError(f"`confidence_level` must be in (0, 1); got {confidence_level!r}")
    sq = (p - y) ** 2
    mean, _se, (lo, hi), _pv, _df = paired_mean_interval(sq, cluster=cl, confidence_level=confidence_level)
    b = _bins(p, bins, "uniform")
    n_b = np.bincount(b, minlength=bins)
    ok = n_b > 0
    pm = np.bincount(b, weights=p, minlength=bins)[ok] / n_b[ok]
    ym = np.bincount(b, weights=y, minlength=bins)[ok] / n_b[ok]
    share = n_b[ok] / len(p)
    ybar = y.mean()
    rel = float(np.sum(share * (pm - ym) ** 2))
    res = float(np.sum(share * (ym - ybar) ** 2))
    unc = float(np.mean((y - ybar) ** 2))
    within = float(mean - (rel - res + unc))
    est = Estimate("Brier score", float(mean), ConfidenceInterval(lo, hi, confidence_level,
                                                                  "t (cluster-robust)" if cl is not None else "t"),
                   None, len(p), RunInfo("brier", {"bins": bins}))
    return BrierScore(est, rel, res, unc, within, RunInfo("brier", {"bins": bins}, n_items=len(p)))


@validate_params({"confidence_level": [LEVEL], "points": [Interval(Integral, 1, None, closed="left")]})
def selective_accuracy(confidence: Any, correct: Any, *, confidence_level: float = 0.95,
                       points: int = 20) -> tuple[pl.DataFrame, float]:
    """Accuracy on the most confident share of items, with Wilson intervals, and the area under the curve.

    Shares run from 1/points to 1; the area under the accuracy–coverage curve uses every share.

    Parameters
    ----------
    confidence : array-like
        The confidence of each answer (higher = more confident).
    correct : array-like
        1 where the answer is right, 0 where it is wrong.
    confidence_level : float, default 0.95
        Coverage of the Wilson intervals.
    points : int, default 20
        Number of coverage levels in the table.

    Returns
    -------
    tuple of (polars.DataFrame, float)
        The table (``coverage``, ``n``, ``accuracy``, ``ci_low``, ``ci_high``) and the area under
        the accuracy–coverage curve.

    Examples
    --------
    >>> table, area = selective_accuracy([0.9, 0.8, 0.6, 0.55], [1, 1, 0, 1], points=4)
    >>> table["accuracy"].to_list()
    [1.0, 1.0, 0.6666666666666666, 0.75]
    """

    c, ok, _ = _inputs(confidence, correct)
    if not np.isin(ok, (0.0, 1.0)).all():
        raise ParameterError("`correct` must be 0 or 1")
    order = np.argsort(-c, kind="stable")
    hits = np.cumsum(ok[order])
    n = len(c)
    acc_all = hits / np.arange(1, n + 1)
    rows = []
    for k in range(1, points + 1):
        m = max(1, round(n * k / points))
        lo, hi = proportion_interval(hits[m - 1], m, confidence_level=confidence_level)
        rows.append({"coverage": m / n, "n": m, "accuracy": float(hits[m - 1] / m), "ci_low": float(lo),
                     "ci_high": float(hi)})
    return pl.DataFrame(rows), float(acc_all.mean())
