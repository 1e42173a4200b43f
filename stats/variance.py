"""Variance and prompt sensitivity: seed variance, monotonicity over checkpoints, signal to
noise, multi-prompt metrics and rank stability across prompt templates.

References: Madaan et al. (2024), "Quantifying Variance in Evaluation Benchmarks" (seed
variance, monotonicity); Mizrahi et al. (2024), "State of What Art? A Call for Multi-Prompt LLM
Evaluation" (MaxP, AvgP, CPS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import polars as pl
from scipy import stats as st

from metaeval._validate import LEVEL, validate_params
from metaeval.errors import InsufficientDataError, MetaevalError
from metaeval.results import ConfidenceInterval, Estimate, Result, RunInfo
from metaeval.stats.intervals import correlation_interval
from metaeval.tables import Judgments, as_judgments

__all__ = ["PromptSensitivity", "SeedVariance", "monotonicity", "prompt_sensitivity", "seed_variance"]


def _pointwise(results: Judgments) -> pl.DataFrame:
    if results.kind != "pointwise" or "score" not in results.frame.columns:
        raise MetaevalError("this analysis needs a pointwise table with numeric `score`")
    return results.frame.filter(pl.col("score").is_not_null())


@dataclass(frozen=True)
class SeedVariance(Result):
    """Per model: the mean score, the sd of the run-level means across repeats (seeds) with a
    chi-square interval, and the benchmark's signal-to-noise ratio (sd across models / mean seed sd)."""

    table: pl.DataFrame
    signal_to_noise: float
    run_info: RunInfo
    title: str = "seed variance"

    def summary(self) -> str:
        return super().summary() + f"\nsignal-to-noise (sd of model means / mean seed sd): {self.signal_to_noise:.3g}"


