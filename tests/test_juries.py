"""Juries: pooling rules, panel scores against the reference (checked against statsmodels,
krippendorff, scipy and plain loops), selection on simulated judges with a known best panel,
frontier, similarity (CAPA), affinity bias (vs pingouin and statsmodels), intra-model bias,
peer review (PiCO) and the CLI."""

from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

import metaeval
from metaeval import Judgments, agreement, bias, juries
from metaeval.cli import cli
from metaeval.errors import DataDroppedWarning, InsufficientDataError, MetaevalError
from metaeval.juries import _kernels as kern
from metaeval.juries._data import verdicts
from metaeval.tables import canonical


# ---------------------------------------------------------------------- pooling
def _naive_majority(votes: list[int], tie: str, tie_code: int | None, weights: list[float] | None = None) -> int:
    w = weights or [1.0] * len(votes)
    score: dict[int, float] = {}
    for v, x in zip(votes, w, strict=True):
        score[v] = score.get(v, 0.0) + x
    top = max(score.values())
    tied = [c for c, s in score.items() if abs(s - top) < 1e-12]
    if len(tied) == 1:
        return tied[0]
    if tie == "tie":
        return tie_code  # type: ignore[return-value]
    for v in votes:  # chair: first member whose choice is among the tied
        if v in tied:
            return v
    raise AssertionError


@pytest.mark.parametrize("tie", ["chair", "tie"])
def test_majority_vote_matches_a_plain_loop(tie):
    rng = np.random.default_rng(0)
    values = rng.integers(0, 3, size=(200, 5)).astype(float)
    panels = [p for s in (1, 2, 3, 4) for p in itertools.combinations(range(5), s)]
    pooled = kern.pool(values, kern.panel_index(panels), "majority", n_categories=3, tie=tie, tie_code=2)
    for i, p in enumerate(panels):
        for u in range(0, 200, 7):
            assert pooled[i, u] == _naive_majority([int(values[u, j]) for j in p], tie, 2)


def test_weighted_vote_matches_a_plain_loop():
    rng = np.random.default_rng(1)
    values = rng.integers(0, 2, size=(150, 4)).astype(float)
    w = np.array([0.9, 0.4, 0.35, 0.3])
    panels = list(itertools.combinations(range(4), 3))
    pooled = kern.pool(values, kern.panel_index(panels), "weighted", n_categories=2, weights=w)
    for i, p in enumerate(panels):
        for u in range(150):
            assert pooled[i, u] == _naive_majority([int(values[u, j]) for j in p], "chair", None, list(w[list(p)]))
    # the heavy judge outvotes the two light ones together only when their weights sum to less
    assert np.array_equal(pooled[0], values[:, 0])  # 0.9 > 0.4 + 0.35


def test_random_tie_break_is_seeded_and_picks_a_tied_choice():
    values = np.array([[0, 1], [1, 0], [0, 0]] * 50, dtype=float)
    idx = kern.panel_index([(0, 1)])
    a = kern.pool(values, idx, "majority", n_categories=2, tie="random", rng=np.random.default_rng(3))
    b = kern.pool(values, idx, "majority", n_categories=2, tie="random", rng=np.random.default_rng(3))
    assert np.array_equal(a, b)
    split = values[:, 0] != values[:, 1]
    assert 0.3 < a[0, split].mean() < 0.7  # both sides win some splits
    assert np.all(a[0, ~split] == 0)


def test_probability_mean_and_median_pooling():
    prob = np.array([[0.9, 0.2, 0.3], [0.6, 0.6, 0.1], [0.5, 0.5, 0.5]])
    values = np.array([[0, 1, 1], [0, 0, 1], [2, 2, 2]], dtype=float)
    out = kern.pool(values, kern.panel_index([(0, 1, 2)]), "probability", n_categories=3, tie="tie", tie_code=2,
                    prob=prob)
    assert out[0].tolist() == [1, 1, 2]  # mean P(a) 0.467 → b, 0.433 → b, 0.5 → tie
    scores = np.array([[1.0, 2.0, 9.0], [3.0, 3.0, 4.0]])
    mean = kern.pool(scores, kern.panel_index([(0, 1, 2), (0, 1)]), "mean")
    med = kern.pool(scores, kern.panel_index([(0, 1, 2), (0, 1)]), "median")
    assert np.allclose(mean, [[4.0, 10 / 3], [1.5, 3.0]])
    assert np.allclose(med, [[2.0, 3.0], [1.5, 3.0]])


