"""``metaeval.rank``: ratings, intervals, rank intervals and P(best) from a judgments table.

One entry point for every paired-comparison ranker:

========================  ===========================================================
``method``                model
========================  ===========================================================
``"auto"``                Davidson when the data has ties, else Bradley–Terry
``"bradley_terry"``       Bradley–Terry; ties count ½ (``ties="half"``) or are dropped
``"davidson"``            Davidson's tie model (one shared tie parameter ν)
``"rao_kupper"``          Rao–Kupper's threshold model (tie parameter η)
``"elo"``                 online Elo in table order (+ the spread over battle orders)
``"rank_centrality"``     Negahban et al.'s random walk
``"plackett_luce"``       per-item rankings of models by score (pointwise tables)
``"bayesian_bradley_terry"`` hierarchical Bradley–Terry by NUTS (PyMC, the ``bayes`` extra):
                          credible intervals, convergence diagnostics that gate it
``"nash_averaging"``      Balduzzi et al.'s Nash averaging (agent-vs-agent from pairs,
                          agent-vs-task from scores)
``"maximal_lottery"``     the Nash equilibrium of the majority-margin game
``"alpha_rank"``          α-Rank's stationary distribution (Omidshafiei et al. 2019)
``"equilibrium"``         Liu et al.'s (2025) prompt × model equilibrium ratings
========================  ===========================================================

The last four are the game-theoretic rankers of :mod:`metaeval.rankers.game_rank`; they also
take a :class:`~metaeval.ScoreMatrix`, and are invariant to cloned models and duplicated tasks
where they say so.

Intervals (``ci``): ``"bootstrap"`` resamples battles (multinomial over the count cells —
the same distribution as resampling rows, at a fraction of the cost) or, with ``cluster``,
whole items / judges / users; ``"sandwich"`` (Bradley–Terry only) is the cheap analytic
option, cluster-robust when ``cluster`` is given, with rank intervals and P(best) drawn from
the normal approximation; ``"none"`` skips them. Resamples whose maximum-likelihood estimate
does not exist (a model wins or loses everything) are counted in ``n_degenerate`` and left out,
never turned into absurd bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy.sparse.csgraph import connected_components

from metaeval._numeric import unit_exponent
from metaeval._progress import task, track
from metaeval._random import as_generator, resample_counts
from metaeval._validate import LEVEL, Interval, Options, validate_params
from metaeval.errors import (
    DisconnectedComparisonWarning,
    EstimationWarning,
    InsufficientDataError,
    MetaevalError,
    SmallSampleWarning,
    warn,
)
from metaeval.results import Result, RunInfo
from metaeval.tables import Judgments, PairwiseCounts, ScoreMatrix, as_judgments

__all__ = ["GAME_METHODS", "METHODS", "Ranking", "rank"]

PAIRED_METHODS = ("auto", "bradley_terry", "davidson", "rao_kupper", "elo", "rank_centrality", "plackett_luce",
                  "bayesian_bradley_terry")
GAME_METHODS = ("nash_averaging", "maximal_lottery", "alpha_rank", "equilibrium")
METHODS = PAIRED_METHODS + GAME_METHODS
POISSON_METHODS = ("auto", "bradley_terry", "davidson", "rao_kupper", "rank_centrality")  # fitted from count cubes
ELO_SCALE = 400.0 / math.log(10.0)


# ----------------------------------------------------------------------------- result
@dataclass(frozen=True)
class Ranking(Result):
    """Ratings with intervals, rank intervals and P(best).

    ``rating`` is on the scale asked for (``"logit"``: log-odds, centred; ``"elo"``:
    ``400/ln 10`` × log-odds, mean 1000 or the anchor model at its value). ``arena_rank`` is
    1 + the number of models whose interval lies wholly above this model's (Chatbot Arena's
    rule); models of one ``tie_group`` cannot be told apart from the group's leader.
    """

    models: tuple[str, ...]
    rating: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    rank_low: np.ndarray
    rank_high: np.ndarray
    p_best: np.ndarray
    n: np.ndarray
    method: str
    ci_method: str
    scale: str
    confidence_level: float
    tie_parameter: float | None
    n_resamples: int
    n_degenerate: int
    run_info: RunInfo
    draws: np.ndarray | None = None
    order_spread: float | None = None
    mass: np.ndarray | None = None  # game-theoretic rankers: equilibrium / stationary mass per model
    mass_ci: tuple[np.ndarray, np.ndarray] | None = None
    task_table: pl.DataFrame | None = None  # game-theoretic rankers: per-task (prompt) mass and rating
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"ranking ({self.method}, {self.ci_method} intervals)"

    @property
    def rank(self) -> np.ndarray:
        """Point rank by rating (1 = best; equal ratings share the best rank, and ratings that
        differ by float noise only, 1e-9 of their size, are equal)."""
        return _ranks(self.rating[None, :])[0].astype(int)

    @property
    def arena_rank(self) -> np.ndarray:
        better = self.ci_low[None, :] > self.ci_high[:, None]  # better[i, j]: j significantly above i
        return 1 + better.sum(1)

    @property
    def tie_group(self) -> np.ndarray:
        order = np.argsort(-self.rating, kind="stable")
        group = np.zeros(len(self.models), dtype=int)
        g, leader = 0, None
        for i in order:
            if leader is None or not (self.ci_high[i] >= self.ci_low[leader]):
                g += 1
                leader = i
            group[i] = g
        return group

    def to_polars(self) -> pl.DataFrame:
        order = np.argsort(-self.rating, kind="stable")
        return pl.DataFrame(
            {
                "model": [self.models[i] for i in order],
                "rating": self.rating[order],
                "ci_low": self.ci_low[order],
                "ci_high": self.ci_high[order],
                "rank": self.rank[order],
                "rank_low": self.rank_low[order],
                "rank_high": self.rank_high[order],
                "p_best": self.p_best[order],
                "arena_rank": self.arena_rank[order],
                "tie_group": self.tie_group[order],
                "n": self.n[order].astype(np.int64),
                **({} if self.mass is None else {"mass": self.mass[order]}),
                **({} if self.mass_ci is None else {"mass_low": self.mass_ci[0][order],
                                                    "mass_high": self.mass_ci[1][order]}),
            }
        )

    def summary(self) -> str:
        from metaeval._format import table_text

        lines = [f"method {self.method}; scale {self.scale}; {self.confidence_level:.0%} {self.ci_method} intervals"]
        if self.tie_parameter is not None:
            lines.append(f"tie parameter {self.tie_parameter:.4g}")
        if self.n_resamples and self.ci_method.startswith("credible"):
            lines.append(f"{self.n_resamples} posterior draws")
        elif self.n_resamples:
            lines.append(f"{self.n_resamples} resamples, {self.n_degenerate} degenerate (left out)")
        if self.order_spread is not None:
            lines.append(f"Elo spread over battle orders (mean sd): {self.order_spread:.3g}")
        lines.extend(self.notes)
        # a failed convergence check comes first: those numbers are not a conclusion
        alarms = [n for n in self.notes if n.startswith("NOT CONVERGED")]
        text = "\n".join([*alarms, table_text(self.to_polars(), title=self.title), *lines])
        if self.task_table is not None:
            shown = self.task_table.sort("mass", descending=True).head(15)
            more = "" if self.task_table.height <= 15 else f" (top 15 of {self.task_table.height} by mass)"
            text += "\n" + table_text(shown, title=f"tasks{more}")
        return text

    def chart(self) -> Any:
        """Forest plot of the ratings with their intervals, beside each model's rank interval."""
        import altair as alt

        from metaeval.report.charts import forest, rank_intervals

        table = self.to_polars()
        order = table["model"].to_list()
        level = f"{self.confidence_level:.0%}"
        kind = "credible" if self.ci_method.startswith("credible") else "confidence"
        ratings = forest(table, label="model", estimate="rating", low="ci_low", high="ci_high",
                         x_title=f"rating ({self.scale})", sort=order, tooltip=["p_best", "n"], width=300)
        ranks = rank_intervals(table, label="model", rank="rank", low="rank_low", high="rank_high",
                               n_models=len(order), sort=order, show_labels=False, width=200,
                               x_title=f"rank (1 = best), {level} interval", tooltip=["p_best"])
        draws = ("posterior draws" if kind == "credible" else "normal-approximation draws"
                 if "sandwich" in self.ci_method else "resamples")
        subtitle = (f"{level} {kind} intervals ({self.ci_method}); rank interval: central {level} of the ranks over "
                    f"the {draws}" if self.n_resamples else "no intervals (ci='none')")
        return alt.hconcat(ratings, ranks, spacing=14).properties(
            title=alt.TitleParams(f"Ratings and ranks ({self.method})", subtitle=subtitle,
                                  anchor="start", subtitleColor="#444444"))

