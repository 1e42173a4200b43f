"""Is this benchmark measuring anything? Correlations over models, redundancy, agreement with a
human-preference reference.

Every correlation is over models (the models that have both scores), with a Fisher-z interval
whose standard error suits the coefficient: Bonett & Wright (2000) for Spearman's ρ,
√((1 + ρ²/2)/(n − 3)); Fieller, Hartley & Pearson (1957) for Kendall's τ, √(0.437/(n − 4));
1/√(n − 3) for Pearson's r. These keep their coverage at the small numbers of models a
leaderboard has, where a bootstrap over models does not (the coverage table is in the tests).

- :func:`rank_correlation`: one coefficient with its interval.
- :func:`correlate_with_reference`: each column of a leaderboard against a reference column
  (e.g. Chatbot Arena's Elo): how well does each benchmark track human preference?
- :func:`task_correlations`: task × task, for redundancy.
- :func:`redundancy`: how much each task is predicted by the others, and the smallest set of
  tasks whose aggregate ranking keeps Kendall's τ ≥ ``min_tau`` with the full benchmark's.

>>> import numpy as np
>>> from metaeval.tables import ScoreMatrix
>>> board = ScoreMatrix(tuple("abcdefgh"), ("arena", "bench"),
...                     np.array([[1, 2], [2, 1], [3, 4], [4, 3], [5, 6], [6, 5], [7, 8], [8, 7.0]]))
>>> round(correlate_with_reference(board, "arena").table["estimate"][0], 3)
0.905
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Literal

import numpy as np
import polars as pl

from metaeval._validate import LEVEL, Interval, Options, validate_params
from metaeval.errors import EstimationWarning, InsufficientDataError, MetaevalError, ParameterError, warn
from metaeval.results import ConfidenceInterval, Estimate, Result, RunInfo
from metaeval.stats.intervals import correlation_interval
from metaeval.tables import ScoreMatrix

__all__ = [
    "Redundancy",
    "ReferenceCorrelation",
    "correlate_with_reference",
    "rank_correlation",
    "redundancy",
    "task_correlations",
]

Method = Literal["spearman", "kendall", "pearson"]
_MIN_N = {"spearman": 4, "kendall": 5, "pearson": 4}


def _coef(x: np.ndarray, y: np.ndarray, method: Method) -> float:
    from scipy import stats as st

    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    if method == "spearman":
        return float(st.spearmanr(x, y).statistic)
    if method == "kendall":
        return float(st.kendalltau(x, y).statistic)
    return float(st.pearsonr(x, y).statistic)


def _fisher_interval(r: float, n: int, method: Method, level: float) -> tuple[float, float]:
    return correlation_interval(r, n, method=method, confidence_level=level)


def _check(method: str, confidence_level: float) -> None:
    if method not in _MIN_N:
        raise ParameterError(f"`method` must be 'spearman', 'kendall' or 'pearson'; got {method!r}")
    if not (isinstance(confidence_level, float | int) and 0 < confidence_level < 1):
        raise ParameterError(f"`confidence_level` must be in (0, 1); got {confidence_level!r}")


@validate_params({"method": [Options(str, ("spearman", "kendall", "pearson"))], "confidence_level": [LEVEL]})
def rank_correlation(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *,
                     method: Method = "spearman", confidence_level: float = 0.95) -> Estimate:
    """A correlation over paired values (models), with its Fisher-z interval; pairs with a
    missing value are left out.

    Parameters
    ----------
    x : sequence of float or numpy.ndarray
        One value per model.
    y : sequence of float or numpy.ndarray
        The paired value per model, of the same length.
    method : {"spearman", "kendall", "pearson"}, default "spearman"
        The correlation.
    confidence_level : float, default 0.95
        Coverage of the interval, in (0, 1).

    Returns
    -------
    Estimate
        The correlation, its Fisher-z interval and ``n`` (the pairs used).

    Examples
    --------
    >>> e = rank_correlation([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5], method="kendall")
    >>> round(e.estimate, 3), e.n
    (0.6, 6)
    """
    _check(method, confidence_level)
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1:
        raise ParameterError(f"`x` and `y` must be 1-d and of one length; got {x.shape} and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < _MIN_N[method]:
        raise InsufficientDataError(f"a {method} interval needs at least {_MIN_N[method]} pairs with both values; "
                                    f"got {n}")
    r = _coef(x[ok], y[ok], method)
    if not math.isfinite(r):
        warn(f"{method} correlation is undefined: one side has the same value for all {n} models", EstimationWarning)
    lo, hi = _fisher_interval(r, n, method, confidence_level)
    return Estimate(f"{method} correlation", r, ConfidenceInterval(lo, hi, confidence_level, f"Fisher z ({method})"),
                    None, n, RunInfo("rank_correlation", {"method": method}))


@dataclass(frozen=True)
class ReferenceCorrelation(Result):
    """Each benchmark column's correlation with the reference, over the models both have."""

    table: pl.DataFrame
    reference: str
    run_info: RunInfo
    title: str = "correlation with the reference"


