"""Table-level agreement: coefficients with intervals, judge × judge matrices, judges against a
reference, and pairwise judges against a gold label in both presentation orders."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats as st

from metaeval._progress import task, track
from metaeval._random import as_generator
from metaeval._validate import LEVEL, Interval, Options, renamed_parameters, validate_params
from metaeval.agreement.icc import icc_anova, icc_from_anova
from metaeval.agreement.kernels import (
    agreement_coefficient,
    category_counts,
    cohen_kappa_array,
    pairwise_accuracy,
    two_order_metrics,
    weight_matrix,
)
from metaeval.agreement.krippendorff import alpha_bootstrap, krippendorff_alpha_array
from metaeval.errors import (
    DataDroppedWarning,
    EstimationWarning,
    InsufficientDataError,
    MetaevalError,
    MissingVerdictWarning,
    ParameterError,
    SmallSampleWarning,
    warn,
)
from metaeval.report.charts import forest, heatmap
from metaeval.results import ConfidenceInterval, Result, RunInfo, check_confidence_level
from metaeval.stats.intervals import proportion_interval
from metaeval.stats.resampling import DEFAULT_N_RESAMPLES, cluster_weights, percentile_interval
from metaeval.tables import (
    ABSTAINED,
    UNIT_KEYS,
    Judgments,
    as_judgments,
    broadcast_units,
    canonical,
    check_missing,
    majority,
)

__all__ = [
    "Agreement",
    "AgreementMatrix",
    "RatingMatrix",
    "against",
    "brennan_prediger",
    "cohen_kappa",
    "correlation",
    "fleiss_kappa",
    "gwet_ac",
    "icc",
    "krippendorff_alpha",
    "matrix",
    "percent_agreement",
    "rating_matrix",
    "scott_pi",
    "two_order",
]

CI = Literal["bootstrap", "analytic", "none"]


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class RatingMatrix:
    """Units × raters values (``nan`` = not rated), the item of each unit and the labels.

    A unit is one thing judged: (item, model, variant, task, rep) for pointwise tables, and the
    pair (item, model_a, model_b, variant, task, rep, shown_first) for pairwise ones, with the
    pair put in a fixed order (the verdict flipped accordingly). Text labels and pairwise
    outcomes are coded 0, 1, … in sorted order (``labels``).
    """

    values: np.ndarray
    raters: tuple[str, ...]
    item_codes: np.ndarray
    n_items: int
    labels: tuple[str, ...] | None
    numeric: bool

    def subset(self, raters: Sequence[str]) -> RatingMatrix:
        idx = [self.raters.index(r) for r in raters]
        vals = self.values[:, idx]
        keep = np.sum(~np.isnan(vals), axis=1) > 0
        return RatingMatrix(vals[keep], tuple(raters), self.item_codes[keep], self.n_items, self.labels, self.numeric)


MissingPolicy = Literal["drop", "wrong", "tie"]


@validate_params({
    "value": [Options(str, ("auto", "score", "label"))],
    "missing": [Options(str, ("drop", "wrong", "tie"))],
})
def rating_matrix(judgments: Judgments, *, judges: Sequence[str] | None = None,
                  value: Literal["auto", "score", "label"] = "auto", missing: MissingPolicy = "drop") -> RatingMatrix:
    """Reshape a judgments table into units × judges.

    A unit is what a verdict is about (:data:`metaeval.tables.UNIT_KEYS`); a judge that did not
    record some key (a gold label given once, without a presentation order or a prompt variant)
    is compared on every unit it matches (:func:`metaeval.tables.broadcast_units`).

    Parameters
    ----------
    judgments : Judgments
        The validated table of verdicts (anything :func:`metaeval.tables.as_judgments` accepts).
    judges : sequence of str, optional
        The judges whose ratings enter the coefficient. Default: every judge in the table.
    value : {"auto", "score", "label"}, default "auto"
        Which verdict fills the matrix: ``"score"`` (numeric scores), ``"label"`` (categories or
        pairwise outcomes), or ``"auto"``: scores for a pointwise table with scores, the labels or
        outcomes otherwise.
    missing : {"drop", "wrong", "tie"}, default "drop"
        What a judge's abstention (a row without a verdict) counts as: ``"drop"`` leaves it out
        (the unit is not rated by that judge); ``"wrong"`` makes it a category of its own
        (:data:`ABSTAINED`) that agrees with no real verdict; ``"tie"`` counts a pairwise abstention
        as a tie. Numeric scores take ``"drop"`` only.

    Returns
    -------
    RatingMatrix
        ``values`` (units × judges, float, nan where a judge did not rate a unit; categories are
        coded 0, 1, … in the order of ``labels``), ``raters`` (the column names), ``item_codes`` (the
        item of each unit, for bootstraps over items), ``n_items``, ``labels`` (None for numeric
        scores) and ``numeric``.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import agreement
    >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=40, n_humans=2, rng=0)
    >>> rm = agreement.rating_matrix(sim.judgments)
    >>> rm.values.shape, rm.raters
    ((120, 4), ('human:1', 'human:2', 'judge-atlas', 'judge-borealis'))
    """
    judgments = as_judgments(judgments)
    check_missing(missing)
    f = judgments.frame if missing == "drop" else judgments.all_rows()
    if judges is not None:
        unknown = [j for j in judges if j not in judgments.judges and
                   j not in set(judgments.abstentions["judge"].to_list())]
        if unknown:
            raise MetaevalError(f"unknown judge {unknown[0]!r}; the table has {', '.join(judgments.judges)}")
        f = f.filter(pl.col("judge").is_in(list(judges)))
    abstained = pl.lit(False)
    if judgments.kind == "pointwise":
        if value == "auto":
            value = "score" if "score" in f.columns and f["score"].null_count() < f.height else "label"
        if value not in f.columns:
            raise MetaevalError(f"the table has no `{value}` column")
        verdict_cols = [c for c in ("score", "label") if c in f.columns]
        abstained = pl.all_horizontal([pl.col(c).is_null() for c in verdict_cols])
        f = f.filter(pl.col(value).is_not_null() | abstained)
        numeric = value == "score"
        n_abst = int(f.select(abstained.sum()).item())
        if numeric:
            if n_abst and missing != "drop":
                raise MetaevalError(f"`missing={missing!r}` needs categorical verdicts; numeric scores take "
                                    f"missing='drop' ({n_abst} abstentions)")
            f = f.with_columns(pl.col("score").alias("__v"))
            labels = None
        else:
            if n_abst and missing == "tie":
                raise MetaevalError("`missing='tie'` applies to pairwise verdicts; use 'drop' or 'wrong' for labels")
            labels = tuple(sorted(f["label"].drop_nulls().unique().to_list()))
            if n_abst:
                labels = (*labels, ABSTAINED)
            codes = {lab: float(i) for i, lab in enumerate(labels)}
            f = f.with_columns(pl.col("label").fill_null(ABSTAINED).replace_strict(codes, return_dtype=pl.Float64)
                               .alias("__v"))
    else:
        f = canonical(f)
        abstained = pl.col("outcome").is_null()
        n_abst = int(f.select(abstained.sum()).item())
        labels = ("a", "b", "tie") + ((ABSTAINED,) if n_abst and missing == "wrong" else ())
        numeric = False
        fill = {"wrong": ABSTAINED, "tie": "tie", "drop": ABSTAINED}[missing]
        f = f.with_columns(pl.col("outcome").fill_null(fill).replace_strict(
            {lab: float(i) for i, lab in enumerate(("a", "b", "tie", ABSTAINED))}, return_dtype=pl.Float64)
            .alias("__v"))
    keys = [k for k in UNIT_KEYS[judgments.kind] if k in f.columns]
    f = broadcast_units(f, keys)
    dup = f.select(pl.struct([*keys, "judge"]).is_duplicated()).to_series()
    if dup.any():
        warn(f"{int(dup.sum())} verdicts repeat a judge on the same unit; the first of each is used",
             DataDroppedWarning)
        f = f.filter(~pl.struct([*keys, "judge"]).is_duplicated() | pl.struct([*keys, "judge"]).is_first_distinct())
    raters = tuple(sorted(f["judge"].unique().to_list()))
    unit = f.select(pl.struct(keys).rank("dense").cast(pl.Int64) - 1).to_series().to_numpy()
    n_units = int(unit.max()) + 1 if unit.size else 0
    ridx = f["judge"].replace_strict({r: i for i, r in enumerate(raters)}, return_dtype=pl.Int64).to_numpy()
    values = np.full((n_units, len(raters)), np.nan)
    values[unit, ridx] = f["__v"].to_numpy()
    items = f["item"].to_numpy()
    item_of_unit = np.empty(n_units, dtype=object)
    item_of_unit[unit] = items
    codes_ = np.unique(item_of_unit.astype(str), return_inverse=True)[1]
    return RatingMatrix(values, raters, codes_, int(codes_.max()) + 1 if codes_.size else 0, labels, numeric)


def overlap_problem(judgments: Judgments, judge: str, other: str) -> str:
    """Why two judges share no unit: the first key column on which their verdicts never meet."""
    f = broadcast_units(judgments.all_rows(), [k for k in UNIT_KEYS[judgments.kind]
                                              if k in judgments.frame.columns])
    a, b = f.filter(pl.col("judge") == judge), f.filter(pl.col("judge") == other)
    if a.height == 0 or b.height == 0:
        return f"{judge if a.height == 0 else other!r} has no verdicts"
    if judgments.kind == "pairwise":
        a, b = canonical(a), canonical(b)
    met = a.select("item").unique(maintain_order=True).join(b.select("item").unique(maintain_order=True), on="item")
    if met.height == 0:
        return (f"they judged no item in common ({judge!r}: e.g. {a['item'][0]!r}; {other!r}: e.g. "
                f"{b['item'][0]!r})")
    for k in [c for c in UNIT_KEYS[judgments.kind] if c in f.columns and c != "item"]:
        on = ["item", k]
        if a.select(on).unique().join(b.select(on).unique(), on=on, nulls_equal=True).height == 0:
            va = sorted(map(str, a[k].unique().to_list()))[:3]
            vb = sorted(map(str, b[k].unique().to_list()))[:3]
            return (f"on their common items they never share a value of `{k}` ({judge!r}: {', '.join(va)}; "
                    f"{other!r}: {', '.join(vb)})")
    return "no unit matches on every key column at once"


# ------------------------------------------------------------------------- result
@dataclass(frozen=True)
class Agreement(Result):
    """One agreement coefficient with its interval.

    ``ci.method`` says how the interval was made: ``"bootstrap (items)"`` resamples items (all
    units of an item together); ``"analytic"`` is the coefficient's linearised standard error.
    ``draws`` keeps the bootstrap values of the coefficient, and ``df`` the degrees of freedom of
    an analytic t interval (``None``: a normal quantile), so :meth:`confidence_interval` gives the
    interval at another level.
    """

    coefficient: str
    estimate: float
    ci: ConfidenceInterval
    se: float
    n_units: int
    raters: tuple[str, ...]
    details: dict[str, Any]
    run_info: RunInfo
    draws: np.ndarray | None = field(default=None, repr=False, compare=False)
    df: int | None = None

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """The coefficient's interval at another level, made as ``ci`` was: the percentile interval of
        the kept bootstrap draws, or the estimate ± the quantile times the analytic standard error.
        At ``ci.level`` it is ``ci`` exactly.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Coverage of the interval, in (0, 1).

        Returns
        -------
        ConfidenceInterval
            The interval (``nan`` bounds where the coefficient or its interval cannot be estimated).

        Raises
        ------
        ParameterError
            When the coefficient was computed with ``ci="none"``: it kept neither draws nor a
            standard error.

        Examples
        --------
        >>> import metaeval
        >>> from metaeval import agreement
        >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=60, n_humans=3, judges=(), scale=(1, 3), rng=0)
        >>> a = agreement.fleiss_kappa(sim.judgments, n_resamples=200, rng=1)
        >>> a.confidence_interval(a.ci.level) == a.ci
        True
        >>> a.confidence_interval(0.8).width < a.ci.width
        True
        """
        level = check_confidence_level(confidence_level)
        method = self.ci.method
        if self.draws is not None:
            return _interval(self.estimate, self.se, self.draws, level, method, self.df)[0]
        if method == "none":
            raise ParameterError(f"{self.coefficient} was computed with ci='none': it kept neither bootstrap draws "
                                 "nor a standard error; compute it again with ci='bootstrap' or ci='analytic'")
        if not np.isfinite(self.estimate):
            return ConfidenceInterval(np.nan, np.nan, level, method)
        if method.startswith("analytic"):
            return _interval(self.estimate, self.se, None, level, method, self.df)[0]
        raise ParameterError(f"this {self.coefficient} kept neither its bootstrap draws nor an analytic standard "
                             f"error (interval {method!r}): compute it again with "
                             f"`confidence_level={confidence_level!r}`")

    @property
    def title(self) -> str:  # type: ignore[override]
        return self.coefficient

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({
            "coefficient": [self.coefficient], "estimate": [self.estimate], "ci_low": [self.ci.low],
            "ci_high": [self.ci.high], "se": [self.se], "ci_method": [self.ci.method], "n_units": [self.n_units],
            "n_raters": [len(self.raters)],
        })


def _interval(estimate: float, se: float, boot: np.ndarray | None, level: float, method: str,
              df: int | None = None) -> tuple[ConfidenceInterval, float]:
    a = (1 - level) / 2
    if boot is not None:
        good = boot[np.isfinite(boot)]
        if good.size < 2:
            return ConfidenceInterval(np.nan, np.nan, level, method), np.nan
        lo, hi = percentile_interval(good, level)
        return ConfidenceInterval(float(lo), float(hi), level, method), float(good.std(ddof=1))
    if not np.isfinite(se):
        return ConfidenceInterval(np.nan, np.nan, level, method), se
    q = st.t.ppf(1 - a, df) if df else st.norm.ppf(1 - a)
    return ConfidenceInterval(estimate - q * se, estimate + q * se, level, method), se


def _item_weights(rm: RatingMatrix, n_resamples: int, gen: np.random.Generator) -> np.ndarray:
    return cluster_weights(rm.n_items, n_resamples, gen)[:, rm.item_codes]


def _run(method: str, params: dict[str, Any], seed: int | None, j: Judgments, n_units: int) -> RunInfo:
    return RunInfo(method, params, seed, j.fingerprint, n_units, len(j))


# ---------------------------------------------------------------- Gwet's family
def _gwet_family(name: str, method: str, judgments: Judgments, *, judges: Sequence[str] | None, weights: Any,
                 ci: CI, n_resamples: int, confidence_level: float, rng: Any,
                 missing: MissingPolicy = "drop") -> Agreement:
    gen, seed = as_generator(rng)
    rm = rating_matrix(judgments, judges=judges, missing=missing)
    try:
        if rm.values.shape[1] < 2:
            raise InsufficientDataError(f"it needs at least two judges; the table has {len(rm.raters)}")
        coef = agreement_coefficient(rm.values, method, weights=weights)  # type: ignore[arg-type]
    except InsufficientDataError as exc:
        warn(f"{name} is nan: {exc}", EstimationWarning)
        nan = float("nan")
        return Agreement(name, nan, ConfidenceInterval(nan, nan, confidence_level, ci), nan, 0, rm.raters, {},
                         _run(method, {}, seed, judgments, 0))
    boot = None
    if ci == "bootstrap":
        boot = _bootstrap_gwet(rm, method, weights, n_resamples, gen)
    label = "bootstrap (items)" if ci == "bootstrap" else ("analytic (Gwet)" if ci == "analytic" else "none")
    interval, se = _interval(coef.value, coef.se, boot, confidence_level, label, df=max(coef.n_units - 1, 1))
    if ci == "none":
        interval = ConfidenceInterval(np.nan, np.nan, confidence_level, "none")
    details = {"pa": coef.pa, "pe": coef.pe, "se_analytic": coef.se, "weights": weights if isinstance(weights, str)
               else "custom"}
    params = {"weights": details["weights"], "ci": ci, "n_resamples": n_resamples, "judges": list(rm.raters),
              "missing": missing}
    return Agreement(name, coef.value, interval, se if ci == "bootstrap" else coef.se, coef.n_units, rm.raters,
                     details, _run(method, params, seed, judgments, coef.n_units), boot,
                     max(coef.n_units - 1, 1) if ci == "analytic" else None)


def _bootstrap_gwet(rm: RatingMatrix, method: str, weights: Any, n_resamples: int, gen: np.random.Generator,
                    chunk: int = 200) -> np.ndarray:
    counts, cats = category_counts(rm.values)
    ri = counts.sum(1)
    keep = ri > 0
    counts, ri, items = counts[keep], ri[keep], rm.item_codes[keep]
    q = cats.size
    if method == "krippendorff":
        raise MetaevalError("use krippendorff_alpha")  # pragma: no cover
    w = weight_matrix(cats, weights, marginals=counts.sum(0))
    two = (ri >= 2).astype(float)
    cw = counts @ w.T
    pa_i = np.where(ri >= 2, np.sum(counts * (cw - 1), axis=1) / np.where(ri >= 2, ri * (ri - 1), 1.0), 0.0)
    p_ik = counts / ri[:, None]
    # Resampling items reweights their units: aggregate the unit statistics per item once.
    n_items = rm.n_items
    s_pa = np.bincount(items, pa_i * two, n_items)
    s_two = np.bincount(items, two, n_items)
    s_n = np.bincount(items, None, n_items).astype(float)
    s_p = np.stack([np.bincount(items, p_ik[:, k], n_items) for k in range(q)], axis=1)
    out = np.empty(n_resamples)
    for s in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - s)
        W = cluster_weights(n_items, size, gen)
        with np.errstate(invalid="ignore", divide="ignore"):
            pa = (W @ s_pa) / (W @ s_two)
            pi = (W @ s_p) / (W @ s_n)[:, None]
            if method == "fleiss":
                pe = np.einsum("bk,kl,bl->b", pi, w, pi)
            elif method == "gwet":
                pe = w.sum() * np.sum(pi * (1 - pi), axis=1) / (q * (q - 1)) if q > 1 else np.zeros(size)
            elif method == "bp":
                pe = np.full(size, w.sum() / q**2)
            else:
                pe = np.zeros(size)
            out[s:s + size] = (pa - pe) / (1 - pe)
    return out


@validate_params({
    "ci": [Options(str, ("bootstrap", "analytic", "none"))],
    "n_resamples": [Interval(Integral, 2, None, closed="left")],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
    "missing": [Options(str, ("drop", "wrong", "tie"))],
})
def fleiss_kappa(judgments: Judgments, *, judges: Sequence[str] | None = None, weights: Any = "identity",
                 ci: CI = "bootstrap", n_resamples: int = DEFAULT_N_RESAMPLES, confidence_level: float = 0.95,
                 rng: Any = None, missing: MissingPolicy = "drop") -> Agreement:
    """Fleiss' κ for any number of judges, unequal numbers of ratings per unit allowed.

    ``details`` carries both analytic standard errors: the general one (Gwet's linearisation,
    ``se_analytic``) and, for unweighted κ with the same number of ratings on every unit, the
    one under H0: κ = 0 (Fleiss, Nee & Landis 1979, ``se_h0``), with its z test p-value.

    Parameters
    ----------
    judgments : Judgments
        The validated table of verdicts (anything :func:`metaeval.tables.as_judgments` accepts).
    judges : sequence of str, optional
        The judges whose ratings enter the coefficient. Default: every judge in the table.
    weights : {"identity", "linear", "quadratic"} or array, default "identity"
        Agreement weights between categories: ``"identity"`` counts exact agreement only; ``"linear"``
        and ``"quadratic"`` give ordered scores partial credit; a q × q array sets them directly.
    ci : {"bootstrap", "analytic", "none"}, default "bootstrap"
        How the interval is made: ``"bootstrap"`` resamples items (every unit of an item together),
        ``"analytic"`` uses the coefficient's linearised standard error (Gwet 2014) with a t quantile,
        ``"none"`` gives a nan interval.
    n_resamples : int, default 1000
        Bootstrap resamples (used with ``ci="bootstrap"``).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the interval.
    rng : int, numpy.random.Generator or None
        Seed for the bootstrap; the same seed gives the same interval.
    missing : {"drop", "wrong", "tie"}, default "drop"
        What an abstention (a row without a verdict) counts as: left out, a category of its own that
        agrees with nothing, or (pairwise) a tie; see :func:`rating_matrix`.

    Returns
    -------
    Agreement
        ``estimate`` (the coefficient; nan, with an :class:`~metaeval.errors.EstimationWarning`, when it
        cannot be estimated), ``ci`` (its interval, ``ci.method`` says how it was made), ``se``,
        ``n_units`` (units with two or more ratings), ``raters`` and ``details`` (observed and chance
        agreement ``pa`` / ``pe`` and the analytic standard error ``se_analytic``).
        With unweighted κ and a constant number of ratings per unit, ``details`` also holds
        ``se_h0`` and ``pvalue_h0``.

    Notes
    -----
    Landis & Koch (1977) label κ below 0 "poor", 0–0.20 "slight", 0.21–0.40 "fair", 0.41–0.60
    "moderate", 0.61–0.80 "substantial" and 0.81–1 "almost perfect"; they called these divisions
    arbitrary, and they should be read as a rough guide only. Any chance-corrected coefficient depends on
    the prevalence of the categories and on how many categories there are (the "kappa paradoxes",
    Feinstein & Cicchetti 1990), so compare coefficients only across studies with similar category
    use, and report the interval: its lower bound, not the estimate, is what a benchmark should be
    checked against.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import agreement
    >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=60, n_humans=3, judges=(), scale=(1, 3), rng=0)
    >>> a = agreement.fleiss_kappa(sim.judgments, n_resamples=200, rng=1)
    >>> a.ci.method
    'bootstrap (items)'
    """
    judgments = as_judgments(judgments)
    res = _gwet_family("Fleiss' kappa", "fleiss", judgments, judges=judges, weights=weights, ci=ci,
                       n_resamples=n_resamples, confidence_level=confidence_level, rng=rng, missing=missing)
    if isinstance(weights, str) and weights == "identity" and np.isfinite(res.estimate):
        rm = rating_matrix(judgments, judges=judges, missing=missing)
        counts, _ = category_counts(rm.values)
        ri = counts.sum(1)
        counts = counts[ri > 0]
        ri = ri[ri > 0]
        if np.all(ri == ri[0]) and ri[0] >= 2:
            m, n = ri[0], counts.shape[0]
            p = counts.sum(0) / counts.sum()
            pq = p * (1 - p)
            se0 = np.sqrt(2) / (pq.sum() * np.sqrt(n * m * (m - 1))) * np.sqrt(pq.sum() ** 2 - np.sum(pq * (1 - 2 * p)))
            res.details["se_h0"] = float(se0)
            res.details["pvalue_h0"] = float(2 * st.norm.sf(abs(res.estimate / se0)))
    return res


def scott_pi(judgments: Judgments, judge_a: str, judge_b: str, **kwargs: Any) -> Agreement:
    """Scott's π of two judges: Fleiss' κ restricted to them (one chance model for both).

    Parameters
    ----------
    judgments : Judgments
        The validated table of verdicts (anything :func:`metaeval.tables.as_judgments` accepts).
    judge_a, judge_b : str
        The two judges.
    **kwargs
        Passed on to :func:`fleiss_kappa` (``weights``, ``ci``, ``n_resamples``,
        ``confidence_level``, ``rng``, ``missing``; the interval is bootstrapped over items by default).

    Returns
    -------
    Agreement
        As :func:`fleiss_kappa`, with ``coefficient`` "Scott's pi".

    Notes
    -----
    Scott's π takes the chance agreement from the two judges' pooled category use, Cohen's κ from
    each judge's own; they differ when the judges use the categories at different rates. The
    benchmarks of :func:`cohen_kappa` (Landis & Koch 1977, arbitrary by their own account) are
    commonly applied to π as well.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import agreement
    >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=60, n_humans=3, judges=(), scale=(1, 3), rng=0)
    >>> a = agreement.scott_pi(sim.judgments, "human:1", "human:2", n_resamples=200, rng=0)
    >>> a.coefficient, a.raters
    ("Scott's pi", ('human:1', 'human:2'))
    """
    judgments = as_judgments(judgments)
    res = fleiss_kappa(judgments, judges=[judge_a, judge_b], **kwargs)
    return Agreement("Scott's pi", res.estimate, res.ci, res.se, res.n_units, res.raters, res.details, res.run_info,
                     res.draws, res.df)


@validate_params({
    "ci": [Options(str, ("bootstrap", "analytic", "none"))],
    "n_resamples": [Interval(Integral, 2, None, closed="left")],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
    "missing": [Options(str, ("drop", "wrong", "tie"))],
})
def gwet_ac(judgments: Judgments, *, judges: Sequence[str] | None = None, weights: Any = "identity",
            ci: CI = "bootstrap", n_resamples: int = DEFAULT_N_RESAMPLES, confidence_level: float = 0.95,
            rng: Any = None, missing: MissingPolicy = "drop") -> Agreement:
    """Gwet's AC1 (``weights="identity"``) or AC2 (weighted): robust to skewed category use.

    AC1 takes chance agreement from how far category use is from uniform (Gwet 2008), so it does not
    collapse when one category dominates, as κ and α do (the prevalence paradox).

    Parameters
    ----------
    judgments : Judgments
        The validated table of verdicts (anything :func:`metaeval.tables.as_judgments` accepts).
    judges : sequence of str, optional
        The judges whose ratings enter the coefficient. Default: every judge in the table.
    weights : {"identity", "linear", "quadratic"} or array, default "identity"
        Agreement weights between categories: ``"identity"`` counts exact agreement only; ``"linear"``
        and ``"quadratic"`` give ordered scores partial credit; a q × q array sets them directly.
    ci : {"bootstrap", "analytic", "none"}, default "bootstrap"
        How the interval is made: ``"bootstrap"`` resamples items (every unit of an item together),
        ``"analytic"`` uses the coefficient's linearised standard error (Gwet 2014) with a t quantile,
        ``"none"`` gives a nan interval.
    n_resamples : int, default 1000
        Bootstrap resamples (used with ``ci="bootstrap"``).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the interval.
    rng : int, numpy.random.Generator or None
        Seed for the bootstrap; the same seed gives the same interval.
    missing : {"drop", "wrong", "tie"}, default "drop"
        What an abstention (a row without a verdict) counts as: left out, a category of its own that
        agrees with nothing, or (pairwise) a tie; see :func:`rating_matrix`.

    Returns
    -------
    Agreement
        ``estimate`` (the coefficient; nan, with an :class:`~metaeval.errors.EstimationWarning`, when it
        cannot be estimated), ``ci`` (its interval, ``ci.method`` says how it was made), ``se``,
        ``n_units`` (units with two or more ratings), ``raters`` and ``details`` (observed and chance
        agreement ``pa`` / ``pe`` and the analytic standard error ``se_analytic``).
        ``coefficient`` is "Gwet's AC1" for identity weights and "Gwet's AC2" otherwise.

    Notes
    -----
    Gwet (2014) advises against reading AC1 straight off the Landis & Koch (1977) scale: he
    benchmarks the probability that the coefficient exceeds each band's lower bound, given its
    standard error, and takes the highest band reached with at least 95 % probability. In practice:
    compare the lower end of the interval, not the estimate, with 0.61 ("substantial") or 0.81
    ("almost perfect"). AC1 runs higher than κ on skewed data by design; the two should not be
    compared with one threshold.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import agreement
    >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=60, n_humans=3, judges=(), scale=(1, 3), rng=0)
    >>> round(agreement.gwet_ac(sim.judgments, n_resamples=200, rng=0).estimate, 3)
    0.505
    """
    judgments = as_judgments(judgments)
    name = "Gwet's AC1" if isinstance(weights, str) and weights == "identity" else "Gwet's AC2"
    return _gwet_family(name, "gwet", judgments, judges=judges, weights=weights, ci=ci, n_resamples=n_resamples,
                        confidence_level=confidence_level, rng=rng, missing=missing)


@validate_params({
    "ci": [Options(str, ("bootstrap", "analytic", "none"))],
    "n_resamples": [Interval(Integral, 2, None, closed="left")],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
    "missing": [Options(str, ("drop", "wrong", "tie"))],
})
def brennan_prediger(judgments: Judgments, *, judges: Sequence[str] | None = None, weights: Any = "identity",
                     ci: CI = "bootstrap", n_resamples: int = DEFAULT_N_RESAMPLES, confidence_level: float = 0.95,
                     rng: Any = None, missing: MissingPolicy = "drop") -> Agreement:
    """Brennan–Prediger's coefficient: chance agreement 1/q (uniform category use).

    Parameters
    ----------
    judgments : Judgments
        The validated table of verdicts (anything :func:`metaeval.tables.as_judgments` accepts).
    judges : sequence of str, optional
        The judges whose ratings enter the coefficient. Default: every judge in the table.
    weights : {"identity", "linear", "quadratic"} or array, default "identity"
        Agreement weights between categories: ``"identity"`` counts exact agreement only; ``"linear"``
        and ``"quadratic"`` give ordered scores partial credit; a q × q array sets them directly.
    ci : {"bootstrap", "analytic", "none"}, default "bootstrap"
        How the interval is made: ``"bootstrap"`` resamples items (every unit of an item together),
        ``"analytic"`` uses the coefficient's linearised standard error (Gwet 2014) with a t quantile,
        ``"none"`` gives a nan interval.
    n_resamples : int, default 1000
        Bootstrap resamples (used with ``ci="bootstrap"``).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the interval.
    rng : int, numpy.random.Generator or None
        Seed for the bootstrap; the same seed gives the same interval.
    missing : {"drop", "wrong", "tie"}, default "drop"
        What an abstention (a row without a verdict) counts as: left out, a category of its own that
        agrees with nothing, or (pairwise) a tie; see :func:`rating_matrix`.

    Returns
    -------
    Agreement
        ``estimate`` (the coefficient; nan, with an :class:`~metaeval.errors.EstimationWarning`, when it
        cannot be estimated), ``ci`` (its interval, ``ci.method`` says how it was made), ``se``,
        ``n_units`` (units with two or more ratings), ``raters`` and ``details`` (observed and chance
        agreement ``pa`` / ``pe`` and the analytic standard error ``se_analytic``).

    Notes
    -----
    With q categories, the coefficient is (p_a − 1/q) / (1 − 1/q) (Brennan & Prediger 1981); it
    depends on the number of categories offered, not on how the judges use them, so it does not
    fall when one category dominates. The Landis & Koch (1977) bands (see :func:`cohen_kappa`) are
    often applied to it; they are arbitrary, and read best against the interval's lower bound.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import agreement
    >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=60, n_humans=3, judges=(), scale=(1, 3), rng=0)
    >>> a = agreement.brennan_prediger(sim.judgments, n_resamples=200, rng=0)
    >>> bool(a.ci.low <= a.estimate <= a.ci.high)
    True
    """
    judgments = as_judgments(judgments)
    return _gwet_family("Brennan-Prediger", "bp", judgments, judges=judges, weights=weights, ci=ci,
                        n_resamples=n_resamples, confidence_level=confidence_level, rng=rng, missing=missing)


@validate_params({
    "ci": [Options(str, ("bootstrap", "analytic", "none"))],
    "n_resamples": [Interval(Integral, 2, None, closed="left")],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
    "missing": [Options(str, ("drop", "wrong", "tie"))],
})
def percent_agreement(judgments: Judgments, *, judges: Sequence[str] | None = None, weights: Any = "identity",
                      ci: CI = "bootstrap", n_resamples: int = DEFAULT_N_RESAMPLES, confidence_level: float = 0.95,
                      rng: Any = None, missing: MissingPolicy = "drop") -> Agreement:
    """Share of agreeing pairs of ratings per unit, averaged over units with two or more ratings.

    Parameters
    ----------
    judgments : Judgments
        The validated table of verdicts (anything :func:`metaeval.tables.as_judgments` accepts).
    judges : sequence of str, optional
        The judges whose ratings enter the coefficient. Default: every judge in the table.
    weights : {"identity", "linear", "quadratic"} or array, default "identity"
        Agreement weights between categories: ``"identity"`` counts exact agreement only; ``"linear"``
        and ``"quadratic"`` give ordered scores partial credit; a q × q array sets them directly.
    ci : {"bootstrap", "analytic", "none"}, default "bootstrap"
        How the interval is made: ``"bootstrap"`` resamples items (every unit of an item together),
        ``"analytic"`` uses the coefficient's linearised standard error (Gwet 2014) with a t quantile,
        ``"none"`` gives a nan interval.
    n_resamples : int, default 1000
        Bootstrap resamples (used with ``ci="bootstrap"``).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the interval.
    rng : int, numpy.random.Generator or None
        Seed for the bootstrap; the same seed gives the same interval.
    missing : {"drop", "wrong", "tie"}, default "drop"
        What an abstention (a row without a verdict) counts as: left out, a category of its own that
        agrees with nothing, or (pairwise) a tie; see :func:`rating_matrix`.

    Returns
    -------
    Agreement
        ``estimate`` (the coefficient; nan, with an :class:`~metaeval.errors.EstimationWarning`, when it
        cannot be estimated), ``ci`` (its interval, ``ci.method`` says how it was made), ``se``,
        ``n_units`` (units with two or more ratings), ``raters`` and ``details`` (observed and chance
        agreement ``pa`` / ``pe`` and the analytic standard error ``se_analytic``).

    Notes
    -----
    Percent agreement is not corrected for chance: two judges who pick between two labels at
    random agree half the time. Report it beside a chance-corrected coefficient (κ, α, AC1).

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import agreement
    >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=60, n_humans=3, judges=(), scale=(1, 3), rng=0)
    >>> a = agreement.percent_agreement(sim.judgments, n_resamples=200, rng=0)
    >>> bool(0 <= a.estimate <= 1)
    True
    """
    judgments = as_judgments(judgments)
    return _gwet_family("percent agreement", "percent", judgments, judges=judges, weights=weights, ci=ci,
                        n_resamples=n_resamples, confidence_level=confidence_level, rng=rng, missing=missing)


@renamed_parameters(level="scale")
@validate_params({
    "scale": [Options(str, ("nominal", "ordinal", "interval", "ratio"))],
    "ci": [Options(str, ("bootstrap", "analytic", "none"))],
    "n_resamples": [Interval(Integral, 2, None, closed="left")],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
    "missing": [Options(str, ("drop", "wrong", "tie"))],
})
def krippendorff_alpha(judgments: Judgments, scale: Literal["nominal", "ordinal", "interval", "ratio"] = "nominal",
                       *, judges: Sequence[str] | None = None, ci: CI = "bootstrap",
                       n_resamples: int = DEFAULT_N_RESAMPLES, confidence_level: float = 0.95, rng: Any = None,
                       missing: MissingPolicy = "drop") -> Agreement:
    """Krippendorff's α at a scale of measurement, for any number of judges and missing ratings.

    The bootstrap resamples items (every unit of an item together); ``ci="analytic"`` uses Gwet's
    linearised standard error with the scale's weights.

    Parameters
    ----------
    judgments : Judgments
        The validated table of verdicts (anything :func:`metaeval.tables.as_judgments` accepts).
    scale : {"nominal", "ordinal", "interval", "ratio"}, default "nominal"
        The level of measurement, which sets the distance between two values. (``scale`` was called
        ``level`` before 0.3; the old name still works, with a warning, for one release.) Every
        scale but nominal needs numeric scores.
    judges : sequence of str, optional
        The judges whose ratings enter the coefficient. Default: every judge in the table.
    ci : {"bootstrap", "analytic", "none"}, default "bootstrap"
        How the interval is made: ``"bootstrap"`` resamples items (every unit of an item together),
        ``"analytic"`` uses the coefficient's linearised standard error (Gwet 2014) with a t quantile,
        ``"none"`` gives a nan interval.
    n_resamples : int, default 1000
        Bootstrap resamples (used with ``ci="bootstrap"``).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the interval.
    rng : int, numpy.random.Generator or None
        Seed for the bootstrap; the same seed gives the same interval.
    missing : {"drop", "wrong", "tie"}, default "drop"
        What an abstention (a row without a verdict) counts as: left out, a category of its own that
        agrees with nothing, or (pairwise) a tie; see :func:`rating_matrix`.

    Returns
    -------
    Agreement
        ``estimate`` (α; nan, with an :class:`~metaeval.errors.EstimationWarning`, when it cannot be
        estimated), ``ci``, ``se``, ``n_units`` (units with two or more ratings), ``raters`` and
        ``details`` (the ``scale``).

    Notes
    -----
    Krippendorff (2004, §11.4) recommends relying on data with α ≥ 0.800 and drawing only tentative
    conclusions from data with 0.667 ≤ α < 0.800; below 0.667 the data should not be relied on. These
    are his conventions, not derived quantities: he asks that the lower end of the interval, rather
    than the estimate, clear the chosen threshold, and that the threshold be set by the cost of
    drawing a wrong conclusion.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import agreement
    >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=80, n_humans=3, judges=(), rng=0)
    >>> a = agreement.krippendorff_alpha(sim.judgments, "interval", n_resamples=200, rng=1)
    >>> bool(a.ci.low <= a.estimate <= a.ci.high)
    True
    """
    judgments = as_judgments(judgments)
    gen, seed = as_generator(rng)
    rm = rating_matrix(judgments, judges=judges, missing=missing)
    if not rm.numeric and scale != "nominal":
        raise MetaevalError(f"scale {scale!r} needs numeric scores; these ratings are categories {rm.labels}")
    name = f"Krippendorff's alpha ({scale})"
    try:
        value = krippendorff_alpha_array(rm.values, scale)
    except InsufficientDataError as exc:
        warn(f"{name} is nan: {exc}", EstimationWarning)
        nan = float("nan")
        return Agreement(name, nan, ConfidenceInterval(nan, nan, confidence_level, ci), nan, 0, rm.raters, {},
                         _run("krippendorff_alpha", {"scale": scale}, seed, judgments, 0))
    pairable = np.sum(~np.isnan(rm.values), axis=1) >= 2
    n_units = int(pairable.sum())
    se = float("nan")
    boot = None
    if ci == "bootstrap":
        items = rm.item_codes[pairable]
        boot = np.empty(n_resamples)
        with task("Krippendorff's alpha bootstrap", n_resamples) as shown:
            for s in range(0, n_resamples, 200):
                size = min(200, n_resamples - s)
                iw = cluster_weights(rm.n_items, size, gen)
                boot[s:s + size] = alpha_bootstrap(rm.values[pairable], scale, iw, groups=items)
                shown.advance(size)
    elif ci == "analytic":
        distinct = np.unique(rm.values[~np.isnan(rm.values)]).size
        if distinct > 2000:
            warn(f"{distinct} distinct values: the analytic standard error needs a {distinct}² weight matrix; "
                 "use the bootstrap", EstimationWarning)
        else:
            kind = {"nominal": "identity", "interval": "quadratic", "ratio": "ratio", "ordinal": "ordinal"}[scale]
            se = agreement_coefficient(rm.values, "krippendorff", weights=kind).se  # type: ignore[arg-type]
    label = {"bootstrap": "bootstrap (items)", "analytic": "analytic (Gwet)", "none": "none"}[ci]
    interval, se_out = _interval(value, se, boot, confidence_level, label, df=max(n_units - 1, 1))
    if ci == "none":
        interval = ConfidenceInterval(np.nan, np.nan, confidence_level, "none")
    params = {"scale": scale, "ci": ci, "n_resamples": n_resamples, "judges": list(rm.raters), "missing": missing}
    return Agreement(name, value, interval, se_out, n_units, rm.raters, {"scale": scale},
                     _run("krippendorff_alpha", params, seed, judgments, n_units), boot,
                     max(n_units - 1, 1) if ci == "analytic" else None)


@validate_params({
    "ci": [Options(str, ("bootstrap", "analytic", "none"))],
    "n_resamples": [Interval(Integral, 2, None, closed="left")],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
    "missing": [Options(str, ("drop", "wrong", "tie"))],
})
def cohen_kappa(judgments: Judgments, judge_a: str, judge_b: str, *, weights: Any = "identity",
                ci: CI = "analytic", n_resamples: int = DEFAULT_N_RESAMPLES, confidence_level: float = 0.95,
                rng: Any = None, missing: MissingPolicy = "drop") -> Agreement:
    """Cohen's κ of two judges (unweighted, ``"linear"`` or ``"quadratic"`` weights).

    The analytic interval uses statsmodels' large-sample standard error (Fleiss, Cohen & Everitt
    1969); ``ci="bootstrap"`` resamples items.

    Parameters
    ----------
    judgments : Judgments
        The validated table of verdicts (anything :func:`metaeval.tables.as_judgments` accepts).
    judge_a, judge_b : str
        The two judges; κ is computed on the units both rated.
    weights : {"identity", "linear", "quadratic"} or array, default "identity"
        Agreement weights between categories: ``"identity"`` counts exact agreement only; ``"linear"``
        and ``"quadratic"`` give ordered scores partial credit; a q × q array sets them directly.
    ci : {"analytic", "bootstrap", "none"}, default "analytic"
        ``"analytic"``: statsmodels' standard error with a normal quantile (identity, linear or
        quadratic weights only); ``"bootstrap"``: resample items; ``"none"``: a nan interval.
    n_resamples : int, default 1000
        Bootstrap resamples (used with ``ci="bootstrap"``).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the interval.
    rng : int, numpy.random.Generator or None
        Seed for the bootstrap; the same seed gives the same interval.
    missing : {"drop", "wrong", "tie"}, default "drop"
        What an abstention (a row without a verdict) counts as: left out, a category of its own that
        agrees with nothing, or (pairwise) a tie; see :func:`rating_matrix`.

    Returns
    -------
    Agreement
        ``estimate`` (κ), ``ci``, ``se``, ``n_units`` (units both judges rated), ``raters`` and
        ``details`` (the judge_a × judge_b contingency ``table`` and its ``categories``).

    Raises
    ------
    InsufficientDataError
        When the two judges rated fewer than two units in common.

    Notes
    -----
    Landis & Koch (1977) label κ below 0 "poor", 0–0.20 "slight", 0.21–0.40 "fair", 0.41–0.60
    "moderate", 0.61–0.80 "substantial" and 0.81–1 "almost perfect"; they called these divisions
    arbitrary, and they should be read as a rough guide only. Any chance-corrected coefficient depends on
    the prevalence of the categories and on how many categories there are (the "kappa paradoxes",
    Feinstein & Cicchetti 1990), so compare coefficients only across studies with similar category
    use, and report the interval: its lower bound, not the estimate, is what a benchmark should be
    checked against.

    Examples
    --------
    >>> from metaeval import Judgments, agreement
    >>> j = Judgments({"item": [f"q{i}" for i in range(50)] * 2, "judge": ["A"] * 50 + ["B"] * 50,
    ...                "model": ["m"] * 100,
    ...                "label": ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    ...                         + ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15})
    >>> round(agreement.cohen_kappa(j, "A", "B").estimate, 3)
    0.4
    """
    judgments = as_judgments(judgments)
    from statsmodels.stats.inter_rater import cohens_kappa as sm_kappa

    gen, seed = as_generator(rng)
    rm = rating_matrix(judgments, judges=[judge_a, judge_b], missing=missing)
    both = ~np.isnan(rm.values).any(axis=1) if rm.values.shape[1] == 2 else np.zeros(rm.values.shape[0], bool)
    if both.sum() < 2:
        why = overlap_problem(judgments, judge_a, judge_b) if both.sum() == 0 else "only one unit"
        raise InsufficientDataError(f"{judge_a!r} and {judge_b!r} rated fewer than two units in common: {why}")
    vals = rm.values[both]
    cats = np.unique(vals)
    codes = np.searchsorted(cats, vals).astype(int)
    w = weight_matrix(cats, weights)
    estimate = cohen_kappa_array(codes[:, 0], codes[:, 1], w)
    table = np.zeros((cats.size, cats.size))
    np.add.at(table, (codes[:, 0], codes[:, 1]), 1.0)
    se = float("nan")
    if ci == "analytic":
        if isinstance(weights, str) and weights in ("identity", "linear", "quadratic"):
            wt = {"identity": None, "linear": "linear", "quadratic": "quadratic"}[weights]
            r = sm_kappa(table, wt=wt) if wt else sm_kappa(table)
            se = float(r["std_kappa"])
        else:
            raise MetaevalError("the analytic interval needs identity, linear or quadratic weights")
    boot = None
    if ci == "bootstrap":
        Wt = _item_weights(RatingMatrix(vals, rm.raters, rm.item_codes[both], rm.n_items, rm.labels, rm.numeric),
                           n_resamples, gen)
        q = cats.size
        A = np.eye(q)[codes[:, 0]]
        B = np.eye(q)[codes[:, 1]]
        agree_w = w[codes[:, 0], codes[:, 1]]
        tot = Wt.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            po = (Wt @ agree_w) / tot
            pa_, pb_ = (Wt @ A) / tot[:, None], (Wt @ B) / tot[:, None]
            pe = np.einsum("bk,kl,bl->b", pa_, w, pb_)
            boot = (po - pe) / (1 - pe)
    label = {"bootstrap": "bootstrap (items)", "analytic": "analytic (statsmodels)", "none": "none"}[ci]
    interval, se_out = _interval(estimate, se, boot, confidence_level, label)
    if ci == "none":
        interval = ConfidenceInterval(np.nan, np.nan, confidence_level, "none")
    name = "Cohen's kappa" if weights == "identity" else f"Cohen's kappa ({weights})"
    params = {"weights": weights if isinstance(weights, str) else "custom", "ci": ci, "missing": missing}
    return Agreement(name, estimate, interval, se_out, int(both.sum()), rm.raters,
                     {"table": table.tolist(), "categories": cats.tolist()},
                     _run("cohen_kappa", params, seed, judgments, int(both.sum())), boot)


# ------------------------------------------------------------------------------ ICC
@dataclass(frozen=True)
class ICCResult(Result):
    """The six Shrout–Fleiss intraclass correlations with F tests and intervals.

    ``anova`` keeps the two-way ANOVA the table is made from (targets, raters and mean squares,
    :func:`metaeval.agreement.icc.icc_anova`), so :meth:`confidence_interval` gives the F-based
    intervals at another level; ``confidence_level`` is the level of the table's bounds.
    """

    table: pl.DataFrame
    run_info: RunInfo
    title: str = "intraclass correlations (Shrout & Fleiss)"
    confidence_level: float = 0.95
    anova: dict[str, float] | None = field(default=None, repr=False, compare=False)

    def confidence_interval(self, confidence_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """The six forms' F-based intervals at another level, from the kept ANOVA mean squares (exact
        F for ICC(1) and ICC(3), Satterthwaite's approximation for ICC(2), as :func:`icc` makes them),
        in the table's row order. At ``confidence_level`` they are ``ci_low`` / ``ci_high`` exactly.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Coverage of the interval, in (0, 1).

        Returns
        -------
        tuple of numpy.ndarray
            ``(low, high)``, one bound per row (form) of ``table``.

        Raises
        ------
        ParameterError
            When the result kept no ANOVA (one built by hand): call :func:`icc` again at that level.

        Examples
        --------
        >>> import metaeval
        >>> from metaeval import agreement
        >>> res = agreement.icc(metaeval.simulate.pointwise(n_models=3, n_items=40, n_humans=2, rng=0).judgments)
        >>> low, high = res.confidence_interval(res.confidence_level)
        >>> bool((low == res.table["ci_low"].to_numpy()).all())
        True
        >>> low80, high80 = res.confidence_interval(0.8)
        >>> bool(((high80 - low80) < (high - low)).all())
        True
        """
        level = check_confidence_level(confidence_level)
        if self.anova is None:
            raise ParameterError("this ICCResult kept no ANOVA mean squares, which its intervals need: call "
                                 f"`icc(..., confidence_level={confidence_level!r})` again")
        res = icc_from_anova(self.anova, confidence_level=level)
        return res["ci_low"], res["ci_high"]


@validate_params({"confidence_level": [LEVEL]})
def icc(judgments: Judgments, *, judges: Sequence[str] | None = None, confidence_level: float = 0.95) -> ICCResult:
    """ICC(1,1), ICC(2,1), ICC(3,1) and their k-rater averages over units every judge scored.

    Units missing a score from any judge are left out, with a
    :class:`~metaeval.errors.DataDroppedWarning` (the ANOVA estimators need complete data).

    Parameters
    ----------
    judgments : Judgments
        The validated table of verdicts (anything :func:`metaeval.tables.as_judgments` accepts).
        Pointwise numeric scores.
    judges : sequence of str, optional
        The judges whose ratings enter the coefficient. Default: every judge in the table.
    confidence_level : float, default 0.95
        Coverage of the F-based intervals (Shrout & Fleiss 1979; McGraw & Wong 1996).

    Returns
    -------
    ICCResult
        ``table``: one row per form (``form``, ``icc``, the F test ``f``, ``df1``, ``df2``, ``pvalue``
        and the interval bounds), as :func:`metaeval.agreement.icc.icc_array` computes them.

    Notes
    -----
    Pick the form before looking at the numbers: ICC(1) when each unit is scored by a different set
    of judges, ICC(2) (absolute agreement) when the same judges score every unit and their mean level
    matters, ICC(3) (consistency) when only the order of the scores matters; the ``k`` forms are the
    reliability of the mean of the k judges. Koo & Li (2016) suggest reading the 95 % interval
    against < 0.5 poor, 0.5–0.75 moderate, 0.75–0.9 good and > 0.9 excellent reliability;
    Cicchetti (1994) uses < 0.40 poor, 0.40–0.59 fair, 0.60–0.74 good and ≥ 0.75 excellent. Both
    are conventions; say which one you use.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import agreement
    >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=40, n_humans=2, rng=0)
    >>> t = agreement.icc(sim.judgments).table
    >>> t["form"].to_list()
    ['ICC(1,1)', 'ICC(2,1)', 'ICC(3,1)', 'ICC(1,k)', 'ICC(2,k)', 'ICC(3,k)']
    >>> round(float(t["icc"][1]), 3)
    0.695
    """
    judgments = as_judgments(judgments)
    rm = rating_matrix(judgments, judges=judges, value="score")
    complete = ~np.isnan(rm.values).any(axis=1)
    dropped = int((~complete).sum())
    if dropped:
        warn(f"{dropped} units lack a score from some judge and are left out (ICCs need complete data)",
             DataDroppedWarning)
    anova = icc_anova(rm.values[complete])
    res = icc_from_anova(anova, confidence_level=confidence_level)
    table = pl.DataFrame({k: v for k, v in res.items()})
    run = RunInfo("icc", {"judges": list(rm.raters)}, None, judgments.fingerprint, int(complete.sum()), len(judgments))
    return ICCResult(table, run, confidence_level=confidence_level, anova=anova)


# ----------------------------------------------------------------------- correlation
def _consensus(judgments: Judgments, reference: str) -> tuple[Judgments, str]:
    """The reference as one judge: a judge's name, or a prefix (``"human"``) whose judges are
    averaged (scores) or put to a majority vote (labels, outcomes) per unit."""
    if reference in judgments.judges:
        return judgments, reference
    members = [j for j in judgments.judges if j.startswith(reference + ":") or j == reference]
    if not members:
        raise MetaevalError(f"no judge is {reference!r} or starts with {reference + ':'!r}; judges: "
                            f"{', '.join(judgments.judges)}")
    f = judgments.frame
    name = f"{reference} (consensus of {len(members)})"
    ref = f.filter(pl.col("judge").is_in(members))
    if judgments.kind == "pointwise" and "score" in f.columns and ref["score"].null_count() < ref.height:
        keys = [k for k in ("item", "model", "variant", "task", "rep") if k in f.columns]
        agg = (ref.group_by(keys, maintain_order=True).agg(pl.col("score").mean())
               .with_columns(pl.lit(name).alias("judge")))
    else:
        col = "label" if judgments.kind == "pointwise" else "outcome"
        keys = [k for k in ("item", "model", "model_a", "model_b", "variant", "task", "rep") if k in f.columns]
        if judgments.kind == "pairwise":
            ref = canonical(ref)  # members who saw the pair the other way round vote on the same unit
        # an even split among the reference judges is a tie for a pair; a label without a majority is left out
        agg, n_split = majority(ref.with_columns(pl.col(col).cast(pl.String)), keys, col,
                                split="tie" if judgments.kind == "pairwise" else None)
        if n_split and judgments.kind != "pairwise":
            warn(f"{n_split} units have no majority label among the {reference} judges and are left out of the "
                 "consensus", DataDroppedWarning)
        agg = agg.with_columns(pl.lit(name).alias("judge"))
    rest = judgments.all_rows().filter(~pl.col("judge").is_in(members))  # the judges keep their abstentions
    combined = pl.concat([rest, agg], how="diagonal_relaxed")
    combined = combined.select([c for c in combined.columns if c != "extra"])

    with warnings.catch_warnings():  # the abstentions were announced when the table was made
        warnings.simplefilter("ignore", MissingVerdictWarning)
        return Judgments(combined, kind=judgments.kind), name


@renamed_parameters(level="granularity")
@validate_params({
    "method": [Options(str, ("pearson", "spearman", "kendall_b", "kendall_c", "pairwise_accuracy",
                             "pairwise_accuracy_no_ties"))],
    "granularity": [Options(str, ("item", "system", "all"))],
    "ci": [Options(str, ("bootstrap", "analytic", "none"))],
    "n_resamples": [Interval(Integral, 2, None, closed="left")],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
})
def correlation(
    judgments: Judgments,
    judge: str,
    reference: str = "human",
    *,
    method: Literal["pearson", "spearman", "kendall_b", "kendall_c", "pairwise_accuracy",
                    "pairwise_accuracy_no_ties"] = "kendall_b",
    granularity: Literal["item", "system", "all"] = "system",
    ci: CI = "bootstrap",
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    rng: Any = None,
) -> Agreement:
    """How well a judge's scores track a reference at the item, system or global level.

    Parameters
    ----------
    judgments : Judgments
        The validated table of verdicts (anything :func:`metaeval.tables.as_judgments` accepts).
        Pointwise numeric scores.
    judge : str
        The judge under study.
    reference : str, default "human"
        The reference judge, or the mean score of the judges named ``reference:*``.
    method : {"pearson", "spearman", "kendall_b", "kendall_c", "pairwise_accuracy", "pairwise_accuracy_no_ties"}
        The statistic, default ``"kendall_b"``; the pairwise accuracies are those of
        :func:`metaeval.agreement.pairwise_accuracy` (Deutsch et al. 2023), with and without ties.
    granularity : {"system", "item", "all"}, default "system"
        ``"system"`` correlates per-model mean scores; ``"item"`` correlates the models' scores
        within each item and averages over items; ``"all"`` correlates every (item, model) pair.
        (The old name ``level`` still works, with a warning, for one release.)
    ci : {"bootstrap", "none"}, default "bootstrap"
        The bootstrap resamples items (a warning under 30 items); ``"analytic"`` is refused.
    n_resamples : int, default 1000
        Bootstrap resamples (used with ``ci="bootstrap"``).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the interval.
    rng : int, numpy.random.Generator or None
        Seed for the bootstrap; the same seed gives the same interval.

    Returns
    -------
    Agreement
        ``estimate`` (the correlation; nan with a warning when a judge's scores are constant),
        ``ci``, ``se`` (the bootstrap standard deviation), ``n_units`` ((item, model) pairs scored by
        both) and ``raters`` (judge, reference).

    Notes
    -----
    For ``|r|``, Cohen (1988) called 0.1 small, 0.3 medium and 0.5 large; meta-evaluation
    of metrics reports the coefficient itself and compares judges on the same data. A system-level
    correlation rests on as many points as there are models, so its interval is wide with few
    models; Kendall's τ runs lower than Pearson's r and Spearman's ρ on the same data, so compare
    judges within one statistic only.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import agreement
    >>> sim = metaeval.simulate.pointwise(n_models=4, n_items=40, n_humans=1, rng=0)
    >>> r = agreement.correlation(sim.judgments, "judge-atlas", "human", granularity="all", n_resamples=200, rng=0)
    >>> r.raters
    ('judge-atlas', 'human (consensus of 1)')
    """
    judgments = as_judgments(judgments)
    if judgments.kind != "pointwise":
        raise MetaevalError("`correlation` needs pointwise scores")
    gen, seed = as_generator(rng)
    jj, ref_name = _consensus(judgments, reference)
    f = jj.frame.filter(pl.col("judge").is_in([judge, ref_name]), pl.col("score").is_not_null())
    wide = f.group_by("item", "model", "judge", maintain_order=True).agg(pl.col("score").mean()).pivot(
        on="judge", index=["item", "model"], values="score").drop_nulls()
    if judge not in wide.columns:
        raise MetaevalError(f"unknown judge {judge!r}")
    if wide.height < 3:
        raise InsufficientDataError("fewer than three (item, model) pairs have both scores")
    items = wide["item"].to_numpy()
    item_codes = np.unique(items, return_inverse=True)[1]
    models = np.unique(wide["model"].to_numpy(), return_inverse=True)[1]
    x, y = wide[judge].to_numpy(), wide[ref_name].to_numpy()

    def stat(a: np.ndarray, b: np.ndarray) -> float:
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            return float("nan")
        if method == "pearson":
            return float(st.pearsonr(a, b).statistic)
        if method == "spearman":
            return float(st.spearmanr(a, b).statistic)
        if method in ("kendall_b", "kendall_c"):
            return float(st.kendalltau(a, b, variant=method[-1]).statistic)
        if method == "pairwise_accuracy":
            return pairwise_accuracy(b, a, ties=True)
        if method == "pairwise_accuracy_no_ties":
            return pairwise_accuracy(b, a, ties=False)
        raise ParameterError(f"unknown method {method!r}")

    n_items = int(item_codes.max()) + 1
    per_item = np.full(n_items, np.nan)
    if granularity == "item":  # the statistic within each item, computed once; resamples reweight items
        for it in range(n_items):
            sel = item_codes == it
            if sel.sum() >= 2:
                per_item[it] = stat(x[sel], y[sel])

    def compute(w: np.ndarray) -> float:
        """The statistic with item ``i`` counted ``w[i]`` times (all ones: the data as they are)."""
        if granularity == "item":
            ok = np.isfinite(per_item) & (w > 0)
            return float(np.average(per_item[ok], weights=w[ok])) if ok.any() else float("nan")
        rows = np.repeat(np.arange(len(x)), w[item_codes].astype(int))
        xa, ya, ma = x[rows], y[rows], models[rows]
        if granularity == "all":
            return stat(xa, ya)
        k = ma.max() + 1
        cnt = np.bincount(ma, minlength=k)
        ok = cnt > 0
        return stat((np.bincount(ma, xa, k)[ok] / cnt[ok]), (np.bincount(ma, ya, k)[ok] / cnt[ok]))

    estimate = compute(np.ones(n_items))
    if not np.isfinite(estimate):
        warn(f"{method} at the {granularity} level is nan: a judge gave constant scores or too few units vary",
             EstimationWarning)
    boot = None
    if ci == "bootstrap":
        if n_items < 30:
            warn(f"only {n_items} items: a bootstrap over so few clusters under-covers", SmallSampleWarning)
        W = cluster_weights(n_items, n_resamples, gen)
        boot = np.array([compute(W[b]) for b in track(range(n_resamples), f"{method} bootstrap")])
    label = {"bootstrap": "bootstrap (items)", "analytic": "none", "none": "none"}[ci]
    if ci == "analytic":
        raise MetaevalError("correlations come with a bootstrap interval; use ci='bootstrap' or 'none'")
    interval, se = _interval(estimate, float("nan"), boot, confidence_level, label)
    name = f"{method} ({granularity} level) vs {ref_name}"
    params = {"method": method, "granularity": granularity, "reference": ref_name, "judge": judge, "ci": ci}
    return Agreement(name, estimate, interval, se, int(wide.height), (judge, ref_name), {"granularity": granularity},
                     _run("correlation", params, seed, judgments, int(wide.height)), boot)


# ------------------------------------------------------------- two presentation orders
@dataclass(frozen=True)
class _ShareDraws:
    """A share's item-bootstrap draws, kept to give its interval at any level: the percentile
    interval of ``draws``, widened at 0 or 1 by :func:`_boundary_interval` over ``n_items``."""

    rate: float
    draws: np.ndarray
    n_items: int
    nan_policy: Literal["omit", "propagate"] = "omit"

    def interval(self, level: float) -> tuple[float, float]:
        lo, hi = percentile_interval(self.draws, level, nan_policy=self.nan_policy)
        return _boundary_interval(self.rate, lo, hi, self.n_items, level)


def _kept_bounds(kept: Sequence[_ShareDraws | Agreement | None], level: float) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` at ``level`` of each kept estimate (``None``: no interval, ``nan``)."""
    low, high = np.full(len(kept), np.nan), np.full(len(kept), np.nan)
    for i, got in enumerate(kept):
        if isinstance(got, _ShareDraws):
            low[i], high[i] = got.interval(level)
        elif got is not None:
            ci = got.confidence_interval(level)
            low[i], high[i] = ci.low, ci.high
    return low, high


def _kept_intervals(key: pl.DataFrame, names: Sequence[str], kept: Sequence[dict[str, Any]],
                    level: float) -> pl.DataFrame:
    """The ``key`` columns of a table and its ``{name}_ci_low`` / ``{name}_ci_high`` at ``level``, one
    row per entry of ``kept`` (each name's :class:`_ShareDraws` or :class:`Agreement`, or ``None``)."""
    cols: dict[str, np.ndarray] = {}
    for name in names:
        cols[f"{name}_ci_low"], cols[f"{name}_ci_high"] = _kept_bounds([row.get(name) for row in kept], level)
    return key.with_columns(**{c: pl.Series(c, v, dtype=pl.Float64) for c, v in cols.items()})


@dataclass(frozen=True)
class TwoOrder(Result):
    """Per judge against the gold label: accuracy averaged over both orders, positional agreement
    (verdict survives the swap) and two-game accuracy, with item-bootstrap intervals.

    ``draws`` keeps each row's item-bootstrap draws of the accuracy, the positional agreement and
    the abstention rate, so :meth:`confidence_interval` gives their intervals at another level;
    ``confidence_level`` is the level of the table's bounds.
    """

    table: pl.DataFrame
    run_info: RunInfo
    title: str = "judges against the gold label, both presentation orders"
    confidence_level: float = 0.95
    draws: tuple[dict[str, Any], ...] | None = field(default=None, repr=False, compare=False)

    def confidence_interval(self, confidence_level: float = 0.95) -> pl.DataFrame:
        """The accuracy's, positional agreement's and abstention rate's intervals at another level,
        from the kept item-bootstrap draws (made as the table's: percentile, with the exact bound at a
        share of 0 or 1). At ``confidence_level`` they are the table's bounds exactly.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Coverage of the interval, in (0, 1).

        Returns
        -------
        polars.DataFrame
            One row per row of ``table``, in its order: the group columns, then ``accuracy_ci_low``,
            ``accuracy_ci_high``, ``positional_agreement_ci_low``, …, ``abstention_rate_ci_high``.

        Raises
        ------
        ParameterError
            When the result kept no draws (one built by hand): call :func:`two_order` again at that
            level.

        Examples
        --------
        >>> import metaeval
        >>> from metaeval import agreement
        >>> sim = metaeval.simulate.pairwise(n_models=3, n_items=40, judges=("judge-atlas",), n_humans=1,
        ...                                  both_orders=True, rng=2)
        >>> res = agreement.two_order(sim.judgments, "human:1", by=("judge",), n_resamples=50, rng=0)
        >>> ci = res.confidence_interval(res.confidence_level)
        >>> ci.equals(res.table.select(ci.columns))
        True
        >>> res.confidence_interval(0.8)["accuracy_ci_low"][0] > ci["accuracy_ci_low"][0]
        True
        """
        level = check_confidence_level(confidence_level)
        if self.draws is None:
            raise ParameterError("this TwoOrder kept no bootstrap draws, so its intervals cannot be given at another "
                                 f"level: call `two_order(..., confidence_level={confidence_level!r})` again")
        key = self.table.select(self.run_info.params["by"])
        return _kept_intervals(key, _TWO_ORDER_SHARES, self.draws, level)


_TWO_ORDER_SHARES = ("accuracy", "positional_agreement", "abstention_rate")


@validate_params({
    "missing": [Options(str, ("drop", "wrong", "tie"))],
    "n_resamples": [Interval(Integral, 2, None, closed="left")],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
})
def two_order(judgments: Judgments, reference: str = "gold", *, by: Sequence[str] = ("judge", "variant", "task"),
              missing: MissingPolicy = "wrong", n_resamples: int = DEFAULT_N_RESAMPLES, confidence_level: float = 0.95,
              rng: Any = None) -> TwoOrder:
    """Pairwise judges that saw every pair in both orders, against a reference's verdict.

    The metrics are those of LLMBar (Zeng et al. 2024), for pairwise judges that saw each pair with
    ``shown_first`` a and with ``shown_first`` b. Per group of ``by``: ``n`` pairs, accuracy (the
    mean of the accuracies in the two orders), positional agreement (the verdict survives the swap),
    two-game accuracy, the accuracy in each order, and the abstention rate (verdicts missing), each
    rate with an item-bootstrap interval.

    Parameters
    ----------
    judgments : Judgments
        The validated table of verdicts (anything :func:`metaeval.tables.as_judgments` accepts).
        Pairwise verdicts with ``shown_first``.
    reference : str, default "gold"
        The judge whose verdicts are correct.
    by : sequence of str, default ("judge", "variant", "task")
        The columns to group by (those absent from the table are skipped).
    missing : {"wrong", "tie", "drop"}, default "wrong"
        What an abstention counts as. ``"wrong"`` (LLMBar's own convention): a category of its own,
        so it is never right, and a pair with no verdict in either order keeps its (missing) verdict
        across the swap; with it, LLMBar's published accuracy and positional agreement come out
        exactly for every configuration. ``"tie"``: a tie. ``"drop"``: pairs without a verdict in both
        orders are left out.
    n_resamples : int, default 1000
        Bootstrap resamples (used with ``ci="bootstrap"``).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the interval.
    rng : int, numpy.random.Generator or None
        Seed for the bootstrap; the same seed gives the same interval.

    Returns
    -------
    TwoOrder
        ``table``: one row per group, with ``n``, ``accuracy``, ``positional_agreement``,
        ``two_game_accuracy``, ``accuracy_first``, ``accuracy_second`` and ``abstention_rate``;
        accuracy, positional agreement and the abstention rate with ``_ci_low`` / ``_ci_high``.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import agreement
    >>> sim = metaeval.simulate.pairwise(n_models=3, n_items=60, judges=("judge-atlas",), n_humans=1,
    ...                                  both_orders=True, position_bias=1.0, rng=2)
    >>> t = agreement.two_order(sim.judgments, "human:1", by=("judge",), n_resamples=200, rng=0).table
    >>> float(t["positional_agreement"][0]) < 1
    True
    """
    judgments = as_judgments(judgments)
    check_missing(missing)
    if judgments.kind != "pairwise" or "shown_first" not in judgments.frame.columns:
        raise MetaevalError("`two_order` needs pairwise verdicts with `shown_first` (both presentation orders)")
    gen, seed = as_generator(rng)
    f = canonical(judgments.all_rows() if missing != "drop" else judgments.frame)
    code = pl.col("outcome").replace_strict({"a": 0, "b": 1, "tie": 2}, default=None, return_dtype=pl.Int64)
    ref_rows = f.filter(pl.col("judge") == reference, pl.col("outcome").is_not_null())
    if ref_rows.height == 0:
        raise MetaevalError(f"no verdicts by the reference judge {reference!r}")
    # one gold verdict per pair: the reference's majority where it judged a pair more than once (a split is a tie)
    ref_rows, _ = majority(ref_rows.with_columns(pl.col("outcome").cast(pl.String)), ["item", "model_a", "model_b"],
                           "outcome", split="tie")
    gold = ref_rows.select("item", "model_a", "model_b", code.alias("gold"))
    groups = [c for c in by if c in f.columns]
    fill = 3 if missing == "wrong" else 2  # an abstention: a category of its own, or a tie
    v = f.filter(pl.col("judge") != reference, pl.col("shown_first").is_not_null())
    wide = (v.with_columns(code.fill_null(fill).alias("o"), pl.col("shown_first").cast(pl.String).alias("sf"))
            .pivot(on="sf", index=[*groups, "item", "model_a", "model_b"], values="o"))
    if "a" not in wide.columns or "b" not in wide.columns:
        raise InsufficientDataError("no pair was judged in both orders")
    wide = wide.drop_nulls(["a", "b"]).join(gold, on=["item", "model_a", "model_b"], maintain_order="left")
    if wide.height == 0:
        raise InsufficientDataError("no pair was judged in both orders and has a gold label")
    rows = []
    draws: list[dict[str, Any]] = []
    for key, g in wide.group_by(groups, maintain_order=True):
        first, second, gl = g["a"].to_numpy(), g["b"].to_numpy(), g["gold"].to_numpy()
        point = two_order_metrics(first, second, gl)
        n = len(gl)
        item_codes = np.unique(g["item"].to_numpy(), return_inverse=True)[1]
        n_items = int(item_codes.max()) + 1
        right = ((first == gl).astype(float) + (second == gl)) / 2
        same = (first == second).astype(float)
        abst = ((first == 3).astype(float) + (second == 3)) / 2 if missing == "wrong" else np.zeros(n)
        per = {k: np.bincount(item_codes, x, n_items) for k, x in
               (("accuracy", right), ("positional_agreement", same), ("abstention_rate", abst))}
        per_n = np.bincount(item_codes, None, n_items).astype(float)
        W = cluster_weights(n_items, n_resamples, gen)
        row = dict(zip(groups, key if isinstance(key, tuple) else (key,), strict=True))
        row.update({"n": n, **point, "abstention_rate": float(abst.mean())})
        kept = {}
        with np.errstate(invalid="ignore", divide="ignore"):
            den = W @ per_n
            for k, x in per.items():
                kept[k] = _ShareDraws(row[k], (W @ x) / den, n_items, "propagate")
                row[f"{k}_ci_low"], row[f"{k}_ci_high"] = kept[k].interval(confidence_level)
        rows.append(row)
        draws.append(kept)
    table = pl.DataFrame(rows).with_row_index("__row").sort("accuracy", descending=True)
    order = table["__row"].to_list()
    table = table.drop("__row")
    run = RunInfo("two_order", {"reference": reference, "by": groups, "n_resamples": n_resamples,
                                "missing": missing}, seed, judgments.fingerprint, len(judgments.items),
                  len(judgments))
    return TwoOrder(table, run, confidence_level=confidence_level, draws=tuple(draws[i] for i in order))


# --------------------------------------------------------------------- matrix, against
METRICS = ("cohen_kappa", "scott_pi", "percent_agreement", "krippendorff_alpha", "gwet_ac")
METRIC_LABELS = {"cohen_kappa": "Cohen's κ", "scott_pi": "Scott's π", "percent_agreement": "percent agreement",
                 "krippendorff_alpha": "Krippendorff's α", "gwet_ac": "Gwet's AC", "abstention_rate": "abstention rate"}


@dataclass(frozen=True)
class AgreementMatrix(Result):
    """Judge × judge agreement with intervals (long form in ``to_polars``; ``wide()`` for the square).

    ``coefficients`` keeps each pair's :class:`Agreement` (``None`` where the pair shares too few
    units), so :meth:`confidence_interval` gives the intervals at another level;
    ``confidence_level`` is the level of the bounds in ``pairs``. ``missing`` is the policy each
    pair counted missing verdicts by (``"drop"``: a unit only one judge rated is left out of that
    pair, so ``n_units`` differs between pairs); the summary says it.
    """

    judges: tuple[str, ...]
    metric: str
    pairs: pl.DataFrame
    run_info: RunInfo
    title: str = "judge × judge agreement"
    extra: dict[str, Any] = field(default_factory=dict)
    confidence_level: float = 0.95
    coefficients: tuple[Agreement | None, ...] | None = field(default=None, repr=False, compare=False)
    missing: str = "drop"

    def summary(self) -> str:
        if self.missing == "drop":
            how = ("each pair on the units both judges rated: a missing verdict leaves its unit out of that pair "
                   "(missing='drop'), so n_units differs between pairs. `against` counts a judge's missing "
                   "verdicts as wrong by default; pass the same `missing=` to both for the same numbers")
        else:
            what = {"wrong": "count as wrong (a verdict of their own)", "tie": "count as ties"}.get(
                self.missing, self.missing)
            how = f"each pair on the units either judge rated: missing verdicts {what} (missing={self.missing!r})"
        return super().summary() + f"\n{how}"

    def confidence_interval(self, confidence_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Every pair's interval at another level, rebuilt from the pair's kept coefficient (its
        bootstrap draws or analytic standard error, :meth:`Agreement.confidence_interval`), in the
        row order of ``pairs``; a pair without a coefficient has ``nan`` bounds. At
        ``confidence_level`` they are ``pairs``' ``ci_low`` / ``ci_high`` exactly.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Coverage of the interval, in (0, 1).

        Returns
        -------
        tuple of numpy.ndarray
            ``(low, high)``, one bound per row of ``pairs``.

        Raises
        ------
        ParameterError
            When the pairs were computed with ``ci="none"``, or the result kept no coefficients (one
            built by hand): call :func:`matrix` again at that level.

        Examples
        --------
        >>> import metaeval
        >>> from metaeval import agreement
        >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=40, n_humans=2, rng=0)
        >>> m = agreement.matrix(sim.judgments, "krippendorff_alpha", scale="interval", n_resamples=50, rng=0)
        >>> low, high = m.confidence_interval(m.confidence_level)
        >>> bool((low == m.pairs["ci_low"].to_numpy()).all())
        True
        """
        level = check_confidence_level(confidence_level)
        if self.coefficients is None:
            raise ParameterError("this AgreementMatrix kept no coefficients, so its intervals cannot be given at "
                                 f"another level: call `matrix(..., confidence_level={confidence_level!r})` again")
        return _kept_bounds(self.coefficients, level)

    def to_polars(self) -> pl.DataFrame:
        return self.pairs

    def wide(self) -> pl.DataFrame:
        m = len(self.judges)
        idx = {j: i for i, j in enumerate(self.judges)}
        mat = np.eye(m)
        for r in self.pairs.iter_rows(named=True):
            mat[idx[r["judge_a"]], idx[r["judge_b"]]] = mat[idx[r["judge_b"]], idx[r["judge_a"]]] = r["estimate"]
        return pl.DataFrame({"judge": list(self.judges), **{j: mat[:, k] for k, j in enumerate(self.judges)}})

    def chart(self) -> Any:
        """Heatmap of the matrix: every pair of judges (both halves), the value printed in each cell."""
        full = pl.concat([self.pairs.select("judge_a", "judge_b", "estimate", "ci_low", "ci_high", "n_units"),
                          self.pairs.select(pl.col("judge_b").alias("judge_a"), pl.col("judge_a").alias("judge_b"),
                                            "estimate", "ci_low", "ci_high", "n_units")])
        name = METRIC_LABELS.get(self.metric, self.metric)
        return heatmap(full, x="judge_a", y="judge_b", value="estimate", x_sort=self.judges, y_sort=self.judges,
                       color_title=name, title=f"Judge × judge agreement: {name}",
                       subtitle=("each pair on the units both judges rated" if self.missing == "drop" else
                                 f"missing verdicts counted as {self.missing!r}") + "; hover for the interval",
                       tooltip=["ci_low", "ci_high", "n_units"])

def _renamed_option(kw: dict[str, Any], old: str, new: str) -> None:
    """An option passed on through ``**kwargs`` under its old name: renamed, with a warning."""
    if old in kw:
        if new in kw:
            raise ParameterError(f"pass `{new}` only (`{old}` is its old name)")
        warn(f"`{old}` is now `{new}`; the old name goes in the next release", FutureWarning)
        kw[new] = kw.pop(old)


def _pair_stat(metric: str, j: Judgments, a: str, b: str, kw: dict[str, Any]) -> Agreement:
    # `scale` belongs to Krippendorff's alpha, `weights` to the kappa family: route them.
    _renamed_option(kw, "level", "scale")
    if metric == "krippendorff_alpha":
        kw.pop("weights", None)
    else:
        kw.pop("scale", None)
    if metric == "scott_pi":
        kw.pop("weights", None)
    if metric == "cohen_kappa":
        return cohen_kappa(j, a, b, **kw)
    if metric == "scott_pi":
        return scott_pi(j, a, b, **kw)
    if metric == "percent_agreement":
        return percent_agreement(j, judges=[a, b], **kw)
    if metric == "krippendorff_alpha":
        return krippendorff_alpha(j, judges=[a, b], **kw)
    if metric == "gwet_ac":
        return gwet_ac(j, judges=[a, b], **kw)
    raise ParameterError(f"`metric` must be one of {', '.join(METRICS)}; got {metric!r}")


@validate_params({"metric": [Options(str, METRICS)]})
def matrix(judgments: Judgments, metric: str = "cohen_kappa", *, judges: Sequence[str] | None = None,
           **kwargs: Any) -> AgreementMatrix:
    """Agreement of every pair of judges (on the units both rated), with intervals.

    A pair that shares too few units, or whose ratings are constant, gets nan (one warning counts
    them). By default (``missing="drop"``) a unit that only one judge of a pair rated is left out of
    that pair; :func:`against` counts a judge's missing verdicts as wrong by default, so the same
    pair can show two values: pass the same ``missing=`` to both for the same number (the summary
    says which rule was used).

    Parameters
    ----------
    judgments : Judgments
        The validated table of verdicts (anything :func:`metaeval.tables.as_judgments` accepts).
    metric : {"cohen_kappa", "scott_pi", "percent_agreement", "krippendorff_alpha", "gwet_ac"}
        The coefficient, default ``"cohen_kappa"``.
    judges : sequence of str, optional
        The judges to pair up (at least two). Default: every judge in the table.
    **kwargs
        Passed on to the metric: ``scale`` to Krippendorff's α, ``weights`` to the κ family, and
        ``ci``, ``n_resamples``, ``confidence_level``, ``rng``, ``missing`` to all.

    Returns
    -------
    AgreementMatrix
        ``pairs``: one row per pair (``judge_a``, ``judge_b``, ``estimate``, ``ci_low``, ``ci_high``,
        ``n_units``); ``wide()`` gives the square matrix and ``chart()`` its heatmap.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import agreement
    >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=40, n_humans=2, rng=0)
    >>> m = agreement.matrix(sim.judgments, "krippendorff_alpha", scale="interval", n_resamples=100, rng=0)
    >>> m.pairs.height, m.judges[:2]
    (6, ('human:1', 'human:2'))
    """
    judgments = as_judgments(judgments)
    names = tuple(judges) if judges is not None else judgments.judges
    if len(names) < 2:
        raise InsufficientDataError("a judge × judge matrix needs at least two judges")

    rows = []
    kept: list[Agreement | None] = []
    undefined = 0
    for a, b in itertools.combinations(names, 2):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", EstimationWarning)
                r = _pair_stat(metric, judgments, a, b, dict(kwargs))
            undefined += int(not np.isfinite(r.estimate))
        except InsufficientDataError:
            undefined += 1
            rows.append({"judge_a": a, "judge_b": b, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                         "n_units": 0})
            kept.append(None)
            continue
        rows.append({"judge_a": a, "judge_b": b, "estimate": r.estimate, "ci_low": r.ci.low, "ci_high": r.ci.high,
                     "n_units": r.n_units})
        kept.append(r)
    if undefined:
        warn(f"{undefined} of {len(rows)} judge pairs share too few units (or only constant ratings): their "
             "agreement is nan", EstimationWarning)
    run = RunInfo("agreement_matrix", {"metric": metric, **{k: v for k, v in kwargs.items() if k != "rng"}}, None,
                  judgments.fingerprint, len(judgments.items), len(judgments))
    return AgreementMatrix(names, metric, pl.DataFrame(rows), run,
                           confidence_level=kwargs.get("confidence_level", 0.95), coefficients=tuple(kept),
                           missing=str(kwargs.get("missing", "drop")))


@dataclass(frozen=True)
class Against(Result):
    """One row per judge: agreement metrics against the reference, each with an interval, the
    units compared and the judge's abstention rate (rows without a verdict) with an item-bootstrap
    interval. ``missing`` is the policy the metrics counted abstentions by.

    ``kept`` holds, per row, each metric's :class:`Agreement` and the abstention rate's bootstrap
    draws, so :meth:`confidence_interval` gives the intervals at another level.
    """

    table: pl.DataFrame
    reference: str
    run_info: RunInfo
    missing: str = "wrong"
    title: str = "judges against the reference"
    kept: tuple[dict[str, Any], ...] | None = field(default=None, repr=False, compare=False)

    def confidence_interval(self, confidence_level: float = 0.95) -> pl.DataFrame:
        """Every metric's and the abstention rate's interval at another level, rebuilt from what was
        kept: each metric's coefficient (its bootstrap draws or analytic standard error,
        :meth:`Agreement.confidence_interval`) and the abstention rate's item-bootstrap draws. At
        ``confidence_level`` they are the table's bounds exactly.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Coverage of the interval, in (0, 1).

        Returns
        -------
        polars.DataFrame
            One row per judge, in the order of ``table``: ``judge``, then each metric's
            ``_ci_low`` / ``_ci_high`` and ``abstention_rate_ci_low`` / ``abstention_rate_ci_high``
            (``nan`` where the table has no interval).

        Raises
        ------
        ParameterError
            When the metrics were computed with ``ci="none"``, or the result kept nothing to rebuild
            them from (one built by hand): call :func:`against` again at that level.

        Examples
        --------
        >>> import metaeval
        >>> from metaeval import agreement
        >>> sim = metaeval.simulate.pairwise(n_models=3, n_items=40, judges=("judge-atlas",), n_humans=1, rng=0)
        >>> res = agreement.against(sim.judgments, "human", n_resamples=50, rng=0)
        >>> ci = res.confidence_interval(res.run_info.params["confidence_level"])
        >>> ci.equals(res.table.select(ci.columns))
        True
        """
        level = check_confidence_level(confidence_level)
        if self.kept is None:
            raise ParameterError("this Against kept neither bootstrap draws nor standard errors, so its intervals "
                                 f"cannot be given at another level: call `against(..., "
                                 f"confidence_level={confidence_level!r})` again")
        metrics = [m for m in self.run_info.params.get("metrics", METRICS) if f"{m}_ci_low" in self.table.columns]
        return _kept_intervals(self.table.select("judge"), [*metrics, "abstention_rate"], self.kept, level)

    def chart(self) -> Any:
        """Forest plot: each judge's agreement with the reference, one panel per metric (and the
        abstention rate when a judge abstained), judges sorted by the first metric."""
        import altair as alt

        metrics = [m for m in self.run_info.params.get("metrics", METRICS) if m in self.table.columns]
        if self.table.select(pl.col("abstention_rate").fill_nan(0).fill_null(0).max()).item() > 0:
            metrics.append("abstention_rate")
        first = metrics[0]
        order = self.table.sort(first, descending=True, nulls_last=True)["judge"].to_list()
        params = self.run_info.params
        level = params.get("confidence_level", 0.95)
        how = {"bootstrap": "bootstrap intervals over items", "analytic": "analytic intervals",
               "none": "(no intervals)", None: "intervals (each metric's default method)"}.get(params.get("ci"),
                                                                                              "intervals")
        panels = []
        for i, m in enumerate(metrics):
            bounded = m in ("percent_agreement", "abstention_rate")
            lows = self.table[f"{m}_ci_low"].drop_nans().drop_nulls()
            lo = min(0.0, float(lows.min())) if lows.len() else 0.0
            domain = (0.0, 1.0) if bounded else (lo, 1.0)
            if m == "abstention_rate":  # rates near 0: an axis from 0 to just past the largest bound
                highs = self.table.select(pl.max_horizontal(m, f"{m}_ci_high")).to_series().drop_nans().drop_nulls()
                domain = (0.0, min(1.0, 1.15 * float(highs.max()))) if highs.len() and highs.max() > 0 else (0.0, 1.0)
            panels.append(forest(
                self.table, label="judge", estimate=m, low=f"{m}_ci_low", high=f"{m}_ci_high",
                x_title=METRIC_LABELS.get(m, m), null=None if bounded else 0.0, domain=domain, sort=order,
                show_labels=i == 0, width=220 if m != "abstention_rate" else 150, tooltip=["n_units"]))
        what = {"wrong": "count as wrong", "tie": "count as ties", "drop": "are left out"}[self.missing]
        subtitle = f"{level:.0%} {how}; missing verdicts {what}; dashed line: no agreement beyond chance"
        return alt.hconcat(*panels, spacing=12).properties(
            title=alt.TitleParams(f"Judges against {self.reference}", subtitle=subtitle, anchor="start",
                                  subtitleColor="#444444"))

    def summary(self) -> str:
        how = {"wrong": "count as wrong (a verdict of their own that matches no reference verdict)",
               "tie": "count as ties", "drop": "are left out"}[self.missing]
        return (super().summary() + f"\nreference: {self.reference}; missing verdicts {how} (missing="
                f"{self.missing!r}); abstention_rate is each judge's share of units without a verdict")


def _abstention_rate(rm: RatingMatrix, n_resamples: int, level: float,
                     gen: np.random.Generator) -> tuple[float, float, float, int, _ShareDraws | None]:
    """(rate, ci_low, ci_high, n, draws) of a judge's abstentions on the units the reference rated; the
    judge is column 0 and the reference column 1 of a ``missing="wrong"`` rating matrix."""
    code = float(rm.labels.index(ABSTAINED)) if rm.labels and ABSTAINED in rm.labels else None
    ok = ~np.isnan(rm.values).any(axis=1)
    n = int(ok.sum())
    if n == 0:
        return np.nan, np.nan, np.nan, 0, None
    abst = (rm.values[ok, 0] == code).astype(float) if code is not None else np.zeros(n)
    items = rm.item_codes[ok]
    per_a = np.bincount(items, abst, rm.n_items)
    per_n = np.bincount(items, None, rm.n_items).astype(float)
    rate = float(per_a.sum() / per_n.sum())
    W = cluster_weights(rm.n_items, n_resamples, gen)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = (W @ per_a) / (W @ per_n)
    share = _ShareDraws(rate, boot, int((per_n > 0).sum()))
    lo, hi = share.interval(level)
    return rate, lo, hi, n, share


def _boundary_interval(rate: float, lo: float, hi: float, n_items: int, level: float) -> tuple[float, float]:
    """A bootstrap interval of a share that sits at 0 or 1 collapses to a point ([0, 0] for a judge
    that never abstained), which covers nothing. There the open end is the exact Clopper–Pearson
    bound for no events (or all) among ``n_items`` independent items (:func:`proportion_interval`): the
    items are the independent units, so it is conservative for several units per item.

    >>> [round(x, 4) for x in _boundary_interval(0.0, 0.0, 0.0, 100, 0.95)]
    [0.0, 0.0362]
    """
    if rate not in (0, 1):
        return lo, hi

    exact_lo, exact_hi = proportion_interval(rate * n_items, n_items, confidence_level=level,
                                             method="clopper_pearson")
    return (0.0, max(hi, float(exact_hi))) if rate == 0 else (min(lo, float(exact_lo)), 1.0)


@validate_params({"missing": [Options(str, ("drop", "wrong", "tie")), None]})
def against(judgments: Judgments, reference: str = "human", metrics: Sequence[str] = ("cohen_kappa",
            "percent_agreement"), *, missing: MissingPolicy | None = None, **kwargs: Any) -> Against:
    """Every judge (other than the reference) against a reference judge or the reference's consensus.

    The reference is a judge, or the consensus of the judges named ``reference:*`` (e.g.
    ``human:1``, ``human:2``): their mean score, or the majority label / verdict.

    A unit is the item and the pair of outputs (or the model): a reference recorded once applies
    to the judge's verdict in every presentation order and prompt variant. Units the reference has
    no verdict on are never scored.

    Parameters
    ----------
    judgments : Judgments
        The validated table of verdicts (anything :func:`metaeval.tables.as_judgments` accepts).
    reference : str, default "human"
        The reference judge, or the prefix of the judges whose consensus is the reference.
    metrics : sequence of str, default ("cohen_kappa", "percent_agreement")
        Any of ``"cohen_kappa"``, ``"scott_pi"``, ``"percent_agreement"``, ``"krippendorff_alpha"``,
        ``"gwet_ac"``.
    missing : {"wrong", "tie", "drop"}, optional
        How a judge's abstentions count: ``"wrong"`` (the default for verdicts and labels, as
        published judge studies count them: a disagreement with the reference), ``"tie"``
        (pairwise), or ``"drop"`` (the only choice, and the default, for numeric scores).
        :func:`matrix` leaves missing verdicts out by default (``"drop"``), so its value for the same
        judge and reference can differ; the same ``missing`` gives the same number in both.
    **kwargs
        Options for the metrics that take them: ``scale`` to Krippendorff's α, ``weights`` to the κ
        family, ``ci``, ``n_resamples``, ``confidence_level`` and ``rng`` to all.

    Returns
    -------
    Against
        ``table``: one row per judge, with each metric, its ``_ci_low`` / ``_ci_high``, ``n_units``
        and the judge's ``abstention_rate`` with an item-bootstrap interval; ``reference`` and the
        ``missing`` policy used.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import agreement
    >>> sim = metaeval.simulate.pairwise(n_models=4, n_items=100, judges=("judge-atlas",), n_humans=1,
    ...                                  both_orders=True, rng=0)
    >>> res = agreement.against(sim.judgments, "human", n_resamples=200, rng=0)
    >>> res.table.select("judge", "n_units").rows()
    [('judge-atlas', 1200)]
    """
    judgments = as_judgments(judgments)
    gen, seed = as_generator(kwargs.pop("rng", None))
    j, ref = _consensus(judgments, reference)
    if missing is None:  # a missing score has no 'wrong' value: it is left out, and its rate reported
        missing = "drop" if _numeric(j) else "wrong"
    check_missing(missing)
    all_judges = sorted(set(j.judges) | set(j.abstentions["judge"].to_list()))
    others = [x for x in all_judges if x != ref and not x.startswith(reference + ":")]
    if not others:
        raise InsufficientDataError("no judge besides the reference")
    level = kwargs.get("confidence_level", 0.95)
    rows = []
    kept: list[dict[str, Any]] = []
    problems = {}
    for judge in others:
        row: dict[str, Any] = {"judge": judge}
        kept.append({})
        pair = rating_matrix(j, judges=[judge, ref], missing=missing)
        n_both = int((~np.isnan(pair.values).any(axis=1)).sum()) if pair.values.shape[1] == 2 else 0
        row["n_units"] = n_both
        for metric in metrics:
            if n_both == 0:
                problems[judge] = overlap_problem(j, judge, ref)
                row[metric] = row[f"{metric}_ci_low"] = row[f"{metric}_ci_high"] = np.nan
                continue
            try:
                r = _pair_stat(metric, j, judge, ref, dict(kwargs, missing=missing, rng=gen))
                row[metric], row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = r.estimate, r.ci.low, r.ci.high
                kept[-1][metric] = r
            except InsufficientDataError as exc:
                problems[judge] = str(exc)
                row[metric] = row[f"{metric}_ci_low"] = row[f"{metric}_ci_high"] = np.nan
        try:
            rm = rating_matrix(j, judges=[judge, ref], missing="wrong" if not _numeric(j) else "drop")
            if rm.raters != (judge, ref):  # rating_matrix sorts its raters
                rm = rm.subset([judge, ref])
            rate, lo, hi, _, kept[-1]["abstention_rate"] = _abstention_rate(rm, kwargs.get("n_resamples", 1000),
                                                                             level, gen)
        except MetaevalError:
            rate = lo = hi = np.nan
        row["abstention_rate"], row["abstention_rate_ci_low"], row["abstention_rate_ci_high"] = rate, lo, hi
        rows.append(row)
    if len(problems) == len(others):
        first = next(iter(problems.values()))
        raise InsufficientDataError(f"no judge shares a unit with the reference {ref!r}: {first}")
    if problems:
        warn(f"{len(problems)} judges share no unit with the reference {ref!r}; their agreement is nan: "
             + "; ".join(f"{k}: {v}" for k, v in list(problems.items())[:3]), EstimationWarning)
    run = RunInfo("against", {"reference": ref, "metrics": list(metrics), "missing": missing,
                              "ci": kwargs.get("ci"), "confidence_level": level}, seed,
                  judgments.fingerprint, len(judgments.items), len(judgments))
    return Against(pl.DataFrame(rows), ref, run, missing, kept=tuple(kept))


def _numeric(j: Judgments) -> bool:
    f = j.frame
    return j.kind == "pointwise" and "score" in f.columns and f["score"].null_count() < f.height
