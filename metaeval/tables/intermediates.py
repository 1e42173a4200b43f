"""The labelled intermediates the numeric kernels take, built from a :class:`~metaeval.tables.Judgments`
by its methods: :class:`PairwiseCounts` (win and tie counts), :class:`ScoreMatrix` (models x tasks),
:class:`Profile` (rankings by voters) and :class:`Battles` (a pairwise table as integer codes)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import polars as pl

from metaeval._numeric import MAX_ABS_SCORE, MAX_COUNT
from metaeval._validate import Interval, Options, validate_params
from metaeval.errors import InsufficientDataError, MetaevalError, ParameterError
from metaeval.tables.conversions import outcome_score


def _labels(values: Iterable[Any], what: str) -> tuple[str, ...]:
    labels = tuple(str(v) for v in values)
    if len(set(labels)) != len(labels):
        dup = sorted({x for x in labels if labels.count(x) > 1})
        raise MetaevalError(f"`{what}` must be distinct; got {dup[0]!r} more than once")
    return labels


@dataclass(frozen=True)
class PairwiseCounts:
    """Labelled m × m win and tie counts.

    ``wins[i, j]`` is the (possibly fractional) number of times model ``i`` beat model
    ``j``; ``ties[i, j] == ties[j, i]`` the ties between them.

    Examples
    --------
    >>> import numpy as np
    >>> pc = PairwiseCounts(("x", "y"), np.array([[0, 3], [1, 0]]), np.zeros((2, 2)))
    >>> pc.n_comparisons.tolist()
    [[0.0, 4.0], [4.0, 0.0]]
    >>> pc.is_connected()
    True
    """

    models: tuple[str, ...]
    wins: np.ndarray
    ties: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def __post_init__(self) -> None:
        models = _labels(self.models, "models")
        m = len(models)
        wins = np.asarray(self.wins, dtype=float)
        ties = np.asarray(self.ties, dtype=float) if np.size(self.ties) else np.zeros((m, m))
        for name, arr in (("wins", wins), ("ties", ties)):
            if arr.shape != (m, m):
                raise MetaevalError(f"`{name}` must be {m} x {m} to match `models`; got shape {arr.shape}")
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise MetaevalError(f"`{name}` must hold finite, non-negative counts")
            if np.any(arr > MAX_COUNT):
                r, c = np.argwhere(arr > MAX_COUNT)[0]
                raise MetaevalError(f"`{name}` must hold counts of at most 1e15 (more comparisons than that is not a "
                                    f"count); got {arr[r, c]:g} for {models[r]!r} against {models[c]!r}")
            if np.any(np.diag(arr) != 0):
                raise MetaevalError(f"`{name}` must have a zero diagonal: a model is not compared with itself")
        if not np.allclose(ties, ties.T):
            raise ParameterError("`ties` must be symmetric")
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "wins", wins)
        object.__setattr__(self, "ties", ties)
        wins.setflags(write=False)
        ties.setflags(write=False)

    @property
    def n_models(self) -> int:
        return len(self.models)

    @property
    def n_comparisons(self) -> np.ndarray:
        """Symmetric matrix of the number of comparisons of each pair."""
        return self.wins + self.wins.T + self.ties

    @property
    def total(self) -> float:
        """Total number of comparisons."""
        return float(np.triu(self.n_comparisons, 1).sum())

    @validate_params({"tie_value": [Interval(Real, 0, 1, closed="both")]})
    def win_rates(self, *, tie_value: float = 0.5) -> np.ndarray:
        """``(wins + tie_value * ties) / n`` per pair, ``nan`` where a pair never met."""
        n = self.n_comparisons
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (self.wins + tie_value * self.ties) / n
        r[n == 0] = np.nan
        return r

    @validate_params({"strong": ["boolean"]})
    def components(self, *, strong: bool = True) -> list[tuple[str, ...]]:
        """Connected components of the comparison graph (strongly connected by default:
        an edge i → j exists when i beat or tied j at least once)."""
        from scipy.sparse.csgraph import connected_components

        adj = (self.wins + self.ties) > 0
        n, labels = connected_components(adj, directed=True, connection="strong" if strong else "weak")
        return [tuple(self.models[i] for i in np.flatnonzero(labels == k)) for k in range(n)]

    @validate_params({"strong": ["boolean"]})
    def is_connected(self, *, strong: bool = True) -> bool:
        """Whether maximum-likelihood ratings are identified (strong) or the graph is in one piece (weak)."""
        return len(self.components(strong=strong)) == 1

    def to_polars(self) -> pl.DataFrame:
        """One row per compared pair (i < j): wins of each side, ties, total."""
        i, j = np.triu_indices(self.n_models, 1)
        n = self.n_comparisons[i, j]
        keep = n > 0
        i, j = i[keep], j[keep]
        return pl.DataFrame(
            {
                "model_a": [self.models[k] for k in i],
                "model_b": [self.models[k] for k in j],
                "wins_a": self.wins[i, j],
                "wins_b": self.wins[j, i],
                "ties": self.ties[i, j],
                "n": self.n_comparisons[i, j],
            }
        )

    def subset(self, models: Sequence[str]) -> PairwiseCounts:
        """Counts restricted to ``models`` (in the given order)."""
        idx = [self._index(m) for m in models]
        ix = np.ix_(idx, idx)
        return PairwiseCounts(tuple(models), self.wins[ix], self.ties[ix])

    def _index(self, model: str) -> int:
        try:
            return self.models.index(model)
        except ValueError:
            raise MetaevalError(f"unknown model {model!r}; known: {', '.join(self.models)}") from None


@dataclass(frozen=True)
class ScoreMatrix:
    """Models × tasks scores (a leaderboard), ``nan`` where a score is missing.

    Parameters
    ----------
    models, tasks
        Row and column labels.
    scores
        ``len(models) x len(tasks)`` array.
    higher_is_better
        One flag per task (or one for all).
    weights
        One weight per task (default 1); e.g. ½ for each half of a split ``a/b`` cell.
    notes
        What the reader should know about where the scores came from (e.g. what
        :func:`~metaeval.io.read_leaderboard` left out or split); kept by :meth:`dropna` and
        :meth:`head`.

    Examples
    --------
    >>> import numpy as np
    >>> sm = ScoreMatrix(("x", "y"), ("t1", "t2"), np.array([[1.0, 0.2], [2.0, 0.1]]), [True, False])
    >>> sm.to_profile().ranks.tolist()
    [[2.0, 1.0], [2.0, 1.0]]
    """

    models: tuple[str, ...]
    tasks: tuple[str, ...]
    scores: np.ndarray
    higher_is_better: np.ndarray | Sequence[bool] | bool = True
    weights: np.ndarray | Sequence[float] | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", tuple(self.notes))
        models = _labels(self.models, "models")
        tasks = _labels(self.tasks, "tasks")
        scores = np.array(self.scores, dtype=float)
        if scores.shape != (len(models), len(tasks)):
            raise ParameterError(
                f"`scores` must be {len(models)} x {len(tasks)} (models x tasks); got shape {scores.shape}"
            )
        if np.any(np.isinf(scores)):
            r, c = np.argwhere(np.isinf(scores))[0]
            raise ParameterError(f"`scores` must be finite or nan; got inf for model {models[r]!r}, task {tasks[c]!r}")
        with np.errstate(invalid="ignore"):
            huge = np.abs(scores) > MAX_ABS_SCORE
        if np.any(huge):  # see metaeval._numeric
            r, c = np.argwhere(huge)[0]
            raise ParameterError("`scores` must lie within ±1e100 (larger values are not scores: their squares "
                                f"overflow float64); got {scores[r, c]:g} for model {models[r]!r}, task {tasks[c]!r}")
        hib = np.broadcast_to(np.asarray(self.higher_is_better, dtype=bool), (len(tasks),)).copy()
        w = np.ones(len(tasks)) if self.weights is None else np.asarray(self.weights, dtype=float)
        if w.shape != (len(tasks),) or np.any(~np.isfinite(w)) or np.any(w < 0):
            raise ParameterError(f"`weights` must be {len(tasks)} finite non-negative numbers; got {w!r}")
        for arr in (scores, hib, w):
            arr.setflags(write=False)
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "tasks", tasks)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "higher_is_better", hib)
        object.__setattr__(self, "weights", w)

    @property
    def shape(self) -> tuple[int, int]:
        return self.scores.shape

    @property
    def n_missing(self) -> int:
        return int(np.isnan(self.scores).sum())

    def oriented(self) -> np.ndarray:
        """Scores with lower-is-better tasks negated, so larger is always better."""
        return np.where(np.asarray(self.higher_is_better)[None, :], self.scores, -self.scores)

    @validate_params({"how": [Options(str, ("models", "tasks"))]})
    def dropna(self, *, how: Literal["models", "tasks"] = "models") -> ScoreMatrix:
        """Drop models (rows) or tasks (columns) with any missing score."""
        miss = np.isnan(self.scores)
        if how == "models":
            keep = ~miss.any(axis=1)
            if not keep.any():
                raise InsufficientDataError("every model has a missing score; nothing is left")
            return ScoreMatrix(tuple(np.array(self.models)[keep]), self.tasks, self.scores[keep],
                               self.higher_is_better, self.weights, self.notes)
        keep = ~miss.any(axis=0)
        if not keep.any():
            raise InsufficientDataError("every task has a missing score; nothing is left")
        return ScoreMatrix(self.models, tuple(np.array(self.tasks)[keep]), self.scores[:, keep],
                           np.asarray(self.higher_is_better)[keep], np.asarray(self.weights)[keep], self.notes)

    @validate_params({"n": [Interval(Integral, 0, None, closed="left")]})
    def head(self, n: int) -> ScoreMatrix:
        """The first ``n`` models, in the stored order."""
        return ScoreMatrix(self.models[:n], self.tasks, self.scores[:n], self.higher_is_better, self.weights,
                           self.notes)

    def to_polars(self) -> pl.DataFrame:
        """Wide table: a ``model`` column and one column per task."""
        data: dict[str, Any] = {"model": list(self.models)}
        for k, t in enumerate(self.tasks):
            data[t] = self.scores[:, k]
        return pl.DataFrame(data)

    def to_profile(self) -> Profile:
        """Each task becomes a voter ranking the models (1 = best, ties share the best rank,
        missing scores unranked), weighted by the task's weight."""
        from scipy.stats import rankdata

        o = self.oriented()
        missing = np.isnan(o)
        if not missing.any():  # one vectorised call
            ranks = rankdata(-o, method="min", axis=0).T.astype(float)
        else:
            ranks = np.full((len(self.tasks), len(self.models)), np.nan)
            for k in np.flatnonzero(~missing.all(axis=0)):
                ok = ~missing[:, k]
                ranks[k, ok] = rankdata(-o[ok, k], method="min")
        return Profile(self.models, ranks, voters=self.tasks, weights=np.asarray(self.weights))


