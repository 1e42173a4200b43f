"""Several models over several tasks (Demšar 2006): Friedman's test, the Iman–Davenport F,
Nemenyi and Bonferroni–Dunn post-hoc tests and the critical-difference diagram.

Models are ranked within each task (1 = best, ties share the average rank); the tests work
on the average ranks. Reference: J. Demšar, "Statistical Comparisons of Classifiers over
Multiple Data Sets", JMLR 7 (2006) 1–30.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats as st

from metaeval._validate import SIGNIFICANCE, Interval, Options, validate_params
from metaeval.errors import InsufficientDataError, MetaevalError, ParameterError
from metaeval.report.charts import cd_diagram
from metaeval.results import Result, RunInfo
from metaeval.tables import ScoreMatrix

__all__ = ["CriticalDifference", "Friedman", "critical_difference", "critical_difference_value", "friedman"]


def _ranks(scores: ScoreMatrix) -> tuple[np.ndarray, tuple[str, ...]]:
    sm = scores.dropna(how="tasks")
    o = sm.oriented()  # models x tasks, larger is better
    if o.shape[0] < 2 or o.shape[1] < 2:
        raise InsufficientDataError("Friedman's test needs at least two models and two complete tasks")
    ranks = np.column_stack([st.rankdata(-o[:, t]) for t in range(o.shape[1])])  # models x tasks
    return ranks, sm.models


@dataclass(frozen=True)
class Friedman(Result):
    """Friedman's χ² and the Iman–Davenport F over the average ranks."""

    models: tuple[str, ...]
    average_ranks: np.ndarray
    chi2: float
    pvalue: float
    f_statistic: float
    f_pvalue: float
    n_tasks: int
    tie_correction: bool
    run_info: RunInfo
    title: str = "Friedman test"

    def to_polars(self) -> pl.DataFrame:
        order = np.argsort(self.average_ranks, kind="stable")
        return pl.DataFrame({"model": [self.models[i] for i in order], "average_rank": self.average_ranks[order]})

    def summary(self) -> str:
        return (super().summary() + f"\nchi2_F = {self.chi2:.4g} (df {len(self.models) - 1}), p = {self.pvalue:.4g}"
                f"\nIman–Davenport F_F = {self.f_statistic:.4g} (df {len(self.models) - 1}, "
                f"{(len(self.models) - 1) * (self.n_tasks - 1)}), p = {self.f_pvalue:.4g}"
                f"\n{self.n_tasks} tasks; tie correction {'on' if self.tie_correction else 'off'}")


@validate_params({"tie_correction": ["boolean"]})
def friedman(scores: ScoreMatrix, *, tie_correction: bool = True) -> Friedman:
    """Friedman's test of equal average ranks (tasks are the blocks).

    ``tie_correction`` divides χ² by 1 − Σ(t³ − t) / (N k (k² − 1)) (as scipy does); Demšar's
    worked example uses the uncorrected statistic, so turn it off to reproduce it.

    Parameters
    ----------
    scores : ScoreMatrix
        Models × tasks scores (higher is better); each task ranks the models.
    tie_correction : bool, default True
        Correct χ² for tied ranks.

    Returns
    -------
    Friedman
        ``average_ranks`` (1 = best) of ``models``, ``chi2`` and ``pvalue``, the Iman–Davenport
        ``f_statistic`` and ``f_pvalue`` (less conservative; Demšar recommends it), ``n_tasks``.

    Notes
    -----
    Kendall's W = χ² / (N (k − 1)) turns the statistic into an effect size between 0 (the tasks
    rank the models at random) and 1 (every task ranks them alike); see
    :func:`metaeval.agreement.kendalls_w` for how to read it.

    Examples
    --------
    >>> import numpy as np
    >>> from metaeval import ScoreMatrix
    >>> from metaeval.stats import friedman
    >>> sm = ScoreMatrix(("a", "b", "c"), ("t1", "t2", "t3", "t4"),
    ...                  np.array([[3, 3, 3, 2], [2, 2, 1, 3], [1, 1, 2, 1.0]]))
    >>> round(friedman(sm).chi2, 3)
    4.5
    """
    ranks, models = _ranks(scores)
    k, N = ranks.shape
    R = ranks.mean(1)
    chi2 = 12 * N / (k * (k + 1)) * (np.sum(R**2) - k * (k + 1) ** 2 / 4)
    if tie_correction:
        ties = 0.0
        for t in range(N):
            _, c = np.unique(ranks[:, t], return_counts=True)
            ties += np.sum(c**3 - c)
        denom = 1 - ties / (N * k * (k**2 - 1))
        chi2 = chi2 / denom if denom > 0 else np.nan
    p = float(st.chi2.sf(chi2, k - 1))
    ff = (N - 1) * chi2 / (N * (k - 1) - chi2) if N * (k - 1) - chi2 > 0 else np.inf
    pf = float(st.f.sf(ff, k - 1, (k - 1) * (N - 1)))
    run = RunInfo("friedman", {"tie_correction": tie_correction}, None, None, N, int(k * N))
    return Friedman(models, R, float(chi2), p, float(ff), pf, N, tie_correction, run)


