"""Many models: all-pairs paired comparisons with multiple-comparison control.

p-values are adjusted with statsmodels' ``multipletests`` (Holm, Hochberg, Benjamini–Hochberg,
Benjamini–Yekutieli, Bonferroni); the result is a matrix of differences and adjusted p-values
and groups of models that cannot be told apart from each group's leader.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from metaeval._random import as_generator
from metaeval._validate import LEVEL, N_RESAMPLES, SIGNIFICANCE, Options, validate_params
from metaeval.errors import DataDroppedWarning, MetaevalError, ParameterError
from metaeval.results import Result, RunInfo
from metaeval.stats.comparison import compare
from metaeval.stats.resampling import DEFAULT_N_TEST_RESAMPLES
from metaeval.tables import Judgments, as_judgments

__all__ = ["CORRECTIONS", "AllPairs", "adjust_pvalues", "all_pairs", "resampling_floors"]

CORRECTIONS = {"holm": "holm", "hochberg": "simes-hochberg", "bh": "fdr_bh", "by": "fdr_by",
               "bonferroni": "bonferroni", "none": None}


@validate_params({"pvalues": ["array-like"], "method": [Options(str, CORRECTIONS)]})
def adjust_pvalues(pvalues: np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjusted p-values, as R's ``p.adjust``.

    Parameters
    ----------
    pvalues : numpy.ndarray
        The raw p-values, in [0, 1] (nan is refused).
    method : {"holm", "hochberg", "bh", "by", "bonferroni", "none"}, default "holm"
        Holm and Hochberg (family-wise error), Benjamini–Hochberg and Benjamini–Yekutieli (false
        discovery rate), Bonferroni, or no adjustment.

    Returns
    -------
    numpy.ndarray
        The adjusted p-values, in the input order.

    Examples
    --------
    >>> adjust_pvalues(np.array([0.01, 0.02, 0.03, 0.04, 0.05]), "holm").round(2).tolist()
    [0.05, 0.08, 0.09, 0.09, 0.09]
    """
    from statsmodels.stats.multitest import multipletests

    if method not in CORRECTIONS:
        raise ParameterError(f"`method` must be one of {', '.join(CORRECTIONS)}; got {method!r}")
    p = np.asarray(pvalues, float)
    if p.size == 0:
        return p
    if np.any((p < 0) | (p > 1) | np.isnan(p)):
        raise MetaevalError("p-values must lie in [0, 1]")
    if CORRECTIONS[method] is None:
        return p.copy()
    return multipletests(p, method=CORRECTIONS[method])[1]


@dataclass(frozen=True)
class AllPairs(Result):
    """Every pair of models compared on their shared items, with adjusted p-values."""

    models: tuple[str, ...]
    means: np.ndarray
    pairs: pl.DataFrame
    correction: str
    alpha: float
    run_info: RunInfo
    title: str = "all-pairs comparisons"

    def to_polars(self) -> pl.DataFrame:
        return self.pairs

    def matrix(self, value: Literal["difference", "pvalue_adjusted"] = "pvalue_adjusted") -> pl.DataFrame:
        """Square table of one column: rows model_a, columns model_b (antisymmetric for differences)."""
        m = len(self.models)
        idx = {x: i for i, x in enumerate(self.models)}
        mat = np.full((m, m), np.nan)
        for row in self.pairs.iter_rows(named=True):
            i, j = idx[row["model_a"]], idx[row["model_b"]]
            mat[i, j] = row[value]
            mat[j, i] = -row[value] if value == "difference" else row[value]
        return pl.DataFrame({"model": list(self.models), **{b: mat[:, k] for k, b in enumerate(self.models)}})

    @property
    def groups(self) -> dict[str, int]:
        """Group number per model: the best remaining model leads a group with every remaining
        model not significantly different from it."""
        order = np.argsort(-self.means, kind="stable")
        sig = {(r["model_a"], r["model_b"]) for r in self.pairs.iter_rows(named=True) if r["significant"]}
        sig |= {(b, a) for a, b in sig}
        remaining = [self.models[i] for i in order]
        out: dict[str, int] = {}
        g = 0
        while remaining:
            g += 1
            leader = remaining[0]
            members = [x for x in remaining if x == leader or (leader, x) not in sig]
            for x in members:
                out[x] = g
            remaining = [x for x in remaining if x not in members]
        return out


