"""Each judge's verdicts against the reference's, counted: one confusion matrix per judge."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from metaeval._validate import Options, validate_params
from metaeval.agreement.api import MissingPolicy, _consensus, _numeric, rating_matrix
from metaeval.errors import InsufficientDataError, MetaevalError
from metaeval.report.charts import heatmap
from metaeval.results import Result, RunInfo
from metaeval.tables import Judgments, as_judgments, check_missing

__all__ = ["ConfusionMatrix", "confusion_matrix"]

#: The most distinct numeric scores a confusion matrix tabulates (a 1–10 scale fits).
MAX_LEVELS = 12


@dataclass(frozen=True)
class ConfusionMatrix(Result):
    """Counts of (reference verdict, judge verdict) per judge on the units both rated.

    ``table`` has one row per judge × reference category × judge category, every cell listed
    (zeros too; reference rows only for the verdicts the reference gave): ``count``,
    ``row_share`` (the count over the reference category's total for that judge: how the judge
    labels what the reference calls this) and ``n_units``.
    ``categories`` are every verdict in display order; a judge's abstentions are the category
    ``"(no verdict)"`` when ``missing="wrong"``.
    """

    table: pl.DataFrame
    categories: tuple[str, ...]
    reference: str
    kind: str
    missing: str
    run_info: RunInfo
    title: str = "judges' verdicts against the reference"

    @property
    def judges(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.table["judge"].to_list()))

    def wide(self, judge: str) -> pl.DataFrame:
        """One judge's matrix: a row per reference category, a column per judge category (counts)."""
        if judge not in self.judges:
            raise MetaevalError(f"unknown judge {judge!r}; the matrix has {', '.join(self.judges)}")
        t = self.table.filter(pl.col("judge") == judge)
        return t.pivot(on="judge_verdict", index="reference_verdict", values="count").select(
            "reference_verdict", *[c for c in self.categories if c in t["judge_verdict"].to_list()])

    def chart(self) -> Any:
        """One heatmap per judge: reference verdict (rows) × judge verdict (columns), each cell
        printing its count and row share, coloured by the row share."""
        pct = (100 * pl.col("row_share")).round(0).cast(pl.Int64, strict=False)
        share = (pl.when(pl.col("row_share").is_nan() | pl.col("row_share").is_null()).then(pl.lit("–"))
                 .when((pct == 0) & (pl.col("count") > 0)).then(pl.lit("<1%"))
                 .otherwise(pct.cast(pl.String) + "%"))
        rows = self.table.with_columns(pl.format("{}\n{}", pl.col("count"), share).alias("cell"))
        what = ("pairwise: a and b are the pair's two models in alphabetical order; " if self.kind == "pairwise"
                else "")
        subtitle = [f"{what}each cell: count and share of the reference's row (the colour)",
                    {"wrong": "a judge's missing verdict is a column of its own, '(no verdict)'",
                     "tie": "a judge's missing verdict counts as a tie",
                     "drop": "units without a verdict are left out"}[self.missing]]
        return heatmap(rows, x="judge_verdict", y="reference_verdict", value="row_share", text="cell",
                       x_title="judge's verdict", y_title=f"{self.reference}'s verdict", color_title="row share",
                       domain=(0.0, 1.0), scheme="blues", x_sort=self.categories,
                       y_sort=[c for c in self.categories if c in set(self.table["reference_verdict"])],
                       facet="judge" if len(self.judges) > 1 else None, columns=3, cell=48,
                       title=f"Confusion matrices: each judge against {self.reference}"
                       if len(self.judges) > 1 else f"Confusion matrix: {self.judges[0]} against {self.reference}",
                       subtitle=subtitle, tooltip=["count", "n_units"])


