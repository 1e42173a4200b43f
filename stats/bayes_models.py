"""Hierarchical Bayesian models with PyMC (the ``bayes`` extra, imported only when used):
partial pooling of accuracy across tasks and a two-parameter item response model, each with
its convergence diagnostics, which gate the conclusions; the sampler and the gate are shared
by the Bayesian Bradley–Terry ranker (:mod:`metaeval.rankers.bayes_bt`).

Every sampled result carries R-hat, bulk / tail effective sample size and the number of
divergent transitions (:class:`Diagnostics`). A run that fails them (R-hat > 1.01, ESS < 400,
any divergence) says so first in its summary and in its notes, and is marked
``converged=False``: it is not a conclusion. :func:`diagnostics` accepts ArviZ
``InferenceData`` and the newer xarray ``DataTree`` alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from metaeval._progress import displaying, should_show, task
from metaeval._random import integer_seed
from metaeval.errors import ConvergenceWarning, InsufficientDataError, MetaevalError, ParameterError, warn
from metaeval.results import Result, RunInfo
from metaeval.stats.resampling import percentile_interval
from metaeval.tables import Judgments

__all__ = ["Diagnostics", "HierarchicalAccuracy", "ItemResponse", "diagnostics",
           "hierarchical_accuracy", "item_response"]

RHAT_MAX = 1.01
ESS_MIN = 400


def _pymc() -> Any:
    try:
        import pymc
    except ImportError:  # pragma: no cover - the bayes extra is installed in CI
        raise MetaevalError("the Bayesian models need PyMC: pip install 'metaeval[bayes]'") from None
    return pymc


# ----------------------------------------------------------------------------- diagnostics
@dataclass(frozen=True)
class Diagnostics:
    """Convergence of an MCMC run: the largest R-hat, the smallest bulk and tail ESS over all
    parameters, and the number of divergent transitions."""

    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    n_draws: int
    n_chains: int

    @property
    def converged(self) -> bool:
        return (self.rhat_max <= RHAT_MAX and self.ess_bulk_min >= ESS_MIN and self.ess_tail_min >= ESS_MIN
                and self.divergences == 0)

    @property
    def message(self) -> str:
        text = (f"R-hat max {self.rhat_max:.4f}, bulk ESS min {self.ess_bulk_min:.0f}, tail ESS min "
                f"{self.ess_tail_min:.0f}, {self.divergences} divergences ({self.n_chains} chains x {self.n_draws} "
                "draws)")
        if self.converged:
            return "converged: " + text
        failed = [w for w, bad in (("R-hat > 1.01", self.rhat_max > RHAT_MAX),
                                   ("ESS < 400", min(self.ess_bulk_min, self.ess_tail_min) < ESS_MIN),
                                   ("divergent transitions", self.divergences > 0)) if bad]
        return ("NOT CONVERGED (" + ", ".join(failed) + "): these numbers are not a conclusion; sample longer or "
                "reparametrise. " + text)

    def to_dict(self) -> dict[str, Any]:
        return {"rhat_max": self.rhat_max, "ess_bulk_min": self.ess_bulk_min, "ess_tail_min": self.ess_tail_min,
                "divergences": self.divergences, "converged": self.converged}


def _group(idata: Any, name: str) -> Any:
    """A group of InferenceData or of an xarray DataTree, as an xarray Dataset."""
    node = getattr(idata, name, None) if not hasattr(idata, "children") else None
    if node is None:
        try:
            node = idata[name]
        except (KeyError, TypeError):
            return None
    return node.to_dataset() if hasattr(node, "to_dataset") else node


def diagnostics(idata: Any) -> Diagnostics:
    """R-hat (rank-normalised split), bulk and tail ESS (ArviZ) and divergences of a sampled
    posterior, from ArviZ ``InferenceData`` or an xarray ``DataTree``."""
    import arviz as az

    post = _group(idata, "posterior")
    if post is None:
        raise MetaevalError("no `posterior` group in the sampling result")
    rhat = float(az.rhat(post).to_array().max())
    bulk = float(az.ess(post, method="bulk").to_array().min())
    tail = float(az.ess(post, method="tail").to_array().min())
    stats_ = _group(idata, "sample_stats")
    div = int(stats_["diverging"].sum()) if stats_ is not None and "diverging" in stats_ else 0
    return Diagnostics(rhat, bulk, tail, div, int(post.sizes["draw"]), int(post.sizes["chain"]))


def _sample(model: Any, *, draws: int, tune: int, chains: int, seed: int | None, progress: bool | None,
            target_accept: float = 0.9) -> Any:
    """NUTS with PyMC. Progress: PyMC's own bar (per chain) where metaeval shows progress and no
    metaeval display runs yet; inside one (a report), a row of that display instead."""
    pm = _pymc()
    import logging
    import warnings

    own = should_show(progress) and not displaying()
    log = logging.getLogger("pymc")
    level = log.level
    if not own:
        log.setLevel(logging.ERROR)  # "Initializing NUTS…" and the timing lines are progress, not results
    try:
        with model, warnings.catch_warnings(), task(f"MCMC: {chains} chains × {tune} + {draws} draws",
                                                    enabled=False if own else progress):
            warnings.simplefilter("ignore", UserWarning)  # pytensor's BLAS notice
            warnings.simplefilter("ignore", FutureWarning)
            return pm.sample(draws=draws, tune=tune, chains=chains, cores=1, random_seed=seed, progressbar=own,
                             compute_convergence_checks=False, target_accept=target_accept)
    finally:
        log.setLevel(level)


def _check_mcmc(draws: int, tune: int, chains: int) -> None:
    if draws < 10 or tune < 0 or chains < 1:
        raise MetaevalError(f"need draws >= 10, tune >= 0 and chains >= 1; got {draws}, {tune}, {chains}")


def _seed(rng: np.random.Generator | int | None) -> int:
    return integer_seed(rng)


# ----------------------------------------------------------------------------- accuracy across tasks
class _Sampled(Result):
    """A result from MCMC: its summary leads with the convergence verdict when it failed."""

    diagnostics: Diagnostics

    def summary(self) -> str:
        head = "" if self.diagnostics.converged else self.diagnostics.message + "\n"
        return head + super().summary() + "\n" + self.diagnostics.message


@dataclass(frozen=True)
class HierarchicalAccuracy(_Sampled):
    """Posterior accuracy per model (the mean over tasks of its partially pooled per-task
    accuracy) with credible intervals and P(best); per-task shrunk accuracies; and
    ``prob_better[a][b]`` = P(model a's accuracy > model b's)."""

    table: pl.DataFrame
    per_task: pl.DataFrame
    prob_better: pl.DataFrame
    diagnostics: Diagnostics
    run_info: RunInfo
    title: str = "accuracy with partial pooling over tasks"


def _binary_cells(judgments: Judgments, by: str) -> tuple[tuple[str, ...], tuple[str, ...], np.ndarray, np.ndarray]:
    if judgments.kind != "pointwise" or "score" not in judgments.frame.columns:
        raise MetaevalError("this model needs a pointwise table with 0/1 `score`")
    f = judgments.frame.filter(pl.col("score").is_not_null())
    bad = f.filter(~pl.col("score").is_in([0.0, 1.0]))
    if bad.height:
        raise ParameterError(f"`score` must be 0 or 1 (correct / wrong); got {bad['score'][0]!r} for model "
                            f"{bad['model'][0]!r}, item {bad['item'][0]!r}")
    if by not in f.columns:
        raise MetaevalError(f"no `{by}` column to pool over")
    g = f.group_by("model", by, maintain_order=True).agg(pl.col("score").sum().alias("k"), pl.len().alias("n"))
    models = tuple(sorted(g["model"].unique().to_list()))
    groups = tuple(sorted(g[by].cast(pl.String).unique().to_list()))
    mi, gi = {v: i for i, v in enumerate(models)}, {v: i for i, v in enumerate(groups)}
    K = np.zeros((len(models), len(groups)))
    N = np.zeros_like(K)
    rows = [mi[v] for v in g["model"].to_list()]
    cols = [gi[v] for v in g[by].cast(pl.String).to_list()]
    K[rows, cols] = g["k"].to_numpy()
    N[rows, cols] = g["n"].to_numpy()
    return models, groups, K, N


def hierarchical_accuracy(judgments: Judgments, *, by: str = "task", draws: int = 1000, tune: int = 1000,
                          chains: int = 4, confidence_level: float = 0.95, progress: bool | None = None,
                          rng: np.random.Generator | int | None = None) -> HierarchicalAccuracy:
    """Partial pooling of each model's accuracy over tasks (or any ``by`` column): logit p_mt =
    μ_m + σ z_mt with z ~ N(0, 1), μ_m ~ N(0, 1.5), σ ~ HalfNormal(1) shared by the models (a
    per-model σ from a handful of tasks is a funnel NUTS cannot explore) — tasks with few items
    borrow strength from the model's other tasks. A model's accuracy is the mean over tasks of
    p_mt; the posterior gives its interval, P(best) and P(a > b) for every pair."""
    pm = _pymc()
    _check_mcmc(draws, tune, chains)
    models, groups, K, N = _binary_cells(judgments, by)
    if len(models) < 1 or N.sum() == 0:
        raise InsufficientDataError("no scored items")
    seen = N > 0
    mm, tt = np.nonzero(seen)
    seed = _seed(rng)
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 1.5, shape=len(models))
        sd = pm.HalfNormal("sd", 1.0)  # one task-to-task spread, learned from every model
        z = pm.Normal("z", 0.0, 1.0, shape=(len(models), len(groups)))
        logit_p = mu[:, None] + sd * z
        pm.Deterministic("p", pm.math.sigmoid(logit_p))
        pm.Binomial("k", n=N[mm, tt], logit_p=logit_p[mm, tt], observed=K[mm, tt])
    # small steps: the shared spread sd is weakly identified from a few tasks
    idata = _sample(model, draws=draws, tune=tune, chains=chains, seed=seed, progress=progress, target_accept=0.97)
    diag = diagnostics(idata)
    p = idata.posterior["p"].values.reshape(-1, len(models), len(groups))
    acc = p.mean(2)  # draws x models: equal weight per task
    best = np.argmax(acc, axis=1)
    acc_low, acc_high = percentile_interval(acc, confidence_level)
    table = pl.DataFrame({
        "model": list(models), "accuracy": acc.mean(0), "ci_low": acc_low,
        "ci_high": acc_high, "p_best": np.bincount(best, minlength=len(models)) / len(best),
        "raw_accuracy": K.sum(1) / N.sum(1), "n": N.sum(1).astype(np.int64),
    }).sort("accuracy", descending=True)
    per_task = pl.DataFrame({
        "model": [models[i] for i in mm], by: [groups[j] for j in tt], "raw": K[mm, tt] / N[mm, tt],
        "pooled": p.mean(0)[mm, tt], "n": N[mm, tt].astype(np.int64)})
    pb = (acc[:, :, None] > acc[:, None, :]).mean(0)
    prob = pl.DataFrame({"model": list(models), **{b: pb[:, k] for k, b in enumerate(models)}})
    if not diag.converged:
        warn(diag.message, ConvergenceWarning)
    run = RunInfo("hierarchical_accuracy", {"by": by, "draws": draws, "tune": tune, "chains": chains,
                                            **diag.to_dict()}, seed, judgments.fingerprint, len(judgments.items),
                  int(N.sum()))
    return HierarchicalAccuracy(table, per_task, prob, diag, run)


# ----------------------------------------------------------------------------- item response
@dataclass(frozen=True)
class ItemResponse(_Sampled):
    """A 2PL item response fit: each model's ability θ and its predicted score on the full item
    set (the mean over every item of P(correct), answered or not), with credible intervals;
    each item's difficulty and discrimination."""

    table: pl.DataFrame
    items: pl.DataFrame
    diagnostics: Diagnostics
    run_info: RunInfo
    title: str = "item response model (2PL)"


