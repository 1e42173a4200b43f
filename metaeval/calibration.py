"""Calibration studies: does a test hold its level, does an interval cover, on data with a known truth?

Every flag metaeval raises (a bias probe's ``flagged``, a comparison's ``pvalue``) ships with a
study run through :func:`study`: many seeded replicates of a simulated scenario, each giving a
p-value and an interval for a known true value; the study reports the false-positive rate (or
power) at the nominal level and the interval coverage, each with its Monte Carlo standard error,
and whether it is within tolerance of the nominal value.

A replicate function takes a :class:`numpy.random.Generator` and returns one record, or a list of
records (one per test it runs), each a mapping with

``test``
    what was tested (one row of the study per scenario and test);
``pvalue``
    the p-value (``nan`` when the test could not run; counted in ``n_failed``);
``ci_low``, ``ci_high``, ``truth``
    optional: the interval and the true value it should cover.

Examples
--------
>>> import numpy as np
>>> from scipy import stats
>>> from metaeval.calibration import study
>>> def one_sample_t(gen, n=20, shift=0.0):
...     x = gen.normal(shift, 1, n)
...     r = stats.ttest_1samp(x, 0.0)
...     ci = r.confidence_interval(0.95)
...     return {"test": "t", "pvalue": r.pvalue, "ci_low": ci.low, "ci_high": ci.high, "truth": shift}
>>> s = study(one_sample_t, {"null": {}, "n=5": {"n": 5}}, n_replicates=200, rng=0)
>>> s.table.select("scenario", "n", "rejection_rate").rows()
[('null', 200, 0.065), ('n=5', 200, 0.04)]
>>> bool(s.table["within_tolerance"].all())
True
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl

from metaeval._progress import task
from metaeval._validate import SIGNIFICANCE, Interval, validate_params
from metaeval.errors import MetaevalError
from metaeval.results import Result, RunInfo

__all__ = ["CalibrationStudy", "study"]

Replicate = Callable[..., Mapping[str, Any] | Sequence[Mapping[str, Any]]]


@dataclass(frozen=True)
class CalibrationStudy(Result):
    """Rejection rate and coverage per scenario and test, with Monte Carlo standard errors.

    ``table`` columns: ``scenario``, ``test``, ``null`` (whether the scenario has no effect, so the
    rejection rate is a false-positive rate), ``n`` (replicates that gave a p-value), ``n_failed``,
    ``rejection_rate`` and ``rejection_mcse``, ``coverage`` and ``coverage_mcse`` (``nan`` where the
    replicates give no interval), ``within_tolerance`` (null scenarios: the false-positive rate is
    at most ``alpha`` plus ``z`` Monte Carlo standard errors of a test at exactly ``alpha``; every
    scenario with intervals: the coverage lies in ``coverage_band``), and ``seconds``.
    """

    table: pl.DataFrame
    alpha: float
    coverage_band: tuple[float, float]
    records: pl.DataFrame
    run_info: RunInfo
    title: str = "calibration study"

    @property
    def passed(self) -> bool:
        """Whether every row is within tolerance."""
        return bool(self.table["within_tolerance"].all())

    def failures(self) -> pl.DataFrame:
        """The rows outside tolerance."""
        return self.table.filter(~pl.col("within_tolerance"))


def _records(out: Any, scenario: str) -> list[dict[str, Any]]:
    rows = [out] if isinstance(out, Mapping) else list(out)
    result = []
    for r in rows:
        if "test" not in r or "pvalue" not in r:
            raise MetaevalError(f"a replicate of scenario {scenario!r} must return `test` and `pvalue`; "
                                f"got {sorted(r)}")
        result.append({
            "scenario": scenario,
            "test": str(r["test"]),
            "pvalue": float(r["pvalue"]) if r["pvalue"] is not None else math.nan,
            "ci_low": float(r.get("ci_low", math.nan)),
            "ci_high": float(r.get("ci_high", math.nan)),
            "truth": float(r.get("truth", math.nan)),
        })
    return result


@validate_params({
    "n_replicates": [Interval(Integral, 1, None, closed="left")],
    "alpha": [SIGNIFICANCE],
    "z": [Interval(Real, 0, None, closed="neither")],
    "rng": [Interval(Integral, 0, None, closed="left")],
    "progress": ["boolean", None],
})
def study(
    replicate: Replicate,
    scenarios: Mapping[str, Mapping[str, Any]],
    *,
    n_replicates: int = 500,
    alpha: float = 0.05,
    null: Sequence[str] | None = None,
    coverage_band: tuple[float, float] = (0.93, 0.97),
    z: float = 2.0,
    rng: int = 0,
    progress: bool | None = None,
) -> CalibrationStudy:
    """Run ``replicate(generator, **scenario_kwargs)`` ``n_replicates`` times per scenario.

    Parameters
    ----------
    replicate
        One simulated study: ``replicate(gen, **kwargs)`` returns a record or a list of records
        (see the module docstring).
    scenarios
        Name → keyword arguments of ``replicate``.
    n_replicates
        Replicates per scenario (500 gives a Monte Carlo standard error of about 1 point at 5 %).
    alpha
        The nominal level of the tests.
    null
        The scenarios with no effect (their rejection rate is a false-positive rate). Default: all.
    coverage_band
        The coverage a nominal 95 % interval must reach (Monte Carlo error and the bootstrap's
        own small-sample error included).
    z
        How many Monte Carlo standard errors above ``alpha`` a false-positive rate may lie.
    rng
        The seed; replicate ``r`` of scenario ``s`` gets a generator from
        ``SeedSequence(rng, spawn_key=(s, r))``, so every replicate can be rerun alone.
    progress
        Show a progress bar over scenarios and replicates (default: on a terminal or in a
        notebook, when the study runs longer than a second; ``False``: never).

    Returns
    -------
    CalibrationStudy
        ``table``: per scenario and test, the rejection rate and the coverage with their Monte
        Carlo standard errors and ``within_tolerance``; ``passed`` says whether every row is
        within tolerance; ``records`` holds every replicate's record.

    Examples
    --------
    A t test of a zero mean, on normal data, rejects at about its level and covers at about
    its level:

    >>> from scipy import stats as st
    >>> def one(gen, n):
    ...     x = gen.normal(size=n)
    ...     t = st.ttest_1samp(x, 0.0)
    ...     lo, hi = t.confidence_interval(0.95)
    ...     return {"test": "t", "pvalue": t.pvalue, "ci_low": lo, "ci_high": hi, "truth": 0.0}
    >>> res = study(one, {"n=20": {"n": 20}}, n_replicates=400, rng=1, progress=False)
    >>> res.table.select("rejection_rate", "coverage").rows(), res.passed
    ([(0.0375, 0.9625)], True)
    """
    nulls = set(scenarios) if null is None else set(null)
    unknown = nulls - set(scenarios)
    if unknown:
        raise MetaevalError(f"`null` names unknown scenarios {sorted(unknown)}")
    records: list[dict[str, Any]] = []
    seconds: dict[str, float] = {}
    with task("calibration study", len(scenarios) * n_replicates, enabled=progress) as shown:
        for s_idx, (name, kwargs) in enumerate(scenarios.items()):
            shown.update(f"calibration: {name}")
            t0 = time.perf_counter()
            for r in range(n_replicates):
                gen = np.random.default_rng(np.random.SeedSequence(int(rng), spawn_key=(s_idx, r)))
                records.extend(_records(replicate(gen, **dict(kwargs)), name))
                shown.advance()
            seconds[name] = time.perf_counter() - t0
    rec = pl.DataFrame(records, schema={"scenario": pl.String, "test": pl.String, "pvalue": pl.Float64,
                                        "ci_low": pl.Float64, "ci_high": pl.Float64, "truth": pl.Float64})
    rows = []
    lo_band, hi_band = coverage_band
    limit = alpha + z * math.sqrt(alpha * (1 - alpha) / n_replicates)
    for (scen, test), g in rec.group_by("scenario", "test", maintain_order=True):
        p = g["pvalue"].to_numpy()
        ok = np.isfinite(p)
        n = int(ok.sum())
        rate = float(np.mean(p[ok] < alpha)) if n else math.nan
        lo, hi, truth = g["ci_low"].to_numpy(), g["ci_high"].to_numpy(), g["truth"].to_numpy()
        has_ci = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(truth)
        n_ci = int(has_ci.sum())
        cov = float(np.mean((lo[has_ci] <= truth[has_ci]) & (truth[has_ci] <= hi[has_ci]))) if n_ci else math.nan
        is_null = scen in nulls
        within = True
        if is_null and n:
            within = rate <= limit
        if n_ci:
            within = within and lo_band <= cov <= hi_band
        rows.append({
            "scenario": scen, "test": test, "null": is_null, "n": n, "n_failed": int((~ok).sum()),
            "rejection_rate": rate,
            "rejection_mcse": math.sqrt(rate * (1 - rate) / n) if n else math.nan,
            "coverage": cov,
            "coverage_mcse": math.sqrt(cov * (1 - cov) / n_ci) if n_ci else math.nan,
            "within_tolerance": within,
            "seconds": round(seconds[scen], 2),
        })
    run = RunInfo("calibration_study", {"n_replicates": n_replicates, "alpha": alpha, "z": z,
                                        "coverage_band": list(coverage_band), "scenarios": list(scenarios)},
                  int(rng), None, None, rec.height)
    return CalibrationStudy(pl.DataFrame(rows), alpha, coverage_band, rec, run)
