"""Exact Kemeny–Young: a dynamic program over subsets (Held–Karp style), O(2^n · n) time.

The Kemeny ranking minimises the total weight of voter–pair disagreements. Building the
ranking from the top, placing candidate x directly below a set S costs Σ_{s∈S} P[x, s] (the
weight preferring x to s); ``best[S]`` is the cheapest order of S as a prefix. A candidate can
head an optimal ranking when Σ_{y≠x} P[y, x] + best[all \\ {x}] equals the optimum. Sizes up to
about 22 candidates fit in memory; :func:`kemeny_milp` (scipy's HiGHS) and
:func:`kemeny_brute_force` (tests only) cross-check it.

>>> import numpy as np
>>> P = np.array([[0, 3, 3], [2, 0, 4], [2, 1, 0.]])
>>> kemeny_dp(P)[0]
(0, 1, 2)
"""

from __future__ import annotations

import itertools

import numpy as np

from metaeval.errors import MetaevalError

__all__ = ["kemeny_brute_force", "kemeny_cost", "kemeny_dp", "kemeny_milp"]

MAX_DP = 22


def kemeny_cost(P: np.ndarray, order: tuple[int, ...] | list[int]) -> float:
    """Disagreement weight of a best-first order: Σ over pairs placed (a above b) of P[b, a]."""
    pos = np.empty(len(order), int)
    pos[list(order)] = np.arange(len(order))
    below = pos[None, :] < pos[:, None]  # below[b, a]: b is ranked below a
    return float(np.sum(np.asarray(P)[below]))


def kemeny_dp(P: np.ndarray) -> tuple[tuple[int, ...], float, tuple[int, ...]]:
    """(an optimal order, its cost, the candidates that head some optimal order)."""
    P = np.asarray(P, float)
    n = P.shape[0]
    if n > MAX_DP:
        raise MetaevalError(f"the exact dynamic program handles up to {MAX_DP} candidates; got {n} (use kemeny_milp)")
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


def kemeny_milp(P: np.ndarray) -> tuple[tuple[int, ...], float]:
    """Kemeny by integer programming (scipy's HiGHS): x_ij = 1 when i is ranked above j."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    P = np.asarray(P, float)
    n = P.shape[0]
    idx = {(i, j): k for k, (i, j) in enumerate((i, j) for i in range(n) for j in range(n) if i != j)}
    nv = len(idx)
    c = np.zeros(nv)
    for (i, j), k in idx.items():
        c[k] = P[j, i]  # placing i above j disagrees with the voters preferring j
    rows, lo, hi = [], [], []
    for i, j in itertools.combinations(range(n), 2):
        r = np.zeros(nv)
        r[idx[i, j]] = r[idx[j, i]] = 1
        rows.append(r)
        lo.append(1)
        hi.append(1)
    for i, j, k in itertools.permutations(range(n), 3):
        r = np.zeros(nv)
        r[idx[i, j]] = r[idx[j, k]] = 1
        r[idx[i, k]] = -1
        rows.append(r)
        lo.append(-np.inf)
        hi.append(1)
    res = milp(c, constraints=LinearConstraint(np.array(rows), lo, hi), integrality=np.ones(nv),
               bounds=Bounds(0, 1))
    if not res.success:
        raise MetaevalError(f"the Kemeny integer program failed: {res.message}")
    x = np.round(res.x)
    above = np.array([sum(x[idx[i, j]] for j in range(n) if j != i) for i in range(n)])
    order = tuple(int(i) for i in np.argsort(-above, kind="stable"))
    return order, float(res.fun)


def kemeny_brute_force(P: np.ndarray) -> tuple[float, set[int]]:
    """Optimal cost and the set of candidates heading some optimal order (test oracle, n ≤ 8)."""
    n = np.asarray(P).shape[0]
    best, heads = np.inf, set()
    for order in itertools.permutations(range(n)):
        c = kemeny_cost(P, order)
        if c < best - 1e-9:
            best, heads = c, {order[0]}
        elif abs(c - best) <= 1e-9:
            heads.add(order[0])
    return best, heads
