"""Shared pieces of the bias probes: the result object, battle arrays, families and wording."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy import stats as st

from metaeval._format import table_text
from metaeval.bias._glm import cluster_jackknife
from metaeval.errors import EstimationWarning, MetaevalError, SmallSampleWarning, warn
from metaeval.rankers.covariates import bt_covariates_battles
from metaeval.report.charts import forest
from metaeval.results import Result, RunInfo
from metaeval.stats.intervals import proportion_interval
from metaeval.tables import Judgments, model_codes, preference

__all__ = ["BiasProbe"]

#: The fewest items at which the null-calibration study (:mod:`metaeval.bias.study`) found the
#: probes' t tests on jackknife standard errors at level; below it they warn (SmallSampleWarning).
SMALL_ITEMS = 12

#: Columns every probe table has, in this order, after its grouping columns.
#: the length probe's effect (shared by the in-memory probe and the streamed one)
LENGTH_EFFECT = "log-odds per sd of log length"

STANDARD = ("effect", "estimate", "ci_low", "ci_high", "pvalue", "n", "finding")


@dataclass(frozen=True)
class BiasProbe(Result):
    """The outcome of one bias probe.

    ``table`` has one row per judge (or judge × variant, or feature): the grouping columns,
    then ``effect`` (what the number measures), ``estimate``, ``ci_low``, ``ci_high``,
    ``pvalue`` (test of no bias: ``null``), ``n``, ``finding`` (one plain sentence) and the
    probe's own extra columns. ``details`` holds the probe's further tables (items for a
    human, length-controlled win rates, style-adjusted ratings …).
    """

    probe: str
    effect: str
    null: float
    table: pl.DataFrame
    confidence_level: float
    run_info: RunInfo
    details: dict[str, pl.DataFrame] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"{self.probe} bias probe"

    @property
    def findings(self) -> list[str]:
        """The plain-language findings, one per row."""
        return self.table["finding"].to_list()

    @property
    def groups(self) -> list[str]:
        """The grouping columns (judge, variant …) in front of the standard ones."""
        return self.table.columns[: self._n_groups]

    @property
    def _n_groups(self) -> int:
        cols = self.table.columns
        return cols.index("effect") if "effect" in cols else 0

    def summary(self) -> str:
        body = table_text(self.table.drop("finding"), title=self.title)
        lines = [f"effect: {self.effect} (no bias: {self.null:g}); {self.confidence_level:.0%} intervals"]
        lines += [f"- {f}" for f in self.findings]
        lines += [f"note: {n}" for n in self.notes]
        return body + "\n" + "\n".join(lines)

    def chart(self) -> Any:
        """Forest plot: each group's estimate with its interval, against the no-bias line."""
        keys = self.table.columns[: self._n_groups] or ["effect"]
        rows = self.table.with_columns(
            pl.concat_str([pl.col(k).cast(pl.String).fill_null("") for k in keys], separator=" · ").alias("group")
        ).select("group", "estimate", "ci_low", "ci_high", "pvalue", "n", "finding")
        return forest(rows, label="group", estimate="estimate", low="ci_low", high="ci_high", x_title=self.effect,
                      null=self.null, tooltip=["pvalue", "n", "finding"], title=f"{self.probe.capitalize()} bias",
                      subtitle=f"{self.confidence_level:.0%} intervals; dashed: no bias ({self.null:g})")

# --------------------------------------------------------------------------- helpers
def require_pairwise(judgments: Judgments, probe: str) -> None:
    if not isinstance(judgments, Judgments):
        raise MetaevalError(f"the {probe} probe needs a metaeval `Judgments` table; got {type(judgments).__name__}")
    if judgments.kind != "pairwise":
        raise MetaevalError(f"the {probe} probe needs pairwise verdicts (`model_a`, `model_b`, `outcome`); "
                            "this table is pointwise — convert it with `to_pairwise()` first")