@dataclass(frozen=True)
class Profile:
    """Rankings of candidates by voters, for social choice.

    ``ranks[v, c]`` is the rank voter ``v`` gives candidate ``c`` (1 = best; equal ranks
    are ties; ``nan`` = not ranked).

    Examples
    --------
    >>> p = Profile.from_orders([["x", "y", "z"], ["y", "x", "z"]])
    >>> p.ranks.tolist()
    [[1.0, 2.0, 3.0], [2.0, 1.0, 3.0]]
    """

    candidates: tuple[str, ...]
    ranks: np.ndarray
    voters: tuple[str, ...] | None = None
    weights: np.ndarray | Sequence[float] | None = None

    def __post_init__(self) -> None:
        cands = _labels(self.candidates, "candidates")
        ranks = np.array(self.ranks, dtype=float)
        if ranks.ndim != 2 or ranks.shape[1] != len(cands):
            raise ParameterError(f"`ranks` must be voters x {len(cands)} candidates; got shape {ranks.shape}")
        ok = ~np.isnan(ranks)
        if np.any(ranks[ok] < 1):
            raise ParameterError("`ranks` must be 1 (best) or larger")
        voters = _labels(self.voters, "voters") if self.voters is not None else tuple(
            f"voter {i}" for i in range(ranks.shape[0]))
        if len(voters) != ranks.shape[0]:
            raise ParameterError(f"`voters` must have {ranks.shape[0]} labels; got {len(voters)}")
        w = np.ones(ranks.shape[0]) if self.weights is None else np.asarray(self.weights, dtype=float)
        if w.shape != (ranks.shape[0],) or np.any(w < 0) or not np.all(np.isfinite(w)):
            raise ParameterError(f"`weights` must be {ranks.shape[0]} finite non-negative numbers")
        ranks.setflags(write=False)
        w.setflags(write=False)
        object.__setattr__(self, "candidates", cands)
        object.__setattr__(self, "ranks", ranks)
        object.__setattr__(self, "voters", voters)
        object.__setattr__(self, "weights", w)

    @classmethod
    def from_orders(cls, orders: Sequence[Sequence[str]], *, weights: Sequence[float] | None = None) -> Profile:
        """Build from best-first orders (candidates missing from an order are unranked)."""
        cands = sorted({c for o in orders for c in o})
        idx = {c: i for i, c in enumerate(cands)}
        ranks = np.full((len(orders), len(cands)), np.nan)
        for v, order in enumerate(orders):
            if len(set(order)) != len(order):
                raise MetaevalError(f"order {v} names a candidate twice: {list(order)}")
            for r, c in enumerate(order, start=1):
                ranks[v, idx[c]] = r
        return cls(tuple(cands), ranks, weights=weights)

    @property
    def n_voters(self) -> int:
        return self.ranks.shape[0]

    def to_polars(self) -> pl.DataFrame:
        """Long table: voter, weight, candidate, rank."""
        v, c = np.meshgrid(np.arange(self.n_voters), np.arange(len(self.candidates)), indexing="ij")
        return pl.DataFrame(
            {
                "voter": [self.voters[i] for i in v.ravel()],  # type: ignore[index]
                "weight": np.asarray(self.weights)[v.ravel()],
                "candidate": [self.candidates[i] for i in c.ravel()],
                "rank": self.ranks.ravel(),
            }
        )


@dataclass(frozen=True)
class Battles:
    """A pairwise table as integer codes (:meth:`Judgments.battles`): the models (sorted), each
    battle's model indices ``ia`` / ``ib``, its outcome ``oc`` (0: a won, 1: b won, 2: tie) and,
    when asked for, its cluster code (``n_clusters`` distinct) and each code's cluster id
    (``cluster_labels``: the text the Poisson bootstrap's weights are keyed on)."""

    models: tuple[str, ...]
    ia: np.ndarray
    ib: np.ndarray
    oc: np.ndarray
    cluster: np.ndarray | None
    n_clusters: int
    cluster_labels: np.ndarray | None = None

    @property
    def score(self) -> np.ndarray:
        """Side a's point per battle: 1 for a win, 0 for a loss, ½ for a tie."""
        return outcome_score(self.oc)