# ------------------------------------------------------------------- data preparation
@dataclass(frozen=True)
class _Battles:
    models: tuple[str, ...]
    ia: np.ndarray
    ib: np.ndarray
    oc: np.ndarray  # 0: a won, 1: b won, 2: tie
    cluster: np.ndarray | None
    n_clusters: int
    cluster_labels: np.ndarray | None = None  # the cluster id (text) of each code


def _battles(judgments: Judgments, cluster: str | None) -> _Battles:
    f = judgments.frame
    models = judgments.models
    enum = pl.Enum(list(models))
    ia = f["model_a"].cast(enum).to_physical().to_numpy().astype(np.int64)
    ib = f["model_b"].cast(enum).to_physical().to_numpy().astype(np.int64)
    oc = f["outcome"].to_physical().to_numpy().astype(np.int64)
    cl, n_cl = None, 0
    if cluster is not None:
        if cluster not in f.columns:
            raise MetaevalError(f"cannot cluster on `{cluster}`: the table has no such column")
        text = f[cluster].cast(pl.String).fill_null("<missing>")
        codes = text.cast(pl.Categorical).to_physical()
        cl = codes.to_numpy().astype(np.int64)
        n_cl = int(cl.max()) + 1 if len(cl) else 0
        labels = np.empty(n_cl, dtype=object)
        labels[cl] = text.to_numpy()
        return _Battles(models, ia, ib, oc, cl, n_cl, labels)
    return _Battles(models, ia, ib, oc, cl, n_cl)


def _cube(b: _Battles, weights: np.ndarray | None = None) -> np.ndarray:
    m = len(b.models)
    flat = (b.ia * m + b.ib) * 3 + b.oc
    return np.bincount(flat, weights=weights, minlength=m * m * 3).reshape(m, m, 3).astype(float)


