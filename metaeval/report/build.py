"""Choose and compute the sections of a report from what the table holds.

Pairwise verdicts get win rates, ratings with rank intervals, the rank under several methods,
judge agreement, the bias audit and (with a reference and several judges) the jury frontier.
Pointwise scores get per-model means, all pairwise comparisons with Holm control, agreement,
the bias audit and the jury frontier. A leaderboard (models × tasks) gets the winner under every
aggregation rule and the critical-difference diagram. A section that cannot be computed on the
table is left out with a note that says why; nothing fails the whole report.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from metaeval._files import timestamp
from metaeval._progress import progress as progress_display
from metaeval._version import __version__
from metaeval.bias._common import auto_reference
from metaeval.errors import MetaevalError
from metaeval.report.document import Figure, Report, Section, Table
from metaeval.tables import Judgments, ScoreMatrix

__all__ = ["BIBTEX", "adjacent_differences", "build"]

BIBTEX = {
    "bradley_terry": "@article{bradley1952rank,\n  title={Rank analysis of incomplete block designs: I. The method of "
                     "paired comparisons},\n  author={Bradley, Ralph Allan and Terry, Milton E.},\n  "
                     "journal={Biometrika},\n  volume={39},\n  pages={324--345},\n  year={1952}\n}",
    "efron": "@book{efron1994introduction,\n  title={An Introduction to the Bootstrap},\n  author={Efron, Bradley "
             "and Tibshirani, Robert J.},\n  publisher={Chapman and Hall/CRC},\n  year={1994}\n}",
    "holm": "@article{holm1979simple,\n  title={A simple sequentially rejective multiple test procedure},\n  "
            "author={Holm, Sture},\n  journal={Scandinavian Journal of Statistics},\n  volume={6},\n  "
            "pages={65--70},\n  year={1979}\n}",
    "krippendorff": "@book{krippendorff2018content,\n  title={Content Analysis: An Introduction to Its "
                    "Methodology},\n  author={Krippendorff, Klaus},\n  edition={4},\n  publisher={SAGE},\n  "
                    "year={2018}\n}",
    "cohen": "@article{cohen1960coefficient,\n  title={A coefficient of agreement for nominal scales},\n  "
             "author={Cohen, Jacob},\n  journal={Educational and Psychological Measurement},\n  volume={20},\n  "
             "pages={37--46},\n  year={1960}\n}",
    "demsar": "@article{demsar2006statistical,\n  title={Statistical comparisons of classifiers over multiple data "
              "sets},\n  author={Dem{\\v{s}}ar, Janez},\n  journal={Journal of Machine Learning Research},\n  "
              "volume={7},\n  pages={1--30},\n  year={2006}\n}",
    "poll": "@article{verga2024replacing,\n  title={Replacing Judges with Juries: Evaluating LLM Generations with a "
            "Panel of Diverse Models},\n  author={Verga, Pat and others},\n  journal={arXiv:2404.18796},\n  "
            "year={2024}\n}",
    "rofin": "@inproceedings{rofin2023votenrank,\n  title={Vote'n'Rank: Revision of Benchmarking with Social Choice "
             "Theory},\n  author={Rofin, Mark and others},\n  booktitle={EACL},\n  year={2023}\n}",
}


def _ci_table(name: str, caption: str, frame: pl.DataFrame, est: str, best: str | None = "max",
              lo: str = "ci_low", hi: str = "ci_high") -> Table:
    return Table(name, caption, frame, intervals={est: (lo, hi)}, best={est: best} if best else {})


def _pairwise_sections(j: Judgments, reference: str | None, n_resamples: int, seed: int,
                       step: Callable[[str], None]) -> tuple[list[Section], set[str], list[str]]:
    from metaeval.rankers import rank
    from metaeval.stats import win_rates

    sections, cites, methods = [], {"efron"}, []
    judges = [x for x in j.judges if reference is None or not (x == reference or x.startswith(reference + ":"))]
    step("win rates")
    wr = win_rates(j, n_resamples=n_resamples, rng=seed)
    credit = ("a verdict counts the judge's graded preference p_a where given, as AlpacaEval's win_rate does, "
              "else 1 / 0 / ½ for a win / loss / tie" if wr.graded else "ties count ½")
    s = Section("Win rates", [f"Each model's mean credit against the field ({credit}), with its item-clustered "
                              "standard error and a 95 % bootstrap interval over items."],
                [_ci_table("win_rates", "Win rate with 95 % interval", wr.to_polars().sort("win_rate",
                                                                                          descending=True),
                           "win_rate")], [Figure("win_rates", "Win rates with 95 % intervals", wr.chart())])
    wr_table = wr.to_polars().sort("win_rate", descending=True)
    if wr_table.height >= 2:
        from metaeval.stats import sample_size

        p1, p2 = (float(x) for x in wr_table["win_rate"][:2])
        if 0 < p2 < p1 < 1:
            n = sample_size(p1 - p2, p_a=p1, p_b=p2)
            s.notes.append(f"power: telling the top two models apart ({p1:.3f} vs {p2:.3f}) with 80 % power at "
                           f"α = 0.05 takes about {n:,} paired verdicts each.")
    sections.append(s)
    step("ratings")
    bt = rank(j, "bradley_terry", n_resamples=n_resamples, cluster="item", rng=seed)
    table = bt.to_polars().select("model", "rating", "ci_low", "ci_high", "rank", "rank_low", "rank_high", "p_best",
                                  "arena_rank", "tie_group")
    others = {}
    for method in ("davidson", "elo", "rank_centrality"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                others[method] = rank(j, method, ci="none").to_polars().select("model", pl.col("rank").alias(method))
        except MetaevalError:
            continue
    by_method = table.select("model", pl.col("rank").alias("bradley_terry"))
    for f in others.values():
        by_method = by_method.join(f, on="model", how="left", maintain_order="left")
    tables_extra = []
    adjacent = adjacent_differences(bt)
    if adjacent is not None:
        tables_extra.append(_ci_table("adjacent", "Adjacent models: rating difference (Holm across pairs)", adjacent,
                                      "difference", None))
    sections.append(Section(
        "Ratings and rank uncertainty",
        ["Bradley–Terry ratings (log-odds, centred) with 95 % intervals and rank intervals from a bootstrap over "
         "items; P(best) is the share of resamples in which the model ranks first; arena_rank is 1 + the number of "
         "models significantly better; models in one tie_group cannot be told apart. The adjacent-pairs table "
         "tests each step of the leaderboard (bootstrap p-values, Holm-adjusted)."],
        [_ci_table("ratings", "Bradley–Terry rating with 95 % interval", table, "rating"), *tables_extra,
         Table("rank_by_method", "Rank under each rating method", by_method)],
        [Figure("ratings", "Ratings and rank intervals", bt.chart())]))
    cites.add("bradley_terry")
    if {"len_a", "len_b"} <= set(j.frame.columns):
        step("length-controlled win rates")
        try:
            from metaeval import bias
            from metaeval.tables import common_baseline

            base = common_baseline(j.frame, None)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lc = bias.length_controlled_win_rate(j, base)
            sections.append(Section(
                "Length-controlled win rates",
                [f"The length-controlled win rate (Dubois et al. 2024) against {base}: the win rate predicted had the "
                 "two outputs been equally long (a GLM with a tanh length term and an instruction-difficulty term per "
                 "model, fitted by maximum likelihood, with a delta-method interval). AlpacaEval's own recipe "
                 "(cross-validated L1 fits regularised toward gamed baselines) is "
                 "`bias.length_controlled_win_rate(..., method=\"alpaca_eval\")`."],
                [_ci_table("length_controlled", "Raw and length-controlled win rate (%)",
                           lc.table.select("judge", "model", "win_rate", "lc_win_rate", "lc_ci_low", "lc_ci_high"),
                           "lc_win_rate", lo="lc_ci_low", hi="lc_ci_high")],
                [Figure("length_controlled", "Raw against length-controlled win rate", lc.chart())]))
        except MetaevalError:
            pass  # no common baseline: the length effect is in the bias audit
    methods.append("Ratings are Bradley–Terry maximum-likelihood estimates (Bradley and Terry 1952); intervals come "
                   f"from {n_resamples} bootstrap resamples of items (Efron and Tibshirani 1994).")
    return sections, cites, methods + _judge_sections(j, reference, judges, n_resamples, seed, step, sections, cites)


def adjacent_differences(ranking: Any, level: float = 0.95) -> pl.DataFrame | None:
    """Each model against the next one down: the rating difference with a percentile interval
    from the bootstrap draws, a two-sided bootstrap p-value and Holm's adjustment across the
    adjacent pairs — which steps of the leaderboard are real.

    >>> import metaeval
    >>> from metaeval.rankers import rank
    >>> sim = metaeval.simulate.pairwise(n_models=4, n_items=200, rng=0)
    >>> adjacent_differences(rank(sim.judgments, "bradley_terry", n_resamples=200, rng=0)).height
    3
    """
    from metaeval.juries.panels import boot_pvalue
    from metaeval.stats.multiple import adjust_pvalues

    draws = getattr(ranking, "draws", None)
    if draws is None or draws.shape[0] < 20 or len(ranking.models) < 2:
        return None
    order = np.argsort(-np.asarray(ranking.rating))
    a = (1 - level) / 2
    rows = []
    for hi, lo in itertools.pairwise(order):
        d = draws[:, hi] - draws[:, lo]
        d = d[np.isfinite(d)]
        low, high = np.quantile(d, [a, 1 - a]) if d.size else (np.nan, np.nan)
        rows.append({"model": ranking.models[hi], "next": ranking.models[lo],
                     "difference": float(ranking.rating[hi] - ranking.rating[lo]), "ci_low": float(low),
                     "ci_high": float(high), "pvalue": boot_pvalue(d)})
    frame = pl.DataFrame(rows)
    adj = adjust_pvalues(frame["pvalue"].to_numpy(), "holm")
    return frame.with_columns(pl.Series("p_holm", adj), pl.Series("significant", adj < 1 - level))


def _judge_sections(j: Judgments, reference: str | None, judges: list[str], n_resamples: int, seed: int,
                    step: Callable[[str], None], sections: list[Section], cites: set[str]) -> list[str]:
    """Agreement, bias audit and juries — whatever the judges and the reference allow."""
    from metaeval import agreement, bias, juries

    methods: list[str] = []
    if len(judges) >= 2:
        step("agreement")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = agreement.matrix(j, "cohen_kappa", judges=judges, ci="bootstrap", n_resamples=min(n_resamples, 500),
                                     rng=seed)
            pairs = m.to_polars()
            apart = pairs.filter(pl.col("n_units") == 0)
            undefined = pairs.filter(pl.col("n_units") > 0, ~pl.col("estimate").is_finite())
            notes = []
            if apart.height:
                notes.append(f"{apart.height} of {pairs.height} pairs of judges rated no unit in common (they judged "
                             "different items, orders or variants) and are left out: "
                             + ", ".join(f"{a} × {b}" for a, b in apart.select("judge_a", "judge_b").rows()[:6])
                             + (" …" if apart.height > 6 else ""))
            if undefined.height:
                notes.append(f"{undefined.height} pairs have κ undefined (nan): on their common units at least one "
                             "judge gave a single verdict throughout, so chance agreement is 1")
            sections.append(Section("Judge agreement", ["Cohen's κ of every two judges on the units both rated, "
                                                        "with a 95 % bootstrap interval over items."],
                                    [_ci_table("agreement", "Cohen's kappa between judges",
                                               pairs.filter(pl.col("n_units") > 0), "estimate", None)],
                                    [Figure("agreement", "Judge × judge agreement", m.chart())], notes))
            cites.add("cohen")
        except MetaevalError as exc:
            sections.append(Section("Judge agreement", notes=[f"left out: {exc}"]))
    if reference is not None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ag = agreement.against(j, reference, metrics=("cohen_kappa", "percent_agreement"),
                                       ci="bootstrap", n_resamples=min(n_resamples, 500), rng=seed)
            t = ag.to_polars()
            how = {"wrong": "as wrong (a verdict that matches no reference verdict), as published judge studies "
                            "count them", "tie": "as ties", "drop": "not at all (left out)"}[ag.missing]
            notes = []
            lost = t.filter(~pl.col("cohen_kappa").is_finite() & ~pl.col("percent_agreement").is_finite())
            if lost.height:
                notes.append(f"{lost.height} judges share no unit with {ag.reference} and have no agreement: "
                             + ", ".join(lost["judge"].to_list()))
            sections.append(Section(f"Judges against {ag.reference}", [
                "Each judge against the reference: Cohen's κ and percent agreement with 95 % bootstrap intervals "
                f"over items. A unit is an item and pair of outputs in one presentation order and prompt variant; a "
                f"reference verdict given once applies to each. Missing verdicts count {how}; the abstention rate "
                "is each judge's share of units without a verdict."],
                [Table("against_reference", f"Agreement with {ag.reference}", t,
                       intervals={"cohen_kappa": ("cohen_kappa_ci_low", "cohen_kappa_ci_high"),
                                  "percent_agreement": ("percent_agreement_ci_low", "percent_agreement_ci_high"),
                                  "abstention_rate": ("abstention_rate_ci_low", "abstention_rate_ci_high")},
                       best={"cohen_kappa": "max"})], notes=notes))
        except MetaevalError as exc:
            sections.append(Section("Judges against the reference", notes=[f"left out: {exc}"]))
    step("bias audit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            audit = bias.audit(j, reference=reference, n_resamples=min(n_resamples, 500), rng=seed)
        full = audit.to_polars()
        t, limits = _bias_rows(full)
        sections.append(Section("Bias audit", ["Every bias probe the columns allow; p-values are Holm-adjusted "
                                               "across the probes that test for a bias."],
                                [_ci_table("bias", "Bias probes", t, "estimate", None)],
                                [Figure("bias", "Bias effects with 95 % intervals", audit.chart())]
                                if audit.probes else [],
                                notes=[str(f) for f in full.filter(pl.col("flagged"))["finding"]] + limits
                                + [f"skipped: {k} ({v})" for k, v in audit.skipped.items()]))
        cites.add("holm")
    except MetaevalError as exc:
        sections.append(Section("Bias audit", notes=[f"left out: {exc}"]))
    if reference is not None and len(judges) >= 2:
        step("juries")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sel = juries.select(j, reference, judges=None, n_resamples=min(n_resamples, 500), rng=seed,
                                    progress=False)
            sections.append(Section("Judge or jury", [sel.headline()],
                                    [_ci_table("jury_frontier", "Cost–agreement frontier", sel.frontier, sel.metric,
                                               lo=f"{sel.metric}_ci_low", hi=f"{sel.metric}_ci_high")],
                                    [Figure("jury_frontier", "Panels of judges: agreement against cost", sel.chart())],
                                    list(sel.notes) + (["similarity is the highest CAPA between two members of a "
                                                        "panel: undefined (nan) for a single judge"]
                                                       if (sel.frontier["size"] == 1).any() else [])))
            cites.add("poll")
            methods.append("Panels of judges pool their verdicts by majority vote; each panel's agreement with the "
                           "reference has a bootstrap interval over items (Verga et al. 2024).")
        except MetaevalError as exc:
            sections.append(Section("Judge or jury", notes=[f"left out: {exc}"]))
    return methods


def _model_means(scored: Judgments, models: tuple[str, ...]) -> pl.DataFrame:
    """Each model's mean score over items (repeats averaged within an item first) with a 95 % t interval."""
    from scipy import stats as st

    per_item = scored.frame.group_by("model", "item", maintain_order=True).agg(pl.col("score").mean())
    agg = per_item.group_by("model", maintain_order=True).agg(
        pl.col("score").mean().alias("mean"), pl.col("score").std().alias("sd"), pl.len().alias("n_items"))
    q = st.t.ppf(0.975, np.maximum(agg["n_items"].to_numpy() - 1, 1))
    half = q * agg["sd"].fill_null(np.nan).to_numpy() / np.sqrt(agg["n_items"].to_numpy())
    agg = agg.with_columns(pl.Series("ci_low", agg["mean"].to_numpy() - half),
                           pl.Series("ci_high", agg["mean"].to_numpy() + half))
    return agg.filter(pl.col("model").is_in(list(models))).sort("mean", descending=True).select(
        "model", "mean", "ci_low", "ci_high", "n_items")


