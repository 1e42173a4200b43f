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

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats as st

from metaeval._random import as_generator
from metaeval.errors import EstimationWarning, InsufficientDataError, MetaevalError, warn
from metaeval.rankers.social_choice import RULES, apply_rule, condorcet_winner, smith_set
from metaeval.results import Result, RunInfo
from metaeval.tables import ScoreMatrix

__all__ = ["RuleComparison", "WinningWeights", "compare_rules", "robustness", "winning_weights"]


@dataclass(frozen=True)
class RuleComparison(Result):
    """Winner and ranking under every rule, side by side."""

    models: tuple[str, ...]
    ranks: pl.DataFrame  # model x rule ranks
    winners: dict[str, tuple[str, ...]]
    tau: pl.DataFrame  # rule x rule Kendall tau-b between rankings
    condorcet_winner: str | None
    smith: tuple[str, ...]
    verdict: str
    run_info: RunInfo
    title: str = "which rule would crown whom"

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({"rule": list(self.winners), "winners": [", ".join(w) for w in self.winners.values()]})

    def summary(self) -> str:
        lines = [super().summary(), f"Condorcet winner: {self.condorcet_winner or 'none'}; Smith set: "
                 f"{', '.join(self.smith)}", self.verdict]
        return "\n".join(lines)


def compare_rules(data: ScoreMatrix, *, rules: Sequence[str] | None = None, missing: str = "drop") -> RuleComparison:
    """Apply every rule (or ``rules``) and compare: winners, rankings, Kendall τ between rules.

    Models with missing scores are dropped first (``missing="drop"``) so that every rule ranks
    the same set; rules that fail on the data (e.g. the geometric mean on negative scores) are
    skipped with a warning.
    """
    sm = data.dropna() if data.n_missing and missing == "drop" else data
    names = list(rules) if rules is not None else list(RULES)
    results = {}
    for r in names:
        try:
            results[r] = apply_rule(r, sm, missing="raise")
        except (MetaevalError, InsufficientDataError) as exc:
            if rules is not None:
                raise
            warn(f"rule {r!r} skipped: {exc}", EstimationWarning)
    if not results:
        raise InsufficientDataError("no rule could rank this leaderboard")
    models = sm.models
    ranks = pl.DataFrame({"model": list(models), **{r: res.rank for r, res in results.items()}})
    keys = list(results)
    tau = np.ones((len(keys), len(keys)))
    for a in range(len(keys)):
        for b in range(a + 1, len(keys)):
            t = st.kendalltau(results[keys[a]].rank, results[keys[b]].rank).statistic
            tau[a, b] = tau[b, a] = t
    tau_df = pl.DataFrame({"rule": keys, **{k: tau[:, i] for i, k in enumerate(keys)}})
    profile = sm.to_profile()
    cw = condorcet_winner(profile)
    winners = {r: res.winners for r, res in results.items()}
    distinct = {w for ws in winners.values() for w in ws}
    share = {m: sum(m in ws for ws in winners.values()) / len(winners) for m in distinct}
    top = max(share, key=share.get)
    mean_tau = float(tau[np.triu_indices(len(keys), 1)].mean()) if len(keys) > 1 else 1.0
    if len(distinct) == 1:
        verdict = f"robust: every rule crowns {top}"
    else:
        verdict = (f"rule-dependent: {len(distinct)} different winners; {top} wins under {share[top]:.0%} of the "
                   f"rules; mean Kendall tau between rule rankings {mean_tau:.2f}")
    run = RunInfo("compare_rules", {"rules": keys}, None, None, len(sm.tasks), int(np.sum(~np.isnan(sm.scores))))
    return RuleComparison(models, ranks, winners, tau_df, cw, smith_set(profile), verdict, run)


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


def winning_weights(data: ScoreMatrix, model: str, *,
                    criterion: Literal["condorcet", "borda", "mean"] = "borda") -> WinningWeights:
    """Vote'n'Rank's "when does this system win": the task weights (summing to 1) that maximise the
    model's smallest winning margin, by linear programming. A non-positive optimum proves that no
    weighting makes it win.

    ``condorcet``: beat every rival in the weighted pairwise majority over tasks; ``borda``: the
    highest weighted Borda score; ``mean``: the highest weighted mean score.
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
        raise MetaevalError(f"`criterion` must be condorcet, borda or mean; got {criterion!r}")
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
    clone of a model changes the winner."""

    win_share: pl.DataFrame
    clone_changes: dict[str, bool]
    n_resamples: int
    run_info: RunInfo
    title: str = "winner stability (bootstrap over tasks)"

    def to_polars(self) -> pl.DataFrame:
        return self.win_share


def robustness(data: ScoreMatrix, *, rules: Sequence[str] = ("borda", "copeland", "arithmetic_mean", "schulze"),
               n_resamples: int = 200, clone_of: str | None = None, rng: Any = None) -> Robustness:
    """Winner stability: resample tasks with replacement and record each rule's winners
    (a tie splits the win); and add an exact clone of ``clone_of`` (default: the runner-up under
    each rule) to see whether the winner changes."""
    gen, seed = as_generator(rng)
    sm = data.dropna()
    T = len(sm.tasks)
    if T < 2:
        raise InsufficientDataError("resampling tasks needs at least two tasks")
    share = {r: np.zeros(len(sm.models)) for r in rules}
    for _ in range(n_resamples):
        pick = gen.integers(0, T, T)
        boot = ScoreMatrix(sm.models, tuple(f"{sm.tasks[k]}#{i}" for i, k in enumerate(pick)), sm.scores[:, pick],
                           np.asarray(sm.higher_is_better)[pick], np.asarray(sm.weights)[pick])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for r in rules:
                res = apply_rule(r, boot)
                for w in res.winners:
                    share[r][sm.models.index(w)] += 1 / len(res.winners)
    table = pl.DataFrame({"model": list(sm.models), **{r: share[r] / n_resamples for r in rules}})
    clone_changes = {}
    for r in rules:
        base = apply_rule(r, sm)
        target = clone_of or base.ranking[1 if len(base.ranking) > 1 else 0]
        k = sm.models.index(target)
        cloned = ScoreMatrix((*sm.models, f"{target} (clone)"), sm.tasks, np.vstack([sm.scores, sm.scores[k]]),
                             sm.higher_is_better, sm.weights)
        after = apply_rule(r, cloned)
        clone_changes[r] = set(after.winners) - {f"{target} (clone)"} != set(base.winners) - {target} or (
            target not in base.winners and bool(set(after.winners) & {target, f"{target} (clone)"}))
    run = RunInfo("robustness", {"rules": list(rules), "n_resamples": n_resamples, "clone_of": clone_of}, seed,
                  None, T, int(sm.scores.size))
    return Robustness(table, clone_changes, n_resamples, run)
