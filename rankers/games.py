"""Game-theoretic kernels: maximum-entropy Nash equilibria of zero-sum games (Nash averaging,
maximal lotteries), α-Rank and the maximum-entropy coarse correlated equilibria behind the
equilibrium ratings of Liu et al. (ICLR 2025).

Everything here works on plain arrays; :mod:`metaeval.rankers.game_rank` turns tables into
games and adds intervals.

**Identical actions count once.** Every solver first merges actions whose payoffs are
identical (a cloned model, a duplicated prompt), solves the merged game and splits each merged
action's mass equally among its copies. This is the maximum of the *affinity entropy* with the
0/1 kernel "same payoffs" (Leinster–Cobbold similarity-sensitive entropy; Liu et al. 2025): the
Shannon entropy of the merged distribution. Shannon entropy itself rewards copies (a cloned
action's mass gains ``p log 2`` of entropy), so without the merge adding a copy can move every
other rating whenever the equilibrium is not unique. With it, copies leave every other rating
and mass exactly unchanged.

>>> import numpy as np
>>> rps = np.array([[0., -1, 1], [1, 0, -1], [-1, 1, 0]])
>>> eq = nash_averaging(rps)
>>> np.round(eq.mass, 6).tolist(), np.round(eq.rating, 6).tolist()
([0.333333, 0.333333, 0.333333], [0.0, 0.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linprog, minimize
from scipy.special import logsumexp

from metaeval._numeric import check_magnitude
from metaeval._validate import renamed_parameters
from metaeval.errors import ConvergenceWarning, InsufficientDataError, MetaevalError, ParameterError, warn

__all__ = [
    "AlphaRank",
    "CoarseCorrelated",
    "ZeroSumSolution",
    "alpha_rank",
    "alpha_rank_multipop",
    "alpha_sweep",
    "equilibrium_game",
    "equilibrium_ratings",
    "identical_classes",
    "max_entropy_cce",
    "maximal_lottery",
    "nash_averaging",
    "nash_averaging_tasks",
    "stationary_distribution",
    "task_win_matrix",
    "zero_sum_max_entropy",
]


# ----------------------------------------------------------------------------- identical actions
def identical_classes(rows: np.ndarray, *, decimals: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Group identical rows: ``(labels, representatives)`` with ``labels[i]`` the class of row i
    and ``representatives[c]`` the first row of class c (classes in order of first appearance).
    Rows are compared after rounding to ``decimals`` digits relative to the largest entry."""
    rows = np.asarray(rows, float).reshape(len(rows), -1)
    scale = float(np.max(np.abs(rows))) if rows.size else 1.0
    key = np.round(rows / (scale if scale > 0 else 1.0), decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    seen: dict[bytes, int] = {}
    labels = np.empty(len(rows), dtype=np.int64)
    reps: list[int] = []
    for i, row in enumerate(key):
        c = seen.setdefault(row.tobytes(), len(reps))
        if c == len(reps):
            reps.append(i)
        labels[i] = c
    return labels, np.array(reps, dtype=np.int64)


def _split(mass: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Spread each class's mass equally over its members."""
    counts = np.bincount(labels, minlength=mass.size)
    return mass[labels] / counts[labels]


# ----------------------------------------------------------------------------- zero-sum games
@dataclass(frozen=True)
class ZeroSumSolution:
    """Maximum-entropy optimal strategies of a two-player zero-sum game (row maximises).

    ``row`` / ``col``: the strategies; ``value``: the game's value; ``row_payoff``: each row
    action's payoff against ``col`` (``A @ col``); ``col_payoff``: each column action's payoff
    to the row player against ``row`` (``row @ A``); ``gap``: the exploitability of the pair
    (0 at an exact equilibrium).
    """

    row: np.ndarray
    col: np.ndarray
    value: float
    row_payoff: np.ndarray
    col_payoff: np.ndarray
    gap: float


def _game_value(A: np.ndarray) -> tuple[np.ndarray, float]:
    """An optimal strategy p of the maximising row player by linear programming, and the value
    it guarantees, min_j (pᵀA)_j, recomputed from p itself: a certified lower bound on the game's
    value (the LP's own optimum can overshoot by its feasibility tolerance, and a support search
    at an overshooting value would find nothing)."""
    n, k = A.shape
    c = np.zeros(n + 1)
    c[-1] = -1.0
    res = linprog(c, A_ub=np.hstack([-A.T, np.ones((k, 1))]), b_ub=np.zeros(k),
                  A_eq=np.hstack([np.ones((1, n)), np.zeros((1, 1))]), b_eq=[1.0],
                  bounds=[(0, None)] * n + [(None, None)], method="highs")
    if not res.success:  # pragma: no cover - a bounded feasible LP
        raise MetaevalError(f"the game's linear program failed: {res.message}")
    p = np.clip(res.x[:n], 0.0, None)
    p /= p.sum()
    return p, float(np.min(p @ A))


_SUPPORT_CAP = 1e4


def _optimal_support(A: np.ndarray, value: float) -> np.ndarray:
    """The union of the supports of all optimal row strategies, by one linear program.

    The optimal strategies, unnormalised, form the cone {y ≥ 0 : Aᵀy ≥ value · Σy}. Maximising
    Σ min(y_i, 1) over that cone sets min(y_i, 1) = 1 on every action that some optimal
    strategy uses (the cone is closed under sums and scaling) and 0 elsewhere. y is capped: the
    cone is scale-invariant, and the solver's feasibility tolerance grows with the scale; an
    action whose largest optimal mass is below about 1/cap of the largest is missed.
    """
    n, k = A.shape
    # variables [y (n), z (n)]; maximise sum z  s.t.  z - y <= 0,  -(A^T y) + value * sum(y) <= 0
    c = np.concatenate([np.zeros(n), -np.ones(n)])
    A_ub = np.vstack([np.hstack([-np.eye(n), np.eye(n)]),
                      np.hstack([-A.T + value, np.zeros((k, n))])])
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(n + k), bounds=[(0, _SUPPORT_CAP)] * n + [(0, 1)] * n, method="highs")
    if not res.success:  # pragma: no cover
        raise MetaevalError(f"the support linear program failed: {res.message}")
    return res.x[n:] > 0.5


def _newton_dual(B: np.ndarray, value: float, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """min_λ log Σ_i exp((Bλ)_i) − value · Σλ over free λ by Newton's method (least-squares
    steps for redundant constraints, backtracking line search); returns (λ, p ∝ exp(Bλ))."""

    def f(lam: np.ndarray) -> tuple[float, np.ndarray]:
        logits = B @ lam
        top = float(logits.max())
        e = np.exp(logits - top)
        z = float(e.sum())
        return top + float(np.log(z)) - value * float(lam.sum()), e / z

    fx, p = f(lam)
    for _ in range(100):
        grad = B.T @ p - value
        if np.max(np.abs(grad), initial=0.0) < 1e-12:
            break
        Bc = B - p @ B  # centred rows
        H = (Bc * p[:, None]).T @ Bc
        step = -np.linalg.lstsq(H, grad, rcond=1e-12)[0]
        slope = float(grad @ step)
        if slope >= 0:  # not a descent direction (numerically singular): fall back to the gradient
            step, slope = -grad, -float(grad @ grad)
        if -slope < 1e-24:  # the Newton decrement: nothing left to gain at double precision
            break
        t = 1.0
        for _ in range(40):
            fn, pn = f(lam + t * step)
            if fn <= fx + 1e-4 * t * slope:
                break
            t /= 2
        else:
            break  # no decrease representable: converged to rounding
        lam, fx, p = lam + t * step, fn, pn
    return lam, p


def _max_entropy_on_face(B: np.ndarray, value: float, tight: np.ndarray) -> np.ndarray:
    """max H(p) over {p ≥ 0, Σp = 1, Bᵀp ≥ value} where the ``tight`` columns hold with
    equality for every feasible p. An active-set loop over the other columns: solve with the
    active ones as equalities (Newton on the dual), add the most violated column, drop one whose
    multiplier turns negative; a handful of rounds, each warm-started."""
    n, k = B.shape
    active = tight.copy()
    lam = np.zeros(k)
    tol = 1e-11
    for _ in range(4 * k + 10):
        idx = np.flatnonzero(active)
        if idx.size:
            lam_a, p = _newton_dual(B[:, idx], value, lam[idx])
            lam[:] = 0.0
            lam[idx] = lam_a
        else:
            p = np.full(n, 1.0 / n)
        optional = active & ~tight
        if optional.any() and lam[optional].min() < -1e-9:
            drop = np.flatnonzero(optional)[np.argmin(lam[optional])]
            active[drop] = False
            continue
        slack = B.T @ p - value
        slack[active] = np.inf
        j = int(np.argmin(slack))
        if slack[j] >= -tol:
            return p
        active[j] = True
    return p  # pragma: no cover - the loop ends well before


def _max_entropy_optimal(A: np.ndarray) -> tuple[np.ndarray, float]:
    """The maximum-entropy optimal strategy of the maximising row player, and the value.

    The value comes from one LP, and the largest supports of optimal strategies of both players
    (S for the rows, T for the columns) from one LP each. By complementary slackness every
    optimal row strategy lives on S and pays exactly the value against each column in T. So the
    problem is entropy maximisation over the simplex on S, with equalities for T and
    inequalities for the other columns — on S the entropy is smooth, and an active-set loop with
    Newton's method on the dual solves it to machine precision in a few steps (the generic
    first-order dual crawls when the equilibrium is unique). A game with a dominant strategy
    (|S| = 1) needs no iteration.
    """
    n = A.shape[0]
    scale = float(np.max(np.abs(A)))
    if scale == 0:
        return np.full(n, 1.0 / n), 0.0
    As = A / scale
    _, value = _game_value(As)
    _, col_value = _game_value(-As.T)
    rows = _optimal_support(As, value)
    cols = _optimal_support(-As.T, col_value)
    if not rows.any() or not cols.any():  # pragma: no cover - numerical corner
        raise MetaevalError("could not identify the equilibrium's support (the game is numerically degenerate)")
    p = np.zeros(n)
    idx = np.flatnonzero(rows)
    p[idx] = 1.0 if idx.size == 1 else _max_entropy_on_face(As[idx], value, cols)
    return p, value * scale


def zero_sum_max_entropy(A: np.ndarray, *, merge_identical: bool = True) -> ZeroSumSolution:
    """Maximum-entropy Nash equilibrium of the zero-sum game with row payoffs ``A``.

    The set of Nash equilibria of a zero-sum game is the product of the two players' sets of
    optimal strategies, so each player's maximum-entropy strategy is found on its own. With
    ``merge_identical`` (the default) identical rows / columns count once (see the module notes).

    >>> sol = zero_sum_max_entropy(np.array([[3., 1.], [2., 2.]]))  # row 2 guarantees 2
    >>> float(round(sol.value, 9)), sol.row.round(6).tolist()
    (2.0, [0.0, 1.0])
    """
    A = np.asarray(A, float)
    if A.ndim != 2 or min(A.shape) < 1:
        raise MetaevalError(f"the payoff matrix must be 2-d and non-empty; got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise MetaevalError("the payoff matrix must be finite (no nan or inf)")
    check_magnitude(A, "payoff matrix")
    if merge_identical:
        rlab, rrep = identical_classes(A)
        clab, crep = identical_classes(A.T)
        M = A[np.ix_(rrep, crep)]
    else:
        rlab, clab = np.arange(A.shape[0]), np.arange(A.shape[1])
        M = A
    p, value = _max_entropy_optimal(M)
    q, _ = _max_entropy_optimal(-M.T)
    row, col = _split(p, rlab), _split(q, clab)
    row_payoff, col_payoff = A @ col, row @ A
    gap = float(row_payoff.max() - col_payoff.min())
    scale = float(np.max(np.abs(A))) or 1.0
    if gap > 1e-6 * scale:
        warn(f"the equilibrium solver stopped {gap:.3g} short of an exact equilibrium (exploitability); "
             "ratings are approximate", ConvergenceWarning)
    return ZeroSumSolution(row, col, value, row_payoff, col_payoff, gap)


@dataclass(frozen=True)
class NashAverage:
    """Nash averaging (Balduzzi et al. 2018): the maximum-entropy Nash ``mass`` and the
    ``rating`` (payoff against it). For the agent-vs-task game ``task_mass`` is the tasks'
    equilibrium and ``task_rating`` each task's difficulty (minus the Nash agents' normalised
    score on it)."""

    mass: np.ndarray
    rating: np.ndarray
    value: float
    gap: float
    task_mass: np.ndarray | None = None
    task_rating: np.ndarray | None = None


def nash_averaging(M: np.ndarray, *, merge_identical: bool = True) -> NashAverage:
    """Agent-vs-agent Nash averaging of an antisymmetric payoff matrix (e.g. the logit of the
    win-rate matrix): ``mass`` is the maximum-entropy symmetric Nash equilibrium, ``rating =
    M @ mass`` (≤ 0; 0 for every model the equilibrium uses).

    >>> transitive = np.array([[0., 1, 2], [-1, 0, 1], [-2, -1, 0]])
    >>> nash_averaging(transitive).mass.round(6).tolist()
    [1.0, 0.0, 0.0]
    """
    M = np.asarray(M, float)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise MetaevalError(f"agent-vs-agent Nash averaging needs a square matrix; got shape {M.shape}")
    asym = float(np.max(np.abs(M + M.T))) if M.size else 0.0
    if asym > 1e-9 * max(1.0, float(np.max(np.abs(M)))):
        raise MetaevalError(f"the payoff matrix must be antisymmetric (M = -Mᵀ); the largest |M + Mᵀ| is {asym:.3g}")
    sol = zero_sum_max_entropy(M, merge_identical=merge_identical)
    # Symmetric game: both players' maximum-entropy strategies coincide; average away round-off.
    mass = (sol.row + sol.col) / 2
    return NashAverage(mass, M @ mass, 0.0, sol.gap)


def normalise_tasks(S: np.ndarray, how: str = "ptp") -> np.ndarray:
    """Per-task (column) normalisation of a models × tasks score matrix: ``"ptp"`` maps each task
    to [0, 1] (min → 0, max → 1; a constant task → 0), ``"uvzm"`` to unit variance with the best
    model at 0, ``"none"`` leaves the scores."""
    S = np.asarray(S, float)
    if how == "none":
        return S.copy()
    if how == "ptp":
        low = S.min(0, keepdims=True)
        rng_ = S.max(0, keepdims=True) - low
        return (S - low) / np.where(rng_ > 0, rng_, 1.0)
    if how == "uvzm":
        sd = S.std(0, keepdims=True)
        Z = S / np.where(sd > 0, sd, 1.0)
        return Z - Z.max(0, keepdims=True)
    raise ParameterError(f"`normalize` must be 'ptp', 'uvzm' or 'none'; got {how!r}")


def nash_averaging_tasks(S: np.ndarray, *, normalize: str = "ptp", merge_identical: bool = True) -> NashAverage:
    """Agent-vs-task Nash averaging (Balduzzi et al. 2018, appendix D): models (rows) maximise
    and tasks (columns) minimise the per-task normalised score. ``rating`` is each model's
    score against the tasks' equilibrium, ``task_rating`` each task's difficulty
    (``-Sᵀ mass``, as in OpenSpiel's implementation).

    >>> S = np.array([[1., 0.], [0., 1.], [0.4, 0.4]])  # two specialists and a generalist
    >>> na = nash_averaging_tasks(S)
    >>> na.mass.round(3).tolist(), na.task_mass.round(3).tolist()
    ([0.5, 0.5, 0.0], [0.5, 0.5])
    """
    S = np.asarray(S, float)
    if S.ndim != 2 or min(S.shape) < 1:
        raise MetaevalError(f"the score matrix must be models x tasks; got shape {S.shape}")
    if not np.all(np.isfinite(S)):
        raise MetaevalError("agent-vs-task Nash averaging needs a complete score matrix (no missing scores)")
    check_magnitude(S, "score matrix")
    N = normalise_tasks(S, normalize)
    sol = zero_sum_max_entropy(N, merge_identical=merge_identical)
    return NashAverage(sol.row, sol.row_payoff, sol.value, sol.gap, sol.col, -sol.col_payoff)


def maximal_lottery(margins: np.ndarray, *, merge_identical: bool = True) -> np.ndarray:
    """The maximal lottery (Fishburn 1984; Brandl, Brandt & Seedig 2016): the maximum-entropy
    Nash equilibrium of the symmetric zero-sum game whose payoffs are the majority margins
    ``margins[i, j] = P(i ≻ j) − P(j ≻ i)`` (antisymmetric). A Condorcet winner gets all the
    mass; a majority cycle splits it.

    >>> cycle = np.array([[0., 1, -1], [-1, 0, 1], [1, -1, 0]])
    >>> maximal_lottery(cycle).round(6).tolist()
    [0.333333, 0.333333, 0.333333]
    """
    return nash_averaging(margins, merge_identical=merge_identical).mass


def task_win_matrix(S: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """``W[i, j]``: the (weighted) share of tasks on which model i scores above model j, ties
    counting ½ — the symmetric game behind α-Rank and the maximal lottery on a leaderboard
    (``2W − 1`` is the majority-margin matrix).

    >>> task_win_matrix(np.array([[1., 2.], [0., 3.]])).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    S = np.asarray(S, float)
    m, n = S.shape
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    W = np.zeros((m, m))
    step = max(1, (32 * 2**20) // max(1, 8 * m * m))  # tasks per chunk: about 32 MB of m x m x chunk
    for s in range(0, n, step):
        St, wt = S[:, s:s + step], w[s:s + step]
        W += ((np.sign(St[:, None, :] - St[None, :, :]) + 1) / 2 * wt).sum(-1)
    return W / w.sum()


# ----------------------------------------------------------------------------- α-Rank
def _log_fixation(u: np.ndarray, m: int) -> np.ndarray:
    """log of the fixation probability ρ(u) = (1 − e^{−u}) / (1 − e^{−m u}) of a mutant with
    fitness advantage ``u`` (already times α) in a population of ``m``; 1/m when neutral.
    Written so that neither branch overflows at any α."""
    u = np.asarray(u, float)
    out = np.full(u.shape, -np.log(m))
    pos, neg = u > 1e-14, u < -1e-14
    up = u[pos]
    out[pos] = np.log(-np.expm1(-up)) - np.log(-np.expm1(-m * up))
    un = u[neg]
    out[neg] = (m - 1) * un + np.log(-np.expm1(un)) - np.log(-np.expm1(m * un))
    return out


def stationary_distribution(log_rates: np.ndarray) -> np.ndarray:
    """Stationary distribution of a Markov chain from the logs of its off-diagonal transition
    probabilities (``-inf`` for none; the diagonal is ignored).

    GTH state reduction (Grassmann, Taksar & Heyman 1985) — Gaussian elimination without
    subtractions, the numerically stable linear solve for stationary distributions — carried out
    in log space, so transition probabilities of e^{-5000} (α-Rank at large α) neither underflow
    nor lose the chain's irreducibility. A reducible chain with one closed class is solved on
    that class (transient states get 0); one with more than one closed class has no unique
    stationary distribution, and that raises :class:`~metaeval.errors.InsufficientDataError`
    naming the classes' sizes.

    >>> P = np.log([[1e-300, .5], [.25, 1e-300]])  # 0 → 1 w.p. .5, 1 → 0 w.p. .25 (diagonal ignored)
    >>> stationary_distribution(P).round(6).tolist()
    [0.333333, 0.666667]
    """
    L = np.array(log_rates, float)
    n = L.shape[0]
    if L.shape != (n, n):
        raise ParameterError(f"`log_rates` must be square; got shape {L.shape}")
    if n == 1:
        return np.ones(1)
    from scipy.sparse.csgraph import connected_components

    adj = np.isfinite(L)
    np.fill_diagonal(adj, False)
    ncomp, lab = connected_components(adj, directed=True, connection="strong")
    if ncomp > 1:
        # closed classes: strongly connected components with no edge leaving them
        leaves = np.zeros(ncomp, bool)
        src, dst = np.nonzero(adj)
        leaves[lab[src][lab[src] != lab[dst]]] = True
        closed = np.flatnonzero(~leaves)
        if closed.size > 1:
            sizes = sorted(int((lab == c).sum()) for c in closed)
            raise InsufficientDataError(
                f"the Markov chain has {closed.size} closed classes (sizes {sizes}): its stationary distribution "
                "is not unique; α-Rank's infinite-α model (or a finite α) makes it unique")
        # one closed class: the transient states carry no stationary mass; solve on the class
        keep = lab == closed[0]
        out = np.zeros(n)
        out[keep] = stationary_distribution(L[np.ix_(keep, keep)])
        return out
    np.fill_diagonal(L, -np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(n - 1, 0, -1):
            s = logsumexp(L[k, :k])
            if not np.isfinite(s):  # pragma: no cover - excluded by the class analysis above
                raise InsufficientDataError("the Markov chain is reducible: no unique stationary distribution")
            L[:k, k] -= s
            L[:k, :k] = np.logaddexp(L[:k, :k], L[:k, k][:, None] + L[k, :k][None, :])
        logpi = np.zeros(n)
        for j in range(1, n):
            logpi[j] = logsumexp(logpi[:j] + L[:j, j])
    return np.exp(logpi - logsumexp(logpi))


@dataclass(frozen=True)
class AlphaRank:
    """α-Rank's stationary distribution ``pi`` over strategies (single population) or strategy
    profiles (multi-population, with ``profiles`` and each population's ``marginals``), and the
    fixation probabilities ``rho[s, r]`` of r invading s (single population: ``nan`` on the
    diagonal; multi-population: over profiles, 0 between profiles more than one move apart).
    ``intensity`` is the selection intensity α it ran at and ``m`` the population size."""

    pi: np.ndarray
    intensity: float
    m: int
    rho: np.ndarray
    profiles: np.ndarray | None = None
    marginals: tuple[np.ndarray, ...] = field(default_factory=tuple)

    @property
    def alpha(self) -> float:
        """The old name of :attr:`intensity` (goes in the next release: ``alpha`` is a significance level
        everywhere else in metaeval)."""
        warn("`AlphaRank.alpha` is now `AlphaRank.intensity`; the old name goes in the next release", FutureWarning)
        return self.intensity


def _inf_alpha_log_rho(adv: np.ndarray, log_eps: float) -> np.ndarray:
    """Infinite-α transition weights (OpenSpiel's model): 1 − ε towards a strictly better
    strategy, ½ when neutral, ε towards a worse one."""
    out = np.full(adv.shape, np.log(0.5))
    out[adv > 1e-14] = np.log1p(-np.exp(log_eps)) if log_eps > -700 else 0.0
    out[adv < -1e-14] = log_eps
    return out


@renamed_parameters(alpha="intensity")
def alpha_rank(payoffs: np.ndarray, *, intensity: float = 100.0, m: int = 50, local_selection: bool = True,
               eps: float | None = None, constant_sum: bool | None = None) -> AlphaRank:
    """Single-population α-Rank (Omidshafiei et al. 2019) of a symmetric game.

    ``payoffs[r, s]`` is the payoff of strategy r against s (e.g. the win rate of model r
    against s). A monomorphic population of ``m`` playing s is invaded by r with the fixation
    probability of the Fermi process with selection intensity ``intensity`` (the paper's α; the
    old keyword ``alpha=`` still works for one release, with a ``FutureWarning``). With
    ``local_selection=True`` (OpenSpiel's default) the fitness is the payoff against the
    current opponent; with ``False`` it is the payoff against the mixed population (exact for
    general-sum games; a closed form for constant-sum ones). ``intensity=np.inf`` gives the
    infinite-α model (1 − ε up, ½ neutral, ε down) in the ε → 0 limit, or at the given ``eps``.
    ``constant_sum`` (detected when ``None``) picks the closed form of the population fitness.

    >>> rps = np.array([[.5, 0, 1], [1, .5, 0], [0, 1, .5]])
    >>> alpha_rank(rps, intensity=10).pi.round(6).tolist()
    [0.333333, 0.333333, 0.333333]
    """
    M = np.asarray(payoffs, float)
    n = M.shape[0]
    if M.ndim != 2 or M.shape[1] != n:
        raise MetaevalError(f"single-population α-Rank needs a square payoff matrix; got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise MetaevalError("the payoff matrix must be finite (no nan or inf)")
    check_magnitude(M, "payoff matrix")
    if not (intensity > 0):
        raise ParameterError(f"`intensity` must be positive; got {intensity!r}")
    if int(m) != m or m < 2:
        raise MetaevalError(f"`m` (the population size) must be an integer >= 2; got {m!r}")
    m = int(m)
    if n == 1:
        return AlphaRank(np.ones(1), float(intensity), m, np.ones((1, 1)))
    # rows: resident s; columns: mutant r
    if np.isinf(intensity):
        log_eps = -1e4 if eps is None else float(np.log(eps))
        log_rho = _inf_alpha_log_rho(M.T - M, log_eps)  # M.T[s, r] = M[r, s]: the mutant's payoff
    elif local_selection:
        log_rho = _log_fixation(intensity * (M.T - M), m)
    else:
        total = M + M.T
        off = ~np.eye(n, dtype=bool)
        c = total[off][0] if n > 1 else 0.0
        if constant_sum is None:
            constant_sum = bool(np.allclose(total[off], c, atol=1e-12) and np.allclose(np.diag(M), c / 2, atol=1e-12))
        if constant_sum:
            log_rho = _log_fixation(intensity * m / (m - 1) * (M.T - c / 2), m)
        else:
            # fitness gap with k mutants: d(k) = a + b k; the product over k = 1..l is exp(-α Σ d)
            Mrr = np.diag(M)[None, :]
            Mss = np.diag(M)[:, None]
            Mrs, Msr = M.T, M  # [s, r]
            a = (-Mrr + m * Mrs - (m - 1) * Mss) / (m - 1)
            b = (Mrr - Mrs + Mss - Msr) / (m - 1)
            ell = np.arange(m)  # l = 0 .. m-1 (l = 0 is the "1 +" term)
            expo = -intensity * (a[..., None] * ell + b[..., None] * ell * (ell + 1) / 2)
            log_rho = -logsumexp(expo, axis=-1)
    eta = 1.0 / (n - 1)
    L = np.log(eta) + log_rho
    np.fill_diagonal(L, -np.inf)
    pi = stationary_distribution(L)
    rho = np.exp(log_rho)
    np.fill_diagonal(rho, np.nan)
    return AlphaRank(pi, float(intensity), m, rho)


@renamed_parameters(alpha="intensity")
def alpha_rank_multipop(payoffs: Sequence[np.ndarray], *, intensity: float = 100.0, m: int = 50,
                        eps: float | None = None) -> AlphaRank:
    """Multi-population α-Rank: ``payoffs[k]`` is population k's payoff tensor over the joint
    strategy profile (shape ``n_1 × … × n_K``). The chain runs over profiles; a profile moves
    when one population adopts a mutant strategy. ``marginals[k]`` is population k's mass per
    strategy. ``intensity`` is the selection intensity α (``alpha=``, its old name, still works for one
    release, with a ``FutureWarning``).

    >>> A = np.array([[1., 0.], [0., 2.]])  # a coordination game: (1, 1) pays most
    >>> ar = alpha_rank_multipop([A, A], intensity=10, m=10)
    >>> int(np.argmax(ar.pi))  # profile (1, 1), flattened
    3
    """
    tables = [np.asarray(p, float) for p in payoffs]
    K = len(tables)
    if K < 2:
        raise MetaevalError("multi-population α-Rank needs one payoff tensor per population (at least two)")
    shape = tables[0].shape
    if len(shape) != K or any(t.shape != shape for t in tables):
        shapes = [t.shape for t in tables]
        raise MetaevalError(f"each payoff tensor must have one axis per population; got shapes {shapes}")
    if not (intensity > 0):
        raise ParameterError(f"`intensity` must be positive; got {intensity!r}")
    m = int(m)
    n_prof = int(np.prod(shape))
    eta = 1.0 / sum(s - 1 for s in shape)
    L = np.full((n_prof, n_prof), -np.inf)
    idx = np.arange(n_prof).reshape(shape)
    log_eps = -1e4 if eps is None else float(np.log(eps))
    for k, table in enumerate(tables):
        t = np.moveaxis(table, k, -1)  # (..., n_k): payoff to population k for each own strategy
        ids = np.moveaxis(idx, k, -1)
        cur = t[..., :, None]  # resident strategy s_k
        mut = t[..., None, :]  # mutant strategy r_k
        adv = mut - cur
        lr = _inf_alpha_log_rho(adv, log_eps) if np.isinf(intensity) else _log_fixation(intensity * adv, m)
        src = np.broadcast_to(ids[..., :, None], adv.shape)
        dst = np.broadcast_to(ids[..., None, :], adv.shape)
        off = src != dst
        L[src[off], dst[off]] = np.log(eta) + lr[off]
    pi = stationary_distribution(L)
    profiles = np.stack(np.unravel_index(np.arange(n_prof), shape), axis=1)
    marg = tuple(np.bincount(profiles[:, k], weights=pi, minlength=shape[k]) for k in range(K))
    rho = np.exp(L - np.log(eta))  # fixation probability of each one-population move (0 where none)
    return AlphaRank(pi, float(intensity), m, rho, profiles, marg)


@renamed_parameters(alphas="intensities")
def alpha_sweep(payoffs: np.ndarray, *, intensities: Sequence[float] | None = None, m: int = 50,
                local_selection: bool = True, tol: float = 1e-3) -> tuple[np.ndarray, np.ndarray, float]:
    """α-Rank over a grid of selection intensities: ``(intensities, pis, suggested_intensity)``.

    ``pis[i]`` is the stationary distribution at ``intensities[i]`` (default: 36 points from 1e-3
    to 1e4; ``alphas=``, the old name, still works for one release, with a ``FutureWarning``).
    The suggested intensity is the smallest on the grid from which the distribution stays within
    ``tol`` (largest absolute change) of its value at the largest one — the start of the plateau
    the α-Rank paper recommends ranking at (large enough that the ranking reflects payoffs, not
    mutation noise).
    """
    grid = np.asarray(intensities if intensities is not None else np.logspace(-3, 4, 36), float)
    if grid.ndim != 1 or grid.size < 2 or np.any(grid <= 0):
        raise ParameterError("`intensities` must be at least two positive numbers")
    grid = np.sort(grid)
    pis = np.stack([alpha_rank(payoffs, intensity=a, m=m, local_selection=local_selection).pi for a in grid])
    close = np.max(np.abs(pis - pis[-1]), axis=1) <= tol
    # the first index from which every later one is close
    tail = np.flatnonzero(~close)
    first = 0 if tail.size == 0 else int(tail[-1]) + 1
    return grid, pis, float(grid[min(first, grid.size - 1)])


# ----------------------------------------------------------------------------- N-player CCE
@dataclass(frozen=True)
class CoarseCorrelated:
    """A maximum-entropy ε-(coarse) correlated equilibrium ``joint`` (one axis per player) with
    each player's ``ratings`` — the gain of switching to each action against the others'
    equilibrium play, E[u_i(a, x₋ᵢ)] − E[u_i(x)], as in Liu et al. (2025) and polarix (≤ ε for
    every action of a CCE; ≈ 0 for the actions it plays) — its ``marginals`` and equilibrium
    payoffs ``values``; ``gap`` is the largest deviation gain left (≤ ``eps`` when solved)."""

    joint: np.ndarray
    ratings: tuple[np.ndarray, ...]
    marginals: tuple[np.ndarray, ...]
    values: tuple[float, ...]
    gap: float
    eps: float
    n_iterations: int
    duals: tuple[np.ndarray, ...] = ()  # CCE multipliers per player and original action (for warm starts)


def _softmax_inplace(logit: np.ndarray) -> tuple[np.ndarray, float]:
    """exp(logit) normalised, computed in the argument's memory (the joint is the largest array
    these solvers touch), and log Σ exp(logit)."""
    top = float(logit.max())
    np.subtract(logit, top, out=logit)
    np.exp(logit, out=logit)
    z = float(logit.sum())
    logit /= z
    return logit, top + float(np.log(z))


def _check_gap(gap: float, ex: float, scale: float) -> None:
    if gap > max(2 * ex, 1e-6) * scale:
        warn(f"the equilibrium solver stopped with a deviation gain of {gap:.3g} (target {ex * scale:.3g}); "
             "ratings are approximate", ConvergenceWarning)


def _expand_joint(sigma: np.ndarray, labels: Sequence[np.ndarray]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The merged game's joint spread back over the original actions (each merged action's mass
    split equally among its copies), and each player's marginal."""
    N = sigma.ndim
    joint = sigma
    for i, lab in enumerate(labels):
        counts = np.bincount(lab).astype(float)
        joint = np.take(joint, lab, axis=i) / counts[lab].reshape([-1 if j == i else 1 for j in range(N)])
    return joint, tuple(joint.sum(axis=tuple(j for j in range(N) if j != i)) for i in range(N))


def _check_scores(S: np.ndarray) -> np.ndarray:
    S = np.asarray(S, float)
    if S.ndim != 2 or min(S.shape) < 1:
        raise MetaevalError(f"the score matrix must be models x prompts; got shape {S.shape}")
    if not np.all(np.isfinite(S)):
        raise MetaevalError("equilibrium ratings need a complete score matrix (no missing scores)")
    return check_magnitude(S, "score matrix")


def max_entropy_cce(payoffs: np.ndarray, *, eps: float = 1e-4, kind: str = "cce", merge_identical: bool = True,
                    maxiter: int = 5000, init: Sequence[np.ndarray] | None = None) -> CoarseCorrelated:
    """Maximum-entropy ε-coarse correlated (``kind="cce"``) or ε-correlated (``"ce"``)
    equilibrium of an N-player normal-form game.

    ``payoffs`` has shape ``(N, n_1, …, n_N)``: ``payoffs[i]`` is player i's payoff for every
    joint action. Solved through the convex dual, one multiplier per (player, deviation) for a
    CCE or per (player, recommended action, deviation) for a CE:
    ``min_{λ≥0} log Σ_x exp(−Σ λ g(x)) + ε Σλ`` with g the gain from deviating (L-BFGS-B); the
    joint is exp(−Σ λ g) normalised. ``eps`` (relative to the payoff range) bounds every
    deviation gain and keeps the dual's minimum finite; ``gap`` reports the largest gain left.
    A CE needs n_i² multipliers per player, so it suits small games; the CCE scales to
    thousands of actions. Identical actions of a player count once (``merge_identical``).
    ``init`` warm-starts a CCE from per-player multipliers over the original actions (e.g. the
    ``duals`` of a fit to related data, as the bootstrap does).

    >>> pd = np.array([[[3., 0], [5, 1]], [[3., 5], [0, 1]]])  # prisoner's dilemma: defecting dominates
    >>> eq = max_entropy_cce(pd, eps=1e-6)
    >>> np.round(eq.joint, 3).tolist()
    [[0.0, 0.0], [0.0, 1.0]]
    """
    U = np.asarray(payoffs, float)
    N = U.shape[0]
    if U.ndim != N + 1:
        raise ParameterError(f"`payoffs` must have shape (N, n_1, ..., n_N); got {U.shape}")
    if not np.all(np.isfinite(U)):
        raise MetaevalError("the payoff tensor must be finite (no nan or inf)")
    check_magnitude(U, "payoff tensor")
    if kind not in ("cce", "ce"):
        raise ParameterError(f"`kind` must be 'cce' or 'ce'; got {kind!r}")
    if not eps > 0:
        raise ParameterError(f"`eps` must be positive (it keeps the dual finite); got {eps!r}")
    scale = float(np.ptp(U)) or 1.0
    labels: list[np.ndarray] = []
    if merge_identical:
        reps = []
        for i in range(N):
            # action a of player i is a copy of b when every player's payoffs agree for all co-play
            rows = np.moveaxis(U, i + 1, 0).reshape(U.shape[i + 1], -1)
            lab, rep = identical_classes(rows)
            labels.append(lab)
            reps.append(rep)
        keep: tuple[Any, ...] = (slice(None), *np.ix_(*reps))
        V = U[keep]
    else:
        labels = [np.arange(s) for s in U.shape[1:]]
        reps = labels
        V = U
    reps_used = reps
    V = V / scale
    shape = V.shape[1:]
    moved = [np.moveaxis(V[i], i, 0).reshape(shape[i], -1) for i in range(N)]  # own action first
    sizes = [n if kind == "cce" else n * n for n in shape]
    offs = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    ex = float(eps)

    rest_shapes = [tuple(s for j, s in enumerate(shape) if j != i) for i in range(N)]

    def joint_logit(lam: np.ndarray) -> np.ndarray:
        logit = np.zeros(shape)
        for i in range(N):
            li = lam[offs[i]:offs[i + 1]]
            if kind == "cce":
                logit += li.sum() * V[i]
                dev = li @ moved[i]  # Σ_a λ_a u_i(a, x_-i), over x_-i
                logit -= np.expand_dims(dev.reshape(rest_shapes[i]), i)
            else:
                Li = li.reshape(shape[i], shape[i])
                flat = Li.sum(1)[:, None] * moved[i] - Li @ moved[i]
                logit += np.moveaxis(flat.reshape((shape[i], *rest_shapes[i])), 0, i)
        return logit

    def gains(sigma: np.ndarray) -> list[np.ndarray]:
        out = []
        for i in range(N):
            if kind == "cce":
                out.append(moved[i] @ sigma.sum(axis=i).ravel() - float(np.vdot(sigma, V[i])))
            else:
                sig = np.moveaxis(sigma, i, 0).reshape(shape[i], -1)
                G = sig @ moved[i].T  # [a, a']: E[1{x_i = a} u_i(a', x_-i)]
                out.append((G - np.diag(G)[:, None]).ravel())
        return out

    def dual(lam: np.ndarray) -> tuple[float, np.ndarray]:
        sigma, lse = _softmax_inplace(joint_logit(lam))
        return lse + ex * float(lam.sum()), ex - np.concatenate(gains(sigma))

    bounds: list[tuple[int, int | None]] = []
    for n in shape:
        if kind == "cce":
            bounds += [(0, None)] * n
        else:  # no multiplier for "deviating" to the recommended action itself
            bounds += [(0, 0) if a == b else (0, None) for a in range(n) for b in range(n)]
    x0 = np.zeros(int(offs[-1]))
    if init is not None and kind == "cce":
        if len(init) != N or any(np.shape(init[i]) != (U.shape[i + 1],) for i in range(N)):
            raise MetaevalError("`init` needs one multiplier per action of every player")
        x0 = np.clip(np.concatenate([np.asarray(init[i], float)[reps_used[i]] for i in range(N)]), 0, None)
    res = minimize(dual, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": maxiter, "ftol": 1e-14, "gtol": 1e-9})
    sigma, _ = _softmax_inplace(joint_logit(res.x))
    gap = float(max(g.max() for g in gains(sigma))) * scale
    _check_gap(gap, ex, scale)
    values = tuple(float(np.vdot(sigma, V[i])) * scale for i in range(N))
    ratings_merged = [moved[i] @ sigma.sum(axis=i).ravel() for i in range(N)]
    joint, marginals = _expand_joint(sigma, labels)
    ratings = tuple(ratings_merged[i][labels[i]] * scale - values[i] for i in range(N))
    duals: tuple[np.ndarray, ...] = ()
    if kind == "cce":
        duals = tuple(res.x[offs[i]:offs[i + 1]][labels[i]] for i in range(N))
    return CoarseCorrelated(joint, ratings, marginals, values, gap, ex * scale, int(res.nit), duals)


def equilibrium_game(S: np.ndarray, *, normalize: str = "ptp", prompt_payoff: str = "separation") -> np.ndarray:
    """The three-player evaluation game of Liu et al. (2025) from a models × prompts score
    matrix: a prompt player picks a prompt p, a king and a rebel each pick a model; the king gets
    the (per-prompt normalised) score difference d = S[k, p] − S[r, p], the rebel −d, and the
    prompt player |d| (``"separation"``: prompts that tell models apart, as DeepMind's polarix
    ``agent_vs_task_game``) or −d (``"rebel"``: prompts on which the king loses). Returns the
    ``(3, n_prompts, n_models, n_models)`` payoff tensor.
    """
    S = _check_scores(S)
    N = normalise_tasks(S, normalize).T  # prompts x models
    d = N[:, :, None] - N[:, None, :]  # [p, king, rebel]
    if prompt_payoff == "separation":
        up = np.abs(d)
    elif prompt_payoff == "rebel":
        up = -d
    else:
        raise ParameterError(f"`prompt_payoff` must be 'separation' or 'rebel'; got {prompt_payoff!r}")
    return np.stack([up, d, -d])


def equilibrium_ratings(S: np.ndarray, *, normalize: str = "ptp", prompt_payoff: str = "separation",
                        eps: float = 1e-4, merge_identical: bool = True, maxiter: int = 5000,
                        init: Sequence[np.ndarray] | None = None) -> CoarseCorrelated:
    """The maximum-entropy ε-CCE of :func:`equilibrium_game` (players: prompt, king, rebel),
    solved on the game's structure instead of its payoff tensor.

    The same dual as :func:`max_entropy_cce`, but the king's and rebel's payoffs are differences
    of one P × M matrix, so their deviation terms cost O(P·M) instead of a pass over the
    P × M × M tensor; and with the symmetric ``"separation"`` prompt payoff the king's and
    rebel's multipliers are tied (the maximum-entropy CCE of a symmetric game is symmetric),
    which halves the model multipliers. Equal to :func:`max_entropy_cce` on
    :func:`equilibrium_game` to solver precision, about twice as fast.

    >>> S = np.array([[1., 0.], [0., 1.], [.4, .4]])
    >>> eq = equilibrium_ratings(S, eps=1e-6)
    >>> bool(eq.ratings[1][2] < eq.ratings[1][0])  # the generalist separates from no one
    True
    """
    S = _check_scores(S)
    if prompt_payoff not in ("separation", "rebel"):
        raise ParameterError(f"`prompt_payoff` must be 'separation' or 'rebel'; got {prompt_payoff!r}")
    if not eps > 0:
        raise ParameterError(f"`eps` must be positive (it keeps the dual finite); got {eps!r}")
    Nfull = normalise_tasks(S, normalize).T  # prompts x models
    if merge_identical:
        plab, prep = identical_classes(Nfull)
        mlab, mrep = identical_classes(Nfull.T)
    else:
        plab, prep = np.arange(Nfull.shape[0]), np.arange(Nfull.shape[0])
        mlab, mrep = np.arange(Nfull.shape[1]), np.arange(Nfull.shape[1])
    N = Nfull[np.ix_(prep, mrep)]
    P, M = N.shape
    D = N[:, :, None] - N[:, None, :]
    A = np.abs(D) if prompt_payoff == "separation" else -D  # the prompt player's payoff
    del D
    # the payoff tensor's range (all three players), as max_entropy_cce scales it
    scale = float(max(np.ptp(np.concatenate([A.ravel(), (N[:, :, None] - N[:, None, :]).ravel()])), 0.0)) or 1.0
    Ns, As_ = N / scale, A / scale
    Aflat = As_.reshape(P, -1)
    tie = prompt_payoff == "separation"
    ex = float(eps)
    nvar = P + (M if tie else 2 * M)

    def unpack(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lp = lam[:P]
        lk = lam[P:P + M]
        lr = lk if tie else lam[P + M:]
        return lp, lk, lr

    def logits(lam: np.ndarray) -> np.ndarray:
        lp, lk, lr = unpack(lam)
        out = np.multiply(As_, lp.sum())
        out -= (lp @ Aflat).reshape(M, M)[None, :, :]
        out += (lk.sum() * Ns - (Ns @ lr)[:, None])[:, :, None]
        out += (lr.sum() * Ns - (Ns @ lk)[:, None])[:, None, :]
        return out

    def solve_joint(lam: np.ndarray) -> tuple[np.ndarray, float]:
        return _softmax_inplace(logits(lam))

    def deviation(sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float, float]]:
        s_kr, s_pr, s_pk = sigma.sum(0), sigma.sum(1), sigma.sum(2)
        s_p = s_pr.sum(1)
        dev_p = Aflat @ s_kr.ravel()
        dev_k = s_p @ Ns - float(np.vdot(s_pr, Ns))
        dev_r = s_p @ Ns - float(np.vdot(s_pk, Ns))
        cur_k = float(np.vdot(s_pk, Ns) - np.vdot(s_pr, Ns))
        return dev_p, dev_k, dev_r, (float(np.vdot(sigma, As_)), cur_k, -cur_k)

    def dual(lam: np.ndarray) -> tuple[float, np.ndarray]:
        sigma, lse = solve_joint(lam)
        dev_p, dev_k, dev_r, cur = deviation(sigma)
        gp = ex - (dev_p - cur[0])
        gk = ex - (dev_k - cur[1])
        gr = ex - (dev_r - cur[2])
        grad = np.concatenate([gp, gk + gr] if tie else [gp, gk, gr])
        return lse + ex * float(lam.sum() + (lam[P:].sum() if tie else 0.0)), grad

    x0 = np.zeros(nvar)
    if init is not None:
        if len(init) != 3 or np.shape(init[0]) != (S.shape[1],) or any(np.shape(v) != (S.shape[0],) for v in init[1:]):
            raise MetaevalError("`init` needs one multiplier per prompt, king and rebel action")
        parts = [np.asarray(init[0], float)[prep], np.asarray(init[1], float)[mrep]]
        if not tie:
            parts.append(np.asarray(init[2], float)[mrep])
        x0 = np.clip(np.concatenate(parts), 0, None)
    res = minimize(dual, x0, jac=True, method="L-BFGS-B", bounds=[(0, None)] * nvar,
                   options={"maxiter": maxiter, "ftol": 1e-14, "gtol": 1e-9})
    sigma, _ = solve_joint(res.x)
    dev_p, dev_k, dev_r, cur = deviation(sigma)
    gains = [dev_p - cur[0], dev_k - cur[1], dev_r - cur[2]]
    gap = float(max(g.max() for g in gains)) * scale
    _check_gap(gap, ex, scale)
    labels = (plab, mlab, mlab)
    joint, marginals = _expand_joint(sigma, labels)
    ratings = tuple(g_[lab] * scale for g_, lab in zip(gains, labels, strict=True))
    values = tuple(c * scale for c in cur)
    lp, lk, lr = unpack(res.x)
    duals = (lp[plab], lk[mlab], lr[mlab])
    return CoarseCorrelated(joint, ratings, marginals, values, gap, ex * scale, int(res.nit), duals)
