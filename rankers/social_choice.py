"""Social-choice rankers for multi-task leaderboards (after Vote'n'Rank, Rofin et al. 2023).

Each task is a voter that ranks the models (ties allowed, missing scores unranked), weighted
by the task's weight. Every rule returns a :class:`RuleResult` — the full ranking with ties,
the scores it ranked by (higher is better) and the winner set — and lives in :data:`RULES`
with its declared properties and reference; ``tests/test_social_choice.py`` checks every
declared property on random profiles and compares winner sets with pref_voting.

>>> import numpy as np
>>> from metaeval import Profile
>>> from metaeval.rankers.social_choice import apply_rule
>>> p = Profile.from_orders([["a", "b", "c"], ["b", "a", "c"], ["a", "c", "b"]])
>>> apply_rule("borda", p).winners
('a',)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import rankdata

from metaeval.errors import InsufficientDataError, MetaevalError
from metaeval.tables import Profile, ScoreMatrix

__all__ = [
    "RULES",
    "RuleResult",
    "RuleSpec",
    "apply_rule",
    "condorcet_loser",
    "condorcet_winner",
    "majority_matrix",
    "smith_set",
]

TOL = 1e-9


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule: ``scores`` (higher is better), ``rank`` (1 = best, ties share),
    and the winner set."""

    rule: str
    candidates: tuple[str, ...]
    scores: np.ndarray
    rank: np.ndarray
    winners: tuple[str, ...]

    def to_polars(self) -> pl.DataFrame:
        order = np.argsort(self.rank, kind="stable")
        return pl.DataFrame({"model": [self.candidates[i] for i in order], "rank": self.rank[order],
                             "score": self.scores[order]})

    @property
    def ranking(self) -> tuple[str, ...]:
        return tuple(self.candidates[i] for i in np.argsort(self.rank, kind="stable"))


@dataclass(frozen=True)
class RuleSpec:
    """A registered rule: its function, declared properties and reference."""

    name: str
    func: Callable[..., np.ndarray]
    properties: frozenset[str]
    reference: str
    needs_scores: bool = False  # works on the raw scores (a ScoreMatrix), not on rankings
    tolerates_missing: bool = True


