"""Paired comparisons with ties: Davidson (1970) and Rao–Kupper (1967), on aggregated counts.

Davidson: P(i ≻ j) = π_i / D, P(tie) = ν √(π_i π_j) / D, D = π_i + π_j + ν √(π_i π_j).
Rao–Kupper: P(i ≻ j) = σ(θ_i − θ_j − η), P(j ≻ i) = σ(θ_j − θ_i − η), tie otherwise (η ≥ 0);
the ordered-logit model of :func:`metaeval.simulate.pairwise`.

Both are fitted by L-BFGS with analytic gradients over the compared pairs; the location of
the strengths is fixed by a sum-to-zero penalty that does not change the likelihood.

Two tables put the tie parameter's maximum-likelihood estimate on the boundary of its range,
and the kernels return that boundary exactly instead of wherever the optimiser stopped:

- no decisive verdict (every compared pair tied): the strengths are all equal (0) and the tie
  parameter is infinite (ν̂ = η̂ = ∞); an optimiser would push it to 1e10 or beyond and leave
  the strengths as float noise, from which P(best) would then be drawn;
- no tie at all: the tie parameter is 0 and both models are Bradley–Terry, so the strengths
  are Bradley–Terry's (:func:`~metaeval.rankers.bradley_terry.bt_newton_counts`).

:func:`metaeval.rankers.rank` warns (``EstimationWarning``) when the table it ranks is one of
them.

>>> davidson_counts(np.zeros((2, 2)), np.array([[0, 5], [5, 0]], float))
(array([0., 0.]), inf)

>>> import numpy as np
>>> from metaeval.rankers.ties import davidson_counts
>>> wins = np.array([[0, 6, 5], [2, 0, 4], [3, 2, 0]], float)
>>> ties = np.array([[0, 2, 1], [2, 0, 3], [1, 3, 0]], float)
>>> theta, nu = davidson_counts(wins, ties)
>>> bool(theta[0] > theta[1] > theta[2]) and nu > 0
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from metaeval.errors import ConvergenceWarning, warn
from metaeval.rankers.bradley_terry import bt_newton_counts

__all__ = ["davidson_counts", "rao_kupper_counts"]


def _pairs(wins: np.ndarray, ties: np.ndarray) -> tuple[np.ndarray, ...]:
    i, j = np.triu_indices(wins.shape[0], 1)
    n = wins[i, j] + wins[j, i] + ties[i, j]
    keep = n > 0
    return i[keep], j[keep], wins[i, j][keep], wins[j, i][keep], ties[i, j][keep]


def _fit(fun: Callable[[np.ndarray], tuple[float, np.ndarray]], x0: np.ndarray, what: str) -> np.ndarray:
    res = minimize(fun, x0, jac=True, method="L-BFGS-B", options={"maxiter": 5000, "gtol": 1e-10, "ftol": 1e-15})
    if not res.success and "ABNORMAL" not in str(res.message):
        warn(f"{what} fit did not converge: {res.message}", ConvergenceWarning)
    return res.x


def _boundary(wij: np.ndarray, wji: np.ndarray, tij: np.ndarray, wins: np.ndarray, prior: float
              ) -> tuple[np.ndarray, float] | None:
    """The fit when the tie parameter's estimate is on its boundary: no decisive verdict
    (strengths 0, parameter ∞) or no tie (Bradley–Terry strengths, parameter 0); else None."""
    m = wins.shape[0]
    if not np.any(wij + wji > 0):
        return np.zeros(m), float("inf")
    if not np.any(tij > 0):
        theta = bt_newton_counts(wins, prior=prior)[0]
        return theta - theta.mean(), 0.0
    return None


def davidson_counts(wins: np.ndarray, ties: np.ndarray, *, prior: float = 0.0) -> tuple[np.ndarray, float]:
    """Davidson strengths (centred log π) and the tie parameter ν (∞ when no verdict was
    decisive, 0 when none was a tie: see the module's notes)."""
    wins, ties = np.asarray(wins, float), np.asarray(ties, float)
    m = wins.shape[0]
    i, j, wij, wji, tij = _pairs(wins, ties)
    n = wij + wji + tij
    edge = _boundary(wij, wji, tij, wins, prior)
    if edge is not None:
        return edge

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        th, delta = x[:m], x[m]
        s, u = th[i], th[j]
        mid = delta + 0.5 * (s + u)
        logD = np.logaddexp(np.logaddexp(s, u), mid)
        ll = np.sum(wij * s + wji * u + tij * mid - n * logD) - 0.5 * prior * np.sum(th**2)
        ps, pu, pt = np.exp(s - logD), np.exp(u - logD), np.exp(mid - logD)
        gs = wij + 0.5 * tij - n * (ps + 0.5 * pt)
        gu = wji + 0.5 * tij - n * (pu + 0.5 * pt)
        g = np.bincount(i, gs, m) + np.bincount(j, gu, m) - prior * th
        gd = np.sum(tij - n * pt)
        c = th.sum()
        return -ll + 0.5 * c**2, np.append(-g + c, -gd)

    x = _fit(fun, np.zeros(m + 1), "Davidson")
    th = x[:m] - x[:m].mean()
    return th, float(np.exp(x[m]))


def rao_kupper_counts(wins: np.ndarray, ties: np.ndarray, *, prior: float = 0.0) -> tuple[np.ndarray, float]:
    """Rao–Kupper strengths (centred) and the threshold η ≥ 0 (θ_RK = e^η; ∞ when no verdict
    was decisive, 0 when none was a tie: see the module's notes)."""
    wins, ties = np.asarray(wins, float), np.asarray(ties, float)
    m = wins.shape[0]
    i, j, wij, wji, tij = _pairs(wins, ties)
    edge = _boundary(wij, wji, tij, wins, prior)
    if edge is not None:
        return edge

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        th, kappa = x[:m], x[m]
        eta = np.exp(kappa)
        d = th[i] - th[j]
        a, b = d - eta, -d - eta
        pa, pb = expit(a), expit(b)
        tie = np.clip(1.0 - pa - pb, 1e-300, None)
        ll = np.sum(wij * log_expit(a) + wji * log_expit(b) + tij * np.log(tie)) - 0.5 * prior * np.sum(th**2)
        da, db = pa * (1 - pa), pb * (1 - pb)
        # d/dd and d/deta of each term
        g_d = wij * (1 - pa) - wji * (1 - pb) + tij * (-da + db) / tie
        g_eta = -wij * (1 - pa) - wji * (1 - pb) + tij * (da + db) / tie
        g = np.bincount(i, g_d, m) - np.bincount(j, g_d, m) - prior * th
        c = th.sum()
        return -ll + 0.5 * c**2, np.append(-g + c, -np.sum(g_eta) * eta)

    x = _fit(fun, np.append(np.zeros(m), np.log(0.5)), "Rao–Kupper")
    th = x[:m] - x[:m].mean()
    return th, float(np.exp(x[m]))
