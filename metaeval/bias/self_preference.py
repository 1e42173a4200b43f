"""Self-preference: does a judge favour outputs of its own model or family?

:func:`self_preference` fits one Bradley–Terry model to every verdict in the table (humans and
all judges share the models' strengths) with, for each model judge, a same-family term
``same(a) − same(b)`` on its own verdicts. The judge's coefficient is the log-odds by which it
favours its own family beyond what the others' verdicts say about the models; it is reported
as an odds ratio with a cluster-robust (items) interval. Pointwise tables are turned into
pairs per item and judge first.

:func:`intra_model_bias` is PoLL's per-model view (Verga et al. 2024): for each judge and
evaluated model, how far the judge's score of that model departs from the reference's,
relative to the judge's departure on the other models.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import polars as pl

from metaeval.bias._common import (
    BiasProbe,
    battles,
    family_function,
    finish,
    fit_bt,
    fmt,
    fmt_p,
    preference,
    reference_members,
    run_info,
    significant,
    wald,
)
from metaeval.errors import EstimationWarning, InsufficientDataError, MetaevalError, warn
from metaeval.stats.paired import paired_mean_interval
from metaeval.tables import Judgments

__all__ = ["intra_model_bias", "self_preference"]

EFFECT = "log odds ratio for the judge's own family"


def self_preference(
    judgments: Judgments,
    *,
    families: Mapping[str, str] | Callable[[str], str | None] | None = None,
    prior: float = 0.01,
    confidence_level: float = 0.95,
) -> BiasProbe:
    """Self- and family-preference of every model judge.

    Parameters
    ----------
    judgments
        Pairwise verdicts (or pointwise scores, paired per item and judge) by several judges —
        humans or judges of other families are what separates a model's strength from a judge's
        favouritism.
    families
        Name → family (a mapping or a function) for models and judges; by default the leading
        letters of the name (:func:`family_of`: ``gpt-4o`` → ``gpt``, ``judge-atlas`` → ``atlas``).
    prior
        Ridge precision (keeps separated fits finite).

    Returns
    -------
    BiasProbe
        Per judge: ``estimate`` = log odds ratio of preferring an output of its own family
        (``odds_ratio`` with ``or_ci_low`` / ``or_ci_high``), and ``n_own`` — its verdicts that
        involve exactly one output of its family. Judges without such verdicts, or whose
        family's models no other judge saw, get ``nan`` with a warning.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import bias
    >>> sim = metaeval.simulate.pairwise(n_models=4, n_items=150, judges=("judge-atlas", "judge-cirrus"),
    ...                                  self_preference=1.0, judge_noise=0.0, rng=4)
    >>> res = bias.self_preference(sim.judgments)
    >>> [bool(lo < 1.0 < hi) for lo, hi in zip(res.table["ci_low"], res.table["ci_high"])]
    [True, True]
    """
    fam = family_function(families)
    if judgments.kind == "pointwise":
        judgments = judgments.to_pairwise()
    frame = judgments.frame
    ia, ib, models = battles(frame)
    model_fam = np.array([fam(m) for m in models], dtype=object)
    judges = list(judgments.judges)
    jcode = frame["judge"].replace_strict({j: i for i, j in enumerate(judges)}, return_dtype=pl.Int64).to_numpy()
    cols, probed, rows = [], [], []
    skipped: list[tuple[str, str]] = []
    for j, name in enumerate(judges):
        jf = fam(name)
        if jf is None:
            continue
        mine = jcode == j
        same_a = (model_fam[ia] == jf) & mine
        same_b = (model_fam[ib] == jf) & mine
        x = same_a.astype(float) - same_b.astype(float)
        if not np.any(x != 0):
            if np.any(model_fam == jf):
                skipped.append((name, f"no verdict of {name} compares its own family ({jf}) with another"))
            continue
        own_models = np.flatnonzero(model_fam == jf)
        seen_by_others = np.isin(ia[~mine], own_models).any() or np.isin(ib[~mine], own_models).any()
        if not seen_by_others:
            skipped.append((name, f"no other judge saw a model of family {jf!r}, so its strength and {name}'s "
                                  "favouritism cannot be told apart"))
            continue
        cols.append(x)
        probed.append((name, jf, int(np.sum(x != 0))))
    for name, why in skipped:
        warn(f"self-preference of {name} cannot be estimated: {why}", EstimationWarning)
    if not probed:
        raise InsufficientDataError("no judge's self-preference can be estimated: it needs model judges whose family "
                                    "has models in the table, and verdicts on those models by other judges or humans"
                                    " (pass `families=` if the family names are not the leading letters)")
    fit = fit_bt(frame, np.column_stack(cols), prior, "self-preference", sides=(ia, ib, models))
    for k, (name, jf, n_own) in enumerate(probed):
        est, se = float(fit.beta[k]), float(fit.beta_se[k])
        low, high, p = wald(est, se, confidence_level)
        if significant(p, confidence_level):
            verb = "favours" if est > 0 else "disfavours"
            finding = (f"{name}: {verb} its own family ({jf}) beyond the models' strength — odds ×{fmt(math.exp(est))} "
                       f"[{fmt(math.exp(low))}, {fmt(math.exp(high))}], {fmt_p(p)}")
        else:
            finding = (f"{name}: no detectable preference for its own family ({jf}; odds ×{fmt(math.exp(est))}, "
                       f"{fmt_p(p)})")
        rows.append({"judge": name, "effect": EFFECT, "estimate": est, "ci_low": low, "ci_high": high, "pvalue": p,
                     "n": n_own, "finding": finding, "family": jf, "odds_ratio": math.exp(est),
                     "or_ci_low": math.exp(low) if math.isfinite(low) else float("nan"),
                     "or_ci_high": math.exp(high) if math.isfinite(high) else float("nan")})
    for name, why in skipped:
        rows.append({"judge": name, "effect": EFFECT, "estimate": float("nan"), "ci_low": float("nan"),
                     "ci_high": float("nan"), "pvalue": float("nan"), "n": 0,
                     "finding": f"{name}: not estimable — {why}",
                     "family": fam(name), "odds_ratio": float("nan"), "or_ci_low": float("nan"),
                     "or_ci_high": float("nan")})
    run = run_info("self_preference", {"prior": prior, "families": "custom" if families is not None else "default"},
                   None, judgments)
    notes = ["strength of every model is estimated from all judges' verdicts; each model judge has its own "
             "same-family term"]
    return finish("self-preference", EFFECT, 0.0, rows, ["judge"], confidence_level, run, notes=notes)


def intra_model_bias(
    judgments: Judgments,
    reference: str = "human",
    *,
    families: Mapping[str, str] | Callable[[str], str | None] | None = None,
    confidence_level: float = 0.95,
) -> BiasProbe:
    """PoLL's intra-model bias: per judge and evaluated model, the judge's score of that model
    minus the reference's, relative to the same difference on the other models.

    Pointwise tables compare scores (for 0/1 correctness scores: the judge's accuracy change);
    pairwise tables compare the model's share of wins (ties ½) on the same battles. For each item
    the model's difference is compared with the mean difference of the other models on that item,
    and the item contrasts are averaged (a paired t interval over items). ``own_family`` marks
    the judge's own family.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import bias
    >>> sim = metaeval.simulate.pointwise(n_models=4, n_items=80, judges=("judge-atlas",), n_humans=2,
    ...                                   self_preference=1.5, rng=0)
    >>> res = bias.intra_model_bias(sim.judgments)
    >>> top = res.table.sort("estimate", descending=True).row(0, named=True)
    >>> top["model"], top["own_family"]
    ('atlas-1', True)
    """
    fam = family_function(families)
    f = judgments.frame
    members = reference_members(judgments.judges, reference)
    if judgments.kind == "pointwise":
        if "score" not in f.columns:
            raise MetaevalError("intra-model bias on a pointwise table needs numeric `score`")
        long = f.select("item", "judge", "model", pl.col("score").cast(pl.Float64).alias("v")).drop_nulls("v")
        unit = ["item", "model"]
    else:
        ya = preference(f)
        base = f.select("item", "judge", "model_a", "model_b").with_columns(pl.Series("ya", ya))
        long = pl.concat([
            base.select("item", "judge", pl.col("model_a").alias("model"), pl.col("model_b").alias("opp"),
                        pl.col("ya").alias("v")),
            base.select("item", "judge", pl.col("model_b").alias("model"), pl.col("model_a").alias("opp"),
                        (1 - pl.col("ya")).alias("v")),
        ])
        long = long.with_columns((pl.col("item") + "\u241f" + pl.col("opp")).alias("item")).drop("opp")
        unit = ["item", "model"]
    ref = long.filter(pl.col("judge").is_in(members)).group_by(unit).agg(pl.col("v").mean().alias("ref"))
    rows: list[dict[str, Any]] = []
    for name in [j for j in judgments.judges if j not in members]:
        d = (long.filter(pl.col("judge") == name).group_by(unit).agg(pl.col("v").mean())
             .join(ref, on=unit).with_columns((pl.col("v") - pl.col("ref")).alias("d")))
        if d.height == 0:
            continue
        if judgments.kind == "pairwise":
            d = d.with_columns(pl.col("item").str.split("\u241f").list.first())
            d = d.group_by(unit).agg(pl.col("d").mean())
        per_item = d.group_by("item").agg(pl.col("d").sum().alias("s"), pl.len().alias("k"))
        d = d.join(per_item, on="item").filter(pl.col("k") > 1)
        d = d.with_columns((pl.col("d") - (pl.col("s") - pl.col("d")) / (pl.col("k") - 1)).alias("c"))
        jf = fam(name)
        for (model,), g in d.group_by(["model"], maintain_order=True):
            c = g["c"].to_numpy()
            n = len(c)
            if n < 2:
                warn(f"{name} on {model}: only {n} item with other models beside it; no interval", EstimationWarning)
                est, low, high, p = float(c.mean()) if n else float("nan"), float("nan"), float("nan"), float("nan")
            else:
                est, _, (low, high), p, _ = paired_mean_interval(c, confidence_level=confidence_level)
            own = jf is not None and fam(str(model)) == jf
            if significant(p, confidence_level):
                finding = (f"{name} scores {model} {'higher' if est > 0 else 'lower'} than {reference} does, by "
                           f"{fmt(abs(est))} more than the other models ({fmt_p(p)})"
                           + (" — its own family" if own else ""))
            else:
                finding = f"{name} on {model}: no departure from {reference} beyond the other models ({fmt_p(p)})"
            rows.append({"judge": name, "model": str(model), "effect": "score shift vs reference, relative to the "
                         "other models", "estimate": est, "ci_low": low, "ci_high": high, "pvalue": p, "n": n,
                         "finding": finding, "own_family": own})
    if not rows:
        raise InsufficientDataError(f"no judge scored the same outputs as {reference!r}")
    run = run_info("intra_model_bias", {"reference": reference}, None, judgments)
    return finish("intra-model", "score shift vs reference, relative to the other models", 0.0, rows,
                  ["judge", "model"], confidence_level, run)
