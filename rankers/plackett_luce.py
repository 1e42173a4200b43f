"""Plackett–Luce for full or partial rankings with ties (Breslow), by MM; Rank Centrality.

A ranking is a best-first list of tied groups over some of the models (models it does not
mention are not ranked by it, as when a benchmark item was not run on every model). Each
stage picks the next group from the models still unranked: the group S from the remaining R
has probability ∏_{i∈S} π_i / (Σ_{j∈R} π_j)^{|S|} (Breslow's treatment of ties). The last
group picks from nothing else and carries no information; it is left out. Hunter's (2004)
minorise–maximise update π_i ← (a − 1 + w_i) / (b + Σ_stages∋i |S| / Σ_R π) with a Gamma(a, b)
prior (a = 1 + prior, b = prior; ``prior=0`` is the plain MLE, Caron & Doucet 2012).

>>> from metaeval.rankers.plackett_luce import plackett_luce_rankings
>>> theta, _ = plackett_luce_rankings([[[0], [1], [2]], [[0], [2], [1]], [[1], [0, 2]]], 3)
>>> bool(theta[0] > theta[1] and theta[0] > theta[2])
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from metaeval.errors import ConvergenceWarning, InsufficientDataError, warn

__all__ = ["plackett_luce_rankings", "rank_centrality_counts", "stages_from_rankings"]


def stages_from_rankings(
    rankings: Sequence[Sequence[Sequence[int]]], n_models: int
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """Sparse (stages × models) membership of the remaining set R and the chosen group S."""
    r_rows, r_cols, s_rows, s_cols = [], [], [], []
    stage = 0
    for ranking in rankings:
        groups = [list(g) for g in ranking if len(g)]
        remaining = [i for g in groups for i in g]
        for g in groups[:-1]:
            r_rows += [stage] * len(remaining)
            r_cols += remaining
            s_rows += [stage] * len(g)
            s_cols += g
            chosen = set(g)
            remaining = [i for i in remaining if i not in chosen]
            stage += 1
    R = sparse.csr_matrix((np.ones(len(r_rows)), (r_rows, r_cols)), shape=(stage, n_models))
    S = sparse.csr_matrix((np.ones(len(s_rows)), (s_rows, s_cols)), shape=(stage, n_models))
    return R, S


def plackett_luce_rankings(
    rankings: Sequence[Sequence[Sequence[int]]] | tuple[sparse.csr_matrix, sparse.csr_matrix],
    n_models: int,
    *,
    prior: float = 0.0,
    max_iter: int = 20_000,
    tol: float = 1e-9,
) -> tuple[np.ndarray, int]:
    """Plackett–Luce strengths (centred log π) from rankings of model indices."""
    R, S = rankings if isinstance(rankings, tuple) else stages_from_rankings(rankings, n_models)
    if R.shape[0] == 0:
        raise InsufficientDataError("no ranking orders two or more groups: nothing to fit")
    wins = np.asarray(S.sum(0)).ravel()
    k = np.asarray(S.sum(1)).ravel()
    appear = np.asarray(R.sum(0)).ravel()
    losses = appear - wins
    if prior <= 0:
        never_win = np.flatnonzero(wins == 0)
        never_lose = np.flatnonzero((losses == 0) & (appear > 0))
        if never_win.size or never_lose.size or np.any(appear == 0):
            raise InsufficientDataError(
                f"Plackett–Luce strengths do not exist: {never_win.size} models are never chosen ahead of another "
                f"and {never_lose.size} always are (or a model is never ranked); pass `prior` (e.g. 0.1) to "
                "regularise"
            )
    a, b = 1.0 + prior, prior
    Rt = R.T.tocsr()
    pi = np.ones(n_models)
    for it in range(1, max_iter + 1):
        denom = R @ pi
        d = Rt @ (k / denom)
        new = (a - 1.0 + wins) / (b + d)
        new = new / np.exp(np.mean(np.log(new)))
        if np.max(np.abs(np.log(new) - np.log(pi))) < tol:
            theta = np.log(new)
            return theta - theta.mean(), it
        pi = new
    warn(f"Plackett–Luce MM stopped after {max_iter} iterations", ConvergenceWarning)
    theta = np.log(pi)
    return theta - theta.mean(), max_iter


def rank_centrality_counts(wins: np.ndarray, ties: np.ndarray | None = None, *, eps: float = 0.0) -> np.ndarray:
    """Rank Centrality (Negahban, Oh & Shah 2017): the stationary distribution of a random walk
    that moves from a model towards the models that beat it; returned as centred log scores.

    Ties count half a win each way; ``eps`` adds a small uniform jump (regularisation for
    graphs that are not strongly connected).
    """
    wins = np.asarray(wins, float)
    if ties is not None:
        wins = wins + 0.5 * np.asarray(ties, float)
    m = wins.shape[0]
    n = wins + wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(n > 0, wins.T / n, 0.0)  # frac[i, j] = share of i-vs-j comparisons won by j
    if eps:
        off = ~np.eye(m, dtype=bool)
        frac = np.where(off, (frac + eps) / (1 + 2 * eps), 0.0)
    d_max = max(int(((n > 0) | (eps > 0)).sum(1).max()), 1)
    P = frac / d_max
    np.fill_diagonal(P, 1.0 - P.sum(1))
    vals, vecs = np.linalg.eig(P.T)
    k = int(np.argmin(np.abs(vals - 1.0)))
    pi = np.abs(np.real(vecs[:, k]))
    if np.any(pi <= 0):
        raise InsufficientDataError("Rank Centrality needs a strongly connected comparison graph; pass `eps` > 0")
    theta = np.log(pi)
    return theta - theta.mean()
