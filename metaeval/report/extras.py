"""The leaderboard audit's extras, each run where the table's columns allow it and otherwise listed
with the reason it was skipped: agreement with a reference leaderboard, task redundancy, scaling
with model size, unbiased pass@k, worst-group accuracy, and the calibration of probabilities
(Brier score, debiased calibration error, reliability diagram).

The report layer composes results: every number comes from :mod:`metaeval.validity` or
:mod:`metaeval.stats`.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import polars as pl

from metaeval import validity
from metaeval.errors import MetaevalError
from metaeval.report import charts
from metaeval.report.document import Figure, Section, Table
from metaeval.stats.benchmark import monotone_in_size, pass_at_k, worst_group_accuracy
from metaeval.stats.intervals import proportion_interval
from metaeval.stats.probabilistic import brier, calibration_error
from metaeval.tables import Judgments, ScoreMatrix

__all__ = ["SIZE_COLUMN", "judgments_extras", "leaderboard_extras"]

#: A leaderboard column holding model sizes (parameters), by name.
SIZE_COLUMN = re.compile(r"^(#?\s*param(eter)?s?|n[_ .-]?params|num[_ .-]?params|(model[_ .-]?)?size)"
                         r"(\s*\((b|m|bn|billions?|millions?)\))?$", re.IGNORECASE)
_CONFIDENCE_FIELDS = ("confidence", "probability", "prob", "p_correct")
_GROUP_FIELDS = ("group", "subgroup", "category")
TITLE = "Audit extras"


def _resolve(name: str, columns: tuple[str, ...]) -> str | None:
    if name in columns:
        return name
    hits = [c for c in columns if c.lower().startswith(name.lower())]
    return hits[0] if len(hits) == 1 else None


def leaderboard_extras(board: ScoreMatrix, reference: str | None, seed: int) -> tuple[ScoreMatrix, Section]:
    """The extras of a models × tasks board; returns the board left for ranking (without the
    reference and size columns) and the section."""
    sec = Section(TITLE, ["Checks of the benchmark itself, each run where the columns allow it; the notes say "
                          "why the others were skipped."])
    ref = _resolve(reference, board.tasks) if reference else None
    size = next((t for t in board.tasks if SIZE_COLUMN.match(t.strip())), None)
    scores = [t for t in board.tasks if t not in (ref, size)]
    if reference and ref is None:
        sec.notes.append(f"reference correlation skipped: no column named {reference!r} (or starting with it, "
                         "uniquely) among the tasks.")
    if ref is not None:
        rc = validity.correlate_with_reference(board, ref, columns=scores)
        sec.tables.append(Table("reference_correlation", f"Spearman correlation of each column with {ref} over "
                                "the models that have both, with Bonett–Wright intervals", _drop_empty_notes(rc.table),
                                intervals={"estimate": ("ci_low", "ci_high")}))
        sec.methods.append("Agreement with the reference leaderboard is Spearman's ρ over models with a Fisher-z "
                           "interval (Bonett–Wright standard error).")
    elif not reference:
        sec.notes.append("reference correlation skipped: no reference leaderboard named (`--reference COLUMN`, "
                         "e.g. an Arena Elo column).")
    if size is not None:
        s = board.scores[:, board.tasks.index(size)]
        rows = []
        drops = []
        for t in scores:
            v = board.scores[:, board.tasks.index(t)]
            v = v if board.higher_is_better[board.tasks.index(t)] else -v
            ok = np.isfinite(s) & np.isfinite(v)
            if ok.sum() < 5:
                rows.append({"task": t, "models": int(ok.sum()), "kendall_tau": float("nan"), "ci_low": float("nan"),
                             "ci_high": float("nan"), "drops": 0, "note": "fewer than 5 models with a size"})
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est, d = monotone_in_size(s, v, names=list(board.models))
            rows.append({"task": t, "models": int(ok.sum()), "kendall_tau": est.estimate, "ci_low": est.ci.low,
                         "ci_high": est.ci.high, "drops": d.height, "note": ""})
            drops.append(d.with_columns(pl.lit(t).alias("task")))
        sec.tables.append(Table("size_monotonicity", f"Do scores rise with {size}? Kendall's τ with its Fieller "
                                "interval, and the adjacent pairs (in size order) whose score goes down",
                                _drop_empty_notes(pl.DataFrame(rows)),
                                intervals={"kendall_tau": ("ci_low", "ci_high")}))
        sec.notes.append(f"`{size}` is read as model size and left out of the ranking.")
        sec.methods.append("Scaling with model size is Kendall's τ between size and score, with a Fisher-z interval "
                           "(Fieller–Hartley–Pearson standard error).")
    else:
        sec.notes.append("size monotonicity skipped: no model-size column (a column named `size`, `params` or "
                         "`n_params`).")
    rest = _keep_tasks(board, scores) if (ref is not None or size is not None) else board
    complete = rest.dropna() if rest.n_missing else rest
    if len(scores) >= 3 and len(complete.models) >= 5:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            red = validity.redundancy(complete)
        sec.tables.append(Table("redundancy", f"Each task's strongest Spearman correlation with another task "
                                f"(over the {len(complete.models)} models with every score)", red.table,
                                intervals={"estimate": ("ci_low", "ci_high")}))
        sec.methods.append("Task redundancy is each task's strongest Spearman correlation with another task "
                           "(Bonett–Wright interval), and the smallest task set, found greedily, whose mean-rank "
                           "ranking keeps Kendall's τ ≥ 0.9 with the full benchmark's.")
        sec.paragraphs.append(f"The smallest set of tasks whose mean-rank ranking keeps Kendall's τ ≥ 0.9 with the "
                              f"full benchmark's: {', '.join(red.subset)} (τ = {red.subset_tau:.3f}, "
                              f"{len(red.subset)} of {len(scores)} tasks).")
    else:
        sec.notes.append(f"task redundancy skipped: needs at least 3 tasks and 5 models with every score; got "
                         f"{len(scores)} tasks and {len(complete.models)} complete models.")
    sec.notes.append("pass@k, worst-group accuracy and calibration skipped: they need per-item results (a "
                     "judgments table: several samples per item for pass@k, a `task` or `group` column for groups, a "
                     "`confidence` column for calibration); a leaderboard holds only aggregated scores.")
    sec.notes.append("accuracy on the line skipped: it needs each model's in-distribution and out-of-distribution "
                     "accuracy as two named quantities, which a table's columns do not mark; call "
                     "`metaeval.stats.accuracy_on_the_line(id_accuracy, ood_accuracy)` with them.")
    if ref is not None:
        sec.notes.append(f"`{ref}` is the reference and is left out of the ranking.")
    return rest, sec


def _drop_empty_notes(frame: pl.DataFrame) -> pl.DataFrame:
    if "note" in frame.columns and (frame["note"].fill_null("") == "").all():
        return frame.drop("note")
    return frame


def _keep_tasks(board: ScoreMatrix, tasks: list[str]) -> ScoreMatrix:
    idx = [board.tasks.index(t) for t in tasks]
    hib = np.asarray(board.higher_is_better, bool)[idx]
    w = None if board.weights is None else np.asarray(board.weights, float)[idx]
    return ScoreMatrix(board.models, tuple(tasks), board.scores[:, idx], hib, w, board.notes)


def _extra_field(frame: pl.DataFrame, names: tuple[str, ...]) -> str | None:
    if "extra" not in frame.columns or frame.schema["extra"] != pl.Struct:
        return None
    fields = [f.name for f in frame.schema["extra"].fields]
    return next((f for f in fields if f.lower() in names), None)


def judgments_extras(j: Judgments, reference: str | None, seed: int, n_resamples: int) -> Section:
    """The extras of a judgments table (pass@k, worst-group accuracy, calibration)."""

    sec = Section(TITLE, ["Per-item checks of the results, each run where the columns allow it; the notes say why "
                          "the others were skipped."])
    sec.notes.append("size monotonicity and reference correlation skipped: they compare models' aggregate scores "
                     "with model sizes or a reference leaderboard (run audit-leaderboard on a models × tasks table).")
    sec.notes.append("accuracy on the line skipped: it needs each model's in-distribution and out-of-distribution "
                     "accuracy as two named quantities, which a table's columns do not mark; call "
                     "`metaeval.stats.accuracy_on_the_line(id_accuracy, ood_accuracy)` with them.")
    f = j.frame
    if j.kind != "pointwise":
        sec.notes.append("pass@k, worst-group accuracy and confidence calibration skipped: they need pointwise 0/1 "
                         "results per item; this table holds pairwise verdicts.")
        if "p_a" in f.columns and f["p_a"].drop_nulls().len():
            sec.notes.append("the graded preferences (`p_a`) are calibrated against a reference by audit-judge's "
                             "agreement sections, not here.")
        return sec
    s = f["score"].drop_nulls()
    if s.len() == 0 or not s.is_in([0.0, 1.0]).all():
        sec.notes.append("pass@k, worst-group accuracy and calibration skipped: the scores are not 0/1 (correct / "
                         "wrong) results.")
        return sec
    f = f.filter(pl.col("score").is_not_null())
    reps = f.group_by("model", "item").agg(pl.len().alias("n"), pl.col("score").sum().alias("c"))
    n_min, n_max = int(reps["n"].min()), int(reps["n"].max())
    if n_max > 1:
        rows = []
        ks = sorted({1, n_max} | {k for k in (5, 10) if k <= n_max})
        for (model,), g in reps.sort("model", "item").group_by("model", maintain_order=True):
            for k in ks:
                gk = g.filter(pl.col("n") >= k)
                if gk.height == 0:
                    continue
                e = pass_at_k(gk["n"].to_numpy().astype(int), gk["c"].to_numpy().astype(int), k)
                rows.append({"model": model, "k": k, "pass_at_k": e.estimate, "ci_low": e.ci.low, "ci_high": e.ci.high,
                             "problems": e.n})
        fewer = "" if n_min == n_max else (f"; problems have {n_min} to {n_max} samples, and those with fewer than k "
                                           "are left out of pass@k")
        sec.tables.append(Table("pass_at_k", f"Unbiased pass@k (Chen et al. 2021) with t intervals over problems"
                                f"{fewer}", pl.DataFrame(rows), intervals={"pass_at_k": ("ci_low", "ci_high")}))
        sec.methods.append("pass@k is the unbiased estimator 1 − C(n − c, k)/C(n, k) per problem, averaged over "
                           "problems, with a t interval over problems.")
    else:
        sec.notes.append("pass@k skipped: one sample per item and model (pass@k needs several, in `rep`).")
    first = f.filter(pl.col("rep") == pl.col("rep").min().over("model", "item")) if "rep" in f.columns else f
    gcol = _extra_field(f, _GROUP_FIELDS)
    group = (first["extra"].struct.field(gcol).cast(pl.String) if gcol else
             first["task"] if "task" in first.columns and first["task"].drop_nulls().n_unique() >= 2 else None)
    if group is not None:
        first_g = first.with_columns(group.alias("_group")).filter(pl.col("_group").is_not_null())
        rows = []
        for (model,), g in first_g.sort("model").group_by("model", maintain_order=True):
            try:
                est, _tab = worst_group_accuracy(g["score"].to_numpy(), g["_group"].to_list())
            except MetaevalError as exc:
                sec.notes.append(f"worst-group accuracy of {model}: {exc}")
                continue
            rows.append({"model": model, "worst_group": est.name.split("(", 1)[1].rstrip(")"),
                         "accuracy": est.estimate, "ci_low": est.ci.low, "ci_high": est.ci.high, "items": est.n,
                         "overall": float(g["score"].mean())})
        if rows:
            sec.methods.append("Worst-group accuracy is the lowest group's accuracy with a Wilson interval at the "
                               "Bonferroni-adjusted level over the groups, so that it holds for whichever group is "
                               "worst.")
            sec.tables.append(Table("worst_group", f"Worst-group accuracy over `{gcol or 'task'}` (Wilson intervals, "
                                    "Bonferroni over the groups)", pl.DataFrame(rows),
                                    intervals={"accuracy": ("ci_low", "ci_high")}))
    else:
        sec.notes.append("worst-group accuracy skipped: no `group` field and fewer than 2 values of `task`.")
    ccol = _extra_field(f, _CONFIDENCE_FIELDS)
    if ccol is None:
        sec.notes.append("calibration skipped: no confidence column (`confidence` or `probability` with each "
                         "result).")
        return sec
    cf = first.with_columns(first["extra"].struct.field(ccol).cast(pl.Float64).alias("_conf")).filter(
        pl.col("_conf").is_not_null())
    rows, bins = [], []
    for (model,), g in cf.sort("model", "item").group_by("model", maintain_order=True):
        p, y = g["_conf"].to_numpy(), g["score"].to_numpy()
        if len(p) < 20:
            sec.notes.append(f"calibration of {model} skipped: {len(p)} results with a confidence (needs 20).")
            continue
        b = brier(p, y)
        ce = calibration_error(p, y, n_resamples=min(n_resamples, 500), rng=seed)
        rows.append({"model": model, "n": len(p), "brier": b.score.estimate, "brier_low": b.score.ci.low,
                     "brier_high": b.score.ci.high, "calibration_error": ce.estimate, "ce_low": ce.ci.low,
                     "ce_high": ce.ci.high, "reliability": b.reliability, "resolution": b.resolution})
        edges = np.quantile(p, np.linspace(0, 1, 11))
        which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, 9)
        for k in np.unique(which):
            m = which == k
            lo, hi = proportion_interval(int(y[m].sum()), int(m.sum()))
            bins.append({"model": model, "confidence": float(p[m].mean()), "accuracy": float(y[m].mean()),
                         "ci_low": float(lo), "ci_high": float(hi), "n": int(m.sum()),
                         "bin_low": float(edges[k]), "bin_high": float(edges[k + 1])})
    if rows:
        sec.tables.append(Table("calibration", "Calibration of the models' confidence: Brier score (t interval) with "
                                "Murphy's reliability and resolution, and the debiased l2 calibration error (Kumar "
                                "et al. 2019; item-bootstrap interval)", pl.DataFrame(rows),
                                intervals={"brier": ("brier_low", "brier_high"),
                                           "calibration_error": ("ce_low", "ce_high")}))
        sec.methods.append("Calibration is the Brier score with Murphy's decomposition and the debiased l2 "
                           "calibration error of Kumar et al. (2019) in ten equal-count bins, with an item-bootstrap "
                           "interval.")
        if any(r["calibration_error"] < 0 for r in rows):
            sec.notes.append("a negative calibration error is the debiased estimator's value for a well-calibrated "
                             "model (its bias correction exceeds the binned gap); read it as 0, inside its interval.")
        sec.figures.append(Figure("reliability", "Reliability diagram: accuracy against mean confidence in ten "
                                  "equal-count bins, with Wilson intervals; the dashed line is perfect calibration",
                                  charts.reliability(pl.DataFrame(bins), predicted="confidence", observed="accuracy",
                                                     low="ci_low", high="ci_high", n="n", bin_low="bin_low",
                                                     bin_high="bin_high", x_title="mean confidence in the bin",
                                                     y_title="accuracy in the bin", facet="model")))
    return sec