# -------------------------------------------------------------------- metrics
def test_panel_metrics_match_statsmodels_krippendorff_and_scipy():
    import krippendorff
    from scipy import stats as st
    from statsmodels.stats.inter_rater import cohens_kappa

    rng = np.random.default_rng(2)
    n = 300
    ref = rng.integers(0, 3, n).astype(float)
    pooled = np.where(rng.random(n) < 0.7, ref, rng.integers(0, 3, n)).astype(float)
    starts = np.arange(n)
    stats = kern.categorical_stats(pooled[None], ref, starts, 3)
    tot, rtot = kern.weigh(np.ones((1, n)), stats, kern.reference_stats(ref, starts, 3))
    got = {k: float(v[0, 0]) for k, v in kern.categorical_metrics(tot, rtot).items()}
    table = np.zeros((3, 3))
    np.add.at(table, (pooled.astype(int), ref.astype(int)), 1)
    assert got["accuracy"] == pytest.approx(np.mean(pooled == ref))
    assert got["cohen_kappa"] == pytest.approx(cohens_kappa(table)["kappa"], abs=1e-10)
    ka = krippendorff.alpha(reliability_data=np.vstack([pooled, ref]), level_of_measurement="nominal")
    assert got["krippendorff_alpha"] == pytest.approx(ka, abs=1e-10)
    # scores
    y = rng.normal(size=n)
    x = y + rng.normal(scale=0.7, size=n)
    stats = kern.numeric_stats(x[None], y, starts)
    tot, rtot = kern.weigh(np.ones((1, n)), stats, kern.numeric_reference_stats(y, starts))
    got = {k: float(v[0, 0]) for k, v in kern.numeric_metrics(tot, rtot).items()}
    assert got["pearson"] == pytest.approx(st.pearsonr(x, y)[0], abs=1e-10)
    assert got["mae"] == pytest.approx(np.mean(np.abs(x - y)))
    ka = krippendorff.alpha(reliability_data=np.vstack([x, y]), level_of_measurement="interval")
    assert got["krippendorff_alpha"] == pytest.approx(ka, abs=1e-9)


def test_a_resample_equals_recomputing_on_the_resampled_items():
    """The matrix-product bootstrap is exact: weights w give the metric of the data with each
    item repeated w times (items of several units move together)."""
    import krippendorff

    rng = np.random.default_rng(4)
    items = np.repeat(np.arange(80), rng.integers(1, 4, 80))
    ref = rng.integers(0, 2, items.size).astype(float)
    pooled = np.where(rng.random(items.size) < 0.75, ref, 1 - ref)
    starts = np.flatnonzero(np.r_[True, items[1:] != items[:-1]])
    w = np.bincount(rng.integers(0, 80, 80), minlength=80).astype(float)
    tot, rtot = kern.weigh(w[None], kern.categorical_stats(pooled[None], ref, starts, 2),
                           kern.reference_stats(ref, starts, 2))
    got = kern.categorical_metrics(tot, rtot)
    reps = np.repeat(np.arange(items.size), w[items].astype(int))
    p, r = pooled[reps], ref[reps]
    assert got["accuracy"][0, 0] == pytest.approx(np.mean(p == r))
    assert got["krippendorff_alpha"][0, 0] == pytest.approx(
        krippendorff.alpha(reliability_data=np.vstack([p, r]), level_of_measurement="nominal"), abs=1e-6)


# ------------------------------------------------------------------ simulation
def test_independent_judges_pooled_beat_each_member_as_the_jury_theorem_says():
    sim = metaeval.simulate.jury(6000, accuracies=(0.7, 0.7, 0.7), rng=5)
    res = juries.evaluate_panels(sim.judgments, "gold", n_resamples=300, rng=0)
    trio = res.table.filter(pl.col("size") == 3).row(0, named=True)
    theory = sim.majority_accuracy(["judge-1", "judge-2", "judge-3"])
    assert theory == pytest.approx(0.784)
    assert trio["accuracy_ci_low"] <= theory <= trio["accuracy_ci_high"]
    singles = res.table.filter(pl.col("size") == 1)
    assert trio["accuracy_ci_low"] > singles["accuracy_ci_high"].max()
    assert res.table.filter(pl.col("size") == 3)["alike"].to_list() == [False]


