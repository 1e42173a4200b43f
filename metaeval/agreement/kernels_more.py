"""Array kernels: Cohen's κ, correlations at three levels, pairwise accuracy, Kendall's W,
judges against a gold label in both presentation orders, error consistency and CAPA."""

from __future__ import annotations

import numpy as np
from scipy import stats as st

from metaeval._validate import validate_params
from metaeval.errors import InsufficientDataError, MetaevalError, ParameterError

__all__ = [
    "capa",
    "cohen_kappa_array",
    "error_consistency",
    "kendalls_w",
    "pairwise_accuracy",
    "two_order_metrics",
]


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

    With ``ties``, a pair counts as agreeing when both say tie; without, pairs the human ties are
    left out and a metric tie counts as a disagreement.

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
    """Geirhos et al. (2020): κ of two models' right/wrong patterns beyond what their accuracies
    predict: c_obs = share of items both get right or both wrong, c_exp = p1 p2 + (1 − p1)(1 − p2).

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

    ``p1``, ``p2``: items × options probabilities (one-hot rows for hard answers, padded with 0);
    ``correct``: the correct option per item; ``n_options``: options per item (default: columns).
    κ_p = (c_obs − c_exp) / (1 − c_exp) with c_obs = mean_x Σ_o p1(o|x) p2(o|x) and
    c_exp = p̄1 p̄2 + (1 − p̄1)(1 − p̄2) · mean_x 1 / (|O(x)| − 1), p̄ = mean probability on the
    correct option.
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
