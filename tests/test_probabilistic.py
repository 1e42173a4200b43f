"""Calibration error, Brier score and selective accuracy: values against formulas, intervals by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metaeval.errors import MetaevalError
from metaeval.stats.probabilistic import brier, calibration_error, selective_accuracy


def _target_l2(bins: int = 10) -> float:
    # p ~ U(0, 1), P(y = 1 | p) = p²: per uniform bin, E[p] is the centre and E[y] the mean of p² over it
    edges = np.linspace(0, 1, bins + 1)
    lo, hi = edges[:-1], edges[1:]
    ep, ey = (lo + hi) / 2, (hi**3 - lo**3) / (3 * (hi - lo))
    return math.sqrt(np.mean((ep - ey) ** 2))


def test_debiased_l2_calibration_error_is_unbiased_and_its_interval_covers():
    rng = np.random.default_rng(3)
    target = _target_l2()
    est, hits, sims = [], 0, 200
    for s in range(sims):
        p = rng.uniform(size=500)
        y = (rng.uniform(size=500) < p**2).astype(float)
        e = calibration_error(p, y, bins=10, strategy="uniform", n_resamples=200, rng=s)
        est.append(e.estimate)
        hits += e.ci.contains(target)
    assert abs(np.mean(est) - target) < 0.01
    assert 0.91 <= hits / sims <= 0.99, hits / sims


def test_plug_in_l1_is_biased_up_for_a_calibrated_predictor_and_debiased_l2_is_not():
    rng = np.random.default_rng(4)
    l1, l2 = [], []
    for s in range(50):
        p = rng.uniform(size=300)
        y = (rng.uniform(size=300) < p).astype(float)
        l1.append(calibration_error(p, y, norm="l1", n_resamples=10, rng=s).estimate)
        l2.append(calibration_error(p, y, norm="l2", n_resamples=10, rng=s).estimate)
    assert np.mean(l1) > 0.03  # the plug-in ECE of a perfectly calibrated predictor
    assert abs(np.mean(l2)) < 0.02


def test_brier_score_its_interval_and_murphy_decomposition():
    rng = np.random.default_rng(5)
    p = rng.uniform(size=1000)
    y = (rng.uniform(size=1000) < p).astype(float)
    b = brier(p, y)
    assert b.score.estimate == pytest.approx(np.mean((p - y) ** 2))
    assert b.reliability - b.resolution + b.uncertainty + b.within_bin == pytest.approx(b.score.estimate)
    assert b.uncertainty == pytest.approx(y.mean() * (1 - y.mean()))
    assert b.reliability < 0.01 and b.score.ci.low < b.score.estimate < b.score.ci.high
    hits = 0
    truth = 1 / 6  # E[(p − y)²] = E[p(1 − p)] for a calibrated predictor with p ~ U(0, 1)
    for _ in range(400):
        p = rng.uniform(size=200)
        y = (rng.uniform(size=200) < p).astype(float)
        hits += brier(p, y).score.ci.contains(truth)
    assert 0.93 <= hits / 400 <= 0.975


def test_selective_accuracy_curve_and_area():
    conf = np.array([0.99, 0.9, 0.8, 0.7, 0.6, 0.5])
    correct = np.array([1, 1, 1, 0, 1, 0])
    table, area = selective_accuracy(conf, correct, points=3)
    assert table["accuracy"].to_list() == [1.0, 0.75, pytest.approx(4 / 6)]
    assert area == pytest.approx(np.mean([1, 1, 1, 0.75, 0.8, 4 / 6]))


def test_bad_inputs_are_clear_errors():
    with pytest.raises(MetaevalError, match=r"`p` must lie in \[0, 1\]; got 1.5 at position 1"):
        calibration_error([0.2, 1.5], [0, 1])
    with pytest.raises(MetaevalError, match="`y` must be 0, 1 or ½"):
        brier([0.2, 0.5], [0, 2])
    with pytest.raises(MetaevalError, match="one length"):
        brier([0.2, 0.5], [0])
    with pytest.raises(MetaevalError, match="`bins`"):
        calibration_error([0.2, 0.5, 0.7], [0, 1, 1], bins=0)