def test_correlated_judges_gain_little_and_are_flagged_alike():
    sim = metaeval.simulate.jury(6000, accuracies=(0.7, 0.7, 0.7), cluster_correlation=0.9, rng=6)
    res = juries.evaluate_panels(sim.judgments, "gold", n_resamples=300, rng=0)
    trio = res.table.filter(pl.col("size") == 3).row(0, named=True)
    best_single = res.table.filter(pl.col("size") == 1)["accuracy"].max()
    assert trio["accuracy"] - best_single < 0.03  # vs +0.084 for independent judges
    assert trio["accuracy"] < sim.majority_accuracy(["judge-1", "judge-2", "judge-3"]) - 0.04
    assert trio["alike"] and trio["similarity"] > 0.6
    assert any("think alike" in n for n in res.notes)
    assert res.similarity["similarity"].min() > 0.6


def _true_best(sim: metaeval.simulate.JurySimulation, max_size: int = 3) -> set[str]:
    names = list(sim.accuracies)
    best, score = None, -1.0
    for s in range(1, max_size + 1):
        for p in itertools.combinations(names, s):
            # the chair is the most accurate member (select's default order)
            p = tuple(sorted(p, key=lambda n: -sim.accuracies[n]))
            acc = sim.majority_accuracy(p)
            if acc > score + 1e-9:
                best, score = set(p), acc
    return best  # type: ignore[return-value]


def test_selection_finds_the_truly_best_panel_in_most_replicates():
    accs = (0.82, 0.78, 0.76, 0.66, 0.6, 0.55)
    hits = 0
    for seed in range(20):
        sim = metaeval.simulate.jury(1500, accuracies=accs, rng=seed)
        truth = _true_best(sim)
        sel = juries.select(sim.judgments, "gold", n_resamples=0, rng=seed)
        hits += set(sel.members) == truth
    assert truth == {"judge-1", "judge-2", "judge-3"}
    assert hits >= 16


def test_select_budget_frontier_frugal_and_holdout():
    sim = metaeval.simulate.jury(3000, accuracies=(0.85, 0.75, 0.74, 0.72, 0.6), costs=(10.0, 1.0, 1.0, 1.0, 0.1),
                                 rng=7)
    sel = juries.select(sim.judgments, "gold", budget=3.0, n_resamples=300, holdout=0.3, rng=0)
    t = sel.panels.table
    assert t.filter(pl.col("panel") == sel.recommended)["cost"][0] <= 3.0
    assert "judge-1" not in sel.members
    # the frontier: sorted by cost, strictly improving, and no panel within budget dominates a frontier panel
    f = sel.frontier
    assert f["cost"].is_sorted() and all(np.diff(f["accuracy"].to_numpy()) > 0)
    inside = t.filter(pl.col("within_budget"))
    for row in f.iter_rows(named=True):
        assert inside.filter((pl.col("cost") <= row["cost"]) & (pl.col("accuracy") > row["accuracy"])).height == 0
    assert sel.test["holdout"] and sel.test["n_items"] == 900
    frugal = t.filter(pl.col("panel") == sel.frugal).row(0, named=True)
    assert frugal["cost"] <= t.filter(pl.col("panel") == sel.recommended)["cost"][0]
    assert frugal["diff_vs_best_ci_high"] >= 0
    assert "recommended:" in sel.summary() and sel.to_dict()["recommended"] == sel.recommended
    chart = sel.chart().to_dict()
    assert chart["layer"]
    no_budget = juries.select(sim.judgments, "gold", n_resamples=200, rng=0)
    assert "judge-1" in no_budget.members
    with pytest.raises(InsufficientDataError, match="budget"):
        juries.select(sim.judgments, "gold", budget=0.01, n_resamples=0)


def test_weighted_rule_learns_weights_on_items_it_leaves_out():
    sim = metaeval.simulate.jury(2000, accuracies=(0.9, 0.65, 0.65, 0.62, 0.6), rng=8)
    res = juries.evaluate_panels(sim.judgments, "gold", rule="weighted", weighting="log_odds", n_resamples=100,
                                 qualification=0.25, rng=0)
    assert res.run_info.n_items == 1500
    assert any("qualification" in n for n in res.notes)
    maj = juries.evaluate_panels(sim.judgments, "gold", n_resamples=0, rng=0)
    five = res.table.filter(pl.col("size") == 3)["accuracy"].max()
    # one strong judge: log-odds weights let it outvote two weak ones, so weighted trios do at least as well
    assert five >= maj.table.filter(pl.col("size") == 3)["accuracy"].max() - 0.02


def test_beam_search_beyond_the_exhaustive_limit():
    rng = np.random.default_rng(0)
    sim = metaeval.simulate.jury(800, accuracies=tuple(rng.uniform(0.6, 0.8, 12)), rng=1)
    full = juries.evaluate_panels(sim.judgments, "gold", max_size=3, n_resamples=0, rng=0)
    beam = juries.evaluate_panels(sim.judgments, "gold", max_size=3, n_resamples=0, max_panels=50, beam=15, rng=0)
    assert full.table.height == 12 + 66 + 220
    assert beam.table.height < 100 and any("beam search" in n for n in beam.notes)
    assert beam.table["accuracy"].max() >= full.table["accuracy"].max() - 0.01


