"""Style bias: Bradley–Terry with style covariates, as in Chatbot Arena's style control.

Each battle gets, per style feature f, the normalised difference ``(f_a − f_b) / (f_a + f_b)``
(0 when both are 0), standardised over the battles; the logistic model
``logit P(a ≻ b) = θ_a − θ_b + Σ_f β_f x_f`` then gives each feature's effect (log-odds per
standard deviation, with a cluster-robust interval) and the style-adjusted ratings θ. The
features are counted from the response texts when the table has them (markdown headers,
bold spans, list items and the length, outside code blocks) or read from columns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import rankdata

from metaeval._validate import LEVEL, Interval, validate_params
from metaeval.battles import BattleScan
from metaeval.bias._common import (
    BiasProbe,
    battles,
    finish,
    fit_bt,
    fmt,
    fmt_p,
    require_pairwise,
    run_info,
    significant,
    wald,
)
from metaeval.bias._scan import style_bias_lazy
from metaeval.errors import EstimationWarning, MetaevalError, warn
from metaeval.rankers.bradley_terry import bt_newton_counts, fisher_information
from metaeval.rankers.covariates import constrained_covariance
from metaeval.tables import Judgments, as_judgments, column_or_extra, preference

__all__ = ["STYLE_FEATURES", "style_bias", "style_features"]

STYLE_FEATURES = ("length", "headers", "bold", "lists")
_CODE = re.compile(r"```.*?```", re.S)
_HEADER = re.compile(r"^#{1,6}\s", re.M)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")
_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S", re.M)


def style_features(texts: Sequence[str | None] | pl.Series) -> pl.DataFrame:
    """Count style features of response texts.

    The features are ``length`` (characters), ``headers`` (markdown headings), ``bold``
    (``**…**`` / ``__…__`` spans) and ``lists`` (ordered and unordered items). Code blocks are
    removed before the markdown is counted; a missing text counts nulls.

    Parameters
    ----------
    texts : sequence of str or None, or polars.Series
        The response texts.

    Returns
    -------
    polars.DataFrame
        One row per text, columns ``length``, ``headers``, ``bold``, ``lists`` (integers).

    Examples
    --------
    >>> style_features(["# Title\\n- one\\n- **two**", "plain"]).rows()
    [(23, 1, 1, 2), (5, 0, 0, 0)]
    """
    out: dict[str, list[int | None]] = {k: [] for k in STYLE_FEATURES}
    for t in texts:
        if t is None:
            for k in STYLE_FEATURES:
                out[k].append(None)
            continue
        body = _CODE.sub("", t)
        out["length"].append(len(t))
        out["headers"].append(len(_HEADER.findall(body)))
        out["bold"].append(len(_BOLD.findall(body)))
        out["lists"].append(len(_LIST.findall(body)))
    return pl.DataFrame(out, schema={k: pl.Int64 for k in STYLE_FEATURES})


def _feature_pairs(frame: pl.DataFrame, texts: tuple[str, str] | None,
                   features: Mapping[str, tuple[str, str]] | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if texts is not None:
        ta, tb = (column_or_extra(frame, c) for c in texts)
        if ta is None or tb is None:
            missing = [c for c, s in zip(texts, (ta, tb), strict=True) if s is None]
            raise MetaevalError(f"the style probe was told to read texts from `{missing[0]}`, which is neither a "
                                "column nor a field of `extra`")
        fa, fb = style_features(ta.cast(pl.String)), style_features(tb.cast(pl.String))
        for k in STYLE_FEATURES:
            pairs[k] = (fa[k].cast(pl.Float64).to_numpy(), fb[k].cast(pl.Float64).to_numpy())
    for name, (ca, cb) in (features or {}).items():
        sa, sb = column_or_extra(frame, ca), column_or_extra(frame, cb)
        if sa is None or sb is None:
            raise MetaevalError(f"style feature {name!r}: column `{ca if sa is None else cb}` is neither a column "
                                "nor a field of `extra`")
        pairs[name] = (sa.cast(pl.Float64).to_numpy(), sb.cast(pl.Float64).to_numpy())
    if not pairs and "len_a" in frame.columns and "len_b" in frame.columns:
        pairs["length"] = (frame["len_a"].cast(pl.Float64).to_numpy(), frame["len_b"].cast(pl.Float64).to_numpy())
    return pairs


def _auto_texts(frame: pl.DataFrame) -> tuple[str, str] | None:
    for a, b in (("text_a", "text_b"), ("response_a", "response_b"), ("output_a", "output_b"),
                 ("output_1", "output_2"), ("response_1", "response_2"), ("answer_a", "answer_b")):
        if column_or_extra(frame, a) is not None and column_or_extra(frame, b) is not None:
            return a, b
    return None


def _plain_ratings(ia: np.ndarray, ib: np.ndarray, y: np.ndarray, m: int, prior: float) -> tuple[np.ndarray,
                                                                                                np.ndarray]:
    """Bradley–Terry without covariates from aggregated counts (ties ½), with model-based errors."""

    wins = (np.bincount(ia * m + ib, weights=y, minlength=m * m)
            + np.bincount(ib * m + ia, weights=1 - y, minlength=m * m)).reshape(m, m)
    theta, _ = bt_newton_counts(wins, prior=max(prior, 1e-8))
    cov = constrained_covariance(fisher_information(theta, wins + wins.T, prior), m)
    return theta, np.sqrt(np.maximum(np.diag(cov), 0))


@validate_params({
    "normalize": ["boolean"],
    "prior": [Interval(Real, 0, None, closed="left")],
    "confidence_level": [LEVEL],
})
def style_bias(
    judgments: Judgments,
    *,
    judge: str | Sequence[str] | None = None,
    texts: tuple[str, str] | None = None,
    features: Mapping[str, tuple[str, str]] | None = None,
    normalize: bool = True,
    prior: float = 1e-4,
    confidence_level: float = 0.95,
) -> BiasProbe:
    """Style-controlled Bradley–Terry of the verdicts of ``judge`` (default: all verdicts).

    Parameters
    ----------
    judgments : Judgments or BattleScan
        Pairwise verdicts, or battle logs read lazily (:func:`metaeval.scan` with the item column
        as ``cluster``; features from columns, β's interval from the cluster-robust sandwich:
        see :mod:`metaeval.bias._scan`).
    judge : str or sequence of str, optional
        Judge or judges whose verdicts are modelled together (one set of ratings).
    texts : tuple of (str, str), optional
        The two response-text columns (or ``extra`` fields); found automatically under common
        names (``text_a``/``text_b``, ``response_a``/``response_b``, ``output_1``/``output_2`` …).
    features : mapping of str to (str, str), optional
        Extra features as ``{name: (column_a, column_b)}``; with neither texts nor features the
        lengths ``len_a`` / ``len_b`` are used.
    normalize : bool, default True
        Use ``(f_a − f_b) / (f_a + f_b)`` (Chatbot Arena) rather than ``f_a − f_b``; either way
        the differences are standardised.
    prior : float, default 1e-4
        Ridge precision of the Bradley–Terry fit (keeps separated fits finite).
    confidence_level : float, default 0.95
        Coverage of the intervals; p-values test no effect.

    Returns
    -------
    BiasProbe
        One row per feature: its coefficient (log-odds per sd of the normalised difference),
        interval and test. ``details["ratings"]``: per model the plain and the style-adjusted
        rating (log-odds, centred) with intervals, and both ranks.

    Notes
    -----
    Each coefficient is a change in log odds per standard deviation of the normalised feature
    difference; exp(coefficient) is an odds ratio. Chatbot Arena's style control (LMSYS, 2024)
    reports the same kind of coefficients, and the model ranks before and after adjustment
    (``details["ratings"]``) are usually the more useful read-out: an effect matters when it
    reorders models whose intervals do not overlap.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import bias
    >>> sim = metaeval.simulate.pairwise(n_models=5, n_items=200, judges=("judge-x",), length_bias=1.0, rng=3)
    >>> res = bias.style_bias(sim.judgments)
    >>> res.table["feature"].to_list(), bool(res.table["estimate"][0] > 0)
    (['length'], True)
    """

    if isinstance(judgments, BattleScan):  # battle logs out of core (metaeval.scan): streamed fits

        return style_bias_lazy(judgments, judge=judge, texts=texts, features=features, normalize=normalize,
                               prior=prior, confidence_level=confidence_level)
    judgments = as_judgments(judgments)
    require_pairwise(judgments, "style")
    frame = judgments.frame
    if judge is not None:
        chosen = [judge] if isinstance(judge, str) else list(judge)
        unknown = [j for j in chosen if j not in judgments.judges]
        if unknown:
            raise MetaevalError(f"unknown judge {unknown[0]!r}; the table has {', '.join(judgments.judges)}")
        frame = frame.filter(pl.col("judge").is_in(chosen))
    texts = texts if texts is not None else (_auto_texts(frame) if not features else None)
    pairs = _feature_pairs(frame, texts, features)
    if not pairs:
        raise MetaevalError("the style probe needs response texts (`text_a`/`text_b` or `texts=`), style-count "
                            "columns (`features=`) or lengths (`len_a`, `len_b`); the table has none")
    cols, names = [], []
    keep = np.ones(frame.height, bool)
    for fa, fb in pairs.values():
        keep &= np.isfinite(fa) & np.isfinite(fb)
    if not keep.all():
        warn(f"the style probe left out {int((~keep).sum())} verdicts with a missing feature", EstimationWarning)
    frame = frame.filter(pl.Series(keep))
    for name, (fa, fb) in pairs.items():
        fa, fb = fa[keep], fb[keep]
        diff = fa - fb
        if normalize:
            tot = fa + fb
            diff = np.divide(diff, tot, out=np.zeros_like(diff), where=tot != 0)
        sd = diff.std()
        if not sd > 0:
            warn(f"style feature {name!r} never differs between the two sides; left out", EstimationWarning)
            continue
        cols.append((diff - diff.mean()) / sd)
        names.append(name)
    if not cols:
        raise MetaevalError("no style feature varies between the two sides; nothing to estimate")
    ia, ib, models = battles(frame)
    y = preference(frame)
    x = np.column_stack(cols)
    who = "all judges" if judge is None else (judge if isinstance(judge, str) else ", ".join(judge))
    fit = fit_bt(frame, x, prior, who, sides=(ia, ib, models))
    th0, se0 = _plain_ratings(ia, ib, y, len(models), prior)
    rows: list[dict[str, Any]] = []
    for k, name in enumerate(names):
        est, se = float(fit.beta[k]), float(fit.beta_se[k])
        low, high, p = wald(est, se, confidence_level, df=fit.df)
        if significant(p, confidence_level):
            more = "more" if est > 0 else "less"
            finding = (f"{who}: outputs with {more} {name} are preferred beyond model strength — odds ×"
                       f"{fmt(math.exp(abs(est)))} per sd ({fmt_p(p)})")
        else:
            finding = f"{who}: no detectable effect of {name} beyond model strength ({fmt_p(p)})"
        rows.append({"feature": name, "effect": "log-odds per sd of the style difference", "estimate": est,
                     "ci_low": low, "ci_high": high, "pvalue": p, "n": len(y), "finding": finding})
    from scipy.stats import norm

    z = norm.ppf(0.5 + confidence_level / 2)
    th, se_t = fit.theta, fit.theta_se
    rank0 = rankdata(-th0, method="min").astype(int)
    rank1 = rankdata(-th, method="min").astype(int)
    ratings = pl.DataFrame({
        "model": models, "rating": th0, "rating_ci_low": th0 - z * se0, "rating_ci_high": th0 + z * se0,
        "style_adjusted": th, "adjusted_ci_low": th - z * se_t, "adjusted_ci_high": th + z * se_t,
        "rank": rank0, "adjusted_rank": rank1, "rank_change": rank0 - rank1,
    }).sort("style_adjusted", descending=True)
    moved = ratings.filter(pl.col("rank_change") != 0).height
    notes = [f"features: {', '.join(names)} ({'normalised' if normalize else 'raw'} differences, standardised); "
             f"{moved} of {len(models)} models change rank once style is controlled"]
    run = run_info("style_bias", {"judge": judge, "features": names, "normalize": normalize, "prior": prior}, None,
                   judgments)
    return finish("style", "log-odds per sd of the style difference", 0.0, rows, ["feature"], confidence_level, run,
                  {"ratings": ratings}, notes)
