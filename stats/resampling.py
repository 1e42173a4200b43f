"""The one home of resampling: cluster weights, the bootstrap, its intervals, p-values and rank
statistics.

Every analysis that reports a bootstrap interval draws its weights here and takes its interval
here:

- :func:`cluster_weights` — how often each cluster (item, judge, battle, any unit) enters each
  resample: multinomial (resampling the clusters with replacement, the classic bootstrap) or
  Poisson(1) (mergeable across partitions, below);
- :func:`resample_indices` — the same resampling as index draws, a block of resamples at a
  time, for a statistic that gathers the drawn units rather than weighting them;
- :func:`bootstrap` — a statistic over resampled clusters, as a :class:`Bootstrap`: the draws,
  their standard error, the count of degenerate resamples (no estimate: ``nan``) and
  :meth:`Bootstrap.confidence_interval` (percentile or BCa);
- :func:`percentile_interval` — the central ``confidence_level`` of draws (``nan`` draws left
  out), the interval every bootstrap and posterior in metaeval reports;
- :func:`bootstrap_pvalue` — the two-sided percentile-bootstrap p-value of "the difference is 0";
- :func:`rank_statistics` — rank intervals and P(best) from draws × models.

Defaults (documented here once; every public bootstrap points here)
-------------------------------------------------------------------
**How many resamples.** Every bootstrap in metaeval defaults to ``n_resamples =``
:data:`DEFAULT_N_RESAMPLES` ``= 1000``. A percentile interval at 95 % is read off the 2.5 % and
97.5 % quantiles of the draws, i.e. the 25th draw from each end: Efron & Tibshirani (1993, An
Introduction to the Bootstrap, §19.3) recommend about 1000 resamples for percentile intervals
(a standard error alone needs 25–200), and at 1000 the Monte Carlo error of the bounds is small
beside their sampling error. Pass more for a smoother interval, fewer for a quick look.

Monte Carlo *p-values* that are not bootstrap intervals — the sign-flip (paired permutation)
test, the studentised bootstrap test, and the tests :func:`metaeval.compare`,
:func:`metaeval.stats.all_pairs` and the probe report run — default to
:data:`DEFAULT_N_TEST_RESAMPLES` ``= 10_000`` instead: such a p-value is a count over the
resamples, (1 + #{as extreme}) / (R + 1), so it cannot fall below 1 / (R + 1) and its Monte
Carlo standard error at p = 0.05 is sqrt(0.05 · 0.95 / R) (0.007 at R = 1000, 0.002 at
10 000). After a multiplicity adjustment (Holm over k pairs compares the smallest p-value with
α / k: 0.0011 for 45 pairs at α = 0.05) 1000 resamples cannot resolve the threshold.

**What is resampled (the cluster).** Battles or verdicts on one prompt share that prompt's
difficulty and style, so they are correlated; resampling them one by one treats them as
independent and gives intervals that are too narrow. The rule: resample the *item* (the prompt)
whenever the data has item ids — a :class:`~metaeval.Judgments` table always has them, a lazy
scan has its ``cluster`` column — and resample single rows (battles, cells) only when the data
has no item ids (a :class:`~metaeval.PairwiseCounts` matrix, a ``ScoreMatrix``'s tasks).
Functions that take ``cluster=`` default to :data:`DEFAULT_CLUSTER` ``= "auto"``, which applies
this rule (:func:`resolve_cluster`); a column name (``"item"``, ``"judge"``, a user id)
resamples that column's groups, and ``"none"`` (or ``None``) resamples single rows. Agreement,
win rates and the juries' statistics resample items by construction.

Intervals are percentile intervals at ``confidence_level`` (:func:`percentile_interval`).

Poisson weights
---------------
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

import contextlib
import hashlib
import math
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats as st

from metaeval._random import as_generator, resample_counts
from metaeval.errors import EstimationWarning, InsufficientDataError, MetaevalError, ParameterError, warn

__all__ = [
    "DEFAULT_CLUSTER",
    "DEFAULT_N_RESAMPLES",
    "DEFAULT_N_TEST_RESAMPLES",
    "Bootstrap",
    "bootstrap",
    "bootstrap_pvalue",
    "cluster_weights",
    "percentile_interval",
    "poisson_cell_counts",
    "poisson_seed",
    "poisson_weights",
    "rank_statistics",
    "resample_indices",
    "resolve_cluster",
    "stable_keys",
    "tied_ranks",
]

#: The one default number of bootstrap resamples (see the module docstring).
DEFAULT_N_RESAMPLES = 1000
#: The default number of resamples of a Monte Carlo p-value (permutation, sign-flip and
#: bootstrap tests): finer than :data:`DEFAULT_N_RESAMPLES`, see the module docstring.
DEFAULT_N_TEST_RESAMPLES = 10_000
#: The default ``cluster=``: the item when the data has item ids, else single rows.
DEFAULT_CLUSTER = "auto"


def resolve_cluster(cluster: str | None, item: str | None) -> str | None:
    """The column a bootstrap resamples: the package's cluster rule (module docstring).

    Parameters
    ----------
    cluster : str or None
        What the caller passed: ``"auto"`` (:data:`DEFAULT_CLUSTER`), ``"none"`` or ``None``
        (single rows), or a column name.
    item : str or None
        The data's item-id column, or ``None`` when the data has no item ids (a counts matrix).

    Returns
    -------
    str or None
        The column to resample by, or ``None`` for single rows.

    Examples
    --------
    >>> resolve_cluster("auto", "item"), resolve_cluster("auto", None)
    ('item', None)
    >>> resolve_cluster("none", "item"), resolve_cluster(None, "item"), resolve_cluster("judge", "item")
    (None, None, 'judge')
    """
    if cluster is None or cluster == "none":
        return None
    if cluster == DEFAULT_CLUSTER:
        return item
    return cluster


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
        raise ParameterError(f"`seed` must be a non-negative integer; got {seed!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ParameterError(f"`n_resamples` must be a positive integer; got {n_resamples!r}")
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

    gen, _ = as_generator(rng)
    return int(gen.integers(0, 2**63 - 1))


def poisson_cell_counts(ids: np.ndarray, cells: np.ndarray, size: int, n_resamples: int, seed: int, *,
                        start: int = 0, budget: int = 2**25, out: np.ndarray | None = None,
                        threads: int | None = None) -> np.ndarray:
    """Resampled counts of ``size`` cells: ``out[b, k] = Σ_rows w(cluster of row, b)`` over the rows
    in cell ``k``, with the Poisson(1) weights of :func:`poisson_weights` for resamples
    ``start … start + n_resamples − 1``.

    The rows are first counted per (cell, cluster) in one sparse matrix, then multiplied by the
    clusters' weights a block of resamples at a time (about ``budget`` weights per block), each
    product added to the cells the rows touch. The result holds whole numbers, so shares of any
    split of the rows add up to it exactly. With ``out`` (``n_resamples × size``, float64), the
    counts are added to it in place; the fastest layout is the transpose of a C-ordered
    ``size × n_resamples`` array (as returned). Blocks of resamples can run on ``threads`` threads
    (default 1); each block writes its own columns, so the counts do not depend on the number
    of threads. The threads share the ``budget``, but each new thread's allocator keeps memory
    of its own: on 10M battles, 2 threads were 15 % faster and peaked 0.4 GB higher than 1,
    so one thread is the default where memory is the constraint.

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
    threads = 1 if threads is None else threads
    # the weight budget is shared by the threads: memory does not grow with them
    step = max(1, min(n_resamples, budget // max(threads, 1) // max(len(uniq), 1)))

    def block(r0: int) -> None:  # resamples r0 … r0 + step − 1: columns no other block touches
        r1 = min(r0 + step, n_resamples)
        w = poisson_weights(keys, r1 - r0, seed, start=start + r0).astype(dtype)  # clusters × block
        if dense:
            target[:, r0:r1] += x @ w
        else:
            target[used, r0:r1] += x @ w

    blocks = range(0, n_resamples, step)
    workers = min(threads, len(blocks))
    if workers <= 1:
        for r0 in blocks:
            block(r0)
    else:  # numpy and scipy's sparse product release the GIL: blocks run in parallel, same numbers
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(block, blocks))
    return out


# ------------------------------------------------------------------------------ weights
def cluster_weights(n_clusters: int, n_resamples: int, rng: np.random.Generator | int | None, *,
                    kind: Literal["multinomial", "poisson"] = "multinomial",
                    keys: np.ndarray | None = None) -> np.ndarray:
    """How often each of ``n_clusters`` clusters enters each resample: ``n_resamples × n_clusters``.

    ``"multinomial"`` resamples the clusters with replacement (each row sums to
    ``n_clusters``), drawn from ``rng``; ``"poisson"`` gives each cluster an independent
    Poisson(1) weight from (seed, cluster key, resample index) alone — ``keys`` are the clusters'
    :func:`stable_keys` (default: their positions) and ``rng`` must then be an integer seed — so
    any subset of the clusters draws its own share of the same resamples.

    >>> w = cluster_weights(5, 3, 0)
    >>> w.shape, w.sum(axis=1).tolist()
    ((3, 5), [5.0, 5.0, 5.0])
    >>> p = cluster_weights(5, 3, 7, kind="poisson", keys=stable_keys("abcde"))
    >>> bool((cluster_weights(2, 3, 7, kind="poisson", keys=stable_keys("de")) == p[:, 3:]).all())
    True
    """
    if kind == "multinomial":
        gen = rng if isinstance(rng, np.random.Generator) else as_generator(rng)[0]
        return resample_counts(gen, int(n_clusters), int(n_resamples))
    if kind != "poisson":
        raise ParameterError(f"`kind` must be 'multinomial' or 'poisson'; got {kind!r}")
    if isinstance(rng, np.random.Generator) or rng is None:
        raise MetaevalError("Poisson weights are drawn from an integer seed (`rng=<int>`), not a generator: the "
                            "seed is what lets every partition draw the same resamples")
    k = stable_keys(range(int(n_clusters))) if keys is None else np.asarray(keys, dtype=np.uint64)
    if k.size != n_clusters:
        raise ParameterError(f"`keys` must give one key per cluster ({n_clusters}); got {k.size}")
    return poisson_weights(k, int(n_resamples), int(rng)).T.astype(float)


def resample_indices(n_clusters: int, n_resamples: int, rng: np.random.Generator | int | None, *,
                     block: int = 500) -> Iterator[tuple[int, np.ndarray]]:
    """The clusters of each resample as indices: ``n_clusters`` draws with replacement per
    resample, ``block`` resamples at a time.

    For a statistic that gathers the drawn units (``x[idx].mean(axis=1)``) instead of weighting
    them (:func:`cluster_weights`): the same resampling, with memory bounded by ``block ×
    n_clusters`` indices. The indices come from one stream of ``rng.integers(0, n_clusters)``
    in resample order, so the block size changes the memory used, never the draws.

    Parameters
    ----------
    n_clusters : int
        How many clusters to draw from (and how many draws per resample).
    n_resamples : int
        How many resamples.
    rng : int, numpy.random.Generator or None
        The generator (or seed).
    block : int, default 500
        Resamples per block.

    Yields
    ------
    (int, numpy.ndarray)
        The index of the block's first resample and its ``size × n_clusters`` int64 indices.

    Examples
    --------
    >>> blocks = list(resample_indices(4, 5, 0, block=2))
    >>> [(start, idx.shape) for start, idx in blocks]
    [(0, (2, 4)), (2, (2, 4)), (4, (1, 4))]
    >>> whole = np.concatenate([idx for _, idx in resample_indices(4, 5, 0, block=5)])
    >>> bool((np.concatenate([idx for _, idx in blocks]) == whole).all())
    True
    """
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise ParameterError(f"`block` must be a positive integer; got {block!r}")
    if n_clusters < 1:
        raise InsufficientDataError("the bootstrap needs at least one cluster")
    gen = rng if isinstance(rng, np.random.Generator) else as_generator(rng)[0]
    for start in range(0, int(n_resamples), int(block)):
        size = min(int(block), int(n_resamples) - start)
        yield start, gen.integers(0, n_clusters, (size, n_clusters))


# ----------------------------------------------------------------------------- intervals
def percentile_interval(draws: np.ndarray, confidence_level: float, *, axis: int | None = 0,
                        nan_policy: Literal["omit", "propagate"] = "omit") -> tuple[Any, Any]:
    """The central ``confidence_level`` of the draws along ``axis``: the percentile interval.

    Draws that are ``nan`` (resamples without an estimate) are left out (``nan_policy="omit"``;
    where none is left the bounds are ``nan``) or make the bounds ``nan``
    (``"propagate"``). Linear interpolation between order statistics (numpy's default).

    >>> percentile_interval(np.arange(5.0), 0.5)
    (1.0, 3.0)
    >>> lo, hi = percentile_interval(np.array([[0.0, np.nan], [1.0, np.nan]]), 0.5)
    >>> lo.tolist(), hi.tolist()
    ([0.25, nan], [0.75, nan])
    """
    d = np.asarray(draws, dtype=float)
    a = (1 - confidence_level) / 2
    if d.size == 0:
        return float("nan"), float("nan")
    with np.errstate(all="ignore"), _all_nan_is_nan():
        quantile = np.nanquantile if nan_policy == "omit" and np.isnan(d).any() else np.quantile
        lo, hi = quantile(d, [a, 1 - a], axis=axis)
    if np.ndim(lo) == 0:
        return float(lo), float(hi)
    return lo, hi


@contextlib.contextmanager
def _all_nan_is_nan() -> Iterator[None]:
    """numpy warns 'All-NaN slice' for a column with no usable draw; its bound is nan, as documented."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="All-NaN slice", category=RuntimeWarning)
        yield


def bootstrap_pvalue(diff: np.ndarray) -> float:
    """Two-sided percentile-bootstrap p-value of "the difference is 0", add-one corrected
    (Davison & Hinkley 1997, eq. 4.11): twice the smaller share of resampled differences on
    either side of 0. ``nan`` draws are left out; with none left the p-value is ``nan``.

    >>> bootstrap_pvalue(np.array([0.5, 1.0, 1.5, -0.2]))
    0.8
    """
    d = np.asarray(diff, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan")
    lo = (1 + np.sum(d <= 0)) / (d.size + 1)
    hi = (1 + np.sum(d >= 0)) / (d.size + 1)
    return float(min(1.0, 2 * min(lo, hi)))


# ------------------------------------------------------------------------- rank statistics
def tied_ranks(values: np.ndarray, rel: float = 1e-9) -> np.ndarray:
    """Ranks (1 = largest, ties share the best rank) of each row of ``values``, with values that
    differ by less than ``rel`` × max(1, the row's largest |value|) counted as equal: a fit
    stops within ~1e-10 of its optimum, so closer ratings differ by float noise, and a rank or
    P(best) drawn from that noise would be made up.

    >>> tied_ranks(np.array([[1.0, 1.0 + 1e-14, 0.5, 2.0]])).tolist()
    [[2.0, 2.0, 4.0, 1.0]]
    """
    order = np.argsort(-values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    tol = rel * np.maximum(1.0, np.max(np.abs(values), axis=1, keepdims=True))
    step = np.concatenate([np.ones((len(values), 1), bool), (ordered[:, :-1] - ordered[:, 1:]) > tol], axis=1)
    position = np.broadcast_to(np.arange(1, values.shape[1] + 1, dtype=float), values.shape)
    first = np.maximum.accumulate(np.where(step, position, 0.0), axis=1)  # rank of each group's first member
    ranks = np.empty_like(first)
    np.put_along_axis(ranks, order, first, axis=1)
    return ranks


def rank_statistics(draws: np.ndarray, confidence_level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank intervals and P(best) from draws (resamples or posterior draws) × models.

    Tied models share the best rank, and a draw in which k models tie for first gives each
    1/k (equilibria tie structurally; continuous draws never do). The rank interval is the
    central ``confidence_level`` of each model's ranks (inverted-CDF quantiles: ranks are
    whole numbers).

    >>> low, high, p_best = rank_statistics(np.array([[2.0, 1.0], [1.5, 1.0], [0.0, 1.0]]), 0.5)
    >>> p_best.round(3).tolist()
    [0.667, 0.333]
    """
    ranks = tied_ranks(draws)
    a = (1 - confidence_level) / 2
    low = np.quantile(ranks, a, axis=0, method="inverted_cdf").astype(float)
    high = np.quantile(ranks, 1 - a, axis=0, method="inverted_cdf").astype(float)
    first = ranks == 1
    p_best = (first / first.sum(1, keepdims=True)).mean(0)
    return low, high, p_best


# ------------------------------------------------------------------------------ bootstrap
@dataclass(frozen=True)
class Bootstrap:
    """A statistic over resampled clusters.

    ``estimate`` is the statistic on the data; ``draws`` its value in each resample
    (``n_resamples × k``; a resample without an estimate is ``nan`` and counted in
    ``n_degenerate``); ``weights`` says how the resamples were drawn.
    """

    estimate: np.ndarray
    draws: np.ndarray
    n_degenerate: int
    weights: str
    jackknife: np.ndarray | None = None  # leave-one-cluster-out values, for BCa

    @property
    def standard_error(self) -> np.ndarray:
        """Standard deviation of the usable draws (ddof 1)."""
        with np.errstate(all="ignore"), _all_nan_is_nan():
            return np.nanstd(self.draws, axis=0, ddof=1)

    def confidence_interval(self, confidence_level: float = 0.95, *,
                            method: Literal["percentile", "bca"] = "percentile") -> tuple[np.ndarray, np.ndarray]:
        """The interval at ``confidence_level``: ``"percentile"``, or ``"bca"`` (bias-corrected and
        accelerated, Efron 1987; needs the jackknife values, so ``bootstrap(..., bca=True)``)."""
        if method == "percentile":
            return percentile_interval(self.draws, confidence_level)
        if method != "bca":
            raise ParameterError(f"`method` must be 'percentile' or 'bca'; got {method!r}")
        if self.jackknife is None:
            raise MetaevalError("BCa needs the leave-one-cluster-out values: call bootstrap(..., bca=True)")
        return _bca(self.estimate, self.draws, self.jackknife, confidence_level)


def _bca(estimate: np.ndarray, draws: np.ndarray, jack: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    a2 = (1 - level) / 2
    lows, highs = [], []
    for k in range(draws.shape[1]):
        d = draws[:, k][np.isfinite(draws[:, k])]
        j = jack[:, k][np.isfinite(jack[:, k])]
        if d.size < 2 or j.size < 2:
            lows.append(np.nan)
            highs.append(np.nan)
            continue
        share = (np.sum(d < estimate[k]) + 0.5 * np.sum(d == estimate[k])) / d.size
        z0 = st.norm.ppf(np.clip(share, 1 / (2 * d.size), 1 - 1 / (2 * d.size)))
        u = j.mean() - j
        denom = 6.0 * np.sum(u**2) ** 1.5
        acc = float(np.sum(u**3) / denom) if denom > 0 else 0.0
        qs = []
        for z in (st.norm.ppf(a2), st.norm.ppf(1 - a2)):
            qs.append(st.norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z))))
        lo, hi = np.quantile(d, qs)
        lows.append(lo)
        highs.append(hi)
    return np.array(lows), np.array(highs)