def test_scores_pool_with_mean_and_median():
    sim = metaeval.simulate.pointwise(n_models=3, n_items=60, judges=("judge-atlas", "judge-borealis", "judge-cirrus"),
                                      n_humans=2, scale=None, rng=0)
    res = juries.evaluate_panels(sim.judgments, "human", rule="mean", n_resamples=100, rng=0)
    assert res.metric == "krippendorff_alpha" and {"pearson", "mae"} <= set(res.table.columns)
    trio = res.table.filter(pl.col("size") == 3).row(0, named=True)
    assert trio["pearson_ci_low"] <= trio["pearson"] <= trio["pearson_ci_high"]
    with pytest.raises(MetaevalError, match="rule='mean'"):
        juries.evaluate_panels(metaeval.simulate.jury(50, rng=0).judgments, "gold", rule="mean")
    with pytest.raises(MetaevalError, match="a vote needs categories"):
        juries.evaluate_panels(sim.judgments, "human", rule="majority")


def test_clear_errors_on_bad_input():
    j = metaeval.simulate.jury(100, rng=0).judgments
    with pytest.raises(MetaevalError, match="no judge is 'nobody'"):
        juries.select(j, "nobody")
    with pytest.raises(MetaevalError, match="`metric` must be one of"):
        juries.select(j, "gold", metric="f1")
    with pytest.raises(MetaevalError, match="unknown judge 'x'"):
        juries.select(j, "gold", judges=["x"])
    with pytest.raises(MetaevalError, match="`max_size`"):
        juries.select(j, "gold", max_size=0)
    with pytest.raises(MetaevalError, match="`tie='tie'` needs a tie category"):
        lab = Judgments({"item": ["1", "1", "1", "2", "2", "2"], "judge": ["g", "a", "b"] * 2, "model": ["m"] * 6,
                         "label": ["x", "x", "y", "y", "x", "y"]})
        juries.evaluate_panels(lab, "g", tie="tie", n_resamples=0)


def test_missing_verdicts_are_counted_and_left_out():
    f = metaeval.simulate.jury(200, rng=0).judgments.frame
    f = f.filter(~((pl.col("judge") == "judge-2") & pl.col("item").is_in(["q1", "q2", "q3"])))
    with pytest.warns(DataDroppedWarning, match="3 of 200 units are left out"):
        res = juries.evaluate_panels(Judgments(f, kind="pairwise"), "gold", n_resamples=0)
    assert res.run_info.n_items == 197


def test_consensus_reference_and_cost_from_tokens():
    sim = metaeval.simulate.pairwise(n_models=4, n_items=80, judges=("judge-atlas", "judge-borealis"), n_humans=3,
                                     rng=1)
    f = sim.judgments.frame.with_columns(pl.lit(100.0).alias("tokens"))
    res = juries.evaluate_panels(Judgments(f, kind="pairwise"), "human", price={"judge-atlas": 0.01,
                                                                              "judge-borealis": 0.002},
                                 n_resamples=50, rng=0)
    assert res.reference == "human (consensus of 3)"
    costs = dict(zip(res.table["panel"], res.table["cost"], strict=True))
    assert costs["judge-atlas"] == pytest.approx(1.0) and costs["judge-borealis"] == pytest.approx(0.2)


# ------------------------------------------------------------------------ pool
def test_pool_adds_the_panel_as_a_judge_that_agreement_can_score():
    sim = metaeval.simulate.jury(400, accuracies=(0.8, 0.7, 0.7), costs=(1.0, 0.5, 0.5), rng=2)
    j = juries.pool(sim.judgments, ["judge-1", "judge-2", "judge-3"], name="jury")
    f = j.frame.filter(pl.col("judge") == "jury")
    assert f.height == 400 and f["cost"].unique().to_list() == [2.0]
    acc = agreement.against(j, "gold", metrics=("percent_agreement",), ci="none").table
    got = acc.filter(pl.col("judge") == "jury")["percent_agreement"][0]
    panels = juries.evaluate_panels(sim.judgments, "gold", judges=["judge-1", "judge-2", "judge-3"], n_resamples=0)
    assert got == pytest.approx(panels.table.filter(pl.col("size") == 3)["accuracy"][0])
    w = juries.pool(sim.judgments, ["judge-1", "judge-2", "judge-3"], rule="weighted",
                    weights={"judge-1": 3.0, "judge-2": 1.0, "judge-3": 1.0}, name="w")
    a = canonical(w.frame.filter(pl.col("judge") == "w")).sort("item")["outcome"]
    b = canonical(sim.judgments.frame.filter(pl.col("judge") == "judge-1")).sort("item")["outcome"]
    assert a.to_list() == b.to_list()  # weight 3 beats 1 + 1
    with pytest.raises(MetaevalError, match="already has a judge"):
        juries.pool(j, ["judge-1", "judge-2"], name="jury")