def _bias_rows(full: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """The bias table as a reader gets it, and the notes that explain every number it cannot give: a
    probe row that could not be estimated is blank with its reason, an interval open on one side says
    so, and rows outside the Holm family (descriptive rows) have no adjusted p-value."""
    notes: list[str] = []
    untested = full.filter(pl.col("p_holm").is_nan() & pl.col("pvalue").is_finite())
    if untested.height:
        probes = sorted(set(untested["probe"]))
        notes.append(f"{', '.join(probes)} rows describe each judge's departure from the reference on each model; "
                     "they are not tests of favouritism (the self-preference probe is), so they have no Holm-adjusted "
                     "p-value and are never flagged")
    lost = full.filter(~pl.col("estimate").is_finite())
    for r in lost.iter_rows(named=True):
        why = ("no verdict followed the slot — every verdict survived the swap or was a tie, so the judge is "
               "order-invariant here and the first-slot log-odds is undefined" if r["probe"] == "position"
               else r["finding"])
        notes.append(f"{r['probe']} · {r['subject']}: not estimable (blank): {why}")
    open_ci = full.filter(pl.col("estimate").is_finite(),
                          ~pl.col("ci_low").is_finite() | ~pl.col("ci_high").is_finite())
    for r in open_ci.iter_rows(named=True):
        notes.append(f"{r['probe']} · {r['subject']}: the interval is open on one side (inf): every slot-following "
                     "verdict went to one slot, so the log-odds is bounded on one side only (Haldane's ½ added to "
                     "the estimate)" if r["probe"] == "position" else
                     f"{r['probe']} · {r['subject']}: the interval is open on one side (inf)")
    t = full.with_columns(
        pl.when(pl.col("estimate").is_finite()).then(pl.col(c)).otherwise(None).alias(c)
        for c in ("estimate", "ci_low", "ci_high")).with_columns(
        pl.when(pl.col("p_holm").is_nan()).then(None).otherwise(pl.col("p_holm")).alias("p_holm"))
    return t.select("probe", "subject", "effect", "estimate", "ci_low", "ci_high", "p_holm", "flagged"), notes


def _pointwise_sections(j: Judgments, reference: str | None, n_resamples: int, seed: int,
                        step: Callable[[str], None]) -> tuple[list[Section], set[str], list[str]]:
    from metaeval.stats import all_pairs, sample_size

    sections: list[Section] = []
    cites = {"holm"}
    judges = [x for x in j.judges if reference is None or not (x == reference or x.startswith(reference + ":"))]
    scored = j.filter(judge=judges[0]) if len(judges) > 1 else j
    step("pairwise comparisons")
    ap = all_pairs(scored, correction="holm", rng=seed)
    means = _model_means(scored, ap.models)
    groups: dict[int, list[str]] = {}
    for model, g in ap.groups.items():
        groups.setdefault(g, []).append(model)
    tied = "; ".join(f"{{{', '.join(ms)}}}" for _, ms in sorted(groups.items()))
    sections.append(Section(
        "Model comparison",
        [f"Scores by {judges[0]}: every pair of models compared on the same items with the paired test the design "
         "calls for; p-values Holm-adjusted. Groups of models not told apart from the best of the group, best "
         f"group first: {tied}. Each mean has a t interval over items."],
        [_ci_table("means", "Mean score per model", means, "mean", "max"),
         _ci_table("all_pairs", "All pairwise differences", ap.to_polars(), "difference", None)]))
    diffs = ap.to_polars()
    if diffs.height:
        sd = float(np.nanstd(scored.frame["score"].to_numpy()))
        if sd > 0:
            n = sample_size(0.1 * sd, sd=sd)
            sections[-1].notes.append(f"power: detecting a difference of 0.1 sd ({0.1 * sd:.3g} points) with 80 % "
                                      f"power at α = 0.05 takes about {n:,} items (paired, sd {sd:.3g}, no correlation "
                                      "assumed between the paired scores — a conservative count).")
    methods = ["Pairwise model differences use the test the design calls for, with Holm's correction (Holm 1979)."]
    methods += _judge_sections(j, reference, judges, n_resamples, seed, step, sections, cites)
    return sections, cites, methods


def _leaderboard_sections(sm: ScoreMatrix, step: Callable[[str], None], seed: int, n_resamples: int
                          ) -> tuple[list[Section], set[str], list[str]]:
    from metaeval.rankers import compare_rules, robustness
    from metaeval.stats import critical_difference

    data = Section("Data", [f"{len(sm.models)} models × {len(sm.tasks)} tasks ({sm.n_missing} missing scores)."],
                   notes=list(sm.notes))
    if len(sm.tasks) < 2:
        order = sm.to_polars().sort(sm.tasks[0], descending=bool(sm.higher_is_better[0]), nulls_last=True)
        order = order.with_columns(pl.int_range(1, order.height + 1).alias("position"))
        return [data, Section("Ranking", [
            f"One score column ({sm.tasks[0]}): there is nothing to aggregate across tasks, so the social-choice "
            "rules, their robustness and the critical-difference diagram (which compare models across tasks) do not "
            "apply; the ranking is the score order. Whether two neighbours differ needs the per-item results or "
            "battles behind the scores (metaeval rank / compare on them)."],
            [Table("ranking", "Models by score", order, best={sm.tasks[0]: "max" if sm.higher_is_better[0]
                                                               else "min"})])], set(), []
    step("rules")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cr = compare_rules(sm)
        cd = critical_difference(sm)
    robust = Section("Robustness of the winner", [])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rb = robustness(sm, n_resamples=min(n_resamples, 200), rng=seed)
        robust.paragraphs.append("Each rule's winner when the tasks are resampled with replacement (share of "
                                 "resamples won), and whether adding a clone of the runner-up changes the winner.")
        changed = [r for r, c in rb.clone_changes.items() if c]
        robust.notes.append("an exact clone of each rule's runner-up changes the winner under "
                            + (", ".join(changed) if changed else "none of these rules") + ".")
        shares = rb.to_polars()
        won = shares.filter(pl.sum_horizontal(pl.exclude("model")) > 0)
        if won.height < shares.height:
            robust.notes.append(f"{shares.height - won.height} models that never win under these rules are not "
                                "listed.")
        robust.tables.append(Table("robustness", "Winner stability under resampled tasks and clones", won))
    except MetaevalError as exc:
        robust.notes.append(f"left out: {exc}")
    rule_notes = ([f"{n}" for n in cr.data_notes] + [f"{r}: {n}" for r, ns in cr.notes.items() for n in ns]
                  + [f"{r} not run: {why}" for r, why in cr.skipped.items()])
    cw = cr.condorcet_winner or ("none" if cr.smith else "not computed")
    sections = [
        data,
        Section("Winner under every rule", [f"{cr.verdict}. Condorcet winner: {cw}."],
                [Table("rules", "Winner per aggregation rule", cr.to_polars() if not all(cr.exact.values())
                       else cr.to_polars().drop("exact"))], notes=rule_notes),
        robust,
        Section("Critical-difference diagram", ["Friedman test and Nemenyi post-hoc: models whose average ranks "
                                                "differ by less than the critical difference are not told apart."],
                [Table("average_ranks", "Average rank per model", cd.to_polars(), best={"average_rank": "min"})],
                [Figure("critical_difference", "Critical-difference diagram", cd.chart())]),
    ]
    return sections, {"demsar", "rofin"}, ["Models are compared across tasks with the Friedman test and the Nemenyi "
                                           "post-hoc test (Demšar 2006), and ranked under many social-choice rules "
                                           "(Rofin et al. 2023)."]


JUDGE_SECTIONS = ("Data", "Judge agreement", "Judges against", "Bias audit", "Judge or jury")
LEADERBOARD_SECTIONS = ("Data", "Win rates", "Ratings and rank uncertainty", "Length-controlled", "Model comparison",
                        "Ranking", "Winner under every rule", "Robustness of the winner", "Critical-difference diagram")


def _public_info(info: pl.DataFrame) -> pl.DataFrame:
    """The table overview as a report shows it: input files by name, never this machine's folders."""
    def name(v: str) -> str:
        return ", ".join(Path(p.strip()).name for p in v.split(",")) if v else v

    return info.with_columns(pl.when(pl.col("property") == "source files")
                             .then(pl.col("value").map_elements(name, return_dtype=pl.String))
                             .otherwise(pl.col("value")).alias("value"))


def build(table: Judgments | ScoreMatrix, *, reference: str | None = "auto", title: str | None = None,
          focus: str = "all", n_resamples: int = 1000, seed: int = 0, progress: bool | None = None) -> Report:
    """The report for a judgments table or a leaderboard; sections are chosen from the content.

    ``reference="auto"`` uses ``human`` / ``gold`` judges when the table has them. ``focus``
    keeps the sections of one workflow: ``"judge"`` (should I trust this judge? agreement, bias,
    juries) or ``"leaderboard"`` (is this ranking real? ratings, rank intervals, rules,
    robustness), or ``"all"``.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import report
    >>> sim = metaeval.simulate.pairwise(n_models=4, n_items=60, judges=("judge-atlas",), n_humans=2, rng=0)
    >>> rep = report.build(sim.judgments, n_resamples=50, progress=False)
    >>> [s.title for s in rep.sections][:3]
    ['Data', 'Win rates', 'Ratings and rank uncertainty']
    """
    started = timestamp()
    with progress_display(progress) as bar:
        task = bar.add_task("building the report", total=None)

        def step(what: str) -> None:
            bar.update(task, description=f"report: {what}")

        if focus not in ("all", "judge", "leaderboard"):
            raise MetaevalError(f"`focus` must be 'all', 'judge' or 'leaderboard'; got {focus!r}")
        if isinstance(table, ScoreMatrix):
            if focus == "judge":
                raise MetaevalError("a leaderboard (models × tasks) has no judges to audit; audit a judgments table")
            sections, cites, methods = _leaderboard_sections(table, step, seed, n_resamples)
            fp = None
        elif isinstance(table, Judgments):
            ref = auto_reference(table.judges) if reference == "auto" else reference
            info = Section("Data", [f"{len(table):,} {table.kind} judgments on {len(table.items):,} items by "
                                    f"{len(table.judges)} judges" + (f"; reference: {ref}" if ref else "") + "."],
                           [Table("data", "The table", _public_info(table.info().to_polars()))])
            body, cites, methods = (_pairwise_sections if table.kind == "pairwise" else _pointwise_sections)(
                table, ref, n_resamples, seed, step)
            sections = [info, *body]
            fp = table.fingerprint
            if focus != "all":
                keep = JUDGE_SECTIONS if focus == "judge" else LEADERBOARD_SECTIONS
                sections = [x for x in sections if x.title.startswith(keep)]
        else:
            raise MetaevalError(f"a report needs a Judgments table or a ScoreMatrix; got {type(table).__name__}")
    bib = "\n\n".join(BIBTEX[c] for c in sorted(cites) if c in BIBTEX) + "\n"
    prov = {"metaeval version": __version__, "seed": seed, "bootstrap resamples": n_resamples,
            "input fingerprint": fp, "created": started}
    return Report(title or "metaeval report", sections, " ".join(methods), bib, prov)
