"""Choose and compute the sections of a report from what the table holds.

Pairwise verdicts get win rates, ratings with rank intervals, the rank under several methods,
judge agreement, the bias audit and (with a reference and several judges) the jury frontier.
Pointwise scores get per-model means, all pairwise comparisons with Holm control, agreement,
the bias audit and the jury frontier. A leaderboard (models × tasks) gets the winner under every
aggregation rule and the critical-difference diagram. A section that cannot be computed on the
table is left out with a note that says why; nothing fails the whole report.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from metaeval import agreement, bias, juries
from metaeval._files import timestamp
from metaeval._format import format_interval, p_statement
from metaeval._progress import progress as progress_display
from metaeval._random import integer_seed
from metaeval._validate import LEVEL, Interval, Options, renamed_parameters, validate_params
from metaeval._version import __version__
from metaeval.errors import MetaevalError, ParameterError
from metaeval.rankers import compare_rules, rank, robustness
from metaeval.rankers.ranking import adjacent_differences
from metaeval.report.document import Figure, Reference, Report, Section, Table
from metaeval.report.extras import judgments_extras, leaderboard_extras
from metaeval.stats import all_pairs, critical_difference, sample_size, win_rates
from metaeval.stats.multiple import resampling_floors
from metaeval.stats.resampling import DEFAULT_N_RESAMPLES
from metaeval.tables import Judgments, ScoreMatrix, as_judgments, auto_reference, common_baseline

__all__ = ["BIBTEX", "REFERENCES", "build"]

def _ref(key: str, label: str, text: str, bibtex: str) -> Reference:
    return Reference(key, label, text, bibtex)


#: every work a report's Methods may cite, by BibTeX key
REFERENCES: dict[str, Reference] = {r.key: r for r in (
    _ref("bradley1952rank", "Bradley and Terry 1952",
         "Bradley, R. A. and Terry, M. E. (1952). Rank analysis of incomplete block designs: I. The method of "
         "paired comparisons. Biometrika 39, 324–345.",
         "@article{bradley1952rank,\n  title={Rank analysis of incomplete block designs: I. The method of paired "
         "comparisons},\n  author={Bradley, Ralph Allan and Terry, Milton E.},\n  journal={Biometrika},\n  "
         "volume={39},\n  number={3/4},\n  pages={324--345},\n  year={1952}\n}"),
    _ref("davidson1970extending", "Davidson 1970",
         "Davidson, R. R. (1970). On extending the Bradley-Terry model to accommodate ties in paired comparison "
         "experiments. Journal of the American Statistical Association 65, 317–328.",
         "@article{davidson1970extending,\n  title={On extending the {Bradley-Terry} model to accommodate ties in "
         "paired comparison experiments},\n  author={Davidson, Roger R.},\n  journal={Journal of the American "
         "Statistical Association},\n  volume={65},\n  number={329},\n  pages={317--328},\n  year={1970}\n}"),
    _ref("elo1978rating", "Elo 1978", "Elo, A. E. (1978). The Rating of Chessplayers, Past and Present. Arco.",
         "@book{elo1978rating,\n  title={The Rating of Chessplayers, Past and Present},\n  author={Elo, Arpad E.},"
         "\n  publisher={Arco},\n  year={1978}\n}"),
    _ref("negahban2017rank", "Negahban et al. 2017",
         "Negahban, S., Oh, S. and Shah, D. (2017). Rank centrality: ranking from pairwise comparisons. Operations "
         "Research 65, 266–287.",
         "@article{negahban2017rank,\n  title={Rank centrality: Ranking from pairwise comparisons},\n  "
         "author={Negahban, Sahand and Oh, Sewoong and Shah, Devavrat},\n  journal={Operations Research},\n  "
         "volume={65},\n  number={1},\n  pages={266--287},\n  year={2017}\n}"),
    _ref("chiang2024chatbot", "Chiang et al. 2024",
         "Chiang, W.-L., Zheng, L., Sheng, Y., et al. (2024). Chatbot Arena: an open platform for evaluating LLMs "
         "by human preference. Proceedings of ICML 2024.",
         "@inproceedings{chiang2024chatbot,\n  title={Chatbot Arena: An Open Platform for Evaluating {LLMs} by "
         "Human Preference},\n  author={Chiang, Wei-Lin and Zheng, Lianmin and Sheng, Ying and others},\n  "
         "booktitle={Proceedings of the 41st International Conference on Machine Learning},\n  year={2024}\n}"),
    _ref("efron1994introduction", "Efron and Tibshirani 1994",
         "Efron, B. and Tibshirani, R. J. (1994). An Introduction to the Bootstrap. Chapman and Hall/CRC.",
         "@book{efron1994introduction,\n  title={An Introduction to the Bootstrap},\n  author={Efron, Bradley and "
         "Tibshirani, Robert J.},\n  publisher={Chapman and Hall/CRC},\n  year={1994}\n}"),
    _ref("holm1979simple", "Holm 1979",
         "Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian Journal of "
         "Statistics 6, 65–70.",
         "@article{holm1979simple,\n  title={A simple sequentially rejective multiple test procedure},\n  "
         "author={Holm, Sture},\n  journal={Scandinavian Journal of Statistics},\n  volume={6},\n  number={2},\n  "
         "pages={65--70},\n  year={1979}\n}"),
    _ref("krippendorff2018content", "Krippendorff 2018",
         "Krippendorff, K. (2018). Content Analysis: An Introduction to Its Methodology, 4th edition. SAGE.",
         "@book{krippendorff2018content,\n  title={Content Analysis: An Introduction to Its Methodology},\n  "
         "author={Krippendorff, Klaus},\n  edition={4},\n  publisher={SAGE},\n  year={2018}\n}"),
    _ref("cohen1960coefficient", "Cohen 1960",
         "Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and Psychological "
         "Measurement 20, 37–46.",
         "@article{cohen1960coefficient,\n  title={A coefficient of agreement for nominal scales},\n  "
         "author={Cohen, Jacob},\n  journal={Educational and Psychological Measurement},\n  volume={20},\n  "
         "number={1},\n  pages={37--46},\n  year={1960}\n}"),
    _ref("mcnemar1947note", "McNemar 1947",
         "McNemar, Q. (1947). Note on the sampling error of the difference between correlated proportions or "
         "percentages. Psychometrika 12, 153–157.",
         "@article{mcnemar1947note,\n  title={Note on the sampling error of the difference between correlated "
         "proportions or percentages},\n  author={McNemar, Quinn},\n  journal={Psychometrika},\n  volume={12},\n  "
         "number={2},\n  pages={153--157},\n  year={1947}\n}"),
    _ref("wilcoxon1945individual", "Wilcoxon 1945",
         "Wilcoxon, F. (1945). Individual comparisons by ranking methods. Biometrics Bulletin 1, 80–83.",
         "@article{wilcoxon1945individual,\n  title={Individual comparisons by ranking methods},\n  "
         "author={Wilcoxon, Frank},\n  journal={Biometrics Bulletin},\n  volume={1},\n  number={6},\n  "
         "pages={80--83},\n  year={1945}\n}"),
    _ref("dubois2024length", "Dubois et al. 2024",
         "Dubois, Y., Galambosi, B., Liang, P. and Hashimoto, T. B. (2024). Length-controlled AlpacaEval: a simple "
         "way to debias automatic evaluators. arXiv:2404.04475.",
         "@article{dubois2024length,\n  title={Length-Controlled {AlpacaEval}: A Simple Way to Debias Automatic "
         "Evaluators},\n  author={Dubois, Yann and Galambosi, Bal{\\'a}zs and Liang, Percy and Hashimoto, "
         "Tatsunori B.},\n  journal={arXiv preprint arXiv:2404.04475},\n  year={2024}\n}"),
    _ref("demsar2006statistical", "Demšar 2006",
         "Demšar, J. (2006). Statistical comparisons of classifiers over multiple data sets. Journal of Machine "
         "Learning Research 7, 1–30.",
         "@article{demsar2006statistical,\n  title={Statistical comparisons of classifiers over multiple data "
         "sets},\n  author={Dem{\\v{s}}ar, Janez},\n  journal={Journal of Machine Learning Research},\n  "
         "volume={7},\n  pages={1--30},\n  year={2006}\n}"),
    _ref("verga2024replacing", "Verga et al. 2024",
         "Verga, P., Hofstätter, S., Althammer, S., et al. (2024). Replacing judges with juries: evaluating LLM "
         "generations with a panel of diverse models. arXiv:2404.18796.",
         "@article{verga2024replacing,\n  title={Replacing Judges with Juries: Evaluating {LLM} Generations with a "
         "Panel of Diverse Models},\n  author={Verga, Pat and Hofst{\\\"a}tter, Sebastian and Althammer, Sophia "
         "and others},\n  journal={arXiv preprint arXiv:2404.18796},\n  year={2024}\n}"),
    _ref("rofin2023votenrank", "Rofin et al. 2023",
         "Rofin, M., Mikhailov, V., Florinskiy, M., et al. (2023). Vote'n'Rank: revision of benchmarking with "
         "social choice theory. Proceedings of EACL 2023, 670–686.",
         "@inproceedings{rofin2023votenrank,\n  title={{Vote'n'Rank}: Revision of Benchmarking with Social Choice "
         "Theory},\n  author={Rofin, Mark and Mikhailov, Vladislav and Florinskiy, Mikhail and others},\n  "
         "booktitle={Proceedings of the 17th Conference of the European Chapter of the Association for "
         "Computational Linguistics},\n  pages={670--686},\n  year={2023}\n}"),
)}

#: the BibTeX entries by key (kept for callers of the old name)
BIBTEX = {k: r.bibtex for k, r in REFERENCES.items()}


def _pct(level: float) -> str:
    """A confidence level as the captions write it: 0.95 → "95 %"."""
    return f"{100 * level:g} %"


def _ci_table(name: str, caption: str, frame: pl.DataFrame, est: str, best: str | None = "max",
              lo: str = "ci_low", hi: str = "ci_high") -> Table:
    return Table(name, caption, frame, intervals={est: (lo, hi)}, best={est: best} if best else {})


# --------------------------------------------------------------------- resampling floors
def _more_resamples(n_tests: int, n_resamples: int, alpha: float, two_sided: bool = True) -> int:
    """Resamples enough that even the smallest Holm multiplier times the floor stays below
    alpha / 2: (1 or 2) · m / (B + 1) < alpha / 2; at least twice as many, rounded up to 500,
    at most 20,000."""
    need = int(np.ceil((2 if two_sided else 1) * n_tests * 2 / alpha))
    return int(min(20_000, max(2 * n_resamples, int(np.ceil(need / 500) * 500))))


# ---------------------------------------------------------------------------- pairwise
def _pairwise_sections(j: Judgments, reference: str | None, n_resamples: int, seed: int,
                       step: Callable[[str], None], focus: str = "all", level: float = 0.95) -> list[Section]:
    sections: list[Section] = []
    judges = [x for x in j.judges if reference is None or not (x == reference or x.startswith(reference + ":"))]
    pct = _pct(level)
    if focus == "judge":  # compute only what is shown (every section is seeded alike, so nothing else moves)
        return _judge_sections(j, reference, judges, n_resamples, seed, step, level)
    step("win rates")
    wr = win_rates(j, n_resamples=n_resamples, confidence_level=level, rng=seed)
    credit = ("a verdict counts the judge's graded preference p_a where given, as AlpacaEval's win_rate does, "
              "else 1 / 0 / ½ for a win / loss / tie" if wr.graded else "ties count ½")
    wr_table = wr.to_polars().sort("win_rate", descending=True)
    s = Section("Win rates", [f"Each model's mean credit against the field ({credit}), with its item-clustered "
                              f"standard error and a {pct} bootstrap interval over items."],
                [_ci_table("win_rates", f"Win rate with {pct} interval", wr_table, "win_rate")],
                [Figure("win_rates", f"Win rates with {pct} intervals", wr.chart())],
                methods=[f"A model's win rate is its mean credit against the field ({credit}); its {pct} interval "
                         "is a percentile bootstrap interval over items [@efron1994introduction] from "
                         f"{n_resamples:,} resamples."])
    if wr_table.height >= 2:
        p1, p2 = (float(x) for x in wr_table["win_rate"][:2])
        if 0 < p2 < p1 < 1:
            n = sample_size(p1 - p2, p_a=p1, p_b=p2)
            s.notes.append(f"power: telling the top two models apart ({p1:.3f} vs {p2:.3f}) with 80 % power at "
                           f"α = 0.05 takes about {n:,} paired verdicts each.")
    sections.append(s)
    step("ratings")
    bt = rank(j, "bradley_terry", n_resamples=n_resamples, cluster="item", confidence_level=level, rng=seed)
    adjacent = adjacent_differences(bt, confidence_level=level)
    b_used = n_resamples
    floor_notes: list[str] = []
    if adjacent is not None and adjacent["decided_by_floor"].any():
        m = adjacent.height
        b_used = _more_resamples(m, n_resamples, 0.05)
        floored = int(adjacent["pvalue_at_floor"].sum())
        bt = rank(j, "bradley_terry", n_resamples=b_used, cluster="item", confidence_level=level, rng=seed)
        adjacent = adjacent_differences(bt, confidence_level=level)
        floor_notes.append(f"with {n_resamples:,} resamples {floored} adjacent-pair p-values sat at the bootstrap "
                           f"floor (2 / (B + 1) = {2 / (n_resamples + 1):.4f}) and decided a Holm flag, so the "
                           f"ratings were resampled {b_used:,} times.")
        if adjacent is not None and adjacent["decided_by_floor"].any():
            floor_notes.append(f"even with {b_used:,} resamples the flags of "
                               + ", ".join(f"{a} > {b}" for a, b in adjacent.filter(pl.col("decided_by_floor"))
                                           .select("model", "next").rows())
                               + " rest on p-values at the floor.")
    if adjacent is not None and adjacent["pvalue_at_floor"].any():
        floor_notes.append(f"p-values shown as < x sit at the floor of {b_used:,} bootstrap resamples (the true "
                           "p-value is at most that).")
    full = bt.to_polars()
    table = full.select("model", "rating", "ci_low", "ci_high", "rank", "rank_low", "rank_high", "p_best",
                        "arena_rank", "tie_group")
    for c in ("rank_low", "rank_high"):  # whole ranks as integers: "3 [2, 4]"
        col = table[c]
        if col.is_not_nan().all() and (col == col.floor()).all():
            table = table.with_columns(pl.col(c).cast(pl.Int64))
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
    tables = [Table("ratings", f"Bradley–Terry rating and rank with {pct} intervals", table,
                    intervals={"rating": ("ci_low", "ci_high"), "rank": ("rank_low", "rank_high")},
                    best={"rating": "max"})]
    if adjacent is not None:
        tables.append(Table("adjacent", f"Adjacent models: rating difference with {pct} interval (Holm across pairs)",
                            adjacent.drop("decided_by_floor"), intervals={"difference": ("ci_low", "ci_high")},
                            upper_bounds={"pvalue": "pvalue_at_floor", "p_holm": "p_holm_bound"}))
    tables.append(Table("rank_by_method", "Rank under each rating method", by_method))
    cites = {"davidson": "the Davidson model with ties [@davidson1970extending]", "elo": "Elo ratings [@elo1978rating]",
             "rank_centrality": "rank centrality [@negahban2017rank]"}
    methods = [f"Ratings are Bradley–Terry maximum-likelihood estimates [@bradley1952rank]; their {pct} intervals, the "
               f"rank intervals and P(best) come from {b_used:,} bootstrap resamples of items "
               "[@efron1994introduction]; arena_rank is 1 + the number of models significantly better, as in "
               "Chatbot Arena [@chiang2024chatbot]."]
    if adjacent is not None:
        methods.append("Each model is compared with the next one down by the bootstrap distribution of their rating "
                       "difference (a two-sided percentile-bootstrap p-value, add-one corrected), Holm-adjusted "
                       f"across the {adjacent.height} adjacent pairs [@holm1979simple].")
    if others:
        methods.append("The ranking is repeated under " + _join([cites[m] for m in others]) + ".")
    sections.append(Section(
        "Ratings and rank uncertainty",
        [f"Bradley–Terry ratings (log-odds, centred) and ranks with {pct} intervals from a bootstrap over items; "
         "P(best) is the share of resamples in which the model ranks first; arena_rank is 1 + the number of models "
         "significantly better; models in one tie_group cannot be told apart. The adjacent-pairs table tests each "
         "step of the leaderboard (bootstrap p-values, Holm-adjusted)."],
        tables, [Figure("ratings", "Ratings and rank intervals", bt.chart())], floor_notes, methods))
    if {"len_a", "len_b"} <= set(j.frame.columns):
        step("length-controlled win rates")
        try:
            base = common_baseline(j.frame, None)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lc = bias.length_controlled_win_rate(j, base, confidence_level=level)
            sections.append(Section(
                "Length-controlled win rates",
                [f"The length-controlled win rate against {base}: the win rate predicted had the two outputs been "
                 "equally long. AlpacaEval's own recipe (cross-validated L1 fits regularised toward gamed baselines) "
                 "is `bias.length_controlled_win_rate(..., method=\"alpaca_eval\")`."],
                [_ci_table("length_controlled", "Raw and length-controlled win rate (%)",
                           lc.table.select("judge", "model", "win_rate", "lc_win_rate", "lc_ci_low", "lc_ci_high"),
                           "lc_win_rate", lo="lc_ci_low", hi="lc_ci_high")],
                [Figure("length_controlled", "Raw against length-controlled win rate", lc.chart())],
                methods=["Length-controlled win rates follow Dubois et al. [@dubois2024length]: a GLM with a tanh "
                         "length term and an instruction-difficulty term per model, fitted by maximum likelihood, "
                         "with a delta-method interval."]))
        except MetaevalError:
            pass  # no common baseline: the length effect is in the bias audit
    if focus != "leaderboard":
        sections += _judge_sections(j, reference, judges, n_resamples, seed, step, level)
    return sections


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# ------------------------------------------------------------------------------ judges
def _judge_sections(j: Judgments, reference: str | None, judges: list[str], n_resamples: int, seed: int,
                    step: Callable[[str], None], level: float = 0.95) -> list[Section]:
    """Agreement, bias audit and juries — whatever the judges and the reference allow."""
    pct = _pct(level)

    sections: list[Section] = []
    b_small = min(n_resamples, 500)
    numeric = j.kind == "pointwise"
    # graded scores: Krippendorff's alpha on the interval scale; verdicts and labels: Cohen's kappa
    metric, opts = (("krippendorff_alpha", {"scale": "interval"}) if numeric else ("cohen_kappa", {}))
    name = "Krippendorff's α (interval)" if numeric else "Cohen's κ"
    said = "Krippendorff's α for interval data" if numeric else "Cohen's κ"  # in the Methods, before a citation
    cite = "[@krippendorff2018content]" if numeric else "[@cohen1960coefficient]"
    if len(judges) >= 2:
        step("agreement")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = agreement.matrix(j, metric, judges=judges, ci="bootstrap", n_resamples=b_small, rng=seed,
                                     confidence_level=level, **opts)
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
                notes.append(f"{undefined.height} pairs have {name} undefined (nan): on their common units at least "
                             "one judge gave a single verdict throughout, so chance agreement is 1")
            sections.append(Section("Judge agreement", [f"{name} of every two judges on the units both rated, "
                                                        f"with a {pct} bootstrap interval over items. A missing "
                                                        "verdict leaves its unit out of that pair (n_units: the "
                                                        "units each pair used)"
                                                        + ("." if numeric or reference is None else
                                                           "; the table against the reference counts missing "
                                                           "verdicts as wrong, so a judge's value there can "
                                                           "differ from its value here.")],
                                    [_ci_table("agreement", f"{name} between judges",
                                               pairs.filter(pl.col("n_units") > 0), "estimate", None)],
                                    [Figure("agreement", "Judge × judge agreement", m.chart())], notes,
                                    [f"Agreement between two judges is {said} {cite} on the units both rated, with "
                                     f"a {pct} bootstrap interval over items [@efron1994introduction] from "
                                     f"{b_small:,} resamples."]))
        except MetaevalError as exc:
            sections.append(Section("Judge agreement", notes=[f"left out: {exc}"]))
    if reference is not None:
        try:
            metrics = ("krippendorff_alpha",) if numeric else ("cohen_kappa", "percent_agreement")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ag = agreement.against(j, reference, metrics=metrics, ci="bootstrap", n_resamples=b_small, rng=seed,
                                       confidence_level=level,
                                       **opts)
            t = ag.to_polars()
            how = {"wrong": "as wrong (a verdict that matches no reference verdict), as published judge studies "
                            "count them", "tie": "as ties", "drop": "not at all (left out)"}[ag.missing]
            notes = []
            lost = t.filter(pl.all_horizontal(~pl.col(c).is_finite() for c in metrics))
            if lost.height:
                notes.append(f"{lost.height} judges share no unit with {ag.reference} and have no agreement: "
                             + ", ".join(lost["judge"].to_list()))
            what = "Krippendorff's α for interval data" if numeric else "Cohen's κ and percent agreement"
            unit = ("an item and model (the reference is the mean grade of its judges)" if numeric else
                    "an item and pair of outputs in one presentation order and prompt variant; a reference verdict "
                    "given once applies to each")
            sections.append(Section(f"Judges against {ag.reference}", [
                f"Each judge against the reference: {what} with {pct} bootstrap intervals over items. A unit is "
                f"{unit}. Missing verdicts count {how}; the abstention rate is each judge's share of units without a "
                "verdict."],
                [Table("against_reference", f"Agreement with {ag.reference}", t,
                       intervals={c: (f"{c}_ci_low", f"{c}_ci_high") for c in (*metrics, "abstention_rate")},
                       best={metrics[0]: "max"})], notes=notes,
                methods=[f"Each judge is compared with the reference by {what} {cite}, with {pct} bootstrap intervals "
                         f"over items [@efron1994introduction] from {b_small:,} resamples."]))
            sections[-1].figures.append(Figure("against_reference", f"Each judge against {ag.reference}: {what} "
                                               f"with {pct} intervals", ag.chart()))
            _reference_figures(j, reference, sections[-1], level)
        except MetaevalError as exc:
            sections.append(Section("Judges against the reference", notes=[f"left out: {exc}"]))
    step("bias audit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            audit = bias.audit(j, reference=reference, n_resamples=b_small, confidence_level=level, rng=seed)
        full = audit.to_polars()
        t, limits = _bias_rows(full)
        sections.append(Section("Bias audit", ["Every bias probe the columns allow; p-values are Holm-adjusted "
                                               "across the probes that test for a bias."],
                                [_ci_table("bias", f"Bias probes: effect with {pct} interval", t, "estimate", None)],
                                [Figure("bias", f"Bias effects with {pct} intervals", audit.chart())]
                                if audit.probes else [],
                                notes=[str(f) for f in full.filter(pl.col("flagged"))["finding"]] + limits
                                + [f"skipped: {k} ({v})" for k, v in audit.skipped.items()],
                                methods=["The bias audit runs every probe the table's columns allow ("
                                         + ", ".join(audit.probes) + "), each a regression or paired comparison "
                                         f"with a {pct} interval; the p-values of the probes that test for a bias are "
                                         "Holm-adjusted together [@holm1979simple]."]))
    except MetaevalError as exc:
        sections.append(Section("Bias audit", notes=[f"left out: {exc}"]))
    if reference is not None and len(judges) >= 2:
        step("juries")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scores = j.kind == "pointwise"  # grades are averaged, abstentions left out (as in against())
                pooled = "grades by their mean" if scores else "verdicts by majority vote"
                sel = juries.select(j, reference, judges=None, rule="mean" if scores else "majority",
                                    missing="drop" if scores else "wrong", n_resamples=b_small, rng=seed,
                                    confidence_level=level, progress=False)
            sections.append(Section("Judge or jury", _jury_headline(sel, b_small),
                                    [_ci_table("jury_frontier", "Cost–agreement frontier", sel.frontier, sel.metric,
                                               lo=f"{sel.metric}_ci_low", hi=f"{sel.metric}_ci_high")],
                                    [Figure("jury_frontier", "Panels of judges: agreement against cost", sel.chart())],
                                    list(sel.notes) + (["similarity is the highest CAPA between two members of a "
                                                        "panel: undefined (nan) for a single judge"]
                                                       if (sel.frontier["size"] == 1).any() else []),
                                    [f"Panels of judges pool their {pooled} "
                                     "[@verga2024replacing]; "
                                     f"each panel's agreement with the reference has a {pct} bootstrap interval over "
                                     f"items [@efron1994introduction] from {b_small:,} resamples."]))
        except MetaevalError as exc:
            sections.append(Section("Judge or jury", notes=[f"left out: {exc}"]))
    return sections


def _jury_headline(sel: Any, n_resamples: int) -> list[str]:
    """The jury selection's headline in the report's number style (estimate and interval
    rounded together, p-values as everywhere). The panel-vs-judge test's bootstrap p-value
    (``juries.select`` draws max(``n_resamples``, 200) resamples) is a bound at its floor
    2 / (B + 1)."""

    rows = sel.panels.table
    m = sel.metric

    def est(panel: str) -> str:
        r = rows.filter(pl.col("panel") == panel).row(0, named=True)
        e, lo, hi = format_interval(r[m], r[f"{m}_ci_low"], r[f"{m}_ci_high"])
        return f"{m} {e} [{lo}, {hi}], cost {r['cost']:.4g}"

    out = [f"Recommended: {sel.recommended} — {est(sel.recommended)}"
           + (f" (budget {sel.budget:.4g})." if sel.budget is not None else ".")]
    if sel.frugal != sel.recommended:
        out.append(f"Cheapest panel not significantly worse: {sel.frugal} — {est(sel.frugal)}.")
    t = sel.test
    if t:
        verdict = "better" if t["significant"] and t["difference"] > 0 else (
            "worse" if t["significant"] else "not significantly different")
        d, lo, hi = format_interval(t["difference"], t["ci_low"], t["ci_high"])
        floor = 2 / (max(n_resamples, 200) + 1) if "bootstrap" in str(t["method"]) else float("nan")
        bound = bool(t["pvalue"] <= floor * (1 + 1e-9))
        out.append(f"Best panel {t['panel']} against the best single judge {t['single']}: difference {d} [{lo}, {hi}], "
                   f"{p_statement(t['pvalue'], upper_bound=bound)} "
                   f"({t['method']}{', held-out items' if t['holdout'] else ''}): {verdict}.")
    return out


# ---------------------------------------------------------------------------- pointwise


def _reference_figures(j: Judgments, reference: str, section: Section, level: float = 0.95) -> None:
    """The confusion matrix of each judge against the reference and, for graded preferences
    (``p_a``), the reliability diagram; a figure the data do not allow is left out with a note."""
    pct = _pct(level)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cm = agreement.confusion_matrix(j, reference)
        section.figures.append(Figure("confusion", f"Each judge's verdicts against {cm.reference}'s (counts and "
                                      "row shares)", cm.chart()))
    except MetaevalError as exc:
        section.notes.append(f"confusion matrices left out: {exc}")
    if j.kind == "pairwise" and "p_a" in j.frame.columns:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rel = agreement.reliability(j, reference, confidence_level=level)
            section.figures.append(Figure("reliability", f"Reliability of the judges' graded preferences p_a against "
                                          f"{rel.reference} ({pct} Wilson intervals)", rel.chart()))
            section.notes += list(rel.notes)
        except MetaevalError as exc:
            section.notes.append(f"reliability diagram left out: {exc}")


def _model_means(scored: Judgments, models: tuple[str, ...], level: float = 0.95) -> pl.DataFrame:
    """Each model's mean score over items (repeats averaged within an item first) with a t interval."""
    from scipy import stats as st

    per_item = scored.frame.group_by("model", "item", maintain_order=True).agg(pl.col("score").mean())
    agg = per_item.group_by("model", maintain_order=True).agg(
        pl.col("score").mean().alias("mean"), pl.col("score").std().alias("sd"), pl.len().alias("n_items"))
    q = st.t.ppf(1 - (1 - level) / 2, np.maximum(agg["n_items"].to_numpy() - 1, 1))
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


