"""Each model's win rate against the field, with an item-clustered bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from metaeval._random import as_generator, resample_counts
from metaeval.errors import EstimationWarning, MetaevalError, SmallSampleWarning, warn
from metaeval.results import Result, RunInfo
from metaeval.tables import Judgments

__all__ = ["WinRates", "win_rates"]


@dataclass(frozen=True)
class WinRates(Result):
    """Win rate of each model over all its comparisons (ties count ``tie_value``).

    ``ci_low`` / ``ci_high`` come from a percentile bootstrap that resamples items (the
    clusters), so verdicts on the same prompt are not treated as independent.
    """

    models: tuple[str, ...]
    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n: np.ndarray
    confidence_level: float
    run_info: RunInfo
    title: str = "win rates (item-clustered bootstrap)"

    def to_polars(self) -> pl.DataFrame:
        order = np.argsort(-np.nan_to_num(self.estimate, nan=-np.inf), kind="stable")
        return pl.DataFrame(
            {
                "model": [self.models[i] for i in order],
                "win_rate": self.estimate[order],
                "ci_low": self.ci_low[order],
                "ci_high": self.ci_high[order],
                "n": self.n[order].astype(np.int64),
            }
        )

    def chart(self):
        """Forest plot: win rate with interval per model."""
        import altair as alt

        data = self.to_polars().to_dicts()
        base = alt.Chart(alt.Data(values=data)).encode(y=alt.Y("model:N", sort=None, title=None))
        rule = base.mark_rule().encode(x=alt.X("ci_low:Q", title="win rate", scale=alt.Scale(domain=[0, 1])),
                                       x2="ci_high:Q")
        point = base.mark_point(filled=True).encode(x="win_rate:Q", tooltip=["model:N", "win_rate:Q", "n:Q"])
        return (rule + point).properties(title=self.title, width=360)


def win_rates(
    judgments: Judgments,
    *,
    tie_value: float = 0.5,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    rng: np.random.Generator | int | None = None,
) -> WinRates:
    """Win rate of each model against every opponent it met, with a clustered interval.

    Parameters
    ----------
    judgments
        A pairwise table.
    tie_value
        Credit for a tie (½ by default).
    n_resamples
        Bootstrap resamples of items.
    confidence_level
        Of the percentile interval.
    rng
        Seed or generator.

    Examples
    --------
    >>> from metaeval import simulate
    >>> from metaeval.stats import win_rates
    >>> sim = simulate.pairwise(n_models=3, n_items=60, rng=0)
    >>> wr = win_rates(sim.judgments, n_resamples=200, rng=1)
    >>> bool((wr.ci_low <= wr.estimate).all() and (wr.estimate <= wr.ci_high).all())
    True
    """
    if judgments.kind != "pairwise":
        raise MetaevalError("`win_rates` needs a pairwise table; convert scores with `to_pairwise()`")
    if not 0 <= tie_value <= 1:
        raise MetaevalError(f"`tie_value` must lie in [0, 1]; got {tie_value!r}")
    if n_resamples < 1:
        raise MetaevalError(f"`n_resamples` must be at least 1; got {n_resamples}")
    gen, seed = as_generator(rng)
    f = judgments.frame
    models = judgments.models
    items = judgments.items
    menum, ienum = pl.Enum(list(models)), pl.Enum(list(items))
    credit = pl.when(pl.col("outcome") == "a").then(1.0).when(pl.col("outcome") == "b").then(0.0)
    credit = credit.otherwise(tie_value)
    long = pl.concat(
        [
            f.select(pl.col("item"), pl.col("model_a").alias("model"), credit.alias("s")),
            f.select(pl.col("item"), pl.col("model_b").alias("model"), (1.0 - credit).alias("s")),
        ]
    )
    agg = long.group_by("item", "model").agg(pl.col("s").sum(), pl.len().alias("n"))
    ii = agg["item"].cast(ienum).to_physical().to_numpy().astype(np.int64)
    mi = agg["model"].cast(menum).to_physical().to_numpy().astype(np.int64)
    S = np.zeros((len(items), len(models)))
    N = np.zeros((len(items), len(models)))
    S[ii, mi] = agg["s"].to_numpy()
    N[ii, mi] = agg["n"].to_numpy()
    n_tot = N.sum(0)
    est = S.sum(0) / n_tot
    if len(items) < 30:
        warn(f"only {len(items)} items: a bootstrap over so few clusters under-covers", SmallSampleWarning)
    W = resample_counts(gen, len(items), n_resamples)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = (W @ S) / (W @ N)
    alpha = 1 - confidence_level
    low = np.nanquantile(boot, alpha / 2, axis=0)
    high = np.nanquantile(boot, 1 - alpha / 2, axis=0)
    one_item = (N > 0).sum(0) < 2
    if one_item.any():
        warn(f"{int(one_item.sum())} models were compared on fewer than 2 items: their interval is nan",
             EstimationWarning)
        low[one_item] = np.nan
        high[one_item] = np.nan
    run = RunInfo("win_rates", {"tie_value": tie_value, "n_resamples": n_resamples,
                                "confidence_level": confidence_level}, seed, judgments.fingerprint,
                  len(items), len(judgments))
    return WinRates(models, est, low, high, n_tot, confidence_level, run)