# -------------------------------------------------------------------- frontier
def test_frontier_of_a_summary_table_with_wilson_intervals():
    from statsmodels.stats.proportion import proportion_confint

    t = pl.DataFrame({"judge": ["a", "b", "c", "d", "e"], "price": [10.0, 0.5, 2.0, 3.0, None],
                      "agree": [70.0, 62.0, 68.0, 60.0, 75.0]})
    with pytest.warns(DataDroppedWarning, match="1 judges lack"):
        fr = juries.frontier(t, judge="judge", cost="price", score="agree", n=600, scale=100)
    assert fr.judges == ("b", "c", "a")
    row = fr.table.filter(pl.col("judge") == "c").row(0, named=True)
    lo, hi = proportion_confint(0.68 * 600, 600, method="wilson")
    assert row["ci_low"] == pytest.approx(100 * lo) and row["ci_high"] == pytest.approx(100 * hi)
    assert fr.chart().to_dict()["layer"]
    with pytest.raises(MetaevalError, match="no column `cost`"):
        juries.frontier(t, judge="judge", cost="cost", score="agree")


def test_pareto_front_property_on_random_points():
    rng = np.random.default_rng(3)
    for _ in range(20):
        c, s = rng.random(30), rng.random(30)
        mask = juries.pareto_front(c, s)
        for i in range(30):
            dominated = np.any((c <= c[i]) & (s >= s[i]) & ((c < c[i]) | (s > s[i])))
            assert mask[i] == (not dominated)


# ------------------------------------------------------------------ similarity
def test_similarity_matches_the_capa_kernel_pair_by_pair():
    rng = np.random.default_rng(9)
    n, q = 120, 4
    gold = rng.integers(0, q, n)
    answers = {m: np.where(rng.random(n) < p, gold, rng.integers(0, q, n)) for m, p in
               (("x", 0.8), ("y", 0.6), ("z", 0.5))}
    frame = pl.DataFrame([{"item": i, "model": m, "answer": int(a[i]), "gold": int(gold[i])}
                          for m, a in answers.items() for i in range(n)])
    sim = juries.similarity(frame, n_options=q, n_resamples=300, rng=0)
    eye = np.eye(q)
    for a, b in itertools.combinations("xyz", 2):
        want = agreement.capa(eye[answers[a]], eye[answers[b]], gold)
        assert sim.value(a, b) == pytest.approx(want, abs=1e-12)
    row = sim.pairs.row(0, named=True)
    assert row["ci_low"] <= row["capa"] <= row["ci_high"]
    assert sim.wide(["x"], ["y", "z"]).shape == (1, 3)
    judged = juries.similarity(metaeval.simulate.jury(300, cluster_correlation=0.8, clusters=(0, 0, 1, 1, 2),
                                                      rng=0).judgments, "gold", n_resamples=100, rng=0)
    assert judged.value("judge-1", "judge-2") > judged.value("judge-1", "judge-3") + 0.3


def _affinity_data(beta: float, seed: int):
    rng = np.random.default_rng(seed)
    n_items, q = 400, 4
    gold = rng.integers(0, q, n_items)
    models = [f"m{i}" for i in range(10)] + ["judge-a", "judge-b"]
    # two "schools" of wrong answers: models of a school err alike
    school = {m: i % 2 for i, m in enumerate(models)}
    wrong = {s: rng.integers(0, q, n_items) for s in (0, 1)}
    acc = {m: rng.uniform(0.5, 0.8) for m in models}
    rows = []
    for m in models:
        own = np.where(rng.random(n_items) < 0.7, wrong[school[m]], rng.integers(0, q, n_items))
        ans = np.where(rng.random(n_items) < acc[m], gold, own)
        rows += [{"item": i, "model": m, "answer": int(ans[i]), "gold": int(gold[i])} for i in range(n_items)]
    answers = pl.DataFrame(rows)
    sim = juries.similarity(answers, n_options=q, n_resamples=0)
    scores = []
    for judge in ("judge-a", "judge-b"):
        for m in models[:10]:
            for k in range(3):
                scores.append({"item": f"q{k}", "judge": judge, "model": m,
                               "score": 5 * sim.accuracy[m] + beta * sim.value(judge, m) + rng.normal(0, 0.2)})
    return Judgments(pl.DataFrame(scores)), answers


