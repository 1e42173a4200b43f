"""Auditing a multi-task leaderboard with social choice: which rule would crown whom, under
which task weights a model would win, and how stable the winner is.

>>> import numpy as np
>>> from metaeval import ScoreMatrix
>>> from metaeval.rankers.vote import compare_rules
>>> sm = ScoreMatrix(("a", "b", "c"), ("t1", "t2", "t3"), np.array([[3, 3, 1], [2, 2, 3], [1, 1, 2.]]))
>>> compare_rules(sm, rules=["borda", "copeland", "arithmetic_mean"]).winners["copeland"]
('a',)
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats as st

from metaeval._format import table_text
from metaeval._progress import task
from metaeval._random import as_generator
from metaeval._validate import LEVEL, Interval, Options, validate_params
from metaeval.errors import (
    DataDroppedWarning,
    EstimationWarning,
    InsufficientDataError,
    MetaevalError,
    ParameterError,
    TooLargeError,
    warn,
)
from metaeval.rankers.game_rank import index_block
from metaeval.rankers.presets import PRESETS
from metaeval.rankers.social_choice import (
    MAX_MEMORY,
    MAX_SECONDS,
    RULES,
    _registry,
    apply_rule,
    check_cost,
    condorcet_winner,
    smith_set,
)
from metaeval.report.charts import rank_intervals
from metaeval.results import Result, RunInfo
from metaeval.stats.resampling import DEFAULT_N_RESAMPLES, resample_indices
from metaeval.tables import Profile, ScoreMatrix

__all__ = ["RuleComparison", "WinningWeights", "compare_rules", "robustness", "winning_weights"]


@dataclass(frozen=True)
class RuleComparison(Result):
    """Winner and ranking under every rule, side by side.

    ``notes`` holds, per rule, what the reader must know about how it was computed (e.g. a
    Kemeny–Young ranking that is an approximation); ``skipped`` the rules that were not run and
    why (too large for the limits, or the data do not suit them); ``data_notes`` what was done to
    the leaderboard first (models dropped for missing scores, a preset's weights).
    """

    models: tuple[str, ...]
    ranks: pl.DataFrame  # model x rule ranks
    winners: dict[str, tuple[str, ...]]
    tau: pl.DataFrame  # rule x rule Kendall tau-b between rankings
    condorcet_winner: str | None
    smith: tuple[str, ...]
    verdict: str
    run_info: RunInfo
    title: str = "which rule would crown whom"
    notes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    data_notes: tuple[str, ...] = ()
    exact: dict[str, bool] = field(default_factory=dict)
    preset: str | None = None

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({"rule": list(self.winners),
                             "winners": [", ".join(w) if w else "(none)" for w in self.winners.values()],
                             "exact": [self.exact.get(r, True) for r in self.winners]})

    def summary(self) -> str:
        smith = ", ".join(self.smith) if self.smith else "not computed"
        cw = self.condorcet_winner or ("none" if self.smith else "not computed")
        table = self.to_polars()
        if table["exact"].all():  # the column only matters when some rule is an approximation
            table = table.drop("exact")
        lines = [table_text(table, title=self.title), f"Condorcet winner: {cw}; Smith set: {smith}", self.verdict]
        lines += [f"note: {n}" for n in self.data_notes]
        lines += [f"note ({r}): {n}" for r, ns in self.notes.items() for n in ns]
        lines += [f"skipped {r}: {why}" for r, why in self.skipped.items()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update({"notes": {r: list(n) for r, n in self.notes.items()}, "skipped": dict(self.skipped),
                    "data_notes": list(self.data_notes), "preset": self.preset})
        return out


def _verdict(winners: dict[str, tuple[str, ...]]) -> str:
    """One sentence: robust (one model among the winners of every rule) or who wins how often."""
    crowned = {r: w for r, w in winners.items() if w}
    if not crowned:
        return "no rule names a winner"
    n = len(crowned)
    distinct = sorted({m for w in crowned.values() for m in w})
    alone = {m: sum(w == (m,) for w in crowned.values()) for m in distinct}
    counts = {m: sum(m in w for w in crowned.values()) for m in distinct}
    order = sorted(distinct, key=lambda m: (-counts[m], -alone[m], m))
    top = order[0]
    if counts[top] == n:
        shared = [r for r, w in crowned.items() if len(w) > 1]
        text = f"robust: every rule crowns {top} ({n} rules)"
        return text + (f"; it shares the win under {', '.join(shared)}" if shared else "")

    def wins(m: str) -> str:
        shared = counts[m] - alone[m]
        return f"{m} under {counts[m]}" + (" (shared)" if not alone[m] else
                                           f" ({alone[m]} alone, {shared} shared)" if shared else "")

    shown = "; ".join(wins(m) for m in order[:3]) + (f"; and {len(order) - 3} more" if len(order) > 3 else "")
    return f"rule-dependent: the {n} rules crown {len(distinct)} different models — {shown}"


@validate_params({
    "missing": [Options(str, ("drop", "keep"))],
    "max_memory": [Interval(Real, 0, None, closed="neither")],
    "max_seconds": [Interval(Real, 0, None, closed="neither")],
    "max_total_seconds": [Interval(Real, 0, None, closed="neither")],
})
def compare_rules(data: ScoreMatrix, *, rules: Sequence[str] | None = None, missing: str = "drop",
                  preset: str | None = None, max_memory: float = MAX_MEMORY, max_seconds: float = MAX_SECONDS,
                  max_total_seconds: float = 60.0) -> RuleComparison:
    """Apply every rule (or ``rules``) and compare: winners, rankings, Kendall τ between rules.

    Parameters
    ----------
    data : ScoreMatrix
        The leaderboard.
    rules : sequence of str, optional
        Rule names (default: every rule of the registry, or of the preset). A named rule that
        fails raises; with the default set a rule that cannot run (too large for the limits,
        negative scores for the geometric mean …) is skipped with a warning and listed in
        ``skipped``.
    missing : {"drop", "keep"}, default "drop"
        ``"drop"``: models with missing scores are dropped first, so that every rule ranks the
        same set (listed in ``data_notes``); ``"keep"``: they stay, and the rules that need
        complete scores are skipped.
    preset : str, optional
        ``"vote_n_rank"``: the Vote'n'Rank paper's rules, tie conventions and weights
        (:mod:`metaeval.rankers.presets`).
    max_memory, max_seconds : float
        Per-rule limits, checked against each rule's declared cost before it runs.
    max_total_seconds : float, default 60.0
        With the default rule set, the costliest rules are left out (and listed in ``skipped``)
        until the estimated total fits.

    Returns
    -------
    RuleComparison
        ``ranks`` (model × rule), ``winners`` (rule → winner set), ``tau`` (Kendall τ-b between
        the rules' rankings), ``condorcet_winner``, ``smith`` (the Smith set), a one-line
        ``verdict``, and ``notes``, ``skipped``, ``data_notes``, ``exact``.

    Examples
    --------
    >>> import numpy as np
    >>> from metaeval import ScoreMatrix
    >>> sm = ScoreMatrix(("a", "b", "c"), ("t1", "t2", "t3"), np.array([[3, 3, 1], [2, 2, 3], [1, 1, 2.]]))
    >>> compare_rules(sm, rules=["copeland", "minimax"]).verdict
    'robust: every rule crowns a (2 rules)'
    """

    if len(data.tasks) < 2:
        raise InsufficientDataError(f"the rules aggregate rankings across tasks, and this leaderboard has one score "
                                    f"column ({data.tasks[0]!r}): every rule would return its order; name more columns "
                                    "with `tasks=` (--tasks) if the file holds several scores")
    registry = _registry(preset)
    data_notes: list[str] = []
    sm = data
    if preset is not None:
        sm, prep = PRESETS[preset].prepare(sm)
        data_notes += prep
    if sm.n_missing and missing == "drop":
        keep = ~np.isnan(sm.scores).any(axis=1)
        gone = [m for m, k in zip(sm.models, keep, strict=True) if not k]
        sm = sm.dropna()
        data_notes.append(f"{len(gone)} model{'s' if len(gone) > 1 else ''} with missing scores left out so that "
                          f"every rule ranks the same set: {', '.join(gone[:5])}{' …' if len(gone) > 5 else ''}")
    if len(sm.models) < 2:
        raise InsufficientDataError(f"a leaderboard needs at least two models to rank; got {len(sm.models)}"
                                    + (f" ({sm.models[0]!r})" if sm.models else ""))
    names = list(rules) if rules is not None else list(registry)
    results = {}
    skipped: dict[str, str] = {}
    if rules is None:  # keep the default comparison within its total budget, dropping the costliest rules
        m, n = len(sm.models), len(sm.tasks)
        est = {}
        for r in list(names):
            try:
                est[r] = check_cost(f"rule {r!r}", registry[r].cost, m, n, max_memory=max_memory,  # type: ignore[arg-type]
                                    max_seconds=max_seconds)[0]
            except MetaevalError as exc:
                skipped[r] = str(exc)
                names.remove(r)
                warn(f"rule {r!r} skipped: {exc}", EstimationWarning)
        while len(est) > 1 and sum(est.values()) > max_total_seconds:
            worst = max(est, key=est.__getitem__)
            skipped[worst] = (f"left out to keep the comparison under `max_total_seconds` = {max_total_seconds:g} "
                              f"(this rule alone: about {est.pop(worst):.3g} s on {m:,} models x {n:,} tasks)")
            names.remove(worst)
            warn(f"rule {worst!r} skipped: {skipped[worst]}", EstimationWarning)
    for r in names:
        spec = registry.get(r)
        if missing == "keep" and sm.n_missing and spec is not None and not spec.tolerates_missing:
            skipped[r] = "needs complete scores"
            continue
        try:
            results[r] = apply_rule(r, sm, missing="raise", preset=preset, max_memory=max_memory,
                                    max_seconds=max_seconds)
        except (MetaevalError, InsufficientDataError) as exc:
            if rules is not None:
                raise
            skipped[r] = str(exc)
            warn(f"rule {r!r} skipped: {exc}", EstimationWarning)
    if not results:
        by_reason: dict[str, list[str]] = {}
        for k, v in skipped.items():
            by_reason.setdefault(v, []).append(k)
        listed = "; ".join(f"{', '.join(ks) if len(ks) < 4 else f'{len(ks)} rules'}: {v}"
                           for v, ks in by_reason.items())
        raise InsufficientDataError("no rule could rank this leaderboard" + (f" ({listed})" if skipped else ""))
    for r, res in results.items():
        if not res.exact:
            warn(f"rule {r!r} is an approximation here: {res.notes[0] if res.notes else 'see its notes'}",
                 EstimationWarning)
    models = sm.models
    ranks = pl.DataFrame({"model": list(models), **{r: res.rank for r, res in results.items()}})
    keys = list(results)
    tau = np.ones((len(keys), len(keys)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant ranking has no tau: nan
        for a in range(len(keys)):
            for b in range(a + 1, len(keys)):
                t = st.kendalltau(results[keys[a]].rank, results[keys[b]].rank).statistic
                tau[a, b] = tau[b, a] = t
    tau_df = pl.DataFrame({"rule": keys, **{k: tau[:, i] for i, k in enumerate(keys)}})
    cw: str | None = None
    smith: tuple[str, ...] = ()
    try:
        check_cost("the Condorcet winner and Smith set", RULES["condorcet"].cost, len(models), len(sm.tasks),
                   max_memory=max_memory, max_seconds=max_seconds)
        profile = sm.to_profile()
        cw = condorcet_winner(profile)
        smith = smith_set(profile)
    except MetaevalError as exc:
        data_notes.append(f"Condorcet winner and Smith set not computed: {exc}")
    winners = {r: res.winners for r, res in results.items()}
    run = RunInfo("compare_rules", {"rules": keys, "preset": preset, "missing": missing}, None, None,
                  len(sm.tasks), int(np.sum(~np.isnan(sm.scores))))
    return RuleComparison(models, ranks, winners, tau_df, cw, smith, _verdict(winners), run,
                          notes={r: res.notes for r, res in results.items() if res.notes}, skipped=skipped,
                          data_notes=tuple(data_notes), exact={r: res.exact for r, res in results.items()},
                          preset=preset)


@dataclass(frozen=True)
class WinningWeights(Result):
    """Task weights under which a model wins (or the proof that none exist)."""

    model: str
    criterion: str
    feasible: bool
    margin: float
    weights: dict[str, float]
    run_info: RunInfo
    title: str = "task weights that make the model win"

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({"task": list(self.weights), "weight": list(self.weights.values())})

    def summary(self) -> str:
        if not self.feasible:
            return (f"{self.model} cannot become the {self.criterion} winner under any non-negative task weights "
                    f"(best achievable margin {self.margin:.4g} <= 0)")
        return super().summary() + f"\n{self.model} wins ({self.criterion}) with margin {self.margin:.4g}"


@validate_params({"criterion": [Options(str, ("condorcet", "borda", "mean"))]})
def winning_weights(data: ScoreMatrix, model: str, *,
                    criterion: Literal["condorcet", "borda", "mean"] = "borda") -> WinningWeights:
    """Vote'n'Rank's "when does this system win": the task weights that maximise the model's winning margin.

    The weights (summing to 1) that maximise the model's smallest winning margin are found by linear
    programming. A non-positive optimum proves that no weighting makes it win.

    Parameters
    ----------
    data : ScoreMatrix
        Models × tasks scores (higher is better).
    model : str
        The model that should win.
    criterion : {"borda", "condorcet", "mean"}, default "borda"
        ``condorcet``: beat every rival in the weighted pairwise majority over tasks; ``borda``: the
        highest weighted Borda score; ``mean``: the highest weighted mean score.

    Returns
    -------
    WinningWeights
        ``feasible`` (whether some weighting makes the model win), ``margin`` (the optimal smallest
        margin; non-positive when infeasible), ``weights`` (task → weight) and ``criterion``.

    Examples
    --------
    >>> import numpy as np
    >>> from metaeval import ScoreMatrix
    >>> sm = ScoreMatrix(("a", "b", "c"), ("t1", "t2", "t3"), np.array([[3, 3, 1], [2, 2, 3], [1, 1, 2.]]))
    >>> w = winning_weights(sm, "b")
    >>> w.feasible, w.weights["t3"]
    (True, 1.0)
    >>> winning_weights(sm, "c").feasible
    False
    """
    from scipy.optimize import linprog

    sm = data.dropna()
    if model not in sm.models:
        raise MetaevalError(f"unknown model {model!r} (or it has missing scores)")
    o = sm.oriented()
    m = sm.models.index(model)
    T = o.shape[1]
    if criterion == "condorcet":
        sign = np.sign(o[m][None, :] - o)  # rivals x tasks: +1 model ahead on the task
        rows = np.delete(sign, m, axis=0)
    elif criterion == "borda":
        prof = sm.to_profile()
        r = np.asarray(prof.ranks)  # tasks x models
        n = r.shape[1]
        borda = (n - r).T  # models x tasks (ties share the best rank: min rank)
        rows = np.delete(borda[m][None, :] - borda, m, axis=0)
    elif criterion == "mean":
        rows = np.delete(o[m][None, :] - o, m, axis=0)
    else:
        raise ParameterError(f"`criterion` must be condorcet, borda or mean; got {criterion!r}")
    # maximise t subject to rows @ w >= t, sum w = 1, w >= 0  ->  minimise -t
    c = np.zeros(T + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-rows, np.ones((rows.shape[0], 1))])
    b_ub = np.zeros(rows.shape[0])
    A_eq = np.hstack([np.ones((1, T)), np.zeros((1, 1))])
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=[(0, None)] * T + [(None, None)],
                  method="highs")
    if not res.success:
        raise MetaevalError(f"the linear program failed: {res.message}")
    margin = float(res.x[-1])
    weights = {t: float(w) for t, w in zip(sm.tasks, res.x[:T], strict=True)}
    run = RunInfo("winning_weights", {"model": model, "criterion": criterion}, None, None, T, int(sm.scores.size))
    return WinningWeights(model, criterion, margin > 1e-9, margin, weights, run)


@dataclass(frozen=True)
class Robustness(Result):
    """How often each model wins under each rule when tasks are resampled, and whether adding a
    clone of a model changes the winner.

    ``ranks`` has one row per rule and model: ``rank`` on all tasks (1 = best, ties share),
    ``rank_low`` / ``rank_high`` (the central ``confidence_level`` share of its ranks over the
    resampled task sets) and ``win_share``. The rank interval says how far the model's place
    under that rule moves when the set of tasks changes; it is a stability interval of the
    rule's output, not a confidence interval for a true rank. ``dropped`` names the models left
    out because a score was missing (every rule ranks the same complete set).
    """

    win_share: pl.DataFrame
    clone_changes: dict[str, bool]
    n_resamples: int
    run_info: RunInfo
    title: str = "winner stability (bootstrap over tasks)"
    ranks: pl.DataFrame | None = None
    confidence_level: float = 0.95
    dropped: tuple[str, ...] = ()

    def to_polars(self) -> pl.DataFrame:
        return self.win_share

    def summary(self) -> str:
        """The win shares, each model's rank under each rule with its stability interval, the clone
        test and the models left out."""
        parts = [super().summary()]
        if self.ranks is not None and self.ranks.height and self.n_resamples:
            ranks = self.ranks.with_columns(  # whole ranks print as whole numbers
                pl.col(c).cast(pl.Int64) for c in ("rank", "rank_low", "rank_high")
                if self.ranks[c].is_finite().all() and (self.ranks[c] % 1 == 0).all())
            parts.append(table_text(ranks, title=(
                f"rank under each rule: on all {self.run_info.n_items} tasks, and the central "
                f"{self.confidence_level:.0%} of its ranks over {self.n_resamples} resampled task sets (rank_low, "
                "rank_high: a stability interval, not a confidence interval for a true rank)")))
        if self.clone_changes:
            changed = [r for r, c in self.clone_changes.items() if c]
            target = self.run_info.params.get("clone_of") or "the runner-up under each rule"
            parts.append(f"clone test (an exact copy of {target} added): "
                         + (f"the winner changes under {', '.join(changed)}" if changed else
                            f"no rule's winner changes ({', '.join(self.clone_changes)})"))
        if self.dropped:
            parts.append(f"left out for missing scores ({len(self.dropped)}): {', '.join(self.dropped[:8])}"
                         + (" …" if len(self.dropped) > 8 else ""))
        return "\n".join(parts)

    def chart(self) -> Any:
        """Rank-interval plot: each model's rank under each rule (one panel per rule, rank 1 on
        the left) with the interval of its ranks over resampled task sets; models in the order of
        the first rule."""
        if self.ranks is None or self.ranks.height == 0:
            raise MetaevalError("this result holds no ranks (made by an older metaeval): rerun `robustness`")
        rules = self.ranks["rule"].unique(maintain_order=True).to_list()
        order = self.ranks.filter(pl.col("rule") == rules[0]).sort("rank", "model")["model"].to_list()
        n_models = len(order)
        subtitle = [f"point: rank on all {self.run_info.n_items} tasks; bar: central {self.confidence_level:.0%} of "
                    f"its ranks over {self.n_resamples} resamples of the tasks (a stability interval)",
                    f"models in the order of {rules[0]}"]
        return rank_intervals(self.ranks, label="model", rank="rank", low="rank_low", high="rank_high",
                              n_models=n_models, facet="rule" if len(rules) > 1 else None, columns=4, sort=order,
                              tooltip=["win_share"], title="Rank under each aggregation rule, tasks resampled",
                              subtitle=subtitle, width=170 if n_models > 10 else 150)


#: How long robustness() runs its first resamples before it projects the whole run's time.
_PROBE_SECONDS = 0.5


def _resampled_winners(sm: ScoreMatrix, rules: Sequence[str], n_resamples: int, gen: np.random.Generator,
                       max_seconds: float = math.inf) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each rule applied to each resample of the tasks (drawn as indices from the core, in draw
    order): per rule, each model's count of wins (a tie splits the win) and its rank in each
    resample. A bootstrap over tasks resamples the voters: each task is ranked once, and a
    resample picks rows of the profile; the scores are resampled too only for the rules that
    need them.

    The time guard is measured: once the first resamples have run for :data:`_PROBE_SECONDS` (or
    20 of them have), the whole run's time is projected from them, and a projection over
    ``max_seconds`` stops the run with a :class:`~metaeval.errors.TooLargeError`. The rules'
    declared costs are upper bounds for one call with its result object, far above a resample's
    cost (about 35 times on GLUE), so they would refuse runs that take seconds."""
    m, T = len(sm.models), len(sm.tasks)
    started, projected = time.perf_counter(), False
    position = {c: i for i, c in enumerate(sm.models)}
    share = {r: np.zeros(m) for r in rules}
    boot_ranks = {r: np.empty((n_resamples, m)) for r in rules}
    profile = sm.to_profile()
    ranks, pw = np.asarray(profile.ranks), np.asarray(profile.weights)
    needs_scores = any(RULES[r].needs_scores for r in rules)
    hib, tw = np.asarray(sm.higher_is_better), np.asarray(sm.weights)
    with task("robustness: resampled tasks", n_resamples) as shown:
        for start, picks in resample_indices(T, n_resamples, gen, block=index_block(T)):
            for b, pick in enumerate(picks, start):
                boot = ScoreMatrix(sm.models, tuple(f"{sm.tasks[k]}#{i}" for i, k in enumerate(pick)),
                                   sm.scores[:, pick], hib[pick], tw[pick]) if needs_scores else None
                boot_profile = Profile(sm.models, ranks[pick], weights=pw[pick])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    for r in rules:
                        res = apply_rule(r, boot if RULES[r].needs_scores else boot_profile,
                                         max_seconds=1e9)
                        for w in res.winners:
                            share[r][position[w]] += 1 / len(res.winners)
                        boot_ranks[r][b, [position[c] for c in res.candidates]] = res.rank
                elapsed = time.perf_counter() - started
                if not projected and (elapsed >= _PROBE_SECONDS or b + 1 >= 20):
                    projected = True
                    total = elapsed / (b + 1) * n_resamples
                    if total > max_seconds:
                        raise TooLargeError(
                            f"robustness with {n_resamples} resamples of {m:,} models x {T:,} tasks would take about "
                            f"{total:.3g} s (measured on the first {b + 1}), over `max_seconds` = {max_seconds:g}; "
                            "use fewer resamples, rules or models, or raise `max_seconds`")
            shown.advance(len(picks))
    return share, boot_ranks


@validate_params({
    "n_resamples": [Interval(Integral, 0, None, closed="left")],
    "rng": ["rng"],
    "max_seconds": [Interval(Real, 0, None, closed="neither")],
    "confidence_level": [LEVEL],
})
def robustness(data: ScoreMatrix, *, rules: Sequence[str] = ("borda", "copeland", "arithmetic_mean", "schulze"),
               n_resamples: int = DEFAULT_N_RESAMPLES, clone_of: str | None = None, rng: Any = None,
               max_seconds: float = 60.0, confidence_level: float = 0.95) -> Robustness:
    """Winner stability: resample tasks and add clones, and see whether each rule's winner changes.

    Tasks are resampled with replacement and each rule's winners recorded (a tie splits the win),
    with each model's rank (``ranks``: the central ``confidence_level`` share of its ranks over the
    resamples, beside its rank on all tasks); and an exact clone of ``clone_of`` (default: the
    runner-up under each rule) is added to see whether the winner changes.

    The running time is checked against ``max_seconds``: the first resamples are timed (half a
    second's worth) and the whole run projected from them; a projection over the limit stops with a
    :class:`~metaeval.errors.TooLargeError` that says by how much. Before any resample, one
    application of the rules by their declared (upper-bound) costs must fit in the limit too.

    Parameters
    ----------
    data : ScoreMatrix
        Models × tasks scores (higher is better).
    rules : sequence of str, default ("borda", "copeland", "arithmetic_mean", "schulze")
        Names of rules in :data:`~metaeval.rankers.RULES`.
    n_resamples : int, default 1000
        Resampled task sets (0: only the clone test).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    clone_of : str, optional
        The model to clone. Default: the runner-up under each rule.
    rng : int, numpy.random.Generator or None
        Seed for the resampling.
    max_seconds : float, default 60.0
        The longest projected running time accepted, in seconds.
    confidence_level : float, default 0.95
        The share of resampled ranks the rank interval covers.

    Returns
    -------
    Robustness
        ``win_share`` (per model, the share of resamples each rule makes it win), ``clone_changes``
        (rule → whether adding the clone changed the winner), ``ranks`` (per rule and model:
        ``rank``, ``rank_low``, ``rank_high``, ``win_share``), ``n_resamples``.

    Examples
    --------
    >>> import numpy as np
    >>> from metaeval import ScoreMatrix
    >>> sm = ScoreMatrix(("a", "b", "c"), ("t1", "t2", "t3"), np.array([[3, 3, 1], [2, 2, 3], [1, 1, 2.]]))
    >>> robustness(sm, rules=["borda"], n_resamples=50, rng=0).to_polars()["borda"].sum()
    1.0
    """

    gen, seed = as_generator(rng)
    sm = data.dropna()
    dropped = tuple(c for c in data.models if c not in set(sm.models))
    if dropped:
        warn(f"robustness: {len(dropped)} model{'s' if len(dropped) > 1 else ''} with missing scores left out, so that "
             f"every rule ranks the same set: {', '.join(dropped[:8])}{' …' if len(dropped) > 8 else ''}",
             DataDroppedWarning)
    T = len(sm.tasks)
    if T < 2:
        raise InsufficientDataError("resampling tasks needs at least two tasks")
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise ParameterError(f"unknown rule {unknown[0]!r}; rules: {', '.join(RULES)}")
    m = len(sm.models)
    per = sum(RULES[r].cost.estimate(m, T)[0] for r in rules)  # type: ignore[union-attr]
    if per > max_seconds:  # one full application of the rules, by their declared (upper-bound) costs
        raise TooLargeError(f"robustness on {m:,} models x {T:,} tasks: one application of the rules would take "
                            f"about {per:.3g} s, over `max_seconds` = {max_seconds:g}; use fewer rules or models")
    share, boot_ranks = _resampled_winners(sm, rules, n_resamples, gen, max_seconds)
    table = pl.DataFrame({"model": list(sm.models), **{r: share[r] / n_resamples for r in rules}})
    clone_changes = {}
    a = (1 - confidence_level) / 2
    rank_rows = []
    for r in rules:
        base = apply_rule(r, sm)
        full = dict(zip(base.candidates, base.rank, strict=True))
        if n_resamples:
            low = np.quantile(boot_ranks[r], a, axis=0, method="inverted_cdf")
            high = np.quantile(boot_ranks[r], 1 - a, axis=0, method="inverted_cdf")
        else:
            low = high = np.full(m, np.nan)
        rank_rows += [{"rule": r, "model": mod, "rank": float(full[mod]), "rank_low": float(low[i]),
                       "rank_high": float(high[i]), "win_share": float(share[r][i] / max(n_resamples, 1))}
                      for i, mod in enumerate(sm.models)]
        target = clone_of or base.ranking[1 if len(base.ranking) > 1 else 0]
        k = sm.models.index(target)
        cloned = ScoreMatrix((*sm.models, f"{target} (clone)"), sm.tasks, np.vstack([sm.scores, sm.scores[k]]),
                             sm.higher_is_better, sm.weights)
        after = apply_rule(r, cloned)
        # the clone counts as its original: the winner set changes when other models win or lose
        mapped = {target if w == f"{target} (clone)" else w for w in after.winners}
        clone_changes[r] = mapped != set(base.winners)
    run = RunInfo("robustness", {"rules": list(rules), "n_resamples": n_resamples, "clone_of": clone_of,
                                 "confidence_level": confidence_level}, seed, None, T, int(sm.scores.size))
    ranks = pl.DataFrame(rank_rows).sort("rule", "rank", "model", maintain_order=False)
    ranks = pl.concat([ranks.filter(pl.col("rule") == r) for r in rules])
    return Robustness(table, clone_changes, n_resamples, run, ranks=ranks, confidence_level=confidence_level,
                      dropped=dropped)
