"""Chatbot Arena's current Bradley–Terry method, reimplemented from its public description
(FastChat ``rating_systems.py``, 2024): battles deduplicated into unique (model_a, model_b,
outcome) rows with counts, a tie as outcome ½, ratings fitted directly on the Elo scale with
``alpha = ln(base) / scale`` by L-BFGS from zeros, then offset by ``init_rating`` and anchored at
a baseline model; the bootstrap draws multinomial counts over the unique rows and refits.

Used by ``bench_rankers.py`` (the speed comparison) and by the parity test.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit


def preprocess(model_a: np.ndarray, model_b: np.ndarray, outcome: np.ndarray, n_models: int):
    """Unique (a, b, outcome code) rows and their counts; outcome code 2 = a won, 1 = tie, 0 = b won."""
    schedule = np.column_stack([model_a, model_b, outcome]).astype(np.int64)
    rows, counts = np.unique(schedule, return_counts=True, axis=0)
    return rows[:, :2], rows[:, 2].astype(float) / 2.0, counts.astype(float)


def loss_and_grad(ratings, matchups, outcomes, weights, alpha):
    logits = alpha * (ratings[matchups[:, 0]] - ratings[matchups[:, 1]])
    probs = expit(logits)
    loss = -((np.log(probs) * outcomes + np.log(1.0 - probs) * (1.0 - outcomes)) * weights).sum()
    g = -alpha * (outcomes - probs) * weights
    grad = np.zeros_like(ratings)
    np.add.at(grad, matchups[:, 0], g)
    np.add.at(grad, matchups[:, 1], -g)
    return loss, grad


def fit(matchups, outcomes, weights, n_models, *, base=10.0, scale=400.0, tol=1e-6, ftol=None):
    alpha = math.log(base) / scale
    res = minimize(loss_and_grad, np.zeros(n_models), args=(matchups, outcomes, weights, alpha), jac=True,
                   method="L-BFGS-B",
                   options={"maxiter": 10_000, "gtol": tol, **({"ftol": ftol} if ftol is not None else {})})
    return res.x


def scale_and_offset(ratings, *, init_rating=1000.0, baseline: int | None = None, baseline_rating=1114.0):
    out = ratings + init_rating
    if baseline is not None:
        out = out + (baseline_rating - out[..., baseline:baseline + 1])
    return out


def bootstrap(matchups, outcomes, weights, n_models, n_rounds, rng, *, tol=1e-6):
    total = int(weights.sum())
    draws = rng.multinomial(total, weights / weights.sum(), size=n_rounds)
    return np.array([fit(matchups, outcomes, d.astype(float), n_models, tol=tol) for d in draws])
