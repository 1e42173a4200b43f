"""Intervals for a proportion (accuracy, win rate): Wilson, Clopper–Pearson, Jeffreys.

Array-level: ``successes`` and ``n`` may be scalars or arrays (broadcast together).
Checked against ``statsmodels.stats.proportion.proportion_confint`` in the tests.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats as _st

from metaeval.errors import MetaevalError

__all__ = ["proportion_interval"]

Method = Literal["wilson", "clopper_pearson", "jeffreys"]


def proportion_interval(
    successes: float | np.ndarray,
    n: float | np.ndarray,
    *,
    confidence_level: float = 0.95,
    method: Method = "wilson",
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided interval for a binomial proportion.

    Parameters
    ----------
    successes, n
        Counts (``successes`` may be fractional, e.g. wins + ½ ties, for Wilson).
    confidence_level
        E.g. 0.95.
    method
        ``"wilson"`` (score interval, the default: good coverage at every n),
        ``"clopper_pearson"`` (exact, conservative) or ``"jeffreys"`` (Beta(½, ½) posterior).

    Returns
    -------
    (low, high)
        Arrays (0-d for scalar input); ``nan`` where ``n == 0``.

    Examples
    --------
    >>> low, high = proportion_interval(81, 100)
    >>> round(float(low), 4), round(float(high), 4)
    (0.7222, 0.8749)
    """
    if not 0 < confidence_level < 1:
        raise MetaevalError(f"`confidence_level` must lie in (0, 1); got {confidence_level!r}")
    x = np.asarray(successes, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    if np.any(n_arr < 0) or np.any(x < 0) or np.any(x > n_arr):
        raise MetaevalError("need 0 <= `successes` <= `n`")
    alpha = 1 - confidence_level
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "wilson":
            z = _st.norm.ppf(1 - alpha / 2)
            p = x / n_arr
            denom = 1 + z**2 / n_arr
            center = (p + z**2 / (2 * n_arr)) / denom
            half = z * np.sqrt(p * (1 - p) / n_arr + z**2 / (4 * n_arr**2)) / denom
            low, high = center - half, center + half
        elif method == "clopper_pearson":
            low = np.where(x > 0, _st.beta.ppf(alpha / 2, x, n_arr - x + 1), 0.0)
            high = np.where(x < n_arr, _st.beta.ppf(1 - alpha / 2, x + 1, n_arr - x), 1.0)
        elif method == "jeffreys":
            low = np.where(x > 0, _st.beta.ppf(alpha / 2, x + 0.5, n_arr - x + 0.5), 0.0)
            high = np.where(x < n_arr, _st.beta.ppf(1 - alpha / 2, x + 0.5, n_arr - x + 0.5), 1.0)
        else:
            raise MetaevalError(f"`method` must be 'wilson', 'clopper_pearson' or 'jeffreys'; got {method!r}")
    low = np.where(n_arr > 0, np.clip(low, 0.0, 1.0), np.nan)
    high = np.where(n_arr > 0, np.clip(high, 0.0, 1.0), np.nan)
    return low, high
