"""Named presets: a published framework's rule set, computed the way its authors computed it.

``vote_n_rank`` — Rofin et al., "Vote'n'Rank: Revision of Benchmarking with Social Choice
Theory", EACL 2023; the rules of their code (GitHub ``PragmaticsLab/vote_and_rank``,
``votenrank/leaderboard/_rules.py`` and ``settings.py`` at commit 6d9cbe3) and the
preprocessing of its ``data_processing.py``. Use it as
``compare_rules(board, preset="vote_n_rank")`` or ``metaeval vote --preset vote_n_rank``; it
reproduces the winners the paper's case-study notebooks report on GLUE, SuperGLUE, VALUE and
the case-study-4 criteria (``tests/test_realdata.py`` asserts each one).

Where the preset differs from metaeval's default rules of the same name:

================  ============================================  ===========================================
rule              Vote'n'Rank (this preset)                      metaeval default (:data:`RULES`)
================  ============================================  ===========================================
plurality         a first place counts only if not shared         a shared first place is split
                  (tied models get the worse rank)
borda             m − rank, tied models get the worse rank        below + ½ · tied (the average rank)
dowdall           1 / rank, tied models get the better rank       1 / average rank
threshold         fewest last places, then second to last …       the same
                  (ranks over all models, worse rank on ties)
baldwin           Borda with the worse rank on ties, re-ranked    pairwise Borda with ties ½
                  each round; all lowest eliminated together
condorcet         the Condorcet winner or **no winner**          the Condorcet winner, else the Smith set
copeland          wins − losses                                  the same
minimax           winning votes                                  margins
arithmetic_mean   missing scores filled with the task median    models with missing scores dropped
geometric_mean    the same fill; weighted                        positive scores required; weighted
optimality_gap    mean of min(score, 95) − 95 (γ = 95)           mean distance to each task's best score
================  ============================================  ===========================================

Reading a board as the paper did, for every analysis (reports, robustness, critical differences):
``read_leaderboard(path, top=30, preset="vote_n_rank")`` (:meth:`Preset.leaderboard`) drops the
models with a missing score and leaves the diagnostic sets out.

Preprocessing (:meth:`Preset.prepare`): the diagnostic sets GLUE AX, SuperGLUE AX-b and AX-g
get weight 0 (kept as columns, so that a model missing one is still dropped as in the paper);
split ``a/b`` cells weigh ½ each and aggregate columns (Score, Mean-Rank, Meta-Ave) are left out
— both metaeval's defaults in :func:`~metaeval.io.read_leaderboard`. Models with missing scores
are dropped first (``missing="drop"``, the paper's GLUE and SuperGLUE tables); with
``missing="keep"`` only the rules the paper runs on partial tables (condorcet, copeland,
minimax, the means and the optimality gap) are applied, as in its VALUE table with the human
baseline. GLUE's "top 30" is the caller's choice (``read_leaderboard(..., top=30)``).

>>> import numpy as np
>>> from metaeval import ScoreMatrix
>>> from metaeval.rankers import compare_rules
>>> sm = ScoreMatrix(("a", "b", "c"), ("t1", "t2"), np.array([[90, 85], [90, 90], [80, 95.]]))
>>> # a and b tie on t1: the paper's Borda gives both the worse rank, metaeval's the average
>>> compare_rules(sm, preset="vote_n_rank", rules=["borda"]).winners["borda"]
('b', 'c')
>>> compare_rules(sm, rules=["borda"]).winners["borda"]
('b',)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from metaeval.rankers.social_choice import (
    _F,
    _LINEAR,
    _PAIRWISE,
    _PER_VOTER,
    PRESETS,
    RuleCost,
    RuleSpec,
    Scored,
    _pair_counts,
)
from metaeval.tables import ScoreMatrix

__all__ = ["PRESETS", "VOTE_N_RANK", "Preset"]

GAMMA = 95.0  # the optimality gap's target score (settings.py: {"gamma": [95]})
_TOL = 1e-9


@dataclass(frozen=True)
class Preset:
    """A named rule set with its own conventions and preprocessing."""

    name: str
    rules: dict[str, RuleSpec]
    zero_weight: tuple[str, ...]
    partial_rules: tuple[str, ...]
    reference: str

    def prepare(self, sm: ScoreMatrix) -> tuple[ScoreMatrix, tuple[str, ...]]:
        """The leaderboard with the preset's task weights, and notes saying what changed.

        >>> import numpy as np
        >>> sm = ScoreMatrix(("a", "b"), ("CoLA", "AX"), np.array([[1.0, 2.0], [2.0, 1.0]]))
        >>> VOTE_N_RANK.prepare(sm)[0].weights.tolist()
        [1.0, 0.0]
        """
        base = [re.sub(r" \(\d+\)$", "", t) for t in sm.tasks]
        zero = np.array([b in self.zero_weight for b in base])
        if not zero.any():
            return sm, ()
        w = np.where(zero, 0.0, np.asarray(sm.weights, float))
        names = sorted({b for b, z in zip(base, zero, strict=True) if z})
        out = ScoreMatrix(sm.models, sm.tasks, sm.scores, sm.higher_is_better, w)
        return out, (f"{self.name}: diagnostic task(s) {', '.join(names)} weighted 0",)

    def leaderboard(self, sm: ScoreMatrix) -> ScoreMatrix:
        """The leaderboard as the paper analysed it, for any analysis (``read_leaderboard(...,
        preset=...)``): models with a missing score dropped — the diagnostic sets' scores included,
        as in the paper — then the diagnostic sets left out (they weigh 0 in every rule, and an
        analysis that ignores weights, such as the Friedman test, must not count them). Notes say
        what changed.

        >>> import numpy as np
        >>> sm = ScoreMatrix(("a", "b", "c"), ("CoLA", "RTE", "AX"),
        ...                  np.array([[1.0, 2.0, 3.0], [2.0, 1.0, np.nan], [3.0, 3.0, 1.0]]))
        >>> board = VOTE_N_RANK.leaderboard(sm)
        >>> board.models, board.tasks
        (('a', 'c'), ('CoLA', 'RTE'))
        >>> for note in board.notes:
        ...     print(note)
        vote_n_rank: 1 model with a missing score dropped (b)
        vote_n_rank: diagnostic task(s) AX left out (weight 0)
        """
        notes = list(sm.notes)
        complete = ~np.isnan(sm.scores).any(axis=1)
        if not complete.all():
            dropped = [m for m, ok in zip(sm.models, complete, strict=True) if not ok]
            n = len(dropped)
            notes.append(f"{self.name}: {n} model{'s' if n > 1 else ''} with a missing score dropped "
                         f"({', '.join(dropped[:6])}{' …' if n > 6 else ''})")
            sm = sm.dropna()
        base = [re.sub(r" \(\d+\)$", "", t) for t in sm.tasks]
        zero = np.array([b in self.zero_weight for b in base])
        if zero.any():
            names = sorted({b for b, z in zip(base, zero, strict=True) if z})
            notes.append(f"{self.name}: diagnostic task(s) {', '.join(names)} left out (weight 0)")
            keep = ~zero
            sm = ScoreMatrix(sm.models, tuple(np.array(sm.tasks)[keep]), sm.scores[:, keep],
                             np.broadcast_to(np.asarray(sm.higher_is_better), (len(sm.tasks),))[keep],
                             np.asarray(sm.weights, float)[keep])
        return ScoreMatrix(sm.models, sm.tasks, sm.scores, sm.higher_is_better, sm.weights, tuple(notes))


# ----------------------------------------------------------------------------- the paper's rules
def _ranks(sm: ScoreMatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(min ranks, max ranks, weights): models x tasks, 1 = best, nan where missing (pandas'
    ``rank(method="min" / "max", ascending=False)`` per column)."""
    o = sm.oriented()
    lo = np.full(o.shape, np.nan)
    hi = np.full(o.shape, np.nan)
    for t in range(o.shape[1]):
        ok = ~np.isnan(o[:, t])
        if ok.any():
            lo[ok, t] = rankdata(-o[ok, t], method="min")
            hi[ok, t] = rankdata(-o[ok, t], method="max")
    return lo, hi, np.asarray(sm.weights, float)


