"""Position bias: does the judge prefer the output it saw first (or second)?

With both presentation orders of a pair (``shown_first`` ``a`` and ``b``) the probe counts
verdicts that change on the swap (the *conflict rate*), and among pairs where the verdict
follows the slot both times, how often that slot was the first. The position effect is the
conditional maximum-likelihood log-odds of the first slot given the pair (McNemar's logic:
only the pairs whose verdict followed the slot carry information, and
``β = ½ log(first / second)``), with an exact interval and test. Against a reference it adds
position-consistent accuracy and the accuracy of Balanced Position Calibration (BPC: average
the two orders); FairEval's entropy over the verdicts ranks the pairs that most need a human.

With one order per pair, a Bradley–Terry model with a position term estimates the advantage
of being shown first, controlling for the models' strengths and, where the table has lengths,
the length difference (cluster-robust over items).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats as st

from metaeval._validate import LEVEL, Interval, Options, validate_params
from metaeval.agreement.kernels import two_order_metrics
from metaeval.bias._common import (
    BiasProbe,
    finish,
    fit_bt,
    fmt,
    fmt_p,
    group_keys,
    group_label,
    require_columns,
    require_pairwise,
    run_info,
    significant,
    wald,
    wilson,
)
from metaeval.errors import (
    EstimationWarning,
    InsufficientDataError,
    ParameterError,
    SmallSampleWarning,
    warn,
)
from metaeval.tables import Judgments, as_judgments, auto_reference, canonical, preference, reference_members

__all__ = ["balanced_position_calibration", "position_bias"]

EFFECT = "log-odds of the first slot"


def _reference_verdicts(frame: pl.DataFrame, reference: str) -> tuple[pl.DataFrame, list[str]]:
    members = reference_members(frame["judge"].unique().to_list(), reference)
    ref = frame.filter(pl.col("judge").is_in(members))
    ref = ref.with_columns(pl.Series("__y", preference(ref)))
    agg = ref.group_by("item", "model_a", "model_b", maintain_order=True).agg(pl.col("__y").mean().alias("__ref_y"))
    agg = agg.with_columns(pl.when(pl.col("__ref_y") > 0.5).then(pl.lit("a")).when(pl.col("__ref_y") < 0.5)
                           .then(pl.lit("b")).otherwise(pl.lit("tie")).alias("ref"))
    return agg.select("item", "model_a", "model_b", "ref"), members


def _entropy(counts: np.ndarray) -> np.ndarray:
    p = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log2(p), 0.0).sum(1)
    return h


def _paired_orders(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """One row per pair judged in both orders: verdicts ``outcome_a`` (a shown first) and
    ``outcome_b``, preferences ``__y_a`` and ``__y_b``; no rows when no pair has both."""
    pair_keys = [*keys, "item", "model_a", "model_b"] + (["rep"] if "rep" in frame.columns else [])
    f = frame.filter(pl.col("shown_first").is_not_null())
    f = f.with_columns(pl.Series("__y", preference(f)))
    dup = f.select(pl.struct([*pair_keys, "shown_first"]).is_duplicated()).to_series()
    if dup.any():
        warn(f"{int(dup.sum())} verdicts repeat a pair in the same order; the first of each is used",
             EstimationWarning)
    wide = f.pivot(on="shown_first", index=pair_keys, values=["outcome", "__y"], aggregate_function="first")
    need = {"outcome_a", "outcome_b"}
    if not need <= set(wide.columns):  # one presentation order throughout
        return wide.head(0)
    return wide.drop_nulls(["outcome_a", "outcome_b"])


def _conditional_logodds(first: int, second: int, level: float) -> tuple[float, float, float, float]:
    """½ log(first/second) with the exact (Clopper–Pearson) interval and the exact binomial test."""
    n = first + second
    if n == 0:
        warn("no verdict followed the slot (each pair's verdict either survived the swap or involved a tie); the "
             "first-slot log-odds cannot be estimated", EstimationWarning)
        return (float("nan"),) * 4
    test = st.binomtest(first, n, 0.5)
    p = float(test.pvalue)
    ci = test.proportion_ci(confidence_level=level, method="exact")
    if first == 0 or second == 0:
        warn(f"every slot-following verdict went to the {'first' if second == 0 else 'second'} slot "
             f"({first} vs {second}); the estimate adds ½ to both counts (Haldane) and the interval is open "
             "on one side", EstimationWarning)
        est = 0.5 * math.log((first + 0.5) / (second + 0.5))
    else:
        est = 0.5 * math.log(first / second)
    with np.errstate(divide="ignore"):
        low = 0.5 * float(np.log(ci.low) - np.log1p(-ci.low)) if ci.low > 0 else -math.inf
        high = 0.5 * float(np.log(ci.high) - np.log1p(-ci.high)) if ci.high < 1 else math.inf
    return est, low, high, p


def _both_orders_row(g: pl.DataFrame, label: str, level: float, has_ref: bool) -> dict[str, Any]:
    oa, ob = g["outcome_a"].to_numpy().astype(str), g["outcome_b"].to_numpy().astype(str)
    n = len(oa)
    conflict = int(np.sum(oa != ob))
    first = int(np.sum((oa == "a") & (ob == "b")))   # the first-shown output won both times
    second = int(np.sum((oa == "b") & (ob == "a")))
    est, low, high, p = _conditional_logodds(first, second, level)
    c_lo, c_hi = wilson(conflict, n, level)
    row: dict[str, Any] = {
        "effect": EFFECT, "estimate": est, "ci_low": low, "ci_high": high, "pvalue": p, "n": n,
        "design": "both orders", "conflict_rate": conflict / n, "conflict_ci_low": c_lo, "conflict_ci_high": c_hi,
        "first_slot_share": first / (first + second) if first + second else float("nan"),
        "n_follow_first": first, "n_follow_second": second,
    }
    if has_ref:
        ref = g["ref"].to_numpy().astype(str)
        known = ref != "None"
        k = int(known.sum())
        if k:
            code = {"a": 0, "b": 1, "tie": 2}
            fa, fb, fr = (np.array([code[v] for v in arr[known]]) for arr in (oa, ob, ref))
            consistent = float(np.mean((fa == fr) & (fb == fr)))
            ya, yb = g["__y_a"].to_numpy().astype(float)[known], g["__y_b"].to_numpy().astype(float)[known]
            bpc = np.where((ya + yb) / 2 > 0.5, 0, np.where((ya + yb) / 2 < 0.5, 1, 2))
            row.update({"accuracy": two_order_metrics(fa, fb, fr)["accuracy"], "consistent_accuracy": consistent,
                        "bpc_accuracy": float(np.mean(bpc == fr)), "n_reference": k})
    if significant(p, level):
        side = "first" if est > 0 else "second"
        odds = math.exp(abs(est))
        row["finding"] = (f"{label}: prefers the output shown {side} — when the verdict follows the slot it is the "
                          f"{side} slot {max(first, second)} of {first + second} times (odds ×{fmt(odds)}, "
                          f"{fmt_p(p)}); verdicts change on the swap in {conflict / n:.0%} of {n} pairs")
    else:
        row["finding"] = (f"{label}: no detectable preference for either slot ({fmt_p(p)}); verdicts change on the "
                          f"swap in {conflict / n:.0%} of {n} pairs")
    return row


def _length_column(frame: pl.DataFrame) -> np.ndarray | None:
    """The standardised log-length difference of each verdict (a control of the one-order model),
    or None when the table has no complete lengths."""
    if "len_a" not in frame.columns or "len_b" not in frame.columns:
        return None
    la, lb = frame["len_a"].cast(pl.Float64).to_numpy(), frame["len_b"].cast(pl.Float64).to_numpy()
    if not (np.all(np.isfinite(la)) and np.all(np.isfinite(lb))) or np.any(la < 0) or np.any(lb < 0):
        return None
    lla, llb = np.log(np.maximum(la, 1.0)), np.log(np.maximum(lb, 1.0))
    sd = float(np.std(np.concatenate([lla, llb])))
    return (lla - llb) / sd if sd > 0 else None


def _one_order_row(g: pl.DataFrame, label: str, level: float, prior: float) -> dict[str, Any]:
    y = preference(g)
    pos = np.where(g["shown_first"].cast(pl.String).to_numpy() == "a", 1.0, -1.0)
    dlen = g["__dlen"].to_numpy() if "__dlen" in g.columns else None
    controls = dlen is not None and np.std(dlen) > 0
    x = np.column_stack([pos, dlen]) if controls and dlen is not None else pos[:, None]
    n = len(y)
    if n < 2 or np.all(pos == pos[0]):
        warn(f"{label}: every verdict has the same output shown first; the position term cannot be estimated",
             EstimationWarning)
        est = se = float("nan")
        df: float | None = None
    else:
        fit = fit_bt(g, x, prior, label)
        est, se, df = float(fit.beta[0]), float(fit.beta_se[0]), fit.df
    low, high, p = wald(est, se, level, df=df)
    first_share = float(np.mean(np.where(pos > 0, y, 1 - y)))
    row: dict[str, Any] = {"effect": EFFECT, "estimate": est, "ci_low": low, "ci_high": high, "pvalue": p, "n": n,
                           "design": "one order (Bradley–Terry with a position term"
                                     + (" and a length term)" if controls else ")"),
                           "first_slot_share": first_share}
    if significant(p, level):
        side = "first" if est > 0 else "second"
        row["finding"] = (f"{label}: prefers the output shown {side}, controlling for model strength"
                          f"{' and length' if controls else ''} (odds ×{fmt(math.exp(abs(est)))} "
                          f"[{fmt(math.exp(low))}, {fmt(math.exp(high))}], {fmt_p(p)})")
    else:
        row["finding"] = (f"{label}: no detectable position effect controlling for model strength"
                          f"{' and length' if controls else ''} ({fmt_p(p)})")
    return row


@validate_params({
    "design": [Options(str, ("auto", "both_orders", "one_order"))],
    "prior": [Interval(Real, 0, None, closed="left")],
    "confidence_level": [LEVEL],
    "top": [Interval(Integral, 0, None, closed="left")],
})
def position_bias(
    judgments: Judgments,
    *,
    reference: str | None = None,
    by: Sequence[str] | str | None = None,
    design: Literal["auto", "both_orders", "one_order"] = "auto",
    prior: float = 0.01,
    confidence_level: float = 0.95,
    top: int = 20,
) -> BiasProbe:
    """Position bias of each judge (and prompt variant).

    Parameters
    ----------
    judgments : Judgments
        Pairwise verdicts with ``shown_first``.
    reference : str, optional
        The judge whose verdicts are the truth (``"gold"``, or a prefix such as ``"human"``
        whose judges vote); found automatically when a judge is called gold / human. Its rows
        are not probed.
    by : str or sequence of str, optional
        Grouping columns (default: judge, and the variant when it varies).
    design : {"auto", "both_orders", "one_order"}, default "auto"
        ``"both_orders"`` (pairs judged in both orders), ``"one_order"`` (Bradley–Terry with a
        position term, and a length term where the table has ``len_a`` / ``len_b``) or
        ``"auto"`` (both orders where most pairs have them).
    prior : float, default 0.01
        Ridge precision of the one-order model (keeps separated fits finite).
    confidence_level : float, default 0.95
        Coverage of the intervals; p-values test no position effect.
    top : int, default 20
        How many pairs to list in ``details["needs_human"]`` (highest FairEval entropy).

    Returns
    -------
    BiasProbe
        ``estimate``: log-odds of the first slot (positive: primacy, negative: recency). Extra
        columns: ``conflict_rate`` with its interval, ``first_slot_share``; with a reference,
        ``accuracy`` (mean over orders), ``consistent_accuracy`` (right in both orders) and
        ``bpc_accuracy``. ``details["needs_human"]``: the pairs with the most uncertain
        verdicts (entropy in bits over a / b / tie across orders and repeats).

    Notes
    -----
    The estimate is a log odds ratio: exp(estimate) is how many times more likely the judge is to
    prefer an output because it was shown first (exp(0.5) ≈ 1.65). There is no conventional scale for
    it; Chen, Cohen & Chen (2010) equate odds ratios of about 1.68, 3.47 and 6.71 with Cohen's
    small, medium and large effects (d = 0.2, 0.5, 0.8) when the base rate is near 1 %; treat these as
    rough guides. Two quantities are easier to act on: the ``conflict_rate`` (pairs whose verdict
    changes when the order is swapped; Zheng et al. 2023 found even GPT-4 consistent on only
    about two thirds of swapped pairs) and, with a reference, how much accuracy is lost between
    the mean over orders and ``consistent_accuracy``.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import bias
    >>> sim = metaeval.simulate.pairwise(n_models=4, n_items=150, judges=("judge-x",), position_bias=1.0,
    ...                                  both_orders=True, judge_noise=0.0, rng=1)
    >>> res = bias.position_bias(sim.judgments)
    >>> lo, hi = res.table["ci_low"][0], res.table["ci_high"][0]
    >>> bool(lo < 1.0 < hi), res.table["design"][0]
    (True, 'both orders')
    """
    judgments = as_judgments(judgments)
    require_pairwise(judgments, "position")
    require_columns(judgments, ["shown_first"], "position", "which output the judge saw first")
    if design not in ("auto", "both_orders", "one_order"):
        raise ParameterError(f"`design` must be 'auto', 'both_orders' or 'one_order'; got {design!r}")
    keys = group_keys(judgments, by)
    frame = canonical(judgments.frame)
    reference = reference if reference is not None else auto_reference(judgments.judges)
    ref_table: pl.DataFrame | None = None
    members: list[str] = []
    if reference is not None:
        ref_table, members = _reference_verdicts(frame, reference)
    probed = frame.filter(~pl.col("judge").is_in(members))
    if probed.height == 0:
        raise InsufficientDataError("no verdicts left to probe once the reference judge's are set aside")
    wide = _paired_orders(probed, keys)
    use_both = design == "both_orders" or (design == "auto" and wide.height * 2 >= 0.5 * probed.height)
    if design == "both_orders" and wide.height == 0:
        raise InsufficientDataError("no pair was judged in both orders (same item, models, judge, `shown_first` "
                                    "a and b); use design='one_order'")
    rows: list[dict[str, Any]] = []
    details: dict[str, pl.DataFrame] = {}
    if use_both:
        if ref_table is not None:
            wide = wide.join(ref_table, on=["item", "model_a", "model_b"], how="left", maintain_order="left")
        for key, g in wide.group_by(keys, maintain_order=True):
            vals = key if isinstance(key, tuple) else (key,)
            label = group_label(keys, vals)
            if g.height < 10:
                warn(f"{label}: only {g.height} pairs judged in both orders", SmallSampleWarning)
            rows.append({**dict(zip(keys, vals, strict=True)),
                         **_both_orders_row(g, label, confidence_level, ref_table is not None)})
        details["needs_human"] = _needs_human(probed, keys, top)
    else:
        one = probed.filter(pl.col("shown_first").is_not_null())
        dlen = _length_column(one)
        if dlen is not None:
            one = one.with_columns(pl.Series("__dlen", dlen))
        for key, g in one.group_by(keys, maintain_order=True):
            vals = key if isinstance(key, tuple) else (key,)
            rows.append({**dict(zip(keys, vals, strict=True)),
                         **_one_order_row(g, group_label(keys, vals), confidence_level, prior)})
    run = run_info("position_bias", {"reference": reference, "by": keys, "design": "both orders" if use_both else
                                     "one order", "prior": prior}, None, judgments)
    notes = []
    if reference is not None:
        notes.append(f"reference: {reference} ({len(members)} judge{'s' if len(members) != 1 else ''})")
    return finish("position", EFFECT, 0.0, rows, keys, confidence_level, run, details, notes)


def _needs_human(frame: pl.DataFrame, keys: list[str], top: int) -> pl.DataFrame:
    """FairEval's entropy of the verdicts of each pair across orders and repeats, highest first."""
    g = (frame.group_by([*keys, "item", "model_a", "model_b"], maintain_order=True)
         .agg((pl.col("outcome") == "a").sum().alias("n_a"), (pl.col("outcome") == "b").sum().alias("n_b"),
              (pl.col("outcome") == "tie").sum().alias("n_tie")))
    counts = g.select("n_a", "n_b", "n_tie").to_numpy().astype(float)
    g = g.with_columns(pl.Series("entropy", _entropy(counts)))
    return g.sort(["entropy", "item"], descending=[True, False]).head(top)


