"""Krippendorff's α for nominal, ordinal, interval and ratio data, with missing values.

α = 1 − D_o / D_e from the coincidence matrix (Krippendorff 2011, "Computing Krippendorff's
Alpha-Reliability"). Interval α has a closed form from per-unit sums,

    α = 1 − (n − 1) / n · Σ_u m_u SS_u / (m_u − 1) / SS_total,

so continuous scores with thousands of distinct values cost O(ratings), not O(values²); the
item bootstrap uses the same per-unit sufficient statistics (and, for nominal data, per-unit
matched-pair counts), so a thousand resamples cost a few matrix products.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from metaeval._numeric import unit_exponent
from metaeval.agreement.kernels import category_counts
from metaeval.errors import InsufficientDataError, MetaevalError, ParameterError

__all__ = ["alpha_bootstrap", "interval_alpha_two", "krippendorff_alpha_array"]

Level = Literal["nominal", "ordinal", "interval", "ratio"]


def _pairable(ratings: np.ndarray) -> np.ndarray:
    x = np.asarray(ratings, float)
    if x.ndim != 2:
        raise MetaevalError(f"ratings must be units × raters; got shape {x.shape}")
    m = np.sum(~np.isnan(x), axis=1)
    x = x[m >= 2]
    if x.shape[0] == 0:
        raise InsufficientDataError("no unit has two or more ratings: α cannot be estimated")
    # α is the same for values scaled by a power of two (exactly: categories stay distinct), and the
    # interval level squares them: tiny values would underflow to 0 disagreement, huge ones overflow
    e = unit_exponent(x)
    return np.ldexp(x, -e) if e else x


def _interval_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ok = ~np.isnan(x)
    m = ok.sum(1).astype(float)
    v = np.where(ok, x, 0.0)
    s1 = v.sum(1)
    s2 = (v * v).sum(1)
    within = m * (s2 - s1**2 / m) / (m - 1)
    return m, s1, s2, within


def _alpha_interval_from(n: np.ndarray, s1: np.ndarray, s2: np.ndarray, within: np.ndarray) -> np.ndarray:
    """Interval α from the totals (over units) of m_u, Σx, Σx² and m_u SS_u / (m_u − 1)."""
    ss_total = s2 - s1**2 / n
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1 - (n - 1) / n * within / ss_total


def _delta2(cats: np.ndarray, level: Level, nc: np.ndarray) -> np.ndarray:
    c = cats
    if level == "nominal":
        return 1.0 - np.eye(c.size)
    if level == "interval":
        return (c[:, None] - c[None, :]) ** 2
    if level == "ratio":
        s = c[:, None] + c[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(s == 0, 0.0, ((c[:, None] - c[None, :]) / s) ** 2)
    if level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(nc)])
        i, j = np.meshgrid(np.arange(c.size), np.arange(c.size), indexing="ij")
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        return (cum[hi + 1] - cum[lo] - (nc[lo] + nc[hi]) / 2) ** 2
    raise ParameterError(f"`level` must be nominal, ordinal, interval or ratio; got {level!r}")


def krippendorff_alpha_array(ratings: np.ndarray, level: Level = "nominal") -> float:
    """Krippendorff's α of a units × raters array (``nan`` = missing).

    >>> data = np.array([[1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
    ...                  [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
    ...                  [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
    ...                  [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan]]).T
    >>> [round(krippendorff_alpha_array(data, lv), 3) for lv in ("nominal", "ordinal", "interval", "ratio")]
    [0.743, 0.815, 0.849, 0.797]
    """
    x = _pairable(ratings)
    if level == "interval":
        m, s1, s2, within = _interval_stats(x)
        if s2.sum() - s1.sum() ** 2 / m.sum() <= 0:
            raise InsufficientDataError("every pairable value is the same: expected disagreement is 0 and α is "
                                        "undefined")
        return float(_alpha_interval_from(m.sum(), s1.sum(), s2.sum(), within.sum()))
    counts, cats = category_counts(x)
    m = counts.sum(1)
    o = counts.T @ (counts / (m - 1)[:, None]) - np.diag((counts / (m - 1)[:, None]).sum(0))
    nc = o.sum(1)
    n = nc.sum()
    d2 = _delta2(cats, level, nc)
    d_o = np.sum(o * d2)
    d_e = np.sum(np.outer(nc, nc) * d2) / (n - 1)
    if d_e == 0:
        raise InsufficientDataError("every pairable value is the same: expected disagreement is 0 and α is undefined")
    return float(1 - d_o / d_e)


def alpha_bootstrap(ratings: np.ndarray, level: Level, weights: np.ndarray,
                    groups: np.ndarray | None = None) -> np.ndarray:
    """α for each row of ``weights``: the (pairable) units, or the ``groups`` of units (items)
    when given, are reweighted, as when resampling them with replacement."""
    x = _pairable(ratings)
    W = np.asarray(weights, float)
    g = np.arange(x.shape[0]) if groups is None else np.asarray(groups)
    n_groups = W.shape[1]
    if g.shape[0] != x.shape[0] or (g.size and g.max() >= n_groups):
        raise ParameterError("`weights` must have one column per pairable unit (or per group)")

    def by_group(v: np.ndarray) -> np.ndarray:
        return np.bincount(g, v, n_groups)

    if level == "interval":
        m, s1, s2, within = _interval_stats(x)
        return _alpha_interval_from(W @ by_group(m), W @ by_group(s1), W @ by_group(s2), W @ by_group(within))
    counts, cats = category_counts(x)
    m = counts.sum(1)
    if level == "nominal":
        matched = np.sum(counts * (counts - 1), axis=1) / (m - 1)  # Σ_c o_cc contribution per unit
        n = W @ by_group(m)
        nc = W @ np.stack([by_group(counts[:, k]) for k in range(cats.size)], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return 1 - (n - 1) * (n - W @ by_group(matched)) / (n**2 - np.sum(nc**2, axis=1))
    unit_w = W[:, g]
    out = np.empty(W.shape[0])
    scaled = counts / (m - 1)[:, None]
    for b in range(W.shape[0]):
        o = counts.T @ (scaled * unit_w[b][:, None]) - np.diag((scaled * unit_w[b][:, None]).sum(0))
        nc = o.sum(1)
        n = nc.sum()
        d2 = _delta2(cats, level, nc)
        d_e = np.sum(np.outer(nc, nc) * d2) / (n - 1)
        out[b] = 1 - np.sum(o * d2) / d_e if d_e > 0 else np.nan
    return out


def interval_alpha_two(a: np.ndarray, b: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Krippendorff's interval α of two complete raters, vectorised over weight vectors.

    ``w`` (resamples × units) are bootstrap counts; ``None`` means every unit once. Closed
    form: ``α = 1 − (N − 1) Σ w (a − b)² / (N Σ w [(a − v̄)² + (b − v̄)²])`` with N = 2 Σ w.

    >>> import numpy as np
    >>> a, b = np.array([1.0, 2, 3, 4, 5]), np.array([1.0, 2, 4, 4, 3])
    >>> bool(np.isclose(interval_alpha_two(a, b), krippendorff_alpha_array(np.column_stack([a, b]), "interval")))
    True
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    e = unit_exponent(np.concatenate([a.ravel(), b.ravel()]))
    if e:  # α is scale-free; its squares are not (see _pairable)
        a, b = np.ldexp(a, -e), np.ldexp(b, -e)
    single = w is None
    W = np.ones((1, len(a))) if w is None else np.atleast_2d(np.asarray(w, float))
    n_units = W.sum(1)
    N = 2 * n_units
    mean = (W @ (a + b)) / N
    ss = W @ (a**2 + b**2) - N * mean**2
    d = W @ ((a - b) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1 - (N - 1) * d / (N * ss)
    alpha = np.where(ss > 0, alpha, np.nan)
    return alpha[0] if single else alpha
