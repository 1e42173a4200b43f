"""Paired-comparison rankers: shared cases, published values, choix, Chatbot Arena parity, recovery."""

from __future__ import annotations

import importlib.util
import warnings

import choix
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import check_grad

import metaeval
from metaeval import Judgments, PairwiseCounts
from metaeval.errors import (
    DisconnectedComparisonWarning,
    EstimationWarning,
    InsufficientDataError,
    MetaevalError,
)
from metaeval.rankers.bradley_terry import bt_mm_counts, bt_newton_batch, bt_newton_counts
from metaeval.rankers.covariates import bt_covariates_battles
from metaeval.rankers.plackett_luce import plackett_luce_rankings, rank_centrality_counts
from metaeval.rankers.ties import davidson_counts, rao_kupper_counts

from .cases.paired import AGRESTI, CASES
from .conftest import ROOT

COUNT_METHODS = ("bradley_terry", "davidson", "rao_kupper", "rank_centrality")


def arena():
    spec = importlib.util.spec_from_file_location("arena_method", ROOT / "benchmarks" / "arena_method.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def battles_of(judgments):
    """Model indices of each side, a-won indicator and the ±1 design matrix of a pairwise table."""
    f = judgments.frame
    idx = {m: i for i, m in enumerate(judgments.models)}
    a = np.array([idx[m] for m in f["model_a"]])
    b = np.array([idx[m] for m in f["model_b"]])
    y = (f["outcome"] == "a").to_numpy().astype(float)
    X = np.zeros((len(y), len(idx)))
    X[np.arange(len(y)), a] = 1
    X[np.arange(len(y)), b] = -1
    return a, b, y, X


def counts_of(case):
    return PairwiseCounts(case.models, case.wins, case.ties)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("method", COUNT_METHODS)
def test_every_ranker_on_every_shared_case(case, method):
    pc = counts_of(case)
    if not case.connected:
        if method == "rank_centrality":
            with pytest.warns(DisconnectedComparisonWarning):
                metaeval.rank(pc, method, ci="none")
            return
        with pytest.raises(InsufficientDataError, match="not strongly connected"):
            metaeval.rank(pc, method, ci="none")
        with pytest.warns(DisconnectedComparisonWarning):
            r = metaeval.rank(pc, method, ci="none", prior=0.5)
        assert np.all(np.isfinite(r.rating))
        return
    if case.name == "ties_only" and method in ("davidson", "rao_kupper"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = metaeval.rank(pc, method, ci="none")
    else:
        r = metaeval.rank(pc, method, ci="none")
    if case.all_equal:
        np.testing.assert_allclose(r.rating, 0.0, atol=1e-5)
    if case.order is not None and (case.order_methods is None or method in case.order_methods):
        assert tuple(r.to_polars()["model"]) == case.order
    elif case.order is not None:
        got = tuple(r.to_polars()["model"])
        assert got[0] == case.order[0] and got[-1] == case.order[-1]


def test_agresti_published_estimates():
    theta, _ = bt_newton_counts(AGRESTI.wins)
    rel = theta - theta[-1]
    expected = np.array([AGRESTI.reference_logit[m] for m in AGRESTI.models])
    np.testing.assert_allclose(np.round(rel, 2), expected, atol=1e-12)
    mm, _ = bt_mm_counts(AGRESTI.wins)
    np.testing.assert_allclose(mm, theta, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(st.integers(3, 8), st.integers(0, 10_000))
def test_newton_matches_choix(m, seed):
    rng = np.random.default_rng(seed)
    wins = rng.integers(1, 15, (m, m)).astype(float)
    np.fill_diagonal(wins, 0)
    ours, _ = bt_newton_counts(wins)
    theirs = choix.ilsr_pairwise_dense(wins, tol=1e-12)
    np.testing.assert_allclose(ours, theirs - theirs.mean(), atol=1e-6)
    ours_rc = rank_centrality_counts(wins)
    comps = [(i, j) for i in range(m) for j in range(m) for _ in range(int(wins[i, j]))]
    theirs_rc = choix.rank_centrality(m, comps)
    np.testing.assert_allclose(ours_rc, theirs_rc - theirs_rc.mean(), atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(st.integers(3, 7), st.integers(0, 10_000))
def test_plackett_luce_matches_choix(m, seed):
    rng = np.random.default_rng(seed)
    data = [list(rng.permutation(m)) for _ in range(40)]
    theirs = choix.ilsr_rankings(m, data, tol=1e-12)
    ours, _ = plackett_luce_rankings([[[x] for x in r] for r in data], m)
    np.testing.assert_allclose(ours, theirs - theirs.mean(), atol=1e-6)


def test_plackett_luce_on_pairs_is_bradley_terry():
    rankings = [[[i], [j]] for i in range(7) for j in range(7) for _ in range(int(AGRESTI.wins[i, j]))]
    pl_theta, _ = plackett_luce_rankings(rankings, 7)
    bt_theta, _ = bt_newton_counts(AGRESTI.wins)
    np.testing.assert_allclose(pl_theta, bt_theta, atol=1e-7)


def test_tie_model_gradients_are_exact():
    from metaeval.rankers import ties as tie_module

    wins = np.array([[0, 6, 5], [2, 0, 4], [3, 2, 0]], float)
    tmat = np.array([[0, 2, 1], [2, 0, 3], [1, 3, 0]], float)
    captured = {}

    def grab(fun, x0, what):
        captured[what] = fun
        return tie_module.minimize(fun, x0, jac=True, method="L-BFGS-B").x

    orig = tie_module._fit
    tie_module._fit = grab
    try:
        davidson_counts(wins, tmat)
        rao_kupper_counts(wins, tmat)
    finally:
        tie_module._fit = orig
    rng = np.random.default_rng(0)
    for fun in captured.values():
        x = rng.normal(0, 0.5, 4)
        assert check_grad(lambda v, f=fun: f(v)[0], lambda v, f=fun: f(v)[1], x) < 1e-5


def test_rao_kupper_recovers_the_simulators_tie_threshold():
    sim = metaeval.simulate.pairwise(n_models=5, n_items=3000, judges=("judge-x",), judge_noise=0.0,
                                     tie_threshold=0.6, rng=0)
    r = metaeval.rank(sim.judgments, "rao_kupper", ci="none")
    assert r.tie_parameter == pytest.approx(0.6, abs=0.05)
    truth = np.array([sim.truth.strengths[m] for m in r.models])
    np.testing.assert_allclose(r.rating, truth - truth.mean(), atol=0.1)


def test_davidson_is_the_auto_choice_with_ties():
    sim = metaeval.simulate.pairwise(n_models=4, n_items=200, tie_threshold=0.4, rng=1)
    assert metaeval.rank(sim.judgments, ci="none").method == "davidson"
    no_ties = metaeval.simulate.pairwise(n_models=4, n_items=200, rng=1)
    assert metaeval.rank(no_ties.judgments, ci="none").method == "bradley_terry"


def test_chatbot_arena_parity():
    # Chatbot Arena: BT on battles with a tie as 1/2, Elo scale, one model anchored; ours must agree.
    sim = metaeval.simulate.pairwise(n_models=8, n_items=1500, pairs_per_item=6, tie_threshold=0.3, rng=4)
    f = sim.judgments.frame
    models = sim.judgments.models
    idx = {m: i for i, m in enumerate(models)}
    a = np.array([idx[m] for m in f["model_a"]])
    b = np.array([idx[m] for m in f["model_b"]])
    code = np.select([f["outcome"].to_numpy() == "a", f["outcome"].to_numpy() == "b"], [2, 0], 1)
    ar = arena()
    matchups, outcomes, weights = ar.preprocess(a, b, code, len(models))
    theirs = ar.scale_and_offset(ar.fit(matchups, outcomes, weights, len(models), tol=1e-12, ftol=1e-15), baseline=3)
    ours = metaeval.rank(sim.judgments, "bradley_terry", ci="none", scale="elo", anchor=models[3],
                         anchor_value=1114.0)
    np.testing.assert_allclose(ours.rating, theirs, atol=1e-4)


def test_bootstrap_batch_equals_one_by_one():
    rng = np.random.default_rng(3)
    wins = rng.integers(1, 30, (5, 5)).astype(float)
    np.fill_diagonal(wins, 0)
    theta, _ = bt_newton_counts(wins)
    stack = rng.poisson(wins[None], (6, 5, 5)).astype(float) + np.eye(5)[None] * 0
    for k in range(6):
        np.fill_diagonal(stack[k], 0)
    batch, ok = bt_newton_batch(stack, init=theta)
    assert ok.all()
    for k in range(6):
        np.testing.assert_allclose(batch[k], bt_newton_counts(stack[k])[0], atol=1e-8)


def test_rank_result_fields_and_forms():
    sim = metaeval.simulate.pairwise(n_models=5, n_items=150, rng=5)
    r = metaeval.rank(sim.judgments, "bradley_terry", n_resamples=300, rng=1)
    t = r.to_polars()
    assert t.columns == ["model", "rating", "ci_low", "ci_high", "rank", "rank_low", "rank_high", "p_best",
                         "arena_rank", "tie_group", "n"]
    assert np.all(r.ci_low <= r.rating) and np.all(r.rating <= r.ci_high)
    assert np.all(r.rank_low <= r.rank) and np.all(r.rank <= r.rank_high)
    assert r.p_best.sum() == pytest.approx(1.0)
    assert t["arena_rank"][0] == 1
    assert r.run_info.seed == 1 and r.run_info.fingerprint == sim.judgments.fingerprint
    again = metaeval.rank(sim.judgments, "bradley_terry", n_resamples=300, rng=1)
    np.testing.assert_array_equal(again.ci_low, r.ci_low)
    assert "\\toprule" in r.to_latex() and "rank_low" in r.to_markdown()
    chart = r.chart().to_dict()
    assert "hconcat" in chart


def test_scales_and_anchor():
    sim = metaeval.simulate.pairwise(n_models=4, n_items=100, rng=6)
    logit = metaeval.rank(sim.judgments, "bradley_terry", ci="none")
    elo = metaeval.rank(sim.judgments, "bradley_terry", ci="none", scale="elo")
    np.testing.assert_allclose(elo.rating - 1000, logit.rating * 400 / np.log(10))
    anchored = metaeval.rank(sim.judgments, "bradley_terry", ci="sandwich", scale="elo", anchor="atlas-1",
                             anchor_value=1114, rng=0)
    assert anchored.rating[anchored.models.index("atlas-1")] == pytest.approx(1114)
    k = anchored.models.index("atlas-1")
    assert anchored.ci_high[k] - anchored.ci_low[k] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(MetaevalError, match="`anchor` 'nope' is not among the models"):
        metaeval.rank(sim.judgments, "bradley_terry", anchor="nope")


def test_sandwich_agrees_with_bootstrap():
    sim = metaeval.simulate.pairwise(n_models=5, n_items=400, rng=7)
    boot = metaeval.rank(sim.judgments, "bradley_terry", n_resamples=1000, cluster="item", rng=1)
    sand = metaeval.rank(sim.judgments, "bradley_terry", ci="sandwich", cluster="item", rng=1)
    np.testing.assert_allclose(sand.ci_high - sand.ci_low, boot.ci_high - boot.ci_low, rtol=0.15)


def test_sandwich_without_clusters_matches_statsmodels_robust_logit():
    import statsmodels.api as sm

    sim = metaeval.simulate.pairwise(n_models=4, n_items=300, rng=8)
    _, _, y, X = battles_of(sim.judgments)
    res = sm.Logit(y, X[:, 1:]).fit(disp=0, cov_type="HC0")  # model 0 pinned at 0
    r = metaeval.rank(sim.judgments, "bradley_terry", ci="sandwich", rng=0, confidence_level=0.95)
    # Differences to the pinned model have the same standard errors in both parameterisations.
    cov = metaeval.rankers.bradley_terry.sandwich_cov(metaeval.rankers.bradley_terry.code_battles(sim.judgments, None),
                                         r.rating, "half", 0.0)
    d = np.array([cov[k, k] + cov[0, 0] - 2 * cov[0, k] for k in range(1, 4)])
    np.testing.assert_allclose(np.sqrt(d), res.bse, rtol=1e-6)


def test_elo_depends_on_order_and_is_reported():
    sim = metaeval.simulate.pairwise(n_models=4, n_items=200, rng=9)
    r = metaeval.rank(sim.judgments, "elo", n_resamples=20, n_permutations=10, rng=0, k=16)
    assert r.order_spread is not None and r.order_spread > 0
    assert "spread over battle orders" in r.summary()


@pytest.mark.parametrize("n", [1, 7, 40, 2001])
def test_resample_indices_draw_what_a_loop_over_resamples_draws(n):
    # the rankers' bootstraps (Elo, Plackett-Luce, the game rankers, robustness) once drew
    # `gen.integers(0, n, n)` per resample; the core's blocks draw the same stream, whatever the block
    from metaeval.stats.resampling import resample_indices

    loop, core = np.random.default_rng(3), np.random.default_rng(3)
    for block in (1, 4, 11, 500):  # one generator through all four: each call leaves it where the loop does
        expected = np.stack([loop.integers(0, n, n) for _ in range(11)])
        got = np.concatenate([idx for _, idx in resample_indices(n, 11, core, block=block)])
        np.testing.assert_array_equal(got, expected)
    assert core.random() == loop.random()


@pytest.mark.parametrize("cluster", ["item", None])
def test_elo_bootstrap_replays_the_drawn_units_in_draw_order(cluster):
    from metaeval.rankers.api import _bootstrap_elo
    from metaeval.rankers.bradley_terry import code_battles
    from metaeval.rankers.elo import elo_battles
    from metaeval.rankers.ranking import ELO_SCALE

    sim = metaeval.simulate.pairwise(n_models=4, n_items=30, tie_threshold=0.5, rng=2)
    b = code_battles(sim.judgments, cluster)
    draws, ok = _bootstrap_elo(b, "drop", 8.0, 6, np.random.default_rng(5))
    keep = b.oc != 2
    ia, ib, score = b.ia[keep], b.ib[keep], b.score[keep]
    gen = np.random.default_rng(5)
    for r in range(6):
        if cluster is None:
            idx = gen.integers(0, len(ia), len(ia))
        else:
            codes = b.cluster[keep]
            idx = np.concatenate([np.flatnonzero(codes == c) for c in gen.integers(0, b.n_clusters, b.n_clusters)])
        e = elo_battles(ia[idx], ib[idx], score[idx], 4, k=8.0)
        np.testing.assert_array_equal(draws[r], (e - e.mean()) / ELO_SCALE)
    assert ok.all()


def test_degenerate_resamples_are_counted():
    # One model barely loses: some resamples see it winning everything.
    wins = np.array([[0, 12, 12], [1, 0, 6], [0, 6, 0]], float)
    pc = PairwiseCounts(("a", "b", "c"), wins)
    with pytest.warns(EstimationWarning, match="resamples had no maximum-likelihood estimate"):
        r = metaeval.rank(pc, "bradley_terry", n_resamples=300, rng=0)
    assert 0 < r.n_degenerate < 300
    assert np.all(np.isfinite(r.ci_high))


def test_plackett_luce_from_scores():
    sim = metaeval.simulate.pointwise(n_models=5, n_items=150, n_humans=0, judges=("judge-x",), rng=2)
    with pytest.raises(InsufficientDataError, match="Plackett–Luce strengths do not exist"):
        metaeval.rank(sim.judgments, ci="none")  # the best model is never ranked below another
    r = metaeval.rank(sim.judgments, n_resamples=50, prior=0.1, rng=3)
    assert r.method == "plackett_luce"
    assert tuple(r.to_polars()["model"]) == sim.truth.ranking


def test_bt_covariates_matches_statsmodels_and_recovers_position_bias():
    import statsmodels.api as sm

    sim = metaeval.simulate.pairwise(n_models=5, n_items=400, judges=("judge-x",), judge_noise=0.0,
                                     position_bias=0.7, both_orders=True, rng=3)
    a, b, y, X = battles_of(sim.judgments)
    x = np.where(sim.judgments.frame["shown_first"].to_numpy() == "a", 1.0, -1.0)[:, None]
    fit = bt_covariates_battles(a, b, y, x, 5)
    ref = sm.Logit(y, np.column_stack([X[:, :4], x])).fit(disp=0)
    assert fit.beta[0] == pytest.approx(ref.params[-1], abs=1e-8)
    assert np.sqrt(fit.cov[-1, -1]) == pytest.approx(ref.bse[-1], rel=1e-6)
    assert abs(fit.beta[0] - 0.7) < 3 * ref.bse[-1]


def test_bad_input():
    sim = metaeval.simulate.pairwise(n_models=3, n_items=20, rng=0)
    with pytest.raises(MetaevalError, match="`method` must be one of"):
        metaeval.rank(sim.judgments, "trueskill")
    with pytest.raises(MetaevalError, match="`ci` must be"):
        metaeval.rank(sim.judgments, ci="jackknife")
    with pytest.raises(MetaevalError, match="needs a pointwise table"):
        metaeval.rank(sim.judgments, "plackett_luce")
    with pytest.raises(MetaevalError, match="sandwich"):
        metaeval.rank(sim.judgments, "davidson", ci="sandwich")
    with pytest.raises(MetaevalError, match="cannot cluster on `user`"):
        metaeval.rank(sim.judgments, "bradley_terry", cluster="user")
    with pytest.raises(MetaevalError, match=r"rank\(\): `prior` must be a float >= 0; got -1"):
        metaeval.rank(sim.judgments, prior=-1)


def test_model_that_never_loses_in_a_table():
    j = Judgments({"item": [f"q{i}" for i in range(6)], "judge": ["j"] * 6,
                   "model_a": ["champ", "champ", "champ", "b", "c", "b"], "model_b": ["b", "c", "b", "c", "b", "c"],
                   "outcome": ["a", "a", "a", "a", "a", "b"]})
    with pytest.raises(InsufficientDataError, match=r"not strongly connected \(2 components"):
        metaeval.rank(j, "bradley_terry")


@pytest.mark.slow
def test_bootstrap_intervals_cover_the_planted_strengths():
    strengths = {"a": 1.0, "b": 0.5, "c": 0.0, "d": -0.3, "e": -1.2}
    truth = np.array(list(strengths.values()))
    truth = truth - truth.mean()
    hits = []
    for seed in range(120):
        sim = metaeval.simulate.pairwise(strengths=strengths, n_items=150, judges=("judge-q",), judge_noise=0.0,
                                         pairs_per_item=4, rng=500 + seed)
        r = metaeval.rank(sim.judgments, "bradley_terry", n_resamples=300, rng=seed)
        order = [r.models.index(m) for m in strengths]
        hits.append((r.ci_low[order] <= truth) & (truth <= r.ci_high[order]))
    coverage = float(np.mean(hits))
    assert 0.90 <= coverage <= 0.99, coverage


def test_alpaca_eval_ranking_runs_on_real_data():
    from .conftest import shared

    path = shared("alpaca-eval", "annotations_compact.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j = metaeval.read(path).filter(pl.col("judge") == "alpaca_eval_gpt4")
        r = metaeval.rank(j, "bradley_terry", n_resamples=100, rng=0)
    assert len(r.models) > 10 and np.all(np.isfinite(r.rating))


def test_the_meat_from_a_sparse_and_a_dense_block_is_the_dense_meat():
    """score_meat (the out-of-core sandwiches' kernel, sparse model scores beside dense covariate
    scores) equals GᵀG of the stacked scores, and cluster_meat's triplets give the same meat."""
    from scipy import sparse

    from metaeval.rankers.bradley_terry import cluster_meat, score_meat

    g = np.random.default_rng(4)
    n_clusters, m, p, n = 40, 6, 2, 300
    cl, ia = g.integers(0, n_clusters, n), g.integers(0, m, n)
    ib = (ia + g.integers(1, m, n)) % m
    r, x = g.normal(size=n), g.normal(size=(n, p))
    U = sparse.csr_matrix((np.concatenate([r, -r]), (np.concatenate([cl, cl]), np.concatenate([ia, ib]))),
                          shape=(n_clusters, m))
    V = np.zeros((n_clusters, p))
    np.add.at(V, cl, x * r[:, None])
    G = np.hstack([U.toarray(), V])
    np.testing.assert_allclose(score_meat(U, V), G.T @ G, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(score_meat(U), score_meat(U, np.zeros((n_clusters, 0))))
    triplets = cluster_meat(np.concatenate([cl, cl, np.repeat(cl, p)]),
                            np.concatenate([ia, ib, np.tile(np.arange(m, m + p), n)]),
                            np.concatenate([r, -r, (x * r[:, None]).ravel()]), n_clusters, m + p, small_sample=False)
    np.testing.assert_allclose(triplets, G.T @ G, rtol=1e-12, atol=1e-12)