def require_columns(judgments: Judgments, columns: Sequence[str], probe: str, why: str) -> None:
    f = judgments.frame
    missing = [c for c in columns if c not in f.columns or f[c].null_count() == f.height]
    if missing:
        have = ", ".join(f"`{c}`" for c in f.columns if c != "extra")
        raise MetaevalError(f"the {probe} probe needs column {', '.join(f'`{c}`' for c in missing)} ({why}); "
                            f"the table has {have}")


def group_keys(judgments: Judgments, by: Sequence[str] | str | None) -> list[str]:
    """``by`` as a list of existing columns; the default is the judge, plus the variant when it varies."""
    f = judgments.frame
    if by is None:
        keys = ["judge"]
        if "variant" in f.columns and f["variant"].n_unique() > 1:
            keys.append("variant")
        return keys
    keys = [by] if isinstance(by, str) else list(by)
    bad = [k for k in keys if k not in f.columns]
    if bad:
        raise MetaevalError(f"cannot group by `{bad[0]}`: the table has no such column")
    return keys


def codes(series: pl.Series) -> np.ndarray:
    """Integer codes 0..k-1 of the distinct values (clusters for the sandwich covariances)."""
    return series.cast(pl.String).fill_null("<missing>").rank("dense").to_numpy().astype(np.int64) - 1


