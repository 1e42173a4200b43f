"""Social-choice rankers: every declared property on random profiles, exact and bounded Kemeny,
declared costs and the size guard, pref_voting winner sets, and Vote'n'Rank's GLUE result."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metaeval
from metaeval import Profile, ScoreMatrix
from metaeval.errors import EstimationWarning, InsufficientDataError, MetaevalError, TooLargeError
from metaeval.rankers import RULES, apply_rule, compare_rules, condorcet_winner, robustness, winning_weights
from metaeval.rankers.games import task_win_matrix
from metaeval.rankers.kemeny import (
    kemeny,
    kemeny_brute_force,
    kemeny_cost,
    kemeny_dp,
    kemeny_local_search,
    kemeny_lower_bound,
    kemeny_milp,
)
from metaeval.rankers.social_choice import MAX_MEMORY, MAX_SECONDS, majority_matrix, smith_set

from .conftest import ROOT, shared

PROFILE_RULES = [r for r, spec in RULES.items() if not spec.needs_scores]
SCORE_RULES = [r for r, spec in RULES.items() if spec.needs_scores]


@st.composite
def strict_profiles(draw, min_c=3, max_c=5):
    n = draw(st.integers(min_c, max_c))
    v = draw(st.integers(1, 6))
    orders = [draw(st.permutations(list(range(n)))) for _ in range(v)]
    weights = [draw(st.integers(1, 3)) for _ in range(v)]
    return orders, weights


def make(orders, weights, names=None):
    names = names or [f"c{i}" for i in range(max(max(o) for o in orders) + 1)]
    return Profile.from_orders([[names[i] for i in o] for o in orders], weights=weights)


@pytest.mark.parametrize("rule", PROFILE_RULES)
@settings(max_examples=40, deadline=None)
@given(data=strict_profiles())
def test_declared_properties_hold(rule, data):
    orders, weights = data
    props = RULES[rule].properties
    p = make(orders, weights)
    winners = set(apply_rule(rule, p).winners)
    assert winners, "every rule names at least one winner"
    if "anonymous" in props:
        assert set(apply_rule(rule, make(orders[::-1], weights[::-1])).winners) == winners
    if "neutral" in props:
        n = len(p.candidates)
        perm = list(reversed(range(n)))  # c0 <-> c(n-1): changes the internal candidate order
        names = [f"c{perm[i]}" for i in range(n)]
        relabelled = set(apply_rule(rule, make(orders, weights, names)).winners)
        assert relabelled == {f"c{perm[int(w[1:])]}" for w in winners}
    if "condorcet_consistent" in props:
        cw = condorcet_winner(p)
        if cw is not None:
            assert winners == {cw}
    if "pareto" in props:
        n = len(p.candidates)
        for a in range(n):
            for b in range(n):
                if a != b and all(o.index(a) < o.index(b) for o in orders):
                    assert f"c{b}" not in winners
    if "monotonic" in props and len(winners) == 1:
        w = int(next(iter(winners))[1:])
        for k, o in enumerate(orders):
            pos = o.index(w)
            if pos > 0:
                raised = [list(x) for x in orders]
                raised[k][pos - 1], raised[k][pos] = raised[k][pos], raised[k][pos - 1]
                assert f"c{w}" in apply_rule(rule, make(raised, weights)).winners
                break
    if "clone_independent" in props and len(winners) == 1:
        w = int(next(iter(winners))[1:])
        loser = next(i for i in range(len(p.candidates)) if i != w)
        clone = len(p.candidates)
        cloned = [[*o[: o.index(loser) + 1], clone, *o[o.index(loser) + 1:]] for o in orders]
        assert set(apply_rule(rule, make(cloned, weights)).winners) == winners


@pytest.mark.parametrize("rule", SCORE_RULES)
@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 6), st.integers(2, 5))
def test_score_rules_properties(rule, seed, m, t):
    rng = np.random.default_rng(seed)
    scores = rng.uniform(1, 10, (m, t))
    sm = ScoreMatrix(tuple(f"m{i}" for i in range(m)), tuple(f"t{k}" for k in range(t)), scores)
    res = apply_rule(rule, sm)
    perm = rng.permutation(t)
    shuffled = ScoreMatrix(sm.models, tuple(sm.tasks[k] for k in perm), scores[:, perm])
    assert apply_rule(rule, shuffled).winners == res.winners  # anonymous over tasks
    if "pareto" in RULES[rule].properties:
        dominated = scores.copy()
        dominated[1] = dominated[0] - 0.5
        assert "m1" not in apply_rule(rule, ScoreMatrix(sm.models, sm.tasks, dominated)).winners
    if "monotonic" in RULES[rule].properties and len(res.winners) == 1:
        w = sm.models.index(res.winners[0])
        up = scores.copy()
        up[w, 0] += 1
        assert res.winners[0] in apply_rule(rule, ScoreMatrix(sm.models, sm.tasks, up)).winners


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 7), st.integers(0, 10_000))
def test_kemeny_dp_equals_integer_program_and_brute_force(n, seed):
    rng = np.random.default_rng(seed)
    P = rng.integers(0, 6, (n, n)).astype(float)
    np.fill_diagonal(P, 0)
    _, cost, heads = kemeny_dp(P)
    best, brute_heads = kemeny_brute_force(P)
    _, milp_cost, proved, bound = kemeny_milp(P)
    assert cost == pytest.approx(best) and milp_cost == pytest.approx(best) and proved and bound == milp_cost
    assert set(heads) == brute_heads
    # the dispatcher, forced through every method: the exact ones find the optimum (and with the
    # dynamic program every optimal head), local search is labelled unless it meets the lower bound
    exact = kemeny(P)
    assert exact.exact and exact.cost == pytest.approx(best) and set(exact.heads) == brute_heads
    by_ilp = kemeny(P, max_dp=1, max_ilp=10)
    assert by_ilp.exact and by_ilp.cost == pytest.approx(best)
    local = kemeny(P, max_dp=1, max_ilp=1)
    assert local.lower_bound <= best + 1e-9 <= local.cost + 1e-9
    assert local.exact == (local.cost <= local.lower_bound + 1e-9)
    if not local.exact:
        assert any("approximated by local search" in n for n in local.notes)


def test_kemeny_decomposes_along_the_majority_order():
    # Two blocks: everyone in the first beats everyone in the second by a strict majority, and each
    # block is a 3-cycle. The optimum solves the blocks apart and keeps them in that order.
    orders = [[0, 1, 2, 3, 4, 5], [1, 2, 0, 4, 5, 3], [2, 0, 1, 5, 3, 4]]
    P = majority_matrix(make(orders, [1, 1, 1]))
    res = kemeny(P)
    assert res.components == (3, 3) and res.exact
    assert set(res.order[:3]) == {0, 1, 2}
    best, heads = kemeny_brute_force(P)
    assert res.cost == pytest.approx(best) and set(res.heads) == heads
    assert kemeny_cost(P, res.order) == pytest.approx(res.cost)
    assert kemeny_lower_bound(P) <= best


def test_kemeny_local_search_and_time_limit_are_labelled():
    rng = np.random.default_rng(3)
    P = rng.integers(0, 9, (40, 40)).astype(float)
    np.fill_diagonal(P, 0)
    order, cost = kemeny_local_search(P, np.arange(40))
    assert cost <= kemeny_cost(P, np.arange(40)) and sorted(order) == list(range(40))
    # no insertion move improves a local optimum
    again, cost2 = kemeny_local_search(P, order)
    assert again == order and cost2 == cost
    # an integer program stopped by its time limit is not called exact
    ilp_order, ilp_cost, proved, bound = kemeny_milp(P, time_limit=1.0)
    assert not proved and bound <= ilp_cost and kemeny_cost(P, ilp_order) == pytest.approx(ilp_cost)
    res = kemeny(P, max_dp=8, max_ilp=50, time_limit=0.05)
    assert not res.exact and res.lower_bound < res.cost and res.notes


def test_every_rule_declares_its_cost_and_the_guard_refuses_before_running():
    for name, spec in RULES.items():
        assert spec.cost is not None and spec.cost.time.startswith("O(") and spec.cost.memory.startswith("O("), name
        small, big = spec.cost.estimate(10, 10), spec.cost.estimate(1000, 100)
        assert 0 < small[0] < big[0] and 0 < small[1] < big[1], name
        # 100 models x 30 tasks fits the default limits for every rule
        sec, mem = spec.cost.estimate(100, 30)
        assert sec <= MAX_SECONDS and mem <= MAX_MEMORY, name
    rng = np.random.default_rng(0)
    sm = ScoreMatrix(tuple(f"m{i}" for i in range(30)), ("t1", "t2", "t3"), rng.normal(size=(30, 3)))
    with pytest.raises(TooLargeError, match=r"rule 'ranked_pairs' on 30 models x 3 tasks would need about .* s .*"
                                            r"over `max_seconds` = 1e-06"):
        apply_rule("ranked_pairs", sm, max_seconds=1e-6)
    with pytest.raises(TooLargeError, match="of memory"):
        apply_rule("equilibrium", sm, max_memory=1000)


def test_the_default_comparison_and_game_bootstraps_stay_within_their_budgets():
    rng = np.random.default_rng(4)
    sm = ScoreMatrix(tuple(f"m{i}" for i in range(100)), tuple(f"t{k}" for k in range(30)), rng.normal(size=(100, 30)))
    with pytest.warns(EstimationWarning, match="rule 'equilibrium' skipped: left out to keep the comparison under"):
        cmp_ = compare_rules(sm, rules=None, max_total_seconds=2.0)
    assert "equilibrium" in cmp_.skipped and "borda" in cmp_.winners
    # a bootstrap of the equilibrium ratings on 200 models x 50 tasks would take hours: refused at once
    big = ScoreMatrix(tuple(f"m{i}" for i in range(200)), tuple(f"t{k}" for k in range(50)), rng.normal(size=(200, 50)))
    with pytest.raises(TooLargeError, match="equilibrium with 200 bootstrap resamples on 200 models x 50 tasks"):
        metaeval.rank(big, "equilibrium", n_resamples=200)


def test_a_long_table_is_refused_rule_by_rule_not_allocated():
    # 20,000 "models" x 3 tasks (a long table read as a leaderboard): the linear rules run, every rule
    # that needs an m x m array is skipped before it allocates 3.2 GB, and the comparison says so.
    rng = np.random.default_rng(1)
    m = 20_000
    sm = ScoreMatrix(tuple(f"m{i}" for i in range(m)), ("a", "b", "c"), rng.normal(size=(m, 3)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = compare_rules(sm)
    assert set(res.winners) >= {"arithmetic_mean", "borda", "plurality"}
    for rule in ("copeland", "kemeny_young", "schulze", "maximal_lottery", "equilibrium"):
        assert "would need" in res.skipped[rule], rule
    assert any("skipped" in str(w.message) for w in caught)
    assert res.condorcet_winner is None and "not computed" in res.summary()


def test_kemeny_rule_on_a_large_leaderboard_is_labelled_approximate():
    rng = np.random.default_rng(0)
    sm = ScoreMatrix(tuple(f"m{i}" for i in range(100)), tuple(f"t{k}" for k in range(30)), rng.normal(size=(100, 30)))
    res = apply_rule("kemeny_young", sm)
    assert not res.exact and res.notes[0].startswith("approximate: optimality not proved")
    with pytest.warns(EstimationWarning, match="kemeny_young.*approximation"):
        cmp_ = compare_rules(sm, rules=["kemeny_young", "borda"])
    assert cmp_.exact == {"kemeny_young": False, "borda": True}
    assert "note (kemeny_young): approximate" in cmp_.summary()


def test_mean_win_rate_and_task_win_matrix_match_their_definitions():
    rng = np.random.default_rng(2)
    S = rng.integers(0, 4, (7, 5)).astype(float)  # many ties
    S[2, 1] = np.nan
    w = rng.uniform(0.5, 2, 5)
    sm = ScoreMatrix(tuple(f"m{i}" for i in range(7)), tuple(f"t{k}" for k in range(5)), S, weights=w)
    rate = np.full(S.shape, np.nan)
    for t in range(5):
        for i in range(7):
            others = [j for j in range(7) if j != i and not np.isnan(S[j, t])]
            if not np.isnan(S[i, t]):
                rate[i, t] = np.mean([(S[i, t] > S[j, t]) + 0.5 * (S[i, t] == S[j, t]) for j in others])
    wt = np.where(np.isnan(rate), 0, w)
    expected = np.nansum(rate * wt, 1) / wt.sum(1)
    np.testing.assert_allclose(apply_rule("mean_win_rate", sm).scores, expected)
    full = np.nan_to_num(S)
    direct = ((np.sign(full[:, None, :] - full[None, :, :]) + 1) / 2 * w).sum(-1) / w.sum()
    np.testing.assert_allclose(task_win_matrix(full, w), direct)


def test_pref_voting_winner_sets():
    pv = pytest.importorskip("pref_voting.profiles")
    import pref_voting.voting_methods as vm

    pairs = {"plurality": vm.plurality, "borda": vm.borda, "copeland": vm.copeland, "llull": vm.llull,
             "minimax": vm.minimax, "schulze": vm.beat_path, "instant_runoff": vm.instant_runoff,
             "coombs": vm.coombs, "baldwin": vm.baldwin, "nanson": vm.strict_nanson, "black": vm.blacks,
             "bucklin": vm.bucklin, "kemeny_young": vm.kemeny_young, "dowdall": vm.dowdall}
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(120):
            n, v = rng.integers(3, 6), rng.integers(1, 8)
            orders = [list(rng.permutation(n)) for _ in range(v)]
            counts = [int(c) for c in rng.integers(1, 4, v)]
            theirs_profile = pv.Profile(orders, counts)
            ours = make([list(map(int, o)) for o in orders], counts)
            for name, fn in pairs.items():
                expected = {f"c{c}" for c in fn(theirs_profile)}
                assert set(apply_rule(name, ours).winners) == expected, (name, orders, counts)
            assert set(smith_set(ours)) == {f"c{c}" for c in vm.smith_set(theirs_profile)}
            M = majority_matrix(ours)
            pos = (M - M.T)[(M - M.T) > 0]
            if len(set(pos.tolist())) == len(pos):  # no tied margins: tie-breaking cannot matter
                assert set(apply_rule("ranked_pairs", ours).winners) == {f"c{c}" for c in
                                                                        vm.ranked_pairs(theirs_profile)}


def test_small_known_profiles():
    # A 3-cycle: no Condorcet winner, the Smith set is everyone.
    p = Profile.from_orders([["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]])
    assert condorcet_winner(p) is None and smith_set(p) == ("a", "b", "c")
    assert set(apply_rule("condorcet", p).winners) == {"a", "b", "c"}
    # Borda vs Condorcet: a is the Condorcet winner, b the Borda winner.
    q = Profile.from_orders([["a", "b", "c"]] * 3 + [["b", "c", "a"]] * 2)
    assert apply_rule("copeland", q).winners == ("a",)
    assert apply_rule("borda", q).winners == ("b",)
    with pytest.raises(MetaevalError, match="unknown rule"):
        apply_rule("approval", q)


def test_when_does_a_model_win():
    sm = ScoreMatrix(("a", "b", "c"), ("t1", "t2", "t3"), np.array([[9, 1, 5], [1, 9, 5], [0, 0, 0.]]))
    ww = winning_weights(sm, "b", criterion="mean")
    assert ww.feasible and ww.weights["t2"] > 0.5
    never = winning_weights(sm, "c", criterion="condorcet")
    assert not never.feasible and "cannot become" in never.summary()
    borda = winning_weights(sm, "a", criterion="borda")
    assert borda.feasible


def test_compare_rules_and_robustness():
    rng = np.random.default_rng(0)
    sm = ScoreMatrix(tuple(f"m{i}" for i in range(6)), tuple(f"t{k}" for k in range(8)),
                     np.arange(6)[::-1, None] * 0.3 + rng.normal(0, 1, (6, 8)) + 5)
    cmp_ = compare_rules(sm)
    assert set(cmp_.winners) >= {"borda", "copeland", "kemeny_young", "arithmetic_mean"}
    assert cmp_.tau.height == len(cmp_.winners)
    rob = robustness(sm, n_resamples=40, rng=1)
    shares = rob.to_polars()
    for rule in ("borda", "copeland", "arithmetic_mean", "schulze"):
        assert shares[rule].sum() == pytest.approx(1.0)
    assert set(rob.clone_changes) == {"borda", "copeland", "arithmetic_mean", "schulze"}


def test_glue_reproduces_vote_n_rank():
    path = shared("vote-n-rank", "leaderboard_glue.csv")
    # The paper's preprocessing: top 30 rows, a/b cells split into two half-weight columns, rows with missing
    # values dropped; AX is GLUE's diagnostic set (weight 0: left out), Score is the average, not a task.
    sm = metaeval.read_leaderboard(path, top=30, exclude=["Score", "AX"]).dropna()
    for rule in ("borda", "copeland", "minimax", "baldwin", "dowdall", "condorcet", "arithmetic_mean",
                 "geometric_mean"):
        assert apply_rule(rule, sm).winners == ("ERNIE",), rule
    assert apply_rule("threshold", sm).winners == ("StructBERT + CLEVER",)


def test_vote_example_and_cli(tmp_path):
    import importlib.util
    import json

    from click.testing import CliRunner

    from metaeval.cli import cli

    shared("vote-n-rank", "leaderboard_glue.csv")
    spec = importlib.util.spec_from_file_location("vote_n_rank", ROOT / "examples" / "vote_n_rank.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tables = module.main(out=tmp_path)
    assert set(tables) == {"glue", "superglue", "value"}
    for board, table in tables.items():  # every winner the paper's notebook reports
        assert table.height == 11 and set(table["reproduced"]) == {"yes"}, (board, table)
    assert (tmp_path / "index.md").exists()
    res = CliRunner().invoke(cli, ["vote", str(ROOT.parent / "shared" / "data" / "vote-n-rank" /
                                               "leaderboard_glue.csv"), "--top", "30", "--exclude", "Score,AX",
                                   "--rules", "borda,threshold", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["condorcet_winner"] == "ERNIE"


def test_one_score_column_is_not_a_vote():
    sm = ScoreMatrix(("a", "b", "c"), ("score",), np.array([[3.0], [2.0], [1.0]]))
    with pytest.raises(InsufficientDataError, match="one score column"):
        compare_rules(sm)


def test_reading_a_board_with_the_vote_n_rank_preset_gives_every_analysis_the_papers_table(tmp_path):
    """read_leaderboard(preset="vote_n_rank") drops the models with a missing score (the diagnostic
    set's included) and leaves the diagnostic set out; the paper's rules then crown the same models
    as on the board read plainly, and an analysis that ignores weights no longer sees AX."""
    from metaeval import datasets

    path = tmp_path / "board.csv"
    path.write_text("Name,CoLA,RTE,AX\na,60,70,40\nb,61,,50\nc,59,72,55\nd,58,69,30\n", encoding="utf-8")
    board = metaeval.read_leaderboard(path, preset="vote_n_rank")
    assert board.models == ("a", "c", "d") and board.tasks == ("CoLA", "RTE")
    assert any("1 model with a missing score dropped (b)" in n for n in board.notes)
    assert any("AX left out" in n for n in board.notes)
    plain = metaeval.read_leaderboard(path)
    assert "AX" in plain.tasks and "b" in plain.models
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert (compare_rules(board, preset="vote_n_rank").winners
                == compare_rules(plain, preset="vote_n_rank").winners)
    with pytest.raises(MetaevalError, match="unknown preset 'nope'; presets: vote_n_rank"):
        metaeval.read_leaderboard(path, preset="nope")
    glue = metaeval.read_leaderboard(datasets.path("glue_top30.csv"), top=30, preset="vote_n_rank")
    assert compare_rules(glue, preset="vote_n_rank").winners["borda"] == ("ERNIE",)


def test_robustness_time_guard_is_measured_not_declared():
    """The rules' declared costs are upper bounds (about 35x a resample's cost on GLUE), so the
    default 1,000-resample robustness check is not refused on a leaderboard it runs in seconds;
    a limit the measured run cannot meet still stops it, naming the projection."""
    rng = np.random.default_rng(3)
    board = ScoreMatrix(tuple(f"m{i}" for i in range(97)), tuple(f"t{j}" for j in range(14)),
                        rng.normal(size=(97, 14)))
    declared = sum(RULES[r].cost.estimate(97, 14)[0] for r in ("borda", "copeland", "arithmetic_mean", "schulze"))
    assert declared * 1002 > 60  # what the old guard compared with the limit: it refused this run
    res = robustness(board, rng=0)  # the defaults: 1,000 resamples, max_seconds=60
    assert res.to_polars().height == 97
    with pytest.raises(TooLargeError, match=r"200000 resamples of 97 models x 14 tasks would take about .* \(measured "
                                            r"on the first \d+\), over `max_seconds` = 1"):
        robustness(board, n_resamples=200_000, rng=0, max_seconds=1)


def test_robustness_names_the_models_it_left_out_and_prints_ranks_and_clone_test():
    """A model with a missing score is left out with a warning and named in the result; the
    printed summary shows each rule's rank intervals and the clone test, not only win shares."""
    from metaeval.errors import DataDroppedWarning

    scores = np.array([[3, 3, 1, 2], [2, 2, 3, 3], [1, 1, 2, 1], [np.nan, 4, 4, 4.]])
    sm = ScoreMatrix(("a", "b", "c", "d"), ("t1", "t2", "t3", "t4"), scores)
    with pytest.warns(DataDroppedWarning, match="robustness: 1 model with missing scores left out.*: d"):
        r = robustness(sm, rules=["borda"], n_resamples=40, rng=0)
    assert r.dropped == ("d",)
    assert set(r.win_share["model"]) == {"a", "b", "c"}
    text = r.summary()
    assert "rank under each rule: on all 4 tasks, and the central 95% of its ranks over 40 resampled" in text
    assert "rule   model  rank  rank_low  rank_high  win_share" in text
    assert "clone test (an exact copy of the runner-up under each rule added): " in text
    assert "left out for missing scores (1): d" in text
