"""Peer review without a reference (PiCO: Ning et al. 2025, "PiCO: Peer Review in LLMs based on
the Consistency Optimization").

Models answer the same questions and judge each other's answers in pairs. Each reviewer gets a
weight; a model's score is its weighted share of wins over the reviews it took part in. PiCO's
consistency assumption: a stronger model is also a better reviewer, so the weights should agree
with the scores they produce. PiCO maximises the Pearson correlation between the reviewers'
weights and their scores by gradient ascent. The maximum, a correlation of 1, is reached exactly
where the weights equal the scores: the fixed point w = G(w), which is computed here directly
(damped fixed-point iteration) instead of being approached by gradient steps. PiCO's
"unsupervised elimination" then drops the lowest-weighted reviewer and repeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl

from metaeval._random import as_generator
from metaeval._validate import LEVEL, Interval, validate_params
from metaeval.errors import ConvergenceWarning, InsufficientDataError, MetaevalError, ParameterError, warn
from metaeval.results import Result, RunInfo
from metaeval.stats.resampling import DEFAULT_N_RESAMPLES, cluster_weights, percentile_interval
from metaeval.tables import Judgments, as_judgments, preference

__all__ = ["PeerReview", "peer_review", "weighted_scores"]


@dataclass(frozen=True)
class PeerReview(Result):
    """Models ranked from the weighted peer reviews: score (weighted share of wins) with a
    bootstrap interval over items, rank interval, reviewer weight, the unweighted score for
    comparison, and whether the reviewer was eliminated."""

    table: pl.DataFrame
    consistency: float
    eliminated: tuple[str, ...]
    run_info: RunInfo
    title: str = "peer review (PiCO consistency optimisation)"

    @property
    def ranking(self) -> tuple[str, ...]:
        return tuple(self.table.sort("score", descending=True)["model"].to_list())

    def summary(self) -> str:
        text = super().summary()
        tail = f"\nconsistency (Pearson r of reviewer weights and their scores): {self.consistency:.4f}"
        if self.eliminated:
            tail += f"\neliminated reviewers (lowest weight first): {', '.join(self.eliminated)}"
        return text + tail


def weighted_scores(wins: np.ndarray, counts: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Scores G = Σ_v w_v wins[..., i, v] / Σ_v w_v counts[..., i, v] (batched over leading axes)."""
    num = np.einsum("...iv,...v->...i", wins, w)
    den = np.einsum("...iv,...v->...i", counts, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def _fixed_point(wins: np.ndarray, counts: np.ndarray, reviewer_model: np.ndarray, active: np.ndarray,
                 max_iter: int, tol: float) -> tuple[np.ndarray, bool]:
    """Weights w (batch × reviewers) with w_v = G_{model(v)}(w) for active reviewers, 0 otherwise."""
    batch = wins.shape[:-2]
    w = np.broadcast_to(active.astype(float), (*batch, active.size)).copy()
    converged = False
    for _ in range(max_iter):
        g = weighted_scores(wins, counts, w)
        new = np.where(active, np.nan_to_num(g[..., reviewer_model], nan=0.0), 0.0)
        new = 0.5 * (w + new)
        if np.nanmax(np.abs(new - w)) < tol:
            w, converged = new, True
            break
        w = new
    return w, converged


def _consistency(w: np.ndarray, g: np.ndarray) -> float:
    if w.size < 3 or np.std(w) == 0 or np.std(g) == 0:
        return float("nan")
    return float(np.corrcoef(w, g)[0, 1])


@validate_params({
    "exclude_self": ["boolean"],
    "eliminate": [Interval(Integral, 0, None, closed="left")],
    "n_resamples": [Interval(Integral, 0, None, closed="left")],
    "confidence_level": [LEVEL],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="neither")],
    "rng": ["rng"],
})
def peer_review(
    judgments: Judgments,
    *,
    reviewers: Sequence[str] | None = None,
    exclude_self: bool = True,
    eliminate: int = 0,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    max_iter: int = 5000,
    tol: float = 1e-12,
    rng: Any = None,
) -> PeerReview:
    """Rank models from their reviews of each other, learning reviewer weights (PiCO).

    Parameters
    ----------
    judgments : Judgments
        Pairwise verdicts whose judges are also models of the table (a judge named like a
        model reviews as that model). Ties count ½; ``p_a`` is used where given.
    reviewers : sequence of str, optional
        The judges whose reviews count (default: every judge that is a model).
    exclude_self : bool, default True
        Leave out reviews of battles the reviewer takes part in (self-preference).
    eliminate : int, default 0
        PiCO's unsupervised elimination: drop the lowest-weighted reviewer this many times,
        re-learning the weights each time.
    n_resamples : int, default 1000
        Resamples of the percentile bootstrap over items for scores and ranks (weights
        re-learned per resample). Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the intervals.
    max_iter : int, default 5000
        Largest number of iterations of the consistency optimisation.
    tol : float, default 1e-12
        Convergence tolerance of the optimisation (largest change of a weight).
    rng : int, numpy.random.Generator or None
        Seed for the bootstrap.

    Returns
    -------
    PeerReview
        ``table``: per model the weighted score with its bootstrap interval, the rank interval, its
        weight as a reviewer, the unweighted score and whether it was eliminated; ``consistency``
        (the optimised consistency) and ``eliminated``.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import juries
    >>> peers = metaeval.simulate.peer_reviews(n_models=5, n_items=200, rng=0)
    >>> res = juries.peer_review(peers.judgments, n_resamples=100, rng=0)
    >>> res.consistency > 0.999
    True
    """
    judgments = as_judgments(judgments)
    if judgments.kind != "pairwise":
        raise MetaevalError("peer review needs pairwise verdicts (models judging pairs of other models' answers)")
    if eliminate < 0:
        raise ParameterError(f"`eliminate` must be ≥ 0; got {eliminate}")
    gen, seed = as_generator(rng)
    f = judgments.frame
    models = sorted(set(f["model_a"].unique().to_list()) | set(f["model_b"].unique().to_list()))
    if reviewers is None:
        revs = [j for j in judgments.judges if j in models]
        if not revs:
            raise InsufficientDataError("no judge is also a model of the table: peer review needs models as judges")
    else:
        revs = list(reviewers)
        bad = [r for r in revs if r not in models or r not in judgments.judges]
        if bad:
            raise MetaevalError(f"reviewer {bad[0]!r} must be both a judge and a model of the table")
    if len(revs) < 3:
        raise InsufficientDataError(f"{len(revs)} reviewers are too few to learn weights (need 3)")
    if eliminate > len(revs) - 3:
        raise MetaevalError(f"`eliminate` can drop at most {len(revs) - 3} of {len(revs)} reviewers (3 must remain)")
    f = f.filter(pl.col("judge").is_in(revs))
    if exclude_self:
        f = f.filter((pl.col("judge") != pl.col("model_a")) & (pl.col("judge") != pl.col("model_b")))
    if f.height == 0:
        raise InsufficientDataError("no review left (every review judged the reviewer's own battle)")
    y = preference(f)
    mi = {m: i for i, m in enumerate(models)}
    ri = {r: i for i, r in enumerate(revs)}
    a = f["model_a"].replace_strict(mi, return_dtype=pl.Int64).to_numpy()
    b = f["model_b"].replace_strict(mi, return_dtype=pl.Int64).to_numpy()
    r = f["judge"].replace_strict(ri, return_dtype=pl.Int64).to_numpy()
    items = f["item"].cast(pl.String)
    it = items.rank("dense").to_numpy().astype(np.int64) - 1
    n_items = int(it.max()) + 1
    m, k = len(models), len(revs)
    # per item: wins and reviews of every model by every reviewer (items × models × reviewers)
    wins = np.zeros((n_items, m, k))
    counts = np.zeros((n_items, m, k))
    np.add.at(wins, (it, a, r), y)
    np.add.at(wins, (it, b, r), 1 - y)
    np.add.at(counts, (it, a, r), 1.0)
    np.add.at(counts, (it, b, r), 1.0)
    reviewer_model = np.array([mi[x] for x in revs])
    W_tot, C_tot = wins.sum(0), counts.sum(0)
    active = np.ones(k, dtype=bool)
    eliminated: list[str] = []
    for _ in range(eliminate + 1):
        w, ok = _fixed_point(W_tot, C_tot, reviewer_model, active, max_iter, tol)
        if not ok:
            warn("the reviewer weights did not settle; the last iterate is used", ConvergenceWarning)
        if len(eliminated) == eliminate:
            break
        cand = np.where(active, w, np.inf)
        drop = int(np.argmin(cand))
        active[drop] = False
        eliminated.append(revs[drop])
    g = weighted_scores(W_tot, C_tot, w)
    g_eq = weighted_scores(W_tot, C_tot, active.astype(float))
    cons = _consistency(w[active], g[reviewer_model[active]])
    lo = hi = np.full(m, np.nan)
    rank_lo = rank_hi = np.full(m, np.nan)
    if n_resamples > 0:
        Wb = cluster_weights(n_items, n_resamples, gen)
        wins_b = np.einsum("bi,imk->bmk", Wb, wins)
        counts_b = np.einsum("bi,imk->bmk", Wb, counts)
        wb, _ = _fixed_point(wins_b, counts_b, reviewer_model, active, max_iter, 1e-10)
        gb = weighted_scores(wins_b, counts_b, wb)
        with np.errstate(all="ignore"):
            lo, hi = percentile_interval(gb, confidence_level)
            ranks = (-np.nan_to_num(gb, nan=-np.inf)).argsort(1).argsort(1) + 1.0
            rank_lo, rank_hi = percentile_interval(ranks, confidence_level)
    weight = np.full(m, np.nan)
    for v_i, mod in enumerate(reviewer_model):
        weight[mod] = w[v_i]
    rank = (-np.nan_to_num(g, nan=-np.inf)).argsort().argsort() + 1
    table = pl.DataFrame({"model": models, "score": g, "ci_low": lo, "ci_high": hi, "rank": rank,
                          "rank_ci_low": rank_lo, "rank_ci_high": rank_hi, "reviewer_weight": weight,
                          "unweighted_score": g_eq,
                          "eliminated": [x in eliminated for x in models]}).sort("rank")
    run = RunInfo("juries.peer_review", {"reviewers": revs, "exclude_self": exclude_self, "eliminate": eliminate,
                                         "n_resamples": n_resamples}, seed, judgments.fingerprint, n_items,
                  len(judgments))
    return PeerReview(table, cons, tuple(eliminated), run)
