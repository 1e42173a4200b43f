"""The one door through which randomness enters metaeval."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from metaeval.errors import MetaevalError, ParameterError

__all__ = ["as_generator", "same_bytes"]


def as_generator(rng: np.random.Generator | int | None) -> tuple[np.random.Generator, int | None]:
    """Return ``(generator, seed)``.

    ``rng`` may be a seeded :class:`numpy.random.Generator` (its seed is unknown: ``None``),
    an integer seed, or ``None`` — then a fresh seed is drawn from the operating system and
    returned, so that the result's :class:`~metaeval.results.RunInfo` can record it and the
    run can be repeated exactly.
    """
    if isinstance(rng, np.random.Generator):
        return rng, None
    if rng is None:
        seed = int(np.random.SeedSequence().generate_state(1, dtype=np.uint32)[0])
        return np.random.default_rng(seed), seed
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise MetaevalError(f"`rng` seed must be a non-negative integer; got {rng}")
        return np.random.default_rng(int(rng)), int(rng)
    raise ParameterError(f"`rng` must be a numpy Generator, an integer seed or None; got {type(rng).__name__}")


def integer_seed(rng: np.random.Generator | int | None) -> int:
    """One integer seed from ``rng``: the seed itself, a draw from a generator, or fresh entropy.

    For work that seeds several steps alike (a report runs each analysis with the same seed, so
    that a section's numbers do not depend on which sections came before it).

    >>> integer_seed(7), integer_seed(np.random.default_rng(0)) == integer_seed(np.random.default_rng(0))
    (7, True)
    """
    gen, seed = as_generator(rng)
    return int(seed if seed is not None else gen.integers(0, 2**31 - 1))


def resample_counts(gen: np.random.Generator, n: int, size: int) -> np.ndarray:
    """How often each of ``n`` units is drawn when resampling ``n`` with replacement, ``size`` times.

    The multinomial(n, 1/n) draw, made by drawing indices and counting them when ``n`` is large
    (numpy's multinomial costs ~100 ns per category and row; this costs a few ns per draw).
    """
    if n <= 2000:
        return gen.multinomial(n, np.full(n, 1.0 / n), size=size).astype(float)
    idx = gen.integers(0, n, size=(size, n))
    out = np.empty((size, n))
    for r in range(size):
        out[r] = np.bincount(idx[r], minlength=n)
    return out


@contextlib.contextmanager
def same_bytes() -> Iterator[None]:
    """Run the enclosed work with one BLAS thread, so that its numbers do not depend on how many
    cores the machine has.

    A seed fixes every random draw, but a matrix product split over threads adds its terms in an
    order that depends on the thread count, and the last digit of a result can change with it.
    The command line, the demo and the examples run inside this (their matrices are small, so a
    single thread costs little); a library call keeps the caller's threading. Needs
    ``threadpoolctl`` (a dependency of metaeval).

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(500, 40))
    >>> with same_bytes():
    ...     a = x.T @ x
    >>> bool(np.allclose(a, x.T @ x))
    True
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a declared dependency
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
