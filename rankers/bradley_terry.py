"""Bradley–Terry on aggregated counts: Newton (default), Hunter's MM, and a batched Newton
for resampling.

Every kernel works on the m × m matrix ``wins`` (``wins[i, j]`` = times i beat j, possibly
fractional, e.g. ties as half wins), so a fit costs O(m²) per iteration whatever the number
of battles. Strengths ``theta`` are log-odds: P(i beats j) = σ(θ_i − θ_j); they are returned
centred (mean 0). The likelihood only identifies differences, so Newton pins the last
strength during the fit (a gauge) and centres afterwards.

Maximum-likelihood strengths exist only when the comparison graph is strongly connected
(every model beat, or tied, some model that can reach it back); otherwise they run off to
infinity. The kernels do not check this: :func:`metaeval.rankers.rank` does, and refuses or
regularises (``prior > 0``: a Gaussian prior N(0, 1/prior) on each strength).

>>> import numpy as np
>>> from metaeval.rankers.bradley_terry import bt_newton_counts
>>> wins = np.array([[0, 3, 2], [1, 0, 2], [2, 1, 0]], float)
>>> theta, n_iter = bt_newton_counts(wins)
>>> np.round(theta, 4).tolist()
[0.3406, -0.1703, -0.1703]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.special import expit

from metaeval.errors import ConvergenceError, ConvergenceWarning, MetaevalError, warn
from metaeval.tables import Battles, Judgments, PairwiseCounts

__all__ = [
    "Battles",
    "battles_from_counts",
    "bt_loglik",
    "bt_mm_counts",
    "bt_newton_batch",
    "bt_newton_counts",
    "cell_counts",
    "cluster_meat",
    "code_battles",
    "counts_cube",
    "damped_newton",
    "fisher_information",
    "pair_cells",
    "sandwich_cov",
    "score_meat",
    "strongly_connected",
    "wins_ties",
]


def bt_loglik(theta: np.ndarray, wins: np.ndarray, prior: float = 0.0) -> float:
    """Log-likelihood (minus ``prior/2 ‖θ‖²``)."""
    d = theta[:, None] - theta[None, :]
    return float(np.sum(wins * -np.logaddexp(0.0, -d)) - 0.5 * prior * np.sum(theta**2))


def fisher_information(theta: np.ndarray, n: np.ndarray, prior: float = 0.0) -> np.ndarray:
    """Observed = expected information −∇² log L: a weighted graph Laplacian (+ prior · I)."""
    p = expit(theta[:, None] - theta[None, :])
    w = n * p * (1 - p)
    info = np.diag(w.sum(1)) - w
    if prior:
        info = info + prior * np.eye(len(theta))
    return info


def bt_newton_counts(
    wins: np.ndarray,
    *,
    prior: float = 0.0,
    init: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> tuple[np.ndarray, int]:
    """Maximum-likelihood (or MAP with ``prior``) strengths by damped Newton.

    Parameters
    ----------
    wins
        m × m, ``wins[i, j]`` = times i beat j.
    prior
        Precision of a N(0, 1/prior) prior on each strength (0: plain MLE, gauge pinned).
    init
        Starting strengths (zeros by default).
    max_iter, tol
        Stop when the largest absolute gradient is below ``tol`` × (number of comparisons).

    Returns
    -------
    (theta, n_iter)
        Centred strengths and the iterations used.
    """
    wins = np.asarray(wins, dtype=float)
    m = wins.shape[0]
    n = wins + wins.T
    theta = np.zeros(m) if init is None else np.asarray(init, dtype=float).copy()
    scale = max(float(n.sum()) / 2, 1.0)
    free = slice(None) if prior > 0 else slice(0, m - 1)
    ll = bt_loglik(theta, wins, prior)
    for it in range(1, max_iter + 1):
        p = expit(theta[:, None] - theta[None, :])
        grad = (wins - n * p).sum(1) - prior * theta
        if np.max(np.abs(grad)) <= tol * scale:
            return theta - theta.mean(), it - 1
        info = fisher_information(theta, n, prior)
        step = np.zeros(m)
        try:
            step[free] = np.linalg.solve(info[free, free], grad[free])
        except np.linalg.LinAlgError:
            raise ConvergenceError(
                "the Bradley–Terry information matrix is singular: the comparison graph is not connected"
            ) from None
        t = 1.0
        while True:  # backtracking keeps every step uphill
            cand = theta + t * step
            cand_ll = bt_loglik(cand, wins, prior)
            if cand_ll >= ll - 1e-12 * abs(ll) or t < 1e-8:
                break
            t /= 2
        theta, ll = cand, cand_ll
    warn(f"Bradley–Terry Newton stopped after {max_iter} iterations before reaching `tol`", ConvergenceWarning)
    return theta - theta.mean(), max_iter


def bt_mm_counts(
    wins: np.ndarray, *, init: np.ndarray | None = None, max_iter: int = 10_000, tol: float = 1e-10
) -> tuple[np.ndarray, int]:
    """Hunter's (2004) minorise–maximise iterations: slow but monotone; the fallback.

    π_i ← W_i / Σ_j n_ij / (π_i + π_j), with W_i the total wins of i.
    """
    wins = np.asarray(wins, dtype=float)
    n = wins + wins.T
    total = wins.sum(1)
    pi = np.ones(wins.shape[0]) if init is None else np.exp(np.asarray(init, dtype=float))
    for it in range(1, max_iter + 1):
        denom = (n / (pi[:, None] + pi[None, :])).sum(1)
        new = total / denom
        new /= np.exp(np.mean(np.log(new)))
        if np.max(np.abs(np.log(new) - np.log(pi))) < tol:
            pi = new
            theta = np.log(pi)
            return theta - theta.mean(), it
        pi = new
    warn(f"Bradley–Terry MM stopped after {max_iter} iterations", ConvergenceWarning)
    theta = np.log(pi)
    return theta - theta.mean(), max_iter


def bt_newton_batch(
    wins: np.ndarray,
    *,
    init: np.ndarray,
    prior: float = 0.0,
    max_iter: int = 50,
    tol: float = 1e-9,
) -> tuple[np.ndarray, np.ndarray]:
    """Newton on a stack of count matrices at once (resampling), warm-started at ``init``.

    Parameters
    ----------
    wins
        B × m × m.
    init
        m starting strengths (the full-data fit).

    Returns
    -------
    (theta, converged)
        B × m centred strengths and a B boolean mask; resamples that did not converge (their
        maximum-likelihood estimate does not exist) are flagged, not dropped.
    """
    wins = np.asarray(wins, dtype=float)
    B, m, _ = wins.shape
    n = wins + np.swapaxes(wins, 1, 2)
    theta = np.broadcast_to(np.asarray(init, dtype=float), (B, m)).copy()
    scale = np.maximum(n.sum((1, 2)) / 2, 1.0)
    free = m if prior > 0 else m - 1
    eye = np.eye(free)
    done = np.zeros(B, dtype=bool)
    for _ in range(max_iter):
        p = expit(theta[:, :, None] - theta[:, None, :])
        grad = (wins - n * p).sum(2) - prior * theta
        done = np.max(np.abs(grad), axis=1) <= tol * scale
        if done.all():
            break
        w = n * p * (1 - p)
        info = -w
        idx = np.arange(m)
        info[:, idx, idx] = w.sum(2) + prior
        sub = info[:, :free, :free] + 1e-12 * eye  # tiny ridge: a singular resample must not crash the batch
        step = np.zeros((B, m))
        step[:, :free] = np.linalg.solve(sub, grad[:, :free, None])[..., 0]
        step[done] = 0.0
        step = np.clip(step, -5.0, 5.0)  # damping for resamples far from the warm start
        theta = theta + step
    theta = theta - theta.mean(1, keepdims=True)
    ok = done & np.all(np.isfinite(theta), axis=1) & (np.max(np.abs(theta), axis=1) < 25)
    return theta, ok


# ---------------------------------------------------------------- battles: coding, connectivity, sandwich
# One home for what every Bradley–Terry fit on battles needs: the integer coding of models, outcomes
# (0: a won, 1: b won, 2: tie) and clusters; the per-cell counts; strong connectivity (when the
# maximum-likelihood strengths exist); and the (cluster-robust) sandwich covariance.

def code_battles(judgments: Judgments, cluster: str | None) -> Battles:
    """:meth:`Judgments.battles` (kept for the callers that take it from here)."""
    return judgments.battles(cluster)


def cell_counts(b: Battles, weights: np.ndarray | None = None) -> np.ndarray:
    m = len(b.models)
    flat = (b.ia * m + b.ib) * 3 + b.oc
    return np.bincount(flat, weights=weights, minlength=m * m * 3).reshape(m, m, 3).astype(float)


def wins_ties(cube: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(…, m, m, 3) cell counts → wins[i, j] (i beat j) and symmetric ties."""
    wins = cube[..., 0] + np.swapaxes(cube[..., 1], -1, -2)
    t = cube[..., 2]
    return wins, t + np.swapaxes(t, -1, -2)