@validate_params({
    "k": [Interval(Integral, 2, None, closed="left")],
    "n_tasks": [Interval(Integral, 1, None, closed="left")],
    "alpha": [SIGNIFICANCE],
    "test": [Options(str, ("nemenyi", "bonferroni_dunn"))],
})
def critical_difference_value(k: int, n_tasks: int, alpha: float = 0.05,
                              test: Literal["nemenyi", "bonferroni_dunn"] = "nemenyi") -> tuple[float, float]:
    """Critical difference of average ranks and its q value (Demšar 2006, Section 3.2.2).

    Nemenyi: q = studentised range (k, ∞) quantile / √2; Bonferroni–Dunn (one control against
    k − 1 others): q = z quantile at 1 − α / (2 (k − 1)). CD = q √(k (k + 1) / (6 N)).

    Parameters
    ----------
    k : int
        Number of models.
    n_tasks : int
        Number of tasks (data sets), N.
    alpha : float, default 0.05
        Family-wise level.
    test : {"nemenyi", "bonferroni_dunn"}, default "nemenyi"
        All pairs, or one control against the others.

    Returns
    -------
    tuple of (float, float)
        ``(cd, q)``.

    Examples
    --------
    >>> [round(v, 3) for v in critical_difference_value(4, 14, 0.05)]
    [1.254, 2.569]
    """
    if k < 2 or n_tasks < 1:
        raise MetaevalError("need k >= 2 models and at least one task")
    if test == "nemenyi":
        q = float(st.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2))
    elif test == "bonferroni_dunn":
        q = float(st.norm.ppf(1 - alpha / (2 * (k - 1))))
    else:
        raise ParameterError(f"`test` must be 'nemenyi' or 'bonferroni_dunn'; got {test!r}")
    return q * float(np.sqrt(k * (k + 1) / (6 * n_tasks))), q


@dataclass(frozen=True)
class CriticalDifference(Result):
    """Average ranks, the critical difference and the groups of models closer than it."""

    cd: float
    q: float
    alpha: float
    test: str
    control: str | None
    friedman: Friedman
    run_info: RunInfo
    title: str = "critical difference"

    @property
    def models(self) -> tuple[str, ...]:
        return self.friedman.models

    @property
    def average_ranks(self) -> np.ndarray:
        return self.friedman.average_ranks

    def to_polars(self) -> pl.DataFrame:
        order = np.argsort(self.average_ranks, kind="stable")
        best = self.average_ranks.min()
        ref = self.average_ranks[self.models.index(self.control)] if self.control else best
        return pl.DataFrame({
            "model": [self.models[i] for i in order],
            "average_rank": self.average_ranks[order],
            "differs_from_" + ("control" if self.control else "best"):
                [bool(abs(self.average_ranks[i] - ref) > self.cd) for i in order],
        })

    @property
    def cliques(self) -> list[tuple[str, ...]]:
        """Maximal runs of models (by average rank) whose ranks differ by at most CD."""
        order = list(np.argsort(self.average_ranks, kind="stable"))
        r = self.average_ranks
        out: list[tuple[str, ...]] = []
        for s in range(len(order)):
            e = s
            while e + 1 < len(order) and r[order[e + 1]] - r[order[s]] <= self.cd:
                e += 1
            if e > s:
                group = tuple(self.models[i] for i in order[s:e + 1])
                if not any(set(group) <= set(g) for g in out):
                    out.append(group)
        return out

    def summary(self) -> str:
        lines = [super().summary(), f"{self.test}, alpha {self.alpha}: q = {self.q:.3f}, CD = {self.cd:.3f}",
                 self.friedman.summary().splitlines()[-3]]
        if self.cliques:
            lines.append("not significantly different: " + "; ".join("{" + ", ".join(c) + "}" for c in self.cliques))
        return "\n".join(lines)

    def chart(self) -> Any:
        """Demšar's critical-difference diagram: one average-rank axis (rank 1 on the left), each
        model hanging left or right of it with a line down from its average rank, thick bars
        joining the groups of models not significantly different (:attr:`cliques`) and the CD bar
        on the same scale; with a Bonferroni–Dunn ``control``, the interval control ± CD instead
        of the bars. See :func:`metaeval.report.charts.cd_diagram`."""
        test = {"nemenyi": "Nemenyi", "bonferroni_dunn": "Bonferroni–Dunn"}.get(self.test, self.test)
        fr = self.friedman
        title = f"Critical-difference diagram: Friedman test + {test} post-hoc, α = {self.alpha:g}"
        if self.control is None:
            what = "bars join models whose average ranks differ by at most CD (not significantly different)"
        else:
            what = f"models outside the red interval ({self.control} ± CD) differ significantly from {self.control}"
        subtitle = [f"average rank over {fr.n_tasks} tasks (1 = best); CD = {self.cd:.3f}; {what}",
                    f"Friedman χ² = {fr.chi2:.4g} (df {len(fr.models) - 1}), p = {fr.pvalue:.3g}"]
        return cd_diagram(self.models, self.average_ranks, self.cd, self.cliques if self.control is None else [],
                          title=title, subtitle=subtitle, control=self.control)