def balanced_position_calibration(judgments: Judgments) -> Judgments:
    """Balanced Position Calibration (Wang et al. 2023, FairEval): one verdict per pair from both orders.

    Each judge's verdicts on a pair in the two presentation orders (and over repeats) are
    averaged as preferences (``p_a`` where given, else a = 1, b = 0, tie = ½); the combined
    verdict is a when the mean exceeds ½, b when below, and a tie when the orders disagree
    evenly. The result has ``p_a`` = that mean and no ``shown_first``: a table with the position
    effect averaged out, ready for ``metaeval.rank`` or the agreement functions.

    Parameters
    ----------
    judgments : Judgments
        Pairwise verdicts with ``shown_first``, pairs judged in both orders.

    Returns
    -------
    Judgments
        One verdict per judge, item and pair of models (and variant), with ``p_a`` the mean
        preference over orders and repeats, and no ``shown_first`` column.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import bias
    >>> sim = metaeval.simulate.pairwise(n_models=3, n_items=20, both_orders=True, position_bias=2.0, rng=0)
    >>> calibrated = bias.balanced_position_calibration(sim.judgments)
    >>> len(calibrated) * 2 == len(sim.judgments), "shown_first" in calibrated.frame.columns
    (True, False)
    """
    judgments = as_judgments(judgments)
    require_pairwise(judgments, "balanced position calibration")
    require_columns(judgments, ["shown_first"], "balanced position calibration", "which output the judge saw first")
    f = canonical(judgments.frame)
    f = f.with_columns(pl.Series("p_a", preference(f)))
    keys = [k for k in ("item", "judge", "model_a", "model_b", "variant", "task") if k in f.columns]
    out = (f.group_by(keys, maintain_order=True)
           .agg(pl.col("p_a").mean(), pl.col("shown_first").n_unique().alias("__orders"), pl.len().alias("n_verdicts"))
           .with_columns(pl.when(pl.col("p_a") > 0.5).then(pl.lit("a")).when(pl.col("p_a") < 0.5).then(pl.lit("b"))
                         .otherwise(pl.lit("tie")).alias("outcome")))
    one = int((out["__orders"] < 2).sum())
    if one:
        warn(f"{one} pairs were judged in one order only; their verdicts are kept uncalibrated", EstimationWarning)
    out = out.drop("__orders")
    prov = dict(judgments.provenance, derived="balanced_position_calibration")
    return Judgments(out, kind="pairwise", provenance=prov)
