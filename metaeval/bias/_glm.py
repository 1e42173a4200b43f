"""Small logistic-regression kernels for the probes: many independent fits at once, and a
two-way (Rasch-type) additive model, both for fractional responses in [0, 1]."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from metaeval.errors import ConvergenceWarning, warn

__all__ = ["BatchedFit", "batched_logistic", "two_way_logistic"]


class BatchedFit:
    """Coefficients (G × k), their model-based and sandwich covariances (G × k × k) and the
    groups whose fitted probabilities reached 0 or 1 (separation)."""

    def __init__(self, coef: np.ndarray, cov: np.ndarray, cov_robust: np.ndarray, separated: np.ndarray,
                 n_iter: int) -> None:
        self.coef, self.cov, self.cov_robust, self.separated, self.n_iter = coef, cov, cov_robust, separated, n_iter


def _group_outer(group: np.ndarray, Z: np.ndarray, v: np.ndarray, G: int) -> np.ndarray:
    k = Z.shape[1]
    out = np.empty((G, k, k))
    for a in range(k):
        for b in range(a, k):
            s = np.bincount(group, weights=v * Z[:, a] * Z[:, b], minlength=G)
            out[:, a, b] = s
            out[:, b, a] = s
    return out


def _group_sum(group: np.ndarray, Z: np.ndarray, r: np.ndarray, G: int) -> np.ndarray:
    return np.column_stack([np.bincount(group, weights=r * Z[:, a], minlength=G) for a in range(Z.shape[1])])


def batched_logistic(group: np.ndarray, Z: np.ndarray, y: np.ndarray, n_groups: int, *, prior: float = 1e-4,
                     weights: np.ndarray | None = None, max_iter: int = 100, tol: float = 1e-9) -> BatchedFit:
    """One ridge logistic regression ``logit P(y) = Z β_g`` per group ``g``, all solved together.

    ``prior`` is the ridge precision (N(0, 1/prior) on every coefficient); ``y`` may be
    fractional. The sandwich covariance treats rows as independent.

    >>> import numpy as np
    >>> g = np.repeat([0, 1], 4); Z = np.ones((8, 1)); y = np.array([1, 1, 1, 0, 0, 0, 0, 1.0])
    >>> fit = batched_logistic(g, Z, y, 2, prior=0.0)
    >>> np.round(fit.coef[:, 0], 4).tolist()
    [1.0986, -1.0986]
    """
    group = np.asarray(group, np.int64)
    Z = np.asarray(Z, float)
    y = np.asarray(y, float)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    G, k = n_groups, Z.shape[1]
    beta = np.zeros((G, k))
    eye = np.eye(k)

    def objective(b: np.ndarray) -> np.ndarray:
        eta = np.einsum("ij,ij->i", Z, b[group])
        ll = w * (y * eta - np.logaddexp(0.0, eta))
        return np.bincount(group, weights=ll, minlength=G) - 0.5 * prior * np.sum(b * b, 1)

    obj = objective(beta)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        eta = np.einsum("ij,ij->i", Z, beta[group])
        p = expit(eta)
        grad = _group_sum(group, Z, w * (y - p), G) - prior * beta
        if np.max(np.abs(grad)) <= tol * max(len(y) / max(G, 1), 1.0):
            break
        H = _group_outer(group, Z, w * p * (1 - p), G) + prior * eye
        H += 1e-10 * eye
        step = np.linalg.solve(H, grad[..., None])[..., 0]
        t = np.ones(G)
        for _ in range(30):  # per-group step halving
            cand = beta + t[:, None] * step
            cand_obj = objective(cand)
            bad = cand_obj < obj - 1e-12 * np.abs(obj)
            if not bad.any():
                break
            t = np.where(bad, t / 2, t)
        beta, obj = cand, cand_obj
    else:
        warn(f"logistic fits stopped after {max_iter} iterations", ConvergenceWarning)
    eta = np.einsum("ij,ij->i", Z, beta[group])
    p = expit(eta)
    v = w * p * (1 - p)
    H = _group_outer(group, Z, v, G) + prior * eye
    cov = np.linalg.pinv(H, hermitian=True)
    meat = _group_outer(group, Z, (w * (y - p)) ** 2, G)
    n_g = np.bincount(group, minlength=G).astype(float)
    corr = np.where(n_g > k, n_g / np.maximum(n_g - k, 1), 1.0)[:, None, None]
    robust = corr * cov @ meat @ cov
    separated = np.bincount(group, weights=(v < 1e-10) & (w > 0), minlength=G) > 0
    return BatchedFit(beta, cov, robust, separated, n_iter)


def two_way_logistic(row: np.ndarray, col: np.ndarray, y: np.ndarray, n_rows: int, n_cols: int, *,
                     prior: float = 1e-3, max_iter: int = 500, tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """Additive logistic model ``logit P(y) = a_row + d_col`` by block-coordinate Newton.

    Returns ``(a, d)`` with ``d`` centred (its mean goes into ``a``). Used to estimate an item
    term (instruction difficulty) from every model's results.

    >>> import numpy as np
    >>> r = np.array([0, 0, 1, 1]); c = np.array([0, 1, 0, 1]); y = np.array([0.9, 0.6, 0.6, 0.2])
    >>> a, d = two_way_logistic(r, c, y, 2, 2, prior=0.0)
    >>> bool(a[0] > a[1]) and bool(d[0] > d[1])
    True
    """
    row, col = np.asarray(row, np.int64), np.asarray(col, np.int64)
    y = np.asarray(y, float)
    a, d = np.zeros(n_rows), np.zeros(n_cols)
    for _ in range(max_iter):
        p = expit(a[row] + d[col])
        v = p * (1 - p)
        ga = np.bincount(row, weights=y - p, minlength=n_rows) - prior * a
        a = a + ga / (np.bincount(row, weights=v, minlength=n_rows) + prior + 1e-12)
        p = expit(a[row] + d[col])
        v = p * (1 - p)
        gd = np.bincount(col, weights=y - p, minlength=n_cols) - prior * d
        d = d + gd / (np.bincount(col, weights=v, minlength=n_cols) + prior + 1e-12)
        if max(np.max(np.abs(ga)), np.max(np.abs(gd))) < tol * max(len(y), 1):
            break
    shift = d.mean()
    return a + shift, d - shift
