"""Simulated judge studies with a known truth.

Every recovery test and the demo use these generators: they plant model strengths, item
difficulty, judge noise, a position bias, a length bias, self-preference (a judge favouring
models of its own family), ties, repeats and human raters, and return the table together
with the truth that produced it.

Model names are ``<family>-<k>`` (``atlas-1``, ``borealis-2`` …); a judge named
``judge-<family>`` belongs to that family, human raters are ``human:<k>``.

Examples
--------
>>> from metaeval import simulate
>>> sim = simulate.pairwise(n_models=4, n_items=50, position_bias=0.8, both_orders=True, rng=7)
>>> sim.judgments.kind, sim.truth.position_bias
('pairwise', 0.8)
>>> sorted(sim.truth.strengths, key=sim.truth.strengths.get, reverse=True) == list(sim.truth.ranking)
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl

from metaeval._random import as_generator
from metaeval._validate import Interval, validate_params
from metaeval.errors import MetaevalError, ParameterError
from metaeval.tables import Judgments

__all__ = ["FAMILIES", "JurySimulation", "PeerSimulation", "Simulation", "Truth", "jury", "pairwise", "peer_reviews",
           "pointwise"]

FAMILIES = ("atlas", "borealis", "cirrus", "draco", "electra", "fornax", "gemini", "hydra")


@dataclass(frozen=True)
class Truth:
    """The parameters a simulation planted.

    Strengths are on the log-odds scale of a Bradley–Terry model (pairwise) or in score
    units / 1.5 (pointwise): P(a beats b, no bias, no tie) = 1 / (1 + exp(s_b - s_a)).
    ``judge_scale`` is each judge's sharpness (the factor on quality differences; humans 1) and
    ``item_sd`` the sd of the item × model quality effects shared by every judge.
    """

    strengths: dict[str, float]
    families: dict[str, str]
    judge_noise: dict[str, float]
    item_difficulty: dict[str, float]
    position_bias: float = 0.0
    length_bias: float = 0.0
    self_preference: float = 0.0
    tie_threshold: float = 0.0
    judge_offset: dict[str, float] = field(default_factory=dict)
    judge_scale: dict[str, float] = field(default_factory=dict)
    item_sd: float = 0.0
    seed: int | None = None

    @property
    def ranking(self) -> tuple[str, ...]:
        """Models from strongest to weakest."""
        return tuple(sorted(self.strengths, key=lambda m: -self.strengths[m]))


@dataclass(frozen=True)
class Simulation:
    """A simulated table and the truth behind it."""

    judgments: Judgments
    truth: Truth


def _model_names(n_models: int) -> list[str]:
    if n_models < 2:
        raise ParameterError(f"`n_models` must be at least 2; got {n_models}")
    return [f"{FAMILIES[i % len(FAMILIES)]}-{i // len(FAMILIES) + 1}" for i in range(n_models)]


def _family(name: str) -> str:
    if name.startswith("human"):
        return "human"
    return name.removeprefix("judge-").split("-")[0]


def _setup(
    n_models: int,
    n_items: int,
    judges: Sequence[str],
    n_humans: int,
    strengths: Sequence[float] | Mapping[str, float] | None,
    judge_noise: float | Mapping[str, float],
    human_noise: float,
    rng: np.random.Generator,
) -> tuple[list[str], np.ndarray, list[str], np.ndarray, list[str]]:
    if n_items < 1:
        raise ParameterError(f"`n_items` must be at least 1; got {n_items}")
    if isinstance(strengths, Mapping):
        models = list(strengths)
        s = np.array([float(strengths[m]) for m in models])
    else:
        models = _model_names(n_models)
        s = rng.normal(0.0, 1.0, n_models) if strengths is None else np.asarray(strengths, dtype=float)
        if s.shape != (len(models),):
            raise ParameterError(f"`strengths` must have {len(models)} values; got {s.shape}")
    all_judges = list(judges) + [f"human:{k + 1}" for k in range(n_humans)]
    if not all_judges:
        raise MetaevalError("at least one judge is needed: give `judges` or `n_humans`")
    if len(set(all_judges)) != len(all_judges):
        raise ParameterError(f"`judges` must be distinct; got {list(judges)}")
    noise = np.array(
        [
            human_noise
            if j.startswith("human")
            else float(judge_noise[j] if isinstance(judge_noise, Mapping) else judge_noise)
            for j in all_judges
        ]
    )
    if np.any(noise < 0):
        raise MetaevalError("judge noise must not be negative")
    items = [f"q{i:04d}" for i in range(n_items)]
    return models, s, all_judges, noise, items


def _scales(all_judges: Sequence[str], judge_scale: float | Mapping[str, float]) -> np.ndarray:
    """Each judge's sharpness: ``judge_scale`` for model judges (one value or per name), 1 for humans."""
    out = np.array([1.0 if j.startswith("human") else
                    float(judge_scale.get(j, 1.0) if isinstance(judge_scale, Mapping) else judge_scale)
                    for j in all_judges])
    if np.any(~np.isfinite(out)) or np.any(out <= 0):
        raise ParameterError(f"`judge_scale` must be positive; got {judge_scale!r}")
    return out


