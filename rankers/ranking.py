"""The result every ranker returns (:class:`Ranking`) and what it is built from: the display
scale, percentile intervals, rank intervals and P(best) from resamples or posterior draws.

Shared by :func:`metaeval.rankers.rank`, the game-theoretic rankers and the Bayesian
Bradley–Terry model; it imports no ranker.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from metaeval._format import table_text
from metaeval._validate import renamed_parameters
from metaeval.errors import EstimationWarning, InsufficientDataError, MetaevalError, ParameterError, warn
from metaeval.report.charts import forest, rank_intervals
from metaeval.results import Result, RunInfo
from metaeval.stats.multiple import resampling_floors
from metaeval.stats.resampling import bootstrap_pvalue, percentile_interval, rank_statistics, tied_ranks

__all__ = ["ELO_SCALE", "Ranking", "adjacent_differences", "scaled_cov", "summarise_draws", "to_scale"]

ELO_SCALE = 400.0 / math.log(10.0)


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
        return tied_ranks(self.rating[None, :])[0].astype(int)

    @property
    def arena_rank(self) -> np.ndarray:
        better = self.ci_low[None, :] > self.ci_high[:, None]  # better[i, j]: j significantly above i
        return 1 + better.sum(1)

    def confidence_interval(self, confidence_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """The ratings' intervals at another level, from what this ranking kept: the percentile
        interval of its resamples or posterior draws, or, for the sandwich's normal interval, the
        same standard errors with another normal quantile. In model order (``models``).

        >>> import metaeval
        >>> sim = metaeval.simulate.pairwise(n_models=3, n_items=100, rng=0)
        >>> r = metaeval.rank(sim.judgments, "bradley_terry", n_resamples=200, rng=1)
        >>> lo, hi = r.confidence_interval(0.95)
        >>> bool(np.allclose(lo, r.ci_low) and np.allclose(hi, r.ci_high))
        True
        >>> lo80, hi80 = r.confidence_interval(0.8)
        >>> bool(np.all(hi80 - lo80 < hi - lo))
        True
        """
        if not 0 < confidence_level < 1:
            raise ParameterError(f"`confidence_level` must lie in (0, 1); got {confidence_level!r}")
        if self.draws is None or not self.n_resamples:
            raise MetaevalError("this ranking has no intervals (ci='none'): rank again with ci='bootstrap'")
        if "sandwich" in self.ci_method:
            from scipy.stats import norm

            se = (self.ci_high - self.ci_low) / (2 * norm.ppf(1 - (1 - self.confidence_level) / 2))
            z = norm.ppf(1 - (1 - confidence_level) / 2)
            return self.rating - z * se, self.rating + z * se
        return percentile_interval(self.draws, confidence_level)

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
        lines = [f"method {self.method}; scale {self.scale}; {self.confidence_level:.0%} {self.ci_method} intervals"]
        if self.tie_parameter is not None:
            lines.append(f"tie parameter {self.tie_parameter:.4g}")
        if self.n_resamples and self.ci_method.startswith("credible"):
            lines.append(f"{self.n_resamples} posterior draws")
        elif self.n_resamples and "sandwich" in self.ci_method:
            lines.append(f"rank intervals and P(best) from {self.n_resamples} normal draws of the sandwich's "
                         "covariance")
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


def to_scale(theta: np.ndarray, models: tuple[str, ...], scale: str, anchor: str | None,
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


def summarise_draws(
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
    scaled = to_scale(draws[ok], models, scale, anchor, anchor_value)
    low, high = percentile_interval(scaled, level)
    rlow, rhigh, pbest = rank_statistics(scaled, level)
    return low, high, rlow, rhigh, pbest, n_deg, scaled


def scaled_cov(cov: np.ndarray, models: tuple[str, ...], scale: str, anchor: str | None) -> np.ndarray:
    m = len(models)
    factor = 1.0 if scale == "logit" else ELO_SCALE
    if anchor is not None:
        k = models.index(anchor)
        A = np.eye(m)
        A[:, k] -= 1.0
    else:
        A = np.eye(m) - 1.0 / m
    return factor**2 * A @ cov @ A.T


@renamed_parameters(level="confidence_level")
def adjacent_differences(ranking: Ranking, confidence_level: float = 0.95) -> pl.DataFrame | None:
    """Each model against the next one down: the rating difference with a percentile interval
    from the bootstrap draws, a two-sided bootstrap p-value and Holm's adjustment across the
    adjacent pairs — which steps of the leaderboard are real.

    A bootstrap p-value cannot fall below 2 / (B + 1): ``pvalue_at_floor`` marks those that sit
    there (the true p-value is at most that), ``p_holm_bound`` the Holm values that depend on one
    (upper bounds), and ``decided_by_floor`` the pairs whose ``significant`` flag would change if
    the floored p-values were smaller (resample more; :func:`metaeval.stats.multiple.resampling_floors`).

    >>> import metaeval
    >>> from metaeval.rankers import rank
    >>> sim = metaeval.simulate.pairwise(n_models=4, n_items=200, rng=0)
    >>> adjacent_differences(rank(sim.judgments, "bradley_terry", n_resamples=200, rng=0)).height
    3
    """
    draws = getattr(ranking, "draws", None)
    if draws is None or draws.shape[0] < 20 or len(ranking.models) < 2:
        return None
    order = np.argsort(-np.asarray(ranking.rating))
    rows = []
    for hi, lo in itertools.pairwise(order):
        d = draws[:, hi] - draws[:, lo]
        d = d[np.isfinite(d)]
        low, high = percentile_interval(d, confidence_level)
        rows.append({"model": ranking.models[hi], "next": ranking.models[lo],
                     "difference": float(ranking.rating[hi] - ranking.rating[lo]), "ci_low": float(low),
                     "ci_high": float(high), "pvalue": bootstrap_pvalue(d),
                     "floor": 2 / (d.size + 1) if d.size else np.nan})
    frame = pl.DataFrame(rows)
    alpha = 1 - confidence_level
    at, adj, bound, _ = resampling_floors(frame["pvalue"].to_numpy(), frame["floor"].to_numpy(), alpha=alpha)
    # which flags a floor decides: the flag with the floored p-values set to 0
    zeroed = resampling_floors(np.where(at, 0.0, frame["pvalue"].to_numpy()), np.full(frame.height, np.nan),
                               alpha=alpha)[1]
    return frame.drop("floor").with_columns(
        pl.Series("p_holm", adj), pl.Series("significant", adj < alpha), pl.Series("pvalue_at_floor", at),
        pl.Series("p_holm_bound", bound), pl.Series("decided_by_floor", (adj < alpha) != (zeroed < alpha)))
