"""Each model's win rate against the field, with an item-clustered bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
import polars as pl

from metaeval._random import as_generator
from metaeval._validate import LEVEL, N_RESAMPLES, Interval, Options, validate_params
from metaeval.errors import EstimationWarning, MetaevalError, ParameterError, SmallSampleWarning, warn
from metaeval.report.charts import forest
from metaeval.results import Result, RunInfo, check_confidence_level
from metaeval.stats.resampling import (
    DEFAULT_N_RESAMPLES,
    cluster_weights,
    percentile_interval,
    poisson_seed,
    stable_keys,
)
from metaeval.tables import Judgments, as_judgments

__all__ = ["WinRates", "win_rates"]


@dataclass(frozen=True)
class WinRates(Result):
    """Win rate of each model over all its comparisons.

    A verdict counts ``p_a`` (the judge's graded preference) where ``graded`` and given, else 1
    for a win, 0 for a loss and ``tie_value`` for a tie. ``ci_low`` / ``ci_high`` come from a
    percentile bootstrap that resamples items (the clusters), so verdicts on the same prompt are
    not treated as independent. ``standard_error`` is the item-clustered (sandwich) standard
    error of the mean credit; when each item holds one verdict per model (AlpacaEval's design)
    it is the plain ``sd(ddof=1) / √n`` that AlpacaEval reports.

    ``draws`` keeps the bootstrap win rates (``n_resamples`` × models), so
    :meth:`confidence_interval` gives the interval at another level; ``ci`` is
    ``(ci_low, ci_high)``.
    """

    models: tuple[str, ...]
    estimate: np.ndarray
    standard_error: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n: np.ndarray
    confidence_level: float
    run_info: RunInfo
    title: str = "win rates (item-clustered bootstrap)"
    graded: bool = False
    draws: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def ci(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ci_low, ci_high)``: the reported intervals at ``confidence_level``, in ``models`` order."""
        return self.ci_low, self.ci_high

    def confidence_interval(self, confidence_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """The win rates' intervals at another level: the percentile interval of the kept
        bootstrap draws, in ``models`` order (``nan`` for a model seen on fewer than 2 items). At
        ``self.confidence_level`` it is ``(ci_low, ci_high)`` exactly.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Coverage of the interval, in (0, 1).

        Returns
        -------
        tuple of numpy.ndarray
            ``(low, high)``, one bound per model.

        Raises
        ------
        ParameterError
            When the result kept no draws: compute them again with that ``confidence_level``.

        Examples
        --------
        >>> from metaeval import simulate
        >>> from metaeval.stats import win_rates
        >>> wr = win_rates(simulate.pairwise(n_models=3, n_items=60, rng=0).judgments, n_resamples=200, rng=1)
        >>> low, high = wr.confidence_interval(0.95)
        >>> bool((low == wr.ci_low).all() and (high == wr.ci_high).all())
        True
        >>> low80, high80 = wr.confidence_interval(0.8)
        >>> bool(((high80 - low80) < (high - low)).all())
        True
        """
        check_confidence_level(confidence_level)
        if self.draws is None:
            raise ParameterError("these win rates kept no bootstrap draws, so "
                                 "their interval cannot be given at another level: call `win_rates(..., "
                                 f"confidence_level={confidence_level!r})` again")
        low, high = percentile_interval(self.draws, confidence_level)
        none = np.isnan(self.ci_low) | np.isnan(self.ci_high)  # fewer than 2 items: no interval at any level
        return np.where(none, np.nan, low), np.where(none, np.nan, high)

    def to_polars(self) -> pl.DataFrame:
        order = np.argsort(-np.nan_to_num(self.estimate, nan=-np.inf), kind="stable")
        return pl.DataFrame(
            {
                "model": [self.models[i] for i in order],
                "win_rate": self.estimate[order],
                "standard_error": self.standard_error[order],
                "ci_low": self.ci_low[order],
                "ci_high": self.ci_high[order],
                "n": self.n[order].astype(np.int64),
            }
        )

    def chart(self) -> Any:
        """Forest plot: each model's win rate against the field with its interval (0.5: even)."""
        credit = "graded preferences p_a" if self.graded else "wins, ties ½"
        return forest(self.to_polars(), label="model", estimate="win_rate", low="ci_low", high="ci_high",
                      x_title="win rate against the field", domain=(0.0, 1.0), null=0.5, tooltip=["n"],
                      title="Win rates", subtitle=f"{self.confidence_level:.0%} bootstrap intervals over items "
                      f"(item-clustered); credit: {credit}; dashed: 0.5")

@validate_params({
    "graded": ["boolean"],
    "tie_value": [Interval(Real, 0, 1, closed="both")],
    "n_resamples": [N_RESAMPLES],
    "confidence_level": [LEVEL],
    "bootstrap": [Options(str, ("multinomial", "poisson")), None],
    "rng": ["rng"],
})
def win_rates(
    judgments: Judgments,
    *,
    graded: bool = True,
    tie_value: float = 0.5,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    bootstrap: str | None = None,
    rng: np.random.Generator | int | None = None,
) -> WinRates:
    """Win rate of each model against every opponent it met, with a clustered interval.

    Parameters
    ----------
    judgments : Judgments
        A pairwise table.
    graded : bool, default True
        Count each verdict's graded preference ``p_a`` (a probability that a is better, as
        AlpacaEval's weighted judges and WildBench's five-way verdicts give) where the table has
        one (the default); verdicts without ``p_a`` count 1 / 0 / ``tie_value``. ``False``
        counts only the hard outcome (1 / 0 / ``tie_value``) everywhere. The default keeps what
        the judge said: a judge that is 55 % sure adds 0.55, not a full win, so the estimate
        does not jump with the rounding of near-ties, and it has the smaller variance (on
        AlpacaEval's weighted GPT-4-turbo judge, the leaderboard's ``win_rate`` and
        ``standard_error`` are this graded mean, and ``discrete_win_rate`` is ``graded=False``).
        Both are means over verdicts; the interval is the same item bootstrap for either.
    tie_value : float, default 0.5
        Credit for a tie (½ by default); with ``graded``, only for verdicts without ``p_a``.
    n_resamples : int, default 1000
        Bootstrap resamples of items. Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Of the percentile interval.
    bootstrap : {"multinomial", "poisson"}, optional
        ``"multinomial"`` (resample as many items as there are; the default in memory) or
        ``"poisson"`` (a Poisson(1) weight per item and resample from (seed, item, resample
        index): the out-of-core draws, the default for battle logs read with
        :func:`metaeval.scan`, which give this function's numbers without loading them; there
        the items are the scan's ``cluster`` column and the credit is the hard outcome).
    rng : int, numpy.random.Generator or None
        Seed or generator.

    Returns
    -------
    WinRates
        Per model (in ``models`` order): ``estimate`` (the mean credit over its verdicts), the
        item-clustered ``standard_error``, the bootstrap ``ci_low`` / ``ci_high`` and ``n`` (its
        verdicts).

    Notes
    -----
    A win rate is a mean over the opponents each model happened to meet, so two models' win rates
    are comparable only when they met the same opponents (as against one baseline); otherwise rank
    them with :func:`metaeval.rank`. The difference between two win rates is a difference in the
    share of credit (0–1); intervals that overlap do not by themselves mean the difference is insignificant —
    test it with a paired comparison on the shared items. A win rate of 0.5 against a baseline
    means "as good as the baseline", not "average".

    Examples
    --------
    >>> from metaeval import simulate
    >>> from metaeval.stats import win_rates
    >>> sim = simulate.pairwise(n_models=3, n_items=60, rng=0)
    >>> wr = win_rates(sim.judgments, n_resamples=200, rng=1)
    >>> bool((wr.ci_low <= wr.estimate).all() and (wr.estimate <= wr.ci_high).all())
    True

    With graded preferences, ``graded=False`` counts only who won:

    >>> from metaeval import Judgments
    >>> j = Judgments({"item": ["q1", "q2"], "judge": "j", "model_a": "x", "model_b": "y",
    ...                "outcome": ["a", "b"], "p_a": [0.9, 0.4]})
    >>> win_rates(j, n_resamples=10, rng=0).estimate.round(2).tolist()
    [0.65, 0.35]
    >>> win_rates(j, graded=False, n_resamples=10, rng=0).estimate.round(2).tolist()
    [0.5, 0.5]
    """
    if hasattr(judgments, "win_rates_lazy"):  # battle logs read lazily (metaeval.scan): streamed sums, same numbers
        return judgments.win_rates_lazy(tie_value=tie_value, n_resamples=n_resamples,
                                        confidence_level=confidence_level, bootstrap=bootstrap, rng=rng)
    judgments = as_judgments(judgments)
    if judgments.kind != "pairwise":
        raise MetaevalError("`win_rates` needs a pairwise table; convert scores with `to_pairwise()`")
    gen, seed = as_generator(rng)
    f = judgments.frame
    models = judgments.models
    items = judgments.items
    menum, ienum = pl.Enum(list(models)), pl.Enum(list(items))
    credit = (pl.when(pl.col("outcome") == "a").then(1.0).when(pl.col("outcome") == "b").then(0.0)
              .otherwise(tie_value))
    use_p = graded and "p_a" in f.columns
    if use_p:
        credit = pl.when(pl.col("p_a").is_not_null() & pl.col("p_a").is_not_nan()).then(pl.col("p_a")).otherwise(credit)
    long = pl.concat(
        [
            f.select(pl.col("item"), pl.col("model_a").alias("model"), credit.alias("s")),
            f.select(pl.col("item"), pl.col("model_b").alias("model"), (1.0 - credit).alias("s")),
        ]
    )
    agg = long.group_by("item", "model", maintain_order=True).agg(pl.col("s").sum(), pl.len().alias("n"))
    ii = agg["item"].cast(ienum).to_physical().to_numpy().astype(np.int64)
    mi = agg["model"].cast(menum).to_physical().to_numpy().astype(np.int64)
    S = np.zeros((len(items), len(models)))
    N = np.zeros((len(items), len(models)))
    S[ii, mi] = agg["s"].to_numpy()
    N[ii, mi] = agg["n"].to_numpy()
    n_tot = N.sum(0)
    est = S.sum(0) / n_tot
    # Clustered standard error of the ratio S / N (CR1: n_items / (n_items - 1)); with one verdict per
    # item it is sd(ddof=1) / sqrt(n).
    n_clusters = (N > 0).sum(0)
    resid = np.where(N > 0, S - est * N, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt((resid**2).sum(0) * n_clusters / np.maximum(n_clusters - 1, 1)) / n_tot
    if len(items) < 30:
        warn(f"only {len(items)} items: a bootstrap over so few clusters under-covers", SmallSampleWarning)
    if bootstrap == "poisson":
        pseed = seed if seed is not None else poisson_seed(gen)
        W = cluster_weights(len(items), n_resamples, pseed, kind="poisson", keys=stable_keys(items))
    else:
        W = cluster_weights(len(items), n_resamples, gen)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = (W @ S) / (W @ N)
    low, high = percentile_interval(boot, confidence_level)
    one_item = (N > 0).sum(0) < 2
    if one_item.any():
        warn(f"{int(one_item.sum())} models were compared on fewer than 2 items: their interval is nan",
             EstimationWarning)
        low[one_item] = np.nan
        high[one_item] = np.nan
        se[one_item] = np.nan
    params: dict[str, Any] = {"graded": graded, "tie_value": tie_value, "n_resamples": n_resamples,
                              "confidence_level": confidence_level}
    if bootstrap == "poisson":
        params |= {"bootstrap": "poisson", "poisson_seed": pseed}
    run = RunInfo("win_rates", params, seed, judgments.fingerprint,
                  len(items), len(judgments))
    title = "graded win rates (item-clustered bootstrap)" if use_p else "win rates (item-clustered bootstrap)"
    return WinRates(models, est, se, low, high, n_tot, confidence_level, run, title, use_p, boot)