def _item_effects(rng: np.random.Generator, item_sd: float, n_models: int, n_items: int) -> np.ndarray:
    """Item × model quality effects (models × items), shared by every judge; zeros when ``item_sd`` is 0
    (and then no random numbers are drawn, so the other draws are unchanged)."""
    if not (np.isfinite(item_sd) and item_sd >= 0):
        raise ParameterError(f"`item_sd` must be a non-negative number; got {item_sd!r}")
    if item_sd == 0:
        return np.zeros((n_models, n_items))
    return rng.normal(0.0, item_sd, (n_models, n_items))


def _lengths(rng: np.random.Generator, n_models: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Output lengths (characters) per model and item, and their standardised log."""
    mu = rng.normal(np.log(1500.0), 0.35, n_models)
    loglen = mu[:, None] + rng.normal(0.0, 0.25, (n_models, n_items))
    lengths = np.maximum(np.round(np.exp(loglen)), 1).astype(np.int64)
    z = (loglen - loglen.mean()) / loglen.std()
    return lengths, z


@validate_params({
    "n_models": [Interval(Integral, 2, None, closed="left")],
    "n_items": [Interval(Integral, 1, None, closed="left")],
    "n_humans": [Interval(Integral, 0, None, closed="left")],
    "pairs_per_item": [Interval(Integral, 1, None, closed="left"), None],
    "both_orders": ["boolean"],
    "n_reps": [Interval(Integral, 1, None, closed="left")],
    "position_bias": ["finite"],
    "length_bias": ["finite"],
    "self_preference": ["finite"],
    "tie_threshold": [Interval(Real, 0, None, closed="left")],
    "judge_noise": [Interval(Real, 0, None, closed="left"), Mapping],
    "human_noise": [Interval(Real, 0, None, closed="left")],
    "judge_scale": [Interval(Real, 0, None, closed="neither"), Mapping],
    "item_sd": [Interval(Real, 0, None, closed="left")],
    "rng": ["rng"],
})
def pairwise(
    n_models: int = 6,
    n_items: int = 100,
    *,
    judges: Sequence[str] = ("judge-atlas", "judge-borealis"),
    n_humans: int = 0,
    strengths: Sequence[float] | Mapping[str, float] | None = None,
    pairs_per_item: int | None = None,
    both_orders: bool = False,
    n_reps: int = 1,
    position_bias: float = 0.0,
    length_bias: float = 0.0,
    self_preference: float = 0.0,
    tie_threshold: float = 0.0,
    judge_noise: float | Mapping[str, float] = 0.5,
    human_noise: float = 1.0,
    judge_scale: float | Mapping[str, float] = 1.0,
    item_sd: float = 0.0,
    rng: np.random.Generator | int | None = None,
) -> Simulation:
    """Simulate pairwise verdicts.

    Each verdict draws from an ordered-logit (Davidson-like) model on the latent advantage
    ``d = k_j (s_a - s_b + u_ia - u_ib) + length_bias (z_a - z_b) + self_preference (same_a - same_b)
    ± position_bias + noise``: P(a) = σ(d - τ), P(b) = σ(-d - τ), tie otherwise, where
    ``τ = tie_threshold``, ``+position_bias`` goes to the output shown first, ``k_j`` is the
    judge's sharpness (``judge_scale``; humans 1) and ``u`` the item × model effects
    (sd ``item_sd``; 0 by default).

    Parameters
    ----------
    n_models, n_items
        Sizes (ignored ``n_models`` when ``strengths`` is a mapping of names).
    judges, n_humans
        Model judges (``judge-<family>``) and the number of human raters (no biases).
    strengths
        Planted log-odds strengths; drawn from N(0, 1) when omitted.
    pairs_per_item
        Number of random pairs per item and judge; all pairs when omitted.
    both_orders
        Judge every pair twice, once in each presentation order (``shown_first``).
    n_reps
        Repeats of each verdict (``rep``).
    position_bias, length_bias, self_preference, tie_threshold
        The planted effects (log-odds).
    judge_noise, human_noise
        Standard deviation of the per-verdict latent noise of model judges and humans.
    judge_scale
        Sharpness of the model judges (one value, or per judge name): the factor on the quality
        difference ``s_a - s_b`` (and the item effects) in their verdicts; humans have 1. A judge
        with a larger scale separates strong from weak models more sharply — without favouring
        any of them.
    item_sd
        Standard deviation of item × model quality effects shared by every judge and human
        (a model answers some items better than others): verdicts on one item are correlated.
    rng
        Seed or generator.

    Returns
    -------
    Simulation
        ``.judgments`` (pairwise, with ``shown_first``, ``len_a``, ``len_b``) and ``.truth``.

    Examples
    --------
    Four models, 50 items, two judges; the planted strengths are kept in ``truth``:

    >>> sim = pairwise(4, 50, length_bias=0.5, rng=0)
    >>> sim.judgments.kind, sim.judgments.frame.height, sim.judgments.judges
    ('pairwise', 600, ('judge-atlas', 'judge-borealis'))
    >>> max(sim.truth.strengths, key=sim.truth.strengths.get), sim.truth.length_bias
    ('cirrus-1', 0.5)
    """
    gen, seed = as_generator(rng)
    models, s, all_judges, noise, items = _setup(
        n_models, n_items, judges, n_humans, strengths, judge_noise, human_noise, gen
    )
    m = len(models)
    if n_reps < 1:
        raise ParameterError(f"`n_reps` must be at least 1; got {n_reps}")
    if tie_threshold < 0:
        raise ParameterError(f"`tie_threshold` must not be negative; got {tie_threshold}")
    scale = _scales(all_judges, judge_scale)
    lengths, z = _lengths(gen, m, len(items))
    u = _item_effects(gen, item_sd, m, len(items))
    ia_all, ib_all = np.triu_indices(m, 1)
    n_j = len(all_judges)
    if pairs_per_item is None:
        n_pairs = len(ia_all)
        pair_idx = np.broadcast_to(np.arange(n_pairs), (len(items), n_j, n_pairs))
    else:
        if not 1 <= pairs_per_item <= len(ia_all):
            raise ParameterError(f"`pairs_per_item` must lie in [1, {len(ia_all)}]; got {pairs_per_item}")
        n_pairs = pairs_per_item
        pair_idx = np.argsort(gen.random((len(items), n_j, len(ia_all))), axis=2)[:, :, :n_pairs]
    orders = (0, 1) if both_orders else (None,)
    # Shape: items x judges x pairs x orders x reps.
    shape = (len(items), n_j, n_pairs, len(orders), n_reps)
    it = np.broadcast_to(np.arange(len(items))[:, None, None, None, None], shape).ravel()
    jd = np.broadcast_to(np.arange(n_j)[None, :, None, None, None], shape).ravel()
    pr = np.broadcast_to(pair_idx[:, :, :, None, None], shape).ravel()
    rep = np.broadcast_to(np.arange(n_reps)[None, None, None, None, :], shape).ravel()
    if both_orders:
        first_a = np.broadcast_to(np.array([True, False])[None, None, None, :, None], shape).ravel()
    else:  # a repeat is the same prompt again: one presentation order for all repeats of a verdict
        first_a = np.broadcast_to(gen.random((*shape[:4], 1)) < 0.5, shape).ravel()
    ia, ib = ia_all[pr], ib_all[pr]
    # Randomise which model is called a (so a is not always the lower index).
    flip = np.broadcast_to(gen.random((len(items), n_j, n_pairs, 1, 1)) < 0.5, shape).ravel()
    ia, ib = np.where(flip, ib, ia), np.where(flip, ia, ib)
    fam = np.array([_family(x) for x in models])
    jfam = np.array([_family(j) for j in all_judges])
    is_human = np.array([j.startswith("human") for j in all_judges])
    same_a = (fam[ia] == jfam[jd]) & ~is_human[jd]
    same_b = (fam[ib] == jfam[jd]) & ~is_human[jd]
    bias_on = ~is_human[jd]
    d = (
        scale[jd] * (s[ia] - s[ib] + u[ia, it] - u[ib, it])
        + bias_on * length_bias * (z[ia, it] - z[ib, it])
        + bias_on * self_preference * (same_a.astype(float) - same_b.astype(float))
        + bias_on * position_bias * np.where(first_a, 1.0, -1.0)
        + gen.normal(0.0, 1.0, it.size) * noise[jd]
    )
    p_a = 1.0 / (1.0 + np.exp(-(d - tie_threshold)))
    p_b = 1.0 / (1.0 + np.exp(-(-d - tie_threshold)))
    u = gen.random(it.size)
    outcome = np.where(u < p_a, 0, np.where(u < p_a + p_b, 1, 2))
    model_arr = np.array(models)
    frame = pl.DataFrame(
        {
            "item": np.array(items)[it],
            "judge": np.array(all_judges)[jd],
            "model_a": model_arr[ia],
            "model_b": model_arr[ib],
            "outcome": pl.Series(np.array(["a", "b", "tie"])[outcome]).cast(pl.Enum(["a", "b", "tie"])),
            "shown_first": pl.Series(np.where(first_a, "a", "b")).cast(pl.Enum(["a", "b"])),
            "len_a": lengths[ia, it],
            "len_b": lengths[ib, it],
            "rep": rep.astype(np.int64),
        }
    )
    truth = Truth(
        strengths=dict(zip(models, s.tolist(), strict=True)),
        families={x: _family(x) for x in models + all_judges},
        judge_noise=dict(zip(all_judges, noise.tolist(), strict=True)),
        item_difficulty={},
        position_bias=position_bias,
        length_bias=length_bias,
        self_preference=self_preference,
        tie_threshold=tie_threshold,
        judge_scale=dict(zip(all_judges, scale.tolist(), strict=True)),
        item_sd=float(item_sd),
        seed=seed,
    )
    prov = {"format": "simulated", "seed": seed if seed is not None else "generator"}
    return Simulation(Judgments(frame, kind="pairwise", provenance=prov), truth)


@validate_params({
    "n_models": [Interval(Integral, 2, None, closed="left")],
    "n_items": [Interval(Integral, 1, None, closed="left")],
    "n_humans": [Interval(Integral, 0, None, closed="left")],
    "n_reps": [Interval(Integral, 1, None, closed="left")],
    "item_difficulty_sd": [Interval(Real, 0, None, closed="left")],
    "length_bias": ["finite"],
    "self_preference": ["finite"],
    "judge_offset_sd": [Interval(Real, 0, None, closed="left")],
    "judge_noise": [Interval(Real, 0, None, closed="left"), Mapping],
    "human_noise": [Interval(Real, 0, None, closed="left")],
    "judge_scale": [Interval(Real, 0, None, closed="neither"), Mapping],
    "item_sd": [Interval(Real, 0, None, closed="left")],
    "rng": ["rng"],
})
def pointwise(
    n_models: int = 6,
    n_items: int = 100,
    *,
    judges: Sequence[str] = ("judge-atlas", "judge-borealis"),
    n_humans: int = 3,
    strengths: Sequence[float] | Mapping[str, float] | None = None,
    scale: tuple[int, int] | None = (1, 10),
    n_reps: int = 1,
    item_difficulty_sd: float = 1.0,
    length_bias: float = 0.0,
    self_preference: float = 0.0,
    judge_offset_sd: float = 0.5,
    judge_noise: float | Mapping[str, float] = 0.7,
    human_noise: float = 1.0,
    judge_scale: float | Mapping[str, float] = 1.0,
    item_sd: float = 0.0,
    rng: np.random.Generator | int | None = None,
) -> Simulation:
    """Simulate pointwise grades.

    ``score = mid + 1.5 k_judge (s_model + u_item,model) - 1.5 difficulty_item + offset_judge
    + length_bias z + self_preference same_family + noise``, rounded and clipped to ``scale``
    (continuous when ``scale`` is None). ``k`` is the judge's sharpness (``judge_scale``,
    humans 1) and ``u`` the item × model quality effects (sd ``item_sd``), as in
    :func:`pairwise`.

    Parameters
    ----------
    n_models, n_items
        Sizes (``n_models`` is ignored when ``strengths`` is a mapping of names).
    judges, n_humans
        Model judges (``judge-<family>``) and the number of human raters (no biases).
    strengths
        Planted model qualities (one per model, or a mapping from name); drawn from N(0, 1)
        when omitted.
    scale
        ``(low, high)``: scores are rounded and clipped to these whole grades (mid-point
        ``(low + high) / 2``); ``None`` keeps them continuous (mid-point 5.5).
    n_reps
        Repeats of each score (``rep``).
    item_difficulty_sd
        Standard deviation of the items' difficulty, shared by every model and judge.
    length_bias, self_preference
        The planted effects on the grade: per standard deviation of the output's length (model
        judges only), and for a judge grading a model of its own family.
    judge_offset_sd
        Standard deviation of each model judge's leniency (humans: half of it).
    judge_noise, human_noise
        Standard deviation of the per-score noise of model judges (one value, or per judge name)
        and humans.
    judge_scale
        Sharpness of the model judges (one value, or per judge name), as in :func:`pairwise`.
    item_sd
        Standard deviation of item × model quality effects shared by every judge and human.
    rng
        Seed or generator.

    Returns
    -------
    Simulation
        ``.judgments`` (pointwise, with ``length``) and ``.truth``.

    Examples
    --------
    >>> from metaeval import simulate
    >>> sim = simulate.pointwise(n_models=2, n_items=5, n_humans=1, judges=("judge-atlas",), rng=0)
    >>> sim.judgments.models, sim.judgments.judges
    (('atlas-1', 'borealis-1'), ('human:1', 'judge-atlas'))
    >>> scores = sim.judgments.frame["score"]  # whole grades on the 1-10 scale
    >>> float(scores.min()) >= 1, float(scores.max()) <= 10, bool((scores == scores.round()).all())
    (True, True, True)
    """
    gen, seed = as_generator(rng)
    models, s, all_judges, noise, items = _setup(
        n_models, n_items, judges, n_humans, strengths, judge_noise, human_noise, gen
    )
    if n_reps < 1:
        raise ParameterError(f"`n_reps` must be at least 1; got {n_reps}")
    if scale is not None and (len(scale) != 2 or scale[0] >= scale[1]):
        raise ParameterError(f"`scale` must be (low, high) with low < high; got {scale!r}")
    m, n_i, n_j = len(models), len(items), len(all_judges)
    k_scale = _scales(all_judges, judge_scale)
    lengths, z = _lengths(gen, m, n_i)
    diff = gen.normal(0.0, item_difficulty_sd, n_i)
    offset = gen.normal(0.0, judge_offset_sd, n_j)
    is_human = np.array([j.startswith("human") for j in all_judges])
    offset[is_human] = gen.normal(0.0, judge_offset_sd / 2, is_human.sum())
    u = _item_effects(gen, item_sd, m, n_i)
    shape = (n_i, n_j, m, n_reps)
    it = np.broadcast_to(np.arange(n_i)[:, None, None, None], shape).ravel()
    jd = np.broadcast_to(np.arange(n_j)[None, :, None, None], shape).ravel()
    md = np.broadcast_to(np.arange(m)[None, None, :, None], shape).ravel()
    rep = np.broadcast_to(np.arange(n_reps)[None, None, None, :], shape).ravel()
    fam = np.array([_family(x) for x in models])
    jfam = np.array([_family(j) for j in all_judges])
    same = (fam[md] == jfam[jd]) & ~is_human[jd]
    mid = 5.5 if scale is None else (scale[0] + scale[1]) / 2
    latent = (
        mid
        + 1.5 * (k_scale[jd] * (s[md] + u[md, it]) - diff[it])
        + offset[jd]
        + ~is_human[jd] * length_bias * z[md, it]
        + self_preference * same
        + gen.normal(0.0, 1.0, it.size) * noise[jd]
    )
    score = latent if scale is None else np.clip(np.round(latent), scale[0], scale[1])
    frame = pl.DataFrame(
        {
            "item": np.array(items)[it],
            "judge": np.array(all_judges)[jd],
            "model": np.array(models)[md],
            "score": score.astype(float),
            "length": lengths[md, it],
            "rep": rep.astype(np.int64),
        }
    )
    truth = Truth(
        strengths=dict(zip(models, s.tolist(), strict=True)),
        families={x: _family(x) for x in models + all_judges},
        judge_noise=dict(zip(all_judges, noise.tolist(), strict=True)),
        item_difficulty=dict(zip(items, diff.tolist(), strict=True)),
        length_bias=length_bias,
        self_preference=self_preference,
        judge_offset=dict(zip(all_judges, offset.tolist(), strict=True)),
        judge_scale=dict(zip(all_judges, k_scale.tolist(), strict=True)),
        item_sd=float(item_sd),
        seed=seed,
    )
    prov = {"format": "simulated", "seed": seed if seed is not None else "generator"}
    return Simulation(Judgments(frame, kind="pointwise", provenance=prov), truth)


@dataclass(frozen=True)
class JurySimulation:
    """A simulated panel study: pairwise verdicts by judges of known accuracy, and the gold label.

    ``accuracies`` are each judge's planted accuracy; errors are correlated across judges through
    a shared item factor (``correlation``) and, within a cluster of judges, a cluster factor
    (``cluster_correlation``) — the latent-variable correlation of two judges' error propensities.
    """

    judgments: Judgments
    accuracies: dict[str, float]
    correlation: float
    clusters: dict[str, int]
    cluster_correlation: float
    costs: dict[str, float]
    seed: int | None

    def majority_accuracy(self, members: Sequence[str]) -> float:
        """The exact accuracy of the members' majority vote when their errors are independent
        (``correlation`` = ``cluster_correlation`` = 0); an even split is decided by the first member.

        >>> from metaeval import simulate
        >>> round(simulate.jury(10, accuracies=(0.7, 0.7, 0.7), rng=0).majority_accuracy(
        ...     ["judge-1", "judge-2", "judge-3"]), 3)
        0.784
        """
        import itertools

        p = [self.accuracies[m] for m in members]
        k = len(p)
        total = 0.0
        for right in itertools.product((True, False), repeat=k):
            prob = float(np.prod([pi if r else 1 - pi for pi, r in zip(p, right, strict=True)]))
            n_right = sum(right)
            if 2 * n_right > k or (2 * n_right == k and right[0]):
                total += prob
        return total


@validate_params({
    "n_items": [Interval(Integral, 1, None, closed="left")],
    "correlation": [Interval(Real, 0, 1, closed="left")],
    "cluster_correlation": [Interval(Real, 0, 1, closed="left")],
    "rng": ["rng"],
})
def jury(
    n_items: int = 500,
    *,
    accuracies: Sequence[float] = (0.85, 0.75, 0.75, 0.7, 0.6),
    names: Sequence[str] | None = None,
    correlation: float = 0.0,
    clusters: Sequence[int] | None = None,
    cluster_correlation: float = 0.0,
    costs: Sequence[float] | None = None,
    models: Sequence[str] = ("atlas-1", "borealis-1", "cirrus-1", "draco-1"),
    rng: np.random.Generator | int | None = None,
) -> JurySimulation:
    """Simulate judges of known accuracy voting on pairs with a gold label.

    Judge j errs on item i when Φ(√ρ zᵢ + √ρ_c u_{i,c(j)} + √(1 − ρ − ρ_c) εᵢⱼ) < 1 − accⱼ, with
    zᵢ a shared item difficulty, u a factor shared within judge cluster c(j) and ε independent
    (a Gaussian copula: each judge's accuracy is exactly accⱼ, whatever the correlation).
    The gold label is judge ``gold``; ``costs`` (per verdict) fill the ``cost`` column.

    Parameters
    ----------
    n_items : int, default 500
        Items; each is one random pair of ``models`` with a gold verdict (a or b, even odds).
    accuracies : sequence of float, default (0.85, 0.75, 0.75, 0.7, 0.6)
        Each judge's accuracy against the gold label, in (0, 1).
    names : sequence of str, optional
        The judges' names. Default: ``judge-1``, ``judge-2``, ….
    correlation : float, default 0.0
        ρ, the share of the latent error propensity shared by all judges on an item.
    clusters : sequence of int, optional
        A cluster label per judge (e.g. judges built on one base model). Default: one cluster.
    cluster_correlation : float, default 0.0
        ρ_c, the share shared within a cluster; ρ + ρ_c must stay below 1.
    costs : sequence of float, optional
        The price of one verdict per judge (the ``cost`` column).
    models : sequence of str, default ("atlas-1", "borealis-1", "cirrus-1", "draco-1")
        The models the pairs are drawn from (at least two).
    rng : int, numpy.random.Generator or None
        Seed or generator.

    Returns
    -------
    JurySimulation
        The pairwise ``judgments`` (judge ``gold`` and the panel) and the planted
        ``accuracies``, ``correlation``, ``clusters``, ``cluster_correlation`` and costs.

    Examples
    --------
    >>> from metaeval import simulate
    >>> sim = simulate.jury(1000, accuracies=(0.9, 0.6), rng=0)
    >>> sim.judgments.judges
    ('gold', 'judge-1', 'judge-2')
    """
    from scipy.stats import norm

    gen, seed = as_generator(rng)
    acc = np.asarray(accuracies, float)
    k = acc.size
    if k < 1 or np.any((acc <= 0) | (acc >= 1)):
        raise ParameterError(f"`accuracies` must lie in (0, 1); got {list(accuracies)}")
    if n_items < 1:
        raise ParameterError(f"`n_items` must be at least 1; got {n_items}")
    names = list(names) if names is not None else [f"judge-{i + 1}" for i in range(k)]
    if len(names) != k:
        raise MetaevalError(f"`names` has {len(names)} entries for {k} accuracies")
    cl = np.zeros(k, int) if clusters is None else np.asarray(clusters, int)
    if cl.size != k:
        raise MetaevalError(f"`clusters` has {cl.size} entries for {k} judges")
    if correlation < 0 or cluster_correlation < 0 or correlation + cluster_correlation >= 1:
        raise ParameterError("`correlation` and `cluster_correlation` must be ≥ 0 with a sum below 1; got "
                            f"{correlation} and {cluster_correlation}")
    if len(models) < 2:
        raise MetaevalError("`models` needs at least two names")
    z = gen.standard_normal((n_items, 1))
    u = gen.standard_normal((n_items, int(cl.max()) + 1))[:, cl]
    e = gen.standard_normal((n_items, k))
    latent = np.sqrt(correlation) * z + np.sqrt(cluster_correlation) * u \
        + np.sqrt(1 - correlation - cluster_correlation) * e
    wrong = norm.cdf(latent) < (1 - acc)[None, :]
    gold_a = gen.random(n_items) < 0.5
    pair = np.array([gen.choice(len(models), 2, replace=False) for _ in range(n_items)])
    items = [f"q{i + 1}" for i in range(n_items)]
    ma = [models[p[0]] for p in pair]
    mb = [models[p[1]] for p in pair]
    says_a = np.where(wrong, ~gold_a[:, None], gold_a[:, None])
    cost_of = dict(zip(names, costs, strict=True)) if costs is not None else {}
    if costs is not None and len(costs) != k:
        raise MetaevalError(f"`costs` has {len(costs)} entries for {k} judges")
    frames = [pl.DataFrame({"item": items, "judge": "gold", "model_a": ma, "model_b": mb,
                            "outcome": np.where(gold_a, "a", "b")})]
    for j, name in enumerate(names):
        cols = {"item": items, "judge": name, "model_a": ma, "model_b": mb,
                "outcome": np.where(says_a[:, j], "a", "b")}
        if costs is not None:
            cols["cost"] = np.full(n_items, float(cost_of[name]))
        frames.append(pl.DataFrame(cols))
    table = Judgments(pl.concat(frames, how="diagonal_relaxed"), kind="pairwise",
                      provenance={"format": "metaeval.simulate.jury", "seed": seed})
    return JurySimulation(table, dict(zip(names, acc.tolist(), strict=True)), float(correlation),
                          dict(zip(names, cl.tolist(), strict=True)), float(cluster_correlation), cost_of, seed)


@dataclass(frozen=True)
class PeerSimulation:
    """Models reviewing each other: the verdicts, each model's strength and its accuracy as a reviewer."""

    judgments: Judgments
    strengths: dict[str, float]
    reviewer_accuracy: dict[str, float]
    seed: int | None

    @property
    def ranking(self) -> tuple[str, ...]:
        """Models from strongest to weakest."""
        return tuple(sorted(self.strengths, key=lambda m: -self.strengths[m]))


@validate_params({
    "n_models": [Interval(Integral, 3, None, closed="left")],
    "n_items": [Interval(Integral, 1, None, closed="left")],
    "pairs_per_reviewer": [Interval(Integral, 1, None, closed="left")],
    "rng": ["rng"],
})
def peer_reviews(
    n_models: int = 6,
    n_items: int = 200,
    *,
    pairs_per_reviewer: int = 1,
    accuracy_range: tuple[float, float] = (0.55, 0.95),
    rng: np.random.Generator | int | None = None,
) -> PeerSimulation:
    """Simulate PiCO's setting: every model answers every item, and on each item every model
    reviews ``pairs_per_reviewer`` random pairs of the others' answers.

    The better answer of a pair is drawn from a Bradley–Terry model of the strengths; a reviewer
    names it with its accuracy, which rises with the reviewer's strength from
    ``accuracy_range[0]`` (weakest) to ``accuracy_range[1]`` (strongest) — PiCO's consistency
    assumption.

    Parameters
    ----------
    n_models : int, default 6
        Models (at least 3: a reviewer judges two others).
    n_items : int, default 200
        Items.
    pairs_per_reviewer : int, default 1
        Pairs each model reviews on each item (``rep`` tells them apart).
    accuracy_range : tuple of (float, float), default (0.55, 0.95)
        The reviewers' accuracies, from the weakest model's to the strongest's (evenly spaced
        in rank order), within (0, 1).
    rng : int, numpy.random.Generator or None
        Seed or generator.

    Returns
    -------
    PeerSimulation
        The pairwise ``judgments`` (each model a judge), the planted ``strengths`` (log-odds)
        and each model's ``reviewer_accuracy``.

    Examples
    --------
    >>> from metaeval import simulate
    >>> sim = simulate.peer_reviews(n_models=4, n_items=10, rng=0)
    >>> len(sim.judgments) == 4 * 10
    True
    """
    gen, seed = as_generator(rng)
    if n_models < 3:
        raise ParameterError(f"`n_models` must be at least 3 (a reviewer judges two others); got {n_models}")
    lo, hi = accuracy_range
    if not 0 < lo <= hi < 1:
        raise ParameterError(f"`accuracy_range` must satisfy 0 < low ≤ high < 1; got {accuracy_range}")
    models = _model_names(n_models)
    s = gen.normal(0, 1, n_models)
    order = np.argsort(-s)
    acc = np.empty(n_models)
    acc[order] = np.linspace(hi, lo, n_models)
    rows: dict[str, list[Any]] = {"item": [], "judge": [], "model_a": [], "model_b": [], "outcome": [], "rep": []}
    for i in range(n_items):
        for v in range(n_models):
            others = [x for x in range(n_models) if x != v]
            for rep in range(pairs_per_reviewer):
                a, b = gen.choice(others, 2, replace=False)
                a_better = gen.random() < 1 / (1 + np.exp(s[b] - s[a]))
                says_a = a_better if gen.random() < acc[v] else not a_better
                rows["item"].append(f"q{i + 1}")
                rows["judge"].append(models[v])
                rows["model_a"].append(models[a])
                rows["model_b"].append(models[b])
                rows["outcome"].append("a" if says_a else "b")
                rows["rep"].append(rep)
    table = Judgments(pl.DataFrame(rows), kind="pairwise", provenance={"format": "metaeval.simulate.peer_reviews",
                                                                         "seed": seed})
    return PeerSimulation(table, dict(zip(models, s.tolist(), strict=True)),
                          dict(zip(models, acc.tolist(), strict=True)), seed)