def _oriented(board: ScoreMatrix) -> np.ndarray:
    """Scores with every task oriented so that higher is better."""
    hib = np.broadcast_to(np.asarray(board.higher_is_better, bool), (len(board.tasks),))
    return np.where(hib[None, :], board.scores, -board.scores)


@validate_params({
    "method": [Options(str, ("spearman", "kendall", "pearson"))],
    "confidence_level": [LEVEL],
    "min_models": [Interval(Integral, 1, None, closed="left")],
})
def correlate_with_reference(board: ScoreMatrix, reference: str, *, columns: Sequence[str] | None = None,
                             method: Method = "spearman", confidence_level: float = 0.95,
                             min_models: int = 5) -> ReferenceCorrelation:
    """Correlation of each leaderboard column with a reference column (a human-preference
    leaderboard such as Chatbot Arena), over the models that have both.

    Columns with fewer than ``min_models`` shared models are listed with ``nan`` and the reason.

    Parameters
    ----------
    board : ScoreMatrix
        The leaderboard (each task oriented by its ``higher_is_better``).
    reference : str
        The reference column.
    columns : sequence of str or None, default None
        The columns to correlate; None: every column but the reference.
    method : {"spearman", "kendall", "pearson"}, default "spearman"
        The correlation.
    confidence_level : float, default 0.95
        Coverage of the intervals, in (0, 1).
    min_models : int, default 5
        The fewest shared models for an estimate.

    Returns
    -------
    ReferenceCorrelation
        ``table``: column, n_models, estimate, ci_low, ci_high, note (sorted by estimate); and ``reference``.

    Examples
    --------
    >>> import numpy as np
    >>> from metaeval.tables import ScoreMatrix
    >>> rng = np.random.default_rng(0)
    >>> s = rng.normal(size=8)
    >>> board = ScoreMatrix(tuple("abcdefgh"), ("arena", "math", "code"),
    ...                     np.column_stack([s, s + rng.normal(0, 0.5, 8), rng.normal(size=8)]))
    >>> res = correlate_with_reference(board, "arena")
    >>> [(c, round(e, 2)) for c, e in res.table.select("column", "estimate").rows()]
    [('math', 0.98), ('code', -0.1)]
    """
    _check(method, confidence_level)
    if reference not in board.tasks:
        raise MetaevalError(f"no reference column {reference!r}; columns: {', '.join(board.tasks)}")
    cols = [t for t in (columns or board.tasks) if t != reference]
    unknown = [c for c in cols if c not in board.tasks]
    if unknown:
        raise MetaevalError(f"no column {unknown[0]!r}; columns: {', '.join(board.tasks)}")
    s = _oriented(board)
    ref = s[:, board.tasks.index(reference)]
    rows = []
    for c in cols:
        v = s[:, board.tasks.index(c)]
        ok = np.isfinite(v) & np.isfinite(ref)
        n = int(ok.sum())
        if n < max(min_models, _MIN_N[method]):
            rows.append({"column": c, "n_models": n, "estimate": float("nan"), "ci_low": float("nan"),
                         "ci_high": float("nan"), "note": f"only {n} models have both scores"})
            continue
        r = _coef(ref[ok], v[ok], method)
        lo, hi = _fisher_interval(r, n, method, confidence_level)
        rows.append({"column": c, "n_models": n, "estimate": r, "ci_low": lo, "ci_high": hi,
                     "note": "" if math.isfinite(r) else "one side is constant"})
    table = pl.DataFrame(rows).sort("estimate", descending=True, nulls_last=True)
    return ReferenceCorrelation(table, reference, RunInfo("correlate_with_reference",
                                                          {"method": method, "reference": reference,
                                                           "confidence_level": confidence_level}))


