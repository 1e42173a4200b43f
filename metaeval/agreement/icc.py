"""The six intraclass correlations of Shrout & Fleiss (1979), with F tests and intervals.

Targets (items) × raters (judges), complete data, two-way ANOVA mean squares. Intervals follow
Shrout & Fleiss (1979) and McGraw & Wong (1996): exact F-based for ICC(1) and ICC(3),
Satterthwaite's approximation for ICC(2); the average-measure forms use the same F quantiles
(ICC(1,k), ICC(3,k)) or the Spearman–Brown step-up of the ICC(2,1) bounds.

>>> x = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7.]])
>>> [round(float(v), 2) for v in icc_array(x)["icc"]]
[0.17, 0.29, 0.71, 0.44, 0.62, 0.91]
"""

from __future__ import annotations

import numpy as np
from scipy import stats as st

from metaeval._numeric import unit_exponent
from metaeval.errors import InsufficientDataError

__all__ = ["ICC_FORMS", "icc_anova", "icc_array", "icc_from_anova"]

ICC_FORMS = ("ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)")


def icc_array(x: np.ndarray, *, confidence_level: float = 0.95) -> dict[str, np.ndarray]:
    """All six ICCs of a complete targets × raters array: values, F, dfs, p-values, bounds."""
    return icc_from_anova(icc_anova(x), confidence_level=confidence_level)


def icc_anova(x: np.ndarray) -> dict[str, float]:
    """The two-way ANOVA of a complete targets × raters array that every ICC, F test and bound is
    made from: ``n`` targets, ``k`` raters and the mean squares ``msr`` (rows), ``msc`` (columns),
    ``mse`` (error) and ``msw`` (within rows), of ``x`` scaled by a power of two (which changes no
    ICC, F or bound and keeps the squares finite).

    >>> ms = icc_anova(np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9.]]))
    >>> ms["n"], ms["k"]
    (5, 4)
    """
    x = np.asarray(x, float)
    e = unit_exponent(x)
    if e:  # every ICC, F and bound is the same for x scaled by a power of two, and its squares stay finite
        x = np.ldexp(x, -e)
    n, k = x.shape
    if n < 2 or k < 2:
        raise InsufficientDataError("ICCs need at least 2 targets and 2 raters with complete ratings")
    grand = x.mean()
    ssr = k * np.sum((x.mean(1) - grand) ** 2)
    ssc = n * np.sum((x.mean(0) - grand) ** 2)
    sst = np.sum((x - grand) ** 2)
    sse = sst - ssr - ssc
    msr, msc = ssr / (n - 1), ssc / (k - 1)
    mse = sse / ((n - 1) * (k - 1))
    msw = (ssc + sse) / (n * (k - 1))
    return {"n": n, "k": k, "msr": msr, "msc": msc, "mse": mse, "msw": msw}


def icc_from_anova(anova: dict[str, float], *, confidence_level: float = 0.95) -> dict[str, np.ndarray]:
    """The six ICCs, their F tests and bounds at ``confidence_level`` from :func:`icc_anova`'s
    mean squares (what :func:`icc_array` returns)."""
    n, k = int(anova["n"]), int(anova["k"])
    msr, msc, mse, msw = anova["msr"], anova["msc"], anova["mse"], anova["msw"]
    a = 1 - confidence_level
    icc1 = (msr - msw) / (msr + (k - 1) * msw)
    icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    icc3 = (msr - mse) / (msr + (k - 1) * mse)
    icc1k = (msr - msw) / msr
    icc2k = (msr - mse) / (msr + (msc - mse) / n)
    icc3k = (msr - mse) / msr
    f1, df1a, df1b = msr / msw, n - 1, n * (k - 1)
    f3, df3a, df3b = msr / mse, n - 1, (n - 1) * (k - 1)
    p1 = st.f.sf(f1, df1a, df1b)
    p3 = st.f.sf(f3, df3a, df3b)
    fl1, fu1 = f1 / st.f.ppf(1 - a / 2, df1a, df1b), f1 * st.f.ppf(1 - a / 2, df1b, df1a)
    fl3, fu3 = f3 / st.f.ppf(1 - a / 2, df3a, df3b), f3 * st.f.ppf(1 - a / 2, df3b, df3a)
    lo1, hi1 = (fl1 - 1) / (fl1 + k - 1), (fu1 - 1) / (fu1 + k - 1)
    lo3, hi3 = (fl3 - 1) / (fl3 + k - 1), (fu3 - 1) / (fu3 + k - 1)
    lo1k, hi1k = 1 - 1 / fl1, 1 - 1 / fu1
    lo3k, hi3k = 1 - 1 / fl3, 1 - 1 / fu3
    aa = k * icc2 / (n * (1 - icc2))
    bb = 1 + k * icc2 * (n - 1) / (n * (1 - icc2))
    v = (aa * msc + bb * mse) ** 2 / ((aa * msc) ** 2 / (k - 1) + (bb * mse) ** 2 / ((n - 1) * (k - 1)))
    fl2, fu2 = st.f.ppf(1 - a / 2, n - 1, v), st.f.ppf(1 - a / 2, v, n - 1)
    lo2 = n * (msr - fl2 * mse) / (fl2 * (k * msc + (k * n - k - n) * mse) + n * msr)
    hi2 = n * (fu2 * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fu2 * msr)
    lo2k, hi2k = lo2 * k / (1 + lo2 * (k - 1)), hi2 * k / (1 + hi2 * (k - 1))
    return {
        "form": np.array(ICC_FORMS),
        "icc": np.array([icc1, icc2, icc3, icc1k, icc2k, icc3k]),
        "f": np.array([f1, f3, f3, f1, f3, f3]),
        "df1": np.array([df1a, df3a, df3a, df1a, df3a, df3a], float),
        "df2": np.array([df1b, df3b, df3b, df1b, df3b, df3b], float),
        "pvalue": np.array([p1, p3, p3, p1, p3, p3]),
        "ci_low": np.array([lo1, lo2, lo3, lo1k, lo2k, lo3k]),
        "ci_high": np.array([hi1, hi2, hi3, hi1k, hi2k, hi3k]),
    }