def strongly_connected(wins: np.ndarray, ties: np.ndarray) -> bool:
    adj = (wins + ties) > 0
    return connected_components(adj, directed=True, connection="strong")[0] == 1


def counts_cube(pc: PairwiseCounts) -> np.ndarray:
    """The m × m × 3 cell counts of :func:`battles_from_counts`'s battles (i beat j in cell
    ``[i, j, 0]``, a tie of i < j in ``[i, j, 2]``), without expanding the battles: what the
    bootstrap of counts needs, in O(models²) memory whatever the number of battles."""
    m = pc.n_models
    cube = np.zeros((m, m, 3))
    cube[..., 0] = pc.wins
    cube[..., 2] = np.triu(pc.ties, 1)
    if not np.allclose(cube, np.round(cube)):
        raise MetaevalError("fractional counts cannot be resampled; pass the judgments table")
    return np.round(cube)


def battles_from_counts(pc: PairwiseCounts) -> Battles:
    """Expand counts into battles (integer counts only) so every method can use them. Memory:
    three integers per battle; the bootstrap of counts needs only :func:`counts_cube`."""
    m = pc.n_models
    cnt = counts_cube(pc).astype(np.int64).ravel()
    flat = np.repeat(np.arange(cnt.size), cnt)
    ia, rest = np.divmod(flat, m * 3)
    ib, oc = np.divmod(rest, 3)
    return Battles(pc.models, ia, ib, oc, None, 0)


