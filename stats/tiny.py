"""Evaluate on a budget: anchor items and the tinyBenchmarks estimators, with intervals.

Polo et al. (2024), "tinyBenchmarks: evaluating LLMs with fewer examples" (ICML), estimate a
model's accuracy on a whole benchmark of ``J`` items from its answers to ``n`` anchor items:

``anchor`` (their "IRT" anchor points)
    items clustered by k-means on their item response embeddings ``(a_i, d_i)``; the item nearest
    each centroid is an anchor and carries its cluster's share of the items as weight; the
    estimate is ``sum_k w_k y_k``. With ``method="random"`` / ``"stratified"`` anchors the same
    formula is the (stratified) sample mean.
``pirt`` (p-IRT)
    the ability ``theta`` is fitted on the anchors (maximum likelihood, as the paper's code) and
    ``(sum_{seen} y_i + sum_{unseen} p_i(theta)) / J``: observed where observed, predicted elsewhere.
``gpirt`` (gp-IRT)
    ``lambda * anchor + (1 - lambda) * pirt`` with the paper's ``lambda = b^2 / (b^2 + v / (4 n))``
    (``v / n`` for random anchors): ``v`` is the mean over the fitting models of the variance of
    their item scores, and ``b`` the mean absolute error of the IRT prediction of held-out items for
    held-out models (the paper's validation: the item model is refitted without 20 % of the models,
    whose abilities are fitted on the even items and checked on the odd ones).

Intervals (new in metaeval; the paper gives none). The target is the model's score on the ``J``
items of this benchmark (a finite population: the anchors' own answers are known exactly). For
each model the interval comes from a parametric bootstrap under the fitted item model: draw an
ability from the model's posterior given its anchor answers, draw the answers to all ``J`` items
(the sum over the unseen items by its normal approximation), rerun the estimator on the drawn
anchor answers, and take the quantiles of ``estimate* - truth*`` (a basic bootstrap interval:
``[est - q_hi, est - q_lo]``). It covers the Bernoulli noise of the answers and the uncertainty of
the ability; it does not cover error in the item parameters themselves or a misfit of the
unidimensional model, so check coverage on held-out models of your own benchmark (the example
``examples/efficient_benchmarks.py`` does this for AlpacaEval and for simulated data).

Measured (``reports/efficient_benchmarks/``): on a simulated 2PL the three intervals cover 88–97 %
of 100 held-out models per cell (the slow test's calibration study: within 90–99.5 %); on AlpacaEval
the anchor and gp-IRT intervals cover 90–100 %, p-IRT's falls to 71 % with 200 anchors on
AlpacaEval 1.0 (the misfit of a one-dimensional model is then larger than the noise the interval
knows of). Fractional scores (AlpacaEval 2.0's judge probabilities) are drawn as 0/1 answers in the
bootstrap, which overstates their noise: the intervals there are conservative (98–100 %).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import polars as pl

from metaeval._random import as_generator
from metaeval._validate import LEVEL, N_RESAMPLES, Interval, Options, validate_params
from metaeval.errors import EstimationWarning, InsufficientDataError, MetaevalError, ParameterError, warn
from metaeval.results import Result, RunInfo
from metaeval.stats.irt import THETA_BOUND, IRTModel, _curve, _eap, _newton_theta, fit, response_matrix
from metaeval.stats.resampling import DEFAULT_N_RESAMPLES, percentile_interval

__all__ = ["ESTIMATORS", "Anchors", "PerformanceEstimate", "estimate_performance", "gp_lambda", "select_anchors"]

ESTIMATORS = ("anchor", "pirt", "gpirt")
METHODS = ("irt", "stratified", "random")


@dataclass(frozen=True)
class Anchors(Result):
    """Anchor items of a benchmark and their weights.

    Attributes
    ----------
    index
        Positions of the anchors among the model's items.
    item_ids
        Their ids.
    weights
        Weight of each anchor in the anchor estimate (they sum to 1): the share of the items in
        its cluster (``"irt"``), ``N_h / (J n_h)`` (``"stratified"``), ``1 / n`` (``"random"``).
    cluster
        The cluster / stratum of every item of the benchmark (``-1`` for ``"random"``).
    method
        ``"irt"``, ``"stratified"`` or ``"random"``.
    lam
        The gp-IRT weight ``lambda`` (``nan`` until :func:`gp_lambda` set it; see
        :func:`select_anchors`'s ``responses``).
    """

    index: np.ndarray = field(repr=False)
    item_ids: tuple[str, ...]
    weights: np.ndarray = field(repr=False)
    cluster: np.ndarray = field(repr=False)
    method: str
    n_items: int
    lam: float
    run_info: RunInfo
    title: str = "anchor items"

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({"item": list(self.item_ids), "position": self.index.astype(np.int64),
                             "weight": self.weights, "cluster": self.cluster[self.index].astype(np.int64)})

    def with_lambda(self, lam: float) -> Anchors:
        """A copy with the gp-IRT weight set."""
        if not (isinstance(lam, (int, float)) and 0 <= lam <= 1):
            raise ParameterError(f"`lam` must lie in [0, 1]; got {lam!r}")
        return Anchors(self.index, self.item_ids, self.weights, self.cluster, self.method, self.n_items, float(lam),
                       self.run_info)


def _kmeans(x: np.ndarray, k: int, gen: np.random.Generator, n_init: int = 5,
            max_iter: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means with k-means++ starts; the best of ``n_init`` by inertia. Returns (labels, centres)."""
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    sq = (x**2).sum(axis=1)
    for _ in range(n_init):
        centres = np.empty((k, x.shape[1]))
        centres[0] = x[gen.integers(len(x))]
        dist = ((x - centres[0]) ** 2).sum(axis=1)
        for j in range(1, k):
            tot = dist.sum()
            pick = gen.choice(len(x), p=dist / tot) if tot > 0 else gen.integers(len(x))
            centres[j] = x[pick]
            dist = np.minimum(dist, ((x - centres[j]) ** 2).sum(axis=1))
        labels = np.zeros(len(x), dtype=int)
        for it in range(max_iter):
            d2 = sq[:, None] - 2 * x @ centres.T + (centres**2).sum(axis=1)[None, :]
            new = d2.argmin(axis=1)
            if it and np.array_equal(new, labels):
                break
            labels = new
            for j in range(k):
                members = labels == j
                if members.any():
                    centres[j] = x[members].mean(axis=0)
                else:  # an empty cluster takes the point farthest from its centre
                    far = int(d2[np.arange(len(x)), labels].argmax())
                    centres[j] = x[far]
                    labels[far] = j
        inertia = float(((x - centres[labels]) ** 2).sum())
        if best is None or inertia < best[0]:
            best = (inertia, labels.copy(), centres.copy())
    assert best is not None
    return best[1], best[2]


def _embedding(model: IRTModel) -> np.ndarray:
    cols = [model.a, model.d] + ([model.c] if model.kind == "3pl" else [])
    return np.column_stack(cols)


@validate_params({
    "n_anchors": [Interval(Integral, 1, None, closed="left")],
    "method": [Options(str, ("irt", "stratified", "random"))],
    "rng": ["rng"],
})
def select_anchors(
    model: IRTModel,
    n_anchors: int,
    *,
    method: Literal["irt", "stratified", "random"] = "irt",
    responses: Any = None,
    rng: np.random.Generator | int | None = None,
) -> Anchors:
    """Choose ``n_anchors`` items of a benchmark that stand for all of them.

    Parameters
    ----------
    model
        The item response model fitted on the benchmark (:func:`metaeval.stats.irt.fit`).
    n_anchors
        How many items to keep (2 to the number of items).
    method
        ``"irt"`` (tinyBenchmarks): k-means with ``n_anchors`` clusters on the item embeddings
        ``(a, d)`` (plus ``c`` for a 3PL); each cluster's item nearest its centre is the anchor,
        weighted by the cluster's share of the items. ``"stratified"``: the same clustering into
        ``n_anchors // 2`` strata, then a random sample allocated in proportion to stratum size
        (at least one per stratum); weights ``N_h / (J n_h)``. ``"random"``: a simple random
        sample, weights ``1 / n``.
    responses
        Optional: the models x items table the item model was fitted on. When given, the gp-IRT
        weight ``lambda`` is computed from it (:func:`gp_lambda`; this refits the item model once
        without a fifth of the models).
    rng
        Seed or generator (k-means starts, random samples, the validation split).

    Returns
    -------
    Anchors
        The anchors' positions (``index``) and ids, their ``weights`` (summing to 1), every
        item's ``cluster``, and the gp-IRT weight ``lam`` (``nan`` without ``responses``).

    Examples
    --------
    >>> import numpy as np
    >>> from metaeval.stats.irt import fit
    >>> rng = np.random.default_rng(0)
    >>> theta, b = rng.normal(size=200), rng.normal(size=300)
    >>> y = (rng.random((200, 300)) < 1 / (1 + np.exp(-(theta[:, None] - b)))).astype(float)
    >>> anchors = select_anchors(fit(y), 20, rng=0)
    >>> len(anchors.index), round(float(anchors.weights.sum()), 6)
    (20, 1.0)
    """
    if not isinstance(model, IRTModel):
        raise ParameterError(f"`model` must be an IRTModel (from `fit` or `load`); got {type(model).__name__}")
    J = len(model.item_ids)
    if not isinstance(n_anchors, (int, np.integer)) or isinstance(n_anchors, bool) or not 2 <= n_anchors <= J:
        raise ParameterError(f"`n_anchors` must be an integer from 2 to the number of items ({J}); got {n_anchors!r}")
    if method not in METHODS:
        raise ParameterError(f"`method` must be one of {', '.join(repr(m) for m in METHODS)}; got {method!r}")
    gen, seed = as_generator(rng)
    n = int(n_anchors)
    if method == "random":
        index = np.sort(gen.choice(J, size=n, replace=False))
        weights = np.full(n, 1.0 / n)
        cluster = np.full(J, -1)
    else:
        emb = _embedding(model)
        k = n if method == "irt" else max(1, n // 2)
        labels, centres = _kmeans(emb, k, gen)
        sizes = np.bincount(labels, minlength=k)
        if method == "irt":
            d2 = ((emb[None, :, :] - centres[:, None, :]) ** 2).sum(axis=2)  # (k, J)
            d2 = np.where(labels[None, :] == np.arange(k)[:, None], d2, np.inf)  # nearest member of its cluster
            index = d2.argmin(axis=1)
            weights = sizes / J
            order = np.argsort(index)
            index, weights = index[order], weights[order]
        else:
            alloc = np.maximum(1, np.floor(n * sizes / J)).astype(int)
            alloc = np.minimum(alloc, sizes)
            while alloc.sum() < n:  # hand out the rest by the largest remaining share
                room = np.where(alloc < sizes, n * sizes / J - alloc, -np.inf)
                alloc[int(room.argmax())] += 1
            while alloc.sum() > n:
                over = np.where(alloc > 1, alloc - n * sizes / J, -np.inf)
                alloc[int(over.argmax())] -= 1
            picks, wts = [], []
            for h in range(k):
                members = np.flatnonzero(labels == h)
                chosen = gen.choice(members, size=alloc[h], replace=False)
                picks.append(chosen)
                wts.append(np.full(alloc[h], sizes[h] / (J * alloc[h])))
            index = np.concatenate(picks)
            weights = np.concatenate(wts)
            order = np.argsort(index)
            index, weights = index[order], weights[order]
        cluster = labels
    run = RunInfo("select_anchors", {"n_anchors": n, "method": method}, seed, None, J)
    anchors = Anchors(index.astype(int), tuple(model.item_ids[i] for i in index), weights.astype(float), cluster,
                      method, J, math.nan, run)
    if responses is not None:
        anchors = anchors.with_lambda(gp_lambda(model, responses, anchors, rng=gen).lam)
    return anchors


@dataclass(frozen=True)
class GPLambda:
    """The gp-IRT weight and what it came from: ``lam = b^2 / (b^2 + v / (f n))``."""

    lam: float
    b: float
    v: float
    n_anchors: int
    factor: float

    def for_anchors(self, anchors: Anchors) -> Anchors:
        """``anchors`` with the weight for their number and kind (``b`` and ``v`` do not depend on them)."""
        factor = 4.0 if anchors.method == "irt" else 1.0
        n = len(anchors.index)
        lam = self.b**2 / (self.b**2 + self.v / (factor * n)) if (self.b > 0 or self.v > 0) else 0.5
        return anchors.with_lambda(lam)


def gp_lambda(model: IRTModel, responses: Any, anchors: Anchors, *, validation: float = 0.2,
              rng: np.random.Generator | int | None = None) -> GPLambda:
    """The gp-IRT weight of the anchor estimate, as in the tinyBenchmarks code.

    ``v``: the mean over models of the variance of their item scores; ``b``: the mean absolute
    error of the IRT prediction of the odd items' mean from an ability fitted (ML) on the even
    items, for a random ``validation`` share of the models left out of a refit of the item
    model; ``lam = b^2 / (b^2 + v / (4 n))`` for clustered anchors (the paper's code), ``v / n``
    for random and stratified ones (the variance of a sample mean).

    Examples
    --------
    >>> import numpy as np
    >>> from metaeval.stats.irt import fit
    >>> rng = np.random.default_rng(1)
    >>> theta, b = rng.normal(size=100), rng.normal(size=60)
    >>> y = (rng.random((100, 60)) < 1 / (1 + np.exp(-(theta[:, None] - b)))).astype(float)
    >>> m = fit(y)
    >>> g = gp_lambda(m, y, select_anchors(m, 10, rng=0), rng=0)
    >>> 0 < g.lam < 1
    True
    """
    if not 0 < validation < 1:
        raise ParameterError(f"`validation` must lie in (0, 1); got {validation!r}")
    y, _, _items = response_matrix(responses)
    if y.shape[1] != len(model.item_ids):
        raise ParameterError(f"`responses` must have one column per item of the model ({len(model.item_ids)}); got "
                            f"{y.shape[1]}")
    gen, _ = as_generator(rng)
    N = y.shape[0]
    n_val = max(1, round(validation * N))
    if N - n_val < 2:
        raise InsufficientDataError(f"`responses` needs at least 3 models to hold some out for gp-IRT's lambda; "
                                    f"got {N}")
    perm = gen.permutation(N)
    val, train = perm[:n_val], perm[n_val:]
    refit = fit(y[train], model.kind, item_ids=model.item_ids)
    seen = np.arange(0, y.shape[1], 2)
    unseen = np.arange(1, y.shape[1], 2)
    yv = y[val]
    sub = refit.subset(seen)
    start = _eap(sub, yv[:, seen])[0]
    theta, _ = _newton_theta(sub, yv[:, seen], False, start)
    pred = _curve(theta[:, None], refit.a[unseen], refit.d[unseen], refit.c[unseen]).mean(axis=1)
    truth = np.nanmean(yv[:, unseen], axis=1)
    b = float(np.nanmean(np.abs(pred - truth)))
    v = float(np.nanmean(np.nanvar(y, axis=1)))
    n = len(anchors.index)
    factor = 4.0 if anchors.method == "irt" else 1.0
    lam = b**2 / (b**2 + v / (factor * n)) if (b > 0 or v > 0) else 0.5
    return GPLambda(float(lam), b, v, n, factor)


@dataclass(frozen=True)
class PerformanceEstimate(Result):
    """Full-benchmark scores of models estimated from their anchor answers.

    ``table`` columns: ``model``, ``estimator`` (``anchor``, ``pirt``, ``gpirt``), ``estimate``,
    ``ci_low``, ``ci_high``, ``theta`` (the ability fitted on the anchors), ``n_anchors``,
    ``n_items``. ``level`` and ``lam`` (the gp-IRT weight) are attributes.
    """

    table: pl.DataFrame
    level: float
    lam: float
    run_info: RunInfo
    title: str = "estimated benchmark scores"

    def estimates(self, estimator: str = "gpirt") -> np.ndarray:
        """The estimates of one estimator, in model order."""
        if estimator not in ESTIMATORS:
            raise ParameterError(f"`estimator` must be one of {', '.join(ESTIMATORS)}; got {estimator!r}")
        return self.table.filter(pl.col("estimator") == estimator)["estimate"].to_numpy()


def _fit_theta(sub: IRTModel, ya: np.ndarray, ability: str) -> np.ndarray:
    mean = _eap(sub, ya, 61)[0]
    if ability == "eap":
        return mean
    return _newton_theta(sub, ya, ability == "map", mean)[0]


class _Unseen:
    """``sum_i p_i(theta)`` and ``sum_i p_i (1 - p_i)`` over the items not among the anchors, tabulated
    on a fine ability grid once (linear interpolation between 2,401 nodes on [-6, 6] is exact to
    about 1e-5 of the sum), so that the bootstrap costs O(draws x anchors), not O(draws x items)."""

    def __init__(self, model: IRTModel, unseen: np.ndarray) -> None:
        self.grid = np.linspace(-THETA_BOUND, THETA_BOUND, 2401)
        self.mean = np.zeros_like(self.grid)
        self.var = np.zeros_like(self.grid)
        for start in range(0, len(unseen), 2000):
            idx = unseen[start:start + 2000]
            p = _curve(self.grid[:, None], model.a[idx], model.d[idx], model.c[idx])
            self.mean += p.sum(axis=1)
            self.var += (p * (1 - p)).sum(axis=1)

    def __call__(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.interp(theta, self.grid, self.mean), np.interp(theta, self.grid, self.var)


def _estimators(sub: IRTModel, anchors: Anchors, ya: np.ndarray, ability: str, lam: float,
                unseen: _Unseen) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """anchor, p-IRT, gp-IRT estimates and abilities for rows of anchor answers ``ya`` (R, n)."""
    J = anchors.n_items
    obs = np.isfinite(ya)
    filled = np.where(obs, ya, 0.0)
    wts = np.where(obs, anchors.weights[None, :], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        anchor_est = (filled * wts).sum(axis=1) / wts.sum(axis=1)
    theta = _fit_theta(sub, ya, ability)
    p_unseen = unseen(theta)[0]
    p_seen_missing = np.where(obs, 0.0, _curve(theta[:, None], sub.a, sub.d, sub.c)).sum(axis=1)
    pirt = (filled.sum(axis=1) + p_seen_missing + p_unseen) / J
    gp = lam * anchor_est + (1 - lam) * pirt if math.isfinite(lam) else np.full(len(pirt), np.nan)
    return anchor_est, pirt, gp, theta


@validate_params({
    "ability": [Options(str, ("ml", "map", "eap"))],
    "lam": [Interval(Real, 0, 1, closed="both"), None],
    "level": [LEVEL],
    "n_boot": [N_RESAMPLES],
    "rng": ["rng"],
})
def estimate_performance(
    model: IRTModel,
    anchors: Anchors,
    responses: Any,
    *,
    model_ids: Sequence[str] | None = None,
    ability: Literal["ml", "map", "eap"] = "ml",
    lam: float | None = None,
    level: float = 0.95,
    n_boot: int = DEFAULT_N_RESAMPLES,
    rng: np.random.Generator | int | None = None,
) -> PerformanceEstimate:
    """Estimate each model's score on the whole benchmark from its answers to the anchor items.

    Parameters
    ----------
    model
        The item response model of the benchmark.
    anchors
        From :func:`select_anchors`.
    responses
        The new models' scores on the anchors: an array (models x anchors, in the order of
        ``anchors.item_ids``; ``nan`` for an anchor not run), or a long polars table with
        ``model``, ``item``, ``score`` naming anchor items.
    ability
        How the ability is fitted on the anchors for p-IRT: ``"ml"`` (the paper's code),
        ``"map"`` or ``"eap"`` (standard normal prior; steadier with few anchors).
    lam
        The gp-IRT weight; default ``anchors.lam`` (set by :func:`select_anchors` with
        ``responses=``). When neither is set the gp-IRT rows are ``nan`` with a warning.
    level
        Confidence level of the intervals.
    n_boot
        Parametric bootstrap draws per model (see the module docstring for what they cover).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    rng
        Seed or generator of the bootstrap.

    Returns
    -------
    PerformanceEstimate
        One row per model and estimator with the interval.

    Examples
    --------
    >>> import numpy as np
    >>> from metaeval.stats.irt import fit
    >>> rng = np.random.default_rng(0)
    >>> theta, b = rng.normal(size=150), rng.normal(size=400)
    >>> y = (rng.random((150, 400)) < 1 / (1 + np.exp(-(theta[:, None] - b)))).astype(float)
    >>> m = fit(y[:100])
    >>> anchors = select_anchors(m, 30, responses=y[:100], rng=0)
    >>> est = estimate_performance(m, anchors, y[100:, anchors.index], rng=0)
    >>> row = est.table.row(2, named=True)  # the first new model, gp-IRT, from 30 of 400 items
    >>> row["estimator"], round(row["estimate"], 2), round(row["ci_low"], 1), round(row["ci_high"], 1)
    ('gpirt', 0.58, 0.4, 0.7)
    >>> round(float(y[100].mean()), 2)  # its score on all 400 items
    0.62
    >>> err = np.abs(est.estimates("gpirt") - y[100:].mean(axis=1)).mean()  # mean error over 50 new models
    >>> round(float(err), 2)
    0.05
    """
    if not isinstance(model, IRTModel):
        raise ParameterError(f"`model` must be an IRTModel (from `fit` or `load`); got {type(model).__name__}")
    if not isinstance(anchors, Anchors):
        raise ParameterError(f"`anchors` must be an Anchors (from `select_anchors`); got {type(anchors).__name__}")
    if anchors.n_items != len(model.item_ids) or any(model.item_ids[i] != n for i, n in
                                                     zip(anchors.index, anchors.item_ids, strict=True)):
        raise MetaevalError("`anchors` were selected on another item model (their item ids or count differ)")
    if ability not in ("ml", "map", "eap"):
        raise ParameterError(f"`ability` must be 'ml', 'map' or 'eap'; got {ability!r}")
    if not 0 < level < 1:
        raise ParameterError(f"`level` must lie in (0, 1); got {level!r}")
    if not isinstance(n_boot, int) or isinstance(n_boot, bool) or n_boot < 100:
        raise ParameterError(f"`n_boot` must be an integer of at least 100; got {n_boot!r}")
    lam_v = anchors.lam if lam is None else lam
    if not (isinstance(lam_v, (int, float)) and (math.isnan(lam_v) or 0 <= lam_v <= 1)):
        raise ParameterError(f"`lam` must lie in [0, 1]; got {lam!r}")
    lam_v = float(lam_v)
    if math.isnan(lam_v):
        warn("gp-IRT needs its weight `lam`: pass `lam=` or select the anchors with `responses=`; its rows are nan",
             EstimationWarning)
    if isinstance(responses, pl.DataFrame):
        y, models, cols = response_matrix(responses, model_ids=model_ids)
        pos = {i: k for k, i in enumerate(cols)}
        unknown = [c for c in cols if c not in set(anchors.item_ids)]
        if unknown:
            raise MetaevalError(f"`responses` names {len(unknown)} items that are not anchors (first: {unknown[0]!r})")
        ya = np.full((y.shape[0], len(anchors.item_ids)), np.nan)
        for k, item in enumerate(anchors.item_ids):
            if item in pos:
                ya[:, k] = y[:, pos[item]]
    else:
        ya, models, _ = response_matrix(responses, model_ids=model_ids, item_ids=anchors.item_ids
                                        if np.ndim(responses) == 2 and np.shape(responses)[1] == len(anchors.index)
                                        else None)
        if ya.shape[1] != len(anchors.index):
            raise ParameterError(f"`responses` must have one column per anchor ({len(anchors.index)}); got "
                                f"{ya.shape[1]}")
    gen, seed = as_generator(rng)
    J = anchors.n_items
    unseen = _Unseen(model, np.setdiff1d(np.arange(J), anchors.index))
    sub = model.subset(anchors.index)
    none = ~np.isfinite(ya).any(axis=1)
    if none.any():
        warn(f"{int(none.sum())} models answered no anchor (first: {models[int(np.flatnonzero(none)[0])]!r}): "
             "their estimates are nan", EstimationWarning)
    est_a, est_p, est_g, theta = _estimators(sub, anchors, ya, ability, lam_v, unseen)
    # ---- parametric bootstrap of estimate - truth, per model
    _, _, post, x = _eap(sub, ya, 121)
    dx = x[1] - x[0]
    L = ya.shape[0]
    bounds = np.full((3, L, 2), np.nan)
    mask_obs = np.isfinite(ya)
    for m_i in range(L):
        if none[m_i]:
            continue
        node = gen.choice(len(x), size=n_boot, p=post[m_i])
        th = np.clip(x[node] + gen.uniform(-dx / 2, dx / 2, n_boot), -THETA_BOUND, THETA_BOUND)
        p_anchor = _curve(th[:, None], sub.a, sub.d, sub.c)  # (B, n)
        y_anchor = (gen.random(p_anchor.shape) < p_anchor).astype(float)
        y_anchor = np.where(mask_obs[m_i][None, :], y_anchor, np.nan)
        mu, var = unseen(th)
        # the not-run anchors count among the unseen items for the truth
        p_miss = np.where(mask_obs[m_i][None, :], 0.0, p_anchor)
        mu = mu + p_miss.sum(axis=1)
        var = var + (p_miss * (1 - p_miss)).sum(axis=1)
        truth = (np.nansum(y_anchor, axis=1) + mu + np.sqrt(var) * gen.standard_normal(n_boot)) / J
        ba, bp, bg, _ = _estimators(sub, anchors, y_anchor, ability, lam_v if math.isfinite(lam_v) else 0.0,
                                    unseen)
        for e_i, (boot, est) in enumerate(((ba, est_a), (bp, est_p), (bg, est_g))):
            # the basic interval: the estimate less the central `level` of estimate* - truth*
            lo_q, hi_q = percentile_interval(boot - truth, level, axis=None, nan_policy="propagate")
            bounds[e_i, m_i] = (np.clip(est[m_i] - hi_q, 0, 1), np.clip(est[m_i] - lo_q, 0, 1))
    rows: dict[str, list[Any]] = {k: [] for k in ("model", "estimator", "estimate", "ci_low", "ci_high", "theta",
                                                  "n_anchors", "n_items")}
    n_seen = mask_obs.sum(axis=1)
    for m_i in range(L):
        for e_i, (name, est) in enumerate(zip(ESTIMATORS, (est_a, est_p, est_g), strict=True)):
            value = float(est[m_i]) if not none[m_i] else math.nan
            rows["model"].append(models[m_i])
            rows["estimator"].append(name)
            rows["estimate"].append(value)
            rows["ci_low"].append(float(bounds[e_i, m_i, 0]) if math.isfinite(value) else math.nan)
            rows["ci_high"].append(float(bounds[e_i, m_i, 1]) if math.isfinite(value) else math.nan)
            rows["theta"].append(float(theta[m_i]) if not none[m_i] else math.nan)
            rows["n_anchors"].append(int(n_seen[m_i]))
            rows["n_items"].append(J)
    table = pl.DataFrame(rows, schema={"model": pl.String, "estimator": pl.String, "estimate": pl.Float64,
                                       "ci_low": pl.Float64, "ci_high": pl.Float64, "theta": pl.Float64,
                                       "n_anchors": pl.Int64, "n_items": pl.Int64})
    run = RunInfo("estimate_performance", {"ability": ability, "lam": lam_v, "level": level, "n_boot": n_boot,
                                           "anchors": anchors.method, "interval": "parametric bootstrap (basic)"},
                  seed, None, J, int(n_seen.sum()))
    return PerformanceEstimate(table, level, lam_v, run)