def test_affinity_bias_detects_a_planted_effect_and_matches_pingouin_and_statsmodels():
    import pingouin
    import statsmodels.api as sm

    j, answers = _affinity_data(beta=3.0, seed=0)
    res = juries.affinity_bias(j, answers, n_options=4)
    assert res.table.filter(pl.col("judge") == "all judges (fixed effects)")["affinity"][0]
    d = res.data.filter(pl.col("judge") == "judge-a").to_pandas()
    pg = pingouin.partial_corr(data=d, x="score", y="similarity", covar="accuracy")
    row = res.table.filter(pl.col("judge") == "judge-a").row(0, named=True)
    assert row["estimate"] == pytest.approx(float(pg["r"].iloc[0]), abs=1e-10)
    assert row["pvalue"] == pytest.approx(float(pg["p_val"].iloc[0]), rel=1e-6)
    lo, hi = pg["CI95"].iloc[0]
    assert row["ci_low"] == pytest.approx(lo, abs=0.01) and row["ci_high"] == pytest.approx(hi, abs=0.01)
    # pooled: the t-test of the similarity coefficient in OLS with judge fixed effects
    full = res.data.to_pandas()
    x = np.column_stack([full["similarity"], full["accuracy"], full["judge"] == "judge-b"]).astype(float)
    X = sm.add_constant(x)
    ols = sm.OLS(full["score"].to_numpy(), X).fit()
    pooled = res.table.filter(pl.col("judge") == "all judges (fixed effects)").row(0, named=True)
    assert pooled["pvalue"] == pytest.approx(float(ols.pvalues[1]), rel=1e-6)


def test_affinity_bias_is_quiet_without_an_effect():
    hits = 0
    for seed in range(10):
        j, answers = _affinity_data(beta=0.0, seed=seed)
        res = juries.affinity_bias(j, answers, n_options=4)
        hits += bool(res.table.filter(pl.col("judge") == "all judges (fixed effects)")["affinity"][0])
    assert hits <= 2


# ---------------------------------------------------------------- intra-model
def test_intra_model_bias_flags_planted_self_preference_only():
    planted = metaeval.simulate.pairwise(n_models=4, n_items=200, judges=("judge-atlas", "judge-borealis"),
                                         n_humans=3, self_preference=2.0, rng=3)
    res = juries.intra_model_bias(planted.judgments, "human", n_resamples=300, rng=0)
    assert any(f.startswith("judge-atlas favours") for f in res.flags)
    assert any(f.startswith("judge-borealis favours") for f in res.flags)
    own = res.table.filter(pl.col("own_family"))
    assert (own["score_shift"] > 0).all()
    clean = metaeval.simulate.pairwise(n_models=4, n_items=200, judges=("judge-atlas", "judge-borealis"),
                                       n_humans=3, self_preference=0.0, rng=3)
    res0 = juries.intra_model_bias(clean.judgments, "human", n_resamples=300, rng=0)
    assert not any("favours" in f for f in res0.flags)
    assert "flag:" in res.summary()


# ------------------------------------------------------------------ peer review
def test_peer_review_weights_track_reviewer_quality_and_recover_the_ranking():
    from scipy import optimize
    from scipy.stats import spearmanr

    sim = metaeval.simulate.peer_reviews(n_models=7, n_items=600, pairs_per_reviewer=2, rng=1)
    res = juries.peer_review(sim.judgments, n_resamples=200, rng=0)
    assert res.consistency == pytest.approx(1.0, abs=1e-6)
    t = res.table
    truth = [sim.strengths[m] for m in t["model"]]
    assert spearmanr(t["score"], truth)[0] > 0.85
    assert spearmanr(t["reviewer_weight"], [sim.reviewer_accuracy[m] for m in t["model"]])[0] > 0.85
    assert (t["ci_low"] <= t["score"]).all() and (t["score"] <= t["ci_high"]).all()
    # PiCO's own route — maximise corr(G(w), w) numerically — reaches no higher consistency
    f = sim.judgments.frame
    models = sorted(set(f["model_a"]) | set(f["model_b"]))
    y = metaeval.tables.preference(f)
    wins, counts = np.zeros((7, 7)), np.zeros((7, 7))
    for (a, b, r), p in zip(f.select("model_a", "model_b", "judge").iter_rows(), y, strict=True):
        ia, ib, ir = models.index(a), models.index(b), models.index(r)
        wins[ia, ir] += p
        wins[ib, ir] += 1 - p
        counts[ia, ir] += 1
        counts[ib, ir] += 1

    def neg_corr(z: np.ndarray) -> float:
        w = 1 / (1 + np.exp(-z))
        g = (wins @ w) / (counts @ w)
        return -float(np.corrcoef(w, g)[0, 1])

    best = min(optimize.minimize(neg_corr, np.random.default_rng(s).normal(size=7), method="Nelder-Mead",
                                 options={"maxiter": 4000}).fun for s in range(3))
    assert res.consistency >= -best - 1e-6