#: resamples of the permutation and bootstrap tests in the model comparison (all_pairs' default)
PAIR_RESAMPLES = 10_000
_TEST_FLOOR = {"permutation": 1, "bootstrap": 2}  # the p-value floor, in units of 1 / (B + 1)
_TEST_NAMES = {"paired_t": "paired t", "permutation": "sign-flip permutation", "bootstrap": "studentised bootstrap",
               "mcnemar": "McNemar's exact [@mcnemar1947note]", "mcnemar_midp": "McNemar's mid-p [@mcnemar1947note]",
               "wilcoxon": "Wilcoxon signed-rank [@wilcoxon1945individual]"}


def _pair_table(ap: Any, n_resamples: int) -> tuple[pl.DataFrame, bool]:
    """all_pairs' table with the floors of its resampling p-values marked; and whether a
    significance flag depends on a floor."""
    t = ap.to_polars()
    floors = np.array([_TEST_FLOOR.get(x, np.nan) / (n_resamples + 1) for x in t["test"].to_list()])
    at, _, bound, depends = resampling_floors(t["pvalue"].to_numpy(), floors, alpha=ap.alpha)
    return t.with_columns(pl.Series("pvalue_at_floor", at), pl.Series("pvalue_adjusted_bound", bound)), depends


def _pointwise_sections(j: Judgments, reference: str | None, n_resamples: int, seed: int,
                        step: Callable[[str], None], focus: str = "all", level: float = 0.95) -> list[Section]:
    judges = [x for x in j.judges if reference is None or not (x == reference or x.startswith(reference + ":"))]
    pct = _pct(level)
    if focus == "judge":  # compute only what is shown
        return _judge_sections(j, reference, judges, n_resamples, seed, step, level)
    scored = j.filter(judge=judges[0]) if len(judges) > 1 else j
    step("pairwise comparisons")
    b_pairs = PAIR_RESAMPLES
    ap = all_pairs(scored, correction="holm", n_resamples=b_pairs, confidence_level=level, rng=seed)
    pairs, depends = _pair_table(ap, b_pairs)
    notes = []
    if depends:
        b_more = _more_resamples(pairs.height, b_pairs, ap.alpha, two_sided=False)
        notes.append(f"with {b_pairs:,} resamples a Holm flag rested on a p-value at its floor (1 / (B + 1)), so the "
                     f"pairs were tested again with {b_more:,}.")
        b_pairs = b_more
        ap = all_pairs(scored, correction="holm", n_resamples=b_pairs, confidence_level=level, rng=seed)
        pairs, depends = _pair_table(ap, b_pairs)
        if depends:
            notes.append(f"even with {b_pairs:,} resamples some Holm flags rest on p-values at their floor.")
    if pairs["pvalue_at_floor"].any():
        notes.append(f"p-values shown as < x sit at the floor of {b_pairs:,} resamples (the true p-value is at most "
                     "that).")
    means = _model_means(scored, ap.models, level)
    groups: dict[int, list[str]] = {}
    for model, g in ap.groups.items():
        groups.setdefault(g, []).append(model)
    tied = "; ".join(f"{{{', '.join(ms)}}}" for _, ms in sorted(groups.items()))
    tests = [x for x in dict.fromkeys(pairs["test"].to_list())]
    section = Section(
        "Model comparison",
        [f"Scores by {judges[0]}: every pair of models compared on the same items with the paired test the design "
         "calls for; p-values Holm-adjusted. Groups of models not told apart from the best of the group, best "
         f"group first: {tied}. Each mean has a t interval over items."],
        [_ci_table("means", f"Mean score per model with {pct} interval", means, "mean", "max"),
         Table("all_pairs", f"All pairwise differences with {pct} interval (Holm across pairs)", pairs,
               intervals={"difference": ("ci_low", "ci_high")},
               upper_bounds={"pvalue": "pvalue_at_floor", "pvalue_adjusted": "pvalue_adjusted_bound"})],
        notes=notes,
        methods=[f"Each model's mean score has a {pct} t interval over items. Every pair of models is compared on the "
                 "same items with the paired test the design calls for (here the "
                 + _join([_TEST_NAMES.get(x, x) for x in tests]) + (" tests" if len(tests) > 1 else " test")
                 + (f", resampling with {b_pairs:,} draws" if set(tests) & set(_TEST_FLOOR) else "")
                 + f"); p-values are Holm-adjusted across the {pairs.height} pairs [@holm1979simple]."])
    diffs = ap.to_polars()
    if diffs.height:
        sd = float(np.nanstd(scored.frame["score"].to_numpy()))
        if sd > 0:
            n = sample_size(0.1 * sd, sd=sd)
            section.notes.append(f"power: detecting a difference of 0.1 sd ({0.1 * sd:.3g} points) with 80 % "
                                 f"power at α = 0.05 takes about {n:,} items (paired, sd {sd:.3g}, no correlation "
                                 "assumed between the paired scores — a conservative count).")
    if focus == "leaderboard":
        return [section]
    return [section, *_judge_sections(j, reference, judges, n_resamples, seed, step, level)]


