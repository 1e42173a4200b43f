"""The cost–agreement frontier of a table of judges (one row per judge: its price and its
agreement with humans), such as AlpacaEval's evaluator leaderboard."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl

from metaeval._validate import LEVEL, Interval, validate_params
from metaeval.errors import DataDroppedWarning, MetaevalError, ParameterError, warn
from metaeval.juries.panels import pareto_front
from metaeval.report.charts import cost_frontier
from metaeval.results import Result, RunInfo
from metaeval.stats.intervals import proportion_interval

__all__ = ["Frontier", "frontier"]


@dataclass(frozen=True)
class Frontier(Result):
    """Judges with their cost and agreement (with intervals); ``on_frontier`` marks the judges no
    other judge beats on both."""

    table: pl.DataFrame
    score_name: str
    cost_name: str
    notes: tuple[str, ...]
    run_info: RunInfo
    title: str = "cost–agreement frontier"

    @property
    def judges(self) -> tuple[str, ...]:
        """The judges on the frontier, cheapest first."""
        return tuple(self.table.filter(pl.col("on_frontier")).sort("cost")["judge"].to_list())

    def summary(self) -> str:
        text = super().summary()
        return text + ("\n" + "\n".join(f"note: {n}" for n in self.notes) if self.notes else "")

    def chart(self) -> Any:
        """Agreement against cost (log scale when it spans more than a factor 20), intervals, the
        frontier line, and the frontier judges labelled."""
        method = self.run_info.params.get("interval", "none")
        subtitle = (f"intervals: {method}; the frontier: judges that no cheaper judge beats"
                    if method != "none" else "no intervals; the frontier: judges that no cheaper judge beats")
        return cost_frontier(self.table, label="judge", cost="cost", score="score", low="ci_low", high="ci_high",
                             on_frontier="on_frontier", x_title=self.cost_name, y_title=self.score_name,
                             title=self.title[:1].upper() + self.title[1:], subtitle=subtitle)

@validate_params({
    "n": [str, Interval(Integral, 1, None, closed="left"), None],
    "scale": [Interval(Real, 0, None, closed="neither")],
    "higher_is_better": ["boolean"],
    "confidence_level": [LEVEL],
})
def frontier(
    table: pl.DataFrame,
    *,
    judge: str,
    cost: str,
    score: str,
    n: str | int | None = None,
    ci_low: str | None = None,
    ci_high: str | None = None,
    scale: float = 1.0,
    higher_is_better: bool = True,
    confidence_level: float = 0.95,
) -> Frontier:
    """The cost–agreement frontier of judges summarised one per row.

    Intervals come from ``ci_low`` / ``ci_high`` columns when given, else from ``n`` (a column
    or a number: how many verdicts the agreement was measured on) as a Wilson interval of the
    proportion ``score / scale`` (``scale=100`` for percentages) — this treats the verdicts as
    independent, so it is narrower than a cluster interval would be. Rows without a cost or a
    score are kept in the table and left off the frontier (counted in a warning).

    Parameters
    ----------
    table : polars.DataFrame
        One row per judge (e.g. AlpacaEval's leaderboard of evaluators).
    judge : str
        The column naming the judge.
    cost : str
        The column of cost (lower is better).
    score : str
        The column of agreement with the reference.
    n : str or int, optional
        A column, or one number for all rows, of how many verdicts each score rests on (for the
        Wilson interval). Without it and without ``ci_low`` / ``ci_high``, there are no intervals.
    ci_low, ci_high : str, optional
        Columns holding the score's interval.
    scale : float, default 1.0
        What a score of 1 (a proportion of one) is on the column's scale: 100 for percentages.
    higher_is_better : bool, default True
        Whether a larger score is better (False for an error rate).
    confidence_level : float, default 0.95
        Coverage of the Wilson intervals.

    Returns
    -------
    Frontier
        ``table``: the judges with ``cost``, the score, its interval and ``on_frontier``; ``judges``
        gives the frontier cheapest first; ``notes`` and ``chart()``.

    Examples
    --------
    >>> import polars as pl
    >>> from metaeval import juries
    >>> t = pl.DataFrame({"judge": ["big", "small", "mid", "bad"], "price": [10.0, 0.5, 2.0, 3.0],
    ...                   "agree": [70.0, 62.0, 68.0, 60.0]})
    >>> juries.frontier(t, judge="judge", cost="price", score="agree", n=600, scale=100).judges
    ('small', 'mid', 'big')
    """
    if not isinstance(table, pl.DataFrame):
        raise ParameterError(f"`table` must be a polars DataFrame; got {type(table).__name__}")
    for col in [judge, cost, score, *(c for c in (ci_low, ci_high) if c), *([n] if isinstance(n, str) else [])]:
        if col not in table.columns:
            raise MetaevalError(f"the table has no column `{col}`; it has {', '.join(table.columns)}")
    if scale <= 0:
        raise ParameterError(f"`scale` must be positive; got {scale}")
    f = table.select(pl.col(judge).cast(pl.String).alias("judge"),
                     pl.col(cost).cast(pl.Float64, strict=False).alias("cost"),
                     pl.col(score).cast(pl.Float64, strict=False).alias("score"))
    notes: list[str] = []
    bad_cost = f.filter(pl.col("cost").is_not_null() & (pl.col("cost") < 0))
    if bad_cost.height:
        raise MetaevalError(f"column `{cost}` must be ≥ 0; got {bad_cost['cost'][0]} for {bad_cost['judge'][0]!r}")
    if ci_low and ci_high:
        f = f.with_columns(table[ci_low].cast(pl.Float64, strict=False).alias("ci_low"),
                           table[ci_high].cast(pl.Float64, strict=False).alias("ci_high"))
        method = "given"
    elif n is not None:
        counts = (table[n].cast(pl.Float64, strict=False).to_numpy() if isinstance(n, str)
                  else np.full(f.height, float(n)))
        lo, hi = np.full(f.height, np.nan), np.full(f.height, np.nan)
        for i, (s, m) in enumerate(zip(f["score"].to_numpy(), counts, strict=True)):
            if np.isfinite(s) and np.isfinite(m) and m > 0 and 0 <= s / scale <= 1:
                a, b = proportion_interval(s / scale * m, int(m), confidence_level=confidence_level)
                lo[i], hi[i] = a * scale, b * scale
        f = f.with_columns(pl.Series("ci_low", lo), pl.Series("ci_high", hi), pl.Series("n", counts))
        method = "Wilson, independent verdicts"
        notes.append(f"intervals: Wilson on `{n}` verdicts per judge, as if independent (narrower than a cluster "
                     "interval)")
    else:
        f = f.with_columns(pl.lit(np.nan).alias("ci_low"), pl.lit(np.nan).alias("ci_high"))
        method = "none"
        notes.append("no interval: pass `n` (verdicts per judge) or `ci_low` / `ci_high`")
    missing = f.filter(pl.col("cost").is_null() | pl.col("score").is_null() | pl.col("cost").is_nan()
                       | pl.col("score").is_nan())
    if missing.height:
        names = ", ".join(missing["judge"].to_list()[:3]) + (" …" if missing.height > 3 else "")
        warn(f"{missing.height} judges lack `{cost}` or `{score}` and are left off the frontier: {names}",
             DataDroppedWarning)
        notes.append(f"left off the frontier for a missing `{cost}` or `{score}`: {', '.join(missing['judge'])}")
    sign = 1.0 if higher_is_better else -1.0
    mask = pareto_front(f["cost"].fill_null(np.nan).to_numpy(), sign * f["score"].fill_null(np.nan).to_numpy())
    f = f.with_columns(pl.Series("on_frontier", mask)).sort(["on_frontier", "cost"], descending=[True, False],
                                                             nulls_last=True)
    run = RunInfo("juries.frontier", {"judge": judge, "cost": cost, "score": score, "interval": method,
                                      "scale": scale}, None, None, None, table.height)
    return Frontier(f, score, cost, tuple(notes), run)
