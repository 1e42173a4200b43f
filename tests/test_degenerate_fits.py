"""Degenerate paired-comparison fits are reported honestly: an all-ties table gives equal
ratings, every model at rank 1, P(best) = 1/m and an infinite tie parameter, with an
EstimationWarning saying why (before: Davidson's ν ran to ~1e13 and P(best) came from the float
noise of the strengths); a table without ties puts the tie parameter at its boundary 0 (the
Bradley–Terry fit); ratings equal up to float noise share their rank."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

import metaeval
from metaeval.errors import EstimationWarning
from metaeval.rankers import rank
from metaeval.rankers.bradley_terry import bt_newton_counts
from metaeval.rankers.ties import davidson_counts, rao_kupper_counts
from metaeval.tables import PairwiseCounts

MODELS = ("a", "b", "c", "d")


def all_ties(n_items: int = 30) -> metaeval.Judgments:
    rows = [{"item": f"q{i}", "judge": "j", "model_a": MODELS[x], "model_b": MODELS[y], "outcome": "tie"}
            for i in range(n_items) for x in range(4) for y in range(x + 1, 4)]
    return metaeval.read(pl.DataFrame(rows))


@pytest.mark.parametrize("method", ["davidson", "rao_kupper", "bradley_terry", "auto"])
@pytest.mark.parametrize("cluster", [None, "item"])
def test_an_all_ties_table_gives_honest_uniform_ranks_with_a_warning(method, cluster):
    with pytest.warns(EstimationWarning, match=r"no verdict is decisive \(all 180 are ties\).*P\(best\) is 1/4"):
        res = rank(all_ties(), method, n_resamples=60, cluster=cluster, rng=0)
    assert np.all(res.rating == 0) and np.all(res.ci_low == 0) and np.all(res.ci_high == 0)
    assert res.rank.tolist() == [1, 1, 1, 1]
    assert np.all(res.rank_low == 1) and np.all(res.rank_high == 1)
    assert np.all(res.p_best == 0.25)
    assert res.n_degenerate == 0
    if res.method in ("davidson", "rao_kupper"):
        assert res.tie_parameter == np.inf


def test_the_tie_kernels_return_the_boundary_not_where_the_optimiser_stopped():
    ties = np.array([[0, 3, 1], [3, 0, 2], [1, 2, 0]], float)
    for kernel in (davidson_counts, rao_kupper_counts):
        theta, param = kernel(np.zeros((3, 3)), ties)
        assert theta.tolist() == [0.0, 0.0, 0.0] and param == np.inf
    wins = np.array([[0, 3, 2], [1, 0, 2], [2, 1, 0]], float)
    bt = bt_newton_counts(wins)[0]
    for kernel in (davidson_counts, rao_kupper_counts):
        theta, param = kernel(wins, np.zeros((3, 3)))
        assert param == 0.0
        np.testing.assert_allclose(theta, bt - bt.mean(), atol=1e-12)
    # with a prior the boundary fit is Bradley–Terry's MAP
    np.testing.assert_allclose(davidson_counts(wins, np.zeros((3, 3)), prior=0.5)[0],
                               bt_newton_counts(wins, prior=0.5)[0], atol=1e-10)


def test_a_tie_model_on_a_table_without_ties_warns_and_is_bradley_terry():
    wins = np.array([[0, 6, 5], [2, 0, 4], [3, 2, 0]], float)
    pc = PairwiseCounts(("x", "y", "z"), wins, np.zeros((3, 3)))
    for method, name in (("davidson", "Davidson's tie parameter"), ("rao_kupper", "Rao–Kupper's threshold")):
        with pytest.warns(EstimationWarning, match=f"no verdict is a tie: {name}.* is 0"):
            res = rank(pc, method, ci="none")
        assert res.tie_parameter == 0.0
        np.testing.assert_allclose(res.rating, rank(pc, "bradley_terry", ci="none").rating, atol=1e-9)


def test_a_table_with_wins_and_ties_fits_without_a_warning():
    wins = np.array([[0, 6, 5], [2, 0, 4], [3, 2, 0]], float)
    ties = np.array([[0, 2, 1], [2, 0, 3], [1, 3, 0]], float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = rank(PairwiseCounts(("x", "y", "z"), wins, ties), "davidson", n_resamples=50, rng=0)
    assert 0 < res.tie_parameter < np.inf and res.rank.tolist() == [1, 2, 3]


def test_ratings_equal_up_to_float_noise_share_their_rank():
    """Model 4 has exactly model 0's record; Newton leaves them ~1e-16 apart (before: ranks 1 and
    2, or 2 and 1, by the noise)."""
    rng = np.random.default_rng(0)
    m = 5
    w = rng.integers(0, 5, (m, m)).astype(float)
    np.fill_diagonal(w, 0)
    t = np.triu(rng.integers(0, 3, (m, m)).astype(float), 1)
    t = t + t.T
    for arr, between in ((w, 2.0), (t, 1.0)):
        arr[4, :], arr[:, 4] = arr[0, :], arr[:, 0]
        arr[0, 4] = arr[4, 0] = between
        arr[4, 4] = 0
    res = rank(PairwiseCounts(tuple("pqrst"), w, t), "bradley_terry", ci="none")
    assert res.rating[0] != res.rating[4]  # the noise is there ...
    assert abs(res.rating[0] - res.rating[4]) < 1e-12
    assert res.rank[0] == res.rank[4]  # ... and does not decide the rank
