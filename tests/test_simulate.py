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
    ({"n_models": 1}, "`n_models` must be at least 2"),
    ({"n_items": 0}, "`n_items` must be at least 1"),
    ({"judges": (), "n_humans": 0}, "at least one judge"),
    ({"pairs_per_item": 100}, "`pairs_per_item` must lie in"),
    ({"n_reps": 0}, "`n_reps` must be at least 1"),
    ({"tie_threshold": -1}, "`tie_threshold` must not be negative"),
    ({"rng": -3}, "non-negative integer"),
    ({"rng": "seed"}, "`rng` must be a numpy Generator"),
])
def test_bad_settings(kwargs, message):
    with pytest.raises(MetaevalError, match=message):
        simulate.pairwise(**{"n_models": 4, "n_items": 10, **kwargs})
