"""Kemeny–Young rankings, exact where that is affordable and labelled where it is not.

The Kemeny ranking minimises the total weight of voter–pair disagreements: with ``P[i, j]`` the
weight of voters ranking i above j, an order costs Σ over pairs placed (a above b) of P[b, a].
Finding it is NP-hard, so :func:`kemeny` never runs an unbounded exact search:

1. **Decomposition (exact).** Candidates split into the strongly connected components of the
   weak majority relation (i → j when P[i, j] ≥ P[j, i]). Every member of an earlier component
   beats every member of a later one by a strict majority, so every Kemeny ranking lists the
   components in that order (the extended Condorcet criterion; Truchon 1998) and each component
   can be solved on its own. On real leaderboards the components are small.
2. **Per component**, by size ``k``:

   - ``k ≤ max_dp`` (16): a dynamic program over subsets (Held–Karp style), O(2^k · k²) time,
     O(2^k · k) memory; exact, and it finds every candidate that heads some optimal ranking.
   - ``k ≤ max_ilp`` (60): an integer program (scipy's HiGHS, ``x_ij = 1`` when i is above j,
     C(k, 3) transitivity rows) with a wall-clock ``time_limit``; exact when HiGHS proves
     optimality, otherwise the best order found with HiGHS's lower bound, labelled.
   - larger: local search (single-candidate insertion moves) from the Borda and Copeland orders,
     labelled as an approximation, with the gap to the lower bound Σ min(P[i, j], P[j, i]) —
     the order is still exact when it meets that bound.

:func:`kemeny_dp`, :func:`kemeny_milp` and :func:`kemeny_brute_force` (tests only) are the
pieces; :func:`kemeny` reports whether optimality was proved and how.

>>> import numpy as np
>>> P = np.array([[0, 3, 3], [2, 0, 4], [2, 1, 0.]])
>>> kemeny_dp(P)[0]
(0, 1, 2)
>>> res = kemeny(P)
>>> res.order, res.exact
((0, 1, 2), True)
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np

from metaeval.errors import MetaevalError, ParameterError

__all__ = [
    "KemenyResult",
    "kemeny",
    "kemeny_brute_force",
    "kemeny_cost",
    "kemeny_dp",
    "kemeny_local_search",
    "kemeny_lower_bound",
    "kemeny_milp",
]

MAX_DP = 22  # the dynamic program's hard ceiling (2^22 · 22 floats = 740 MB)
DEFAULT_MAX_DP = 16  # what :func:`kemeny` uses: 8 MB, milliseconds
DEFAULT_MAX_ILP = 60  # 3,540 binaries, 34,220 transitivity rows
DEFAULT_TIME_LIMIT = 5.0  # seconds per integer program


@dataclass(frozen=True)
class KemenyResult:
    """A Kemeny ranking and how it was obtained.

    ``order``: best first; ``cost``: its disagreement weight; ``heads``: the candidates that
    head some optimal ranking (all of them when the top component was solved by the dynamic
    program, otherwise ``order[0]`` alone); ``exact``: optimality proved for the whole order;
    ``lower_bound``: a proven lower bound on the optimal cost (equal to ``cost`` when exact);
    ``components``: the sizes of the independent components; ``methods``: how each component
    of two or more was solved; ``notes``: what a reader must know (approximations, time limits).
    """

    order: tuple[int, ...]
    cost: float
    heads: tuple[int, ...]
    exact: bool
    lower_bound: float
    components: tuple[int, ...]
    methods: tuple[str, ...]
    notes: tuple[str, ...]


def kemeny_cost(P: np.ndarray, order: tuple[int, ...] | list[int] | np.ndarray) -> float:
    """Disagreement weight of a best-first order: Σ over pairs placed (a above b) of P[b, a]."""
    order = np.asarray(order, dtype=np.int64)
    Q = np.asarray(P, float)[np.ix_(order, order)]  # Q[i, j] = P[order[i], order[j]]
    return float(np.tril(Q, -1).sum())  # below-diagonal: the lower one preferred to the upper one


def kemeny_lower_bound(P: np.ndarray) -> float:
    """Σ over pairs of min(P[i, j], P[j, i]): no order can disagree with less (each pair pays at
    least its minority's weight).

    >>> kemeny_lower_bound(np.array([[0, 2, 1], [1, 0, 2], [2, 1, 0.]]))  # a cycle: the bound is not met
    3.0
    >>> kemeny_dp(np.array([[0, 2, 1], [1, 0, 2], [2, 1, 0.]]))[1]
    4.0
    """
    P = np.asarray(P, float)
    return float(np.triu(np.minimum(P, P.T), 1).sum())


def kemeny_dp(P: np.ndarray) -> tuple[tuple[int, ...], float, tuple[int, ...]]:
    """(an optimal order, its cost, the candidates that head some optimal order).

    Building the ranking from the top, placing candidate x directly below a set S costs
    Σ_{s∈S} P[x, s]; ``best[S]`` is the cheapest order of S as a prefix. A candidate can head an
    optimal ranking when Σ_{y≠x} P[y, x] + best[all \\ {x}] equals the optimum. O(2^n · n²)
    time, O(2^n · n) memory: refuses more than 22 candidates.
    """
    P = np.asarray(P, float)
    n = P.shape[0]
    if n > MAX_DP:
        raise MetaevalError(f"the exact dynamic program handles up to {MAX_DP} candidates; got {n} (use `kemeny`)")
    if n == 1:
        return (0,), 0.0, (0,)
    size = 1 << n
    # cost_x[S] = Σ_{s in S} P[x, s], built bit by bit.
    cost = np.zeros((n, size))
    for b in range(n):
        view = cost.reshape(n, -1, 2, 1 << b)
        view[:, :, 1, :] += P[:, b][:, None, None]
    best = np.full(size, np.inf)
    best[0] = 0.0
    choice = np.full(size, -1, dtype=np.int64)
    subsets = np.arange(size)
    popcount = np.zeros(size, dtype=np.int64)
    for b in range(n):
        popcount += (subsets >> b) & 1
    for k in range(n):
        layer = subsets[popcount == k]
        base = best[layer]
        for x in range(n):
            free = (layer >> x) & 1 == 0
            S = layer[free]
            target = S | (1 << x)
            cand = base[free] + cost[x, S]
            better = cand < best[target] - 1e-12
            best[target[better]] = cand[better]
            choice[target[better]] = x
    full = size - 1
    order = []
    S = full
    while S:
        x = int(choice[S])
        order.append(x)
        S &= ~(1 << x)
    order.reverse()
    opt = float(best[full])
    heads = tuple(x for x in range(n)
                  if abs(P[:, x].sum() - P[x, x] + best[full & ~(1 << x)] - opt) <= 1e-9 * max(1.0, opt))
    return tuple(order), opt, heads


def kemeny_milp(P: np.ndarray, *, time_limit: float | None = None
                ) -> tuple[tuple[int, ...], float, bool, float]:
    """Kemeny by integer programming (scipy's HiGHS): ``y_ij = 1`` (i < j) when i is above j,
    with the transitivity rows 0 ≤ y_ij + y_jk − y_ik ≤ 1 for every triple (a sparse matrix of
    C(n, 3) rows).

    Returns ``(order, cost, proved_optimal, lower_bound)``. With ``time_limit`` (seconds) HiGHS
    stops early and returns its best order, ``proved_optimal=False`` and its dual bound; it
    raises when it found no order at all.

    >>> kemeny_milp(np.array([[0, 3, 3], [2, 0, 4], [2, 1, 0.]]), time_limit=5)
    ((0, 1, 2), 5.0, True, 5.0)
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_array

    P = np.asarray(P, float)
    n = P.shape[0]
    if n == 1:
        return (0,), 0.0, True, 0.0
    iu, ju = np.triu_indices(n, 1)
    index = np.full((n, n), -1, dtype=np.int64)
    index[iu, ju] = np.arange(iu.size)
    # cost = Σ_{i<j} P[i, j] + Σ_{i<j} (P[j, i] − P[i, j]) y_ij
    const = float(P[iu, ju].sum())
    c = P[ju, iu] - P[iu, ju]
    constraints = []
    if n >= 3:
        tri = np.array(list(itertools.combinations(range(n), 3)), dtype=np.int64)
        i, j, k = tri.T
        rows = np.repeat(np.arange(len(tri)), 3)
        cols = np.stack([index[i, j], index[j, k], index[i, k]], axis=1).ravel()
        vals = np.tile([1.0, 1.0, -1.0], len(tri))
        A = csr_array((vals, (rows, cols)), shape=(len(tri), iu.size))
        constraints.append(LinearConstraint(A, 0.0, 1.0))
    options = {"time_limit": float(time_limit)} if time_limit is not None else {}
    res = milp(c, constraints=constraints, integrality=np.ones(iu.size), bounds=Bounds(0, 1), options=options)
    if res.x is None:
        raise MetaevalError(f"the Kemeny integer program found no ranking: {res.message}")
    y = np.round(res.x)
    above = np.zeros((n, n))
    above[iu, ju] = y
    above[ju, iu] = 1 - y
    order = tuple(int(x) for x in np.argsort(-above.sum(1), kind="stable"))
    proved = res.status == 0
    bound = getattr(res, "mip_dual_bound", None)
    lower = const + float(bound) if proved is False and bound is not None and np.isfinite(bound) else None
    cost = kemeny_cost(P, order)
    if proved:
        lower = cost
    return order, cost, proved, float(lower if lower is not None else kemeny_lower_bound(P))


def kemeny_local_search(P: np.ndarray, start: tuple[int, ...] | list[int] | np.ndarray, *, max_moves: int = 100_000,
                        deadline: float | None = None) -> tuple[tuple[int, ...], float]:
    """Improve an order by single-candidate insertion moves until none helps (a local optimum).

    Moving the candidate at position p to position q changes the cost by the sum of its margins
    ``M = P − Pᵀ`` against the candidates it passes: each move is found in O(n²) from row-wise
    cumulative sums, and the best one is taken. ``deadline`` is a ``time.perf_counter()`` value.

    >>> P = np.array([[0, 3, 3], [2, 0, 4], [2, 1, 0.]])
    >>> kemeny_local_search(P, [2, 1, 0])
    ((0, 1, 2), 5.0)
    """
    P = np.asarray(P, float)
    M = P - P.T
    order = np.asarray(start, dtype=np.int64).copy()
    n = order.size
    if n <= 2:
        if n == 2 and M[order[1], order[0]] > 1e-12:
            order = order[::-1].copy()
        return tuple(int(x) for x in order), kemeny_cost(P, order)
    pos = np.arange(n)
    upper = pos[None, :] > pos[:, None]
    for _ in range(max_moves):
        Mo = M[np.ix_(order, order)]
        C = np.cumsum(Mo, axis=1)
        diag = C[pos, pos][:, None]
        # D[p, q]: the cost change of moving the candidate at p to q
        shifted = np.concatenate([np.zeros((n, 1)), C[:, :-1]], axis=1)  # C[p, q-1]
        D = np.where(upper, C - diag, shifted - diag)
        D[pos, pos] = 0.0
        p, q = np.unravel_index(int(np.argmin(D)), D.shape)
        if D[p, q] >= -1e-12:
            break
        x = order[p]
        order = np.insert(np.delete(order, p), q, x)
        if deadline is not None and time.perf_counter() > deadline:
            break
    return tuple(int(x) for x in order), kemeny_cost(P, order)


def _components(P: np.ndarray) -> list[np.ndarray]:
    """Strongly connected components of the weak majority relation, best component first."""
    from scipy.sparse.csgraph import connected_components

    n = P.shape[0]
    weak = (P - P.T) >= -1e-12
    np.fill_diagonal(weak, False)
    k, labels = connected_components(weak, directed=True, connection="strong")
    groups = [np.flatnonzero(labels == c) for c in range(k)]
    # The relation is complete, so the components are totally ordered: a component beats every
    # member of each later component; sort by the number of outsiders beaten.
    strict = (P - P.T) > 1e-12
    beaten = [int(strict[g][:, np.setdiff1d(np.arange(n), g)].any(axis=0).sum()) if len(g) < n else 0
              for g in groups]
    return [groups[i] for i in np.argsort(beaten, kind="stable")[::-1]]


def _seed_orders(P: np.ndarray) -> list[np.ndarray]:
    M = P - P.T
    borda = P.sum(1)
    copeland = (M > 1e-12).sum(1) - (M < -1e-12).sum(1)
    return [np.argsort(-borda, kind="stable"), np.lexsort((-borda, -copeland))]


def kemeny(P: np.ndarray, *, max_dp: int = DEFAULT_MAX_DP, max_ilp: int = DEFAULT_MAX_ILP,
           time_limit: float = DEFAULT_TIME_LIMIT) -> KemenyResult:
    """A Kemeny ranking by decomposition and a method chosen per component size (module docs).

    Parameters
    ----------
    P
        ``P[i, j]``: the weight of voters ranking i above j.
    max_dp
        Components up to this size use the exact dynamic program (at most 22).
    max_ilp
        Larger components up to this size use the integer program; beyond, local search.
    time_limit
        Seconds for all the searches together (the integer programs' wall clock, shared out in
        order; a component reached after the time is spent gets local search, labelled).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> P = rng.integers(0, 9, (30, 30)).astype(float)
    >>> np.fill_diagonal(P, 0)
    >>> res = kemeny(P, max_dp=8, max_ilp=10)
    >>> res.exact, res.methods, res.cost >= res.lower_bound
    (False, ('local search',), True)
    """
    P = np.asarray(P, float)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] == 0:
        raise ParameterError(f"`P` must be a non-empty square matrix; got shape {P.shape}")
    if not 1 <= max_dp <= MAX_DP:
        raise ParameterError(f"`max_dp` must lie in 1..{MAX_DP}; got {max_dp}")
    comps = _components(P)
    order: list[int] = []
    heads: tuple[int, ...] = ()
    exact = True
    lower = 0.0
    methods: list[str] = []
    notes: list[str] = []
    deadline = time.perf_counter() + time_limit
    for rank, g in enumerate(comps):
        k = len(g)
        sub = P[np.ix_(g, g)]
        sub_order: tuple[int, ...]
        sub_heads: tuple[int, ...]
        if k == 1:
            sub_order, sub_heads, method = (0,), (0,), None
            sub_lower = 0.0
        elif k <= max_dp:
            sub_order, sub_cost, sub_heads = kemeny_dp(sub)
            sub_lower, method = sub_cost, "dynamic program"
        else:
            sub_lower = kemeny_lower_bound(sub)
            best = min((kemeny_local_search(sub, s, deadline=deadline) for s in _seed_orders(sub)),
                       key=lambda t: t[1])
            sub_order, sub_cost = best
            proved = sub_cost <= sub_lower + 1e-9 * max(1.0, sub_lower)
            method = "local search"
            left = deadline - time.perf_counter()
            if not proved and k <= max_ilp and left > 0:
                try:
                    ilp_order, ilp_cost, proved, ilp_lower = kemeny_milp(sub, time_limit=left)
                except MetaevalError:  # no integer solution within the time: keep the local optimum
                    ilp_order, ilp_cost, ilp_lower = sub_order, sub_cost, sub_lower
                method = "integer program"
                sub_lower = max(sub_lower, ilp_lower)
                if ilp_cost < sub_cost - 1e-12:
                    sub_order, sub_cost = ilp_order, ilp_cost
                if not proved:
                    notes.append(f"the integer program for a component of {k} candidates stopped at the "
                                 f"{time_limit:g} s time limit without proving optimality (cost {sub_cost:.6g}, "
                                 f"lower bound {sub_lower:.6g})")
            elif not proved:
                why = (f"beyond the exact methods (more than {max_ilp})" if k > max_ilp
                       else f"reached after the {time_limit:g} s time limit was spent")
                notes.append(f"a component of {k} candidates is {why}: approximated by local search from the "
                             f"Borda and Copeland orders (cost {sub_cost:.6g}, lower bound {sub_lower:.6g}, gap at "
                             f"most {sub_cost - sub_lower:.6g})")
            if proved:
                sub_lower = sub_cost
            exact &= bool(proved)
            sub_heads = (sub_order[0],)
            if rank == 0 and proved and method != "dynamic program":
                notes.append(f"the winner heads one optimal ranking of the top {k} candidates; other optimal "
                             "rankings (and so other co-winners) were not enumerated")
        if method is not None:
            methods.append(method)
        lower += sub_lower
        order.extend(int(g[i]) for i in sub_order)
        if rank == 0:
            heads = tuple(sorted(int(g[i]) for i in sub_heads))
    # pairs across components agree with the strict majority: their minority weight is unavoidable
    lower += kemeny_lower_bound(P) - sum(kemeny_lower_bound(P[np.ix_(g, g)]) for g in comps)
    cost = kemeny_cost(P, order)
    if exact:
        lower = cost
    return KemenyResult(tuple(order), cost, heads, exact, min(lower, cost), tuple(len(g) for g in comps),
                        tuple(methods), tuple(notes))


def kemeny_brute_force(P: np.ndarray) -> tuple[float, set[int]]:
    """Optimal cost and the set of candidates heading some optimal order (test oracle, n ≤ 8)."""
    n = np.asarray(P).shape[0]
    if n > 8:
        raise MetaevalError(f"the brute-force oracle enumerates n! orders; it takes at most 8 candidates, got {n}")
    best, heads = np.inf, set()
    for order in itertools.permutations(range(n)):
        c = kemeny_cost(P, order)
        if c < best - 1e-9:
            best, heads = c, {order[0]}
        elif abs(c - best) <= 1e-9:
            heads.add(order[0])
    return best, heads