def battles(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Model indices of side a and b and the model labels."""
    models = sorted(set(frame["model_a"].unique().to_list()) | set(frame["model_b"].unique().to_list()))
    return model_codes(frame["model_a"], models), model_codes(frame["model_b"], models), models


def significant(p: float, level: float) -> bool:
    """Whether a (finite) p-value rejects at ``1 − level``."""
    return p is not None and math.isfinite(p) and p < 1 - level


def wilson(k: float, n: int, level: float) -> tuple[float, float]:
    """Wilson interval of a proportion as two floats (nan when ``n`` is 0)."""

    if n == 0:
        return float("nan"), float("nan")
    lo, hi = proportion_interval(k, n, confidence_level=level)
    return float(lo), float(hi)


class BTFit:
    """A Bradley–Terry fit with covariates as the probes use it: ``theta`` / ``theta_se``
    (cluster-robust sandwich), ``beta`` and ``beta_se`` — the leave-one-item-out jackknife
    (CR3) standard errors — ``n_clusters`` (items: the t reference distribution has
    ``n_clusters − 1`` degrees of freedom) and ``separated``."""

    def __init__(self, theta: np.ndarray, theta_se: np.ndarray, beta: np.ndarray, beta_se: np.ndarray,
                 n_clusters: int, separated: bool) -> None:
        self.theta, self.theta_se, self.beta, self.beta_se = theta, theta_se, beta, beta_se
        self.n_clusters, self.separated = n_clusters, separated

    @property
    def df(self) -> int:
        """Degrees of freedom of the t reference distribution (items − 1)."""
        return max(self.n_clusters - 1, 1)


def fit_bt(frame: pl.DataFrame, x: np.ndarray, prior: float, label: str,
           sides: tuple[np.ndarray, np.ndarray, list[str]] | None = None) -> BTFit:
    """Bradley–Terry with covariates ``x`` on the verdicts of ``frame`` (preferences as the
    response, items as clusters), warning when a model wins or loses everything. ``sides`` passes
    the output of :func:`battles` when the caller already has it. The covariates' standard
    errors are leave-one-item-out jackknife ones (see :func:`metaeval.bias._glm.cluster_jackknife`)."""
    from scipy import sparse
    from scipy.special import expit

    ia, ib, models = sides if sides is not None else battles(frame)
    x = np.asarray(x, float).reshape(len(ia), -1)
    y = preference(frame)
    item = codes(frame["item"])
    fit = bt_covariates_battles(ia, ib, y, x, len(models), prior=prior, cluster=item)
    if fit.separated:
        warn(f"{label}: a model wins or loses every comparison (separation); the estimates rest on the prior "
             f"(precision {prior:g})", EstimationWarning)
    m, p, n = len(models), x.shape[1], len(y)
    prob = expit(fit.theta[ia] - fit.theta[ib] + x @ fit.beta)
    w = prob * (1 - prob)
    rows = np.arange(n)
    grad = sparse.csr_matrix((np.concatenate([np.ones(n), -np.ones(n), x.ravel()]),
                              (np.concatenate([rows, rows, np.repeat(rows, p)]),
                               np.concatenate([ia, ib, np.tile(m + np.arange(p), n)]))), shape=(n, m + p))
    gauge = np.r_[np.ones(m), np.zeros(p)]
    hess = np.asarray((grad.T @ grad.multiply(w[:, None])).todense()) + prior * np.eye(m + p) + np.outer(gauge, gauge)
    cov, n_cl = cluster_jackknife(grad, w, y - prob, item, hess)
    beta_se = np.sqrt(np.maximum(np.diag(cov)[m:], 0.0))
    if n_cl < SMALL_ITEMS:
        warn(f"{label}: only {n_cl} items; the t interval on the jackknife standard error is approximate with fewer "
             f"than {SMALL_ITEMS}", SmallSampleWarning)
    return BTFit(fit.theta, fit.theta_se, fit.beta, beta_se, n_cl, fit.separated)


def wald(estimate: float, se: float, level: float, null: float = 0.0,
         df: float | None = None) -> tuple[float, float, float]:
    """(low, high, two-sided p) of a normal interval and z test, or of a t interval and test
    with ``df`` degrees of freedom."""
    if not (math.isfinite(estimate) and math.isfinite(se)) or se <= 0:
        return float("nan"), float("nan"), float("nan")
    if df is None:
        q = float(st.norm.ppf(0.5 + level / 2))
        p = float(2 * st.norm.sf(abs((estimate - null) / se)))
    else:
        q = float(st.t.ppf(0.5 + level / 2, df))
        p = float(2 * st.t.sf(abs((estimate - null) / se), df))
    return estimate - q * se, estimate + q * se, p


def group_label(keys: Sequence[str], values: Sequence[Any]) -> str:
    parts = [str(v) if k == "judge" else f"{k} {v}" for k, v in zip(keys, values, strict=True)]
    return ", ".join(parts) if parts else "all verdicts"


def fmt(x: float, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.{digits}g}"


def fmt_p(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def run_info(method: str, params: Mapping[str, Any], seed: int | None, judgments: Judgments) -> RunInfo:
    return RunInfo(method, dict(params), seed, judgments.fingerprint, judgments.frame["item"].n_unique(),
                   len(judgments))


def finish(probe: str, effect: str, null: float, rows: list[dict[str, Any]], keys: Sequence[str], level: float,
           run: RunInfo, details: dict[str, pl.DataFrame] | None = None, notes: Sequence[str] = ()) -> BiasProbe:
    """Assemble a probe result with the standard column order."""
    if not rows:
        raise MetaevalError(f"the {probe} probe found nothing to measure")
    table = pl.DataFrame(rows, infer_schema_length=None)
    extra = [c for c in table.columns if c not in keys and c not in STANDARD]
    table = table.select([*keys, *STANDARD, *extra])
    return BiasProbe(probe, effect, null, table, level, run, details or {}, tuple(notes))


def length_finding(label: str, estimate: float, pvalue: float, p_longer: float, k: int, min_diff: float,
                   level: float) -> str:
    """The length probe's finding for one group, in words (in-memory and streamed alike)."""
    share = f"the longer output wins {p_longer:.0%} of {k} pairs that differ by more than {min_diff:.0%}"
    if significant(pvalue, level):
        side = "longer" if estimate > 0 else "shorter"
        return (f"{label}: prefers {side} outputs beyond model strength — odds ×{fmt(math.exp(abs(estimate)))} per "
                f"sd of log length ({fmt_p(pvalue)}); {share}")
    return f"{label}: no detectable length effect beyond model strength ({fmt_p(pvalue)}); {share}"
