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
# u = (x >> 11) / 2^53 satisfies u >= CDF_k exactly when (x >> 11) >= ceil(CDF_k · 2^53): the
# quantile in integer compares, bit-identical to searchsorted(_POISSON1_CDF, u, "right")
_THRESHOLDS = np.array([math.ceil(c * 2.0**53) for c in _POISSON1_CDF], dtype=np.uint64)
_COMMON = 4  # weights 0…3 (98.1 % of draws) by four compares; the rest by a search


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def _splitmix_inplace(z: np.ndarray, t: np.ndarray) -> None:
    """:func:`_splitmix` of ``z`` in place (``t``: scratch of the same shape)."""
    with np.errstate(over="ignore"):
        z += _GOLDEN
        np.right_shift(z, np.uint64(30), out=t)
        z ^= t
        z *= _M1
        np.right_shift(z, np.uint64(27), out=t)
        z ^= t
        z *= _M2
        np.right_shift(z, np.uint64(31), out=t)
        z ^= t


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
    with np.errstate(over="ignore"):
        inc = np.arange(start + 1, start + n_resamples + 1, dtype=np.uint64) * _GOLDEN
    w = np.empty((len(keys), n_resamples), dtype=np.uint8)
    # in blocks of about 64 K draws, in place: the arrays stay in cache (memory traffic, not
    # arithmetic, bounds a whole-array version)
    step = max(1, 65_536 // n_resamples)
    z = np.empty((step, n_resamples), dtype=np.uint64)
    t = np.empty_like(z)
    hit = np.empty(z.shape, dtype=bool)
    for lo in range(0, len(keys), step):
        hi = min(lo + step, len(keys))
        zb, tb, hb, wb = z[:hi - lo], t[:hi - lo], hit[:hi - lo], w[lo:hi]
        np.add(base[lo:hi, None], inc[None, :], out=zb)
        _splitmix_inplace(zb, tb)
        np.right_shift(zb, np.uint64(11), out=zb)
        np.greater_equal(zb, _THRESHOLDS[0], out=hb)
        wb[...] = hb
        for th in _THRESHOLDS[1:_COMMON]:
            np.greater_equal(zb, th, out=hb)
            wb += hb
        np.greater_equal(zb, _THRESHOLDS[_COMMON - 1], out=hb)
        if hb.any():
            tail = np.flatnonzero(hb)
            wb.ravel()[tail] = np.searchsorted(_THRESHOLDS, zb.ravel()[tail], side="right")
    return w


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
                        start: int = 0, budget: int = 2**25, out: np.ndarray | None = None) -> np.ndarray:
    """Resampled counts of ``size`` cells: ``out[b, k] = Σ_rows w(cluster of row, b)`` over the rows
    in cell ``k``, with the Poisson(1) weights of :func:`poisson_weights` for resamples
    ``start … start + n_resamples − 1``.

    The rows are first counted per (cell, cluster) in one sparse matrix, then multiplied by the
    clusters' weights a block of resamples at a time (about ``budget`` weights per block), each
    product added to the cells the rows touch. The result holds whole numbers, so shares of any
    split of the rows add up to it exactly. With ``out`` (``n_resamples × size``, float64), the
    counts are added to it in place; the fastest layout is the transpose of a C-ordered
    ``size × n_resamples`` array (as returned).

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
        out = np.zeros((size, n_resamples)).T
    target = out.T  # cells × resamples: contiguous rows when ``out`` is the transpose of a C array
    uniq, inv = np.unique(np.asarray(ids).astype(str), return_inverse=True)
    keys = stable_keys(uniq)
    cells = np.asarray(cells, dtype=np.int64)
    used, row = np.unique(cells, return_inverse=True)  # the cells the rows touch
    dense = len(used) > size // 2  # most cells: add whole columns rather than gather rows
    # float32 is exact here: a chunk's count in one cell and resample stays far below 2^24
    exact32 = len(cells) * 20 < 2**24
    dtype = np.float32 if exact32 else np.float64
    x = sparse.csr_matrix((np.ones(len(cells), dtype=dtype), (cells if dense else row, inv)),
                          shape=(size if dense else len(used), len(uniq)))
    step = max(1, min(n_resamples, budget // max(len(uniq), 1)))
    for r0 in range(0, n_resamples, step):
        r1 = min(r0 + step, n_resamples)
        w = poisson_weights(keys, r1 - r0, seed, start=start + r0).astype(dtype)  # clusters × block
        if dense:
            target[:, r0:r1] += x @ w
        else:
            target[used, r0:r1] += x @ w
    return out