@validate_params({
    "method": [Options(str, ("spearman", "kendall", "pearson"))],
    "confidence_level": [LEVEL],
    "min_models": [Interval(Integral, 1, None, closed="left")],
})
def task_correlations(board: ScoreMatrix, *, method: Method = "spearman", confidence_level: float = 0.95,
                      min_models: int = 5) -> pl.DataFrame:
    """Every pair of tasks: correlation over the models scored on both, with its interval (long table).

    Parameters
    ----------
    board : ScoreMatrix
        The leaderboard (each task oriented by its ``higher_is_better``).
    method : {"spearman", "kendall", "pearson"}, default "spearman"
        The correlation.
    confidence_level : float, default 0.95
        Coverage of the intervals, in (0, 1).
    min_models : int, default 5
        The fewest shared models for an estimate; pairs with fewer have ``nan``.

    Returns
    -------
    polars.DataFrame
        One row per pair of tasks: task_1, task_2, n_models, estimate, ci_low, ci_high.

    Examples
    --------
    >>> import numpy as np
    >>> from metaeval.tables import ScoreMatrix
    >>> rng = np.random.default_rng(0)
    >>> s = rng.normal(size=8)
    >>> board = ScoreMatrix(tuple("abcdefgh"), ("arena", "math", "code"),
    ...                     np.column_stack([s, s + rng.normal(0, 0.5, 8), rng.normal(size=8)]))
    >>> t = task_correlations(board)
    >>> [(a, b, round(e, 2)) for a, b, e in t.select("task_1", "task_2", "estimate").rows()]
    [('arena', 'math', 0.98), ('arena', 'code', -0.1), ('math', 'code', 0.02)]
    """
    _check(method, confidence_level)
    s = _oriented(board)
    rows = []
    for i, a in enumerate(board.tasks):
        for j in range(i + 1, len(board.tasks)):
            ok = np.isfinite(s[:, i]) & np.isfinite(s[:, j])
            n = int(ok.sum())
            r = _coef(s[ok, i], s[ok, j], method) if n >= max(min_models, _MIN_N[method]) else float("nan")
            lo, hi = _fisher_interval(r, n, method, confidence_level)
            rows.append({"task_1": a, "task_2": board.tasks[j], "n_models": n, "estimate": r, "ci_low": lo,
                         "ci_high": hi})
    return pl.DataFrame(rows)


@dataclass(frozen=True)
class Redundancy(Result):
    """Per task: its strongest correlation with another task; and the smallest task subset whose
    aggregate ranking agrees with the full benchmark's to Kendall τ ≥ ``min_tau``."""

    table: pl.DataFrame
    subset: tuple[str, ...]
    subset_tau: float
    curve: pl.DataFrame
    run_info: RunInfo
    title: str = "task redundancy"


def _aggregate_ranking(s: np.ndarray, cols: Sequence[int]) -> np.ndarray:
    from scipy.stats import rankdata

    ranks = np.column_stack([rankdata(-s[:, c]) for c in cols])
    return ranks.mean(axis=1)


