"""The largest magnitude metaeval accepts as a score, and the check that enforces it.

A float64 holds numbers up to about 1.8e308, but statistics square, cube and sum what they are
given: 1e200 squared is inf, so a mean of ±1e308 scores is inf and its interval [nan, nan], and
Krippendorff's α or an ICC is nan, each with a numpy RuntimeWarning. No grade, accuracy, reward,
log-likelihood, perplexity or price comes near such values, so instead of computing them
"stably" (which would still print an inf difference or interval) metaeval refuses them with the
reason: beyond ±:data:`MAX_ABS_SCORE` (1e100) a value is not a score. Within the bound, cubes stay
below 1e300 and sums of up to 1e8 squares stay finite, so every moment, interval and test can
be computed as written.

>>> check_magnitude([1.0, -2.5e3], "d").tolist()
[1.0, -2500.0]
>>> try:
...     check_magnitude([0.5, 1e308], "d")
... except Exception as exc:
...     print(exc)
`d` holds 1e+308 (at position 1): values beyond ±1e+100 are not scores (their squares overflow float64); rescale them
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from metaeval.errors import MetaevalError

__all__ = ["MAX_ABS_SCORE", "MAX_COUNT", "check_magnitude", "scaled_std", "unit_exponent"]

#: the largest |value| accepted as a score (see the module's notes)
MAX_ABS_SCORE = 1e100

#: the largest number of comparisons in one cell of a table of counts: beyond it a count is not
#: a count (and no longer an exact integer in float64, nor one in int64 when expanded to battles)
MAX_COUNT = 1e15


def check_magnitude(values: Any, name: str, labels: Sequence[Sequence[str]] | None = None, *,
                    limit: float = MAX_ABS_SCORE) -> np.ndarray:
    """``values`` as a float array; a :class:`~metaeval.errors.MetaevalError` naming ``name``,
    the first offending value and its position (or its ``labels``: one sequence of names per
    axis) when a finite value lies beyond ±``limit`` (:data:`MAX_ABS_SCORE`; differences of
    two scores: twice that). nan and inf are left to the caller's own checks."""
    arr = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        big = np.isfinite(arr) & (np.abs(arr) > limit)
    if np.any(big):
        where = tuple(int(k) for k in np.argwhere(big)[0])
        value = float(arr[where]) if arr.ndim else float(arr)
        if labels is not None and len(labels) == len(where):
            at = ", ".join(f"{labels[a][k]!r}" for a, k in enumerate(where))
        else:
            at = f"position {where[0] if len(where) == 1 else where}" if where else "its only value"
        n = int(big.sum())
        more = f"; {n} such values" if n > 1 else ""
        raise MetaevalError(f"`{name}` holds {value:g} (at {at}{more}): values beyond ±{limit:g} are not scores "
                            "(their squares overflow float64); rescale them")
    return arr


def unit_exponent(values: Any) -> int:
    """The power of two that brings the largest finite |value| near 1, when it lies outside
    [2^-256, 2^256] (else 0, so ordinary data are left exactly as they are).

    Scaling by a power of two is exact, so a kernel that squares its input can run on
    ``np.ldexp(x, -e)`` and scale its result back with ``np.ldexp(result, e)``: with scores of
    1e-300 the squares would otherwise underflow to 0 (a standard error of 0 and an interval of
    one point), and with 1e100 their fourth powers would overflow.

    >>> unit_exponent([0.5, 3.0]), unit_exponent([1e-300, 0.0]), unit_exponent([2.0**300])
    (0, -996, 301)
    """
    arr = np.abs(np.asarray(values, dtype=float))
    arr = arr[np.isfinite(arr)]
    top = float(arr.max()) if arr.size else 0.0
    if top == 0.0 or 2.0**-256 <= top <= 2.0**256:
        return 0
    return int(np.frexp(top)[1])


def scaled_std(values: Any, ddof: int = 0) -> float:
    """``np.std(values, ddof=ddof)`` computed on values brought near 1 by a power of two
    (:func:`unit_exponent`), so that it neither underflows to 0 for tiny values nor overflows
    for huge ones; the same bits as ``np.std`` for ordinary data.

    >>> scaled_std([1e-300, 3e-300], ddof=1) > 0, float(np.std([1e-300, 3e-300], ddof=1))
    (True, 0.0)
    """
    arr = np.asarray(values, dtype=float)
    e = unit_exponent(arr)
    return float(np.ldexp(np.ldexp(arr, -e).std(ddof=ddof), e)) if e else float(arr.std(ddof=ddof))
