"""The null-calibration study of :func:`~metaeval.stats.compare`: every test it can choose.

Each scenario simulates two models scored on the same items (binary, continuous, heavy-tailed,
skewed, graded with many ties, small n, clustered with few or many clusters and equal or
unequal cluster sizes), builds a :class:`~metaeval.Judgments` table and runs ``compare`` on it
as a user would — ``test="auto"``, the explicitly selectable tests and ``method="bayes"`` — through
:func:`metaeval.calibration.study`. The null scenarios give each test's false-positive rate at
5 % and each interval's coverage of the true mean difference (0), with Monte Carlo standard
errors; the power scenarios plant a difference and give the rejection rate and coverage.

``examples/calibration_compare.py`` runs the full study and writes
``reports/calibration/compare.md``.

Examples
--------
>>> from metaeval.stats.paired_calibration import compare_study
>>> s = compare_study(["gaussian n=20"], n_replicates=20, n_resamples=500, confirm=0, rng=0)
>>> s.table.select("scenario", "test", "n").rows()[0]
('gaussian n=20', 'auto: permutation', 20)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from metaeval.calibration import CalibrationStudy, study
from metaeval.errors import MetaevalError, MetaevalWarning, ParameterError
from metaeval.stats.comparison import compare
from metaeval.stats.resampling import DEFAULT_N_RESAMPLES
from metaeval.tables import Judgments

__all__ = ["NULL_SCENARIOS", "POWER_SCENARIOS", "compare_replicate", "compare_study", "scenario_data", "study_table"]

CONTINUOUS_TESTS = ("auto", "paired_t", "wilcoxon", "permutation", "bootstrap", "bayes")
BINARY_TESTS = ("auto", "mcnemar_midp", "paired_t", "permutation", "bootstrap", "bayes")
CLUSTER_TESTS = ("auto", "paired_t", "permutation", "bootstrap", "bayes")

# name -> keyword arguments of `scenario_data` (and `tests`: which tests run on it)
NULL_SCENARIOS: dict[str, dict[str, Any]] = {
    "binary n=300": {"kind": "binary", "n": 300},
    "binary n=100": {"kind": "binary", "n": 100},
    "binary n=30": {"kind": "binary", "n": 30},
    "binary n=20": {"kind": "binary", "n": 20},
    "binary n=300, 3 % discordant": {"kind": "binary", "n": 300, "agreement": 0.97},
    "gaussian n=300": {"kind": "gaussian", "n": 300},
    "gaussian n=100": {"kind": "gaussian", "n": 100},
    "gaussian n=30": {"kind": "gaussian", "n": 30},
    "gaussian n=20": {"kind": "gaussian", "n": 20},
    "gaussian n=10": {"kind": "gaussian", "n": 10},
    "heavy-tailed t3 n=300": {"kind": "t3", "n": 300},
    "heavy-tailed t3 n=30": {"kind": "t3", "n": 30},
    "skewed mean 0 n=300": {"kind": "skewed", "n": 300},
    "skewed mean 0 n=30": {"kind": "skewed", "n": 30},
    "graded 1-5, ties n=300": {"kind": "graded", "n": 300},
    "graded 1-5, ties n=30": {"kind": "graded", "n": 30},
    "sharp judge 1-10 n=100": {"kind": "judge", "n": 100, "noise": 0.3},
    "noisy judge 1-10 n=100": {"kind": "judge", "n": 100, "noise": 2.5},
    "length effect, equal lengths n=100": {"kind": "length", "n": 100},
    "clusters G=50x8, ICC 0.4": {"kind": "gaussian", "clusters": 50, "size": 8, "icc": 0.4},
    "clusters G=40 unequal, ICC 0.4": {"kind": "gaussian", "clusters": 40, "size": 8, "icc": 0.4,
                                       "unequal": True},
    "binary clusters G=40x10, ICC 0.3": {"kind": "binary", "clusters": 40, "size": 10, "icc": 0.3},
    "clusters G=20x10, ICC 0.5": {"kind": "gaussian", "clusters": 20, "size": 10, "icc": 0.5},
    "clusters G=12 unequal, ICC 0.3": {"kind": "gaussian", "clusters": 12, "size": 10, "icc": 0.3,
                                       "unequal": True},
    "clusters G=8x10, ICC 0.4": {"kind": "gaussian", "clusters": 8, "size": 10, "icc": 0.4},
    "clusters G=5x20, ICC 0.4": {"kind": "gaussian", "clusters": 5, "size": 20, "icc": 0.4},
}

POWER_SCENARIOS: dict[str, dict[str, Any]] = {
    "power: binary n=300, +7 points": {"kind": "binary", "n": 300, "shift": 0.07},
    "power: binary n=60, +15 points": {"kind": "binary", "n": 60, "shift": 0.15},
    "power: gaussian n=300, +0.15 sd": {"kind": "gaussian", "n": 300, "shift": 0.15},
    "power: gaussian n=30, +0.5 sd": {"kind": "gaussian", "n": 30, "shift": 0.5},
    "power: skewed n=30, +0.5 sd": {"kind": "skewed", "n": 30, "shift": 0.5},
    "power: clusters G=50x8, +0.2 sd": {"kind": "gaussian", "clusters": 50, "size": 8, "icc": 0.4, "shift": 0.2},
    "power: clusters G=12x10, +0.4 sd": {"kind": "gaussian", "clusters": 12, "size": 10, "icc": 0.4,
                                         "shift": 0.4},
}


def _cluster_sizes(gen: np.random.Generator, clusters: int, size: int, unequal: bool) -> np.ndarray:
    if not unequal:
        return np.full(clusters, size)
    # sizes from 1 to about 6x the mean: a few big tasks and many small ones
    raw = gen.lognormal(0.0, 0.9, clusters)
    return np.maximum(1, np.round(raw / raw.mean() * size)).astype(int)


def scenario_data(gen: np.random.Generator, *, kind: str, n: int = 0, clusters: int = 0, size: int = 0,
                  icc: float = 0.0, unequal: bool = False, shift: float = 0.0, agreement: float = 0.0,
                  noise: float = 0.7) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, float]:
    """Scores of models A and B per item, the items' cluster (or ``None``) and the true mean
    difference A − B.

    ``kind``: ``binary`` (right / wrong, accuracy 0.7, the two models' errors correlated through
    the item's difficulty; ``agreement`` sets the share of items both get the same), ``gaussian``,
    ``t3`` (Student t with 3 df), ``skewed`` (centred exponential differences: mean 0, median < 0),
    ``graded`` (1–5 grades, most items graded the same), ``judge`` (1–10 grades by a judge with
    Gaussian ``noise`` around each output's quality, items of shared difficulty), ``length`` (a judge
    rewarding length, both models' lengths from one distribution). ``shift`` is added to A's
    expected score (binary: to its accuracy). Clusters carry a shared effect with intra-cluster
    correlation ``icc`` (binary: on the latent probit scale).
    """
    if clusters:
        sizes = _cluster_sizes(gen, clusters, size, unequal)
        cl = np.repeat(np.arange(clusters), sizes)
        n = int(sizes.sum())
        u = gen.normal(0.0, 1.0, clusters)[cl]
    else:
        cl, u = None, np.zeros(n)
    if kind == "binary":
        base = 0.7
        from scipy import stats as st

        if agreement:
            if shift:
                raise MetaevalError("`shift` with `agreement` is not simulated")
            # both right or both wrong on a share `agreement` of the items; on the others one of the
            # two, at random, is right: equal accuracies, few discordant pairs
            a = (gen.random(n) < base).astype(float)
            b = a.copy()
            split = gen.random(n) >= agreement
            a[split] = gen.random(int(split.sum())) < 0.5
            b[split] = 1 - a[split]
            return a, b, cl, 0.0
        # latent probit: difficulty shared by both models (paired), cluster effect with ICC `icc`
        item = np.sqrt(1 - icc) * gen.normal(0.0, 1.0, n) * np.sqrt(0.5) + np.sqrt(icc) * u
        za = item + np.sqrt(1 - icc) * np.sqrt(0.5) * gen.normal(0.0, 1.0, n)
        zb = item + np.sqrt(1 - icc) * np.sqrt(0.5) * gen.normal(0.0, 1.0, n)
        a = (za < st.norm.ppf(base + shift)).astype(float)
        b = (zb < st.norm.ppf(base)).astype(float)
        return a, b, cl, float(shift)
    quality = gen.normal(0.0, 1.0, n)  # what both outputs share on an item (its difficulty)
    if kind in ("gaussian", "t3", "skewed"):
        if kind == "gaussian":
            e = gen.normal(0.0, 1.0, n)
        elif kind == "t3":
            e = gen.standard_t(3, n) / np.sqrt(3.0)  # unit variance
        else:
            e = gen.exponential(1.0, n) - 1.0  # mean 0, sd 1, median log 2 - 1 < 0
        d = np.sqrt(1 - icc) * e + np.sqrt(icc) * u + shift
        b = 5.0 + quality
        return b + d, b, cl, float(shift)
    if kind == "graded":
        # one latent grade per item, each model a step up or down from it on some items: the two
        # models are exchangeable (E[d] = 0 despite the clipping at 1 and 5), most differences 0
        g = np.clip(np.round(3.0 + 0.8 * quality), 1, 5)
        steps = gen.choice([-1.0, 0.0, 1.0], size=(2, n), p=[0.1, 0.8, 0.1])
        a, b = np.clip(g + steps[0], 1, 5), np.clip(g + steps[1], 1, 5)
        return a + shift, b, cl, float(shift)
    if kind == "judge":
        lat = 5.5 + 1.5 * quality
        a = np.clip(np.round(lat + noise * gen.normal(0.0, 1.0, n) + shift), 1, 10)
        b = np.clip(np.round(lat + noise * gen.normal(0.0, 1.0, n)), 1, 10)
        return a, b, cl, float(shift)
    if kind == "length":
        la, lb = gen.normal(0.0, 1.0, n), gen.normal(0.0, 1.0, n)  # standardised log lengths, one distribution
        lat = 5.0 + quality
        a = lat + 0.8 * la + 0.5 * gen.normal(0.0, 1.0, n) + shift
        b = lat + 0.8 * lb + 0.5 * gen.normal(0.0, 1.0, n)
        return a, b, cl, float(shift)
    raise ParameterError(f"unknown scenario kind {kind!r}")


def _pseudo_median(data: Mapping[str, Any], mean: float) -> float:
    """What the signed-rank test and the Hodges-Lehmann interval are about: the median of
    (d1 + d2) / 2. Every scenario's differences are symmetric around their mean except the
    skewed one (centred exponential: the median of Gamma(2, 1) / 2, minus 1)."""
    if data.get("kind") == "skewed":
        from scipy import stats as st

        return mean + float(st.gamma.median(2)) / 2 - 1.0
    return mean


def _table(a: np.ndarray, b: np.ndarray, cl: np.ndarray | None) -> Judgments:
    n = a.size
    items = np.array([f"q{i:05d}" for i in range(n)])
    cols: dict[str, Any] = {"item": np.tile(items, 2), "judge": "sim", "model": np.repeat(["A", "B"], n),
                            "score": np.concatenate([a, b])}
    if cl is not None:
        cols["task"] = np.tile(np.array([f"t{c:03d}" for c in cl]), 2)
    return Judgments(pl.DataFrame(cols), kind="pointwise")


def compare_replicate(gen: np.random.Generator, *, tests: Sequence[str] | None = None,
                      n_resamples: int = DEFAULT_N_RESAMPLES, **data: Any) -> list[dict[str, Any]]:
    """One replicate: simulate a table (:func:`scenario_data`), run ``compare`` with each test.

    Returns one record per test for :func:`metaeval.calibration.study`. ``test`` names what ran
    (``auto: <chosen test>``); ``warned``: the result warned that it cannot hold its level;
    ``conservative``: its reason says the test is conservative on these data. ``bayes`` runs
    ``method="bayes"``; its "p-value" is 2 min(P(A > B), P(B > A)), so that p < 0.05 is the
    decision P(A > B) > 0.975 or P(B > A) > 0.975.
    """

    a, b, cl, truth = scenario_data(gen, **data)
    table = _table(a, b, cl)
    binary = data.get("kind") == "binary"
    if tests is None:
        tests = CLUSTER_TESTS if cl is not None else BINARY_TESTS if binary else CONTINUOUS_TESTS
    cluster = "task" if cl is not None else None
    seed = int(gen.integers(0, 2**31 - 1))
    out = []
    chosen = None
    for test in tests:
        if test == chosen:  # the automatic choice already ran it: its row is "auto: <test>"
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MetaevalWarning)
            if test == "bayes":
                r = compare(table, "A", "B", method="bayes", cluster=cluster, n_resamples=n_resamples, rng=seed)
                p = 2 * min(r.p_a_better, r.p_b_better)
                label = "bayes: " + r.method
            else:
                r = compare(table, "A", "B", test=test, cluster=cluster, n_resamples=n_resamples, rng=seed)
                p = r.pvalue
                label = f"auto: {r.test}" if test == "auto" else r.test
                if test == "auto":
                    chosen = r.test
        warned = any("cannot hold" in str(w.message) for w in caught)
        target = truth
        if r.test == "wilcoxon" and test != "bayes":
            label += " (pseudo-median)"
            target = _pseudo_median(data, truth)
        out.append({"test": label, "pvalue": p, "ci_low": r.ci.low, "ci_high": r.ci.high, "truth": target,
                    "warned": warned, "conservative": "conservative" in r.reason})
    return out


def _run(chosen: Mapping[str, Mapping[str, Any]], n_replicates: int, n_resamples: int, rng: int,
         progress: bool | None) -> tuple[CalibrationStudy, pl.DataFrame]:
    """One pass of :func:`metaeval.calibration.study`, and the share of each row's results that
    warned they cannot hold their level or said they are conservative."""
    kwargs = {name: dict(kw, n_resamples=n_resamples, _scenario=name) for name, kw in chosen.items()}
    nulls = [s for s, kw in chosen.items() if not kw.get("shift")]
    flags: dict[tuple[str, str], list[int]] = {}

    def replicate(gen: np.random.Generator, _scenario: str, **kw: Any) -> list[dict[str, Any]]:
        records = compare_replicate(gen, **kw)
        for r in records:
            f = flags.setdefault((_scenario, r["test"]), [0, 0])
            f[0] += bool(r["warned"])
            f[1] += bool(r["conservative"])
        return records

    res = study(replicate, kwargs, n_replicates=n_replicates, null=nulls, rng=rng, progress=progress)
    shares = pl.DataFrame([{"scenario": k[0], "test": k[1], "warned": v[0] / n_replicates,
                            "conservative_note": v[1] / n_replicates} for k, v in flags.items()],
                          schema={"scenario": pl.String, "test": pl.String, "warned": pl.Float64,
                                  "conservative_note": pl.Float64})
    return res, res.table.join(shares, on=["scenario", "test"], how="left", maintain_order="left")


def _annotate(table: pl.DataFrame, chosen: Mapping[str, Mapping[str, Any]], alpha: float,
              band: tuple[float, float]) -> pl.DataFrame:
    lo_band, hi_band = band
    cov_ok = pl.col("coverage").is_nan() | pl.col("coverage").is_between(lo_band, hi_band)
    # the signed-rank test's null is a pseudo-median of 0, which skewed differences with mean 0 do not have
    other_null = pl.col("test").str.contains("pseudo-median", literal=True) & pl.col("scenario").is_in(
        [name for name, kw in chosen.items() if kw.get("kind") == "skewed"])
    # a row outside tolerance is documented when most of its results said so
    warned = pl.col("warned") >= 0.5
    conservative = pl.col("conservative_note") >= 0.5
    limit = alpha + 2.0 * (alpha * (1 - alpha) / pl.col("n")).sqrt()
    holds_level = ~pl.col("null") | (pl.col("rejection_rate") <= limit)
    return table.with_columns(
        pl.when(other_null).then(False).otherwise(pl.col("null")).alias("null"),
        pl.when(other_null).then(cov_ok).otherwise(pl.col("within_tolerance")).alias("within_tolerance"),
    ).with_columns(
        (~pl.col("within_tolerance") & (warned | (conservative & holds_level & (pl.col("coverage") >= lo_band))))
        .alias("documented"),
        pl.when(other_null).then(pl.lit("tests the pseudo-median, which is not 0 here: rejections are correct"))
        .when(~pl.col("within_tolerance") & warned).then(pl.lit("cannot hold its level: the result warns"))
        .when(~pl.col("within_tolerance") & conservative)
        .then(pl.lit("exact inference on discrete differences: conservative, the result says so"))
        .otherwise(pl.lit("")).alias("note"),
    )


def _test_of(label: str) -> str:
    """The ``compare`` test behind a row's label."""
    if label.startswith("auto: "):
        return "auto"
    if label.startswith("bayes: "):
        return "bayes"
    return label.replace(" (pseudo-median)", "")


def compare_study(scenarios: Sequence[str] | Mapping[str, Mapping[str, Any]] | None = None, *,
                  n_replicates: int = 500, n_resamples: int = DEFAULT_N_RESAMPLES, confirm: int = 2000, rng: int = 0,
                  progress: bool | None = None) -> CalibrationStudy:
    """Run the calibration study of ``compare`` (:func:`metaeval.calibration.study`).

    With some 160 rows each held to two Monte Carlo standard errors, a few well-calibrated rows
    fall outside tolerance by chance. A row outside tolerance (and not documented by its
    results' warnings) is therefore run again on ``confirm`` fresh replicates (seed ``rng + 1``):
    a miscalibrated test fails again, a chance excursion does not. The table keeps the first
    pass in ``first_rejection_rate`` / ``first_coverage`` and marks ``confirmed``.

    Parameters
    ----------
    scenarios
        Names from :data:`NULL_SCENARIOS` and :data:`POWER_SCENARIOS`, or a mapping name →
        keyword arguments of :func:`compare_replicate`; default: all of them.
    n_replicates
        Replicates per scenario (500: a Monte Carlo standard error of 1 point at 5 %).
    n_resamples
        Resamples of the bootstrap and sign-flip tests in each replicate (the permutation test
        is exact for any number; users' default is 10,000, ``DEFAULT_N_TEST_RESAMPLES``). Default
        1000 (:data:`~metaeval.stats.resampling.DEFAULT_N_RESAMPLES`), for the study's cost.
    confirm
        Replicates of the confirmation run (0: none).
    rng
        The study's seed.
    progress
        Show a progress bar over scenarios and replicates (default: on a terminal or in a
        notebook; ``False``: never).
    """
    known = NULL_SCENARIOS | POWER_SCENARIOS
    if scenarios is None:
        chosen: dict[str, Mapping[str, Any]] = dict(known)
    elif isinstance(scenarios, Mapping):
        chosen = dict(scenarios)
    else:
        unknown = [s for s in scenarios if s not in known]
        if unknown:
            raise MetaevalError(f"unknown scenarios {unknown}; known: {sorted(known)}")
        chosen = {s: known[s] for s in scenarios}
    res, table = _run(chosen, n_replicates, n_resamples, rng, progress)
    table = _annotate(table, chosen, res.alpha, res.coverage_band).with_columns(
        pl.col("rejection_rate").alias("first_rejection_rate"), pl.col("coverage").alias("first_coverage"),
        pl.lit(False).alias("confirmed"))
    failing = table.filter(~pl.col("within_tolerance") & ~pl.col("documented"))
    if confirm and failing.height:
        again: dict[str, dict[str, Any]] = {}
        for scen, label in failing.select("scenario", "test").iter_rows():
            kw = again.setdefault(scen, dict(chosen[scen], tests=[]))
            if _test_of(label) not in kw["tests"]:
                kw["tests"].append(_test_of(label))
        _, second = _run(again, confirm, n_resamples, rng + 1, progress)
        second = _annotate(second, chosen, res.alpha, res.coverage_band)
        keys = set(failing.select("scenario", "test").iter_rows())
        second = second.filter(pl.struct("scenario", "test").map_elements(
            lambda r: (r["scenario"], r["test"]) in keys, return_dtype=pl.Boolean)).with_columns(
            pl.lit(True).alias("confirmed"))
        cols = ["n", "n_failed", "rejection_rate", "rejection_mcse", "coverage", "coverage_mcse", "within_tolerance",
                "warned", "conservative_note", "documented", "note", "confirmed"]
        table = table.join(second.select("scenario", "test", *cols), on=["scenario", "test"], how="left",
                           suffix="_confirm", maintain_order="left").with_columns(
            [pl.coalesce(f"{c}_confirm", c).alias(c) for c in cols]).drop([f"{c}_confirm" for c in cols])
        table = table.with_columns(
            pl.when(pl.col("confirmed")).then(
                pl.format("confirmation run ({} replicates); first run: rate {}, coverage {}", pl.col("n"),
                          pl.col("first_rejection_rate").round(3), pl.col("first_coverage").round(3))
                + pl.when(pl.col("note") != "").then(pl.lit("; ") + pl.col("note")).otherwise(pl.lit("")))
            .otherwise(pl.col("note")).alias("note"))
    return replace(res, table=table)


def study_table(result: CalibrationStudy) -> pl.DataFrame:
    """The study as a table to read: per scenario and test, the rejection rate (a false-positive
    rate in null scenarios, power otherwise) and the coverage, each as ``value ± Monte Carlo
    standard error``, whether the row is within tolerance, the share of its results that warned
    they cannot hold their level or said they are conservative, and why a row is not within
    tolerance."""

    def pm(value: float, se: float) -> str:
        return "" if value != value else f"{value:.3f} ± {se:.3f}"

    t = result.table
    return pl.DataFrame({
        "scenario": t["scenario"],
        "test": t["test"],
        "replicates": t["n"],
        "rejects (FPR or power)": [pm(v, e) for v, e in zip(t["rejection_rate"], t["rejection_mcse"], strict=True)],
        "coverage": [pm(v, e) for v, e in zip(t["coverage"], t["coverage_mcse"], strict=True)],
        "ok": ["yes" if ok else ("documented" if doc else "NO")
               for ok, doc in zip(t["within_tolerance"], t["documented"], strict=True)],
        "result says": [", ".join(part for part in (f"cannot hold level {w:.0%}" if w else "",
                                                    f"conservative {c:.0%}" if c else "") if part)
                        for w, c in zip(t["warned"], t["conservative_note"], strict=True)],
        "note": t["note"],
    })