@validate_params({"missing": [Options(str, ("drop", "wrong", "tie")), None]})
def confusion_matrix(judgments: Judgments, reference: str = "human", *, judges: Sequence[str] | None = None,
                     missing: MissingPolicy | None = None) -> ConfusionMatrix:
    """Every judge's verdicts cross-tabulated against the reference's, on the units both rated.

    The units, the reference (a judge, or the consensus of the judges named ``reference:*``)
    and ``missing`` are those of :func:`metaeval.agreement.against`, so the diagonal share of
    a judge's matrix is its percent agreement there. Pairwise verdicts are put in a fixed
    orientation (a = the model first in alphabetical order); numeric scores are tabulated when
    they take at most 12 distinct values.

    Parameters
    ----------
    judgments : Judgments
        The table of verdicts.
    reference : str, default "human"
        The reference judge, or the prefix of the judges whose consensus is the reference.
    judges : sequence of str, optional
        The judges to tabulate. Default: every judge other than the reference.
    missing : {"wrong", "tie", "drop"}, optional
        How a judge's abstentions count, as in :func:`metaeval.agreement.against` (default
        ``"wrong"`` for verdicts and labels: a category ``"(no verdict)"`` of its own; ``"drop"``
        for scores).

    Returns
    -------
    ConfusionMatrix
        ``table``: one row per judge × reference category × judge category (``count``,
        ``row_share``, ``n_units``), every cell listed; ``categories`` in display order,
        ``reference``, ``kind`` and the ``missing`` policy.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import agreement
    >>> sim = metaeval.simulate.pairwise(n_models=3, n_items=50, judges=("judge-x",), n_humans=1, rng=0)
    >>> cm = agreement.confusion_matrix(sim.judgments, "human")
    >>> cm.categories
    ('a', 'b', 'tie')
    >>> int(cm.table["count"].sum()) == int(cm.table["n_units"][0])
    True
    """
    judgments = as_judgments(judgments)
    j, ref = _consensus(judgments, reference)
    numeric = _numeric(j)
    if missing is None:
        missing = "drop" if numeric else "wrong"
    check_missing(missing)
    everyone = sorted(set(j.judges) | set(j.abstentions["judge"].to_list()))
    if judges is None:
        judges = [x for x in everyone if x != ref and not x.startswith(reference + ":")]
    else:
        unknown = [x for x in judges if x not in everyone]
        if unknown:
            raise MetaevalError(f"unknown judge {unknown[0]!r}; the table has {', '.join(everyone)}")
    if not judges:
        raise InsufficientDataError("no judge besides the reference")
    per_judge: list[tuple[str, np.ndarray, np.ndarray, tuple[str, ...] | None]] = []
    for judge in judges:
        rm = rating_matrix(j, judges=[judge, ref], missing=missing)
        if len(rm.raters) < 2:
            continue
        both = ~np.isnan(rm.values).any(axis=1)
        pair = rm.values[both]
        per_judge.append((judge, pair[:, rm.raters.index(judge)], pair[:, rm.raters.index(ref)], rm.labels))
    if not any(len(v) for _, v, _, _ in per_judge):
        raise InsufficientDataError(f"no judge shares a unit with the reference {ref!r}")
    if numeric:
        levels = np.unique(np.concatenate([np.concatenate([a, b]) for _, a, b, _ in per_judge]))
        if levels.size > MAX_LEVELS:
            raise MetaevalError(f"a confusion matrix tabulates categories; these scores take {levels.size} distinct "
                                f"values (more than {MAX_LEVELS}) — use `agreement.against` or `correlation`")
        categories = tuple(f"{v:g}" for v in levels)

        def name(codes: np.ndarray, labels: tuple[str, ...] | None) -> list[str]:
            return [f"{v:g}" for v in codes]
    else:
        seen: dict[str, None] = {}
        for _, _, _, labels in per_judge:
            seen.update(dict.fromkeys(labels or ()))
        categories = tuple(seen)

        def name(codes: np.ndarray, labels: tuple[str, ...] | None) -> list[str]:
            return [labels[int(c)] for c in codes] if labels else []
    named = [(judge, name(mine, labels), name(theirs, labels)) for judge, mine, theirs, labels in per_judge]
    used = {c for _, _, want in named for c in want}
    ref_categories = tuple(c for c in categories if c in used)  # the reference's own verdicts, no empty rows
    rows = []
    for judge, got, want in named:
        counts = pl.DataFrame({"reference_verdict": want, "judge_verdict": got}, schema={
            "reference_verdict": pl.String, "judge_verdict": pl.String}).group_by(
            "reference_verdict", "judge_verdict").len("count")
        lookup = {(r, c): n for r, c, n in counts.iter_rows()}
        totals = {r: sum(n for (rr, _), n in lookup.items() if rr == r) for r in ref_categories}
        for r in ref_categories:
            for c in categories:
                n = int(lookup.get((r, c), 0))
                rows.append({"judge": judge, "reference_verdict": r, "judge_verdict": c, "count": n,
                             "row_share": n / totals[r] if totals[r] else float("nan"), "n_units": len(got)})
    table = pl.DataFrame(rows, schema={"judge": pl.String, "reference_verdict": pl.String, "judge_verdict": pl.String,
                                       "count": pl.Int64, "row_share": pl.Float64, "n_units": pl.Int64})
    run = RunInfo("confusion_matrix", {"reference": ref, "missing": missing, "judges": list(judges)}, None,
                  judgments.fingerprint, len(judgments.items), len(judgments))
    return ConfusionMatrix(table, categories, ref, judgments.kind, missing, run)
