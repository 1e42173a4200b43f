"""The demo: simulate a judge study with known truth and run every analysis metaeval has.

``metaeval demo`` (and ``make demo``) call :func:`run_demo`, which writes
``index.md`` / ``index.html`` (and a chart when the ``report`` extra is installed) under
the output folder. Later analyses add their sections here.
"""

from __future__ import annotations

from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from metaeval import agreement, report, simulate
from metaeval._files import atomic_folder, check_output_folder
from metaeval._format import format_interval
from metaeval._progress import progress as progress_display
from metaeval._random import same_bytes
from metaeval._validate import Interval, validate_params
from metaeval._version import __version__
from metaeval.rankers import rank
from metaeval.report import Figure, Link, Report, Section, Table
from metaeval.stats import compare, win_rates

__all__ = ["run_demo"]

#: the sub-reports of the demo: folder, and what it answers (linked from the index page)
WORKFLOWS = (("audit-judge", "should I trust these judges? Agreement, bias audit, juries"),
             ("audit-leaderboard", "is this ranking real? Ratings, rank intervals, rank under several methods"),
             ("compare", "the paper tables of the pointwise study: means, all pairwise comparisons, agreement"))


@validate_params({"seed": [Interval(Integral, 0, None, closed="left")], "progress": ["boolean", None]})
def run_demo(outdir: Path, *, seed: int = 2024, progress: bool | None = None) -> dict[str, Any]:
    """Simulate a pairwise and a pointwise study, analyse them, write the report.

    Returns a summary (files written, headline numbers) for ``--json``. The same seed writes the
    same bytes whatever the number of cores: the reports hold no creation time and the work runs
    with one BLAS thread (:func:`metaeval._random.same_bytes`). ``progress``: a progress bar on a
    terminal or in a notebook (``None``), or never (``False``).
    """
    outdir = check_output_folder(outdir)  # fail before the computing, naming the folder
    sections: list[tuple[str, str, pl.DataFrame | None]] = []
    files: list[str] = []
    with same_bytes(), progress_display(progress) as bar:
        task = bar.add_task("simulating a judge study", total=None)
        pair = simulate.pairwise(
            n_models=8, n_items=300, judges=("judge-atlas", "judge-borealis"), n_humans=2, pairs_per_item=6,
            both_orders=True, position_bias=0.4, length_bias=0.3, self_preference=0.5, tie_threshold=0.3,
            rng=seed,
        )
        point = simulate.pointwise(n_models=6, n_items=100, n_humans=3, rng=seed + 1)

        bar.update(task, description="describing the tables")
        sections.append(("Pairwise table", "Simulated pairwise verdicts: every pair judged in both presentation "
                         "orders, with a planted position bias (0.4), length bias (0.3), self-preference (0.5) "
                         "and ties.", pair.judgments.info().to_polars()))
        sections.append(("Pointwise table", "Simulated 1–10 grades by two model judges and three humans.",
                         point.judgments.info().to_polars()))

        bar.update(task, description="win rates with item-clustered bootstrap intervals")
        wr = win_rates(pair.judgments, n_resamples=2000, rng=seed)
        truth = pair.truth
        table = wr.to_polars().with_columns(
            pl.col("model").replace_strict(truth.strengths, return_dtype=pl.Float64).alias("true_strength")
        )
        rho = float(np.corrcoef(np.argsort(np.argsort(-table["win_rate"].to_numpy())),
                                np.argsort(np.argsort(-table["true_strength"].to_numpy())))[0, 1])
        sections.append(("Win rates", f"Each model's win rate against the field (ties count ½), 95 % interval from "
                         f"a bootstrap over items. Rank correlation with the planted strengths: {rho:.3f}.",
                         table))

        bar.update(task, description="Bradley–Terry ratings with rank intervals")

        ranking = rank(pair.judgments, "davidson", n_resamples=300, cluster="item", rng=seed)
        sections.append(("Ratings (Davidson)", "Davidson ratings (log-odds, centred) with a 95 % item-clustered "
                         f"bootstrap interval, rank interval and P(best); tie parameter ν = "
                         f"{ranking.tie_parameter:.3f}.", ranking.to_polars()))

        counts = pair.judgments.pairwise_counts()
        sections.append(("Pairwise counts", "Wins of each side and ties, per compared pair.", counts.to_polars()))
        bar.update(task, description="agreement of the judges with the humans")

        alpha = agreement.krippendorff_alpha(point.judgments, "interval", n_resamples=500, rng=seed)
        a_est, a_low, a_high = format_interval(alpha.estimate, alpha.ci.low, alpha.ci.high)
        sections.append(("Agreement", f"Krippendorff's alpha (interval) among all five graders: "
                         f"{a_est} [{a_low}, {a_high}] ({alpha.ci.method}). "
                         "Each model judge against the mean grade of the three humans (Krippendorff's alpha, "
                         "interval), with a 95 % item-bootstrap interval:",
                         agreement.against(point.judgments, "human", metrics=("krippendorff_alpha",),
                                           scale="interval", n_resamples=300, rng=seed).to_polars()))
        one = point.judgments.filter(judge="judge-atlas")
        best, second = point.truth.ranking[:2]
        cmp_res = compare(one, best, second, rng=seed)
        floor = {"permutation": 1, "bootstrap": 2}.get(cmp_res.test, float("nan")) / (
            int(cmp_res.run_info.params.get("n_resamples", 0) or 0) + 1)
        sections.append(("Comparing two models", f"{best} vs {second} on the same items (grades of judge-atlas): "
                         f"{cmp_res.test}, {cmp_res.reason}.",
                         cmp_res.to_polars().with_columns((pl.col("pvalue") <= floor * (1 + 1e-9))
                                                          .alias("pvalue_at_floor"))))
        sm = point.judgments.score_matrix(by="judge")
        sections.append(("Mean grade by judge", "Mean 1–10 grade per model (rows) and judge (columns).",
                         sm.to_polars()))

        try:
            import vl_convert  # noqa: F401

            charts = True
        except ImportError:
            charts = False
        workflows = _workflows(pair.judgments, point.judgments, seed, bar, task)
        sections.append(("The three workflows", "Full reports written by `metaeval.report` on the same simulated "
                         "tables. Each folder holds index.html (self-contained, works offline), index.md, "
                         "report.tex (pdflatex or lualatex, then bibtex), tables.tex, references.bib and the data "
                         "behind every table.", None))
        overview = _overview(sections, wr)
        # every file is written into a temporary folder, swapped in whole when all are written
        bar.update(task, description="writing the reports")
        figure_formats = ("svg",) if charts else ()
        with atomic_folder(outdir) as tmp:
            written = []
            for name, sim in (("pairwise", pair), ("pointwise", point)):
                written.append(sim.judgments.write_parquet(tmp / f"{name}.parquet"))
            for folder, rep in workflows:
                written += rep.write(tmp / folder, figure_formats=figure_formats)
            written += overview._write_into(tmp, ("html", "md"), figure_formats, False)
            files += [str(outdir / Path(f).relative_to(tmp)) for f in written]
    return {"files": files, "seed": seed, "rank_correlation_with_truth": rho,
            "win_rates": wr.to_dict()["rows"], "version": __version__}


