"""Resampling weights that any partition of the data can draw on its own.

The Poisson bootstrap (Hanley & MacGibbon 2006; Chamandy et al. 2012, "Estimating uncertainty
for massive data streams") gives every cluster an independent Poisson(1) weight in each
resample instead of drawing a multinomial over all clusters. When the weight of cluster ``c``
in resample ``b`` is a function of (seed, c, b) alone, a machine that holds any subset of the
clusters computes its share of every resample without talking to the others, and the shares
add up to exactly the resample one machine would have drawn: the draws do not depend on how
the data are split, ordered or chunked.

Here the weight is the Poisson(1) quantile of a uniform from SplitMix64 (Steele et al. 2014)
of a 64-bit key: ``key(c)`` is the first 8 bytes of BLAKE2b of the cluster id's text (stable
across machines, Python and polars versions), mixed with the seed and the resample index.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

import numpy as np

from metaeval.errors import MetaevalError

__all__ = ["poisson_cell_counts", "poisson_seed", "poisson_weights", "stable_keys"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
# P(Poisson(1) <= k) for k = 0…19; beyond 19 the tail is below 2^-53
_POISSON1_CDF = np.cumsum([math.exp(-1) / math.factorial(k) for k in range(20)])


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def stable_keys(ids: Iterable[object]) -> np.ndarray:
    """A 64-bit key per cluster id, the same on every machine: BLAKE2b of ``str(id)`` (UTF-8).

    >>> stable_keys(["q1", "q2"]).dtype
    dtype('uint64')
    >>> int(stable_keys(["q1"])[0]) == int(stable_keys(["q1"])[0])
    True
    """
    return np.fromiter((int.from_bytes(hashlib.blake2b(str(v).encode("utf-8"), digest_size=8).digest(), "little")
                        for v in ids), dtype=np.uint64)


def poisson_weights(keys: np.ndarray, n_resamples: int, seed: int, *, start: int = 0) -> np.ndarray:
    """Poisson(1) bootstrap weights, clusters × resamples, from (seed, key, resample index) alone.

    Parameters
    ----------
    keys
        uint64 cluster keys (:func:`stable_keys`).
    n_resamples
        How many resamples (columns); ``start`` offsets their indices, so resamples
        ``start … start + n_resamples − 1`` can be drawn in blocks.
    seed
        A non-negative integer.

    Returns
    -------
    numpy.ndarray
        uint8 weights (a Poisson(1) draw exceeds 19 with probability below 1e-17).

    Examples
    --------
    >>> k = stable_keys(range(1000))
    >>> w = poisson_weights(k, 200, seed=7)
    >>> round(float(w.mean()), 1), round(float(w.var()), 1)
    (1.0, 1.0)
    >>> bool((poisson_weights(k[500:], 200, seed=7) == w[500:]).all())  # any subset draws its own share
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise MetaevalError(f"`seed` must be a non-negative integer; got {seed!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise MetaevalError(f"`n_resamples` must be a positive integer; got {n_resamples!r}")
    keys = np.asarray(keys, dtype=np.uint64)
    base = _splitmix(keys ^ _splitmix(np.array([seed], dtype=np.uint64)))
    idx = np.arange(start + 1, start + n_resamples + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = _splitmix(base[:, None] + idx[None, :] * _GOLDEN)
    u = (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    return np.searchsorted(_POISSON1_CDF, u, side="right").astype(np.uint8)


def poisson_seed(rng: np.random.Generator | int | None) -> int:
    """The integer seed of a Poisson bootstrap from a ``rng`` argument: an integer is used as it
    is (so an in-memory and an out-of-core run with ``rng=7`` draw the same weights); a
    generator or None gives one drawn from it (repeatable only through the generator's state).

    >>> poisson_seed(7)
    7
    """
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise MetaevalError(f"`rng` seed must be a non-negative integer; got {rng}")
        return int(rng)
    from metaeval._random import as_generator

    gen, _ = as_generator(rng)
    return int(gen.integers(0, 2**63 - 1))


def poisson_cell_counts(ids: np.ndarray, cells: np.ndarray, size: int, n_resamples: int, seed: int, *,
                        start: int = 0, block: int = 20_000, out: np.ndarray | None = None) -> np.ndarray:
    """Resampled counts of ``size`` cells: ``out[b, k] = Σ_rows w(cluster of row, b)`` over the rows
    in cell ``k``, with the Poisson(1) weights of :func:`poisson_weights` for resamples
    ``start … start + n_resamples − 1``.

    The rows are first counted per (cluster, cell), then one sparse (cells × clusters) product per
    ``block`` clusters adds every resample at once (memory: ``block × n_resamples`` weights). The
    result holds whole numbers, so shares of any split of the rows add up to it exactly. With
    ``out`` (``n_resamples × size``, float64), the counts are added to it in place.

    Parameters
    ----------
    ids
        The cluster id of each row (any values; they are keyed by their text).
    cells
        The cell index of each row, in ``[0, size)``.

    Examples
    --------
    >>> out = poisson_cell_counts(np.array(["q1", "q1", "q2"]), np.array([0, 1, 1]), 2, 4, seed=0)
    >>> w = poisson_weights(stable_keys(["q1", "q2"]), 4, seed=0)
    >>> bool((out[:, 0] == w[0]).all() and (out[:, 1] == w[0] + w[1]).all())
    True
    """
    from scipy import sparse

    if out is None:
        out = np.zeros((n_resamples, size))
    uniq, inv = np.unique(np.asarray(ids).astype(str), return_inverse=True)
    keys = stable_keys(uniq)
    cells = np.asarray(cells, dtype=np.int64)
    for lo in range(0, len(uniq), block):
        hi = min(lo + block, len(uniq))
        sel = (inv >= lo) & (inv < hi) if len(uniq) > block else slice(None)
        x = sparse.coo_matrix((np.ones(len(cells[sel])), (cells[sel], inv[sel] - lo)), shape=(size, hi - lo)).tocsr()
        w = poisson_weights(keys[lo:hi], n_resamples, seed, start=start).astype(np.float64)
        out += (x @ w).T
    return out
