"""Social-choice rankers for multi-task leaderboards (after Vote'n'Rank, Rofin et al. 2023).

Each task is a voter that ranks the models (ties allowed, missing scores unranked), weighted
by the task's weight. Every rule returns a :class:`RuleResult` — the full ranking with ties,
the scores it ranked by (higher is better) and the winner set — and lives in :data:`RULES`
with its declared properties, reference and cost; ``tests/test_social_choice.py`` checks every
declared property on random profiles and compares winner sets with pref_voting.

**Cost.** Every rule declares its time and memory as a function of the number of models ``m``
and of tasks (voters) ``n`` (:class:`RuleCost`), and :func:`apply_rule` checks the estimate
before it runs anything: a rule that would need more than ``max_memory`` bytes or
``max_seconds`` seconds is refused with :class:`~metaeval.errors.TooLargeError` (and
:func:`~metaeval.rankers.vote.compare_rules` skips it with a warning). The pairwise kernels
work through the voters in chunks, so no rule builds an ``n × m × m`` array. Exact
Kemeny–Young is NP-hard; it decomposes, then solves exactly up to a size and labels the rest as
an approximation (:mod:`metaeval.rankers.kemeny`).

>>> import numpy as np
>>> from metaeval import Profile
>>> from metaeval.rankers.social_choice import apply_rule
>>> p = Profile.from_orders([["a", "b", "c"], ["b", "a", "c"], ["a", "c", "b"]])
>>> apply_rule("borda", p).winners
('a',)
>>> RULES["schulze"].cost.time
'O(n m² + m³)'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Real
from typing import Any, NamedTuple

import numpy as np
import polars as pl
from scipy.stats import rankdata

from metaeval._validate import Interval, Options, validate_params
from metaeval.errors import InsufficientDataError, MetaevalError, ParameterError, TooLargeError
from metaeval.rankers.games import (
    alpha_rank,
    equilibrium_ratings,
    maximal_lottery,
    nash_averaging_tasks,
    task_win_matrix,
)
from metaeval.rankers.kemeny import kemeny
from metaeval.tables import Profile, ScoreMatrix

__all__ = [
    "MAX_MEMORY",
    "MAX_SECONDS",
    "RULES",
    "RuleCost",
    "RuleResult",
    "RuleSpec",
    "apply_rule",
    "check_cost",
    "condorcet_loser",
    "condorcet_winner",
    "majority_matrix",
    "smith_set",
]

TOL = 1e-9
MAX_MEMORY = 512 * 2**20  # bytes one rule may use by default
MAX_SECONDS = 20.0  # estimated seconds one rule may take by default
_CHUNK_BYTES = 32 * 2**20  # the pairwise kernels' working memory per chunk of voters
_OP = 1e-8  # seconds per element of a vectorised numpy pass (conservative, one core)
_LOOP = 3e-5  # seconds per Python-level iteration
_VOTER = 6e-4  # seconds per voter for a per-voter ranking (scipy's rankdata and its Python overhead)
_F = 8  # bytes per float


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule: ``scores`` (higher is better), ``rank`` (1 = best, ties share),
    and the winner set.

    ``exact`` is False when the rule's result is an approximation (large Kemeny–Young
    components); ``notes`` say what the reader must know about how it was computed.
    """

    rule: str
    candidates: tuple[str, ...]
    scores: np.ndarray
    rank: np.ndarray
    winners: tuple[str, ...]
    notes: tuple[str, ...] = ()
    exact: bool = True

    def to_polars(self) -> pl.DataFrame:
        order = np.argsort(self.rank, kind="stable")
        return pl.DataFrame({"model": [self.candidates[i] for i in order], "rank": self.rank[order],
                             "score": self.scores[order]})

    @property
    def ranking(self) -> tuple[str, ...]:
        return tuple(self.candidates[i] for i in np.argsort(self.rank, kind="stable"))


@dataclass(frozen=True)
class RuleCost:
    """What a rule costs on ``m`` models and ``n`` tasks (voters).

    ``time`` and ``memory`` are the orders of growth, as text; ``seconds(m, n)`` and
    ``bytes(m, n)`` are conservative estimates on one core, which :func:`apply_rule` compares
    with its limits before running the rule.
    """

    time: str
    memory: str
    seconds: Callable[[int, int], float]
    bytes: Callable[[int, int], float]

    def estimate(self, m: int, n: int) -> tuple[float, float]:
        """``(seconds, bytes)`` for ``m`` models and ``n`` tasks, including turning the scores
        into one ranking per task."""
        return float(self.seconds(m, n)) + n * _VOTER + 0.01, float(self.bytes(m, n)) + 2 * _F * m * n


