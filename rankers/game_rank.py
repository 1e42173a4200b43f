"""Game-theoretic rankings of tables: Nash averaging, maximal lotteries, α-Rank and the
equilibrium ratings of Liu et al. (2025), with bootstrap intervals — the same
:class:`~metaeval.rankers.Ranking` result as every other ranker.

=====================  ===================================  ======================================
``method``             from a pairwise table                from scores (models × tasks / items)
=====================  ===================================  ======================================
``nash_averaging``     agent-vs-agent: the logit win-rate   agent-vs-task: models against tasks
                       game; rating = payoff against the    on per-task normalised scores; tasks
                       max-entropy Nash (≤ 0)               get a mass and a difficulty
``maximal_lottery``    the win-rate margin game 2W − 1      the majority-margin game over tasks
``alpha_rank``         α-Rank on the win-rate matrix        α-Rank on the share of tasks won
``equilibrium``        per-item scores against a common     the prompt × king × rebel game; CCE
                       baseline (AlpacaEval-style)          ratings of models and prompts
=====================  ===================================  ======================================

Intervals come from a bootstrap over tasks / items (scores) or over battles or ``cluster``
(pairwise). Identical models and duplicated tasks count once (see :mod:`.games`), so padding
the data with copies does not move the other ratings of ``nash_averaging`` or
``equilibrium`` — the redundancy that mean scores and Elo reward.

>>> import numpy as np
>>> from metaeval import ScoreMatrix
>>> from metaeval.rankers import rank
>>> sm = ScoreMatrix(("spec_a", "spec_b", "generalist"), ("t1", "t2"), np.array([[1., 0.], [0., 1.], [.4, .4]]))
>>> r = rank(sm, "nash_averaging", n_resamples=50, rng=0)
>>> r.mass.round(3).tolist()
[0.5, 0.5, 0.0]
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import polars as pl

from metaeval._progress import progress as progress_display
from metaeval._progress import task
from metaeval._random import as_generator
from metaeval._validate import renamed_parameters
from metaeval.errors import (
    DataDroppedWarning,
    EstimationWarning,
    InsufficientDataError,
    MetaevalError,
    ParameterError,
    warn,
)
from metaeval.rankers import games
from metaeval.rankers.bradley_terry import (
    Battles,
    battles_from_counts,
    bt_newton_counts,
    cell_counts,
    code_battles,
    wins_ties,
)
from metaeval.rankers.ranking import Ranking
from metaeval.rankers.social_choice import MAX_MEMORY, RULES, RuleCost, check_cost
from metaeval.results import RunInfo
from metaeval.stats.resampling import (
    DEFAULT_CLUSTER,
    DEFAULT_N_RESAMPLES,
    percentile_interval,
    rank_statistics,
    resample_indices,
    resolve_cluster,
)
from metaeval.tables import Judgments, PairwiseCounts, ScoreMatrix, common_baseline, preference

__all__ = ["GAME_METHODS", "rank_game", "scores_against_baseline"]

GAME_METHODS = ("nash_averaging", "maximal_lottery", "alpha_rank", "equilibrium")

_SCALES = {"nash_averaging": "payoff vs Nash", "maximal_lottery": "lottery probability",
           "alpha_rank": "stationary mass", "equilibrium": "deviation gain"}


# ----------------------------------------------------------------------------- inputs
def _complete_scores(sm: ScoreMatrix) -> ScoreMatrix:
    if not sm.n_missing:
        return sm
    keep = ~np.isnan(sm.scores).any(axis=0)
    if keep.sum() < 1:
        raise InsufficientDataError("every task misses some model's score; game rankers need complete columns")
    warn(f"{int((~keep).sum())} of {len(sm.tasks)} tasks dropped: they miss some model's score (game rankers "
         "need a complete models x tasks matrix)", DataDroppedWarning)
    return sm.dropna(how="tasks")


def scores_against_baseline(judgments: Judgments, baseline: str | None = None) -> ScoreMatrix:
    """Per-item scores from a pairwise table in which every verdict involves one common
    ``baseline`` (AlpacaEval's design): each model's score on an item is its mean preference
    against the baseline there (``p_a`` where given, else win 1, tie ½, loss 0); the baseline
    scores ½ everywhere. Items that some model lacks are left ``nan``.
    """

    if judgments.kind != "pairwise":
        raise MetaevalError("`scores_against_baseline` needs a pairwise table")
    f = judgments.frame.filter(pl.col("model_a") != pl.col("model_b"))
    base = common_baseline(f, baseline)
    f = f.filter((pl.col("model_a") == base) | (pl.col("model_b") == base))
    base_is_a = (f["model_a"] == base).to_numpy()
    y = preference(f)
    long = pl.DataFrame({"model": np.where(base_is_a, f["model_b"].to_numpy(), f["model_a"].to_numpy()),
                         "item": f["item"].cast(pl.String), "s": np.where(base_is_a, 1 - y, y)})
    g = long.group_by("model", "item", maintain_order=True).agg(pl.col("s").mean())
    models = tuple(sorted(g["model"].unique().to_list()))
    items = tuple(sorted(g["item"].unique().to_list()))
    mi, ti = {m: i for i, m in enumerate(models)}, {t: i for i, t in enumerate(items)}
    S = np.full((len(models) + 1, len(items)), np.nan)
    S[[mi[m] for m in g["model"].to_list()], [ti[t] for t in g["item"].to_list()]] = g["s"].to_numpy()
    S[-1] = 0.5
    return ScoreMatrix((*models, base), items, S)


def _pair_win_matrix(wins: np.ndarray, ties: np.ndarray) -> tuple[np.ndarray, int]:
    """Win rates (ties ½); pairs that never met get the Bradley–Terry prediction."""

    n = wins + wins.T + ties
    with np.errstate(invalid="ignore", divide="ignore"):
        W = (wins + 0.5 * ties) / n
    off = ~np.eye(len(W), dtype=bool)
    missing = off & (n == 0)
    if missing.any():
        theta = bt_newton_counts(wins + 0.5 * ties, prior=0.01)[0]
        pred = 1 / (1 + np.exp(-(theta[:, None] - theta[None, :])))
        W[missing] = pred[missing]
    np.fill_diagonal(W, 0.5)
    return W, int(missing.sum() // 2)


def _logit_game(wins: np.ndarray, ties: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Balduzzi et al.'s antisymmetric logit win-rate matrix, with add-½ smoothing so that a
    pair one model always won stays finite."""
    n = wins + wins.T + ties
    with np.errstate(invalid="ignore", divide="ignore"):
        sm = np.where(n > 0, (wins + 0.5 * ties + 0.5) / (n + 1.0), W)
    L = np.log(sm) - np.log1p(-sm)
    A = (L - L.T) / 2
    np.fill_diagonal(A, 0.0)
    return A


# ----------------------------------------------------------------------------- one evaluation
@dataclass(frozen=True)
class _Point:
    rating: np.ndarray
    mass: np.ndarray
    task_mass: np.ndarray | None = None
    task_rating: np.ndarray | None = None
    gap: float = 0.0
    duals: tuple[np.ndarray, ...] = ()


def _evaluate(method: str, opts: dict[str, Any], *, scores: np.ndarray | None = None,
              weights: np.ndarray | None = None, wins: np.ndarray | None = None,
              ties: np.ndarray | None = None, init: tuple[np.ndarray, ...] | None = None,
              W: np.ndarray | None = None) -> _Point:
    if scores is not None:
        w = np.ones(scores.shape[1]) if weights is None else weights
        if method == "nash_averaging":
            na = games.nash_averaging_tasks(scores, normalize=opts["normalize"])
            return _Point(na.rating, na.mass, na.task_mass, na.task_rating, na.gap)
        if method == "equilibrium":
            eq = games.equilibrium_ratings(scores, normalize=opts["normalize"], prompt_payoff=opts["prompt_payoff"],
                                           eps=opts["eps"], init=init)
            return _Point((eq.ratings[1] + eq.ratings[2]) / 2, (eq.marginals[1] + eq.marginals[2]) / 2,
                          eq.marginals[0], eq.ratings[0], eq.gap, eq.duals)
        if method == "alpha_rank":
            pi = games.alpha_rank(games.task_win_matrix(scores, w), intensity=opts["intensity"], m=opts["m"]).pi
            return _Point(pi, pi)
        margins = 2 * games.task_win_matrix(scores, w) - 1
        ml = games.maximal_lottery(margins)
        return _Point(ml, ml)
    assert wins is not None and ties is not None
    if W is None:
        W, _ = _pair_win_matrix(wins, ties)
    if method == "nash_averaging":
        na = games.nash_averaging(_logit_game(wins, ties, W))
        return _Point(na.rating, na.mass, gap=na.gap)
    if method == "alpha_rank":
        pi = games.alpha_rank(W, intensity=opts["intensity"], m=opts["m"]).pi
        return _Point(pi, pi)
    ml = games.maximal_lottery(W - W.T)
    return _Point(ml, ml)


def _resolve_intensity(opts: dict[str, Any], W: np.ndarray, notes: list[str], params: dict[str, Any]) -> None:
    grid, _, suggested = games.alpha_sweep(W, m=opts["m"])
    opts["intensity"] = suggested
    params["intensity"] = suggested
    notes.append(f"selection intensity {suggested:.3g}: the start of the plateau of a sweep over "
                 f"{grid[0]:.0e}..{grid[-1]:.0e}")


def _snap(x: np.ndarray) -> np.ndarray:
    """Round away solver noise (1e-7 of the unit range the game's payoffs live in)."""
    return np.round(np.asarray(x, float), 7) + 0.0


def _check_size(method: str, m: int, n: int, ci: str, n_resamples: int, max_seconds: float,
                max_memory: float) -> None:
    """Refuse, before the first solve, a ranking whose declared cost times its resamples is over
    the limits."""

    cost = RULES[method].cost
    if cost is None:  # pragma: no cover - every registered rule declares one
        raise MetaevalError(f"{method!r} declares no cost")
    runs = 1 + (n_resamples if ci == "bootstrap" else 0)
    total = RuleCost(f"{runs} x {cost.time}", cost.memory, lambda a, b: runs * cost.seconds(a, b), cost.bytes)
    what = f"{method} with {n_resamples} bootstrap resamples" if ci == "bootstrap" else method
    check_cost(what, total, m, n, max_memory=max_memory, max_seconds=max_seconds)


# ----------------------------------------------------------------------------- entry
@renamed_parameters(alpha="intensity")
def rank_game(
    data: Judgments | PairwiseCounts | ScoreMatrix,
    method: str,
    *,
    ci: str = "bootstrap",
    n_resamples: int = DEFAULT_N_RESAMPLES,
    cluster: str | None = DEFAULT_CLUSTER,
    confidence_level: float = 0.95,
    intensity: float | str = 100.0,
    m: int = 50,
    normalize: str = "ptp",
    prompt_payoff: str = "separation",
    eps: float = 1e-4,
    baseline: str | None = None,
    higher_is_better: bool = True,
    progress: bool | None = None,
    rng: np.random.Generator | int | None = None,
    max_seconds: float = 600.0,
    max_memory: float = 2 * MAX_MEMORY,
) -> Any:
    """Rank models with a game-theoretic method; see the module documentation.

    Parameters
    ----------
    data
        A pairwise or pointwise :class:`~metaeval.Judgments` table, :class:`PairwiseCounts`,
        or a :class:`ScoreMatrix` (models × tasks; tasks missing any score are dropped).
    method
        ``"nash_averaging"``, ``"maximal_lottery"``, ``"alpha_rank"`` or ``"equilibrium"``.
    ci, n_resamples, cluster, confidence_level
        Bootstrap over tasks / items (scores) or, on a pairwise table, over ``cluster``: by default
        (``"auto"``) whole items, ``"none"`` single battles (the package's cluster rule and its
        default of 1000 resamples: :mod:`metaeval.stats.resampling`); ``ci="none"`` skips it.
    intensity, m
        α-Rank's selection intensity, the paper's α (``np.inf`` for the infinite-α limit;
        ``"auto"``: the intensity that :func:`~metaeval.rankers.games.alpha_sweep` suggests on the
        full data, kept for the bootstrap) and population size. ``alpha=``, the old name of
        ``intensity``, still works for one release, with a ``FutureWarning`` (``alpha`` is a
        significance level everywhere else in metaeval).
    normalize
        Per-task score normalisation for ``nash_averaging`` (scores) and ``equilibrium``:
        ``"ptp"`` (each task mapped to [0, 1]), ``"uvzm"`` or ``"none"``.
    prompt_payoff, eps
        The equilibrium game's prompt player (``"separation"``: |score difference|, or
        ``"rebel"``) and the CCE tolerance (relative to the payoff range).
    baseline
        For ``equilibrium`` on a pairwise table: the model every verdict involves.
    progress
        Show a progress bar over resamples (default: when stderr is a terminal).
    rng
        Seed or generator.
    max_seconds, max_memory
        Limits on the estimated cost (the method's declared cost in
        :data:`~metaeval.rankers.social_choice.RULES`, once per resample): a larger job is
        refused with :class:`~metaeval.errors.TooLargeError` before it starts.
    """

    _check_arguments(method, ci, n_resamples, confidence_level, normalize, intensity)
    gen, seed = as_generator(rng)
    opts = {"intensity": intensity, "m": m, "normalize": normalize, "prompt_payoff": prompt_payoff, "eps": eps}
    params: dict[str, Any] = {"method": method, "ci": ci, "n_resamples": n_resamples, "cluster": cluster,
                              "confidence_level": confidence_level, **opts,
                              "intensity": "inf" if intensity == np.inf else intensity}  # JSON has no infinity
    notes: list[str] = []
    sm, battles, cluster, fingerprint, n_items = _game_data(data, method, cluster, baseline, higher_is_better,
                                                            params, notes)
    params["cluster"] = cluster
    limits = (ci, n_resamples, max_seconds, max_memory)
    game, point = (_solve_scores(method, opts, sm, limits, notes, params, progress) if sm is not None
                   else _solve_battles(method, opts, cast(Battles, battles), limits, notes, params, progress))
    if point.gap > 1e-6:
        notes.append(f"equilibrium solved to a deviation gain of {point.gap:.2g}")
    # Structural ties (every model an equilibrium plays earns the same payoff) must not be split by
    # solver round-off; α-Rank's masses are kept exact (tiny masses still order the losers).
    rating = point.rating if method == "alpha_rank" else _snap(point.rating)
    nan = np.full(len(game.models), np.nan)
    low = high = rlow = rhigh = pbest = nan
    mass_ci, draws, ci_label = None, None, "none"
    if ci == "bootstrap":
        draws, mdraws = _bootstrap_game(method, opts, game, point, n_resamples, gen, progress)
        low, high = percentile_interval(draws, confidence_level)
        mass_ci = percentile_interval(mdraws, confidence_level)
        rlow, rhigh, pbest = rank_statistics(draws, confidence_level)
        where = "tasks" if game.scores is not None else (f"clusters ({cluster})" if cluster else "battles")
        ci_label = f"bootstrap over {where}"
        if n_resamples > 1 and np.all(np.ptp(draws, axis=0) <= 1e-9 * np.maximum(1.0, np.abs(draws).max(axis=0))):
            text = (f"every one of the {n_resamples} resamples over {where} gave the same ratings, so every interval "
                    f"has zero width: {method}'s solution did not move when {where} were repeated or left out "
                    "(an equilibrium moves only when a resample drops what binds it). A zero-width interval here "
                    "is not a statement of certainty; compare models with a Bradley–Terry ranking's intervals")
            notes.append(text)
            warn(text, EstimationWarning)
    task_table = None
    if game.tasks is not None and point.task_mass is not None and point.task_rating is not None:
        task_table = pl.DataFrame({"task": list(game.tasks), "mass": point.task_mass,
                                   "rating": _snap(point.task_rating)})
    run = RunInfo("rank", params, seed, fingerprint, n_items, game.n_obs)
    return Ranking(game.models, rating, low, high, rlow, rhigh, pbest, np.asarray(game.n_per_model, float), method,
                   ci_label, _SCALES[method], confidence_level, None, n_resamples if ci == "bootstrap" else 0, 0, run,
                   draws, None, point.mass, mass_ci, task_table, tuple(notes))


# ----------------------------------------------------------------------------- the steps of rank_game
@dataclass(frozen=True)
class _Game:
    """The game's data: oriented ``scores`` (models × tasks) with the tasks' ``weights``, or
    ``battles``; how many observations it rests on, and per model."""

    models: tuple[str, ...]
    tasks: tuple[str, ...] | None
    n_obs: int
    n_per_model: np.ndarray
    scores: np.ndarray | None = None
    weights: np.ndarray | None = None
    battles: Battles | None = None


def _check_arguments(method: str, ci: str, n_resamples: int, confidence_level: float, normalize: str,
                     intensity: float | str) -> None:
    """The ParameterErrors of :func:`rank_game`'s arguments, before any work."""
    if method not in GAME_METHODS:
        raise ParameterError(f"`method` must be one of {', '.join(GAME_METHODS)}; got {method!r}")
    if ci not in ("bootstrap", "none"):
        raise ParameterError(f"`ci` must be 'bootstrap' or 'none' for game-theoretic rankers; got {ci!r}")
    if ci == "bootstrap" and n_resamples < 2:
        raise ParameterError(f"`n_resamples` must be at least 2; got {n_resamples}")
    if not 0 < confidence_level < 1:
        raise ParameterError(f"`confidence_level` must lie in (0, 1); got {confidence_level!r}")
    if normalize not in ("ptp", "uvzm", "none"):
        raise ParameterError(f"`normalize` must be 'ptp', 'uvzm' or 'none'; got {normalize!r}")
    if isinstance(intensity, str) and intensity != "auto":
        raise ParameterError(f"`intensity` must be a positive number, inf or 'auto'; got {intensity!r}")
    if not isinstance(intensity, str) and not intensity > 0:
        raise ParameterError(f"`intensity` must be a positive number, inf or 'auto'; got {intensity!r}")


def _game_data(data: Judgments | PairwiseCounts | ScoreMatrix, method: str, cluster: str | None,
               baseline: str | None, higher_is_better: bool, params: dict[str, Any], notes: list[str]
               ) -> tuple[ScoreMatrix | None, Battles | None, str | None, str | None, int | None]:
    """What the game is played on: scores (a ScoreMatrix, a pointwise table's items, or an
    equilibrium's scores against the baseline) or battles; with the resolved ``cluster``, the
    table's fingerprint and its number of items."""
    sm: ScoreMatrix | None = None
    battles = None
    fingerprint, n_items = None, None
    if isinstance(data, ScoreMatrix):
        sm = data
    elif isinstance(data, Judgments):
        fingerprint, n_items = data.fingerprint, len(data.items)
        if data.kind == "pointwise":
            sm = data.score_matrix(by="item", higher_is_better=higher_is_better)
            params["tasks"] = "items"
        elif method == "equilibrium":
            try:
                sm = scores_against_baseline(data, baseline)
            except MetaevalError as exc:
                raise MetaevalError("equilibrium ratings need per-item scores: pass a pointwise table or a "
                                    "ScoreMatrix, or a pairwise table with one baseline model in every verdict "
                                    f"({exc})") from None
            params["tasks"] = f"items, scores against {sm.models[-1]}"
            notes.append(f"per-item scores: preference against the baseline {sm.models[-1]} (which scores ½)")
        else:
            cluster = resolve_cluster(cluster, "item")
            battles = code_battles(data, cluster)
    elif isinstance(data, PairwiseCounts):
        cluster = resolve_cluster(cluster, None)
        if cluster is not None:
            raise MetaevalError("`cluster` needs the judgments table, not aggregated counts")
        if method == "equilibrium":
            raise MetaevalError("equilibrium ratings need per-item scores, not aggregated pair counts")
        battles = battles_from_counts(data)
    else:
        raise MetaevalError(f"cannot rank a {type(data).__name__}: pass Judgments, PairwiseCounts or a ScoreMatrix")
    if sm is not None:
        cluster = resolve_cluster(cluster, None)
        if cluster is not None:
            raise MetaevalError("with scores the bootstrap resamples tasks / items; `cluster` applies to pairwise "
                                "tables")
    return sm, battles, cluster, fingerprint, n_items


def _solve_scores(method: str, opts: dict[str, Any], sm: ScoreMatrix, limits: tuple[str, int, float, float],
                  notes: list[str], params: dict[str, Any], progress: bool | None) -> tuple[_Game, _Point]:
    """The game on scores (models × tasks, tasks missing a score dropped), solved on all tasks."""
    ci, n_resamples, max_seconds, max_memory = limits
    sm = _complete_scores(sm)
    S = sm.oriented()
    w = np.asarray(sm.weights, float)
    if len(sm.models) < 2:
        raise InsufficientDataError("ranking needs at least two models")
    _check_size(method, len(sm.models), len(sm.tasks), ci, n_resamples, max_seconds, max_memory)
    if method == "alpha_rank" and opts["intensity"] == "auto":
        _resolve_intensity(opts, games.task_win_matrix(S, w), notes, params)
    with task(f"{method}: solving the game", enabled=progress):
        point = _evaluate(method, opts, scores=S, weights=w)
    game = _Game(sm.models, sm.tasks, int(S.size), np.full(len(sm.models), len(sm.tasks)), scores=S, weights=w)
    return game, point


def _solve_battles(method: str, opts: dict[str, Any], battles: Battles, limits: tuple[str, int, float, float],
                   notes: list[str], params: dict[str, Any], progress: bool | None) -> tuple[_Game, _Point]:
    """The game on battles (win rates; pairs that never met get Bradley–Terry's prediction), solved
    on all of them."""
    ci, n_resamples, max_seconds, max_memory = limits
    models = battles.models
    if len(models) < 2:
        raise InsufficientDataError("ranking needs at least two models")
    # the game is m x m: as many "tasks" as models (Nash averaging's agent-vs-agent game)
    _check_size(method, len(models), len(models) if method == "nash_averaging" else 1, ci, n_resamples,
                max_seconds, max_memory)
    wins, ties = wins_ties(cell_counts(battles))
    W, n_filled = _pair_win_matrix(wins, ties)
    if n_filled:
        warn(f"{n_filled} pairs of models never met; their win rates are Bradley–Terry predictions",
             EstimationWarning)
        notes.append(f"{n_filled} unmet pairs filled with Bradley–Terry predictions")
    if method == "alpha_rank" and opts["intensity"] == "auto":
        _resolve_intensity(opts, W, notes, params)
    with task(f"{method}: solving the game", enabled=progress):
        point = _evaluate(method, opts, wins=wins, ties=ties, W=W)
    return _Game(models, None, len(battles.ia), (wins + wins.T + ties).sum(1), battles=battles), point


def _bootstrap_game(method: str, opts: dict[str, Any], game: _Game, point: _Point, n_resamples: int,
                    gen: np.random.Generator, progress: bool | None) -> tuple[np.ndarray, np.ndarray]:
    """Ratings and masses (resamples × models) of the game solved on each resample: of the tasks
    (scores), or of the clusters or single battles (battles)."""
    k = len(game.models)
    draws = np.empty((n_resamples, k))
    mdraws = np.empty((n_resamples, k))
    with warnings.catch_warnings(), progress_display(progress) as bar:
        warnings.simplefilter("ignore")
        job = bar.add_task(f"{method} bootstrap", total=n_resamples)
        for r, pt in enumerate(_resampled_games(method, opts, game, point, n_resamples, gen)):
            draws[r], mdraws[r] = (pt.rating if method == "alpha_rank" else _snap(pt.rating)), pt.mass
            bar.advance(job)
    return draws, mdraws


def _resampled_games(method: str, opts: dict[str, Any], game: _Game, point: _Point, n_resamples: int,
                     gen: np.random.Generator) -> Iterator[_Point]:
    """The game solved on each resample, in order, from the core's index draws: the drawn tasks'
    columns in draw order (the equilibrium warm-starts from their full-data multipliers), or the
    battles weighted by how often their cluster (or the battle itself) was drawn."""
    if game.scores is not None:
        S, w = game.scores, game.weights
        assert w is not None
        n = S.shape[1]
        for _, picks in resample_indices(n, n_resamples, gen, block=index_block(n, 1)):
            for pick in picks:
                init = (point.duals[0][pick], *point.duals[1:]) if point.duals else None
                yield _evaluate(method, opts, scores=S[:, pick], weights=w[pick], init=init)
        return
    assert game.battles is not None
    for rw, rt in _resampled_counts(game.battles, n_resamples, gen):
        yield _evaluate(method, opts, wins=rw, ties=rt)


def _resampled_counts(battles: Battles, n_resamples: int, gen: np.random.Generator
                      ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each resample's wins and ties (m × m), resampling clusters when ``battles`` has them, else
    single battles: each battle weighted by how often its unit was drawn.

    Per resample, not per block: counting a block at once (one ``bincount`` over resamples ×
    battles) measured no faster on 30 models × 5,000 battles (0.7–1.6× by block size, on a step
    that takes under 1 % of a resample's time; the game's solve takes the rest).
    """
    n_units = battles.n_clusters if battles.cluster is not None else len(battles.ia)
    if n_units == 0:  # no battle (counts of zeros): every resample is the empty table, and nothing is drawn
        wins, ties = wins_ties(cell_counts(battles))
        for _ in range(n_resamples):
            yield wins, ties
        return
    for _, picks in resample_indices(n_units, n_resamples, gen, block=index_block(n_units)):
        for pick in picks:
            drawn = np.bincount(pick, minlength=n_units)
            weight = (drawn[battles.cluster] if battles.cluster is not None else drawn).astype(float)
            yield wins_ties(cell_counts(battles, weight))


def index_block(n_units: int, width: int = 1) -> int:
    """Resamples per block of :func:`~metaeval.stats.resampling.resample_indices` for the rankers'
    bootstraps: at most about 4 M drawn indices (``n_units`` per resample) and 4 M values of what
    each resample makes (``width``), 32 MB each, at a time. The block changes the memory used,
    never the draws.

    >>> index_block(5000), index_block(10**7), index_block(40, width=30 * 30 * 3)
    (838, 1, 1553)
    """
    return max(1, min((1 << 22) // max(n_units, 1), (1 << 22) // max(width, 1)))