def _workflows(pairwise: Any, pointwise: Any, seed: int, bar: Any, task: Any) -> list[tuple[str, Any]]:
    """The audit-judge, audit-leaderboard and compare reports of the simulated tables (folder, report)."""
    import warnings

    built: list[tuple[str, Any]] = []
    plan = (("audit-judge", pairwise, "judge", "Should I trust these judges?"),
            ("audit-leaderboard", pairwise, "leaderboard", "Is this ranking real?"),
            ("compare", pointwise, "all", "Comparing models on per-item grades"))
    for folder, table, focus, title in plan:
        bar.update(task, description=f"report: {folder}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = report.build(table, focus=focus, title=f"metaeval demo — {title}", n_resamples=300, rng=seed,
                               progress=False)
            rep.provenance.pop("created", None)  # same seed, same bytes: no creation time in the demo
        built.append((folder, rep))
    return built


def _overview(sections: list[tuple[str, str, pl.DataFrame | None]], wr: Any) -> Any:
    """The overview page as a :class:`~metaeval.report.Report` (written by the same writers as
    every report)."""
    parts = []
    for k, (title, text, frame) in enumerate(sections):
        bounds = {"pvalue": "pvalue_at_floor"} if frame is not None and "pvalue_at_floor" in frame.columns else {}
        sec = Section(title, [text], [Table(f"table_{k}", title, frame, upper_bounds=bounds)]
                      if frame is not None else [])
        if title == "Win rates":
            sec.figures.append(Figure("win_rates", "Win rates with 95 % intervals", wr.chart()))
        if title == "The three workflows":
            sec.links = [Link(f"{folder}/ — {what}", f"{folder}/index.html", f"{folder}/index.md",
                              f"{folder}/report.tex") for folder, what in WORKFLOWS]
        parts.append(sec)
    intro = Section("About", [f"metaeval {__version__}. Simulated data with a known truth (metaeval.simulate), so "
                              "every number can be checked against what was planted."])
    return Report("metaeval demo report", [intro, *parts])
