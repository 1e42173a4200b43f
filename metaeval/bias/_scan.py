"""Style and length bias of battle logs read lazily (:func:`metaeval.scan`): the in-memory probes'
estimates from streamed passes, never holding the battles.

``bias.style_bias(scan(...), features=...)`` and ``bias.length_bias(scan(...))`` land here. One
pass reduces the counts (the plain ratings) and the moments that standardise each feature; the
style-controlled fit is :func:`metaeval.battles.covariates_scan` (one pass per Newton step), so
θ and β equal the in-memory fit to summation order. The in-memory probes give β a
leave-one-item-out jackknife standard error, which needs every item's own refit; here it is the
cluster-robust (CR1) sandwich, from one more pass per bucket of clusters, with the same t
reference (clusters − 1 degrees of freedom).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from metaeval.battles import _WINNER, BattleScan, _batches, covariates_scan, rank_scan
from metaeval.bias._common import LENGTH_EFFECT, finish, fmt, fmt_p, length_finding, significant, wald, wilson
from metaeval.errors import ImportFormatError, InsufficientDataError, MetaevalError, SmallSampleWarning, warn
from metaeval.rankers.bradley_terry import bt_newton_counts, fisher_information
from metaeval.rankers.covariates import constrained_covariance
from metaeval.results import RunInfo


def _moments(sc: BattleScan, exprs: Mapping[str, pl.Expr], numbers: Sequence[str] = (),
             probe: str = "the probe") -> dict[str, tuple[float, float, int]]:
    """(Σ, Σ², n) of each expression over all battles, streamed file by file. ``numbers``: the
    columns the expressions read that must hold a number in every row (a missing column, an
    empty cell or text is an error naming the file, row and column)."""
    out = {k: (0.0, 0.0, 0) for k in exprs}
    for f in sc.files:
        lf = sc._lazy(f)
        sc._columns(f, lf)
        names = lf.collect_schema().names()
        missing = [c for c in numbers if c not in names]
        if missing:
            raise ImportFormatError(f"{f.name} has no column `{missing[0]}`: {probe} reads "
                                    f"{' and '.join(f'`{c}`' for c in numbers)}; its columns: {', '.join(names[:20])}",
                                    path=str(f), field=missing[0])
        for chunk in _batches(lf, sc.chunk_rows):
            sc._validate(f, chunk)
            for c in numbers:
                bad = chunk[c].cast(pl.Float64, strict=False).is_null()
                if bad.any():
                    i = int(bad.arg_max())
                    row = int(chunk["__row"][i])
                    raise ImportFormatError(f"{f.name} row {row}, column `{c}`: expected a number; got "
                                            f"{chunk[c][i]!r}", path=str(f), line=row, field=c)
            row = chunk.select([e.sum().alias(f"{k}__s") for k, e in exprs.items()]
                               + [(e * e).sum().alias(f"{k}__q") for k, e in exprs.items()]
                               + [e.is_not_null().sum().alias(f"{k}__n") for k, e in exprs.items()]).row(0)
            q = len(exprs)
            for j, k in enumerate(exprs):
                s0, q0, n0 = out[k]
                out[k] = (s0 + float(row[j] or 0), q0 + float(row[q + j] or 0), n0 + int(row[2 * q + j]))
    return out


def _sd(s: float, q: float, n: int) -> tuple[float, float]:
    mean = s / n
    return mean, math.sqrt(max(q / n - mean * mean, 0.0))


def _fit(sc: BattleScan, x: Sequence[pl.Expr], prior: float, label: str) -> tuple[Any, tuple[str, ...], Any]:
    stats = sc.reduce()
    fit, order = covariates_scan(sc, list(x), models=stats.models, prior=prior)
    if fit.cov_robust is None:  # pragma: no cover - scan() without cluster is refused before
        raise MetaevalError("a lazy bias probe needs the item column as `cluster=` in `scan()`")
    if fit.n_clusters < 12:
        warn(f"{label}: only {fit.n_clusters} items; the t interval on the sandwich standard error is approximate",
             SmallSampleWarning)
    return fit, order, (stats, rank_scan)


def _need_cluster(sc: BattleScan, probe: str) -> None:
    if not sc.cluster:
        raise MetaevalError(f"the {probe} probe's interval treats items as clusters: give the item column as "
                            "`cluster=` in `scan()`")


def style_bias_lazy(sc: BattleScan, *, judge: Any = None, texts: Any = None,
                    features: Mapping[str, tuple[str, str]] | None = None, normalize: bool = True,
                    prior: float = 1e-4, confidence_level: float = 0.95) -> Any:
    """:func:`metaeval.bias.style_bias` on battle logs read lazily (see the module docstring).

    The features are columns of the logs, ``{name: (column_a, column_b)}`` (with none, the
    lengths ``len_a`` / ``len_b``); the texts themselves are counted in memory only.
    """
    from scipy.stats import norm, rankdata

    _need_cluster(sc, "style")
    if judge is not None:
        raise MetaevalError("battle logs read lazily have no judge column: `judge` does not apply (filter the files)")
    if texts is not None:
        raise MetaevalError("style features are counted from texts in memory only; for battle logs read lazily give "
                            "the counts as columns with `features={name: (column_a, column_b)}`")
    if not features:
        features = {"length": ("len_a", "len_b")}
    diffs: dict[str, pl.Expr] = {}
    for name, (ca, cb) in features.items():
        a, b = pl.col(ca).cast(pl.Float64, strict=False), pl.col(cb).cast(pl.Float64, strict=False)
        d = a - b
        if normalize:
            tot = a + b
            d = pl.when(tot != 0).then(d / tot).otherwise(0.0)
        diffs[name] = d
    mom = _moments(sc, diffs, tuple(dict.fromkeys(c for pair in features.values() for c in pair)), "the style probe")
    cols, names = [], []
    for name, d in diffs.items():
        mean, sd = _sd(*mom[name])
        if not sd > 0:
            warn(f"style feature {name!r} never differs between the two sides; left out", SmallSampleWarning)
            continue
        cols.append(((d - mean) / sd).alias(name))
        names.append(name)
    if not cols:
        raise MetaevalError("no style feature varies between the two sides; nothing to estimate")
    fit, models, (stats, _) = _fit(sc, cols, prior, "all battles")
    m = len(models)
    beta_se = np.sqrt(np.maximum(np.diag(fit.cov_robust)[m:], 0.0))
    theta_se = np.sqrt(np.maximum(np.diag(fit.cov_robust)[:m], 0.0))
    df = max(fit.n_clusters - 1, 1)
    n = stats.n_battles
    rows: list[dict[str, Any]] = []
    for k, name in enumerate(names):
        est, se = float(fit.beta[k]), float(beta_se[k])
        low, high, p = wald(est, se, confidence_level, df=df)
        if significant(p, confidence_level):
            more = "more" if est > 0 else "less"
            finding = (f"all battles: outputs with {more} {name} are preferred beyond model strength — odds ×"
                       f"{fmt(math.exp(abs(est)))} per sd ({fmt_p(p)})")
        else:
            finding = f"all battles: no detectable effect of {name} beyond model strength ({fmt_p(p)})"
        rows.append({"feature": name, "effect": "log-odds per sd of the style difference", "estimate": est,
                     "ci_low": low, "ci_high": high, "pvalue": p, "n": n, "finding": finding})
    cube = stats.cube
    wins = cube[..., 0] + cube[..., 1].T + 0.5 * (cube[..., 2] + cube[..., 2].T)
    th0, _ = bt_newton_counts(wins, prior=max(prior, 1e-8))
    se0 = np.sqrt(np.maximum(np.diag(constrained_covariance(fisher_information(th0, wins + wins.T, prior), m)), 0))
    z = norm.ppf(0.5 + confidence_level / 2)
    th = fit.theta
    rank0 = rankdata(-th0, method="min").astype(int)
    rank1 = rankdata(-th, method="min").astype(int)
    ratings = pl.DataFrame({
        "model": list(models), "rating": th0, "rating_ci_low": th0 - z * se0, "rating_ci_high": th0 + z * se0,
        "style_adjusted": th, "adjusted_ci_low": th - z * theta_se, "adjusted_ci_high": th + z * theta_se,
        "rank": rank0, "adjusted_rank": rank1, "rank_change": rank0 - rank1,
    }).sort("style_adjusted", descending=True)
    moved = ratings.filter(pl.col("rank_change") != 0).height
    notes = [f"features: {', '.join(names)} ({'normalised' if normalize else 'raw'} differences, standardised); "
             f"{moved} of {m} models change rank once style is controlled",
             f"read lazily from {len(sc.files)} file(s); β's interval: cluster-robust sandwich over "
             f"{fit.n_clusters} items (`{sc.cluster}`), t with {df} degrees of freedom"]
    run = RunInfo("style_bias", {"features": names, "normalize": normalize, "prior": prior,
                                 "interval": "cluster-robust sandwich (CR1), t", "source": "scan"}, None, None,
                  fit.n_clusters, n)
    return finish("style", "log-odds per sd of the style difference", 0.0, rows, ["feature"], confidence_level, run,
                  {"ratings": ratings}, notes)


def length_bias_lazy(sc: BattleScan, *, by: Any = None, min_diff: float = 0.1, prior: float = 0.01,
                     confidence_level: float = 0.95) -> Any:
    """:func:`metaeval.bias.length_bias` on battle logs read lazily (columns ``len_a``, ``len_b``;
    one group: all battles; see the module docstring)."""

    _need_cluster(sc, "length")
    if by is not None:
        raise MetaevalError("battle logs read lazily are probed as one group: `by` does not apply (filter the files)")
    la = pl.max_horizontal(pl.col("len_a").cast(pl.Float64, strict=False), pl.lit(1.0)).log()
    lb = pl.max_horizontal(pl.col("len_b").cast(pl.Float64, strict=False), pl.lit(1.0)).log()
    code = pl.col(sc.winner).cast(pl.String).replace_strict(_WINNER, return_dtype=pl.Int64)
    y = pl.when(code == 0).then(1.0).when(code == 1).then(0.0).otherwise(0.5)
    a, b = pl.col("len_a").cast(pl.Float64, strict=False), pl.col("len_b").cast(pl.Float64, strict=False)
    differ = (a - b).abs() > min_diff * pl.max_horizontal(a, b, pl.lit(1.0))
    longer = pl.when(differ).then(pl.when(a > b).then(y).otherwise(1 - y))
    mom = _moments(sc, {"la": la, "lb": lb, "longer": longer}, ("len_a", "len_b"), "the length probe")
    s = mom["la"][0] + mom["lb"][0]
    q = mom["la"][1] + mom["lb"][1]
    _, sd = _sd(s, q, mom["la"][2] + mom["lb"][2])
    if not sd > 0:
        raise InsufficientDataError("every output has the same length; a length effect cannot be estimated")
    fit, models, (stats, _) = _fit(sc, [((la - lb) / sd).alias("length")], prior, "all battles")
    m = len(models)
    est = float(fit.beta[0])
    se = float(np.sqrt(max(fit.cov_robust[m, m], 0.0)))
    df = max(fit.n_clusters - 1, 1)
    low, high, p = wald(est, se, confidence_level, df=df)
    k = mom["longer"][2]
    p_long = mom["longer"][0] / k if k else float("nan")
    lo_l, hi_l = wilson(mom["longer"][0], k, confidence_level)
    label = "all battles"
    finding = length_finding(label, est, p, p_long, k, min_diff, confidence_level)
    rows = [{"group": label, "effect": LENGTH_EFFECT, "estimate": est, "ci_low": low, "ci_high": high, "pvalue": p,
             "n": stats.n_battles, "finding": finding, "p_longer": p_long, "p_longer_ci_low": lo_l,
             "p_longer_ci_high": hi_l, "n_longer_pairs": k, "sd_log_length": sd}]
    run = RunInfo("length_bias", {"min_diff": min_diff, "prior": prior, "source": "scan",
                                  "interval": "cluster-robust sandwich (CR1), t"}, None, None, fit.n_clusters,
                  stats.n_battles)
    return finish("length", LENGTH_EFFECT, 0.0, rows, ["group"], confidence_level, run)