def _plurality(sm: ScoreMatrix) -> np.ndarray:
    _, hi, w = _ranks(sm)
    return (hi == 1) @ w


def _borda(sm: ScoreMatrix) -> np.ndarray:
    _, hi, w = _ranks(sm)
    return np.nansum((len(sm.models) - hi) * w, axis=1)


def _dowdall(sm: ScoreMatrix) -> np.ndarray:
    lo, _, w = _ranks(sm)
    return np.nansum(w / lo, axis=1)


def _survival(rounds: np.ndarray, alive: np.ndarray) -> Scored:
    score = rounds.astype(float)
    score[alive] = rounds.max() + 1
    return Scored(score, alive)


def _threshold(sm: ScoreMatrix) -> Scored:
    """Keep the models with the most weight not in last place; among them, not in second to
    last place … (ranks over all models, a missing score counts as "not in that place")."""
    _, hi, w = _ranks(sm)
    m = len(sm.models)
    alive = np.ones(m, bool)
    rounds = np.zeros(m)
    for k, step in enumerate(range(m, 1, -1)):
        score = (hi != step) @ w
        best = score[alive].max()
        out = alive & (score < best - _TOL)
        rounds[out] = k
        alive &= ~out
    return _survival(rounds, alive)


def _baldwin(sm: ScoreMatrix) -> Scored:
    """Eliminate every model with the lowest Borda score (worse rank on ties), re-rank the rest,
    until the scores are equal."""
    o = sm.oriented()
    w = np.asarray(sm.weights, float)
    m = len(sm.models)
    alive = np.ones(m, bool)
    rounds = np.zeros(m)
    k = 0
    while True:
        idx = np.flatnonzero(alive)
        hi = np.full((idx.size, o.shape[1]), np.nan)
        for t in range(o.shape[1]):
            col = o[idx, t]
            ok = ~np.isnan(col)
            if ok.any():
                hi[ok, t] = rankdata(-col[ok], method="max")
        borda = np.nansum((idx.size - hi) * w, axis=1)
        if borda.max() - borda.min() <= _TOL:
            break
        out = idx[borda <= borda.min() + _TOL]
        rounds[out] = k
        alive[out] = False
        k += 1
    return _survival(rounds, alive)


