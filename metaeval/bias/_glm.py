"""Small logistic-regression kernels for the probes: many independent fits at once, and a
two-way (Rasch-type) additive model, both for fractional responses in [0, 1]; and the
L1-penalised fits (many small ones at once, and one large sparse one) that AlpacaEval's
length-controlled win rate uses."""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy import sparse as sp
from scipy.special import expit

from metaeval.errors import ConvergenceWarning, warn

__all__ = ["BatchedFit", "batched_logistic", "l1_logistic", "l1_logistic_sparse", "two_way_logistic"]


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


def _fractional_nll(eta: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-row weighted negative log-likelihood of fractional responses, ``w (log(1 + e^η) - y η)``."""
    return w * (np.logaddexp(0.0, eta) - y * eta)


def l1_logistic(group: np.ndarray, Z: np.ndarray, y: np.ndarray, n_groups: int, lam: np.ndarray | float, *,
                weights: np.ndarray | None = None, beta0: np.ndarray | None = None, max_iter: int = 200,
                tol: float = 1e-10) -> np.ndarray:
    """Many small L1-penalised logistic regressions without intercept, solved together.

    For each group ``g`` minimises ``Σ_i w_i [log(1 + e^{z_i β}) - y_i z_i β] + λ_g ‖β‖₁`` over
    its rows (``y`` may be fractional), by proximal Newton steps: the penalised quadratic model
    is minimised by coordinate descent (exact soft-thresholding per coordinate), then a
    backtracking line search on the true objective. This is the problem LIBLINEAR solves for
    ``penalty="l1"`` with ``C = 1 / λ`` (scikit-learn's ``solver="liblinear"``), solved here to
    a tight tolerance. Groups may share no rows; rows with weight 0 drop out. ``beta0``
    (G × k) warm-starts the fits.

    Returns the ``G × k`` coefficients.

    >>> import numpy as np
    >>> g = np.zeros(4, int); Z = np.ones((4, 1)); y = np.array([1, 1, 1, 0.0])
    >>> float(l1_logistic(g, Z, y, 1, 0.0)[0, 0].round(4))  # unpenalised: log(3)
    1.0986
    >>> float(l1_logistic(g, Z, y, 1, 10.0)[0, 0])  # a strong penalty sets it to zero
    0.0
    """
    group = np.asarray(group, np.int64)
    Z = np.asarray(Z, float)
    y = np.asarray(y, float)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    G, k = n_groups, Z.shape[1]
    lam = np.broadcast_to(np.asarray(lam, float), (G,)).copy()
    beta = np.zeros((G, k)) if beta0 is None else np.array(beta0, float)

    def objective(b: np.ndarray) -> np.ndarray:
        eta = np.einsum("ij,ij->i", Z, b[group])
        return np.bincount(group, weights=_fractional_nll(eta, y, w), minlength=G) + lam * np.abs(b).sum(1)

    obj = objective(beta)
    for _ in range(max_iter):
        q = expit(np.einsum("ij,ij->i", Z, beta[group]))
        grad = _group_sum(group, Z, w * (q - y), G)
        H = _group_outer(group, Z, w * q * (1 - q), G)
        diag = np.maximum(np.einsum("gjj->gj", H), 1e-12)
        d = np.zeros((G, k))
        Hd = np.zeros((G, k))
        for _sweep in range(100):
            change = 0.0
            for j in range(k):
                c = grad[:, j] + Hd[:, j] - diag[:, j] * d[:, j]
                z = beta[:, j] - c / diag[:, j]
                new = np.sign(z) * np.maximum(np.abs(z) - lam / diag[:, j], 0.0)
                delta = new - (beta[:, j] + d[:, j])
                d[:, j] += delta
                Hd += H[:, :, j] * delta[:, None]
                change = max(change, float(np.max(np.abs(delta))))
            if change <= 1e-13:
                break
        decrease = (grad * d).sum(1) + lam * (np.abs(beta + d).sum(1) - np.abs(beta).sum(1))
        t = np.ones(G)
        active = np.abs(d).max(1) > 0
        cand, cand_obj = beta, obj
        for _ in range(40):
            cand = beta + t[:, None] * d
            cand_obj = objective(cand)
            bad = active & (cand_obj > obj + 1e-4 * t * np.minimum(decrease, 0.0) + 1e-12 * np.abs(obj))
            if not bad.any():
                break
            t = np.where(bad, t / 2, t)
        step = np.abs(t[:, None] * d).max(1)
        beta, obj = cand, cand_obj
        if np.all(step <= tol * (1.0 + np.abs(beta).max(1))):
            break
    else:
        warn(f"L1-penalised logistic fits stopped after {max_iter} iterations", ConvergenceWarning)
    return beta


def l1_logistic_sparse(X: sp.csr_matrix, y: np.ndarray, lam: float, *, weights: np.ndarray | None = None,
                       beta0: np.ndarray | None = None, tol: float = 1e-9, max_iter: int = 20000) -> np.ndarray:
    """One L1-penalised logistic regression without intercept on a sparse design.

    Minimises ``Σ_i w_i [log(1 + e^{x_i β}) - y_i x_i β] + λ ‖β‖₁`` by L-BFGS-B on the split
    ``β = u - v`` with ``u, v ≥ 0`` (a smooth problem with simple bounds whose solution has the
    exact zeros of the lasso). ``beta0`` warm-starts it (e.g. along a path of penalties).

    >>> import numpy as np
    >>> from scipy import sparse
    >>> X = sparse.csr_matrix(np.ones((4, 1))); y = np.array([1, 1, 1, 0.0])
    >>> float(l1_logistic_sparse(X, y, 0.0)[0].round(4))
    1.0986
    """
    X = sp.csr_matrix(X)
    y = np.asarray(y, float)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    k = X.shape[1]
    # Diagonal preconditioning: β = s β̃ with s_j = 1 / sqrt(Σ_i w_i x_ij² / 4), the curvature at β = 0; the
    # penalty becomes λ Σ s_j |β̃_j|, still separable, so the split keeps its exact zeros.
    curv = np.asarray(X.multiply(X).T @ w).ravel() / 4
    s = 1.0 / np.sqrt(np.where(curv > 0, curv, 1.0))
    Xs = (X @ sp.diags(s)).tocsr()
    Xt = Xs.T.tocsr()
    pen = lam * s
    scale = max(float(w.sum()), 1.0)

    def fun(uv: np.ndarray) -> tuple[float, np.ndarray]:
        b = uv[:k] - uv[k:]
        eta = Xs @ b
        f = float(_fractional_nll(eta, y, w).sum()) + float(pen @ (uv[:k] + uv[k:]))
        g = Xt @ (w * (expit(eta) - y))
        return f / scale, np.concatenate([g + pen, -g + pen]) / scale

    b0 = np.zeros(k) if beta0 is None else np.asarray(beta0, float) / s
    x0 = np.concatenate([np.maximum(b0, 0), np.maximum(-b0, 0)])
    res = optimize.minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=[(0, None)] * (2 * k),
                            options={"maxiter": max_iter, "maxfun": 2 * max_iter, "ftol": 1e-15, "gtol": tol,
                                     "maxcor": 30})
    if not res.success and res.nit >= max_iter:
        warn(f"the sparse L1-penalised logistic fit stopped after {max_iter} iterations", ConvergenceWarning)
    return (res.x[:k] - res.x[k:]) * s

