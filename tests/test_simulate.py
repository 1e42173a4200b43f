"""The simulator plants what it says it plants, reproducibly."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import stats

from metaeval import simulate
from metaeval.errors import MetaevalError


def test_same_seed_same_table():
    a = simulate.pairwise(n_models=5, n_items=40, both_orders=True, tie_threshold=0.3, rng=11)
    b = simulate.pairwise(n_models=5, n_items=40, both_orders=True, tie_threshold=0.3, rng=11)
    c = simulate.pairwise(n_models=5, n_items=40, both_orders=True, tie_threshold=0.3, rng=12)
    assert_frame_equal(a.judgments.frame, b.judgments.frame)
    assert a.truth == b.truth
    assert not a.judgments.frame.equals(c.judgments.frame)
    assert a.truth.seed == 11


def test_generator_or_none_is_accepted_and_seed_recorded():
    sim = simulate.pointwise(n_models=3, n_items=5, rng=None)
    assert isinstance(sim.truth.seed, int)
    again = simulate.pointwise(n_models=3, n_items=5, rng=sim.truth.seed)
    assert_frame_equal(sim.judgments.frame, again.judgments.frame)
    gen = simulate.pointwise(n_models=3, n_items=5, rng=np.random.default_rng(0))
    assert gen.truth.seed is None


def test_strength_order_is_recovered_from_win_rates():
    sim = simulate.pairwise(n_models=6, n_items=400, judge_noise=0.3, rng=3)
    pc = sim.judgments.pairwise_counts()
    rate = (pc.wins.sum(1) + 0.5 * pc.ties.sum(1)) / pc.n_comparisons.sum(1)
    truth = np.array([sim.truth.strengths[m] for m in pc.models])
    assert stats.spearmanr(rate, truth).statistic > 0.9


def test_planted_position_bias_shows_in_first_position_wins():
    sim = simulate.pairwise(n_models=4, n_items=300, judges=("judge-x",), both_orders=True, position_bias=1.0,
                            rng=5)
    f = sim.judgments.frame
    first_wins = (((f["shown_first"] == "a") & (f["outcome"] == "a"))
                  | ((f["shown_first"] == "b") & (f["outcome"] == "b")))
    # Expected share of first-position wins under logit +1 for the first seen: clearly above one half.
    assert first_wins.mean() > 0.62
    none = simulate.pairwise(n_models=4, n_items=300, judges=("judge-x",), both_orders=True, rng=5).judgments.frame
    share = (((none["shown_first"] == "a") & (none["outcome"] == "a"))
             | ((none["shown_first"] == "b") & (none["outcome"] == "b"))).mean()
    assert abs(share - 0.5) < 0.04


def test_self_preference_only_for_the_judges_own_family():
    sim = simulate.pairwise(n_models=4, n_items=500, judges=("judge-atlas",), n_humans=1, self_preference=2.0,
                            judge_noise=0.2, human_noise=0.2, rng=8)
    f = sim.judgments.frame
    def atlas_rate(judge):
        g = f.filter(pl.col("judge") == judge)
        won = (((g["model_a"] == "atlas-1") & (g["outcome"] == "a"))
               | ((g["model_b"] == "atlas-1") & (g["outcome"] == "b")))
        played = (g["model_a"] == "atlas-1") | (g["model_b"] == "atlas-1")
        return won.sum() / played.sum()
    assert atlas_rate("judge-atlas") - atlas_rate("human:1") > 0.15


def test_length_bias_favours_longer_outputs():
    sim = simulate.pairwise(n_models=4, n_items=500, judges=("judge-x",), strengths=[0, 0, 0, 0],
                            length_bias=1.5, rng=2)
    f = sim.judgments.frame
    longer_won = (((f["len_a"] > f["len_b"]) & (f["outcome"] == "a"))
                  | ((f["len_b"] > f["len_a"]) & (f["outcome"] == "b")))
    assert longer_won.mean() > 0.65


def test_ties_grow_with_the_threshold():
    few = simulate.pairwise(n_models=4, n_items=200, tie_threshold=0.0, rng=1).judgments.frame
    many = simulate.pairwise(n_models=4, n_items=200, tie_threshold=1.0, rng=1).judgments.frame
    assert (few["outcome"] == "tie").mean() == 0
    assert (many["outcome"] == "tie").mean() > 0.3


def test_pointwise_scale_repeats_and_truth():
    sim = simulate.pointwise(n_models=4, n_items=50, n_humans=2, n_reps=3, scale=(1, 5), rng=4)
    f = sim.judgments.frame
    assert f["score"].min() >= 1 and f["score"].max() <= 5
    assert set(f["rep"]) == {0, 1, 2}
    assert len(sim.truth.item_difficulty) == 50
    means = f.group_by("model").agg(pl.col("score").mean()).sort("model")
    truth = [sim.truth.strengths[m] for m in means["model"]]
    assert stats.spearmanr(means["score"], truth).statistic > 0.75
    cont = simulate.pointwise(n_models=3, n_items=10, scale=None, rng=4).judgments.frame
    assert cont["score"].n_unique() > 50


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_models": 1}, "`n_models` must be an int >= 2; got 1"),
    ({"n_items": 0}, "`n_items` must be an int >= 1; got 0"),
    ({"judges": (), "n_humans": 0}, "at least one judge"),
    ({"pairs_per_item": 100}, "`pairs_per_item` must lie in"),
    ({"n_reps": 0}, "`n_reps` must be an int >= 1; got 0"),
    ({"tie_threshold": -1}, "`tie_threshold` must be a float >= 0; got -1"),
    ({"rng": -3}, "`rng` must be a numpy Generator, an int seed >= 0 or None; got -3"),
    ({"rng": "seed"}, "`rng` must be a numpy Generator"),
])
def test_bad_settings(kwargs, message):
    with pytest.raises(MetaevalError, match=message):
        simulate.pairwise(**{"n_models": 4, "n_items": 10, **kwargs})


def test_default_outputs_are_unchanged_by_the_new_knobs():
    # Recorded with the simulator before `judge_scale`, `item_sd` and one order per repeated verdict.
    f = simulate.pairwise(n_models=4, n_items=30, n_humans=1, tie_threshold=0.5, position_bias=0.3,
                          rng=21).judgments.frame
    assert "".join(f["outcome"].cast(str).str.slice(0, 1).to_list()[:60]) == \
        "ababtbbbaababaabaaabbbtatbbbtbabbbbbbabaaaaaabbbtabbtaaabbba"
    assert "".join(f["shown_first"].cast(str).to_list()[:40]) == "babbbabbaabababbaaabaaaabababbababaaaaaa"
    assert int(f["len_a"].sum()) == 674631
    g = simulate.pointwise(n_models=4, n_items=20, rng=21).judgments.frame
    assert g["score"].cast(int).to_list()[:12] == [7, 7, 2, 8, 6, 7, 2, 8, 7, 8, 3, 9]
    assert float(g["score"].sum()) == 2736.0


def test_judge_scale_sharpens_only_the_model_judges():
    sim = simulate.pairwise(n_models=2, n_items=4000, judges=("judge-x",), n_humans=1, strengths=[0.0, 0.5],
                            judge_noise=0.0, human_noise=0.0, judge_scale=2.0, rng=3)
    f = sim.judgments.frame.with_columns(
        (((pl.col("model_a") == "borealis-1") & (pl.col("outcome") == "a"))
         | ((pl.col("model_b") == "borealis-1") & (pl.col("outcome") == "b"))).alias("win"))
    rate = f.group_by("judge").agg(pl.col("win").mean()).sort("judge")["win"].to_list()
    # human: σ(0.5) = 0.622; the judge with scale 2: σ(1.0) = 0.731 (4000 verdicts: se ≈ 0.007).
    assert rate[0] == pytest.approx(1 / (1 + np.exp(-0.5)), abs=0.025)
    assert rate[1] == pytest.approx(1 / (1 + np.exp(-1.0)), abs=0.025)
    assert sim.truth.judge_scale == {"judge-x": 2.0, "human:1": 1.0}
    with pytest.raises(MetaevalError, match=r"`judge_scale` must be a float > 0 or a Mapping; got 0\.0"):
        simulate.pairwise(n_models=3, n_items=5, judge_scale=0.0)


def test_item_effects_correlate_verdicts_within_an_item():
    def item_spread(sd):
        f = simulate.pointwise(n_models=3, n_items=400, judges=(), n_humans=4, scale=None, item_sd=sd,
                               item_difficulty_sd=0.0, judge_offset_sd=0.0, human_noise=0.5, rng=2).judgments.frame
        # The sd across items of a model's mean score over the four humans: noise alone gives 0.5 / 2,
        # item effects add 1.5 · item_sd.
        return f.group_by("item", "model").agg(pl.col("score").mean()).group_by("model") \
            .agg(pl.col("score").std())["score"].mean()
    assert item_spread(0.0) == pytest.approx(0.25, rel=0.1)
    assert item_spread(1.0) == pytest.approx(np.sqrt(1.5 ** 2 + 0.25 ** 2), rel=0.1)
    with pytest.raises(MetaevalError, match="`item_sd`"):
        simulate.pairwise(n_models=3, n_items=5, item_sd=-1.0)


def test_repeats_of_a_verdict_share_the_presentation_order():
    f = simulate.pairwise(n_models=3, n_items=30, n_reps=3, rng=1).judgments.frame
    orders = f.group_by("item", "judge", "model_a", "model_b").agg(pl.col("shown_first").n_unique())
    assert orders["shown_first"].max() == 1 and f["shown_first"].n_unique() == 2