def _wins_ties(cube: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(…, m, m, 3) cell counts → wins[i, j] (i beat j) and symmetric ties."""
    wins = cube[..., 0] + np.swapaxes(cube[..., 1], -1, -2)
    t = cube[..., 2]
    return wins, t + np.swapaxes(t, -1, -2)


def _strongly_connected(wins: np.ndarray, ties: np.ndarray) -> bool:
    adj = (wins + ties) > 0
    return connected_components(adj, directed=True, connection="strong")[0] == 1


# ------------------------------------------------------------------------- fitting
def _fit_counts(method: str, wins: np.ndarray, ties: np.ndarray, ties_mode: str, prior: float,
                init: np.ndarray | None = None) -> tuple[np.ndarray, float | None]:
    from metaeval.rankers.bradley_terry import bt_newton_counts
    from metaeval.rankers.plackett_luce import rank_centrality_counts
    from metaeval.rankers.ties import davidson_counts, rao_kupper_counts

    if prior == 0:  # the estimates do not change when every count is scaled; tiny (fractional) counts would
        e = unit_exponent(np.concatenate([wins.ravel(), ties.ravel()]))  # stop the fits at once: bring them near 1
        if e:
            wins, ties = np.ldexp(wins, -e), np.ldexp(ties, -e)
    if method == "bradley_terry":
        w = wins + 0.5 * ties if ties_mode == "half" else wins
        return bt_newton_counts(w, prior=prior, init=init)[0], None
    if method == "davidson":
        return davidson_counts(wins, ties, prior=prior)
    if method == "rao_kupper":
        return rao_kupper_counts(wins, ties, prior=prior)
    if method == "rank_centrality":
        return rank_centrality_counts(wins, ties, eps=prior), None
    raise MetaevalError(f"unknown counts method {method!r}")  # pragma: no cover


def _pair_cells(cube: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per compared unordered pair (i < j): indices, total, and the share of i-wins, j-wins, ties."""
    wins, ties = _wins_ties(cube)
    i, j = np.triu_indices(cube.shape[0], 1)
    counts = np.stack([wins[i, j], wins[j, i], ties[i, j]], axis=1)
    n = counts.sum(1)
    keep = n > 0
    return i[keep], j[keep], n[keep], counts[keep] / n[keep, None]


def _bootstrap_counts(
    b: _Battles, method: str, ties_mode: str, prior: float, theta: np.ndarray, n_resamples: int,
    gen: np.random.Generator, chunk: int = 100, *, poisson_seed: int | None = None,
    resampled: np.ndarray | None = None, full: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """B × m strengths from resampled battles or resampled clusters.

    With ``poisson_seed``, each cluster gets a Poisson(1) weight per resample drawn from
    (seed, cluster id, resample index) (:func:`metaeval.stats.resampling.poisson_weights`): the
    draws of :meth:`metaeval.battles.BattleScan.reduce` on the same battles. ``resampled``
    passes such resampled count cubes (B × m × m × 3) directly, with ``full`` the count cube of
    the data (then ``b`` needs only its models).

    Without clusters the multinomial over battles is drawn in two exact stages — how many
    battles each compared pair gets, then how they split into wins, losses and ties — which
    is the same distribution as resampling rows and costs O(pairs) per resample. Resamples are
    drawn in chunks, each from its own child generator (so the numbers do not depend on
    timing), in a background thread while the main thread fits the previous chunk.
    """
    from concurrent.futures import ThreadPoolExecutor

    from scipy import sparse
    from scipy.sparse.csgraph import minimum_spanning_tree

    from metaeval.rankers.bradley_terry import bt_newton_batch

    m = len(b.models)
    full = _cube(b) if full is None else full
    if resampled is not None:
        pass
    elif poisson_seed is not None:
        from metaeval.stats.resampling import stable_keys

        if b.cluster is None or b.cluster_labels is None:
            raise MetaevalError("the Poisson bootstrap resamples clusters: give `cluster=`")
        keys = stable_keys(b.cluster_labels)
        K = m * m * 3
        flat = (b.ia * m + b.ib) * 3 + b.oc
        cells = np.unique(flat)
        C = sparse.csr_matrix((np.ones(len(flat)), (b.cluster, flat)), shape=(b.n_clusters, K))[:, cells]
    elif b.cluster is None:
        pi, pj, pn, pshare = _pair_cells(full)
        total = round(float(pn.sum()))
        pair_p = pn / pn.sum()
    else:
        K = m * m * 3
        flat = (b.ia * m + b.ib) * 3 + b.oc
        cells = np.unique(flat)
        C = sparse.csr_matrix((np.ones(len(flat)), (b.cluster, flat)), shape=(b.n_clusters, K))[:, cells]

    def sample(child: np.random.Generator, size: int, start: int) -> tuple[np.ndarray, np.ndarray]:
        if resampled is not None:
            return _wins_ties(resampled[start:start + size])
        if poisson_seed is not None:
            from metaeval.stats.resampling import poisson_weights

            w = poisson_weights(keys, size, poisson_seed, start=start).astype(np.float64)  # clusters × size
            cube = np.zeros((size, m * m * 3))
            cube[:, cells] = (C.T @ w).T
            return _wins_ties(cube.reshape(size, m, m, 3))
        if b.cluster is None:
            per_pair = child.multinomial(total, pair_p, size=size)
            split = child.multinomial(per_pair, pshare).astype(float)  # size x pairs x 3
            wins = np.zeros((size, m, m))
            ties = np.zeros((size, m, m))
            wins[:, pi, pj] = split[..., 0]
            wins[:, pj, pi] = split[..., 1]
            ties[:, pi, pj] = split[..., 2]
            ties[:, pj, pi] = split[..., 2]
            return wins, ties
        w = resample_counts(child, b.n_clusters, size)
        cube = np.zeros((size, m * m * 3))
        cube[:, cells] = np.asarray((sparse.csr_matrix(w) @ C).todense())
        return _wins_ties(cube.reshape(size, m, m, 3))

    # A spanning tree of pairs seen both ways in the data, built from the pairs whose rarer
    # direction is most frequent: a resample that keeps each tree pair in both directions is
    # strongly connected (sufficient, and cheap to check); the others get the exact check.
    full_w, full_t = _wins_ties(full)
    rare = np.minimum(full_w + full_t, full_w.T + full_t)
    tree = minimum_spanning_tree(sparse.csr_matrix(np.where(rare > 0, 1.0 / np.maximum(rare, 1e-12), 0.0)))
    ti, tj = tree.nonzero()
    tree_ok = len(ti) == m - 1

    sizes = [min(chunk, n_resamples - s0) for s0 in range(0, n_resamples, chunk)]
    starts = [s0 for s0 in range(0, n_resamples, chunk)]
    children = gen.spawn(len(sizes))
    draws = np.empty((n_resamples, m))
    ok = np.zeros(n_resamples, dtype=bool)
    ahead = 2
    with ThreadPoolExecutor(max_workers=ahead) as pool, task(f"{method} bootstrap", n_resamples) as shown:
        futures = [pool.submit(sample, children[k], sizes[k], starts[k]) for k in range(min(ahead, len(sizes)))]
        start = 0
        for k, size in enumerate(sizes):
            if k + ahead < len(sizes):
                futures.append(pool.submit(sample, children[k + ahead], sizes[k + ahead], starts[k + ahead]))
            wins, ties = futures[k].result()
            futures[k] = None  # type: ignore[call-overload]
            if prior > 0:
                connected = np.ones(size, bool)
            else:
                both = ((wins[:, ti, tj] + ties[:, ti, tj]) > 0) & ((wins[:, tj, ti] + ties[:, ti, tj]) > 0)
                connected = tree_ok & both.all(axis=1)
                for kk in np.flatnonzero(~connected):
                    connected[kk] = _strongly_connected(wins[kk], ties[kk])
            if method == "bradley_terry":
                wmat = wins + 0.5 * ties if ties_mode == "half" else wins
                th, conv = bt_newton_batch(wmat, init=theta, prior=prior)
                draws[start:start + size] = th
                ok[start:start + size] = conv & connected
            else:
                for kk in range(size):
                    if not connected[kk]:
                        continue
                    try:
                        th, _ = _fit_counts(method, wins[kk], ties[kk], ties_mode, prior)
                    except (InsufficientDataError, np.linalg.LinAlgError):
                        continue
                    draws[start + kk] = th
                    ok[start + kk] = np.all(np.isfinite(th)) and np.max(np.abs(th)) < 25
            start += size
            shown.advance(size)
    return draws, ok


def _sandwich(b: _Battles, theta: np.ndarray, ties_mode: str, prior: float) -> np.ndarray:
    """Covariance of centred BT strengths: I⁺ M I⁺, M the (clustered) outer product of scores."""
    from scipy.special import expit

    from metaeval.rankers.bradley_terry import fisher_information

    m = len(b.models)
    y = np.where(b.oc == 0, 1.0, np.where(b.oc == 1, 0.0, 0.5))
    keep = np.ones(len(y), bool) if ties_mode == "half" else b.oc != 2
    ia, ib, y = b.ia[keep], b.ib[keep], y[keep]
    p = expit(theta[ia] - theta[ib])
    r = y - p
    n = np.zeros((m, m))
    np.add.at(n, (ia, ib), 1.0)
    info = fisher_information(theta, n + n.T, prior)
    info_pinv = np.linalg.pinv(info, hermitian=True)
    if b.cluster is None:
        G = np.zeros((len(r), m))
        G[np.arange(len(r)), ia] = r
        G[np.arange(len(r)), ib] -= r
        meat = G.T @ G
    else:
        cl = b.cluster[keep]
        G = np.zeros((b.n_clusters, m))
        np.add.at(G, (cl, ia), r)
        np.add.at(G, (cl, ib), -r)
        nc = b.n_clusters
        meat = G.T @ G * (nc / max(nc - 1, 1))
    return info_pinv @ meat @ info_pinv


def _to_scale(theta: np.ndarray, models: tuple[str, ...], scale: str, anchor: str | None,
              anchor_value: float | None) -> np.ndarray:
    """Map strengths (…, m) to the display scale, per row (each draw anchored on its own)."""
    if scale == "logit":
        base = 0.0 if anchor_value is None else anchor_value
        factor = 1.0
    else:
        base = 1000.0 if anchor_value is None else anchor_value
        factor = ELO_SCALE
    out = theta * factor
    if anchor is not None:
        k = models.index(anchor)
        out = out - out[..., k:k + 1] + base
    else:
        out = out - out.mean(axis=-1, keepdims=True) + base
    return out


def _summarise_draws(
    draws: np.ndarray, ok: np.ndarray, models: tuple[str, ...], scale: str, anchor: str | None,
    anchor_value: float | None, level: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, np.ndarray]:
    """Percentile intervals, rank intervals and P(best) from resampled strengths; resamples without
    an estimate (``~ok``) are counted, warned about and left out."""
    n_deg = int((~ok).sum())
    if n_deg:
        warn(f"{n_deg} of {ok.size} resamples had no maximum-likelihood estimate (some model never lost, or never won, "
             "in them) and were left out of the intervals", EstimationWarning)
    if ok.sum() < 2:
        raise InsufficientDataError("fewer than two usable resamples: no interval can be estimated")
    scaled = _to_scale(draws[ok], models, scale, anchor, anchor_value)
    a = (1 - level) / 2
    low, high = np.quantile(scaled, a, axis=0), np.quantile(scaled, 1 - a, axis=0)
    rlow, rhigh, pbest = _rank_stats(scaled, level)
    return low, high, rlow, rhigh, pbest, n_deg, scaled


def _ranks(values: np.ndarray, rel: float = 1e-9) -> np.ndarray:
    """Ranks (1 = largest, ties share the best rank) of each row of ``values``, with values that
    differ by less than ``rel`` × max(1, the row's largest |value|) counted as equal: a fit
    stops within ~1e-10 of its optimum, so closer ratings differ by float noise, and a rank or
    P(best) drawn from that noise would be made up.

    >>> _ranks(np.array([[1.0, 1.0 + 1e-14, 0.5, 2.0]])).tolist()
    [[2.0, 2.0, 4.0, 1.0]]
    """
    order = np.argsort(-values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    tol = rel * np.maximum(1.0, np.max(np.abs(values), axis=1, keepdims=True))
    step = np.concatenate([np.ones((len(values), 1), bool), (ordered[:, :-1] - ordered[:, 1:]) > tol], axis=1)
    position = np.broadcast_to(np.arange(1, values.shape[1] + 1, dtype=float), values.shape)
    first = np.maximum.accumulate(np.where(step, position, 0.0), axis=1)  # rank of each group's first member
    ranks = np.empty_like(first)
    np.put_along_axis(ranks, order, first, axis=1)
    return ranks


def _rank_stats(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank intervals and P(best) from draws (resamples or posterior draws) × models. Tied
    models share the best rank, and a draw in which k models tie for first gives each 1/k —
    equilibria tie structurally; continuous draws never do."""
    ranks = _ranks(draws)
    a = (1 - level) / 2
    low = np.quantile(ranks, a, axis=0, method="inverted_cdf").astype(float)
    high = np.quantile(ranks, 1 - a, axis=0, method="inverted_cdf").astype(float)
    first = ranks == 1
    p_best = (first / first.sum(1, keepdims=True)).mean(0)
    return low, high, p_best


# ---------------------------------------------------------------------- pointwise
def _rankings_from_scores(judgments: Judgments, higher_is_better: bool, cluster: str | None
                          ) -> tuple[list[list[list[int]]], np.ndarray | None, int]:
    f = judgments.frame.filter(pl.col("score").is_not_null())
    keys = [k for k in ("item", "judge", "rep", "variant", "task") if k in f.columns]
    models = judgments.models
    enum = pl.Enum(list(models))
    f = f.with_columns(pl.col("model").cast(enum).to_physical().alias("__m"),
                       (pl.col("score") if higher_is_better else -pl.col("score")).alias("__s"))
    grouped = (f.group_by(keys, maintain_order=True)
               .agg(pl.col("__m"), pl.col("__s"), *( [pl.col(cluster).first().alias("__c")] if cluster else [])))
    rankings: list[list[list[int]]] = []
    cl: list[Any] = []
    for row in grouped.iter_rows(named=True):
        ms, ss = row["__m"], row["__s"]
        if len(ms) < 2:
            continue
        levels = sorted(set(ss), reverse=True)
        groups = [[int(m) for m, s in zip(ms, ss, strict=True) if s == lv] for lv in levels]
        if len(groups) < 2:
            continue
        rankings.append(groups)
        if cluster:
            cl.append(row["__c"])
    cl_codes = None
    n_cl = 0
    if cluster:
        cats = {c: i for i, c in enumerate(dict.fromkeys(cl))}
        cl_codes = np.array([cats[c] for c in cl], dtype=np.int64)
        n_cl = len(cats)
    return rankings, cl_codes, n_cl


# --------------------------------------------------------------------------- entry
@validate_params({
    "method": [Options(str, ("auto", *METHODS))],
    "ties": [Options(str, ("half", "drop"))],
    "ci": [Options(str, ("bootstrap", "sandwich", "none"))],
    "n_resamples": [Interval(Integral, 2, None, closed="left"), None],
    "confidence_level": [LEVEL],
    "prior": [Interval(Real, 0, None, closed="left")],
    "scale": [Options(str, ("logit", "elo"))],
    "anchor_value": ["finite", None],
    "k": [Interval(Real, 0, None, closed="neither")],
    "n_permutations": [Interval(Integral, 1, None, closed="left")],
    "higher_is_better": ["boolean"],
    "bootstrap": [Options(str, ("multinomial", "poisson")), None],
    "rng": ["rng"],
})
def rank(
    judgments: Judgments | PairwiseCounts | ScoreMatrix,
    method: str = "auto",
    *,
    ties: Literal["half", "drop"] = "half",
    ci: Literal["bootstrap", "sandwich", "none"] = "bootstrap",
    n_resamples: int | None = None,
    cluster: str | None = None,
    confidence_level: float = 0.95,
    prior: float = 0.0,
    scale: Literal["logit", "elo"] = "logit",
    anchor: str | None = None,
    anchor_value: float | None = None,
    k: float = 4.0,
    n_permutations: int = 20,
    higher_is_better: bool = True,
    bootstrap: Literal["multinomial", "poisson"] | None = None,
    rng: np.random.Generator | int | None = None,
    **game_options: Any,
) -> Ranking:
    """Rank models from paired comparisons (or per-item scores) with honest uncertainty.

    Parameters
    ----------
    judgments
        A pairwise table (or :class:`PairwiseCounts`, without cluster resampling). A pointwise
        table is ranked per item by score (Plackett–Luce), or turned into pairs first for the
        other methods. Battle logs read lazily (:func:`metaeval.scan`) are ranked out of core
        with the same numbers (:func:`metaeval.battles.rank_lazy`: the count-based methods;
        ``cluster`` defaults to the scan's; ``partitions=`` buckets the sandwich's clusters).
    method
        See the module documentation; ``"auto"`` picks Davidson when there are ties.
    ties
        For Bradley–Terry and Elo: a tie is half a win (``"half"``, Chatbot Arena's choice) or
        is dropped.
    ci
        ``"bootstrap"``, ``"sandwich"`` (Bradley–Terry) or ``"none"``.
    n_resamples
        Bootstrap resamples (or normal draws for the sandwich's rank intervals); default 1000,
        200 for the game-theoretic methods.
    cluster
        Resample whole clusters: ``"item"``, ``"judge"`` or any column (e.g. a user id in
        ``extra`` promoted to a column).
    prior
        Precision of a N(0, 1/prior) prior on each strength; needed when the comparison graph
        is not strongly connected (the ratings across components then come from the prior).
    scale, anchor, anchor_value
        ``"logit"`` (centred log-odds) or ``"elo"`` (``400/ln 10`` per unit, mean 1000); an
        anchor model is pinned at ``anchor_value`` (Chatbot Arena pins one model at 1114).
    k, n_permutations
        Elo's K-factor and the number of random battle orders for its order spread.
    bootstrap
        How a cluster bootstrap weighs the clusters: ``"multinomial"`` (draw as many clusters
        as there are, with replacement; the default in memory) or ``"poisson"`` (an
        independent Poisson(1) weight per cluster and resample, drawn from (seed, cluster id,
        resample index): the draws of the out-of-core path, which any split of the data
        reproduces; the default for a :class:`~metaeval.battles.BattleScan`). With an integer
        ``rng``, ``rank(judgments, bootstrap="poisson", rng=s)`` and ``rank(scan(...), rng=s)``
        give identical resamples.
    rng
        Seed or generator for the resampling.
    **game_options
        For the game-theoretic methods: ``alpha``, ``m``, ``normalize``, ``prompt_payoff``,
        ``eps``, ``baseline``, ``progress`` (see :func:`~metaeval.rankers.game_rank.rank_game`).
        For ``"bayesian_bradley_terry"``: ``tie_model`` (``"davidson"``, the default unless
        ``ties="drop"``; ``"half"``; ``"drop"``), ``judge_effects``, ``draws``, ``tune``,
        ``chains``, ``progress`` (see :func:`~metaeval.stats.bayes_models.bayesian_bradley_terry`).

    Returns
    -------
    Ranking

    Examples
    --------
    >>> import metaeval
    >>> sim = metaeval.simulate.pairwise(n_models=4, n_items=200, rng=1)
    >>> r = metaeval.rank(sim.judgments, "bradley_terry", n_resamples=200, rng=2)
    >>> r.to_polars()["model"].to_list() == list(sim.truth.ranking)
    True
    """
    from metaeval.battles import BattleScan, rank_lazy

    if isinstance(judgments, BattleScan):  # battle logs out of core: the same fits from streamed counts
        return rank_lazy(judgments, method, ties=ties, ci=ci, n_resamples=n_resamples, cluster=cluster,
                         confidence_level=confidence_level, prior=prior, scale=scale, anchor=anchor,
                         anchor_value=anchor_value, bootstrap=bootstrap, rng=rng, **game_options)
    judgments = as_judgments(judgments)
    if method not in METHODS:
        raise MetaevalError(f"`method` must be one of {', '.join(METHODS)}; got {method!r}")
    if bootstrap == "poisson" and (ci != "bootstrap" or cluster is None or method not in POISSON_METHODS):
        raise MetaevalError("`bootstrap='poisson'` weighs clusters in the bootstrap of "
                            f"{', '.join(POISSON_METHODS)}: it needs `ci='bootstrap'` and `cluster=`; got "
                            f"method={method!r}, ci={ci!r}, cluster={cluster!r}")
    if method in GAME_METHODS:
        from metaeval.rankers.game_rank import rank_game

        if ci == "sandwich":
            raise MetaevalError("`ci='sandwich'` is available for Bradley–Terry; use `ci='bootstrap'`")
        unused = [name for name, given in (("ties", ties != "half"), ("prior", prior != 0), ("scale", scale != "logit"),
                                           ("anchor", anchor is not None), ("anchor_value", anchor_value is not None))
                  if given]
        if unused:
            raise MetaevalError(f"{', '.join(unused)} do(es) not apply to {method!r}: a game-theoretic rating has its "
                                "own scale (ties count ½)")
        return rank_game(judgments, method, ci=ci, n_resamples=200 if n_resamples is None else n_resamples,
                         cluster=cluster, confidence_level=confidence_level, higher_is_better=higher_is_better,
                         rng=rng, **game_options)
    if method == "bayesian_bradley_terry":
        from metaeval.stats.bayes_models import bayesian_bradley_terry

        allowed = {"tie_model", "judge_effects", "draws", "tune", "chains", "progress"}
        if set(game_options) - allowed:
            raise MetaevalError(f"unexpected options for {method!r}: {', '.join(sorted(set(game_options) - allowed))}"
                                f"; it takes {', '.join(sorted(allowed))}")
        if ci != "bootstrap" or cluster is not None or scale != "logit" or anchor is not None or prior != 0:
            raise MetaevalError("the Bayesian Bradley–Terry model gives credible intervals on the logit scale: `ci`, "
                                "`cluster`, `scale`, `anchor` and `prior` do not apply")
        if isinstance(judgments, ScoreMatrix):
            raise MetaevalError("the Bayesian Bradley–Terry model needs a pairwise table or PairwiseCounts")
        opts = dict(game_options)
        if isinstance(judgments, Judgments) and judgments.kind == "pointwise":
            judgments = judgments.to_pairwise(higher_is_better=higher_is_better)
        tie_model = opts.pop("tie_model", "drop" if ties == "drop" else "davidson")
        return bayesian_bradley_terry(judgments, ties=tie_model, confidence_level=confidence_level, rng=rng, **opts)
    if game_options:
        raise MetaevalError(f"unexpected options for {method!r}: {', '.join(sorted(game_options))} "
                            "(they apply to the game-theoretic methods)")
    if isinstance(judgments, ScoreMatrix):
        raise MetaevalError(f"{method!r} ranks paired comparisons or per-item scores; a ScoreMatrix (leaderboard) "
                            f"can be ranked by {', '.join(GAME_METHODS)} or by `compare_rules`")
    n_resamples = 1000 if n_resamples is None else n_resamples
    gen, seed = as_generator(rng)
    params: dict[str, Any] = {"method": method, "ties": ties, "ci": ci, "n_resamples": n_resamples,
                              "cluster": cluster, "confidence_level": confidence_level, "prior": prior,
                              "scale": scale, "anchor": anchor, "anchor_value": anchor_value}
    if bootstrap == "poisson":
        from metaeval.stats.resampling import poisson_seed

        params["bootstrap"] = "poisson"
        params["poisson_seed"] = seed if seed is not None else poisson_seed(gen)

    if isinstance(judgments, Judgments) and judgments.kind == "pointwise":
        if method in ("auto", "plackett_luce"):
            return _rank_plackett_luce(judgments, ci=ci, n_resamples=n_resamples, cluster=cluster,
                                       level=confidence_level, prior=prior, scale=scale, anchor=anchor,
                                       anchor_value=anchor_value, higher_is_better=higher_is_better, gen=gen,
                                       seed=seed, params=params)
        judgments = judgments.to_pairwise(higher_is_better=higher_is_better)
        params["derived"] = "pairs from pointwise scores"
    elif method == "plackett_luce":
        raise MetaevalError("`plackett_luce` ranks per-item scores: it needs a pointwise table")

    if isinstance(judgments, PairwiseCounts):
        if cluster is not None:
            raise MetaevalError("`cluster` needs the judgments table, not aggregated counts")
        if method == "elo":
            raise MetaevalError("Elo needs the battles in order, not aggregated counts")
        pc = judgments
        battles = _battles_from_counts(pc)
        fingerprint, n_items = None, None
    else:
        if judgments.kind != "pairwise":
            raise MetaevalError("`rank` needs a pairwise (or pointwise) table")
        battles = _battles(judgments, cluster)
        pc = PairwiseCounts(battles.models, *_wins_ties(_cube(battles)))
        fingerprint, n_items = judgments.fingerprint, len(judgments.items)
    models = battles.models
    if anchor is not None and anchor not in models:
        raise MetaevalError(f"`anchor` {anchor!r} is not among the models ({', '.join(models)})")
    has_ties = bool(pc.ties.sum() > 0)
    if method == "auto":
        method = "davidson" if has_ties else "bradley_terry"
    if ci == "sandwich" and method != "bradley_terry":
        raise MetaevalError("`ci='sandwich'` is available for Bradley–Terry; use `ci='bootstrap'`")

    n_per_model = pc.n_comparisons.sum(1)
    if method != "elo":
        comps = pc.components(strong=True)
        if len(comps) > 1:
            shown = "; ".join("{" + ", ".join(c[:4]) + (", …" if len(c) > 4 else "") + "}" for c in comps[:4])
            if prior == 0 and method != "rank_centrality":
                raise InsufficientDataError(
                    f"the comparison graph is not strongly connected ({len(comps)} components: {shown}): "
                    "maximum-likelihood ratings do not exist; pass `prior` (e.g. 0.1) to regularise, or rank "
                    "each component on its own"
                )
            warn(f"the comparison graph has {len(comps)} strongly connected components ({shown}); ratings across "
                 "them are set by the prior", DisconnectedComparisonWarning)
            if method == "rank_centrality" and prior == 0:
                prior = 1e-3
    if len(models) < 2:
        raise InsufficientDataError("ranking needs at least two models")

    order_spread = None
    tie_param: float | None = None
    if method == "elo":
        score = np.where(battles.oc == 0, 1.0, np.where(battles.oc == 1, 0.0, 0.5))
        keep = np.ones(len(score), bool) if ties == "half" else battles.oc != 2
        ia, ib, score = battles.ia[keep], battles.ib[keep], score[keep]
        from metaeval.rankers.elo import elo_battles, elo_permutation_spread

        elo = elo_battles(ia, ib, score, len(models), k=k)
        theta = (elo - elo.mean()) / ELO_SCALE
        spread = elo_permutation_spread(ia, ib, score, len(models), n_permutations=n_permutations, rng=gen, k=k)
        order_spread = float(spread.std(0).mean())
    else:
        wins, tmat = pc.wins, pc.ties
        theta, tie_param = _fit_counts(method, wins, tmat, ties, prior)
    _warn_degenerate(method, pc, len(models), ties)

    rating = _to_scale(theta, models, scale, anchor, anchor_value)
    n_deg, draws_scaled = 0, None
    if ci == "none":
        low = high = rlow = rhigh = pbest = np.full(len(models), np.nan)
    else:
        if ci == "sandwich":
            cov = _sandwich(battles, theta, ties, prior)
            draws = gen.multivariate_normal(theta, cov, size=n_resamples, method="eigh")
            ok = np.ones(n_resamples, bool)
        elif method == "elo":
            draws, ok = _bootstrap_elo(battles, ties, k, n_resamples, gen)
        else:
            draws, ok = _bootstrap_counts(battles, method, ties, prior, theta, n_resamples, gen,
                                          poisson_seed=params.get("poisson_seed"))
        low, high, rlow, rhigh, pbest, n_deg, draws_scaled = _summarise_draws(
            draws, ok, models, scale, anchor, anchor_value, confidence_level)
        if ci == "sandwich":  # the interval itself is the normal one; the draws give the rank intervals
            from scipy.stats import norm

            se = np.sqrt(np.clip(np.diag(_scaled_cov(cov, models, scale, anchor)), 0, None))
            z = norm.ppf(1 - (1 - confidence_level) / 2)
            low, high = rating - z * se, rating + z * se
    if isinstance(judgments, Judgments) and n_items is not None and n_items < 30 and ci == "bootstrap" and cluster:
        warn(f"only {n_items} items: a cluster bootstrap over so few clusters under-covers", SmallSampleWarning)
    run = RunInfo("rank", params | {"method": method}, seed, fingerprint, n_items, int(pc.total))
    if ci == "bootstrap" and cluster:
        ci_label = f"cluster bootstrap ({cluster}{', Poisson weights' if bootstrap == 'poisson' else ''})"
    elif ci == "sandwich" and cluster:
        ci_label = "cluster-robust sandwich"
    else:
        ci_label = ci
    n_used = 0 if ci == "none" else n_resamples
    return Ranking(models, rating, low, high, rlow, rhigh, pbest, n_per_model, method, ci_label, scale,
                   confidence_level, tie_param, n_used, n_deg, run, draws_scaled, order_spread)


def _warn_degenerate(method: str, pc: PairwiseCounts, m: int, ties: str) -> None:
    """An EstimationWarning when the table puts the fit on a boundary: no decisive verdict (the
    ratings are all equal, so every model shares rank 1 and P(best) is 1/m, and a tie model's
    parameter is infinite), or, for the tie models, no tie (their parameter is 0: Bradley–Terry)."""
    decisive = float(pc.wins.sum())
    n_ties = float(np.triu(pc.ties, 1).sum())
    named = {"davidson": "Davidson's tie parameter ν", "rao_kupper": "Rao–Kupper's threshold η"}
    if decisive == 0 and (ties == "half" or method in named):
        extra = f"; {named[method]} is infinite (its estimate diverges)" if method in named else ""
        warn(f"no verdict is decisive (all {n_ties:g} are ties): the ratings are all equal, every model shares "
             f"rank 1 and P(best) is 1/{m} for each{extra}", EstimationWarning)
    elif n_ties == 0 and method in named:
        warn(f"no verdict is a tie: {named[method]} is 0 (the boundary of its range) and the ratings are "
             "Bradley–Terry's", EstimationWarning)


def _scaled_cov(cov: np.ndarray, models: tuple[str, ...], scale: str, anchor: str | None) -> np.ndarray:
    m = len(models)
    factor = 1.0 if scale == "logit" else ELO_SCALE
    if anchor is not None:
        k = models.index(anchor)
        A = np.eye(m)
        A[:, k] -= 1.0
    else:
        A = np.eye(m) - 1.0 / m
    return factor**2 * A @ cov @ A.T


def _battles_from_counts(pc: PairwiseCounts) -> _Battles:
    """Expand counts into battles (integer counts only) so every method can use them."""
    m = pc.n_models
    cube = np.zeros((m, m, 3))
    cube[..., 0] = pc.wins
    cube[..., 2] = np.triu(pc.ties, 1)
    if not np.allclose(cube, np.round(cube)):
        raise MetaevalError("fractional counts cannot be resampled; pass the judgments table")
    cnt = np.round(cube).astype(np.int64).ravel()
    flat = np.repeat(np.arange(cnt.size), cnt)
    ia, rest = np.divmod(flat, m * 3)
    ib, oc = np.divmod(rest, 3)
    return _Battles(pc.models, ia, ib, oc, None, 0)


def _bootstrap_elo(b: _Battles, ties: str, k: float, n_resamples: int, gen: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray]:
    from metaeval.rankers.elo import elo_battles

    m = len(b.models)
    score = np.where(b.oc == 0, 1.0, np.where(b.oc == 1, 0.0, 0.5))
    keep = np.ones(len(score), bool) if ties == "half" else b.oc != 2
    ia, ib, score = b.ia[keep], b.ib[keep], score[keep]
    draws = np.empty((n_resamples, m))
    for r in track(range(n_resamples), "elo bootstrap"):
        idx = gen.integers(0, len(ia), len(ia))
        e = elo_battles(ia[idx], ib[idx], score[idx], m, k=k)
        draws[r] = (e - e.mean()) / ELO_SCALE
    return draws, np.ones(n_resamples, bool)


def _rank_plackett_luce(judgments: Judgments, *, ci: str, n_resamples: int, cluster: str | None, level: float,
                        prior: float, scale: str, anchor: str | None, anchor_value: float | None,
                        higher_is_better: bool, gen: np.random.Generator, seed: int | None,
                        params: dict[str, Any]) -> Ranking:
    from metaeval.rankers.plackett_luce import plackett_luce_rankings, stages_from_rankings

    if ci == "sandwich":
        raise MetaevalError("`ci='sandwich'` is available for Bradley–Terry; use `ci='bootstrap'`")
    models = judgments.models
    m = len(models)
    cluster = cluster or "item"
    rankings, cl, n_cl = _rankings_from_scores(judgments, higher_is_better, cluster)
    if not rankings:
        raise InsufficientDataError("no item ranks two or more models with different scores")
    theta, _ = plackett_luce_rankings(rankings, m, prior=prior)
    counts = np.zeros(m)
    for r in rankings:
        for g in r:
            counts[g] += 1
    rating = _to_scale(theta, models, scale, anchor, anchor_value)
    n_deg, draws_scaled = 0, None
    if ci == "none":
        low = high = rlow = rhigh = pbest = np.full(m, np.nan)
    else:
        draws = np.empty((n_resamples, m))
        ok = np.zeros(n_resamples, bool)
        by_cluster: list[list[int]] = [[] for _ in range(n_cl)]
        for idx, c in enumerate(cl):  # type: ignore[arg-type]
            by_cluster[c].append(idx)
        for r in track(range(n_resamples), "plackett_luce bootstrap"):
            pick = gen.integers(0, n_cl, n_cl)
            sample = [rankings[i] for c in pick for i in by_cluster[c]]
            try:
                draws[r], _ = plackett_luce_rankings(stages_from_rankings(sample, m), m, prior=prior)
                ok[r] = True
            except InsufficientDataError:
                continue
        low, high, rlow, rhigh, pbest, n_deg, draws_scaled = _summarise_draws(
            draws, ok, models, scale, anchor, anchor_value, level)
    n_used = 0 if ci == "none" else n_resamples
    run = RunInfo("rank", params | {"method": "plackett_luce", "cluster": cluster}, seed, judgments.fingerprint,
                  len(judgments.items), len(judgments))
    return Ranking(models, rating, low, high, rlow, rhigh, pbest, counts, "plackett_luce",
                   "none" if ci == "none" else f"cluster bootstrap ({cluster})", scale, level, None, n_used, n_deg,
                   run, draws_scaled, None)