@dataclass(frozen=True)
class RuleSpec:
    """A registered rule: its function, declared properties, reference and cost.

    ``bounded`` rules take a ``time_limit`` (seconds) and stop their search there.
    """

    name: str
    func: Callable[..., Any]
    properties: frozenset[str]
    reference: str
    needs_scores: bool = False  # works on the raw scores (a ScoreMatrix), not on rankings
    tolerates_missing: bool = True
    cost: RuleCost | None = None
    bounded: bool = False


class Scored(NamedTuple):
    """What a rule function may return instead of bare scores: the winner mask (default: the
    top score), notes for the reader and whether the result is exact."""

    scores: np.ndarray
    winners: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    exact: bool = True


def _human_bytes(b: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{b:.0f} bytes"


def _human_seconds(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.3g} hours"
    if s >= 60:
        return f"{s / 60:.3g} minutes"
    return f"{s:.3g} s"


def check_cost(what: str, cost: RuleCost, m: int, n: int, *, max_memory: float = MAX_MEMORY,
               max_seconds: float = MAX_SECONDS) -> tuple[float, float]:
    """Refuse, before running it, a computation whose estimate exceeds the limits.

    Returns the estimate ``(seconds, bytes)``; raises :class:`~metaeval.errors.TooLargeError`
    naming the cost, the size and the limit that would be broken.

    >>> cost = RULES["ranked_pairs"].cost
    >>> check_cost("ranked_pairs", cost, 10, 5)[1] < MAX_MEMORY
    True
    """
    sec, mem = cost.estimate(m, n)
    problems = []
    if mem > max_memory:
        problems.append(f"about {_human_bytes(mem)} of memory ({cost.memory}), over `max_memory` = "
                        f"{_human_bytes(max_memory)}")
    if sec > max_seconds:
        problems.append(f"about {_human_seconds(sec)} ({cost.time}), over `max_seconds` = {max_seconds:g}")
    if problems:
        raise TooLargeError(f"{what} on {m:,} models x {n:,} tasks would need {' and '.join(problems)}; rank fewer "
                            "models (e.g. `top=`) or raise the limit")
    return sec, mem


def _cost(time: str, memory: str, seconds: Callable[[int, int], float], nbytes: Callable[[int, int], float]
          ) -> RuleCost:
    return RuleCost(time, memory, seconds, nbytes)


def _log2(m: int) -> float:
    return math.log2(m + 1)


# Shared cost shapes (m models, n voters). The pairwise kernels hold m x m arrays plus one chunk.
_LINEAR = _cost("O(m n)", "O(m n)", lambda m, n: _OP * 4 * m * n, lambda m, n: 6 * _F * m * n)
_PER_VOTER = _cost("O(n m log m)", "O(m n)", lambda m, n: n * _VOTER + _OP * 4 * n * m * _log2(m),
                   lambda m, n: 6 * _F * m * n)
_PAIRWISE = _cost("O(n m²)", "O(m²)", lambda m, n: _OP * 4 * n * m * m + n * 1e-6,
                  lambda m, n: 6 * _F * m * m + 2 * _CHUNK_BYTES + 4 * _F * m * n)


# --------------------------------------------------------------------- helpers
def _ranks(profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(profile.ranks, float), np.asarray(profile.weights, float)


def _pair_counts(r: np.ndarray, w: np.ndarray, *, ties: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """``(above, tied)``: ``above[i, j]`` the weight of voters ranking i strictly above j,
    ``tied[i, j]`` of those ranking them equal (both ranked). Works through the voters in
    chunks so that the working memory stays near ``_CHUNK_BYTES`` whatever n is."""
    n, m = r.shape
    above = np.zeros((m, m))
    tied = np.zeros((m, m)) if ties else None
    step = max(1, int(_CHUNK_BYTES // max(1, m * m * 9)))
    for s in range(0, n, step):
        rc, wc = r[s:s + step], w[s:s + step]
        # nan compares False both ways: unranked pairs count for neither
        above += np.tensordot(wc, (rc[:, :, None] < rc[:, None, :]).astype(float), axes=1)
        if tied is not None:
            tied += np.tensordot(wc, (rc[:, :, None] == rc[:, None, :]).astype(float), axes=1)
    return above, tied


def majority_matrix(profile: Profile) -> np.ndarray:
    """``P[i, j]``: total weight of voters ranking i strictly above j (unranked pairs skipped).

    O(n m²) time, O(m²) memory (the voters are processed in chunks).
    """
    r, w = _ranks(profile)
    return _pair_counts(r, w)[0]


def condorcet_winner(profile: Profile) -> str | None:
    """The candidate that beats every other by a weighted majority, if there is one.

    Parameters
    ----------
    profile : Profile
        Rankings of the candidates by the voters (tasks), with the voters' weights.

    Returns
    -------
    str or None
        The Condorcet winner, or None when no candidate beats every other (a majority cycle, or a
        tie at the top).

    Examples
    --------
    >>> from metaeval import Profile
    >>> condorcet_winner(Profile.from_orders([["a", "b", "c"], ["b", "a", "c"], ["a", "c", "b"]]))
    'a'
    >>> condorcet_winner(Profile.from_orders([["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]])) is None
    True
    """
    P = majority_matrix(profile)
    m = P - P.T
    np.fill_diagonal(m, 1.0)
    hits = np.flatnonzero(np.all(m > TOL, axis=1))
    return profile.candidates[hits[0]] if hits.size == 1 else None


def condorcet_loser(profile: Profile) -> str | None:
    """The candidate beaten by every other, if there is one."""
    P = majority_matrix(profile)
    m = P.T - P
    np.fill_diagonal(m, 1.0)
    hits = np.flatnonzero(np.all(m > TOL, axis=1))
    return profile.candidates[hits[0]] if hits.size == 1 else None


def smith_set(profile: Profile) -> tuple[str, ...]:
    """The Smith set: the smallest non-empty set whose members each beat every outsider by a majority.

    It is the top strongly connected component of the "beats or ties" relation (which is complete,
    so its components are totally ordered). O(n m²) time, O(m²) memory.

    Parameters
    ----------
    profile : Profile
        Rankings of the candidates by the voters (tasks), with the voters' weights.

    Returns
    -------
    tuple of str
        The members of the Smith set: the Condorcet winner alone when there is one, every
        candidate of the top cycle otherwise.

    Examples
    --------
    >>> from metaeval import Profile
    >>> smith_set(Profile.from_orders([["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]))
    ('a', 'b', 'c')
    """
    P = majority_matrix(profile)
    return tuple(profile.candidates[i] for i in _smith_indices(P))


def _smith_indices(P: np.ndarray) -> np.ndarray:
    from scipy.sparse.csgraph import connected_components

    n = P.shape[0]
    weak = (P - P.T) >= -TOL
    np.fill_diagonal(weak, False)
    k, labels = connected_components(weak, directed=True, connection="strong")
    if k == 1:
        return np.arange(n)
    # the top component is the one no outsider reaches: every member beats every outsider
    strict = (P - P.T) > TOL
    for c in range(k):
        inside = labels == c
        if strict[np.ix_(inside, ~inside)].all():
            return np.flatnonzero(inside)
    raise MetaevalError("no Smith set found (the majority relation is not complete)")  # pragma: no cover


def _borda(r: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted Borda: per voter, the candidates ranked below plus half the others tied with it."""
    score = np.zeros(r.shape[1])
    for v in range(r.shape[0]):
        row = r[v]
        ok = ~np.isnan(row)
        if not ok.any():
            continue
        s = np.sort(row[ok])
        le = np.searchsorted(s, row[ok], side="right")
        lt = np.searchsorted(s, row[ok], side="left")
        score[ok] += w[v] * ((s.size - le) + 0.5 * (le - lt - 1))
    return score


def _result(name: str, profile_or_sm: Any, scored: Scored) -> RuleResult:
    cands = profile_or_sm.candidates if isinstance(profile_or_sm, Profile) else profile_or_sm.models
    s = np.asarray(scored.scores, float)
    filled = np.where(np.isnan(s), -np.inf, s)
    # Ties within a tolerance share the best rank.
    rounded = np.round(filled, 9)
    rank = rankdata(-rounded, method="min").astype(int)
    mask = scored.winners if scored.winners is not None else rounded == rounded.max()
    return RuleResult(name, tuple(cands), s, rank, tuple(c for c, k in zip(cands, mask, strict=True) if k),
                      tuple(scored.notes), bool(scored.exact))


def _eliminate(profile: Profile, loser_scores: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
               stop: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray | None] | None = None,
               select: str = "min") -> np.ndarray:
    """Iterative elimination; returns per-candidate survival scores (the round of elimination,
    winners highest). All candidates tied for elimination go together."""
    r, w = _ranks(profile)
    n = r.shape[1]
    alive = np.ones(n, bool)
    score = np.zeros(n)
    rnd = 0
    while alive.sum() > 1:
        sub = np.where(alive[None, :], r, np.nan)
        if stop is not None:
            won = stop(sub, w, alive)
            if won is not None and won.any():
                score[alive & ~won] = rnd + 1
                score[won] = rnd + 2
                return score
        vals = loser_scores(sub, w, alive)
        if select == "min":
            target = np.nanmin(np.where(alive, vals, np.nan))
            out = alive & (np.abs(vals - target) <= TOL)
        elif select == "max":
            target = np.nanmax(np.where(alive, vals, np.nan))
            out = alive & (np.abs(vals - target) <= TOL)
        else:  # below average
            mean = np.mean(vals[alive])
            out = alive & (vals < mean - TOL)
            if not out.any():
                break
        if out.sum() == alive.sum():
            break
        score[out] = rnd
        alive &= ~out
        rnd += 1
    score[alive] = rnd + 1
    return score


def _firsts(sub: np.ndarray, w: np.ndarray) -> np.ndarray:
    best = np.nanmin(sub, axis=1, keepdims=True)
    top = (sub == best) & ~np.isnan(sub)
    share = top / np.maximum(top.sum(1, keepdims=True), 1)
    return w @ share


def _lasts(sub: np.ndarray, w: np.ndarray) -> np.ndarray:
    worst = np.nanmax(sub, axis=1, keepdims=True)
    bottom = (sub == worst) & ~np.isnan(sub)
    share = bottom / np.maximum(bottom.sum(1, keepdims=True), 1)
    return w @ share


def _majority_first(sub: np.ndarray, w: np.ndarray, alive: np.ndarray) -> np.ndarray | None:
    f = _firsts(sub, w)
    won = alive & (f > w.sum() / 2 + TOL)
    return won if won.any() else None


# ------------------------------------------------------------------------ rules
def _arithmetic_mean(sm: ScoreMatrix) -> np.ndarray:
    o = sm.oriented()
    w = np.asarray(sm.weights)
    return (o * w).sum(1) / w.sum()


def _geometric_mean(sm: ScoreMatrix) -> np.ndarray:
    if not np.all(np.asarray(sm.higher_is_better)):
        raise MetaevalError("the geometric mean needs every task higher-is-better; orient the scores first")
    if np.nanmin(sm.scores) <= 0:
        r, c = np.argwhere(sm.scores <= 0)[0]
        n_bad = int(np.sum(sm.scores <= 0))
        more = f" and {n_bad - 1} more" if n_bad > 1 else ""
        raise MetaevalError(f"the geometric mean needs positive scores; got {sm.scores[r, c]:g} for model "
                            f"{sm.models[r]!r} on task {sm.tasks[c]!r}{more}")
    w = np.asarray(sm.weights)
    return np.exp((np.log(sm.scores) * w).sum(1) / w.sum())


def _mean_win_rate(sm: ScoreMatrix) -> np.ndarray:
    """Per task, the share of the other scored models this one beats (ties ½) — from the
    task's average ranks, (rank − 1) / (k − 1) among its k scored models; tasks with a single
    score carry no comparison and no weight."""
    o = sm.oriented()
    w = np.asarray(sm.weights, float)
    rate = np.full(o.shape, np.nan)
    for t in range(o.shape[1]):
        ok = ~np.isnan(o[:, t])
        k = int(ok.sum())
        if k >= 2:
            rate[ok, t] = (rankdata(o[ok, t], method="average") - 1) / (k - 1)
    wt = np.where(np.isnan(rate), 0.0, w[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nansum(rate * wt, axis=1) / wt.sum(1)


def _optimality_gap(sm: ScoreMatrix) -> np.ndarray:
    o = sm.oriented()
    w = np.asarray(sm.weights)
    gap = np.nanmax(o, axis=0)[None, :] - o
    return -(gap * w).sum(1) / w.sum()


def _plurality(p: Profile) -> np.ndarray:
    r, w = _ranks(p)
    return _firsts(r, w)


def _borda_rule(p: Profile) -> np.ndarray:
    r, w = _ranks(p)
    return _borda(r, w)


def _dowdall(p: Profile) -> np.ndarray:
    r, w = _ranks(p)
    avg = np.vstack([rankdata(np.where(np.isnan(row), np.inf, row), method="average") for row in r])
    return w @ np.where(np.isnan(r), 0.0, 1.0 / avg)


def _threshold(p: Profile) -> np.ndarray:
    """Fewest last places wins; ties broken by fewer second-to-last places, and so on."""
    r, w = _ranks(p)
    v, n = r.shape
    pos = np.vstack([rankdata(np.where(np.isnan(row), np.inf, row), method="max") for row in r]).astype(np.int64)
    ok = ~np.isnan(r)
    # counts[c, k]: weight of voters placing c at position n - k (k = 0: last, 1: second to last …)
    cand = np.broadcast_to(np.arange(n), (v, n))[ok]
    slot = (n - pos)[ok]
    counts = np.bincount(cand * n + slot, weights=np.broadcast_to(w[:, None], (v, n))[ok],
                         minlength=n * n).reshape(n, n)
    order = np.lexsort(tuple(counts[:, k] for k in range(n - 1, -1, -1)))
    score = np.empty(n)
    rank = 0
    prev = None
    for pos_i, c in enumerate(order):
        key = tuple(np.round(counts[c], 9))
        if key != prev:
            rank = pos_i
            prev = key
        score[c] = -rank
    return score


def _copeland(p: Profile) -> np.ndarray:
    P = majority_matrix(p)
    m = P - P.T
    return ((m > TOL).sum(1) - (m < -TOL).sum(1)).astype(float)


def _llull(p: Profile) -> np.ndarray:
    P = majority_matrix(p)
    m = P - P.T
    return ((m > TOL).sum(1) + (np.abs(m) <= TOL).sum(1) - 1).astype(float)


def _minimax(p: Profile) -> np.ndarray:
    P = majority_matrix(p)
    m = P.T - P  # m[i, j] > 0: j beats i
    np.fill_diagonal(m, -np.inf)
    return -np.max(m, axis=1)


def _schulze(p: Profile) -> np.ndarray:
    P = majority_matrix(p)
    n = P.shape[0]
    margin = P - P.T
    d = np.where(margin > TOL, margin, 0.0)
    for k in range(n):
        d = np.maximum(d, np.minimum(d[:, [k]], d[[k], :]))
    np.fill_diagonal(d, 0)
    # Beaten-path relation d[y, x] > d[x, y] is transitive: rank by how many beat you (winners: none).
    return -((d + TOL < d.T).sum(1)).astype(float)


def _ranked_pairs(p: Profile) -> np.ndarray:
    P = majority_matrix(p)
    n = P.shape[0]
    margin = P - P.T
    pairs = [(margin[i, j], -i, -j, i, j) for i in range(n) for j in range(n) if margin[i, j] > TOL]
    pairs.sort(reverse=True)  # largest margin first; ties broken by candidate order (deterministic)
    reach = np.eye(n, dtype=bool)  # reach[a, b]: b is reachable from a through locked pairs
    locked = np.zeros((n, n), bool)
    for _, _, _, i, j in pairs:
        if not reach[j, i]:  # locking i -> j would not close a cycle
            locked[i, j] = True
            if not reach[i, j]:  # new reachability only when i did not already reach j
                reach |= np.outer(reach[:, i], reach[j, :])
    return -(reach.sum(0) - 1).astype(float)  # minus the number of candidates locked above each one


def _black(p: Profile) -> np.ndarray:
    cw = condorcet_winner(p)
    b = _borda_rule(p)
    if cw is None:
        return b
    s = b.copy()
    s[p.candidates.index(cw)] = b.max() + 1.0
    return s


def _bucklin(p: Profile) -> np.ndarray:
    r, w = _ranks(p)
    n = r.shape[1]
    half = w.sum() / 2
    for k in range(1, n + 1):
        support = w @ ((r <= k) & ~np.isnan(r)).astype(float)
        if np.any(support > half + TOL):
            return support + (n - k) * w.sum()  # earlier k dominates
    return w @ (~np.isnan(r)).astype(float)


def _pair_borda(p: Profile) -> np.ndarray:
    """B[x, y]: Borda points x earns from y (weight ranking x above y, plus half the ties), so that
    the Borda score among any alive set is a row sum — no re-ranking per elimination round."""
    r, w = _ranks(p)
    above, tied = _pair_counts(r, w, ties=True)
    assert tied is not None  # counted with ties=True
    B = above + 0.5 * tied
    np.fill_diagonal(B, 0.0)
    return B


def _baldwin(p: Profile) -> np.ndarray:
    B = _pair_borda(p)
    return _eliminate(p, lambda sub, w, alive: B[:, alive].sum(1), select="min")


def _nanson(p: Profile) -> np.ndarray:
    B = _pair_borda(p)
    return _eliminate(p, lambda sub, w, alive: B[:, alive].sum(1), select="below_mean")


def _instant_runoff(p: Profile) -> np.ndarray:
    return _eliminate(p, lambda sub, w, alive: _firsts(sub, w), stop=_majority_first, select="min")


def _coombs(p: Profile) -> np.ndarray:
    return _eliminate(p, lambda sub, w, alive: _lasts(sub, w), stop=_majority_first, select="max")


def _kemeny(p: Profile, *, time_limit: float = 5.0) -> Scored:
    P = majority_matrix(p)
    res = kemeny(P, time_limit=time_limit)
    n = len(res.order)
    score = np.empty(n)
    score[list(res.order)] = np.arange(n, 0, -1, dtype=float)
    score[list(res.heads)] = n  # every candidate first in some optimal ranking shares the top
    notes = list(res.notes)
    if not res.exact:
        notes.insert(0, f"approximate: optimality not proved (cost {res.cost:.6g}, lower bound "
                        f"{res.lower_bound:.6g})")
    return Scored(score, None, tuple(notes), res.exact)


def _condorcet(p: Profile) -> Scored:
    """Number of pairwise majority wins; the winner set is the Condorcet winner, or else the Smith set."""
    P = majority_matrix(p)
    margin = P - P.T
    scores = (margin > TOL).sum(1).astype(float)
    np.fill_diagonal(margin, 1.0)
    cw = np.flatnonzero(np.all(margin > TOL, axis=1))
    mask = np.zeros(len(scores), bool)
    mask[cw if cw.size == 1 else _smith_indices(P)] = True
    return Scored(scores, mask)


def _game_scores(sm: ScoreMatrix) -> np.ndarray:
    return sm.oriented()


def _nash_averaging(sm: ScoreMatrix) -> np.ndarray:
    return np.round(nash_averaging_tasks(_game_scores(sm)).rating, 7)


def _equilibrium(sm: ScoreMatrix) -> np.ndarray:
    eq = equilibrium_ratings(_game_scores(sm))
    return np.round((eq.ratings[1] + eq.ratings[2]) / 2, 6)


def _alpha_rank(sm: ScoreMatrix) -> np.ndarray:
    return alpha_rank(task_win_matrix(_game_scores(sm), np.asarray(sm.weights, float)), intensity=100.0, m=50).pi


def _maximal_lottery(p: Profile) -> Scored:
    P = majority_matrix(p)
    total = float(np.sum(np.asarray(p.weights, float))) or 1.0
    lottery = maximal_lottery((P - P.T) / total)
    return Scored(lottery, lottery > 1e-9)  # the lottery's support wins


# Costs of the rules that do not share a shape above (estimates calibrated on one core, with margin).
_THRESHOLD = _cost("O(n m log m + m² log m)", "O(m² + m n)",
                   lambda m, n: n * _VOTER + _OP * 4 * n * m * _log2(m) + 3e-6 * m * m,
                   lambda m, n: 4 * _F * m * m + 6 * _F * m * n)
_ELIMINATE = _cost("O(n m²)", "O(m n)", lambda m, n: _OP * 6 * n * m * m + m * 4 * _LOOP, lambda m, n: 8 * _F * m * n)
_PAIR_ELIMINATE = _cost("O(n m² + m³)", "O(m²)", lambda m, n: _PAIRWISE.seconds(m, n) + _OP * 2 * m**3 + m * _LOOP,
                        lambda m, n: _PAIRWISE.bytes(m, n) + 2 * _F * m * m)
_CUBIC = _cost("O(n m² + m³)", "O(m²)", lambda m, n: _PAIRWISE.seconds(m, n) + _OP * 4 * m**3 + m * _LOOP,
               lambda m, n: _PAIRWISE.bytes(m, n) + 4 * _F * m * m)
_RANKED_PAIRS = _cost("O(n m² + m⁴) (worst case)", "O(m²)",
                      lambda m, n: _PAIRWISE.seconds(m, n) + m * m * 2e-6 + _OP * m**4 / 4,
                      lambda m, n: _PAIRWISE.bytes(m, n) + 3 * _F * m * m + 100 * m * m)
_KEMENY = _cost("O(n m²) + a search bounded by its time limit (5 s)", "O(m² + 2^16 · 16)",
                lambda m, n: _PAIRWISE.seconds(m, n) + _OP * 20 * m * m + 5.0,
                lambda m, n: _PAIRWISE.bytes(m, n) + 8 * _F * m * m + 20 * _F * 2**16 + 400 * min(m, 60) ** 3)
_LOTTERY = _cost("O(n m² + m³) (two linear programs on m x m)", "O(m²)",
                 lambda m, n: _PAIRWISE.seconds(m, n) + 2e-6 * m**2.7 + 0.1,
                 lambda m, n: _PAIRWISE.bytes(m, n) + 40 * _F * m * m)
_NASH_TASKS = _cost("O(m n (m + n)) (linear programs on the m x n game)", "O((m + n)²)",
                    lambda m, n: 1e-7 * m * n * (m + n) + 0.1, lambda m, n: 10 * _F * (m + n) ** 2 + 6 * _F * m * n)
_ALPHA_RANK = _cost("O(n m² + m³)", "O(m²)", lambda m, n: _OP * 6 * n * m * m + 1e-7 * m**3 + 0.01,
                    lambda m, n: 12 * _F * m * m + 2 * _CHUNK_BYTES + 6 * _F * m * n)
_EQUILIBRIUM = _cost("O(iterations · n m²) (L-BFGS on the n x m x m game)", "O(n m²)",
                     lambda m, n: 1e-5 * n * m * m + 0.1, lambda m, n: 6 * _F * n * m * m)

RULES: dict[str, RuleSpec] = {spec.name: spec for spec in [
    RuleSpec("arithmetic_mean", _arithmetic_mean, frozenset({"anonymous", "neutral", "pareto", "monotonic"}),
             "the usual leaderboard average", needs_scores=True, tolerates_missing=False, cost=_LINEAR),
    RuleSpec("geometric_mean", _geometric_mean, frozenset({"anonymous", "neutral", "pareto", "monotonic"}),
             "Vote'n'Rank (Rofin et al. 2023)", needs_scores=True, tolerates_missing=False, cost=_LINEAR),
    RuleSpec("mean_win_rate", _mean_win_rate, frozenset({"anonymous", "neutral"}),
             "HELM (Liang et al. 2022)", needs_scores=True, cost=_PER_VOTER),
    RuleSpec("optimality_gap", _optimality_gap, frozenset({"anonymous", "neutral"}),
             "Vote'n'Rank (Rofin et al. 2023)", needs_scores=True, tolerates_missing=False, cost=_LINEAR),
    RuleSpec("plurality", _plurality, frozenset({"anonymous", "neutral", "monotonic"}), "first places", cost=_LINEAR),
    RuleSpec("borda", _borda_rule, frozenset({"anonymous", "neutral", "pareto", "monotonic"}), "Borda (1781)",
             cost=_PER_VOTER),
    RuleSpec("dowdall", _dowdall, frozenset({"anonymous", "neutral", "monotonic"}), "Nauru / Dowdall",
             cost=_PER_VOTER),
    RuleSpec("threshold", _threshold, frozenset({"anonymous", "neutral"}), "Aleskerov et al. (2010), Vote'n'Rank",
             cost=_THRESHOLD),
    RuleSpec("baldwin", _baldwin, frozenset({"anonymous", "neutral", "condorcet_consistent"}), "Baldwin (1926)",
             cost=_PAIR_ELIMINATE),
    RuleSpec("nanson", _nanson, frozenset({"anonymous", "neutral", "condorcet_consistent"}), "Nanson (1882)",
             cost=_PAIR_ELIMINATE),
    RuleSpec("instant_runoff", _instant_runoff, frozenset({"anonymous", "neutral", "clone_independent"}),
             "Hare / alternative vote", cost=_ELIMINATE),
    RuleSpec("coombs", _coombs, frozenset({"anonymous", "neutral"}), "Coombs (1964)", cost=_ELIMINATE),
    RuleSpec("copeland", _copeland, frozenset({"anonymous", "neutral", "condorcet_consistent", "monotonic"}),
             "Copeland (1951): wins minus losses", cost=_PAIRWISE),
    RuleSpec("llull", _llull, frozenset({"anonymous", "neutral", "condorcet_consistent", "monotonic"}),
             "Llull: wins plus ties", cost=_PAIRWISE),
    RuleSpec("minimax", _minimax, frozenset({"anonymous", "neutral", "condorcet_consistent", "monotonic"}),
             "Simpson–Kramer, margins", cost=_PAIRWISE),
    RuleSpec("schulze", _schulze, frozenset({"anonymous", "neutral", "condorcet_consistent", "monotonic",
                                             "pareto", "clone_independent"}), "Schulze (2011)", cost=_CUBIC),
    RuleSpec("ranked_pairs", _ranked_pairs, frozenset({"anonymous", "condorcet_consistent", "pareto"}),
             "Tideman (1987), ties broken by candidate order", cost=_RANKED_PAIRS),
    RuleSpec("black", _black, frozenset({"anonymous", "neutral", "condorcet_consistent"}), "Black (1958)",
             cost=_PAIRWISE),
    RuleSpec("bucklin", _bucklin, frozenset({"anonymous", "neutral", "monotonic"}), "Bucklin", cost=_ELIMINATE),
    RuleSpec("kemeny_young", _kemeny, frozenset({"anonymous", "neutral", "condorcet_consistent", "pareto"}),
             "Kemeny (1959), Young (1978); exact by decomposition, dynamic program and integer program within a "
             "time limit, else local search (labelled approximate)", cost=_KEMENY, bounded=True),
    RuleSpec("condorcet", _condorcet, frozenset({"anonymous", "neutral", "condorcet_consistent"}),
             "Condorcet winner (else the Smith set)", cost=_PAIRWISE),
    # Game-theoretic rules (metaeval.rankers.games). "clone_invariant": an exact copy of a model leaves every
    # other model's score unchanged and scores like the original; "task_clone_invariant": so does a copy of a task.
    RuleSpec("maximal_lottery", _maximal_lottery,
             frozenset({"anonymous", "neutral", "condorcet_consistent", "pareto", "clone_independent"}),
             "Fishburn (1984); Brandl, Brandt & Seedig (2016): the majority-margin game's max-entropy Nash",
             cost=_LOTTERY),
    RuleSpec("nash_averaging", _nash_averaging,
             frozenset({"anonymous", "neutral", "pareto", "clone_invariant", "task_clone_invariant"}),
             "Balduzzi et al. (2018), agent-vs-task", needs_scores=True, tolerates_missing=False, cost=_NASH_TASKS),
    RuleSpec("alpha_rank", _alpha_rank, frozenset({"anonymous", "neutral"}),
             "Omidshafiei et al. (2019), on the share of tasks won; alpha = 100, m = 50", needs_scores=True,
             cost=_ALPHA_RANK),
    RuleSpec("equilibrium", _equilibrium,
             frozenset({"anonymous", "neutral", "pareto", "clone_invariant", "task_clone_invariant"}),
             "Liu et al. (ICLR 2025): prompt x king x rebel max-entropy CCE", needs_scores=True,
             tolerates_missing=False, cost=_EQUILIBRIUM),
]}


#: Named rule sets of published studies (:mod:`metaeval.rankers.presets` registers them on import:
#: the presets build on this module's rules, so this module only holds the table).
PRESETS: dict[str, Any] = {}


def _registry(preset: str | None) -> dict[str, RuleSpec]:
    if preset is None:
        return RULES
    if preset not in PRESETS:
        raise ParameterError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
    return PRESETS[preset].rules


@validate_params({
    "rule": [str],
    "missing": [Options(str, ("drop", "raise"))],
    "max_memory": [Interval(Real, 0, None, closed="neither")],
    "max_seconds": [Interval(Real, 0, None, closed="neither")],
})
def apply_rule(rule: str, data: ScoreMatrix | Profile, *, missing: str = "drop", preset: str | None = None,
               max_memory: float = MAX_MEMORY, max_seconds: float = MAX_SECONDS) -> RuleResult:
    """Apply one registered rule to a leaderboard (``ScoreMatrix``) or a ``Profile``.

    Parameters
    ----------
    rule : str
        A name in :data:`RULES` (or in the preset's rules).
    data : ScoreMatrix or Profile
        A leaderboard or a profile (rules that need scores take only a leaderboard).
    missing : {"drop", "raise"}, default "drop"
        ``"drop"`` drops models with missing scores for rules that cannot handle them;
        ``"raise"`` refuses.
    preset : str, optional
        ``"vote_n_rank"``: the rule as the Vote'n'Rank paper computes it (its tie conventions;
        see :mod:`metaeval.rankers.presets`).
    max_memory, max_seconds : float
        Limits checked against the rule's declared cost before it runs (a
        :class:`~metaeval.errors.TooLargeError` when they would be broken). A bounded rule
        (Kemeny–Young) gets at most a quarter of ``max_seconds`` (and 5 s) for its search.

    Returns
    -------
    RuleResult
        ``scores`` (higher is better), ``rank`` (1 = best, ties share), ``winners``, ``exact``
        (False for an approximation) and ``notes``.

    Examples
    --------
    >>> import numpy as np
    >>> from metaeval import ScoreMatrix
    >>> rng = np.random.default_rng(0)
    >>> sm = ScoreMatrix(tuple(f"m{i}" for i in range(100)), tuple(f"t{k}" for k in range(30)),
    ...                  rng.normal(size=(100, 30)))
    >>> res = apply_rule("kemeny_young", sm)
    >>> res.exact, res.notes[0].startswith("approximate")
    (False, True)
    """
    registry = _registry(preset)
    if rule not in registry:
        raise ParameterError(f"unknown rule {rule!r}; rules: {', '.join(registry)}")
    if missing not in ("drop", "raise"):
        raise ParameterError(f"`missing` must be 'drop' or 'raise'; got {missing!r}")
    spec = registry[rule]
    label = rule if preset is None else f"{rule} ({preset})"
    if spec.needs_scores:
        if not isinstance(data, ScoreMatrix):
            raise MetaevalError(f"rule {label!r} works on scores: pass a ScoreMatrix")
        sm = data
        if not spec.tolerates_missing and sm.n_missing:
            if missing == "raise":
                raise InsufficientDataError(f"rule {label!r} needs complete scores; {sm.n_missing} are missing")
            sm = sm.dropna()
        if len(sm.models) < 2:
            raise InsufficientDataError("a ranking needs at least two candidates")
        target: ScoreMatrix | Profile = sm
        m, n = len(sm.models), len(sm.tasks)
    else:
        target = data.to_profile() if isinstance(data, ScoreMatrix) else data
        if len(target.candidates) < 2:
            raise InsufficientDataError("a ranking needs at least two candidates")
        m, n = len(target.candidates), len(target.ranks)
    if spec.cost is None:  # pragma: no cover - the registry tests require a cost
        raise MetaevalError(f"rule {label!r} declares no cost")
    check_cost(f"rule {label!r}", spec.cost, m, n, max_memory=max_memory, max_seconds=max_seconds)
    out = spec.func(target, time_limit=min(5.0, max_seconds / 4)) if spec.bounded else spec.func(target)
    scored = out if isinstance(out, Scored) else Scored(np.asarray(out, float))
    return _result(rule, target, scored)