def pair_cells(cube: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per compared unordered pair (i < j): indices, total, and the share of i-wins, j-wins, ties."""
    wins, ties = wins_ties(cube)
    i, j = np.triu_indices(cube.shape[0], 1)
    counts = np.stack([wins[i, j], wins[j, i], ties[i, j]], axis=1)
    n = counts.sum(1)
    keep = n > 0
    return i[keep], j[keep], n[keep], counts[keep] / n[keep, None]


def sandwich_cov(b: Battles, theta: np.ndarray, ties_mode: str, prior: float) -> np.ndarray:
    """Covariance of centred BT strengths: I⁺ M I⁺, M the (clustered) outer product of scores."""
    m = len(b.models)
    y = b.score
    keep = np.ones(len(y), bool) if ties_mode == "half" else b.oc != 2
    ia, ib, y = b.ia[keep], b.ib[keep], y[keep]
    p = expit(theta[ia] - theta[ib])
    r = y - p
    n = np.zeros((m, m))
    np.add.at(n, (ia, ib), 1.0)
    info = fisher_information(theta, n + n.T, prior)
    info_pinv = np.linalg.pinv(info, hermitian=True)
    # each battle's score is +r for model a and -r for model b; without clusters every battle is its own
    cl, n_cl = (np.arange(len(r)), len(r)) if b.cluster is None else (b.cluster[keep], b.n_clusters)
    meat = cluster_meat(np.concatenate([cl, cl]), np.concatenate([ia, ib]), np.concatenate([r, -r]), n_cl, m,
                        small_sample=b.cluster is not None)
    return info_pinv @ meat @ info_pinv


def damped_newton(params: np.ndarray, eta_of: Callable[[np.ndarray], np.ndarray],
                  objective: Callable[[np.ndarray, np.ndarray], float],
                  gradient: Callable[[np.ndarray, np.ndarray], np.ndarray],
                  information: Callable[[np.ndarray, np.ndarray], np.ndarray], *, tol: float, scale: float,
                  max_iter: int, what: str) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Maximise a penalised logistic log-likelihood by Newton steps, halved until the objective
    does not fall: the one loop of every Bradley–Terry fit with covariates (style and length
    control, judge scales).

    ``eta_of(params)`` gives the linear predictor, ``objective(eta, params)`` the penalised
    log-likelihood, ``gradient`` and ``information`` its gradient and negative Hessian. It stops
    when every gradient component is at most ``tol × scale`` (``scale``: the total weight), and
    warns (:class:`ConvergenceWarning`, naming ``what``) after ``max_iter`` steps. Returns the
    parameters, the linear predictor, the objective and the number of steps.

    >>> x = np.array([0.0, 1.0, 2.0, 3.0]); y = np.array([0.0, 1.0, 0.0, 1.0])
    >>> eta_of = lambda b: b[0] * x
    >>> obj = lambda e, b: float(np.sum(y * -np.logaddexp(0, -e) + (1 - y) * -np.logaddexp(0, e)))
    >>> grad = lambda e, b: np.array([x @ (y - expit(e))])
    >>> info = lambda e, b: np.array([[x @ (x * expit(e) * (1 - expit(e)))]])
    >>> b, _, _, n = damped_newton(np.zeros(1), eta_of, obj, grad, info, tol=1e-10, scale=4, max_iter=50, what="demo")
    >>> # statsmodels: Logit(y, x[:, None]).fit().params[0] = 0.30046
    >>> round(float(b[0]), 4), n < 10
    (0.3005, True)
    """
    eta = eta_of(params)
    obj = objective(eta, params)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        grad = gradient(eta, params)
        if np.max(np.abs(grad)) <= tol * max(scale, 1.0):
            break
        info = information(eta, params)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, grad, rcond=None)[0]
        t = 1.0
        while True:
            cand = params + t * step
            cand_eta = eta_of(cand)
            cand_obj = objective(cand_eta, cand)
            if cand_obj >= obj - 1e-12 * abs(obj) or t < 1e-8:
                break
            t /= 2
        params, eta, obj = cand, cand_eta, cand_obj
    else:
        warn(f"{what} stopped after {max_iter} iterations", ConvergenceWarning)
    return params, eta, obj, n_iter


