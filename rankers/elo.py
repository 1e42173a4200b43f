"""Online Elo, and how much its ratings depend on the order of the battles.

Elo updates after each battle: r_a += K (s_a − E_a), r_b −= K (s_a − E_a), with
E_a = 1 / (1 + 10^((r_b − r_a) / 400)) and s_a ∈ {1, ½, 0}. Unlike Bradley–Terry, the result
depends on the order of the battles; :func:`elo_permutation_spread` measures that dependence
by re-running Elo over random orders — the reason Bradley–Terry is preferred for static data.

>>> import numpy as np
>>> from metaeval.rankers.elo import elo_battles
>>> elo_battles(np.array([0, 0]), np.array([1, 1]), np.array([1.0, 1.0]), 2, k=32).round(2).tolist()
[1030.53, 969.47]
"""

from __future__ import annotations

import math

import numpy as np

from metaeval.errors import ParameterError

__all__ = ["elo_battles", "elo_permutation_spread"]


def elo_battles(
    ia: np.ndarray,
    ib: np.ndarray,
    score_a: np.ndarray,
    n_models: int,
    *,
    k: float = 4.0,
    init: float = 1000.0,
    scale: float = 400.0,
    base: float = 10.0,
) -> np.ndarray:
    """Elo ratings after the battles in the given order.

    ``ia``, ``ib`` are model indices, ``score_a`` is 1 (a won), ½ (tie) or 0.
    """
    if k <= 0:
        raise ParameterError(f"`k` must be positive; got {k}")
    ratings = [float(init)] * n_models
    alpha = math.log(base) / scale
    exp = math.exp
    for a, b, s in zip(ia.tolist(), ib.tolist(), score_a.tolist(), strict=True):
        ra, rb = ratings[a], ratings[b]
        expected = 1.0 / (1.0 + exp(alpha * (rb - ra)))
        delta = k * (s - expected)
        ratings[a] = ra + delta
        ratings[b] = rb - delta
    return np.array(ratings)


def elo_permutation_spread(
    ia: np.ndarray,
    ib: np.ndarray,
    score_a: np.ndarray,
    n_models: int,
    *,
    n_permutations: int = 20,
    rng: np.random.Generator,
    k: float = 4.0,
    init: float = 1000.0,
) -> np.ndarray:
    """Elo ratings over ``n_permutations`` random battle orders (n_permutations × n_models)."""
    out = np.empty((n_permutations, n_models))
    for p in range(n_permutations):
        order = rng.permutation(len(ia))
        out[p] = elo_battles(ia[order], ib[order], score_a[order], n_models, k=k, init=init)
    return out