def _beats(sm: ScoreMatrix) -> tuple[np.ndarray, np.ndarray]:
    """(above, beats): ``above[i, j]`` the weight of tasks ranking i better than j; ``beats``
    the strict weighted majority."""
    lo, _, w = _ranks(sm)
    above, _ = _pair_counts(lo.T, w)
    return above, above > above.T + _TOL


def _condorcet(sm: ScoreMatrix) -> Scored:
    _, beats = _beats(sm)
    wins = beats.sum(1)
    mask = wins == len(sm.models) - 1
    notes = () if mask.any() else ("vote_n_rank: no Condorcet winner (the paper reports none)",)
    return Scored(wins.astype(float), mask, notes)


def _copeland(sm: ScoreMatrix) -> np.ndarray:
    _, beats = _beats(sm)
    return (beats.sum(1) - beats.sum(0)).astype(float)


def _minimax(sm: ScoreMatrix) -> np.ndarray:
    """Winning votes: a model's worst defeat, measured by the weight of tasks on the winner's side."""
    above, beats = _beats(sm)
    against = np.where(beats.T, above.T, 0.0)  # against[i, j]: j's winning votes over i
    np.fill_diagonal(against, 0.0)
    return -against.max(1)


def _filled(sm: ScoreMatrix) -> np.ndarray:
    o = sm.oriented()
    if np.isnan(o).any():
        med = np.nanmedian(np.where(np.isnan(o).all(0)[None, :], 0.0, o), axis=0)
        o = np.where(np.isnan(o), med[None, :], o)
    return o