@validate_params({
    "alpha": [SIGNIFICANCE],
    "test": [Options(str, ("nemenyi", "bonferroni_dunn"))],
    "tie_correction": ["boolean"],
})
def critical_difference(
    scores: ScoreMatrix,
    *,
    alpha: float = 0.05,
    test: Literal["nemenyi", "bonferroni_dunn"] = "nemenyi",
    control: str | None = None,
    tie_correction: bool = True,
) -> CriticalDifference:
    """Nemenyi (all pairs) or Bonferroni–Dunn (against ``control``) on average ranks.

    Parameters
    ----------
    scores : ScoreMatrix
        Models × tasks scores (higher is better).
    alpha : float, default 0.05
        Family-wise level.
    test : {"nemenyi", "bonferroni_dunn"}, default "nemenyi"
        All pairs (Nemenyi), or ``control`` against each other model (Bonferroni–Dunn, which needs
        ``control``).
    control : str, optional
        The control model for Bonferroni–Dunn.
    tie_correction : bool, default True
        Passed to :func:`friedman`.

    Returns
    -------
    CriticalDifference
        ``cd`` and ``q``, ``alpha``, ``test``, ``control``, the underlying ``friedman`` result;
        ``to_polars()`` lists the models by average rank, and ``chart()`` draws Demšar's diagram.

    Notes
    -----
    Demšar (2006) recommends the Friedman test first and the post-hoc comparison only when it
    rejects. Two models whose average ranks differ by less than ``cd`` are not distinguishable at
    ``alpha``; the difference in average rank is itself the effect size (in ranks out of k).

    Examples
    --------
    >>> import numpy as np
    >>> from metaeval import ScoreMatrix
    >>> from metaeval.stats import critical_difference
    >>> rng = np.random.default_rng(0)
    >>> sm = ScoreMatrix(("a", "b", "c"), tuple(f"t{i}" for i in range(20)),
    ...                  np.array([3.0, 2.0, 1.0])[:, None] + rng.normal(0, 0.5, (3, 20)))
    >>> critical_difference(sm).to_polars()["model"].to_list()
    ['a', 'b', 'c']
    """
    if test == "bonferroni_dunn" and control is None:
        raise MetaevalError("the Bonferroni–Dunn test compares one `control` model with the others; name it")
    fr = friedman(scores, tie_correction=tie_correction)
    if control is not None and control not in fr.models:
        raise MetaevalError(f"`control` {control!r} is not among the models")
    cd, q = critical_difference_value(len(fr.models), fr.n_tasks, alpha, test)
    run = RunInfo("critical_difference", {"alpha": alpha, "test": test, "control": control}, None, None,
                  fr.n_tasks, fr.run_info.n_judgments)
    return CriticalDifference(cd, q, alpha, test, control, fr, run)