def test_peer_review_elimination_and_errors():
    sim = metaeval.simulate.peer_reviews(n_models=6, n_items=300, rng=2)
    res = juries.peer_review(sim.judgments, eliminate=2, n_resamples=0)
    assert len(res.eliminated) == 2
    worst = sorted(sim.reviewer_accuracy, key=sim.reviewer_accuracy.get)[:2]
    assert set(res.eliminated) & set(worst)
    with pytest.raises(MetaevalError, match="`eliminate` can drop at most 3"):
        juries.peer_review(sim.judgments, eliminate=4)
    with pytest.raises(InsufficientDataError, match="no judge is also a model"):
        juries.peer_review(metaeval.simulate.jury(50, rng=0).judgments)


# ------------------------------------------------------------------------- CLI
def test_cli_select_judge(tmp_path):
    sim = metaeval.simulate.jury(600, accuracies=(0.8, 0.7, 0.7, 0.6), costs=(4.0, 1.0, 1.0, 0.5), rng=0)
    path = tmp_path / "j.parquet"
    sim.judgments.frame.write_parquet(path)
    runner = CliRunner()
    out = runner.invoke(cli, ["select-judge", str(path), "--reference", "gold", "--budget", "3", "--seed", "0",
                              "--n-resamples", "200"])
    assert out.exit_code == 0, out.output
    assert "recommended:" in out.output and "(budget 3)" in out.output
    out = runner.invoke(cli, ["select-judge", str(path), "--reference", "gold", "--json", "--seed", "0",
                              "--n-resamples", "100"])
    data = json.loads(out.output)
    assert data["recommended"] and data["test"]["single"] == "judge-1" and data["rows"]
    bad = runner.invoke(cli, ["select-judge", str(path), "--reference", "gold", "--metric", "f1"])
    assert bad.exit_code == 2 and "`metric` must be one of" in bad.output


def test_same_seed_same_numbers():
    j = metaeval.simulate.jury(300, rng=0).judgments
    a = juries.select(j, "gold", n_resamples=100, rng=11)
    b = juries.select(j, "gold", n_resamples=100, rng=11)
    assert a.panels.table.equals(b.panels.table)


def test_verdicts_keep_every_unit_sorted_by_item():
    j = metaeval.simulate.jury(50, rng=0).judgments
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = verdicts(j, "gold")
    assert v.n_units == 50 and np.all(np.diff(v.item_codes) >= 0) and v.values.shape == (50, 5)


def test_single_judge_scores_equal_metaeval_agreement():
    sim = metaeval.simulate.jury(500, accuracies=(0.8, 0.7), rng=4)
    res = juries.evaluate_panels(sim.judgments, "gold", n_resamples=0)
    for judge in ("judge-1", "judge-2"):
        row = res.table.filter(pl.col("panel") == judge).row(0, named=True)
        kappa = agreement.cohen_kappa(sim.judgments, judge, "gold", ci="none").estimate
        alpha = agreement.krippendorff_alpha(sim.judgments, "nominal", judges=[judge, "gold"], ci="none").estimate
        pct = agreement.percent_agreement(sim.judgments, judges=[judge, "gold"], ci="none").estimate
        assert row["cohen_kappa"] == pytest.approx(kappa, abs=1e-12)
        assert row["krippendorff_alpha"] == pytest.approx(alpha, abs=1e-12)
        assert row["accuracy"] == pytest.approx(pct, abs=1e-12)


def test_a_pool_of_one_judge_is_scored_alone():
    sim = metaeval.simulate.jury(200, accuracies=(0.8, 0.7), rng=0)
    res = juries.evaluate_panels(sim.judgments, "gold", judges=["judge-1"], n_resamples=50, rng=0)
    assert res.table.height == 1 and res.similarity.height == 0


