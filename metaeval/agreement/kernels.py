"""Array kernels of agreement: the chance-corrected coefficients among many raters (Gwet's
framework), Cohen's κ, correlations at three levels, pairwise accuracy, Kendall's W, judges
against a gold label in both presentation orders, error consistency and CAPA.

Input to the many-rater coefficients is a ``units × raters`` float array with ``nan`` for a
missing rating. Categories are the sorted distinct values; ``weights`` is a q × q
agreement-weight matrix (identity for nominal data; linear / quadratic / ordinal / ratio for
ordered data). Every coefficient has the form (pa − pe) / (1 − pe) and comes with Gwet's (2014,
Handbook of Inter-Rater Reliability, ch. 5) linearised variance over units; the formulas follow
his irrCAC package, against whose output ``tests/reference/irrcac_values.py`` checks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as st

from metaeval._validate import validate_params
from metaeval.errors import InsufficientDataError, MetaevalError, ParameterError

__all__ = [
    "Coefficient",
    "agreement_coefficient",
    "capa",
    "category_counts",
    "cohen_kappa_array",
    "error_consistency",
    "kendalls_w",
    "pairwise_accuracy",
    "two_order_metrics",
    "weight_matrix",
]

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

def cohen_kappa_array(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> float:
    """Cohen's (weighted) κ of two raters' category codes 0..q−1: (p_o − p_e) / (1 − p_e) with
    p_o = Σ w_kl p_kl and p_e = Σ w_kl p_k. p_.l (each rater's own marginals)."""
    q = weights.shape[0]
    table = np.zeros((q, q))
    np.add.at(table, (a, b), 1.0)
    p = table / table.sum()
    po = float(np.sum(weights * p))
    pe = float(p.sum(1) @ weights @ p.sum(0))
    if pe >= 1:
        return float("nan")
    return (po - pe) / (1 - pe)


@validate_params({"human": ["array-like"], "metric": ["array-like"], "ties": ["boolean"]})
def pairwise_accuracy(human: np.ndarray, metric: np.ndarray, *, ties: bool = True) -> float:
    """Share of pairs (i < j) that metric and human order the same way (Deutsch et al. 2023).

    Parameters
    ----------
    human : numpy.ndarray
        The reference scores.
    metric : numpy.ndarray
        The metric's (judge's) scores of the same objects.
    ties : bool, default True
        With ties, a pair counts as agreeing when both say tie; without, pairs the human ties are
        left out and a metric tie counts as a disagreement.

    Returns
    -------
    float
        The share of agreeing pairs, in [0, 1] (0.5 for a metric unrelated to the human order when
        there are no ties).

    Notes
    -----
    Deutsch et al. (2023) introduced the tie-aware form so that metrics which predict ties are not
    penalised; it is a rescaled Kendall τ that credits ties. Compare metrics on the same
    pairs only: the share of tied pairs in the human scores sets the attainable range.

    Examples
    --------
    >>> pairwise_accuracy(np.array([1, 2, 3]), np.array([1, 3, 2]))
    0.6666666666666666
    """
    h, m = np.asarray(human, float), np.asarray(metric, float)
    if h.size < 2:
        return float("nan")
    i, j = np.triu_indices(h.size, 1)
    sh, sm = np.sign(h[i] - h[j]), np.sign(m[i] - m[j])
    if ties:
        return float(np.mean(sh == sm))
    keep = sh != 0
    return float(np.mean(sh[keep] == sm[keep])) if keep.any() else float("nan")


@validate_params({"ranks": ["array-like"]})
def kendalls_w(ranks: np.ndarray) -> float:
    """Kendall's coefficient of concordance of m rankings (rows) of n objects, corrected for ties.

    Parameters
    ----------
    ranks : numpy.ndarray
        m × n array: each row is one judge's ranks (or scores, ranked within the row) of the same n
        objects.

    Returns
    -------
    float
        W in [0, 1]: 1 when every judge ranks the objects alike, 0 when the mean ranks are all
        equal (no agreement).

    Notes
    -----
    W relates to the mean Spearman correlation between pairs of rankings by
    ρ̄ = (mW − 1) / (m − 1) (Kendall & Babington Smith 1939), which is often the easier number to
    read. Cohen's (1988) bands for a correlation (0.1 small, 0.3 medium, 0.5 large) are sometimes
    applied to W; like any such bands they are conventions. Friedman's χ² = m(n − 1)W tests W = 0
    (:func:`metaeval.stats.friedman`).

    Examples
    --------
    >>> kendalls_w(np.array([[1, 2, 3], [1, 2, 3]]))
    1.0
    """
    r = np.asarray(ranks, float)
    m, n = r.shape
    if m < 2 or n < 2:
        raise InsufficientDataError("Kendall's W needs at least two rankings of two objects")
    r = np.vstack([st.rankdata(row) for row in r])
    s = np.sum((r.sum(0) - m * (n + 1) / 2) ** 2)
    ties = 0.0
    for row in r:
        _, c = np.unique(row, return_counts=True)
        ties += np.sum(c**3 - c)
    denom = m**2 * (n**3 - n) - m * ties
    return float(12 * s / denom) if denom > 0 else float("nan")


def two_order_metrics(first: np.ndarray, second: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """A pairwise judge against a gold label with both presentation orders (LLMBar's measures).

    ``first`` / ``second``: the verdict (``a``/``b``/``tie`` codes 0/1/2, in the original labelling)
    with the outputs in the given and in the swapped order; ``gold`` the correct side.

    - accuracy: mean of the accuracies in the two orders (Zeng et al. 2024);
    - positional agreement: share of items whose verdict survives the swap;
    - two-game accuracy: each order scores +1 (right), −1 (wrong) or 0 (tie); correct when the
      sum is positive.
    """
    f, s, g = (np.asarray(v) for v in (first, second, gold))
    if not (f.shape == s.shape == g.shape) or f.size == 0:
        raise MetaevalError("`first`, `second` and `gold` must be non-empty and of one length")
    acc = (np.mean(f == g) + np.mean(s == g)) / 2
    agree = np.mean(f == s)

    def score(v: np.ndarray) -> np.ndarray:
        return np.where(v == 2, 0, np.where(v == g, 1, -1))

    two_game = np.mean((score(f) + score(s)) > 0)
    return {"accuracy": float(acc), "positional_agreement": float(agree), "two_game_accuracy": float(two_game),
            "accuracy_first": float(np.mean(f == g)), "accuracy_second": float(np.mean(s == g))}


@validate_params({"correct_1": ["array-like"], "correct_2": ["array-like"]})
def error_consistency(correct_1: np.ndarray, correct_2: np.ndarray) -> float:
    """Error consistency: κ of two models' right/wrong patterns beyond their accuracies (Geirhos et al. 2020).

    c_obs = share of items both get right or both wrong, c_exp = p1 p2 + (1 − p1)(1 − p2), and the
    coefficient is (c_obs − c_exp) / (1 − c_exp).

    Parameters
    ----------
    correct_1, correct_2 : numpy.ndarray
        Per item, 1 (or True) where each model is right, 0 where it is wrong.

    Returns
    -------
    float
        1 when the two models err on exactly the same items, 0 when their errors overlap as
        independence predicts, negative when they avoid each other's errors.

    Notes
    -----
    Geirhos et al. (2020) read values near 0 as independent error patterns even between models of
    equal accuracy; they give no thresholds, and the coefficient should be judged against its
    interval (a bootstrap over items) and against other pairs of models on the same items.

    Examples
    --------
    >>> error_consistency(np.array([1, 1, 0, 0]), np.array([1, 1, 0, 0]))
    1.0
    """
    a, b = np.asarray(correct_1, float), np.asarray(correct_2, float)
    c_obs = np.mean(a == b)
    p1, p2 = a.mean(), b.mean()
    c_exp = p1 * p2 + (1 - p1) * (1 - p2)
    return float((c_obs - c_exp) / (1 - c_exp)) if c_exp < 1 else float("nan")


@validate_params({
    "p1": ["array-like"],
    "p2": ["array-like"],
    "correct": ["array-like"],
    "n_options": ["array-like", None],
})
def capa(p1: np.ndarray, p2: np.ndarray, correct: np.ndarray, n_options: np.ndarray | None = None) -> float:
    """CAPA, chance-adjusted probabilistic agreement (Goel et al. 2025, "Great Models Think Alike").

    κ_p = (c_obs − c_exp) / (1 − c_exp) with c_obs = mean_x Σ_o p1(o|x) p2(o|x) and
    c_exp = p̄1 p̄2 + (1 − p̄1)(1 − p̄2) · mean_x 1 / (|O(x)| − 1), p̄ = mean probability on the
    correct option.

    Parameters
    ----------
    p1, p2 : numpy.ndarray
        Items × options probabilities of the two models (one-hot rows for hard answers, padded with
        0 where an item has fewer options).
    correct : numpy.ndarray
        The index of the correct option per item.
    n_options : numpy.ndarray, optional
        Options per item (at least two). Default: the number of columns for every item.

    Returns
    -------
    float
        κ_p: 1 for identical answers, 0 for the agreement two independent models of these
        accuracies would reach, negative below it; nan when c_exp = 1.

    Notes
    -----
    CAPA counts agreement on wrong answers too, so it measures how alike two models' mistakes are
    beyond what their accuracies imply; Goel et al. use it as a similarity between a judge and the
    models it grades (higher similarity, more affinity bias). It has no conventional benchmarks:
    compare it across pairs of models on the same items.

    Examples
    --------
    >>> p = np.eye(3)[[0, 1, 2, 0]]
    >>> capa(p, p, np.array([0, 1, 1, 0]))
    1.0
    """
    a, b = np.asarray(p1, float), np.asarray(p2, float)
    if a.shape != b.shape or a.ndim != 2:
        raise ParameterError("`p1` and `p2` must both be items × options")
    idx = np.asarray(correct, int)
    rows = np.arange(a.shape[0])
    opts = np.full(a.shape[0], a.shape[1]) if n_options is None else np.asarray(n_options, float)
    if np.any(opts < 2):
        raise MetaevalError("every item needs at least two options")
    c_obs = float(np.mean(np.sum(a * b, axis=1)))
    pa, pb = a[rows, idx].mean(), b[rows, idx].mean()
    c_exp = float(pa * pb + (1 - pa) * (1 - pb) * np.mean(1 / (opts - 1)))
    return (c_obs - c_exp) / (1 - c_exp) if c_exp < 1 else float("nan")
