"""Array kernels: pool the verdicts of many panels at once, and score every panel against the
reference on every bootstrap resample with a handful of matrix products.

Every metric is a function of per-item sums ("sufficient statistics") that are linear in the
items, so a resample — item weights ``w`` (how often each item is drawn) — gives the statistic
of the resampled data exactly through ``w @ S``: one (resamples × items) by (items × panels)
product per statistic, whatever the number of panels.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal

import numpy as np

from metaeval.errors import MetaevalError, ParameterError

Rule = Literal["majority", "weighted", "probability", "mean", "median"]
Tie = Literal["tie", "chair", "random"]
CATEGORICAL_METRICS = ("accuracy", "cohen_kappa", "krippendorff_alpha")
NUMERIC_METRICS = ("krippendorff_alpha", "pearson", "mae")
_EPS = 1e-7  # tie-break weight of the chair, far below any difference of whole (or weighted) votes


def panel_index(panels: Sequence[Sequence[int]]) -> np.ndarray:
    """Panels (tuples of judge indices) as a panels × size array padded with -1."""
    k = max(len(p) for p in panels)
    out = np.full((len(panels), k), -1, dtype=np.int64)
    for i, p in enumerate(panels):
        out[i, :len(p)] = p
    return out


def pool(values: np.ndarray, idx: np.ndarray, rule: Rule, *, n_categories: int = 0, tie: Tie = "chair",
         tie_code: int | None = None, weights: np.ndarray | None = None, prob: np.ndarray | None = None,
         rng: np.random.Generator | None = None) -> np.ndarray:
    """The pooled verdict of each panel (rows of ``idx``) on each unit: panels × units.

    Categorical rules return codes; ``mean`` / ``median`` return scores. ``tie`` settles a
    vote whose top count is shared: ``"tie"`` returns ``tie_code`` (pairwise tables), ``"chair"``
    the choice of the first-listed member among the tied ones (then the second…), ``"random"`` a
    seeded draw among the tied ones.
    """
    n_panels, k = idx.shape
    n_units = values.shape[0]
    valid = idx >= 0
    if rule in ("mean", "median"):
        stack = np.full((n_panels, n_units, k), np.nan)
        for m in range(k):
            ok = valid[:, m]
            stack[ok, :, m] = values[:, idx[ok, m]].T
        with np.errstate(all="ignore"):
            return np.nanmean(stack, axis=2) if rule == "mean" else np.nanmedian(stack, axis=2)
    if rule == "probability":
        if prob is None:
            raise MetaevalError("`rule='probability'` needs pairwise verdicts (or `p_a` probabilities)")
        total = np.zeros((n_panels, n_units))
        size = valid.sum(1)[:, None]
        for m in range(k):
            ok = valid[:, m]
            total[ok] += prob[:, idx[ok, m]].T
        p = total / size
        out = np.where(p > 0.5, 0, np.where(p < 0.5, 1, -1)).astype(np.int64)
        return _settle(out, values, idx, tie, tie_code, rng, n_categories)
    w = np.ones(values.shape[1]) if weights is None else np.asarray(weights, float)
    counts = np.zeros((n_categories, n_panels, n_units), dtype=np.float64)
    for m in range(k):
        ok = np.flatnonzero(valid[:, m])
        if ok.size == 0:
            continue
        codes = values[:, idx[ok, m]].T.astype(np.int64)
        wm = w[idx[ok, m]][:, None]
        for c in range(n_categories):
            counts[c, ok] += wm * (codes == c)
    top = counts.max(axis=0)
    winners = counts >= top[None] - 1e-12
    n_win = winners.sum(axis=0)
    out = np.argmax(counts, axis=0).astype(np.int64)
    out[n_win > 1] = -1
    return _settle(out, values, idx, tie, tie_code, rng, n_categories, winners)


def _settle(out: np.ndarray, values: np.ndarray, idx: np.ndarray, tie: Tie, tie_code: int | None,
            rng: np.random.Generator | None, n_categories: int, winners: np.ndarray | None = None) -> np.ndarray:
    """Resolve the tied cells (-1) of ``out``."""
    tied = out < 0
    if not tied.any():
        return out
    if tie == "tie":
        if tie_code is None:
            raise MetaevalError("`tie='tie'` needs a tie category (pairwise verdicts); use 'chair' or 'random'")
        out[tied] = tie_code
        return out
    p_i, u_i = np.nonzero(tied)
    if winners is None:  # probability pooling: the candidates are the two sides
        cand = np.zeros((n_categories, p_i.size), dtype=bool)
        cand[0] = cand[1] = True
    else:
        cand = winners[:, p_i, u_i]
    if tie == "random":
        if rng is None:
            raise MetaevalError("`tie='random'` needs `rng`")
        score = rng.random(cand.shape) + cand
        out[p_i, u_i] = np.argmax(score, axis=0)
        return out
    if tie != "chair":
        raise ParameterError(f"`tie` must be 'tie', 'chair' or 'random'; got {tie!r}")
    # the chair (first member) decides among the tied choices; if its choice is not among them, the next does
    k = idx.shape[1]
    bonus = np.zeros(cand.shape)
    for m in range(k):
        ok = idx[p_i, m] >= 0
        choice = values[u_i[ok], idx[p_i[ok], m]].astype(np.int64)
        cols = np.flatnonzero(ok)
        inside = choice < n_categories
        bonus[choice[inside], cols[inside]] += _EPS * 2.0 ** (-m)
    score = cand + bonus * cand
    out[p_i, u_i] = np.argmax(score, axis=0)
    return out


# --------------------------------------------------------------------- statistics
def item_sums(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sums over the units of each item along the last axis (units sorted by item)."""
    return np.add.reduceat(x, starts, axis=-1)