def test_select_forms_panels_from_the_judges_that_rated_the_same_items():
    sim = metaeval.simulate.jury(n_items=300, accuracies=(0.8, 0.7, 0.7), rng=3)
    f = sim.judgments.frame
    other = f.filter(pl.col("judge") == "judge-1").with_columns(
        (pl.col("item") + "-other").alias("item"), pl.lit("judge-elsewhere").alias("judge"))
    gold_other = f.filter(pl.col("judge") == "gold").with_columns((pl.col("item") + "-other").alias("item"))
    table = metaeval.Judgments(pl.concat([f, other, gold_other], how="diagonal_relaxed"))
    sel = juries.select(table, "gold", n_resamples=100, rng=0)
    assert not any("judge-elsewhere" in p for p in sel.panels.table["panel"].to_list())
    assert any("judge-elsewhere judged other items and is left out" in n for n in sel.notes)
    # naming the judges keeps them: then the panels have no common unit and that is an error that says so
    with pytest.raises(metaeval.InsufficientDataError, match="fewer than two units"):
        juries.select(table, "gold", judges=["judge-1", "judge-elsewhere"], n_resamples=100, rng=0)


def _rounded_pointwise(rng):
    sim = metaeval.simulate.pointwise(n_models=4, n_items=80, judges=("judge-atlas", "judge-borealis"), n_humans=1,
                                      self_preference=1.5, rng=rng)
    return metaeval.Judgments(sim.judgments.frame.with_columns(pl.col("score").round()))


@pytest.mark.parametrize("kind", ["pairwise", "pointwise"])
@pytest.mark.parametrize("level", [0.95, 0.8])
def test_intra_model_bias_both_entry_points_report_one_score_shift(kind, level):
    """`juries.intra_model_bias` reports `bias.intra_model_bias`'s score shift, number for number, beside its own
    accuracy gap: there is one statistic under the name."""
    if kind == "pairwise":
        j = metaeval.simulate.pairwise(n_models=4, n_items=120, judges=("judge-atlas", "judge-borealis"), n_humans=3,
                                       self_preference=1.0, rng=5).judgments
    else:
        j = _rounded_pointwise(2)
    fam = {"judge-atlas": "a", "atlas-1": "a", "judge-borealis": "b", "borealis-1": "b"}
    for families in (None, fam):
        jury = juries.intra_model_bias(j, "human", families=families, n_resamples=50, confidence_level=level, rng=0)
        probe = bias.intra_model_bias(j, "human", families=families, confidence_level=level)
        both = jury.table.join(probe.table, on=["judge", "model"], how="full", coalesce=True)
        assert both.height == jury.table.height == probe.table.height == 8
        for mine, theirs in (("score_shift", "estimate"), ("shift_ci_low", "ci_low"), ("shift_ci_high", "ci_high"),
                             ("shift_pvalue", "pvalue")):
            np.testing.assert_array_equal(both[mine].to_numpy(), both[theirs].to_numpy())
        assert both["score_shift"].is_finite().all() and (both["shift_ci_low"] < both["shift_ci_high"]).all()
        if families is not None:  # with one family map both say which rows are the judge's own family (the probe
            # leaves a model of no family null, the jury counts it as not the judge's own)
            assert both["own_family"].to_list() == both["own_family_right"].fill_null(False).to_list()
            assert both["own_family"].sum() == 2


def test_intra_model_bias_accuracy_gap_is_a_plain_count():
    """The part `juries.intra_model_bias` adds: accuracy on a model's outputs against the others', recounted by hand
    (one human reference, so a unit's reference verdict is that human's)."""
    j = _rounded_pointwise(4)
    res = juries.intra_model_bias(j, "human", n_resamples=0)
    f = j.frame
    ref = f.filter(pl.col("judge").str.starts_with("human")).select("item", "model", pl.col("score").alias("ref"))
    for judge in ("judge-atlas", "judge-borealis"):
        mine = f.filter(pl.col("judge") == judge).join(ref, on=["item", "model"])
        right = mine.with_columns((pl.col("score") == pl.col("ref")).alias("ok"))
        for model in ("atlas-1", "borealis-1"):
            row = res.table.filter(pl.col("judge") == judge, pl.col("model") == model).row(0, named=True)
            on = right.filter(pl.col("model") == model)["ok"]
            off = right.filter(pl.col("model") != model)["ok"]
            assert row["n_units"] == len(on)
            assert row["accuracy"] == pytest.approx(on.mean()) and row["accuracy_others"] == pytest.approx(off.mean())
            assert np.isnan(row["gap_ci_low"])  # no resamples, no interval