def bootstrap(statistic: Callable[[np.ndarray], np.ndarray], n_clusters: int, *, n_resamples: int,
              rng: np.random.Generator | int | None, weights: Literal["multinomial", "poisson"] = "multinomial",
              keys: np.ndarray | None = None, bca: bool = False, what: str = "resamples") -> Bootstrap:
    """The clustered bootstrap: ``statistic(W)`` on cluster weights.

    ``statistic`` takes a ``size × n_clusters`` weight matrix (the data's own weights are a row
    of ones) and returns ``size × k`` values, vectorised over the rows; a resample without an
    estimate returns ``nan``. Weights come from :func:`cluster_weights`, in one draw of
    ``n_resamples`` rows, so a caller that drew ``resample_counts(gen, n, B)`` itself gets the
    same numbers from the same generator. With ``bca=True`` the leave-one-cluster-out values
    are computed too (``n_clusters`` more evaluations) for the BCa interval.

    Degenerate resamples are counted and warned about once (``what`` names them).

    >>> x = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    >>> mean = lambda W: (W @ x / W.sum(axis=1))[:, None]
    >>> b = bootstrap(mean, 5, n_resamples=2000, rng=1)
    >>> lo, hi = b.confidence_interval(0.9)
    >>> float(b.estimate[0]), round(float(lo[0]), 1), round(float(hi[0]), 1)
    (4.0, 2.0, 6.6)
    """
    if n_clusters < 1:
        raise InsufficientDataError("the bootstrap needs at least one cluster")
    est = np.asarray(statistic(np.ones((1, n_clusters))), dtype=float).reshape(-1)
    W = cluster_weights(n_clusters, n_resamples, rng, kind=weights, keys=keys)
    draws = np.asarray(statistic(W), dtype=float).reshape(n_resamples, -1)
    bad = ~np.isfinite(draws).all(axis=1)
    n_deg = int(bad.sum())
    if n_deg:
        warn(f"{n_deg} of {n_resamples} {what} had no estimate and were left out of the interval", EstimationWarning)
    jack = None
    if bca:
        J = np.ones((n_clusters, n_clusters)) - np.eye(n_clusters)
        jack = np.asarray(statistic(J), dtype=float).reshape(n_clusters, -1)
    return Bootstrap(est, draws, n_deg, weights, jack)