# --------------------------------------------------------------------- helpers
def _ranks(profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(profile.ranks, float), np.asarray(profile.weights, float)


def majority_matrix(profile: Profile) -> np.ndarray:
    """``P[i, j]``: total weight of voters ranking i strictly above j (unranked pairs skipped)."""
    r, w = _ranks(profile)
    above = (r[:, :, None] < r[:, None, :]) & ~np.isnan(r[:, :, None]) & ~np.isnan(r[:, None, :])
    return np.einsum("v,vij->ij", w, above.astype(float))


def condorcet_winner(profile: Profile) -> str | None:
    """The candidate that beats every other by a weighted majority, if there is one."""
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
    """The Smith set: the smallest non-empty set whose members each beat every outsider by a
    majority (the top class of the transitive closure of "beats or ties")."""
    P = majority_matrix(profile)
    n = P.shape[0]
    beats_or_ties = (P - P.T) >= -TOL
    # Transitive closure of "beats or ties"; the Smith set is the top strongly connected class.
    reach = beats_or_ties.copy()
    for k in range(n):
        reach |= reach[:, [k]] & reach[[k], :]
    top = [i for i in range(n) if all(reach[i, j] for j in range(n))]
    return tuple(profile.candidates[i] for i in top)


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


def _result(name: str, profile_or_sm: Any, scores: np.ndarray, winners_mask: np.ndarray | None = None) -> RuleResult:
    cands = profile_or_sm.candidates if isinstance(profile_or_sm, Profile) else profile_or_sm.models
    s = np.asarray(scores, float)
    filled = np.where(np.isnan(s), -np.inf, s)
    # Ties within a tolerance share the best rank.
    rounded = np.round(filled, 9)
    rank = rankdata(-rounded, method="min").astype(int)
    if winners_mask is None:
        winners_mask = rounded == rounded.max()
    return RuleResult(name, tuple(cands), s, rank, tuple(c for c, k in zip(cands, winners_mask, strict=True) if k))


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
        raise MetaevalError("the geometric mean needs positive scores")
    w = np.asarray(sm.weights)
    return np.exp((np.log(sm.scores) * w).sum(1) / w.sum())


def _mean_win_rate(sm: ScoreMatrix) -> np.ndarray:
    o = sm.oriented()
    w = np.asarray(sm.weights)
    ok = ~np.isnan(o)
    beat = (o[:, None, :] > o[None, :, :]).astype(float) + 0.5 * (o[:, None, :] == o[None, :, :])
    both = ok[:, None, :] & ok[None, :, :]
    np.einsum("iit->it", beat)[:] = 0
    np.einsum("iit->it", both)[:] = False
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (beat * both).sum(1) / both.sum(1)  # models x tasks
    rate = np.where(ok, rate, np.nan)
    wt = np.where(ok, w[None, :], 0.0)
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
    n = r.shape[1]
    pos = np.vstack([rankdata(np.where(np.isnan(row), np.inf, row), method="max") for row in r])
    counts = np.stack([w @ ((pos == k) & ~np.isnan(r)) for k in range(n, 0, -1)], axis=1)  # last, 2nd last…
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
    both = ~np.isnan(r[:, :, None]) & ~np.isnan(r[:, None, :])
    above = (r[:, :, None] < r[:, None, :]) & both
    tie = (r[:, :, None] == r[:, None, :]) & both
    B = np.einsum("v,vij->ij", w, above + 0.5 * tie)
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


def _kemeny(p: Profile) -> np.ndarray:
    from metaeval.rankers.kemeny import MAX_DP, kemeny_dp, kemeny_milp

    P = majority_matrix(p)
    if P.shape[0] > MAX_DP:
        # Beyond the dynamic program: HiGHS finds one optimal order (ties between optimal orders
        # are not enumerated, so the winner set is that order's head).
        order, _ = kemeny_milp(P)
        n = len(order)
        score = np.empty(n)
        score[list(order)] = np.arange(n, 0, -1, dtype=float)
        return score
    order, _, top = kemeny_dp(P)
    n = len(order)
    score = np.empty(n)
    score[list(order)] = np.arange(n, 0, -1, dtype=float)
    score[list(top)] = n  # every candidate first in some optimal ranking shares the top
    return score


def _condorcet(p: Profile) -> np.ndarray:
    # Number of pairwise majority wins; the winner set is the Condorcet winner, or else the Smith set.
    P = majority_matrix(p)
    return ((P - P.T) > TOL).sum(1).astype(float)


def _game_scores(sm: ScoreMatrix) -> np.ndarray:
    return sm.oriented()


def _nash_averaging(sm: ScoreMatrix) -> np.ndarray:
    from metaeval.rankers.games import nash_averaging_tasks

    return np.round(nash_averaging_tasks(_game_scores(sm)).rating, 7)


def _equilibrium(sm: ScoreMatrix) -> np.ndarray:
    from metaeval.rankers.games import equilibrium_ratings

    eq = equilibrium_ratings(_game_scores(sm))
    return np.round((eq.ratings[1] + eq.ratings[2]) / 2, 6)


def _alpha_rank(sm: ScoreMatrix) -> np.ndarray:
    from metaeval.rankers.games import alpha_rank, task_win_matrix

    return alpha_rank(task_win_matrix(_game_scores(sm), np.asarray(sm.weights, float)), alpha=100.0, m=50).pi


def _maximal_lottery(p: Profile) -> np.ndarray:
    from metaeval.rankers.games import maximal_lottery

    P = majority_matrix(p)
    total = float(np.sum(p.weights)) or 1.0
    return maximal_lottery((P - P.T) / total)


RULES: dict[str, RuleSpec] = {spec.name: spec for spec in [
    RuleSpec("arithmetic_mean", _arithmetic_mean, frozenset({"anonymous", "neutral", "pareto", "monotonic"}),
             "the usual leaderboard average", needs_scores=True, tolerates_missing=False),
    RuleSpec("geometric_mean", _geometric_mean, frozenset({"anonymous", "neutral", "pareto", "monotonic"}),
             "Vote'n'Rank (Rofin et al. 2023)", needs_scores=True, tolerates_missing=False),
    RuleSpec("mean_win_rate", _mean_win_rate, frozenset({"anonymous", "neutral"}),
             "HELM (Liang et al. 2022)", needs_scores=True),
    RuleSpec("optimality_gap", _optimality_gap, frozenset({"anonymous", "neutral"}),
             "Vote'n'Rank (Rofin et al. 2023)", needs_scores=True, tolerates_missing=False),
    RuleSpec("plurality", _plurality, frozenset({"anonymous", "neutral", "monotonic"}), "first places"),
    RuleSpec("borda", _borda_rule, frozenset({"anonymous", "neutral", "pareto", "monotonic"}), "Borda (1781)"),
    RuleSpec("dowdall", _dowdall, frozenset({"anonymous", "neutral", "monotonic"}), "Nauru / Dowdall"),
    RuleSpec("threshold", _threshold, frozenset({"anonymous", "neutral"}), "Aleskerov et al. (2010), Vote'n'Rank"),
    RuleSpec("baldwin", _baldwin, frozenset({"anonymous", "neutral", "condorcet_consistent"}), "Baldwin (1926)"),
    RuleSpec("nanson", _nanson, frozenset({"anonymous", "neutral", "condorcet_consistent"}), "Nanson (1882)"),
    RuleSpec("instant_runoff", _instant_runoff, frozenset({"anonymous", "neutral", "clone_independent"}),
             "Hare / alternative vote"),
    RuleSpec("coombs", _coombs, frozenset({"anonymous", "neutral"}), "Coombs (1964)"),
    RuleSpec("copeland", _copeland, frozenset({"anonymous", "neutral", "condorcet_consistent", "monotonic"}),
             "Copeland (1951): wins minus losses"),
    RuleSpec("llull", _llull, frozenset({"anonymous", "neutral", "condorcet_consistent", "monotonic"}),
             "Llull: wins plus ties"),
    RuleSpec("minimax", _minimax, frozenset({"anonymous", "neutral", "condorcet_consistent", "monotonic"}),
             "Simpson–Kramer, margins"),
    RuleSpec("schulze", _schulze, frozenset({"anonymous", "neutral", "condorcet_consistent", "monotonic",
                                             "pareto", "clone_independent"}), "Schulze (2011)"),
    RuleSpec("ranked_pairs", _ranked_pairs, frozenset({"anonymous", "condorcet_consistent", "pareto"}),
             "Tideman (1987), ties broken by candidate order"),
    RuleSpec("black", _black, frozenset({"anonymous", "neutral", "condorcet_consistent"}), "Black (1958)"),
    RuleSpec("bucklin", _bucklin, frozenset({"anonymous", "neutral", "monotonic"}), "Bucklin"),
    RuleSpec("kemeny_young", _kemeny, frozenset({"anonymous", "neutral", "condorcet_consistent", "pareto"}),
             "Kemeny (1959), Young (1978); exact dynamic program"),
    RuleSpec("condorcet", _condorcet, frozenset({"anonymous", "neutral", "condorcet_consistent"}),
             "Condorcet winner (else the Smith set)"),
    # Game-theoretic rules (metaeval.rankers.games). "clone_invariant": an exact copy of a model leaves every
    # other model's score unchanged and scores like the original; "task_clone_invariant": so does a copy of a task.
    RuleSpec("maximal_lottery", _maximal_lottery,
             frozenset({"anonymous", "neutral", "condorcet_consistent", "pareto", "clone_independent"}),
             "Fishburn (1984); Brandl, Brandt & Seedig (2016): the majority-margin game's max-entropy Nash"),
    RuleSpec("nash_averaging", _nash_averaging,
             frozenset({"anonymous", "neutral", "pareto", "clone_invariant", "task_clone_invariant"}),
             "Balduzzi et al. (2018), agent-vs-task", needs_scores=True, tolerates_missing=False),
    RuleSpec("alpha_rank", _alpha_rank, frozenset({"anonymous", "neutral"}),
             "Omidshafiei et al. (2019), on the share of tasks won; alpha = 100, m = 50", needs_scores=True),
    RuleSpec("equilibrium", _equilibrium,
             frozenset({"anonymous", "neutral", "pareto", "clone_invariant", "task_clone_invariant"}),
             "Liu et al. (ICLR 2025): prompt x king x rebel max-entropy CCE", needs_scores=True,
             tolerates_missing=False),
]}


def apply_rule(rule: str, data: ScoreMatrix | Profile, *, missing: str = "drop") -> RuleResult:
    """Apply one registered rule to a leaderboard (``ScoreMatrix``) or a ``Profile``.

    ``missing="drop"`` drops models with missing scores for rules that cannot handle them;
    ``"raise"`` refuses.
    """
    if rule not in RULES:
        raise MetaevalError(f"unknown rule {rule!r}; rules: {', '.join(RULES)}")
    spec = RULES[rule]
    if spec.needs_scores:
        if not isinstance(data, ScoreMatrix):
            raise MetaevalError(f"rule {rule!r} works on scores: pass a ScoreMatrix")
        sm = data
        if not spec.tolerates_missing and sm.n_missing:
            if missing == "raise":
                raise InsufficientDataError(f"rule {rule!r} needs complete scores; {sm.n_missing} are missing")
            sm = sm.dropna()
        return _result(rule, sm, spec.func(sm))
    profile = data.to_profile() if isinstance(data, ScoreMatrix) else data
    if len(profile.candidates) < 2:
        raise InsufficientDataError("a ranking needs at least two candidates")
    scores = spec.func(profile)
    mask = None
    if rule == "maximal_lottery":  # the lottery's support wins
        mask = scores > 1e-9
    elif rule == "condorcet":
        cw = condorcet_winner(profile)
        winners = {cw} if cw is not None else set(smith_set(profile))
        mask = np.array([c in winners for c in profile.candidates])
    return _result(rule, profile, scores, mask)
