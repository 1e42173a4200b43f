"""The ranker registry (``metaeval.rankers.RANKERS``): ``rank()`` is a lookup in it, and every
entry keeps what it declares — the data kinds it accepts, the intervals it offers, and its
properties (relabelling and gauge invariance, monotonicity in wins), each checked here on
simulated tables for every registered ranker."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import metaeval
from metaeval.errors import MetaevalError
from metaeval.rankers import RANKERS, rank

PAIRS = metaeval.simulate.pairwise(n_models=4, n_items=80, tie_threshold=0.4, rng=3).judgments
SCORES = metaeval.simulate.pointwise(n_models=4, n_items=60, rng=4).judgments
# equilibrium ratings read per-item scores from pairs against one baseline model
BASELINE = metaeval.Judgments(PAIRS.frame.filter((pl.col("model_a") == PAIRS.models[0])
                                                 | (pl.col("model_b") == PAIRS.models[0])), kind="pairwise")
MCMC = {"bayesian_bradley_terry"}  # sampled: its properties are checked in test_bayes (slow)
FAST = sorted(set(RANKERS) - MCMC)


def _pairs(name: str) -> metaeval.Judgments:
    return BASELINE if name == "equilibrium" else PAIRS


def _data(name: str) -> metaeval.Judgments:
    return SCORES if "pairwise" not in RANKERS[name].data else _pairs(name)


def _fit(name: str, judgments: metaeval.Judgments, **kw) -> dict[str, float]:
    r = rank(judgments, name, ci="none", **kw)
    return dict(zip(r.models, np.asarray(r.rating, float), strict=True))


def test_rank_is_a_lookup_in_the_registry():
    assert set(metaeval.rankers.METHODS) == {"auto", *RANKERS}
    for name, spec in RANKERS.items():
        assert spec.name == name and spec.data and spec.intervals and spec.reference
        assert spec.properties <= {"relabelling", "gauge", "monotone_in_wins"}


@pytest.mark.parametrize("name", FAST)
def test_declared_data_kinds_are_accepted_and_the_others_refused(name):
    spec = RANKERS[name]
    inputs = {"pairwise": _pairs(name), "pointwise": SCORES, "counts": _pairs(name).pairwise_counts(),
              "scores": SCORES.score_matrix()}
    for kind, data in inputs.items():
        if kind in spec.data:
            r = rank(data, name, ci="none")
            assert np.all(np.isfinite(r.rating)), (name, kind)
        else:
            with pytest.raises(MetaevalError):
                rank(data, name, ci="none")


@pytest.mark.parametrize("name", FAST)
def test_declared_intervals_are_offered_and_the_others_refused(name):
    spec = RANKERS[name]
    data = _data(name)
    for ci in ("bootstrap", "sandwich", "none"):
        if ci in spec.intervals:
            r = rank(data, name, ci=ci, n_resamples=20, rng=0)
            if ci != "none":
                assert np.all(r.ci_low <= r.ci_high + 1e-12), (name, ci)
        else:
            with pytest.raises(MetaevalError):
                rank(data, name, ci=ci, n_resamples=20, rng=0)


def _relabel(judgments: metaeval.Judgments, mapping: dict[str, str]) -> metaeval.Judgments:
    f = judgments.frame
    cols = [c for c in ("model", "model_a", "model_b") if c in f.columns]
    return metaeval.Judgments(f.with_columns(pl.col(c).replace_strict(mapping) for c in cols), kind=judgments.kind)


@pytest.mark.parametrize("name", [n for n in FAST if "relabelling" in RANKERS[n].properties])
def test_relabelling_permutes_the_ratings(name):
    data = _data(name)
    models = list(data.models)
    mapping = {m: f"z{len(models) - i}_{m}" for i, m in enumerate(models)}  # reverses the sort order
    before = _fit(name, data)
    after = _fit(name, _relabel(data, mapping))
    for m in models:
        assert after[mapping[m]] == pytest.approx(before[m], abs=1e-8), name


@pytest.mark.parametrize("name", [n for n in FAST if "gauge" in RANKERS[n].properties])
def test_an_anchor_only_shifts_the_ratings(name):
    data = _data(name)
    free = _fit(name, data)
    pinned = _fit(name, data, anchor=data.models[1], anchor_value=3.0)
    shift = {m: pinned[m] - free[m] for m in free}
    assert pinned[data.models[1]] == pytest.approx(3.0)
    assert np.ptp(list(shift.values())) < 1e-8, (name, shift)


@pytest.mark.parametrize("name", [n for n in FAST if "monotone_in_wins" in RANKERS[n].properties])
def test_one_more_win_never_lowers_the_winner_against_the_loser(name):
    data = PAIRS
    models = data.models
    base = _fit(name, data)
    f = data.frame
    for winner, loser in ((models[0], models[3]), (models[3], models[0]), (models[1], models[2])):
        extra = f.head(1).with_columns(pl.lit(winner).alias("model_a"), pl.lit(loser).alias("model_b"),
                                       pl.lit("a").cast(f.schema["outcome"]).alias("outcome"),
                                       pl.lit("extra").alias("item"))
        more = metaeval.Judgments(pl.concat([f, extra]), kind="pairwise")
        after = _fit(name, more)
        assert after[winner] - after[loser] >= base[winner] - base[loser] - 1e-9, (name, winner, loser)


@pytest.mark.parametrize("name", FAST)
def test_confidence_interval_at_the_ranking_level_is_the_reported_interval(name):
    spec = RANKERS[name]
    for ci in [c for c in spec.intervals if c != "none"]:
        r = rank(_data(name), name, ci=ci, n_resamples=40, rng=1)
        lo, hi = r.confidence_interval(r.confidence_level)
        np.testing.assert_allclose(lo, r.ci_low, atol=1e-9, err_msg=f"{name} {ci}")
        np.testing.assert_allclose(hi, r.ci_high, atol=1e-9, err_msg=f"{name} {ci}")
        lo80, hi80 = r.confidence_interval(0.8)
        assert np.all(hi80 - lo80 <= hi - lo + 1e-12), (name, ci)
