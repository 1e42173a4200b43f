"""Array kernels for chance-corrected agreement among many raters (Gwet's framework).

Input is a ``units × raters`` float array with ``nan`` for a missing rating. Categories are the
sorted distinct values; ``weights`` is a q × q agreement-weight matrix (identity for nominal
data; linear / quadratic / ordinal / ratio for ordered data). Every coefficient has the form
(pa − pe) / (1 − pe) and comes with Gwet's (2014, Handbook of Inter-Rater Reliability,
ch. 5) linearised variance over units; the formulas follow his irrCAC package, against whose
output ``tests/reference/irrcac_values.py`` checks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from metaeval.errors import InsufficientDataError, MetaevalError, ParameterError

__all__ = ["Coefficient", "agreement_coefficient", "category_counts", "weight_matrix"]

WeightKind = Literal["identity", "linear", "quadratic", "ordinal", "ratio"]


def category_counts(ratings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(counts r_ik: units × categories, categories) from a units × raters array with nan."""
    x = np.asarray(ratings, float)
    if x.ndim != 2:
        raise MetaevalError(f"ratings must be units × raters; got shape {x.shape}")
    if np.all(np.isnan(x)):
        raise InsufficientDataError("there are no ratings")
    lo, hi = np.nanmin(x), np.nanmax(x)
    if hi - lo < 64 and lo == np.round(lo):
        # Few integer codes (the usual case): one comparison pass per code.
        codes = np.arange(lo, hi + 1)
        if x.size >= 1_000_000 and codes.size > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(2) as pool:  # numpy releases the GIL in these passes
                counts = np.stack(list(pool.map(lambda c: np.count_nonzero(x == c, axis=1), codes)), axis=1)
        else:
            counts = np.stack([np.count_nonzero(x == c, axis=1) for c in codes], axis=1)
        if counts.sum() == x.size - np.count_nonzero(np.isnan(x)):
            used = np.flatnonzero(counts.sum(0))
            return counts[:, used].astype(float), codes[used].astype(float)
    ok = ~np.isnan(x)
    vals = x[ok]
    rows = np.broadcast_to(np.arange(x.shape[0])[:, None], x.shape)[ok]
    if hi - lo < 10_000 and np.all(vals == np.round(vals)):
        # Integer codes in a small range: count directly, then keep the categories that occur.
        shifted = (vals - lo).astype(np.int64)
        span = int(hi - lo) + 1
        flat = np.bincount(rows * span + shifted, minlength=x.shape[0] * span).reshape(x.shape[0], span)
        used = np.flatnonzero(flat.sum(0))
        return flat[:, used].astype(float), (lo + used).astype(float)
    cats = np.unique(vals)
    idx = np.searchsorted(cats, vals)
    flat = np.bincount(rows * cats.size + idx, minlength=x.shape[0] * cats.size)
    return flat.reshape(x.shape[0], cats.size).astype(float), cats


def weight_matrix(categories: np.ndarray, kind: WeightKind | np.ndarray = "identity",
                  marginals: np.ndarray | None = None) -> np.ndarray:
    """Agreement weights between categories: 1 on the diagonal, decreasing with distance.

    ``linear``: 1 − |k − l| / (max − min); ``quadratic``: 1 − (k − l)² / (max − min)²;
    ``ordinal`` and ``ratio`` are 1 − δ² / max δ² with Krippendorff's metrics (ordinal uses the
    category ``marginals``).
    """
    if isinstance(kind, np.ndarray):
        w = np.asarray(kind, float)
        if w.shape != (categories.size,) * 2:
            raise ParameterError(f"`weights` must be {categories.size} x {categories.size}")
        return w
    c = np.asarray(categories, float)
    q = c.size
    if kind == "identity" or q == 1:
        return np.eye(q)
    span = c.max() - c.min()
    diff = c[:, None] - c[None, :]
    if kind == "linear":
        return 1 - np.abs(diff) / span
    if kind == "quadratic":
        return 1 - diff**2 / span**2
    if kind == "ordinal":
        if marginals is None:
            raise MetaevalError("ordinal weights need the category marginals")
        cum = np.concatenate([[0.0], np.cumsum(marginals)])
        i, j = np.meshgrid(np.arange(q), np.arange(q), indexing="ij")
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        d2 = (cum[hi + 1] - cum[lo] - (marginals[lo] + marginals[hi]) / 2) ** 2
        return 1 - d2 / d2.max()
    if kind == "ratio":
        with np.errstate(invalid="ignore", divide="ignore"):
            d2 = np.where(c[:, None] + c[None, :] == 0, 0.0, (diff / (c[:, None] + c[None, :])) ** 2)
        return 1 - d2 / d2.max() if d2.max() > 0 else np.ones((q, q))
    raise MetaevalError(f"unknown weights {kind!r}: identity, linear, quadratic, ordinal or ratio")