# -------------------------------------------------------------------------- leaderboard
def _leaderboard_sections(sm: ScoreMatrix, step: Callable[[str], None], seed: int, n_resamples: int,
                          level: float = 0.95) -> list[Section]:
    pct = _pct(level)
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
                                                               else "min"})])]
    step("rules")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cr = compare_rules(sm)
        cd = critical_difference(sm)
    robust = Section("Robustness of the winner", [])
    b_tasks = min(n_resamples, 200)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rb = robustness(sm, n_resamples=b_tasks, confidence_level=level, rng=seed)
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
        robust.methods.append(f"The winner's stability is the share of {b_tasks:,} resamples of the tasks (with "
                              "replacement) each model wins, and whether an exact clone of the runner-up changes the "
                              "winner.")
        robust.figures.append(Figure("rank_intervals", f"Each model's rank under each rule, with the central {pct} "
                                     "of its ranks over resampled tasks", rb.chart()))
    except MetaevalError as exc:
        robust.notes.append(f"left out: {exc}")
    rule_notes = ([f"{n}" for n in cr.data_notes] + [f"{r}: {n}" for r, ns in cr.notes.items() for n in ns]
                  + [f"{r} not run: {why}" for r, why in cr.skipped.items()])
    cw = cr.condorcet_winner or ("none" if cr.smith else "not computed")
    return [
        data,
        Section("Winner under every rule", [f"{cr.verdict}. Condorcet winner: {cw}."],
                [Table("rules", "Winner per aggregation rule", cr.to_polars() if not all(cr.exact.values())
                       else cr.to_polars().drop("exact"))], notes=rule_notes,
                methods=["Models are ranked across tasks under many social-choice rules [@rofin2023votenrank]."]),
        robust,
        Section("Critical-difference diagram", ["Friedman test and Nemenyi post-hoc: models whose average ranks "
                                                "differ by less than the critical difference are not told apart."],
                [Table("average_ranks", "Average rank per model", cd.to_polars(), best={"average_rank": "min"})],
                [Figure("critical_difference", "Critical-difference diagram", cd.chart())],
                methods=["Average ranks over tasks are compared with the Friedman test and the Nemenyi post-hoc "
                         "test [@demsar2006statistical]."]),
    ]


