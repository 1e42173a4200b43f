"""Game-theoretic rankers: reference games, OpenSpiel / polarix / pref_voting numbers, clone
invariance on random games, and the ranking API around them."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metaeval
from metaeval import ScoreMatrix
from metaeval.errors import EstimationWarning, InsufficientDataError, MetaevalError
from metaeval.rankers import GAME_METHODS, RULES, apply_rule, compare_rules, rank
from metaeval.rankers import games as g

RPS = np.array([[0.0, -1, 1], [1, 0, -1], [-1, 1, 0]])
TRANSITIVE = np.array([[0.0, 1, 2], [-1, 0, 1], [-2, -1, 0]])


POLARIX_MODEL_MARGINAL = [4.9201438398e-01, 1.5679076914e-06, 5.0798404811e-01]
POLARIX_MODEL_RATINGS = [2.0006241139e-06, -7.7018654855e-01, -1.0612472770e-01]
POLARIX_PROMPT_RATINGS = [2.9999999986e-06, -9.6783482917e-02, -6.1498155386e-02, -1.1044295914e-01]


# ------------------------------------------------------------------ reference games
def test_rock_paper_scissors_is_uniform_with_zero_ratings():
    na = g.nash_averaging(RPS)
    assert na.mass == pytest.approx([1 / 3] * 3, abs=1e-12)
    assert na.rating == pytest.approx([0, 0, 0], abs=1e-12)
    assert g.maximal_lottery(RPS) == pytest.approx([1 / 3] * 3, abs=1e-12)
    win = (RPS + 1) / 2  # win probabilities, ½ on the diagonal
    for alpha in (0.1, 10.0, 1e4, np.inf):
        assert g.alpha_rank(win, intensity=alpha).pi == pytest.approx([1 / 3] * 3, abs=1e-12)
    cce = g.max_entropy_cce(np.stack([RPS, -RPS]), eps=1e-8)
    assert cce.marginals[0] == pytest.approx([1 / 3] * 3, abs=1e-6)
    assert cce.joint == pytest.approx(np.full((3, 3), 1 / 9), abs=1e-6)


def test_transitive_game_puts_all_mass_on_the_dominant_model():
    na = g.nash_averaging(TRANSITIVE)
    assert na.mass == pytest.approx([1, 0, 0], abs=1e-12)
    assert na.rating == pytest.approx([0, -1, -2], abs=1e-12)  # payoff against the dominant model
    assert g.maximal_lottery(TRANSITIVE) == pytest.approx([1, 0, 0], abs=1e-12)
    win = 1 / (1 + np.exp(-TRANSITIVE))
    assert g.alpha_rank(win, intensity=np.inf).pi == pytest.approx([1, 0, 0], abs=1e-9)
    assert g.alpha_rank(win, intensity=100).pi[0] > 0.999


def test_games_with_a_dominant_strategy_solve_exactly():
    A = np.array([[3.0, 1, 2], [2, 0, 1], [1, 0, 0]])  # row 0 dominates, column 1 is the minimiser's best
    sol = g.zero_sum_max_entropy(A)
    assert sol.row == pytest.approx([1, 0, 0]) and sol.col == pytest.approx([0, 1, 0])
    assert sol.value == pytest.approx(1.0) and sol.gap == pytest.approx(0, abs=1e-12)
    S = np.array([[0.9, 0.8, 0.95], [0.5, 0.1, 0.3], [0.2, 0.6, 0.4]])  # model 0 best everywhere
    tasks = g.nash_averaging_tasks(S)
    assert tasks.mass == pytest.approx([1, 0, 0])
    assert np.argmax(tasks.rating) == 0


def test_maximum_entropy_can_sit_on_a_constraint():
    # Optimal strategies: (a, b, 0) with a >= 2b. Entropy alone wants a = b; the constraint a = 2b binds.
    M = np.array([[0.0, 0, 1], [0, 0, -2], [-1, 2, 0]])
    sol = g.zero_sum_max_entropy(M)
    assert sol.row == pytest.approx([2 / 3, 1 / 3, 0], abs=1e-12) and sol.gap == pytest.approx(0, abs=1e-12)


def test_nash_averaging_matches_openspiel():
    # OpenSpiel 2.0.2 open_spiel/python/algorithms/nash_averaging.py (cvxpy), run on these matrices.
    X = np.array([[0, 1.2, -0.4, 0.9], [-1.2, 0, 0.7, -0.3], [0.4, -0.7, 0, 0.5], [-0.9, 0.3, -0.5, 0]])
    na = g.nash_averaging(X)
    assert na.mass == pytest.approx([7 / 23, 4 / 23, 12 / 23, 0], abs=1e-8)
    assert na.rating == pytest.approx([0, 0, 0, -4.8260869435e-01], abs=1e-8)
    S = np.array([[0.9, 0.2, 0.5], [0.4, 0.8, 0.3], [0.6, 0.5, 0.7], [0.1, 0.3, 0.2]])
    avt = g.nash_averaging_tasks(S)
    assert avt.mass == pytest.approx([0.2, 0.4, 0.4, 0], abs=1e-7)
    assert avt.task_mass == pytest.approx([0.5647058813, 0.3764705881, 0.0588235296], abs=1e-7)
    assert avt.rating == pytest.approx([0.6, 0.6, 0.6, 0.062745098], abs=1e-7)
    assert avt.task_rating == pytest.approx([-0.6, -0.6, -0.6], abs=1e-7)


def test_alpha_rank_matches_the_openspiel_test_and_runs():
    # OpenSpiel's alpharank_test.test_stationary_distribution (payoffs from Han et al. 2013).
    r, t, p, s, delta, eps = 1.0, 2.0, 0.0, -1.0, 4.0, 0.25
    han = np.array([[r - eps / 2, r - eps, 0, s + delta - eps, r - eps], [r, r, s, s, s], [0, t, p, p, p],
                    [t - delta, t, p, p, p], [r, t, p, p, p]])
    pi = g.alpha_rank(han, m=20, intensity=0.1, local_selection=False).pi
    assert pi == pytest.approx([0.40966787, 0.07959841, 0.20506998, 0.08505983, 0.2206039], abs=1e-4)
    # Values from OpenSpiel 2.0.2's alpharank.compute on this matrix.
    M = np.array([[0.5, 0.7, 0.2, 0.6], [0.3, 0.5, 0.8, 0.4], [0.8, 0.2, 0.5, 0.9], [0.4, 0.6, 0.1, 0.5]])
    assert g.alpha_rank(M, m=50, intensity=5.0).pi == pytest.approx([0.2829139109, 0.2416949012, 0.3807203178,
                                                                 0.0946708701], abs=1e-9)
    assert g.alpha_rank(M, m=50, intensity=5.0, local_selection=False).pi == pytest.approx(
        [0.2699830895, 0.2764267217, 0.3665875964, 0.0870025924], abs=1e-9)
    assert g.alpha_rank(M, intensity=np.inf, eps=1e-6).pi == pytest.approx([0.3, 0.2, 0.4, 0.1], abs=1e-6)
    A = np.array([[0.2, 0.9, 0.4], [0.6, 0.1, 0.8]])
    B = np.array([[0.7, 0.3, 0.5], [0.2, 0.9, 0.4]])
    multi = g.alpha_rank_multipop([A, B], m=10, intensity=2.0)
    assert multi.pi == pytest.approx([0.243777883, 0.2005378392, 0.0777328355, 0.1243492854, 0.2217767137,
                                      0.1318254431], abs=1e-8)
    assert sum(multi.marginals[0]) == pytest.approx(1) and len(multi.marginals[1]) == 3


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 7), st.integers(0, 10_000))
def test_general_and_constant_sum_fixation_agree_on_constant_sum_games(n, seed):
    rng = np.random.default_rng(seed)
    W = rng.uniform(0, 1, (n, n))
    W = np.triu(W, 1) + np.tril(1 - W.T, -1)
    np.fill_diagonal(W, 0.5)
    closed = g.alpha_rank(W, intensity=3.0, m=20, local_selection=False).pi  # detects constant sum
    general = g.alpha_rank(W, intensity=3.0, m=20, local_selection=False, constant_sum=False).pi
    assert general == pytest.approx(closed, abs=1e-10)


def test_alpha_rank_neither_overflows_nor_breaks_at_large_alpha():
    rng = np.random.default_rng(3)
    M = rng.uniform(size=(30, 30))
    for alpha in (1e3, 1e6, 1e9):
        for local in (True, False):
            pi = g.alpha_rank(M, intensity=alpha, m=50, local_selection=local).pi
            assert np.all(np.isfinite(pi)) and pi.sum() == pytest.approx(1)
    # at very large alpha the finite model reaches the infinite-alpha limit (no neutral moves here)
    assert g.alpha_rank(M, intensity=1e9).pi == pytest.approx(g.alpha_rank(M, intensity=np.inf).pi, abs=1e-6)


def test_stationary_distribution_is_the_eigenvector_and_refuses_two_closed_classes():
    rng = np.random.default_rng(0)
    P = rng.uniform(size=(6, 6))
    np.fill_diagonal(P, 0)
    P /= P.sum(1, keepdims=True) * 1.5
    np.fill_diagonal(P, 1 - P.sum(1))
    vals, vecs = np.linalg.eig(P.T)
    ref = np.real(vecs[:, np.argmin(np.abs(vals - 1))])
    with np.errstate(divide="ignore"):
        assert g.stationary_distribution(np.log(P)) == pytest.approx(ref / ref.sum(), abs=1e-12)
        # two absorbing states: no unique answer, and the error says why
        Q = np.array([[0, 0, 0], [0.5, 0, 0.5], [0, 0, 0.0]])
        with pytest.raises(InsufficientDataError, match="2 closed classes"):
            g.stationary_distribution(np.log(Q))
        # one closed class with transient states is fine
        R = np.array([[0, 1, 0], [0, 0, 0.3], [0, 0.6, 0.0]])
        assert g.stationary_distribution(np.log(R)) == pytest.approx([0, 2 / 3, 1 / 3], abs=1e-12)


def test_alpha_sweep_suggests_the_start_of_the_plateau():
    W = 1 / (1 + np.exp(-TRANSITIVE))
    alphas, pis, suggested = g.alpha_sweep(W)
    assert pis.shape == (alphas.size, 3)
    assert pis[0] == pytest.approx([1 / 3] * 3, abs=0.01)  # tiny alpha: mutation noise, near uniform
    k = int(np.searchsorted(alphas, suggested))
    assert np.max(np.abs(pis[k:] - pis[-1])) <= 1e-3 and np.max(np.abs(pis[k - 1] - pis[-1])) > 1e-3


def test_maximal_lottery_matches_pref_voting():
    pv = pytest.importorskip("pref_voting.profiles")
    from pref_voting.probabilistic_methods import maximal_lottery as theirs

    rng = np.random.default_rng(0)
    for _ in range(30):
        c = int(rng.integers(3, 6))
        orders = [list(map(int, rng.permutation(c))) for _ in range(int(rng.integers(1, 5)) * 2 + 1)]  # odd: unique
        lottery = theirs(pv.Profile(orders))
        res = apply_rule("maximal_lottery", metaeval.Profile.from_orders([[f"c{i}" for i in o] for o in orders]))
        ours = dict(zip(res.candidates, res.scores, strict=True))
        assert all(ours[f"c{i}"] == pytest.approx(lottery.get(i, 0.0), abs=1e-8) for i in range(c))


def test_max_entropy_ce_matches_polarix():
    # DeepMind polarix 0.1.2 (JAX): agent_vs_task_game + ce_maxent (max_ce_gain=0, tol=1e-9) on this 3 models x
    # 4 prompts matrix; its CE gap was 1e-6. The payoff tensors agree exactly; ours is the 1e-7-CE.
    S = np.array([[0.8050029237, 0.8079407897, 0.515325561, 0.2858013801],
                  [0.0539307024, 0.3833688808, 0.4084732054, 0.0452751939],
                  [0.0487577107, 0.9991761151, 0.6523691116, 0.2345102017]])
    eq = g.max_entropy_cce(g.equilibrium_game(S), eps=1e-7, kind="ce")
    assert eq.gap <= 3e-7
    assert eq.marginals[1] == pytest.approx(POLARIX_MODEL_MARGINAL, abs=2e-5)
    assert eq.ratings[1] == pytest.approx(POLARIX_MODEL_RATINGS, abs=2e-5)
    assert eq.ratings[0] == pytest.approx(POLARIX_PROMPT_RATINGS, abs=2e-5)


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 6), st.integers(1, 12), st.sampled_from(["separation", "rebel"]), st.integers(0, 10_000))
def test_structured_equilibrium_solver_equals_the_generic_one(m, p, prompt_payoff, seed):
    S = np.random.default_rng(seed).uniform(size=(m, p))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        generic = g.max_entropy_cce(g.equilibrium_game(S, prompt_payoff=prompt_payoff), eps=1e-5)
        fast = g.equilibrium_ratings(S, prompt_payoff=prompt_payoff, eps=1e-5)
    for a, b in zip(generic.ratings, fast.ratings, strict=True):
        assert a == pytest.approx(b, abs=2e-6)
    assert generic.joint == pytest.approx(fast.joint, abs=2e-6)
    assert fast.gap <= 2 * fast.eps + 1e-9


def test_prisoners_dilemma_cce_is_mutual_defection():
    pd = np.array([[[3.0, 0], [5, 1]], [[3.0, 5], [0, 1]]])
    for kind in ("cce", "ce"):
        eq = g.max_entropy_cce(pd, eps=1e-7, kind=kind)
        assert eq.joint[1, 1] == pytest.approx(1, abs=1e-5)
        assert eq.values == pytest.approx((1, 1), abs=1e-4)


# ------------------------------------------------------------------ clone invariance
def _clone_row(S, k):
    return np.vstack([S, S[k]])


@st.composite
def score_games(draw):
    n = draw(st.integers(3, 6))
    t = draw(st.integers(2, 7))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    # integer-valued scores make ties and non-unique equilibria common: the hard case for clone invariance
    S = rng.integers(0, 4, (n, t)).astype(float) if draw(st.booleans()) else rng.uniform(size=(n, t))
    return S, int(draw(st.integers(0, n - 1))), int(draw(st.integers(0, t - 1)))


CLONE_INVARIANT = [r for r, spec in RULES.items() if "clone_invariant" in spec.properties]
TASK_CLONE_INVARIANT = [r for r, spec in RULES.items() if "task_clone_invariant" in spec.properties]


@pytest.mark.parametrize("rule", CLONE_INVARIANT)
@settings(max_examples=25, deadline=None)
@given(score_games())
def test_cloning_a_model_leaves_every_other_score_unchanged(rule, game):
    S, k, _ = game
    names = tuple(f"m{i}" for i in range(S.shape[0]))
    tasks = tuple(f"t{j}" for j in range(S.shape[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = apply_rule(rule, ScoreMatrix(names, tasks, S)).scores
        after = apply_rule(rule, ScoreMatrix((*names, "clone"), tasks, _clone_row(S, k))).scores
    assert after[:-1] == pytest.approx(before, abs=2e-6)
    assert after[-1] == pytest.approx(after[k], abs=2e-6)


@pytest.mark.parametrize("rule", TASK_CLONE_INVARIANT)
@settings(max_examples=25, deadline=None)
@given(score_games(), st.integers(1, 5))
def test_duplicating_a_task_leaves_every_score_unchanged(rule, game, copies):
    S, _, j = game
    names = tuple(f"m{i}" for i in range(S.shape[0]))
    tasks = tuple(f"t{c}" for c in range(S.shape[1]))
    padded = np.hstack([S] + [S[:, [j]]] * copies)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = apply_rule(rule, ScoreMatrix(names, tasks, S)).scores
        after = apply_rule(rule, ScoreMatrix(names, (*tasks, *(f"dup{c}" for c in range(copies))), padded)).scores
    assert after == pytest.approx(before, abs=2e-6)


@settings(max_examples=25, deadline=None)
@given(st.integers(3, 7), st.integers(0, 10_000))
def test_agent_vs_agent_nash_and_maximal_lottery_split_a_clones_mass(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, (n, n)).astype(float)
    M = np.triu(X, 1) - np.triu(X, 1).T  # integer margins: cycles and ties, non-unique equilibria
    k = int(rng.integers(0, n))
    C = np.zeros((n + 1, n + 1))
    C[:n, :n] = M
    C[n, :n], C[:n, n] = M[k], M[:, k]
    before, after = g.nash_averaging(M), g.nash_averaging(C)
    others = [i for i in range(n) if i != k]
    assert after.mass[others] == pytest.approx(before.mass[others], abs=1e-8)
    assert after.mass[k] + after.mass[n] == pytest.approx(before.mass[k], abs=1e-8)
    assert after.rating[:n] == pytest.approx(before.rating, abs=1e-8)


def test_shannon_entropy_alone_is_not_clone_invariant():
    # Rock-paper-scissors plus a null strategy: every mix of "uniform RPS" and "null" is an equilibrium.
    M = np.zeros((4, 4))
    M[:3, :3] = RPS
    assert g.nash_averaging(M).mass == pytest.approx([0.25] * 4, abs=1e-9)
    C = np.zeros((5, 5))
    C[:3, :3] = RPS
    merged, plain = g.nash_averaging(C), g.nash_averaging(C, merge_identical=False)
    assert merged.mass[:3] == pytest.approx([0.25] * 3, abs=1e-9)  # the copies share the null's quarter
    assert plain.mass[:3] == pytest.approx([0.2] * 3, abs=1e-6)  # Shannon entropy rewards the copy


# ------------------------------------------------------------------ the ranking API
def test_rank_with_every_game_method_on_pairs_scores_and_leaderboards():
    sim = metaeval.simulate.pairwise(n_models=5, n_items=200, rng=4)
    truth_best = sim.truth.ranking[0]
    for method in ("nash_averaging", "maximal_lottery", "alpha_rank"):
        r = rank(sim.judgments, method, n_resamples=30, rng=1)
        assert r.method == method and r.mass is not None and r.mass.sum() == pytest.approx(1)
        assert r.to_polars()["model"][0] == truth_best
        assert np.all(r.ci_low <= r.rating + 1e-12) and np.all(r.rating <= r.ci_high + 1e-12)
        assert r.p_best.sum() == pytest.approx(1)
        assert rank(sim.judgments, method, n_resamples=30, rng=1).rating == pytest.approx(r.rating)  # same seed
    auto = rank(sim.judgments, "alpha_rank", intensity="auto", n_resamples=10, rng=0)
    assert any("sweep" in note for note in auto.notes) and auto.run_info.params["intensity"] > 0
    with pytest.raises(MetaevalError, match="auto"):
        rank(sim.judgments, "alpha_rank", intensity="big")
    clustered = rank(sim.judgments, "nash_averaging", n_resamples=20, cluster="item", rng=0)
    assert clustered.ci_method == "bootstrap over clusters (item)"
    pointwise = metaeval.simulate.pointwise(n_models=4, n_items=40, rng=2)
    r = rank(pointwise.judgments, "equilibrium", n_resamples=10, rng=0)
    assert r.task_table is not None and r.task_table.height == 40
    assert r.task_table["mass"].sum() == pytest.approx(1)
    assert "mass" in r.to_polars().columns and "tasks" in r.summary()


def test_rank_refuses_options_that_do_not_apply():
    sim = metaeval.simulate.pairwise(n_models=3, n_items=30, rng=0)
    with pytest.raises(MetaevalError, match="scale"):
        rank(sim.judgments, "nash_averaging", scale="elo")
    with pytest.raises(MetaevalError, match="unexpected options"):
        rank(sim.judgments, "bradley_terry", intensity=3.0)
    with pytest.raises(MetaevalError, match="per-item scores"):
        rank(sim.judgments, "equilibrium")
    sm = ScoreMatrix(("a", "b"), ("t",), np.array([[1.0], [2.0]]))
    with pytest.raises(MetaevalError, match="ScoreMatrix"):
        rank(sm, "bradley_terry")
    with pytest.raises(MetaevalError, match="antisymmetric"):
        g.nash_averaging(np.ones((2, 2)))
    with pytest.raises(MetaevalError, match="finite"):
        g.zero_sum_max_entropy(np.array([[np.nan, 1.0]]))


def test_unmet_pairs_are_filled_with_a_warning():
    from metaeval.tables import PairwiseCounts

    wins = np.array([[0, 6, 0], [4, 0, 7], [0, 3, 0.0]])  # a and c never met
    with pytest.warns(metaeval.errors.EstimationWarning, match="never met"):
        r = rank(PairwiseCounts(("a", "b", "c"), wins, np.zeros((3, 3))), "alpha_rank", n_resamples=10, rng=0)
    assert any("Bradley–Terry" in note for note in r.notes)


def test_compare_rules_includes_the_game_rules():
    rng = np.random.default_rng(0)
    sm = ScoreMatrix(tuple("abcde"), tuple(f"t{i}" for i in range(6)), rng.uniform(size=(5, 6)))
    cmp = compare_rules(sm)
    assert {"nash_averaging", "maximal_lottery", "alpha_rank", "equilibrium"} <= set(cmp.winners)
    assert set(GAME_METHODS) <= set(metaeval.rankers.METHODS)


def test_cli_rank_with_a_game_method(tmp_path):
    from click.testing import CliRunner

    from metaeval.cli import cli

    sim = metaeval.simulate.pairwise(n_models=4, n_items=50, rng=1)
    path = sim.judgments.write_csv(tmp_path / "t.csv")
    out = CliRunner().invoke(cli, ["rank", str(path), "--method", "alpha_rank", "--n-resamples", "20", "--seed", "1",
                                   "--intensity", "inf", "--json"])
    assert out.exit_code == 0, out.output
    assert '"mass"' in out.output
    bad = CliRunner().invoke(cli, ["rank", str(path), "--intensity", "3"])
    assert bad.exit_code != 0 and "game-theoretic" in bad.output


def test_scores_against_a_common_baseline():
    import polars as pl

    from metaeval.rankers.game_rank import scores_against_baseline

    rows = [("q1", "base", "x", "b", None), ("q1", "y", "base", "tie", None), ("q2", "base", "x", "a", 0.2),
            ("q2", "y", "base", "a", None)]
    j = metaeval.Judgments(pl.DataFrame(rows, schema=["item", "model_a", "model_b", "outcome", "p_a"],
                                        orient="row").with_columns(pl.lit("j").alias("judge")), kind="pairwise")
    sm = scores_against_baseline(j)
    assert sm.models == ("x", "y", "base")
    # x: won q1 outright; on q2 the graded preference for the baseline was 0.2, so x scores 0.8
    assert sm.scores.tolist() == [[1.0, 0.8], [0.5, 1.0], [0.5, 0.5]]
    sim = metaeval.simulate.pairwise(n_models=3, n_items=10, rng=0)
    with pytest.raises(MetaevalError, match="baseline"):
        scores_against_baseline(sim.judgments)


def test_alpha_is_now_intensity_and_the_old_name_works_for_one_release_with_a_warning(tmp_path):
    """α-Rank's selection intensity was `alpha`, which is a significance level everywhere else in metaeval: it is
    `intensity` now (`--intensity` on the command line); the old name gives the same numbers, with a FutureWarning."""
    import json

    from click.testing import CliRunner

    from metaeval.cli import cli

    M = np.array([[0.5, 0.7, 0.2], [0.3, 0.5, 0.9], [0.8, 0.1, 0.5]])
    new = g.alpha_rank(M, intensity=5.0, m=20)
    with pytest.warns(FutureWarning, match="`alpha` is now `intensity`"):
        old = g.alpha_rank(M, alpha=5.0, m=20)
    np.testing.assert_array_equal(old.pi, new.pi)
    assert new.intensity == 5.0
    with pytest.warns(FutureWarning, match="`AlphaRank.alpha` is now `AlphaRank.intensity`"):
        assert new.alpha == 5.0
    with pytest.raises(metaeval.errors.ParameterError, match="pass `intensity` only"):
        g.alpha_rank(M, alpha=5.0, intensity=5.0)
    with pytest.raises(metaeval.errors.ParameterError, match="`intensity` must be positive"), \
            pytest.warns(FutureWarning):
        g.alpha_rank(M, alpha=-1.0)  # the old name's bad value is checked under the new name
    A = np.array([[1.0, 0.0], [0.0, 2.0]])
    with pytest.warns(FutureWarning, match="`alpha` is now `intensity`"):
        multi = g.alpha_rank_multipop([A, A], alpha=2.0, m=10)
    np.testing.assert_array_equal(multi.pi, g.alpha_rank_multipop([A, A], intensity=2.0, m=10).pi)
    with pytest.warns(FutureWarning, match="`alphas` is now `intensities`"):
        grid, pis, best = g.alpha_sweep(M, alphas=[0.1, 1.0, 10.0])
    grid2, pis2, best2 = g.alpha_sweep(M, intensities=[0.1, 1.0, 10.0])
    np.testing.assert_array_equal(pis, pis2)
    assert best == best2 and grid.tolist() == grid2.tolist() == [0.1, 1.0, 10.0]

    sim = metaeval.simulate.pairwise(n_models=4, n_items=60, rng=2)
    r_new = rank(sim.judgments, "alpha_rank", intensity=10.0, n_resamples=10, rng=0)
    with pytest.warns(FutureWarning, match="`alpha` is now `intensity`"):
        r_old = rank(sim.judgments, "alpha_rank", alpha=10.0, n_resamples=10, rng=0)
    np.testing.assert_array_equal(r_old.rating, r_new.rating)
    np.testing.assert_array_equal(r_old.ci_low, r_new.ci_low)
    assert r_old.run_info.params["intensity"] == r_new.run_info.params["intensity"] == 10.0
    assert "alpha" not in r_new.run_info.params

    path = sim.judgments.write_csv(tmp_path / "t.csv")
    argv = ["rank", str(path), "--method", "alpha_rank", "--n-resamples", "10", "--seed", "0", "--json"]
    new_cli = CliRunner().invoke(cli, [*argv, "--intensity", "10"])
    old_cli = CliRunner().invoke(cli, [*argv, "--alpha", "10"])
    assert new_cli.exit_code == old_cli.exit_code == 0, old_cli.output
    assert "--alpha is now --intensity" in old_cli.stderr and "--alpha" not in new_cli.stderr
    assert json.loads(old_cli.stdout)["rows"] == json.loads(new_cli.stdout)["rows"]
    both = CliRunner().invoke(cli, [*argv, "--alpha", "10", "--intensity", "10"])
    assert both.exit_code == 2 and "pass --intensity only" in json.loads(both.stdout)["error"]["message"]
    assert "--alpha" not in CliRunner().invoke(cli, ["rank", "--help"]).output  # hidden: the new name is the one shown


@pytest.mark.parametrize("cluster", ["item", "judge", None])
def test_game_bootstrap_weights_each_battle_by_its_drawn_unit(cluster):
    # a resample's counts are the battles weighted by how often their cluster (or the battle itself)
    # was drawn, in the core's index stream: what the per-resample loop computed before it moved there
    from metaeval.rankers.bradley_terry import cell_counts, code_battles, wins_ties
    from metaeval.rankers.game_rank import _resampled_counts

    sim = metaeval.simulate.pairwise(n_models=4, n_items=25, tie_threshold=0.4, rng=3)
    b = code_battles(sim.judgments, cluster)
    got = list(_resampled_counts(b, 7, np.random.default_rng(8)))
    gen = np.random.default_rng(8)
    n = b.n_clusters if cluster else len(b.ia)
    for wins, ties in got:
        drawn = np.bincount(gen.integers(0, n, n), minlength=n)
        weight = drawn[b.cluster] if cluster else drawn
        w_ref, t_ref = wins_ties(cell_counts(b, weight.astype(float)))
        np.testing.assert_array_equal(wins, w_ref)
        np.testing.assert_array_equal(ties, t_ref)
    assert len(got) == 7
    total = len(b.ia)
    if cluster is None:  # resampling single battles keeps their number
        assert all(w.sum() + np.triu(t).sum() == total for w, t in got)


def test_zero_width_game_intervals_come_with_a_warning():
    """An equilibrium does not move when resamples only repeat or drop items that do not bind it:
    here every resample gives the same equilibrium, so every interval has zero width, and that is
    said (a warning and a note), not shown as certainty. A ranking whose draws move says nothing."""
    rows = []
    for i in range(30):
        rows.append({"item": f"i{i}", "judge": "j", "model_a": "a", "model_b": "b", "outcome": "a" if i % 3 else "b"})
        rows.append({"item": f"i{i}", "judge": "j", "model_a": "b", "model_b": "c", "outcome": "a"})
    j = metaeval.tables.as_judgments(pl.DataFrame(rows))
    with pytest.warns(EstimationWarning, match="every one of the 50 resamples over tasks gave the same ratings"):
        r = metaeval.rank(j, method="equilibrium", rng=0, n_resamples=50)
    assert np.all(r.ci_low == r.ci_high)
    assert any("zero width" in n for n in r.notes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        moving = metaeval.rank(j, method="alpha_rank", rng=0, n_resamples=50)
    assert np.any(moving.ci_low < moving.ci_high)
    assert not any("zero width" in str(w.message) for w in caught)
