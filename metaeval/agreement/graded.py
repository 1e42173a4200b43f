"""How well a judge's graded preferences are calibrated: the reliability diagram of ``p_a``
against the reference's verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
import polars as pl

from metaeval._validate import LEVEL, Interval, validate_params
from metaeval.agreement.api import _consensus
from metaeval.errors import InsufficientDataError, MetaevalError
from metaeval.report.charts import reliability as diagram
from metaeval.results import Result, RunInfo, check_confidence_level
from metaeval.stats.intervals import proportion_interval
from metaeval.tables import Judgments, as_judgments, canonical, majority

__all__ = ["Reliability", "reliability"]


@dataclass(frozen=True)
class Reliability(Result):
    """Per judge and bin of its graded preference ``p_a``: how often the reference preferred a.

    ``table`` columns: ``judge``, ``bin`` (0 … bins − 1), ``bin_low`` / ``bin_high`` (the bin's
    edges), ``n`` (units in the bin), ``mean_p`` (the judge's mean ``p_a`` there),
    ``observed`` (the reference's share of a-verdicts, a tie counting ½) and its Wilson
    interval ``ci_low`` / ``ci_high``, and ``n_items``. Only bins with units are listed. A
    calibrated judge's points lie on the diagonal: where it says 0.8, the reference prefers a
    four times in five.

    The Wilson interval treats the units of a bin as independent; where one item holds several
    units (both presentation orders, several pairs) they are not, and the interval is too narrow
    — ``notes`` says when.
    """

    table: pl.DataFrame
    reference: str
    bins: int
    confidence_level: float
    notes: tuple[str, ...]
    run_info: RunInfo
    title: str = "reliability of graded preferences"

    def summary(self) -> str:
        return super().summary() + "".join(f"\nnote: {n}" for n in self.notes)

    def confidence_interval(self, confidence_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """The bins' Wilson intervals at another level, from the counts the table keeps (``n`` units
        and the reference's ``observed`` share; a tie counts ½), in the table's row order. At
        ``confidence_level`` they are ``ci_low`` / ``ci_high`` exactly.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Coverage of the interval, in (0, 1).

        Returns
        -------
        tuple of numpy.ndarray
            ``(low, high)``, one bound per row of ``table``.

        Examples
        --------
        >>> import metaeval
        >>> from metaeval import Judgments, agreement
        >>> j = Judgments({"item": [f"q{i}" for i in range(40)] * 2, "judge": ["judge"] * 40 + ["human"] * 40,
        ...                "model_a": "x", "model_b": "y", "outcome": ["a", "b"] * 20 + ["a", "a", "b", "b"] * 10,
        ...                "p_a": [0.8, 0.3] * 20 + [None] * 40})
        >>> r = agreement.reliability(j, "human", bins=5)
        >>> low, high = r.confidence_interval(r.confidence_level)
        >>> bool((low == r.table["ci_low"].to_numpy()).all() and (high == r.table["ci_high"].to_numpy()).all())
        True
        """
        level = check_confidence_level(confidence_level)
        n = self.table["n"].to_numpy().astype(float)
        k = np.round(2 * self.table["observed"].to_numpy() * n) / 2  # whole and half a-verdicts: exact
        lo, hi = proportion_interval(k, n, confidence_level=level)
        return np.asarray(lo, float), np.asarray(hi, float)

    def chart(self) -> Any:
        """The reliability diagram: observed share against the mean ``p_a`` of each bin with its
        interval, the diagonal of perfect calibration, and the units per bin below; one panel per
        judge."""
        subtitle = [f"bins of width {1 / self.bins:g}; point: the bin's mean p_a; dashed: perfect calibration",
                    f"{self.confidence_level:.0%} Wilson intervals (a reference tie counts ½); bars: units per bin"]
        return diagram(self.table, predicted="mean_p", observed="observed", low="ci_low", high="ci_high", n="n",
                       bin_low="bin_low", bin_high="bin_high", x_title="judge's P(a preferred), p_a",
                       y_title=f"share preferred by {self.reference}",
                       title=f"Reliability of graded preferences against {self.reference}", subtitle=subtitle,
                       facet="judge")


@validate_params({"bins": [Interval(Integral, 2, None, closed="left")], "confidence_level": [LEVEL]})
def reliability(judgments: Judgments, reference: str = "human", *, judges: Sequence[str] | None = None,
                bins: int = 10, confidence_level: float = 0.95) -> Reliability:
    """The reliability (calibration) diagram of each judge's graded preference ``p_a``.

    Every verdict with a ``p_a`` is matched with the reference's verdict on the same pair of
    outputs for the same item (a judge, or the majority of the judges named ``reference:*``; a
    reference that judged a pair more than once gives its majority, an even split a tie). The
    verdicts are binned by ``p_a`` into ``bins`` equal bins on [0, 1] (1 falls in the last);
    per bin, the reference's share of a-verdicts (ties ½) gets a Wilson interval.

    Parameters
    ----------
    judgments : Judgments
        Pairwise verdicts, the judges' with a ``p_a`` (their probability that a is better).
    reference : str, default "human"
        The reference judge, or the prefix of the judges whose majority is the reference.
    judges : sequence of str, optional
        The judges to assess. Default: every judge with a ``p_a``, other than the reference.
    bins : int, default 10
        Number of equal-width bins of ``p_a``.
    confidence_level : float, default 0.95
        Coverage of the Wilson intervals.

    Returns
    -------
    Reliability
        ``table``: per judge and non-empty bin, ``bin_low`` / ``bin_high``, ``n``, ``mean_p`` (the
        judge's mean ``p_a``), ``observed`` (the reference's share of a-verdicts) with
        ``ci_low`` / ``ci_high``, and ``n_items``; ``chart()`` draws the diagram.

    Examples
    --------
    >>> import numpy as np
    >>> from metaeval import Judgments, agreement
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=400)
    >>> human = np.where(rng.uniform(size=400) < p, "a", "b")  # a calibrated judge: P(a) = p
    >>> j = Judgments({"item": [f"q{i}" for i in range(400)] * 2, "judge": ["judge-x"] * 400 + ["human"] * 400,
    ...                "model_a": ["m1"] * 800, "model_b": ["m2"] * 800,
    ...                "outcome": list(np.where(p > 0.5, "a", "b")) + list(human), "p_a": list(p) + [None] * 400})
    >>> r = agreement.reliability(j, "human", bins=5)
    >>> r.table.height, int(r.table["n"].sum())
    (5, 400)
    >>> [round(x, 2) for x in r.table["mean_p"]]  # the judge's mean p_a per bin; compare `observed`
    [0.1, 0.32, 0.51, 0.71, 0.9]
    """
    judgments = as_judgments(judgments)
    if judgments.kind != "pairwise":
        raise MetaevalError("a reliability diagram needs pairwise verdicts with graded preferences `p_a`; this table "
                            "is pointwise")
    if "p_a" not in judgments.frame.columns or judgments.frame["p_a"].null_count() == judgments.frame.height:
        raise MetaevalError("a reliability diagram needs graded preferences: a `p_a` column (the judge's probability "
                            "that a is preferred); this table has none")

    j, ref = _consensus(judgments, reference)
    f = canonical(j.frame)
    pair = ["item", "model_a", "model_b"]
    gold_rows = f.filter(pl.col("judge") == ref, pl.col("outcome").is_not_null())
    if gold_rows.height == 0:
        raise InsufficientDataError(f"no verdicts by the reference {ref!r}")
    gold, _ = majority(gold_rows.with_columns(pl.col("outcome").cast(pl.String)), pair, "outcome", split="tie")
    gold = gold.select(*pair, pl.col("outcome").replace_strict({"a": 1.0, "b": 0.0, "tie": 0.5},
                                                               return_dtype=pl.Float64).alias("y"))
    graded = f.filter(pl.col("judge") != ref, ~pl.col("judge").str.starts_with(reference + ":"),
                      pl.col("p_a").is_not_null())
    if judges is not None:
        unknown = [x for x in judges if x not in judgments.judges]
        if unknown:
            raise MetaevalError(f"unknown judge {unknown[0]!r}; the table has {', '.join(judgments.judges)}")
        graded = graded.filter(pl.col("judge").is_in(list(judges)))
    if graded.height == 0:
        raise InsufficientDataError(f"no judge besides the reference {ref!r} gave a graded preference `p_a`")
    bad = graded.filter((pl.col("p_a") < 0) | (pl.col("p_a") > 1) | pl.col("p_a").is_nan())
    if bad.height:
        raise MetaevalError(f"column `p_a` must lie in [0, 1]; got {bad['p_a'][0]} in {bad.height} rows (judge "
                            f"{bad['judge'][0]!r}, item {bad['item'][0]!r})")
    matched = graded.join(gold, on=pair, how="inner")
    if matched.height == 0:
        raise InsufficientDataError(f"no graded verdict is on a pair of outputs that the reference {ref!r} judged")
    matched = matched.with_columns(pl.min_horizontal((pl.col("p_a") * bins).floor(), bins - 1).cast(pl.Int64)
                                   .alias("bin"))
    agg = matched.group_by("judge", "bin").agg(
        pl.len().alias("n"), pl.col("p_a").mean().alias("mean_p"), pl.col("y").sum().alias("k"),
        pl.col("item").n_unique().alias("n_items")).sort("judge", "bin")
    k, n = agg["k"].to_numpy(), agg["n"].to_numpy().astype(float)
    lo, hi = proportion_interval(k, n, confidence_level=confidence_level)
    table = agg.with_columns(
        (pl.col("bin") / bins).alias("bin_low"), ((pl.col("bin") + 1) / bins).alias("bin_high"),
        (pl.col("k") / pl.col("n")).alias("observed"), pl.Series("ci_low", np.asarray(lo, float)),
        pl.Series("ci_high", np.asarray(hi, float))).select(
        "judge", "bin", "bin_low", "bin_high", "n", "mean_p", "observed", "ci_low", "ci_high", "n_items")
    notes = []
    per_judge = matched.group_by("judge").agg(pl.len().alias("units"), pl.col("item").n_unique().alias("items"))
    shared = per_judge.filter(pl.col("units") > pl.col("items"))
    if shared.height:
        r = shared.row(0, named=True)
        notes.append(f"{r['judge']}: {r['units']} units on {r['items']} items — units of one item are not "
                     "independent, so the Wilson intervals are too narrow"
                     + (f" (and {shared.height - 1} more judges)" if shared.height > 1 else ""))
    left = graded.height - matched.height
    if left:
        notes.append(f"{left} graded verdicts are on pairs the reference did not judge and are left out")
    run = RunInfo("reliability", {"reference": ref, "bins": bins, "confidence_level": confidence_level,
                                  "judges": sorted(set(matched["judge"].to_list()))}, None,
                  judgments.fingerprint, len(judgments.items), len(judgments))
    return Reliability(table, ref, bins, confidence_level, tuple(notes), run)