def item_response(judgments: Judgments, *, draws: int = 1000, tune: int = 1000, chains: int = 4,
                  confidence_level: float = 0.95, progress: bool | None = None,
                  rng: np.random.Generator | int | None = None) -> ItemResponse:
    """Two-parameter logistic item response model: P(model m answers item i) =
    σ(a_i (θ_m − b_i)), θ ~ N(0, 1), b ~ N(0, σ_b), log a ~ N(0, 0.5). Models need not answer the
    same items (missing cells are simply absent), which is the basis of tinyBenchmarks-style
    estimates: a model scored on a few anchor items gets a predicted full-benchmark score with
    an interval, from the item parameters the other models pinned down."""
    pm = _pymc()
    _check_mcmc(draws, tune, chains)
    models, items, K, N = _binary_cells(judgments, "item")
    if len(models) < 2 or len(items) < 2:
        raise InsufficientDataError("the item response model needs at least two models and two items")
    mm, ii = np.nonzero(N > 0)
    seed = _seed(rng)
    with pm.Model() as model:
        theta = pm.Normal("theta", 0.0, 1.0, shape=len(models))
        sb = pm.HalfNormal("difficulty_sd", 2.0)
        b_z = pm.Normal("difficulty_z", 0.0, 1.0, shape=len(items))  # non-centred: no funnel
        b = pm.Deterministic("difficulty", sb * b_z)
        log_a = pm.Normal("log_discrimination", 0.0, 0.5, shape=len(items))
        a = pm.math.exp(log_a)
        pm.Binomial("k", n=N[mm, ii], logit_p=a[ii] * (theta[mm] - b[ii]), observed=K[mm, ii])
    idata = _sample(model, draws=draws, tune=tune, chains=chains, seed=seed, progress=progress)
    diag = diagnostics(idata)
    th = idata.posterior["theta"].values.reshape(-1, len(models))
    bb = idata.posterior["difficulty"].values.reshape(-1, len(items))
    aa = np.exp(idata.posterior["log_discrimination"].values.reshape(-1, len(items)))
    full = (1 / (1 + np.exp(-aa[:, None, :] * (th[:, :, None] - bb[:, None, :])))).mean(2)  # draws x models
    th_low, th_high = percentile_interval(th, confidence_level)
    full_low, full_high = percentile_interval(full, confidence_level)
    table = pl.DataFrame({
        "model": list(models), "ability": th.mean(0), "ability_low": th_low,
        "ability_high": th_high, "predicted_score": full.mean(0),
        "score_low": full_low, "score_high": full_high,
        "observed_score": K.sum(1) / np.maximum(N.sum(1), 1), "items_answered": (N > 0).sum(1).astype(np.int64),
    }).sort("ability", descending=True)
    item_table = pl.DataFrame({"item": list(items), "difficulty": bb.mean(0), "discrimination": aa.mean(0),
                               "answered_by": (N > 0).sum(0).astype(np.int64)})
    if not diag.converged:
        warn(diag.message, ConvergenceWarning)
    run = RunInfo("item_response", {"draws": draws, "tune": tune, "chains": chains, **diag.to_dict()}, seed,
                  judgments.fingerprint, len(items), int(N.sum()))
    return ItemResponse(table, item_table, diag, run)

