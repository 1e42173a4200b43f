"""Null calibration of every bias probe that :func:`metaeval.bias.audit` runs.

:func:`calibration_study` runs the probes on simulated tables (:mod:`metaeval.simulate`) whose
truth is known, through the shared harness :func:`metaeval.calibration.study`: per scenario and
probe, the false-positive rate of the probe's test at 5 % (or its power, where an effect is
planted) and the coverage of its 95 % interval, each with its Monte Carlo standard error.

The scenarios (:data:`SCENARIOS`) stress what could make a probe raise a false alarm: judges
sharper or noisier than the human reference, a length effect without a position effect and
the reverse, 12 items, ties, item-level quality effects shared by every judge (clustered
verdicts), a judge that agrees with itself only by chance, pointwise grades; and planted
effects for power. Each scenario lists the probes whose null hypothesis holds in it (or whose
planted truth is known): a length effect is no false alarm of the length probe, and a judge
sharper than the humans truly departs from them in PoLL's intra-model sense, so those
scenarios leave those probes out.

The probes run exactly as the audit calls them (default options; intra-model and calibration
against the ``human`` reference). Position is run on a table with both presentation orders
(the conditional test) and on one with one order per pair (the Bradley–Terry term); every
other pairwise probe on the one-order table. One row per model judge is recorded (for
intra-model: the judge's own-family model). ``declared`` is the share of replicates in which
the probe itself warned that its interval or test is approximate on these data
(:class:`~metaeval.errors.ApproximationWarning`, e.g. ``SmallSampleWarning``): a row outside
tolerance is acceptable only when it is declared. The position test with both orders is
exact (a binomial test with a Clopper–Pearson interval), conservative by construction: its
false-positive rate may lie below 5 % and its coverage above 97 %.

Examples
--------
>>> from metaeval.bias.study import calibration_study
>>> s = calibration_study(20, scenarios=["judges sharper than the humans"], rng=0)
>>> s.table.select("test", "n").rows()[:2]
[('position (both orders)', 40), ('position (one order)', 40)]
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from metaeval import simulate
from metaeval.agreement import fleiss_kappa
from metaeval.bias.consistency import calibration, self_consistency
from metaeval.bias.length import length_bias
from metaeval.bias.position import position_bias
from metaeval.bias.self_preference import intra_model_bias, self_preference
from metaeval.bias.style import style_bias
from metaeval.calibration import CalibrationStudy, study
from metaeval.errors import ApproximationWarning, MetaevalError, ParameterError
from metaeval.tables import Judgments

__all__ = ["CONSERVATIVE", "PROBES", "SCENARIOS", "Scenario", "calibration_study", "markdown_table"]

#: The probes as the study names them (the audit's probes; position in both designs).
PROBES = ("position (both orders)", "position (one order)", "length", "style", "self-preference", "intra-model",
          "consistency", "calibration")

#: Probes whose test and interval are exact and conservative by construction (coverage ≥ 95 %).
CONSERVATIVE = ("position (both orders)",)

_PAIR = ("position (both orders)", "position (one order)", "length", "style", "self-preference", "intra-model")
_BASE = {"n_models": 5, "n_items": 60, "judges": ("judge-atlas", "judge-borealis"), "n_humans": 2,
         "judge_noise": 0.5, "human_noise": 0.5}
_POINT = {"n_models": 5, "n_items": 60, "judges": ("judge-atlas", "judge-borealis"), "n_humans": 2}


@dataclass(frozen=True)
class Scenario:
    """One simulated setting: the simulator (``design``) and its arguments, the probes recorded,
    whether it is a null scenario for all of them, and the planted truth per probe (0 under the
    null; ``nan`` where the truth is not known, so only power is reported)."""

    design: str
    sim: Mapping[str, Any]
    probes: tuple[str, ...]
    null: bool = True
    truth: Mapping[str, float] = field(default_factory=dict)
    description: str = ""


SCENARIOS: dict[str, Scenario] = {
    "judges as sharp as the humans": Scenario(
        "pairwise", _BASE, _PAIR, description="two model judges and two humans with the same verdict noise"),
    "judges sharper than the humans": Scenario(
        "pairwise", {**_BASE, "judge_scale": 1.5, "human_noise": 1.0}, _PAIR[:5],
        description="judges see quality differences 1.5× as large, humans twice as noisy"),
    "judges noisier than the humans": Scenario(
        "pairwise", {**_BASE, "judge_noise": 1.5, "human_noise": 0.3}, _PAIR[:5],
        description="judge verdict noise sd 1.5, humans 0.3"),
    "length effect, no position effect": Scenario(
        "pairwise", {**_BASE, "length_bias": 0.7}, ("position (both orders)", "position (one order)",
                                                    "self-preference"),
        description="judges prefer longer outputs (0.7 log-odds per sd of log length)"),
    "position effect, no length effect": Scenario(
        "pairwise", {**_BASE, "position_bias": 0.7}, ("length", "style", "self-preference"),
        description="judges prefer the output shown first (0.7 log-odds)"),
    "small n (12 items)": Scenario("pairwise", {**_BASE, "n_items": 12}, _PAIR, description="12 items"),
    "tiny n (6 items)": Scenario("pairwise", {**_BASE, "n_items": 6}, _PAIR,
                                 description="6 items: below what the t intervals are calibrated for"),
    "ties": Scenario("pairwise", {**_BASE, "tie_threshold": 1.0}, _PAIR,
                     description="ordered-logit ties (threshold 1: about a third of the verdicts)"),
    "clustered items": Scenario("pairwise", {**_BASE, "item_sd": 1.0}, _PAIR,
                                description="item × model quality effects (sd 1) shared by every judge"),
    "judge agreeing by chance, repeated": Scenario(
        "pairwise", {"n_models": 4, "n_items": 60, "judges": ("judge-atlas",), "n_humans": 0,
                     "strengths": (0.0, 0.0, 0.0, 0.0), "n_reps": 2}, ("consistency",),
        description="equal models, two repeats: the judge's repeats agree only by chance (κ = 0)"),
    "pointwise, judges sharper": Scenario(
        "pointwise", {**_POINT, "judge_scale": 1.5}, ("length", "self-preference"),
        description="1–10 grades; judges 1.5× as sharp and less noisy (0.7) than the humans (1.0): many grades at "
                    "the ceiling or floor"),
    "pointwise, judges sharper, continuous grades": Scenario(
        "pointwise", {**_POINT, "judge_scale": 1.5, "scale": None}, ("length", "self-preference"),
        description="as above on an unbounded scale (no ceiling or floor)"),
    "pointwise, calibrated judge": Scenario(
        "pointwise", {**_POINT, "judges": ("judge-atlas",), "scale": None, "judge_noise": 0.0,
                      "judge_offset_sd": 0.0}, ("calibration", "intra-model"),
        description="continuous grades; the judge is the humans' mean without their noise (no gain to calibrate)"),
    "pointwise, calibrated judge, small n (12 items)": Scenario(
        "pointwise", {**_POINT, "judges": ("judge-atlas",), "scale": None, "judge_noise": 0.0,
                      "judge_offset_sd": 0.0, "n_items": 12}, ("calibration", "intra-model"),
        description="as above with 12 items"),
    "planted position, length and self-preference": Scenario(
        "pairwise", {**_BASE, "judge_noise": 0.0, "position_bias": 0.5, "length_bias": 0.5, "self_preference": 0.7},
        ("position (both orders)", "position (one order)", "length", "self-preference"), null=False,
        truth={"position (both orders)": 0.5, "position (one order)": 0.5, "length": 0.5, "self-preference": 0.7},
        description="noise-free judges with position 0.5, length 0.5 and self-preference 0.7 (log-odds)"),
    "planted self-preference, small n (12 items)": Scenario(
        "pairwise", {**_BASE, "judge_noise": 0.0, "self_preference": 1.0, "n_items": 12}, ("self-preference",),
        null=False, truth={"self-preference": 1.0}, description="self-preference 1.0 with 12 items"),
    "pointwise, planted effects": Scenario(
        "pointwise", {**_POINT, "judges": ("judge-atlas",), "self_preference": 1.0, "length_bias": 0.5,
                      "judge_scale": 2.0},
        ("length", "self-preference", "intra-model", "calibration"), null=False,
        truth={"length": math.nan, "self-preference": math.nan, "intra-model": math.nan, "calibration": math.nan},
        description="1–10 grades: self-preference 1, length 0.5 and a judge twice as sharp (power only)"),
    "consistency with known agreement": Scenario(
        "pairwise", {"n_models": 4, "n_items": 60, "judges": ("judge-atlas",), "n_humans": 0,
                     "strengths": (-1.0, -0.3, 0.3, 1.0), "n_reps": 2}, ("consistency",), null=False,
        truth={"consistency": math.nan},
        description="fixed strengths, two repeats; true κ from a 40,000-item simulation"),
}


@functools.cache
def _kappa_truth(sim: tuple[tuple[str, Any], ...]) -> float:
    """Fleiss' κ over repeats of a scenario's judge, from one very large simulation."""

    f = simulate.pairwise(**dict(sim, n_items=40_000), rng=12345).judgments.frame
    f = f.with_columns(("rep:" + pl.col("rep").cast(pl.String)).alias("judge")).drop("rep")
    return float(fleiss_kappa(Judgments(f, kind="pairwise"), ci="none").estimate)


def _one_per_judge(table: pl.DataFrame, judges: Sequence[str]) -> pl.DataFrame:
    return table.filter(pl.col("judge").is_in(list(judges))) if "judge" in table.columns else table


def _run(probe: str, tables: dict[str, Any], model_judges: Sequence[str], gen: np.random.Generator) -> pl.DataFrame:
    if probe == "position (both orders)":
        return _one_per_judge(position_bias(tables["both"], design="both_orders").table, model_judges)
    if probe == "position (one order)":
        return _one_per_judge(position_bias(tables["one"], design="one_order").table, model_judges)
    main = tables["one"]
    if probe == "length":
        return _one_per_judge(length_bias(main).table, model_judges)
    if probe == "style":
        return style_bias(main).table
    if probe == "self-preference":
        return _one_per_judge(self_preference(main).table, model_judges)
    if probe == "intra-model":
        t = intra_model_bias(main, "human").table
        return t.filter(pl.col("own_family").fill_null(False) & pl.col("judge").is_in(list(model_judges)))
    if probe == "consistency":
        return _one_per_judge(self_consistency(main, n_resamples=500, rng=gen).table, model_judges)
    if probe == "calibration":
        return pl.concat([calibration(main, j, "human", n_resamples=500, rng=gen).table for j in model_judges])
    raise ParameterError(f"unknown probe {probe!r}; expected one of {', '.join(PROBES)}")


def _replicate(gen: np.random.Generator, *, name: str, scenario: Scenario,
               declared: dict[tuple[str, str], int]) -> list[dict[str, Any]]:
    sc = scenario
    tables: dict[str, Any] = {}
    if sc.design == "pairwise":
        if "position (both orders)" in sc.probes:
            tables["both"] = simulate.pairwise(**sc.sim, both_orders=True, rng=gen).judgments
        if any(p != "position (both orders)" for p in sc.probes):
            tables["one"] = simulate.pairwise(**sc.sim, rng=gen).judgments
    else:
        tables["one"] = simulate.pointwise(**sc.sim, rng=gen).judgments
    model_judges = list(sc.sim.get("judges", ()))
    records: list[dict[str, Any]] = []
    for probe in sc.probes:
        truth = sc.truth.get(probe, 0.0) if not sc.null else 0.0
        if probe == "consistency" and not sc.null:
            truth = _kappa_truth(tuple(sorted(sc.sim.items())))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                t = _run(probe, tables, model_judges, gen)
            except MetaevalError:
                t = None
        if any(issubclass(w.category, ApproximationWarning) for w in caught):
            declared[(name, probe)] = declared.get((name, probe), 0) + 1
        if t is None or t.height == 0:
            records.append({"test": probe, "pvalue": math.nan})
            continue
        for row in t.iter_rows(named=True):
            records.append({"test": probe, "pvalue": row["pvalue"], "ci_low": row["ci_low"],
                            "ci_high": row["ci_high"], "truth": truth})
    return records


def calibration_study(
    n_replicates: int = 500,
    *,
    scenarios: Sequence[str] | Mapping[str, Scenario] | None = None,
    rng: int = 0,
    progress: bool | None = None,
) -> CalibrationStudy:
    """False-positive rate (or power) and interval coverage of every probe of the audit.

    Parameters
    ----------
    n_replicates
        Simulated studies per scenario (500 gives a Monte Carlo standard error of about 1 point
        on a 5 % rate and on a 95 % coverage).
    scenarios
        Names from :data:`SCENARIOS`, or a mapping of names to :class:`Scenario` (default: all
        of :data:`SCENARIOS`).
    rng
        The seed of the harness (every replicate gets its own generator from it).
    progress
        Show a progress bar over scenarios and replicates (default: on a terminal or in a notebook;
        ``False``: never).

    Returns
    -------
    CalibrationStudy
        The harness's table (scenario × probe: ``rejection_rate`` with ``rejection_mcse``,
        ``coverage`` with ``coverage_mcse``, ``within_tolerance`` …) with two columns added:
        ``declared`` — the share of replicates in which the probe warned that its interval or
        test is approximate on those data — and ``ok``: within tolerance; or, for the exact
        position test (:data:`CONSERVATIVE`), a false-positive rate within tolerance and coverage
        of at least the band's lower end; or declared in most replicates.

    Notes
    -----
    The study limits BLAS to one thread while it runs (with ``threadpoolctl``, when installed):
    its matrices are small, and on a busy machine threads cost more than they save.
    """
    if scenarios is None:
        chosen: dict[str, Scenario] = dict(SCENARIOS)
    elif isinstance(scenarios, Mapping):
        chosen = dict(scenarios)
    else:
        unknown = [s for s in scenarios if s not in SCENARIOS]
        if unknown:
            raise ParameterError(f"unknown scenario {unknown[0]!r}; the study has {', '.join(SCENARIOS)}")
        chosen = {s: SCENARIOS[s] for s in scenarios}
    bad = [(n, p) for n, sc in chosen.items() for p in sc.probes if p not in PROBES]
    if bad:
        raise MetaevalError(f"scenario {bad[0][0]!r} names unknown probe {bad[0][1]!r}; expected one of "
                            f"{', '.join(PROBES)}")
    declared: dict[tuple[str, str], int] = {}
    try:
        from threadpoolctl import threadpool_limits
        limit: Any = threadpool_limits(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover - optional
        limit = contextlib.nullcontext()
    with limit:
        res = study(functools.partial(_replicate, declared=declared),
                    {n: {"name": n, "scenario": sc} for n, sc in chosen.items()}, n_replicates=n_replicates,
                    null=[n for n, sc in chosen.items() if sc.null], rng=rng, progress=progress)
    share = [declared.get((s, t), 0) / n_replicates for s, t in res.table.select("scenario", "test").iter_rows()]
    table = res.table.with_columns(pl.Series("declared", share, dtype=pl.Float64))
    lo_band = res.coverage_band[0]
    limit_fpr = res.alpha + 2.0 * math.sqrt(res.alpha * (1 - res.alpha) / n_replicates)
    conservative_ok = (pl.col("test").is_in(list(CONSERVATIVE))
                       & (~pl.col("null") | (pl.col("rejection_rate") <= limit_fpr))
                       & (pl.col("coverage").is_nan() | (pl.col("coverage") >= lo_band)))
    table = table.with_columns((pl.col("within_tolerance") | conservative_ok | (pl.col("declared") > 0.5))
                               .alias("ok"))
    return dataclasses.replace(res, table=table, title="null calibration of the bias probes")


def _pct(x: float, se: float) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    return f"{100 * x:.1f} ± {100 * se:.1f}"


def markdown_table(res: CalibrationStudy) -> str:
    """The study as a Markdown table: scenario × probe, rejection rate (false-positive rate in
    null scenarios, power otherwise) and coverage, in percent ± one Monte Carlo standard error,
    the share of replicates in which the probe declared itself approximate, and ``ok``."""
    lines = ["| scenario | probe | rows | FPR / power (%) | coverage (%) | declared | ok |",
             "|---|---|---:|---:|---:|---:|:---:|"]
    for r in res.table.iter_rows(named=True):
        kind = "FPR" if r["null"] else "power"
        rate = _pct(r["rejection_rate"], r["rejection_mcse"])
        lines.append(f"| {r['scenario']} | {r['test']} | {r['n']} | {kind} {rate} | "
                     f"{_pct(r['coverage'], r['coverage_mcse'])} | {r['declared']:.0%} | "
                     f"{'yes' if r['ok'] else '**no**'} |")
    return "\n".join(lines)