def categorical_stats(pooled: np.ndarray, reference: np.ndarray, starts: np.ndarray,
                      n_categories: int) -> np.ndarray:
    """Per panel and item: [agreements, count of each pooled category] (panels × items × 1+q)."""
    out = np.empty((pooled.shape[0], starts.size, 1 + n_categories), dtype=np.float64)
    out[:, :, 0] = item_sums((pooled == reference[None]).astype(np.float64), starts)
    for c in range(n_categories):
        out[:, :, 1 + c] = item_sums((pooled == c).astype(np.float64), starts)
    return out


def reference_stats(reference: np.ndarray, starts: np.ndarray, n_categories: int) -> np.ndarray:
    """Per item: [units, count of each reference category] (items × 1+q)."""
    cols = [item_sums(np.ones_like(reference), starts)]
    cols += [item_sums((reference == c).astype(np.float64), starts) for c in range(n_categories)]
    return np.stack(cols, axis=1)


def numeric_stats(pooled: np.ndarray, reference: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per panel and item: [Σx, Σx², Σxy, Σ|x − y|] (panels × items × 4)."""
    y = reference[None]
    parts = [pooled, pooled * pooled, pooled * y, np.abs(pooled - y)]
    return np.stack([item_sums(p, starts) for p in parts], axis=2)


def numeric_reference_stats(reference: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per item: [units, Σy, Σy²] (items × 3)."""
    return np.stack([item_sums(np.ones_like(reference), starts), item_sums(reference, starts),
                     item_sums(reference * reference, starts)], axis=1)


def weigh(weights: np.ndarray, panel_stats: np.ndarray, ref_stats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Resampled totals: (resamples × panels × s) and (resamples × r).

    Counts (whole numbers whose weighted totals stay below 2²⁴) are multiplied in float32, which
    is exact for them and twice as fast; anything else in float64.
    """
    integral = bool(np.all(panel_stats == np.round(panel_stats)) and np.all(weights == np.round(weights)))
    small = float(np.max(weights.sum(1), initial=0.0)) * float(np.max(np.abs(panel_stats), initial=0.0)) < 2.0 ** 24
    dtype = np.float32 if integral and small else np.float64
    w = weights.astype(dtype)
    n_s = panel_stats.shape[2]
    tot = np.empty((weights.shape[0], panel_stats.shape[0], n_s), dtype=np.float64)
    for s in range(n_s):
        tot[:, :, s] = w @ panel_stats[:, :, s].T.astype(dtype)
    return tot, weights @ ref_stats


def categorical_metrics(tot: np.ndarray, ref: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, Cohen's κ and nominal Krippendorff's α (panel vs reference as two coders) from
    the totals of :func:`categorical_stats` and :func:`reference_stats`."""
    n = ref[:, None, 0]
    agree = tot[:, :, 0]
    p_counts = tot[:, :, 1:]
    r_counts = ref[:, None, 1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = agree / n
        pe = np.sum(p_counts * r_counts, axis=2) / (n * n)
        kappa = (acc - pe) / (1 - pe)
        pooled = p_counts + r_counts
        n_val = 2 * n
        denom = n_val * n_val - np.sum(pooled * pooled, axis=2)
        alpha = 1 - (n_val - 1) * 2 * (n - agree) / denom
    return {"accuracy": acc, "cohen_kappa": kappa, "krippendorff_alpha": alpha}


def numeric_metrics(tot: np.ndarray, ref: np.ndarray) -> dict[str, np.ndarray]:
    """Interval Krippendorff's α, Pearson's r and the mean absolute error from the totals of
    :func:`numeric_stats` and :func:`numeric_reference_stats`."""
    n, sy, syy = (ref[:, None, i] for i in range(3))
    sx, sxx, sxy, sabs = (tot[:, :, i] for i in range(4))
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sy / n
        vx, vy = sxx - sx * sx / n, syy - sy * sy / n
        r = cov / np.sqrt(vx * vy)
        d_o = (sxx + syy - 2 * sxy) / n
        n_val = 2 * n
        ss = sxx + syy - (sx + sy) ** 2 / n_val
        alpha = 1 - (n_val - 1) * d_o / (2 * ss)
        mae = sabs / n
    return {"krippendorff_alpha": alpha, "pearson": r, "mae": mae}


def capa_pairs(choice: np.ndarray, correct: np.ndarray, starts: np.ndarray, n_options: float,
               weights: np.ndarray) -> np.ndarray:
    """CAPA (Goel et al. 2025) of every pair of columns of ``choice`` (units × raters, hard
    answers; units sorted by item, ``starts`` the first unit of each item) for each row of item
    ``weights`` (resamples × items): resamples × pairs, pairs in ``itertools.combinations`` order.

    κ_p = (c_obs − c_exp) / (1 − c_exp), c_obs = share of units the two answer alike, c_exp =
    p̄₁p̄₂ + (1 − p̄₁)(1 − p̄₂) / (options − 1) with p̄ the share answered right. All are item sums,
    so every resample is a matrix product.
    """
    pairs = list(itertools.combinations(range(choice.shape[1]), 2))
    if not pairs:
        return np.empty((weights.shape[0], 0))
    same = np.stack([choice[:, a] == choice[:, b] for a, b in pairs], axis=1).astype(float)
    right = (choice == correct[:, None]).astype(float)
    n = weights @ np.add.reduceat(np.ones(choice.shape[0]), starts)
    c_obs = (weights @ np.add.reduceat(same, starts, axis=0)) / n[:, None]
    p = (weights @ np.add.reduceat(right, starts, axis=0)) / n[:, None]
    pa = p[:, [a for a, _ in pairs]]
    pb = p[:, [b for _, b in pairs]]
    c_exp = pa * pb + (1 - pa) * (1 - pb) / (n_options - 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c_exp < 1, (c_obs - c_exp) / (1 - c_exp), np.nan)