@validate_params({
    "min_tau": [Interval(Real, 0, 1, closed="right")],
    "method": [Options(str, ("spearman", "kendall", "pearson"))],
    "confidence_level": [LEVEL],
})
def redundancy(board: ScoreMatrix, *, min_tau: float = 0.9, method: Method = "spearman",
               confidence_level: float = 0.95) -> Redundancy:
    """How redundant the tasks are (the models must have every score: use ``board.dropna()``).

    The aggregate ranking of a task set is the mean of the models' per-task ranks; tasks are
    added greedily (the one that raises Kendall's τ with the full benchmark's aggregate most)
    until τ ≥ ``min_tau``. ``curve`` holds τ after each addition.

    Parameters
    ----------
    board : ScoreMatrix
        The leaderboard, every model scored on every task (each task oriented by its ``higher_is_better``).
    min_tau : float, default 0.9
        The Kendall τ with the full benchmark's aggregate ranking to reach, in (0, 1].
    method : {"spearman", "kendall", "pearson"}, default "spearman"
        The correlation between tasks.
    confidence_level : float, default 0.95
        Coverage of the intervals, in (0, 1).

    Returns
    -------
    Redundancy
        ``table`` (per task: its most similar task and their correlation), ``subset``, ``subset_tau``
        and ``curve``.

    Examples
    --------
    >>> import numpy as np
    >>> from metaeval.tables import ScoreMatrix
    >>> rng = np.random.default_rng(0)
    >>> skill = rng.normal(size=20)
    >>> board = ScoreMatrix(tuple(f"m{i}" for i in range(20)), ("t1", "t2", "t3"),
    ...                     np.column_stack([skill + rng.normal(0, .1, 20) for _ in range(3)]))
    >>> len(redundancy(board, min_tau=0.8).subset)
    1
    """
    from scipy.stats import kendalltau

    _check(method, confidence_level)
    if not 0 < min_tau <= 1:
        raise ParameterError(f"`min_tau` must be in (0, 1]; got {min_tau!r}")
    s = _oriented(board)
    if not np.isfinite(s).all():
        raise MetaevalError("redundancy needs every model scored on every task; use board.dropna() first")
    if len(board.tasks) < 2 or len(board.models) < _MIN_N[method]:
        raise InsufficientDataError("redundancy needs at least 2 tasks and "
                                    f"{_MIN_N[method]} models; got {len(board.tasks)} and {len(board.models)}")
    pairs = task_correlations(board, method=method, confidence_level=confidence_level, min_models=1)
    rows = []
    for t in board.tasks:
        sub = pairs.filter((pl.col("task_1") == t) | (pl.col("task_2") == t)).sort("estimate", descending=True,
                                                                                   nulls_last=True)
        best = sub.row(0, named=True)
        other = best["task_2"] if best["task_1"] == t else best["task_1"]
        rows.append({"task": t, "most_similar": other, "estimate": best["estimate"], "ci_low": best["ci_low"],
                     "ci_high": best["ci_high"]})
    full = _aggregate_ranking(s, range(len(board.tasks)))
    chosen: list[int] = []
    curve = []
    tau = -1.0
    while tau < min_tau and len(chosen) < len(board.tasks):
        best_j, best_tau = -1, -2.0
        for j in range(len(board.tasks)):
            if j in chosen:
                continue
            t_j = float(kendalltau(_aggregate_ranking(s, [*chosen, j]), full).statistic)
            if t_j > best_tau:
                best_j, best_tau = j, t_j
        chosen.append(best_j)
        tau = best_tau
        curve.append({"n_tasks": len(chosen), "added": board.tasks[best_j], "kendall_tau": tau})
    return Redundancy(pl.DataFrame(rows).sort("estimate", descending=True), tuple(board.tasks[j] for j in chosen),
                      tau, pl.DataFrame(curve), RunInfo("redundancy", {"min_tau": min_tau, "method": method}))