JUDGE_SECTIONS = ("Data", "Judge agreement", "Judges against", "Bias audit", "Judge or jury")
LEADERBOARD_SECTIONS = ("Data", "Win rates", "Ratings and rank uncertainty", "Length-controlled", "Model comparison",
                        "Ranking", "Winner under every rule", "Robustness of the winner", "Critical-difference diagram",
                        "Audit extras")


def _public_info(info: pl.DataFrame) -> pl.DataFrame:
    """The table overview as a report shows it: input files by name, never this machine's folders."""
    def name(v: str) -> str:
        return ", ".join(Path(p.strip()).name for p in v.split(",")) if v else v

    return info.with_columns(pl.when(pl.col("property") == "source files")
                             .then(pl.col("value").map_elements(name, return_dtype=pl.String))
                             .otherwise(pl.col("value")).alias("value"))


@renamed_parameters(seed="rng")
@validate_params({
    "focus": [Options(str, ("all", "judge", "leaderboard"))],
    "n_resamples": [Interval(Integral, 2, None, closed="left")],
    "rng": ["rng"],
    "confidence_level": [LEVEL],
    "progress": ["boolean", None],
})
def build(table: Judgments | ScoreMatrix, *, reference: str | None = "auto", title: str | None = None,
          focus: str = "all", n_resamples: int = DEFAULT_N_RESAMPLES, rng: np.random.Generator | int | None = 0,
          confidence_level: float = 0.95, progress: bool | None = None) -> Report:
    """The report for a judgments table or a leaderboard; sections are chosen from the content.

    ``reference="auto"`` uses ``human`` / ``gold`` judges when the table has them. ``focus``
    keeps the sections of one workflow: ``"judge"`` (should I trust this judge? agreement, bias,
    juries) or ``"leaderboard"`` (is this ranking real? ratings, rank intervals, rules,
    robustness), or ``"all"``. The Methods paragraph is written from the sections kept, each
    method cited once; ``references.bib`` holds exactly the works cited. ``rng`` (an integer
    seed, the default 0, or a generator that draws one) seeds every analysis alike, so a
    section's numbers do not depend on which sections came before it; the seed is in the
    provenance. (``rng`` was called ``seed``; the old name works, with a warning, for one
    release.) ``confidence_level`` (default 0.95) is the level of every interval in the report,
    and its captions and Methods say it. ``n_resamples`` is the bootstrap's resamples; default:
    the package default, 1000 (see :mod:`metaeval.stats.resampling`).

    Parameters
    ----------
    table : Judgments or ScoreMatrix
        A judgments table (anything :func:`metaeval.tables.as_judgments` accepts) or a
        leaderboard (models × tasks).
    reference : str or None, default "auto"
        The judge (or prefix of judges, ``human`` for ``human:1``, ``human:2`` …) the others are
        held against; ``"auto"`` takes ``human`` / ``gold`` judges where the table has them,
        ``None`` none.
    title : str, optional
        The report's title. Default: "metaeval report".
    focus : {"all", "judge", "leaderboard"}, default "all"
        The sections of one workflow, or all.
    n_resamples : int, default 1000
        Bootstrap resamples of every interval that resamples.
    rng : int, numpy.random.Generator or None, default 0
        Seeds every analysis alike (see above).
    confidence_level : float, default 0.95
        The level of every interval in the report.
    progress : bool, optional
        Show a progress display: ``None`` where someone watches (a terminal or notebook),
        ``False`` never.

    Returns
    -------
    Report
        The sections (tables, figures and text), the Methods paragraph, the references cited
        and the provenance; ``write(outdir)`` writes it (HTML, Markdown, LaTeX), as ``metaeval report`` does.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import report
    >>> sim = metaeval.simulate.pairwise(n_models=4, n_items=60, judges=("judge-atlas",), n_humans=2, rng=0)
    >>> rep = report.build(sim.judgments, n_resamples=50, progress=False)
    >>> [s.title for s in rep.sections][:3]
    ['Data', 'Win rates', 'Ratings and rank uncertainty']
    >>> judge = report.build(sim.judgments, focus="judge", n_resamples=50, progress=False)
    >>> "Bradley" in judge.methods_text()
    False
    """
    table = as_judgments(table)
    seed = integer_seed(rng)
    level = confidence_level
    started = timestamp()
    with progress_display(progress) as bar:
        task = bar.add_task("building the report", total=None)

        def step(what: str) -> None:
            bar.update(task, description=f"report: {what}")

        if focus not in ("all", "judge", "leaderboard"):
            raise ParameterError(f"`focus` must be 'all', 'judge' or 'leaderboard'; got {focus!r}")
        if isinstance(table, ScoreMatrix):
            if focus == "judge":
                raise MetaevalError("a leaderboard (models × tasks) has no judges to audit; audit a judgments table")

            board, extras = leaderboard_extras(table, None if reference == "auto" else reference, seed)
            sections = [*_leaderboard_sections(board, step, seed, n_resamples, level), extras]
            fp = None
        elif isinstance(table, Judgments):
            ref = auto_reference(table.judges) if reference == "auto" else reference
            if reference == "auto" and ref and all(x == ref or x.startswith(ref + ":") for x in table.judges):
                ref = None  # the only scorer is named like a reference (`gold`): nothing to hold it against
            info = Section("Data", [f"{len(table):,} {table.kind} judgments on {len(table.items):,} items by "
                                    f"{len(table.judges)} judges" + (f"; reference: {ref}" if ref else "") + "."],
                           [Table("data", "The table", _public_info(table.info().to_polars()))])
            body = (_pairwise_sections if table.kind == "pairwise" else _pointwise_sections)(
                table, ref, n_resamples, seed, step, focus, level)
            sections = [info, *body]
            if focus in ("all", "leaderboard"):
                sections.append(judgments_extras(table, ref, seed, n_resamples))
            fp = table.fingerprint
            if focus != "all":
                keep = JUDGE_SECTIONS if focus == "judge" else LEADERBOARD_SECTIONS
                sections = [x for x in sections if x.title.startswith(keep)]
        else:
            raise MetaevalError(f"a report needs a Judgments table or a ScoreMatrix; got {type(table).__name__}")
    prov = {"metaeval version": __version__, "seed": seed, "bootstrap resamples": n_resamples,
            **({"input fingerprint": fp} if fp else {}), "created": started}
    return Report(title or "metaeval report", sections, provenance=prov, references=dict(REFERENCES))