@dataclass(frozen=True)
class Coefficient:
    """A coefficient, its standard error, observed and chance agreement, units used."""

    value: float
    se: float
    pa: float
    pe: float
    n_units: int
    unit_terms: np.ndarray  # linearised per-unit contributions (for clustered variances)


def agreement_coefficient(
    ratings: np.ndarray,
    method: Literal["fleiss", "gwet", "bp", "krippendorff", "percent"],
    *,
    weights: WeightKind | np.ndarray = "identity",
    categories: np.ndarray | None = None,
) -> Coefficient:
    """Fleiss' κ (Scott's π for two raters), Gwet's AC1 / AC2, Brennan–Prediger, Krippendorff's α
    (Gwet's formulation) or plain percent agreement, with Gwet's standard error.

    >>> x = np.array([[1, 1, 1], [2, 2, 1], [1, 1, 1], [2, 2, 2.]])
    >>> round(agreement_coefficient(x, "fleiss").value, 4)
    0.6571
    """
    counts, cats = category_counts(ratings)
    if categories is not None:
        full = np.asarray(categories, float)
        missing = np.setdiff1d(cats, full)
        if missing.size:
            raise MetaevalError(f"ratings {missing.tolist()} are not among the `categories`")
        expanded = np.zeros((counts.shape[0], full.size))
        expanded[:, np.searchsorted(full, cats)] = counts
        counts, cats = expanded, full
    ri = counts.sum(1)
    keep = ri > 0
    counts, ri = counts[keep], ri[keep]
    n, q = counts.shape
    if method == "krippendorff":
        counts, ri = counts[ri >= 2], ri[ri >= 2]
        n = counts.shape[0]
    w = weight_matrix(cats, weights, marginals=counts.sum(0)) if not isinstance(weights, np.ndarray) else weights
    w = weight_matrix(cats, w)
    two = ri >= 2
    n2 = int(two.sum())
    if n2 == 0:
        raise InsufficientDataError("no unit has two or more ratings: agreement cannot be estimated")
    cw = counts @ w.T  # r*_ik = Σ_l w_kl r_il
    sum_q = np.sum(counts * (cw - 1), axis=1)
    if method == "krippendorff":
        rbar = ri.mean()
        eps = 1.0 / ri.sum()
        pa_prime = np.sum(sum_q / (rbar * (ri - 1))) / n
        pa = (1 - eps) * pa_prime + eps
        pi = (counts / rbar).mean(0)
        pe = float(pi @ w @ pi)
        value = (pa - pe) / (1 - pe)
        value_prime = (pa_prime - pe) / (1 - pe)
        pa_i = sum_q / (rbar * (ri - 1)) - pa * (ri - rbar) / rbar
        k_i = (pa_i - pe) / (1 - pe)
        piw = (w @ pi + w.T @ pi) / 2
        pe_i = counts @ piw / rbar - pe * (ri - rbar) / rbar
        terms = k_i - 2 * (1 - value_prime) * (pe_i - pe) / (1 - pe)
        var = np.sum((terms - value_prime) ** 2) / (n * (n - 1))
        return Coefficient(float(value), float(np.sqrt(var)), float(pa), pe, n, terms)
    den = np.where(two, ri * (ri - 1), -1.0)
    pa_i = np.where(two, sum_q / den, 0.0)
    pa = float(pa_i[two].mean())
    pi = (counts / ri[:, None]).mean(0)
    if method == "percent":
        pe = 0.0
    elif method == "fleiss":
        pe = float(pi @ w @ pi)
    elif method == "gwet":
        pe = float(w.sum() * np.sum(pi * (1 - pi)) / (q * (q - 1))) if q > 1 else 0.0
    elif method == "bp":
        pe = float(w.sum() / q**2)
    else:
        raise ParameterError(f"unknown method {method!r}")
    if pe >= 1:
        raise InsufficientDataError("chance agreement is 1 (every rating is the same category): "
                                    "the coefficient is undefined")
    value = (pa - pe) / (1 - pe)
    k_i = (n / n2) * (pa_i - pe * two) / (1 - pe)
    if method == "fleiss":
        piw = (w @ pi + w.T @ pi) / 2
        pe_i = counts @ piw / ri
        terms = k_i - 2 * (1 - value) * (pe_i - pe) / (1 - pe)
    elif method == "gwet":
        pe_i = (w.sum() / (q * (q - 1))) * (counts @ (1 - pi)) / ri if q > 1 else np.zeros(n)
        terms = k_i - 2 * (1 - value) * (pe_i - pe) / (1 - pe)
    else:
        terms = k_i
    var = np.sum((terms - value) ** 2) / (n * (n - 1)) if n > 1 else np.nan
    return Coefficient(float(value), float(np.sqrt(var)), pa, pe, n, terms)