@validate_params({"confidence_level": [LEVEL]})
def seed_variance(results: Judgments, *, confidence_level: float = 0.95) -> SeedVariance:
    """How much does each model's score move between repeats (``rep``: seeds, samples, runs)?

    Parameters
    ----------
    results : Judgments
        Pointwise scores with a ``rep`` column (at least two repeats per model).
    confidence_level : float, default 0.95
        Coverage of the chi-square interval of each seed sd.

    Returns
    -------
    SeedVariance
        ``table``: per model ``mean``, ``seed_sd`` (the sd of the run means), ``n_reps`` and
        ``sd_ci_low`` / ``sd_ci_high``; ``signal_to_noise`` (the sd of the model means over the mean
        seed sd).

    Notes
    -----
    A signal-to-noise ratio well above 1 means the differences between models are larger than the
    run-to-run noise of one model; Madaan et al. (2024) report seed variance alongside
    monotonicity for this reason. Two models whose means differ by less than about two seed sds
    should not be ordered on one run each.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval.stats import seed_variance
    >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=40, n_reps=5, n_humans=0, judges=("j",), rng=0)
    >>> seed_variance(sim.judgments).to_polars()["n_reps"].to_list()
    [5, 5, 5]
    """
    results = as_judgments(results)
    f = _pointwise(results)
    runs = f.group_by("model", "rep", maintain_order=True).agg(pl.col("score").mean().alias("run_mean"))
    per = runs.group_by("model", maintain_order=True).agg(pl.col("run_mean").mean().alias("mean"),
                                     pl.col("run_mean").std(ddof=1).alias("seed_sd"),
                                     pl.len().alias("n_reps")).sort("model")
    if cast(int, per["n_reps"].max()) < 2:  # a count column: never null
        raise InsufficientDataError("seed variance needs at least 2 repeats (`rep`) per model")
    a = 1 - confidence_level
    k = per["n_reps"].to_numpy().astype(float)
    sd = per["seed_sd"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.sqrt((k - 1) * sd**2 / st.chi2.ppf(1 - a / 2, k - 1))
        hi = np.sqrt((k - 1) * sd**2 / st.chi2.ppf(a / 2, k - 1))
    table = per.with_columns(pl.Series("sd_ci_low", lo), pl.Series("sd_ci_high", hi))
    noise = float(np.nanmean(sd))
    signal = float(cast(float, per["mean"].std(ddof=1))) if per.height > 1 else float("nan")
    snr = signal / noise if noise > 0 else float("inf")
    run = RunInfo("seed_variance", {"confidence_level": confidence_level}, None, results.fingerprint,
                  len(results.items), len(results))
    return SeedVariance(table, snr, run)


@validate_params({"steps": ["array-like"], "scores": ["array-like"], "confidence_level": [LEVEL]})
def monotonicity(steps: np.ndarray, scores: np.ndarray, *, confidence_level: float = 0.95) -> Estimate:
    """Kendall's τ-b between training step and score: does the benchmark improve steadily over checkpoints?

    The interval uses the Fieller–Hartley–Pearson standard error √(0.437 / (n − 4)) on the Fisher z
    scale.

    Parameters
    ----------
    steps : numpy.ndarray
        Training steps (or any ordered checkpoint index).
    scores : numpy.ndarray
        The score at each step.
    confidence_level : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    Estimate
        ``estimate`` (τ-b) with its ``ci`` and ``n``.

    Notes
    -----
    Madaan et al. (2024) use this monotonicity across checkpoints, with the signal-to-noise ratio
    of :func:`seed_variance`, to judge whether a benchmark is useful during training: a τ near 1
    means the score rises steadily. There are no conventional thresholds.

    Examples
    --------
    >>> e = monotonicity(np.arange(10), np.arange(10) + 0.0)
    >>> round(e.estimate, 6), e.ci.high <= 1
    (1.0, True)
    """
    steps, scores = np.asarray(steps, float), np.asarray(scores, float)
    if steps.shape != scores.shape or steps.size < 5:
        raise InsufficientDataError("monotonicity needs at least 5 (step, score) pairs of equal length")
    res = st.kendalltau(steps, scores)
    tau = float(res.statistic)

    lo, hi = correlation_interval(float(np.clip(tau, -0.999999, 0.999999)), int(steps.size), method="kendall",
                                  confidence_level=confidence_level)
    ci = ConfidenceInterval(lo, hi, confidence_level, "Fisher z, Fieller–Hartley–Pearson SE")
    run = RunInfo("monotonicity", {}, None, None, int(steps.size), int(steps.size))
    return Estimate("Kendall tau (step vs score)", tau, ci, float(res.pvalue), int(steps.size), run)


@dataclass(frozen=True)
class PromptSensitivity(Result):
    """Per model across prompt templates (``variant``): MaxP, MinP, AvgP, spread, CPS, and the
    range of ranks it takes when the models are ranked under each template."""

    table: pl.DataFrame
    mean_kendall_tau: float
    run_info: RunInfo
    title: str = "prompt sensitivity"

    def summary(self) -> str:
        return super().summary() + (f"\nmean Kendall tau between the templates' rankings: "
                                    f"{self.mean_kendall_tau:.3g}")


def prompt_sensitivity(results: Judgments) -> PromptSensitivity:
    """Multi-prompt metrics (Mizrahi et al. 2024) and rank stability across templates.

    MaxP and AvgP are the best and the average template score of a model; CPS, the combined
    performance score, is ``(1 − (MaxP − AvgP)) · MaxP`` (scores on a 0–1 scale). ``rank_min`` /
    ``rank_max`` are the best and worst rank the model gets under any single template and
    ``positions_moved`` their difference.

    Parameters
    ----------
    results : Judgments
        Pointwise scores with a ``variant`` column naming the prompt template.

    Returns
    -------
    PromptSensitivity
        ``table``: per model ``MaxP``, ``MinP``, ``AvgP``, ``spread``, ``sd_across_templates``,
        ``CPS``, ``rank_min``, ``rank_max``, ``positions_moved``; ``mean_kendall_tau`` between the
        templates' rankings of the models.

    Examples
    --------
    >>> from metaeval import Judgments
    >>> from metaeval.stats import prompt_sensitivity
    >>> j = Judgments({"item": ["q1", "q1", "q1", "q1"], "judge": ["acc"] * 4, "model": ["x", "y", "x", "y"],
    ...                "score": [1.0, 0.0, 0.0, 1.0], "variant": ["p1", "p1", "p2", "p2"]})
    >>> prompt_sensitivity(j).to_polars()["positions_moved"].to_list()
    [1, 1]
    """
    results = as_judgments(results)
    f = _pointwise(results)
    if "variant" not in f.columns or f["variant"].drop_nulls().n_unique() < 2:
        raise InsufficientDataError("prompt sensitivity needs scores under at least two templates (`variant`)")
    per = (f.filter(pl.col("variant").is_not_null()).group_by("model", "variant", maintain_order=True)
           .agg(pl.col("score").mean()))
    wide = per.pivot(on="variant", index="model", values="score").sort("model")
    templates = [c for c in wide.columns if c != "model"]
    M = wide.select(templates).to_numpy()
    if np.isnan(M).any():
        keep = ~np.isnan(M).any(axis=0)
        M = M[:, keep]
        templates = [t for t, k in zip(templates, keep, strict=True) if k]
    if len(templates) < 2:
        raise InsufficientDataError("fewer than two templates score every model")
    maxp, minp, avgp = M.max(1), M.min(1), M.mean(1)
    cps = (1 - (maxp - avgp)) * maxp
    ranks = np.column_stack([st.rankdata(-M[:, t], method="min") for t in range(M.shape[1])]).astype(int)
    taus = [st.kendalltau(M[:, s], M[:, t]).statistic for s in range(M.shape[1]) for t in range(s + 1, M.shape[1])]
    table = pl.DataFrame({
        "model": wide["model"], "MaxP": maxp, "MinP": minp, "AvgP": avgp, "spread": maxp - minp,
        "sd_across_templates": M.std(1, ddof=1), "CPS": cps, "rank_min": ranks.min(1), "rank_max": ranks.max(1),
        "positions_moved": ranks.max(1) - ranks.min(1),
    }).sort("AvgP", descending=True)
    run = RunInfo("prompt_sensitivity", {"templates": templates}, None, results.fingerprint, len(results.items),
                  len(results))
    return PromptSensitivity(table, float(np.nanmean(taus)) if taus else float("nan"), run)
