"""The one door through which randomness enters metaeval."""

from __future__ import annotations

import numpy as np

from metaeval.errors import MetaevalError

__all__ = ["as_generator"]


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
    raise MetaevalError(f"`rng` must be a numpy Generator, an integer seed or None; got {type(rng).__name__}")
