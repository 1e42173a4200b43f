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

Intervals (``ci``): ``"bootstrap"`` resamples whole items by default (``cluster="auto"``:
battles on one prompt are correlated; the package's cluster rule, documented once in
:mod:`metaeval.stats.resampling`), or the groups of another column (judges, users), or — with
``cluster="none"``, or when the data has no item ids (:class:`PairwiseCounts`) — single battles
(multinomial over the count cells: the same distribution as resampling rows, at a fraction of
the cost); ``"sandwich"`` (Bradley–Terry only) is the cheap analytic option, cluster-robust
when there is a cluster, with rank intervals and P(best) drawn from the normal approximation;
``"none"`` skips them. Resamples whose maximum-likelihood estimate
does not exist (a model wins or loses everything) are counted in ``n_degenerate`` and left out,
never turned into absurd bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from numbers import Integral, Real
from typing import Any, Literal, cast

import numpy as np
import polars as pl

from metaeval._numeric import unit_exponent
from metaeval._progress import task
from metaeval._random import as_generator
from metaeval._validate import LEVEL, Interval, Options, validate_params
from metaeval.errors import (
    DisconnectedComparisonWarning,
    EstimationWarning,
    InsufficientDataError,
    MetaevalError,
    ParameterError,
    SmallSampleWarning,
    warn,
)
from metaeval.rankers.bayes_bt import bayesian_bradley_terry
from metaeval.rankers.bradley_terry import (
    Battles,
    battles_from_counts,
    bt_newton_batch,
    bt_newton_counts,
    cell_counts,
    code_battles,
    counts_cube,
    pair_cells,
    sandwich_cov,
    strongly_connected,
    wins_ties,
)
from metaeval.rankers.elo import elo_battles, elo_permutation_spread
from metaeval.rankers.game_rank import GAME_METHODS, index_block, rank_game
from metaeval.rankers.plackett_luce import plackett_luce_rankings, rank_centrality_counts, stages_from_rankings
from metaeval.rankers.ranking import ELO_SCALE, Ranking, scaled_cov, summarise_draws, to_scale
from metaeval.rankers.ties import davidson_counts, rao_kupper_counts
from metaeval.results import RunInfo
from metaeval.stats.resampling import (
    DEFAULT_CLUSTER,
    DEFAULT_N_RESAMPLES,
    cluster_weights,
    poisson_seed,
    poisson_weights,
    resample_indices,
    resolve_cluster,
    stable_keys,
)
from metaeval.tables import Judgments, PairwiseCounts, ScoreMatrix, as_judgments

__all__ = ["GAME_METHODS", "METHODS", "RANKERS", "RankerSpec", "Ranking", "rank"]

PAIRED_METHODS = ("auto", "bradley_terry", "davidson", "rao_kupper", "elo", "rank_centrality", "plackett_luce",
                  "bayesian_bradley_terry")
METHODS = PAIRED_METHODS + GAME_METHODS  # "auto" and every name in RANKERS
POISSON_METHODS = ("auto", "bradley_terry", "davidson", "rao_kupper", "rank_centrality")  # fitted from count cubes


# ------------------------------------------------------------------- data preparation
# ------------------------------------------------------------------------- fitting
def _fit_counts(method: str, wins: np.ndarray, ties: np.ndarray, ties_mode: str, prior: float,
                init: np.ndarray | None = None) -> tuple[np.ndarray, float | None]:
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


