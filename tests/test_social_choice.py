"""Social-choice rankers: every declared property on random profiles, exact Kemeny, pref_voting
winner sets, and Vote'n'Rank's GLUE result."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metaeval
from metaeval import Profile, ScoreMatrix
from metaeval.errors import MetaevalError
from metaeval.rankers import RULES, apply_rule, compare_rules, condorcet_winner, robustness, winning_weights
from metaeval.rankers.kemeny import kemeny_brute_force, kemeny_dp, kemeny_milp
from metaeval.rankers.social_choice import majority_matrix, smith_set

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
    _, milp_cost = kemeny_milp(P)
    assert cost == pytest.approx(best) and milp_cost == pytest.approx(best)
    assert set(heads) == brute_heads


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
    assert (tmp_path / "index.md").exists()
    res = CliRunner().invoke(cli, ["vote", str(ROOT.parent / "shared" / "data" / "vote-n-rank" /
                                               "leaderboard_glue.csv"), "--top", "30", "--exclude", "Score,AX",
                                   "--rules", "borda,threshold", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["condorcet_winner"] == "ERNIE"
