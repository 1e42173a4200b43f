"""Consistency and calibration: the judge against itself, and its scores mapped onto the reference's.

:func:`self_consistency` measures how a judge agrees with itself over repeats (``rep``) —
Fleiss' κ with the repeats as raters, the share of units whose verdict changes between
repeats, and for numeric scores Kendall's W — the noise floor every other probe is read
against. :func:`calibration` fits a post-hoc regression from a judge's scores (and any numeric
features) to the reference's scores ("Quantitative LLM Judges", Sahoo et al. 2025),
cross-validated by item, and reports the gain in squared error and in agreement
(Krippendorff's interval α) with paired bootstrap intervals over items.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
import polars as pl

from metaeval._random import as_generator
from metaeval._validate import LEVEL, N_RESAMPLES, Interval, validate_params
from metaeval.agreement import fleiss_kappa
from metaeval.agreement.api import rating_matrix
from metaeval.agreement.kernels import kendalls_w
from metaeval.agreement.krippendorff import interval_alpha_two
from metaeval.bias._common import BiasProbe, finish, fmt, run_info
from metaeval.errors import InsufficientDataError, MetaevalError, ParameterError, SmallSampleWarning, warn
from metaeval.results import ConfidenceInterval
from metaeval.stats.resampling import DEFAULT_N_RESAMPLES, cluster_weights, percentile_interval
from metaeval.tables import Judgments, as_judgments, reference_members

__all__ = ["calibration", "self_consistency"]

#: Below this many items the calibration probe warns: in the null-calibration study
#: (:mod:`metaeval.bias.study`) its bootstrap over 12 items covers 97 % and rejects 2.4 %.
CALIBRATION_SMALL_ITEMS = 20


@validate_params({"n_resamples": [N_RESAMPLES], "confidence_level": [LEVEL], "rng": ["rng"]})
def self_consistency(
    judgments: Judgments,
    *,
    judges: Sequence[str] | None = None,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    rng: Any = None,
) -> BiasProbe:
    """Agreement of each judge with itself over repeats.

    Parameters
    ----------
    judgments : Judgments
        Verdicts or scores with a ``rep`` column: the same judge on the same unit several times.
    judges : sequence of str, optional
        The judges to assess. Default: every judge with repeats.
    n_resamples : int, default 1000
        Bootstrap resamples over items for the interval of κ.
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the intervals.
    rng : int, numpy.random.Generator or None
        Seed for the bootstrap.

    Returns
    -------
    BiasProbe
        Per judge: ``estimate`` = Fleiss' κ over the repeats (bootstrap interval over items;
        p-value of κ = 0 where every unit has the same number of repeats), ``flip_rate`` (units
        whose verdict is not the same in every repeat), ``n_reps``, and ``kendall_w`` for numeric
        pointwise scores.

    Notes
    -----
    κ is read on the Landis & Koch (1977) scale (0.61–0.80 substantial, above 0.80 almost perfect;
    arbitrary divisions by the authors' own account, see :func:`metaeval.agreement.cohen_kappa`). A
    judge's agreement with itself bounds its agreement with anyone else: a judge that flips a fifth
    of its verdicts when asked again cannot agree with humans on more than four fifths of them. The
    ``flip_rate`` is often the easier number to act on.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import bias
    >>> sim = metaeval.simulate.pairwise(n_models=3, n_items=40, judges=("judge-x",), n_reps=3, rng=0)
    >>> res = bias.self_consistency(sim.judgments, n_resamples=200, rng=1)
    >>> res.table["n_reps"][0], bool(0 < res.table["estimate"][0] <= 1)
    (3, True)
    """
    judgments = as_judgments(judgments)

    f = judgments.frame
    if "rep" not in f.columns or f["rep"].n_unique() < 2:
        raise MetaevalError("the consistency probe needs repeated verdicts: column `rep` with at least two distinct "
                            "values (the same judge on the same item and outputs again)")
    gen, seed = as_generator(rng)
    chosen = list(judges) if judges is not None else list(judgments.judges)
    rows: list[dict[str, Any]] = []
    for name in chosen:
        sub = f.filter(pl.col("judge") == name)
        reps = sub["rep"].n_unique()
        if reps < 2:
            continue
        sub = sub.with_columns(pl.concat_str([pl.lit("rep:"), pl.col("rep").cast(pl.String)]).alias("judge")) \
            .drop("rep")
        tab = Judgments(sub.drop("extra") if "extra" in sub.columns else sub, kind=judgments.kind)
        kappa = fleiss_kappa(tab, n_resamples=n_resamples, confidence_level=confidence_level, rng=gen)

        rm = rating_matrix(tab)
        vals = rm.values
        rated = np.sum(~np.isnan(vals), axis=1)
        multi = vals[rated >= 2]
        lo_v = np.nanmin(multi, axis=1)
        hi_v = np.nanmax(multi, axis=1)
        flip = float(np.mean(lo_v != hi_v)) if len(multi) else float("nan")
        w = float("nan")
        if rm.numeric:
            complete = vals[np.all(~np.isnan(vals), axis=1)]
            if complete.shape[0] >= 2:
                w = kendalls_w(complete.T)
        p = kappa.details.get("pvalue_h0", float("nan"))
        est = kappa.estimate
        finding = (f"{name}: agrees with itself over {reps} repeats at κ = {fmt(est)} [{fmt(kappa.ci.low)}, "
                   f"{fmt(kappa.ci.high)}]; {flip:.0%} of units change verdict between repeats — the noise floor "
                   "for the other probes")
        rows.append({"judge": name, "effect": "Fleiss' kappa over repeats", "estimate": est, "ci_low": kappa.ci.low,
                     "ci_high": kappa.ci.high, "pvalue": p, "n": len(multi), "finding": finding,
                     "flip_rate": flip, "n_reps": reps, "kendall_w": w})
    if not rows:
        raise InsufficientDataError("no judge has verdicts in two or more repeats")
    run = run_info("self_consistency", {"n_resamples": n_resamples}, seed, judgments)
    return finish("consistency", "Fleiss' kappa over repeats", 0.0, rows, ["judge"], confidence_level, run)


@validate_params({
    "folds": [Interval(Integral, 2, None, closed="left")],
    "n_resamples": [N_RESAMPLES],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
})
def calibration(
    judgments: Judgments,
    judge: str,
    reference: str = "human",
    *,
    features: Sequence[str] = (),
    folds: int = 5,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    rng: Any = None,
) -> BiasProbe:
    """Cross-validated post-hoc calibration of ``judge``'s scores to the ``reference``'s.

    Each unit (item × model) gets the judge's mean score and the reference's mean score (a
    judge name, or a prefix such as ``"human"`` whose judges are averaged). A linear regression
    of the reference score on the judge's score and the numeric ``features`` (columns of the
    table, e.g. ``length``) is fitted on ``folds − 1`` folds of items and predicts the held-out
    fold. Compared with the raw judge score: ``estimate`` = reduction in mean squared error
    (raw − calibrated, in reference units²) and ``alpha_gain`` = the gain in Krippendorff's
    interval α with the reference, both with bootstrap intervals over items that refit the
    calibration in every resample (so they carry its fitting noise; the p-value is the
    two-sided share of bootstrap gains beyond 0).

    Parameters
    ----------
    judgments : Judgments
        Pointwise numeric scores of the judge and of the reference.
    judge : str
        The judge to calibrate.
    reference : str, default "human"
        The reference judge, or a prefix whose judges' scores are averaged.
    features : sequence of str, default ()
        Numeric columns used beside the judge's score in the calibration (e.g. ``"length"``).
        Default: the judge's score alone.
    folds : int, default 5
        Cross-validation folds of items.
    n_resamples : int, default 1000
        Bootstrap resamples over items (each refits the calibration).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the intervals.
    rng : int, numpy.random.Generator or None
        Seed for the folds and the bootstrap.

    Returns
    -------
    BiasProbe
        One row: ``estimate`` (the MSE reduction) with interval and p-value, ``n`` (units),
        ``mse_raw``, ``mse_calibrated``, ``alpha_raw``, ``alpha_calibrated``, ``alpha_gain`` with
        ``alpha_gain_ci_low`` / ``alpha_gain_ci_high``, and ``folds``; ``details["coefficients"]``:
        the calibration fitted on all units.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import bias
    >>> sim = metaeval.simulate.pointwise(n_models=4, n_items=80, judges=("judge-x",), n_humans=2,
    ...                                   length_bias=0.8, rng=0)
    >>> res = bias.calibration(sim.judgments, "judge-x", features=["length"], n_resamples=200, rng=1)
    >>> res.table["folds"][0], bool(res.table["mse_calibrated"][0] < res.table["mse_raw"][0])
    (5, True)
    """
    judgments = as_judgments(judgments)
    if judgments.kind != "pointwise" or "score" not in judgments.frame.columns:
        raise MetaevalError("the calibration probe needs pointwise numeric `score` values by the judge and the "
                            "reference")
    if judge not in judgments.judges:
        raise MetaevalError(f"unknown judge {judge!r}; the table has {', '.join(judgments.judges)}")
    if folds < 2:
        raise ParameterError(f"`folds` must be at least 2; got {folds}")
    f = judgments.frame
    members = [j for j in reference_members(judgments.judges, reference) if j != judge]
    if not members:
        raise MetaevalError(f"the reference {reference!r} is the judge {judge!r} itself")
    bad = [c for c in features if c not in f.columns]
    if bad:
        raise MetaevalError(f"feature column `{bad[0]}` is not in the table")
    gen, seed = as_generator(rng)
    unit = ["item", "model"]
    mine = f.filter(pl.col("judge") == judge).group_by(unit, maintain_order=True).agg(
        pl.col("score").mean().alias("raw"), *[pl.col(c).cast(pl.Float64).mean() for c in features])
    ref = (f.filter(pl.col("judge").is_in(members)).group_by(unit, maintain_order=True)
           .agg(pl.col("score").mean().alias("ref")))
    data = mine.join(ref, on=unit, maintain_order="left").drop_nulls().sort(unit)
    if data.height < 3 * len(features) + 10:
        raise InsufficientDataError(f"only {data.height} outputs were scored by both {judge!r} and {reference!r}; "
                                    "calibration needs more")
    items = data["item"].unique().sort()
    if len(items) < folds:
        raise InsufficientDataError(f"{len(items)} items cannot be split into {folds} folds")
    fold_of_item = dict(zip(items.to_list(), gen.permutation(len(items)) % folds, strict=True))
    fold = np.array([fold_of_item[i] for i in data["item"].to_list()])
    X = np.column_stack([np.ones(data.height), data["raw"].to_numpy(), *[data[c].to_numpy() for c in features]])
    yref = data["ref"].to_numpy()
    raw = data["raw"].to_numpy()
    pred = _out_of_fold(X, yref, fold, folds, np.ones((1, data.height)))[0]
    full_coef, *_ = np.linalg.lstsq(X, yref, rcond=None)
    icode = np.unique(data["item"].to_numpy(), return_inverse=True)[1]
    n_items = int(icode.max()) + 1
    if n_items < CALIBRATION_SMALL_ITEMS:
        warn(f"only {n_items} items: the bootstrap intervals of the calibration gain are rough (conservative) with "
             f"fewer than {CALIBRATION_SMALL_ITEMS}", SmallSampleWarning)
    # The bootstrap refits the calibration in every resample of items (each item keeps its fold),
    # so the intervals carry the fitting noise that the out-of-fold gain has.
    item_w = cluster_weights(n_items, n_resamples, gen).astype(float)
    W = item_w[:, icode]
    pred_b = _out_of_fold(X, yref, fold, folds, W)
    e_raw, e_cal = (raw - yref) ** 2, (pred - yref) ** 2
    n_w = W.sum(1)
    gain_b = (W * (e_raw[None, :] - (pred_b - yref[None, :]) ** 2)).sum(1) / n_w
    a_raw, a_cal = interval_alpha_two(raw, yref), interval_alpha_two(pred, yref)
    alpha_gain_b = _alpha_rows(pred_b, yref, W) - interval_alpha_two(raw, yref, W)
    gain = float(np.mean(e_raw - e_cal))
    lo, hi = percentile_interval(gain_b, confidence_level, axis=None)
    alo, ahi = percentile_interval(alpha_gain_b, confidence_level, axis=None)
    p = float(min(1.0, 2 * min(np.mean(gain_b <= 0), np.mean(gain_b >= 0))))
    finding = (f"{judge}: calibrating to {reference} cuts the squared error from {fmt(float(e_raw.mean()))} to "
               f"{fmt(float(e_cal.mean()))} (gain {fmt(gain)} [{fmt(lo)}, {fmt(hi)}]) and moves interval α from "
               f"{fmt(a_raw)} to {fmt(a_cal)} (out of fold, {folds} folds)")
    if not (lo > 0):
        finding = (f"{judge}: calibration to {reference} brings no reliable gain in squared error ({fmt(gain)} "
                   f"[{fmt(lo)}, {fmt(hi)}]); interval α {fmt(a_raw)} raw, {fmt(a_cal)} calibrated")
    ci_gain = ConfidenceInterval(alo, ahi, confidence_level, "bootstrap (items)")
    row = {"judge": judge, "effect": "reduction in squared error", "estimate": gain, "ci_low": lo, "ci_high": hi,
           "pvalue": p, "n": data.height, "finding": finding, "mse_raw": float(e_raw.mean()),
           "mse_calibrated": float(e_cal.mean()), "alpha_raw": float(a_raw), "alpha_calibrated": float(a_cal),
           "alpha_gain": float(a_cal - a_raw), "alpha_gain_ci_low": ci_gain.low, "alpha_gain_ci_high": ci_gain.high,
           "folds": folds}
    coefs = pl.DataFrame({"term": ["intercept", "judge score", *features], "coefficient": full_coef})
    run = run_info("calibration", {"judge": judge, "reference": reference, "features": list(features),
                                   "folds": folds, "n_resamples": n_resamples}, seed, judgments)
    note = (f"intervals: bootstrap over {n_items} items, refitting the calibration in every resample; p-value: share "
            "of bootstrap gains on the wrong side of 0 (two-sided)")
    return finish("calibration", "reduction in squared error", 0.0, [row], ["judge"], confidence_level, run,
                  {"coefficients": coefs}, [note])


def _out_of_fold(X: np.ndarray, y: np.ndarray, fold: np.ndarray, folds: int, W: np.ndarray) -> np.ndarray:
    """Out-of-fold least-squares predictions of ``y`` from ``X``, one row per weight vector of ``W``
    (resamples × units; a row of ones is the fit itself)."""
    pred = np.zeros(W.shape)
    eye = 1e-10 * np.eye(X.shape[1])
    for k in range(folds):
        tr, te = fold != k, fold == k
        xtwx = np.einsum("bn,ni,nj->bij", W[:, tr], X[tr], X[tr]) + eye
        xtwy = np.einsum("bn,ni,n->bi", W[:, tr], X[tr], y[tr])
        coef = np.linalg.solve(xtwx, xtwy[..., None])[..., 0]
        pred[:, te] = coef @ X[te].T
    return pred


def _alpha_rows(a: np.ndarray, b: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Krippendorff's interval α of ``a[r]`` against ``b`` with weights ``W[r]``, for every row r
    (the closed form of :func:`interval_alpha_two`, with a different first rater per row)."""
    N = 2 * W.sum(1)
    mean = ((W * a).sum(1) + W @ b) / N
    ss = (W * a**2).sum(1) + W @ (b**2) - N * mean**2
    d = (W * (a - b[None, :]) ** 2).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1 - (N - 1) * d / (N * ss)
    return np.where(ss > 0, alpha, np.nan)