def cluster_meat(cluster: np.ndarray, column: np.ndarray, value: np.ndarray, n_clusters: int, k: int, *,
                 small_sample: bool = True) -> np.ndarray:
    """The meat of a cluster-robust sandwich: Σ_c s_c s_cᵀ, with s_c the sum of the score
    contributions of cluster c, given as triplets (cluster, parameter column, value); times
    G / (G − 1) with ``small_sample``. Sparse, so it costs O(contributions), whatever the number
    of clusters: shared by the Bradley–Terry sandwich, Bradley–Terry with covariates and the
    out-of-core fits.

    >>> cluster_meat(np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([1.0, -1.0, 2.0]), 2, 2).tolist()
    [[10.0, -2.0], [-2.0, 2.0]]
    """
    S = sparse.coo_matrix((value, (cluster, column)), shape=(n_clusters, k)).tocsr()
    meat = score_meat(S)
    return meat * (n_clusters / max(n_clusters - 1, 1)) if small_sample else meat


def score_meat(scores: sparse.spmatrix, dense: np.ndarray | None = None) -> np.ndarray:
    """Σ_c g_c g_cᵀ from the clusters' summed scores, one row per cluster: g_c = [s_c, d_c], with
    ``scores`` a sparse clusters × k block (the strengths' scores: two nonzeros per battle, so
    it stays small whatever the number of clusters) and ``dense`` an optional dense
    clusters × p block (covariates: few columns, mostly nonzero). The meat's blocks are SᵀS,
    SᵀD and DᵀD; no small-sample factor (:func:`cluster_meat` applies it). The kernel of
    :func:`cluster_meat` and of the out-of-core sandwiches of :mod:`metaeval.battles`.

    >>> S = sparse.csr_matrix(np.array([[1.0, -1.0], [2.0, 0.0]]))
    >>> score_meat(S, np.array([[0.5], [1.0]])).tolist()
    [[5.0, -1.0, 2.5], [-1.0, 1.0, -0.5], [2.5, -0.5, 1.25]]
    """
    k = scores.shape[1]
    p = 0 if dense is None else dense.shape[1]
    meat = np.zeros((k + p, k + p))
    meat[:k, :k] = (scores.T @ scores).toarray()
    if dense is not None and p:
        sd = np.asarray(scores.T @ dense)
        meat[:k, k:] = sd
        meat[k:, :k] = sd.T
        meat[k:, k:] = dense.T @ dense
    return meat
