"""The hierarchical Bayesian Bradley–Terry model (``metaeval.rank(..., "bayesian_bradley_terry")``):
NUTS through PyMC (the ``bayes`` extra) on aggregated pair cells, with the sampler, its
convergence gate and the diagnostics of :mod:`metaeval.stats.bayes_models`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from metaeval.errors import ConvergenceWarning, InsufficientDataError, MetaevalError, ParameterError, warn
from metaeval.rankers.ranking import Ranking
from metaeval.results import RunInfo
from metaeval.stats.bayes_models import _check_mcmc, _pymc, _sample, _seed, diagnostics
from metaeval.stats.resampling import percentile_interval, rank_statistics
from metaeval.tables import Judgments, PairwiseCounts, model_codes

__all__ = ["bayesian_bradley_terry"]


def _pair_cells(data: Judgments | PairwiseCounts, ties: str, judge_effects: bool) -> dict[str, Any]:
    """Aggregated cells (i, j, judge, first) with counts of i-wins, j-wins and ties: the
    likelihood is a sum over cells, so its cost does not grow with the number of battles."""
    if isinstance(data, PairwiseCounts):
        if judge_effects:
            raise MetaevalError("judge effects need the judgments table (who judged, which model was shown first)")
        i, j = np.triu_indices(data.n_models, 1)
        wi, wj, t = data.wins[i, j], data.wins[j, i], data.ties[i, j]
        keep = (wi + wj + t) > 0
        return {"models": data.models, "i": i[keep], "j": j[keep], "wi": wi[keep], "wj": wj[keep], "t": t[keep],
                "judge": np.zeros(int(keep.sum()), int), "first": np.zeros(int(keep.sum())), "judges": ("all",),
                "n": float((wi + wj + t).sum())}
    if data.kind != "pairwise":
        raise MetaevalError("the Bayesian Bradley–Terry model needs a pairwise table")
    f = data.frame
    models = data.models
    a, b = model_codes(f["model_a"], models), model_codes(f["model_b"], models)
    oc = f["outcome"].to_physical().to_numpy().astype(np.int64)  # 0 a, 1 b, 2 tie
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    swap = a > b  # orient every battle as (lo, hi)
    lo_won = np.where(swap, oc == 1, oc == 0)
    hi_won = np.where(swap, oc == 0, oc == 1)
    tie = oc == 2
    judges: tuple[str, ...] = ("all",)
    jcode = np.zeros(len(a), np.int64)
    first = np.zeros(len(a))
    if judge_effects:
        if "shown_first" not in f.columns:
            raise MetaevalError("judge effects (a per-judge position bias) need the `shown_first` column")
        judges = data.judges
        jcode = f["judge"].cast(pl.Enum(list(judges))).to_physical().to_numpy().astype(np.int64)
        sf = f["shown_first"].cast(pl.String)
        a_first = (sf == "a").fill_null(False).to_numpy()
        # +1 when the lower-indexed model was shown first, -1 when the other was, 0 when unknown
        first = np.where(sf.is_null().to_numpy(), 0.0, np.where(a_first != swap, 1.0, -1.0))
    key = np.stack([lo, hi, jcode, first.astype(np.int64)], axis=1)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    k = len(uniq)
    wi = np.bincount(inv, weights=lo_won.astype(float), minlength=k)
    wj = np.bincount(inv, weights=hi_won.astype(float), minlength=k)
    t = np.bincount(inv, weights=tie.astype(float), minlength=k)
    return {"models": models, "i": uniq[:, 0], "j": uniq[:, 1], "wi": wi, "wj": wj, "t": t, "judge": uniq[:, 2],
            "first": uniq[:, 3].astype(float), "judges": judges, "n": float(len(a))}


def bayesian_bradley_terry(
    data: Judgments | PairwiseCounts,
    *,
    ties: str = "davidson",
    judge_effects: bool = False,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    confidence_level: float = 0.95,
    progress: bool | None = None,
    rng: np.random.Generator | int | None = None,
) -> Any:
    """Hierarchical Bradley–Terry by NUTS on aggregated pair counts.

    Strengths θ ~ ZeroSumNormal(σ) (identified: they sum to 0) with σ ~ HalfNormal(1) learned
    from the data (partial pooling). Ties: ``"davidson"`` (a tie has probability
    ν√(π_i π_j)/(π_i + π_j + ν√(π_i π_j)), log ν ~ N(0, 1)), ``"half"`` (half a win each) or
    ``"drop"``. ``judge_effects`` adds a per-judge position bias γ_judge ~ N(0, 1) on the
    log-odds of the model shown first (needs ``shown_first``). The likelihood is a sum over (pair, judge, order) cells,
    so 10⁶ battles cost what 10⁴ do.

    Returns the same :class:`~metaeval.rankers.Ranking` as :func:`metaeval.rank`: posterior mean
    ratings with equal-tailed credible intervals, rank intervals and P(best) from the posterior
    draws, the diagnostics in ``notes`` (first when they fail) and ``diagnostics``.
    """
    pm = _pymc()
    import pytensor.tensor as pt


    if ties not in ("davidson", "half", "drop"):
        raise ParameterError(f"`ties` must be 'davidson', 'half' or 'drop'; got {ties!r}")
    if not 0 < confidence_level < 1:
        raise ParameterError(f"`confidence_level` must lie in (0, 1); got {confidence_level!r}")
    _check_mcmc(draws, tune, chains)
    c = _pair_cells(data, ties, judge_effects)
    m = len(c["models"])
    if m < 2 or len(c["i"]) == 0:
        raise InsufficientDataError("the Bayesian Bradley–Terry model needs at least two models that met")
    wi, wj, t = c["wi"], c["wj"], c["t"]
    if ties == "half":
        wi, wj, t = wi + t / 2, wj + t / 2, np.zeros_like(t)
    elif ties == "drop":
        t = np.zeros_like(t)
    seed = _seed(rng)
    with pm.Model() as model:
        sigma = pm.HalfNormal("sigma", 1.0)
        theta = pm.ZeroSumNormal("theta", sigma=sigma, shape=m)
        diff = theta[c["i"]] - theta[c["j"]]
        if judge_effects:
            # one position effect per judge, N(0, 1) each: pooling them with a learned spread is a
            # funnel when there are two or three judges, and the effects are well identified anyway
            gamma = pm.Normal("position", 0.0, 1.0, shape=len(c["judges"]))
            diff = diff + gamma[c["judge"]] * c["first"]
        if ties == "davidson":
            log_nu = pm.Normal("log_nu", 0.0, 1.0)
            ci_, cj_, ct_ = diff / 2, -diff / 2, log_nu
            denom = pt.logsumexp(pt.stack([ci_, cj_, ct_ + 0 * diff]), axis=0)
            ll = wi * (ci_ - denom) + wj * (cj_ - denom) + t * (ct_ - denom)
        else:
            ll = -wi * pt.log1pexp(-diff) - wj * pt.log1pexp(diff)
        pm.Potential("likelihood", pt.sum(ll))
    idata = _sample(model, draws=draws, tune=tune, chains=chains, seed=seed, progress=progress)
    diag = diagnostics(idata)
    post = idata.posterior["theta"].values.reshape(-1, m)
    rating = post.mean(0)
    low, high = percentile_interval(post, confidence_level)
    rlow, rhigh, pbest = rank_statistics(post, confidence_level)
    notes = [diag.message]
    tie_param = None
    if ties == "davidson":
        tie_param = float(np.exp(idata.posterior["log_nu"].values).mean())
    if judge_effects:
        gam = idata.posterior["position"].values.reshape(-1, len(c["judges"]))
        notes.append("position bias (log-odds for the model shown first) by judge: " + ", ".join(
            "{} {:+.3f} [{:+.3f}, {:+.3f}]".format(jn, g.mean(), *percentile_interval(g, confidence_level))
            for jn, g in zip(c["judges"], gam.T, strict=True)))
    if not diag.converged:
        warn(diag.message, ConvergenceWarning)
    n_per = np.bincount(c["i"], weights=c["wi"] + c["wj"] + c["t"], minlength=m) + np.bincount(
        c["j"], weights=c["wi"] + c["wj"] + c["t"], minlength=m)
    fingerprint = data.fingerprint if isinstance(data, Judgments) else None
    run = RunInfo("rank", {"method": "bayesian_bradley_terry", "ties": ties, "judge_effects": judge_effects,
                           "draws": draws, "tune": tune, "chains": chains, "confidence_level": confidence_level,
                           "cells": len(c["i"]), **diag.to_dict()}, seed, fingerprint, None, int(c["n"]))
    return Ranking(c["models"], rating, low, high, rlow, rhigh, pbest, n_per, "bayesian_bradley_terry",
                   "credible (NUTS)", "logit", confidence_level, tie_param, int(post.shape[0]), 0, run, post, None,
                   None, None, None, tuple(notes))