def _bootstrap_counts(
    b: Battles, method: str, ties_mode: str, prior: float, theta: np.ndarray, n_resamples: int,
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

    m = len(b.models)
    full = cell_counts(b) if full is None else full
    if resampled is not None:
        pass
    elif poisson_seed is not None:
        if b.cluster is None or b.cluster_labels is None:
            raise MetaevalError("the Poisson bootstrap resamples clusters: give `cluster=`")
        keys = stable_keys(b.cluster_labels)
        K = m * m * 3
        flat = (b.ia * m + b.ib) * 3 + b.oc
        cells = np.unique(flat)
        C = sparse.csr_matrix((np.ones(len(flat)), (b.cluster, flat)), shape=(b.n_clusters, K))[:, cells]
    elif b.cluster is None:
        pi, pj, pn, pshare = pair_cells(full)
        total = round(float(pn.sum()))
        pair_p = pn / pn.sum()
    else:
        K = m * m * 3
        flat = (b.ia * m + b.ib) * 3 + b.oc
        cells = np.unique(flat)
        C = sparse.csr_matrix((np.ones(len(flat)), (b.cluster, flat)), shape=(b.n_clusters, K))[:, cells]

    def sample(child: np.random.Generator, size: int, start: int) -> tuple[np.ndarray, np.ndarray]:
        if resampled is not None:
            return wins_ties(resampled[start:start + size])
        if poisson_seed is not None:
            w = poisson_weights(keys, size, poisson_seed, start=start).astype(np.float64)  # clusters × size
            cube = np.zeros((size, m * m * 3))
            cube[:, cells] = (C.T @ w).T
            return wins_ties(cube.reshape(size, m, m, 3))
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
        w = cluster_weights(b.n_clusters, size, child)
        cube = np.zeros((size, m * m * 3))
        cube[:, cells] = np.asarray((sparse.csr_matrix(w) @ C).todense())
        return wins_ties(cube.reshape(size, m, m, 3))

    # A spanning tree of pairs seen both ways in the data, built from the pairs whose rarer
    # direction is most frequent: a resample that keeps each tree pair in both directions is
    # strongly connected (sufficient, and cheap to check); the others get the exact check.
    full_w, full_t = wins_ties(full)
    rare = np.minimum(full_w + full_t, full_w.T + full_t)
    tree = minimum_spanning_tree(sparse.csr_matrix(np.where(rare > 0, 1.0 / np.maximum(rare, 1e-12), 0.0)))
    ti, tj = tree.nonzero()
    tree_ok = len(ti) == m - 1

    sizes = [min(chunk, n_resamples - s0) for s0 in range(0, n_resamples, chunk)]
    starts = list(range(0, n_resamples, chunk))
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
                    connected[kk] = strongly_connected(wins[kk], ties[kk])
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


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class RankerSpec:
    """One paired-comparison ranker: how :func:`rank` fits it and what it declares.

    ``fit(judgments, method, Settings)`` returns a :class:`Ranking`. ``data`` are the inputs it
    accepts (``"pairwise"`` and ``"pointwise"`` tables, ``"counts"`` (:class:`PairwiseCounts`),
    ``"scores"`` (:class:`ScoreMatrix`)); ``ties`` says how it treats a tie; ``intervals`` are
    the ``ci`` options it offers; ``options`` the extra keyword options it takes; ``properties``
    what it guarantees, each checked by a property test over the registry:

    - ``"relabelling"``: renaming the models permutes the ratings and nothing else;
    - ``"gauge"``: the ratings are identified up to a shift, fixed by centring or by ``anchor``
      (pinning a model moves every rating by the same amount);
    - ``"monotone_in_wins"``: one more win of i over j never lowers i's rating relative to j's.
    """

    name: str
    fit: Callable[[Judgments | PairwiseCounts | ScoreMatrix, str, Settings], Ranking]
    data: frozenset[str]
    ties: str
    intervals: tuple[str, ...]
    properties: frozenset[str]
    reference: str
    options: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Settings:
    """The options of :func:`rank` every fit receives (``options``: the method-specific extras)."""

    ties: str
    ci: str
    n_resamples: int | None
    cluster: str | None
    confidence_level: float
    prior: float
    scale: str
    anchor: str | None
    anchor_value: float | None
    k: float
    n_permutations: int
    higher_is_better: bool
    rng: np.random.Generator | int | None
    options: dict[str, Any]
    bootstrap: str | None = None


def sandwich_refusal(method: str) -> ParameterError:
    """The error for ``ci="sandwich"`` with a method other than Bradley–Terry: it names the method
    (``method="auto"`` chooses Davidson when the battles have ties) and the two ways out."""
    chose = " (method='auto' chooses Davidson when the battles have ties)" if method == "davidson" else ""
    return ParameterError(f"`ci='sandwich'` is available for Bradley–Terry only, and this ranking's method is "
                          f"{method!r}{chose}: pass method='bradley_terry' (a tie counts as half a win) or "
                          "ci='bootstrap'")


def _fit_game(judgments: Judgments | PairwiseCounts | ScoreMatrix, method: str, s: Settings) -> Ranking:
    if s.ci == "sandwich":
        raise sandwich_refusal(method)
    unused = [name for name, given in (("ties", s.ties != "half"), ("prior", s.prior != 0),
                                       ("scale", s.scale != "logit"), ("anchor", s.anchor is not None),
                                       ("anchor_value", s.anchor_value is not None))
              if given]
    if unused:
        raise MetaevalError(f"{', '.join(unused)} do(es) not apply to {method!r}: a game-theoretic rating has its "
                            "own scale (ties count ½)")
    return rank_game(judgments, method, ci=s.ci,
                     n_resamples=DEFAULT_N_RESAMPLES if s.n_resamples is None else s.n_resamples,
                     cluster=s.cluster, confidence_level=s.confidence_level, higher_is_better=s.higher_is_better,
                     rng=s.rng, **s.options)


_BAYES_OPTIONS = frozenset({"tie_model", "judge_effects", "draws", "tune", "chains", "progress"})


def _fit_bayes(judgments: Judgments | PairwiseCounts | ScoreMatrix, method: str, s: Settings) -> Ranking:
    if set(s.options) - _BAYES_OPTIONS:
        raise MetaevalError(f"unexpected options for {method!r}: {', '.join(sorted(set(s.options) - _BAYES_OPTIONS))}"
                            f"; it takes {', '.join(sorted(_BAYES_OPTIONS))}")
    cluster = None if s.cluster == DEFAULT_CLUSTER else s.cluster  # a posterior: nothing is resampled
    if (s.ci != "bootstrap" or resolve_cluster(cluster, None) is not None or s.scale != "logit"
            or s.anchor is not None or s.prior != 0):
        raise MetaevalError("the Bayesian Bradley–Terry model gives credible intervals on the logit scale: `ci`, "
                            "`cluster`, `scale`, `anchor` and `prior` do not apply")
    if isinstance(judgments, ScoreMatrix):
        raise MetaevalError("the Bayesian Bradley–Terry model needs a pairwise table or PairwiseCounts")
    opts = dict(s.options)
    if isinstance(judgments, Judgments) and judgments.kind == "pointwise":
        judgments = judgments.to_pairwise(higher_is_better=s.higher_is_better)
    tie_model = opts.pop("tie_model", "drop" if s.ties == "drop" else "davidson")
    return bayesian_bradley_terry(judgments, ties=tie_model, confidence_level=s.confidence_level, rng=s.rng, **opts)


def _paired_prologue(judgments: Judgments | PairwiseCounts | ScoreMatrix, method: str, s: Settings
                     ) -> tuple[np.random.Generator, int | None, int, dict[str, Any]]:
    """The checks and run parameters the likelihood rankers share."""
    if s.options:
        raise MetaevalError(f"unexpected options for {method!r}: {', '.join(sorted(s.options))} "
                            "(they apply to the game-theoretic methods)")
    if isinstance(judgments, ScoreMatrix):
        raise MetaevalError(f"{method!r} ranks paired comparisons or per-item scores; a ScoreMatrix (leaderboard) "
                            f"can be ranked by {', '.join(GAME_METHODS)} or by `compare_rules`")
    n_resamples = DEFAULT_N_RESAMPLES if s.n_resamples is None else s.n_resamples
    gen, seed = as_generator(s.rng)
    params: dict[str, Any] = {"method": method, "ties": s.ties, "ci": s.ci, "n_resamples": n_resamples,
                              "cluster": s.cluster, "confidence_level": s.confidence_level, "prior": s.prior,
                              "scale": s.scale, "anchor": s.anchor, "anchor_value": s.anchor_value}
    if s.bootstrap == "poisson":
        params["bootstrap"] = "poisson"
        params["poisson_seed"] = seed if seed is not None else poisson_seed(gen)
    return gen, seed, n_resamples, params


def _fit_plackett_luce(judgments: Judgments | PairwiseCounts | ScoreMatrix, method: str, s: Settings) -> Ranking:
    gen, seed, n_resamples, params = _paired_prologue(judgments, method, s)
    if not (isinstance(judgments, Judgments) and judgments.kind == "pointwise"):
        raise MetaevalError("`plackett_luce` ranks per-item scores: it needs a pointwise table")
    return _rank_plackett_luce(judgments, ci=s.ci, n_resamples=n_resamples, cluster=s.cluster,
                               level=s.confidence_level, prior=s.prior, scale=s.scale, anchor=s.anchor,
                               anchor_value=s.anchor_value, higher_is_better=s.higher_is_better, gen=gen,
                               seed=seed, params=params)


def _fit_paired(judgments: Judgments | PairwiseCounts | ScoreMatrix, method: str, s: Settings) -> Ranking:
    """Bradley–Terry, Davidson, Rao–Kupper, Rank Centrality and Elo on battles."""
    gen, seed, n_resamples, params = _paired_prologue(judgments, method, s)
    ties, ci, prior = s.ties, s.ci, s.prior
    cluster, anchor, confidence_level = s.cluster, s.anchor, s.confidence_level
    if isinstance(judgments, Judgments) and judgments.kind == "pointwise":
        judgments = judgments.to_pairwise(higher_is_better=s.higher_is_better)
        params["derived"] = "pairs from pointwise scores"

    if isinstance(judgments, PairwiseCounts):
        if cluster is not None:
            raise MetaevalError("`cluster` needs the judgments table, not aggregated counts")
        if method == "elo":
            raise MetaevalError("Elo needs the battles in order, not aggregated counts")
        pc = judgments
        # counts are never expanded into battles unless the sandwich needs per-battle scores: the
        # bootstrap of counts resamples the cells (memory O(models²), not O(battles))
        if ci == "sandwich":
            battles = battles_from_counts(pc)
        else:
            empty = np.zeros(0, dtype=np.int64)
            battles = Battles(pc.models, empty, empty, empty, None, 0)
        full_cube: np.ndarray | None = counts_cube(pc) if ci == "bootstrap" else None
        fingerprint, n_items = None, None
    else:
        judgments = cast(Judgments, judgments)  # a ScoreMatrix was refused by the prologue
        if judgments.kind != "pairwise":
            raise MetaevalError("`rank` needs a pairwise (or pointwise) table")
        battles = code_battles(judgments, cluster)
        full_cube = cell_counts(battles)
        pc = PairwiseCounts(battles.models, *wins_ties(full_cube))
        fingerprint, n_items = judgments.fingerprint, len(judgments.items)
    models = battles.models
    if anchor is not None and anchor not in models:
        raise MetaevalError(f"`anchor` {anchor!r} is not among the models ({', '.join(models)})")
    if ci == "sandwich" and method != "bradley_terry":
        raise sandwich_refusal(method)

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
        score = battles.score
        keep = np.ones(len(score), bool) if ties == "half" else battles.oc != 2
        ia, ib, score = battles.ia[keep], battles.ib[keep], score[keep]

        elo = elo_battles(ia, ib, score, len(models), k=s.k)
        theta = (elo - elo.mean()) / ELO_SCALE
        spread = elo_permutation_spread(ia, ib, score, len(models), n_permutations=s.n_permutations, rng=gen,
                                        k=s.k)
        order_spread = float(spread.std(0).mean())
    else:
        wins, tmat = pc.wins, pc.ties
        theta, tie_param = _fit_counts(method, wins, tmat, ties, prior)
    _warn_degenerate(method, pc, len(models), ties)

    rating = to_scale(theta, models, s.scale, anchor, s.anchor_value)
    n_deg, draws_scaled = 0, None
    if ci == "none":
        low = high = rlow = rhigh = pbest = np.full(len(models), np.nan)
    else:
        if ci == "sandwich":
            cov = sandwich_cov(battles, theta, ties, prior)
            draws = gen.multivariate_normal(theta, cov, size=n_resamples, method="eigh")
            ok = np.ones(n_resamples, bool)
        elif method == "elo":
            draws, ok = _bootstrap_elo(battles, ties, s.k, n_resamples, gen)  # by cluster when there is one
        else:
            draws, ok = _bootstrap_counts(battles, method, ties, prior, theta, n_resamples, gen,
                                          poisson_seed=params.get("poisson_seed"), full=full_cube)
        low, high, rlow, rhigh, pbest, n_deg, draws_scaled = summarise_draws(
            draws, ok, models, s.scale, anchor, s.anchor_value, confidence_level)
        if ci == "sandwich":  # the interval itself is the normal one; the draws give the rank intervals
            from scipy.stats import norm

            se = np.sqrt(np.clip(np.diag(scaled_cov(cov, models, s.scale, anchor)), 0, None))
            z = norm.ppf(1 - (1 - confidence_level) / 2)
            low, high = rating - z * se, rating + z * se
    if isinstance(judgments, Judgments) and n_items is not None and n_items < 30 and ci == "bootstrap" and cluster:
        warn(f"only {n_items} items: a cluster bootstrap over so few clusters under-covers", SmallSampleWarning)
    run = RunInfo("rank", params | {"method": method}, seed, fingerprint, n_items, int(pc.total))
    if ci == "bootstrap" and cluster:
        ci_label = f"cluster bootstrap ({cluster}{', Poisson weights' if s.bootstrap == 'poisson' else ''})"
    elif ci == "sandwich" and cluster:
        ci_label = "cluster-robust sandwich"
    else:
        ci_label = ci
    n_used = 0 if ci == "none" else n_resamples
    return Ranking(models, rating, low, high, rlow, rhigh, pbest, n_per_model, method, ci_label, s.scale,
                   confidence_level, tie_param, n_used, n_deg, run, draws_scaled, order_spread)


_LIKELIHOOD = frozenset({"relabelling", "gauge", "monotone_in_wins"})
_PAIRED_DATA = frozenset({"pairwise", "pointwise", "counts"})
_GAME_DATA = frozenset({"pairwise", "pointwise", "counts", "scores"})

#: Every ranker :func:`rank` can fit, by name (``"auto"`` resolves to one of them from the data).
RANKERS: dict[str, RankerSpec] = {spec.name: spec for spec in [
    RankerSpec("bradley_terry", _fit_paired, _PAIRED_DATA, "half a win each (`ties='half'`) or dropped",
               ("bootstrap", "sandwich", "none"), _LIKELIHOOD, "Bradley & Terry (1952); Newton on the counts"),
    RankerSpec("davidson", _fit_paired, _PAIRED_DATA, "modelled: one shared tie parameter ν",
               ("bootstrap", "none"), _LIKELIHOOD, "Davidson (1970)"),
    RankerSpec("rao_kupper", _fit_paired, _PAIRED_DATA, "modelled: a threshold η",
               ("bootstrap", "none"), _LIKELIHOOD, "Rao & Kupper (1967)"),
    RankerSpec("rank_centrality", _fit_paired, _PAIRED_DATA, "half a win each",
               ("bootstrap", "none"), frozenset({"relabelling", "gauge"}), "Negahban, Oh & Shah (2017)"),
    RankerSpec("elo", _fit_paired, frozenset({"pairwise", "pointwise"}), "half a win each or dropped",
               ("bootstrap", "none"), _LIKELIHOOD, "Elo (1978), online in table order"),
    RankerSpec("plackett_luce", _fit_plackett_luce, frozenset({"pointwise"}), "tied scores share a stage (Breslow)",
               ("bootstrap", "none"), frozenset({"relabelling", "gauge"}), "Plackett (1975); Luce (1959); Hunter's MM"),
    RankerSpec("bayesian_bradley_terry", _fit_bayes, frozenset({"pairwise", "pointwise", "counts"}),
               "Davidson's ν, half a win, or dropped (`tie_model`)", ("bootstrap",), frozenset({"relabelling"}),
               "hierarchical Bradley–Terry by NUTS (PyMC): credible intervals", _BAYES_OPTIONS),
    *[RankerSpec(name, _fit_game, data, "half a win each", ("bootstrap", "none"), frozenset({"relabelling"}), ref,
                 frozenset({"intensity", "m", "normalize", "prompt_payoff", "eps", "baseline", "progress"}))
      for name, data, ref in (
          ("nash_averaging", _GAME_DATA, "Balduzzi et al. (2018)"),
          ("maximal_lottery", _GAME_DATA, "Fishburn (1984)"),
          ("alpha_rank", _GAME_DATA, "Omidshafiei et al. (2019)"),
          # per-item scores: a pointwise table, a ScoreMatrix, or pairs against one baseline model
          ("equilibrium", _GAME_DATA - {"counts"}, "Liu et al. (ICLR 2025)"))],
]}


def _auto(judgments: Judgments | PairwiseCounts | ScoreMatrix) -> str:
    """``method="auto"``: Plackett–Luce for per-item scores, Davidson when the battles have ties,
    else Bradley–Terry."""
    if isinstance(judgments, Judgments) and judgments.kind == "pointwise":
        return "plackett_luce"
    if isinstance(judgments, PairwiseCounts):
        return "davidson" if bool(judgments.ties.sum() > 0) else "bradley_terry"
    if isinstance(judgments, Judgments) and judgments.kind == "pairwise":
        return "davidson" if bool((judgments.frame["outcome"] == "tie").any()) else "bradley_terry"
    return "auto"


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
    n_resamples: int | None = DEFAULT_N_RESAMPLES,
    cluster: str | None = DEFAULT_CLUSTER,
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
    judgments : Judgments, PairwiseCounts or ScoreMatrix
        A pairwise table (or :class:`PairwiseCounts`, without cluster resampling). A pointwise
        table is ranked per item by score (Plackett–Luce), or turned into pairs first for the
        other methods. Battle logs read lazily (:func:`metaeval.scan`) are ranked out of core
        with the same numbers (:func:`metaeval.battles.rank_lazy`: the count-based methods;
        ``cluster`` defaults to the scan's; ``partitions=`` buckets the sandwich's clusters).
    method : str, default "auto"
        See the module documentation; ``"auto"`` picks Davidson when there are ties.
    ties : {"half", "drop"}, default "half"
        For Bradley–Terry and Elo: a tie is half a win (``"half"``, Chatbot Arena's choice) or
        is dropped.
    ci : {"bootstrap", "sandwich", "none"}, default "bootstrap"
        ``"bootstrap"``, ``"sandwich"`` (Bradley–Terry) or ``"none"``.
    n_resamples : int, default 1000
        Bootstrap resamples (or normal draws for the sandwich's rank intervals). Default: the
        package default, 1000 (see :mod:`metaeval.stats.resampling`); ``None`` means the same.
    cluster : str, default "auto"
        What the bootstrap (and the sandwich) treats as independent: ``"auto"`` resamples whole
        items when the data has item ids (a judgments table; a lazy scan's ``cluster`` column)
        and single battles when it has none (:class:`PairwiseCounts`) — the package's cluster
        rule (:mod:`metaeval.stats.resampling`); ``"item"``, ``"judge"`` or any column (e.g. a
        user id in ``extra`` promoted to a column) resamples that column's groups; ``"none"``
        (or ``None``) resamples single battles. The Bayesian model resamples nothing.
    prior : float, default 0.0
        Precision of a N(0, 1/prior) prior on each strength; needed when the comparison graph
        is not strongly connected (the ratings across components then come from the prior).
    confidence_level : float, default 0.95
        Coverage of the rating intervals and rank intervals.
    scale : {"logit", "elo"}, default "logit"
        ``"logit"`` (centred log-odds) or ``"elo"`` (``400/ln 10`` per unit, mean 1000).
    anchor : str, optional
        A model pinned at ``anchor_value`` (Chatbot Arena pins one model at 1114). Default: none
        (the ratings are centred).
    anchor_value : float, optional
        The rating of ``anchor`` (or, without an anchor, the mean rating). Default: 0 on the
        logit scale, 1000 on the Elo scale.
    k : float, default 4.0
        Elo's K-factor.
    n_permutations : int, default 20
        Elo: the number of random battle orders for its order spread.
    higher_is_better : bool, default True
        For pointwise scores: whether a higher score is better when items are turned into rankings
        or pairs.
    bootstrap : {"multinomial", "poisson"}, optional
        How a cluster bootstrap weighs the clusters: ``"multinomial"`` (draw as many clusters
        as there are, with replacement; the default in memory) or ``"poisson"`` (an
        independent Poisson(1) weight per cluster and resample, drawn from (seed, cluster id,
        resample index): the draws of the out-of-core path, which any split of the data
        reproduces; the default for a :class:`~metaeval.battles.BattleScan`). With an integer
        ``rng``, ``rank(judgments, bootstrap="poisson", rng=s)`` and ``rank(scan(...), rng=s)``
        give identical resamples.
    rng : int, numpy.random.Generator or None
        Seed or generator for the resampling.
    **game_options
        For the game-theoretic methods: ``intensity`` (α-Rank's selection intensity; ``alpha``,
        its old name, still works for one release, with a ``FutureWarning``), ``m``, ``normalize``,
        ``prompt_payoff``, ``eps``, ``baseline``, ``progress`` (see
        :func:`~metaeval.rankers.game_rank.rank_game`).
        For ``"bayesian_bradley_terry"``: ``tie_model`` (``"davidson"``, the default unless
        ``ties="drop"``; ``"half"``; ``"drop"``), ``judge_effects``, ``draws``, ``tune``,
        ``chains``, ``progress`` (see :func:`~metaeval.rankers.bayes_bt.bayesian_bradley_terry`).

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
    if hasattr(judgments, "rank_lazy"):  # battle logs read lazily (metaeval.scan) rank themselves out of core
        if cluster is None or cluster == "none":  # single battles: set the scan's cluster column aside
            judgments = replace(cast(Any, judgments), cluster=None)
        return judgments.rank_lazy(method, ties=ties, ci=ci, n_resamples=n_resamples,
                                   cluster=None if cluster in (None, "none", DEFAULT_CLUSTER) else cluster,
                                   confidence_level=confidence_level, prior=prior, scale=scale, anchor=anchor,
                                   anchor_value=anchor_value, bootstrap=bootstrap, rng=rng, **game_options)
    judgments = as_judgments(judgments)
    if method not in METHODS:
        raise ParameterError(f"`method` must be one of {', '.join(METHODS)}; got {method!r}")
    if method not in GAME_METHODS and method != "bayesian_bradley_terry":  # those two resolve their own
        cluster = resolve_cluster(cluster, "item" if isinstance(judgments, Judgments) else None)
    if bootstrap == "poisson" and (ci != "bootstrap" or cluster is None or method not in POISSON_METHODS):
        raise ParameterError("`bootstrap='poisson'` weighs clusters in the bootstrap of "
                             f"{', '.join(POISSON_METHODS)}: it needs `ci='bootstrap'` and `cluster=`; got "
                             f"method={method!r}, ci={ci!r}, cluster={cluster!r}")
    settings = Settings(ties, ci, n_resamples, cluster, confidence_level, prior, scale, anchor, anchor_value, k,
                        n_permutations, higher_is_better, rng, dict(game_options), bootstrap)
    if method == "auto":
        method = _auto(judgments)
        if method == "auto":  # a ScoreMatrix: the likelihood rankers' own refusal says what to use
            _paired_prologue(judgments, "auto", settings)
    return RANKERS[method].fit(judgments, method, settings)


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


def _bootstrap_elo(b: Battles, ties: str, k: float, n_resamples: int, gen: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray]:
    """B × m Elo strengths (log-odds, centred) over resampled battles, or over resampled clusters
    when ``b`` has them: each drawn cluster brings its battles, in table order, where it is drawn.

    Online Elo depends on the order of the battles, so a resample is the drawn units in draw
    order (:func:`~metaeval.stats.resampling.resample_indices`), not their weights.
    """
    m = len(b.models)
    score = b.score
    keep = np.ones(len(score), bool) if ties == "half" else b.oc != 2
    ia, ib, score = b.ia[keep], b.ib[keep], score[keep]
    members: list[np.ndarray] | None = None
    if b.cluster is not None:
        codes = b.cluster[keep]
        order = np.argsort(codes, kind="stable")
        members = np.split(order, np.cumsum(np.bincount(codes, minlength=b.n_clusters))[:-1])
    n_units = len(ia) if members is None else b.n_clusters
    draws = np.empty((n_resamples, m))
    if n_units == 0:  # no battle to resample (every one a dropped tie): each resample is the empty table
        e = elo_battles(ia, ib, score, m, k=k)
        draws[:] = (e - e.mean()) / ELO_SCALE
        return draws, np.ones(n_resamples, bool)
    with task("elo bootstrap", n_resamples) as shown:
        for start, picks in resample_indices(n_units, n_resamples, gen, block=index_block(n_units)):
            for r, pick in enumerate(picks, start):
                idx = pick if members is None else np.concatenate([members[c] for c in pick])
                e = elo_battles(ia[idx], ib[idx], score[idx], m, k=k)
                draws[r] = (e - e.mean()) / ELO_SCALE
            shown.advance(len(picks))
    return draws, np.ones(n_resamples, bool)


def _bootstrap_plackett_luce(rankings: list[list[list[int]]], cl: np.ndarray, n_cl: int, m: int, prior: float,
                             n_resamples: int, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """B × m Plackett–Luce strengths over resampled clusters (``cl``: each ranking's cluster code):
    each drawn cluster brings its rankings, in the order drawn; a resample whose fit does not
    exist is left out (``ok`` False)."""
    draws = np.empty((n_resamples, m))
    ok = np.zeros(n_resamples, bool)
    by_cluster: list[list[int]] = [[] for _ in range(n_cl)]
    for idx, c in enumerate(cl):
        by_cluster[c].append(idx)
    with task("plackett_luce bootstrap", n_resamples) as shown:
        for start, picks in resample_indices(n_cl, n_resamples, gen, block=index_block(n_cl)):
            for r, pick in enumerate(picks, start):
                sample = [rankings[i] for c in pick for i in by_cluster[c]]
                try:
                    draws[r], _ = plackett_luce_rankings(stages_from_rankings(sample, m), m, prior=prior)
                    ok[r] = True
                except InsufficientDataError:
                    continue
            shown.advance(len(picks))
    return draws, ok


def _rank_plackett_luce(judgments: Judgments, *, ci: str, n_resamples: int, cluster: str | None, level: float,
                        prior: float, scale: str, anchor: str | None, anchor_value: float | None,
                        higher_is_better: bool, gen: np.random.Generator, seed: int | None,
                        params: dict[str, Any]) -> Ranking:
    if ci == "sandwich":
        raise sandwich_refusal("plackett_luce")
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
    rating = to_scale(theta, models, scale, anchor, anchor_value)
    n_deg, draws_scaled = 0, None
    if ci == "none":
        low = high = rlow = rhigh = pbest = np.full(m, np.nan)
    else:
        draws, ok = _bootstrap_plackett_luce(rankings, cl, n_cl, m, prior, n_resamples, gen)  # type: ignore[arg-type]
        low, high, rlow, rhigh, pbest, n_deg, draws_scaled = summarise_draws(
            draws, ok, models, scale, anchor, anchor_value, level)
    n_used = 0 if ci == "none" else n_resamples
    run = RunInfo("rank", params | {"method": "plackett_luce", "cluster": cluster}, seed, judgments.fingerprint,
                  len(judgments.items), len(judgments))
    return Ranking(models, rating, low, high, rlow, rhigh, pbest, counts, "plackett_luce",
                   "none" if ci == "none" else f"cluster bootstrap ({cluster})", scale, level, None, n_used, n_deg,
                   run, draws_scaled, None)