@validate_params({
    "test": [Options(str, ("auto", "mcnemar", "mcnemar_midp", "paired_t", "wilcoxon", "bootstrap", "permutation"))],
    "correction": [Options(str, CORRECTIONS)],
    "alpha": [SIGNIFICANCE],
    "confidence_level": [LEVEL],
    "n_resamples": [N_RESAMPLES],
    "rng": ["rng"],
})
def all_pairs(
    results: Judgments,
    *,
    test: str = "auto",
    correction: str = "holm",
    alpha: float = 0.05,
    models: list[str] | None = None,
    cluster: str | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = DEFAULT_N_TEST_RESAMPLES,
    rng: np.random.Generator | int | None = None,
) -> AllPairs:
    """Compare every pair of models (paired on shared items) and control the error rate.

    Each pair is compared by :func:`metaeval.compare`; the p-values are then adjusted together.

    Parameters
    ----------
    results : Judgments
        Pointwise scores (or pairwise verdicts against a common baseline).
    test : str, default "auto"
        The paired test, as in :func:`metaeval.compare`.
    correction : {"holm", "hochberg", "bh", "by", "bonferroni", "none"}, default "holm"
        The p-value adjustment (:func:`adjust_pvalues`).
    alpha : float, default 0.05
        A pair is ``significant`` when its adjusted p-value is at most ``alpha``.
    models : list of str, optional
        The models to compare. Default: all.
    cluster : str, optional
        A column grouping dependent items.
    confidence_level : float, default 0.95
        Coverage of each pair's interval (not adjusted for multiplicity).
    n_resamples : int, default 10000
        Resamples for the resampling tests.
        Default: the package default for Monte Carlo p-values, 10000 (``DEFAULT_N_TEST_RESAMPLES``, see
        :mod:`metaeval.stats.resampling`).
    rng : int, numpy.random.Generator or None
        Seed for the resampling tests.

    Returns
    -------
    AllPairs
        ``pairs``: one row per pair (``model_a``, ``model_b``, ``difference``, ``ci_low``,
        ``ci_high``, ``pvalue``, ``test``, ``n``, ``pvalue_adjusted``, ``significant``); ``models``,
        ``means``, ``correction``, ``alpha``; ``matrix()`` for the square table.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval.stats import all_pairs
    >>> sim = metaeval.simulate.pointwise(n_models=3, n_items=300, n_humans=0, judges=("judge-x",), rng=1)
    >>> res = all_pairs(sim.judgments, correction="holm", rng=0)
    >>> res.to_polars().height
    3
    """
    results = as_judgments(results)

    gen, seed = as_generator(rng)
    names = tuple(models) if models is not None else results.models
    if len(names) < 2:
        raise MetaevalError("need at least two models")
    rows: list[dict[str, Any]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)
        for a, b in itertools.combinations(names, 2):
            c = compare(results, a, b, test=test, cluster=cluster, confidence_level=confidence_level,
                        n_resamples=n_resamples, rng=gen)
            rows.append({"model_a": a, "model_b": b, "difference": c.estimate, "ci_low": c.ci.low,
                         "ci_high": c.ci.high, "pvalue": c.pvalue, "test": c.test, "n": c.n})
    frame = pl.DataFrame(rows)
    adjusted = adjust_pvalues(frame["pvalue"].to_numpy(), correction)
    frame = frame.with_columns(pl.Series("pvalue_adjusted", adjusted),
                               pl.Series("significant", adjusted <= alpha))
    f = results.frame.filter(pl.col("score").is_not_null())
    per = (f.group_by("item", "model", maintain_order=True).agg(pl.col("score").mean())
           .group_by("model", maintain_order=True).agg(pl.col("score").mean()))
    lookup = dict(zip(per["model"].to_list(), per["score"].to_list(), strict=True))
    means = np.array([lookup[m] for m in names])
    run = RunInfo("all_pairs", {"test": test, "correction": correction, "alpha": alpha, "cluster": cluster}, seed,
                  results.fingerprint, len(results.items), len(results))
    return AllPairs(names, means, frame, correction, alpha, run)


def resampling_floors(pvalues: np.ndarray, floors: np.ndarray, *, alpha: float = 0.05,
                      method: str = "holm") -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Which p-values sit at their resampling floor, and what that does to the adjusted ones.

    A resampling p-value (permutation or bootstrap, add-one corrected) cannot fall below
    ``floor`` = 1 / (B + 1) (two-sided bootstrap: 2 / (B + 1)); one that sits there says only
    "at most this". Returns: which raw p-values are at their floor (shown as ``< floor``); the
    adjusted p-values; which adjusted values depend on a floored p (they would be smaller with
    more resamples: upper bounds, shown as ``< x``); and whether a decision — adjusted p below
    ``alpha`` — depends on a floor (it differs when the floored p-values are set to 0), in which
    case the caller should resample more. ``floors`` is ``nan`` for a test without a floor.

    >>> at, adj, bound, depends = resampling_floors(np.array([2 / 301] * 7 + [0.5]), np.full(8, 2 / 301))
    >>> int(at.sum()), round(float(adj[0]), 4), bool(depends)
    (7, 0.0532, True)
    """
    p = np.asarray(pvalues, float)
    fl = np.asarray(floors, float)
    at = np.isfinite(p) & np.isfinite(fl) & (p <= fl * (1 + 1e-9))
    ok = np.isfinite(p)
    adj = np.full(p.shape, np.nan)
    low = np.full(p.shape, np.nan)
    if ok.any():
        adj[ok] = adjust_pvalues(p[ok], method)
        low[ok] = adjust_pvalues(np.where(at, 0.0, p)[ok], method)
    bound = ok & (adj - low > 1e-12)
    depends = bool(np.any(ok & ((adj < alpha) != (low < alpha))))
    return at, adj, bound, depends