def _arithmetic_mean(sm: ScoreMatrix) -> np.ndarray:
    w = np.asarray(sm.weights, float)
    return (_filled(sm) * w).sum(1) / w.sum()


def _geometric_mean(sm: ScoreMatrix) -> Scored:
    w = np.asarray(sm.weights, float)
    use = w > 0
    x = _filled(sm)[:, use]
    bad = (x <= 0).any(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        gm = np.exp((np.log(np.where(x > 0, x, np.nan)) * w[use]).sum(1) / w[use].sum())
    gm[bad] = np.nan
    notes = (f"geometric mean undefined for {int(bad.sum())} model(s) with a non-positive score (ranked last)",) \
        if bad.any() else ()
    return Scored(gm, None, notes)


def _optimality_gap(sm: ScoreMatrix) -> np.ndarray:
    w = np.asarray(sm.weights, float)
    return ((np.minimum(_filled(sm), GAMMA) - GAMMA) * w).sum(1) / w.sum()


_RANKS = RuleCost("O(n m log m)", "O(m n)", _PER_VOTER.seconds, _PER_VOTER.bytes)
_MAJORITY = RuleCost("O(n m log m + n m²)", "O(m² + m n)",
                     lambda m, n: _PER_VOTER.seconds(m, n) + _PAIRWISE.seconds(m, n),
                     lambda m, n: _PAIRWISE.bytes(m, n) + 4 * _F * m * n)
_ITERATED = RuleCost("O(n m² log m) (m rounds of ranking)", "O(m n)",
                     lambda m, n: m * _PER_VOTER.seconds(m, n), _PER_VOTER.bytes)

_REF = "Rofin et al. (EACL 2023), votenrank/leaderboard/_rules.py"


def _spec(name: str, func: Callable[[ScoreMatrix], np.ndarray | Scored], what: str, cost: RuleCost,
          partial: bool) -> RuleSpec:
    return RuleSpec(name, func, frozenset({"anonymous", "neutral"}), f"{_REF}: {what}", needs_scores=True,
                    tolerates_missing=partial, cost=cost)


VOTE_N_RANK = Preset(
    "vote_n_rank",
    {spec.name: spec for spec in [
        _spec("plurality", _plurality, "first places; a shared first place counts for no one", _RANKS, False),
        _spec("borda", _borda, "m − rank, tied models get the worse rank", _RANKS, False),
        _spec("dowdall", _dowdall, "1 / rank, tied models get the better rank", _RANKS, False),
        _spec("threshold", _threshold, "fewest last places, then second to last …", _ITERATED, False),
        _spec("baldwin", _baldwin, "Borda elimination with the worse rank on ties", _ITERATED, False),
        _spec("condorcet", _condorcet, "the Condorcet winner, or no winner", _MAJORITY, True),
        _spec("copeland", _copeland, "wins minus losses", _MAJORITY, True),
        _spec("minimax", _minimax, "winning votes", _MAJORITY, True),
        _spec("arithmetic_mean", _arithmetic_mean, "weighted mean, missing scores filled by the task median",
              _LINEAR, True),
        _spec("geometric_mean", _geometric_mean, "weighted geometric mean, the same fill", _LINEAR, True),
        _spec("optimality_gap", _optimality_gap, f"weighted mean of min(score, {GAMMA:g}) − {GAMMA:g}", _LINEAR,
              True),
    ]},
    zero_weight=("AX", "AX-b", "AX-g"),
    partial_rules=("condorcet", "copeland", "minimax", "arithmetic_mean", "geometric_mean", "optimality_gap"),
    reference="Rofin et al., Vote'n'Rank: Revision of Benchmarking with Social Choice Theory, EACL 2023",
)

PRESETS.update({VOTE_N_RANK.name: VOTE_N_RANK})  # the table apply_rule(preset=...) reads
