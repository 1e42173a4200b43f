"""``bias.audit``: every probe the table's columns allow, in one table of findings."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from metaeval._format import table_text
from metaeval._progress import task
from metaeval._random import as_generator
from metaeval._validate import LEVEL, N_RESAMPLES, validate_params
from metaeval.bias._common import STANDARD, BiasProbe
from metaeval.bias.consistency import calibration, self_consistency
from metaeval.bias.length import length_bias
from metaeval.bias.position import position_bias
from metaeval.bias.self_preference import intra_model_bias, self_preference
from metaeval.bias.style import style_bias
from metaeval.errors import MetaevalError
from metaeval.results import Result, RunInfo
from metaeval.stats.multiple import adjust_pvalues
from metaeval.stats.resampling import DEFAULT_N_RESAMPLES
from metaeval.tables import Judgments, as_judgments, auto_reference, reference_members

__all__ = ["Audit", "audit"]

#: Probes whose p-values test a bias (and enter the multiplicity correction). Each is calibrated
#: by :mod:`metaeval.bias.study`. Intra-model departures are not among them: a judge departs from
#: the reference on a model for many reasons (it is sharper, it likes long answers …), so they
#: are reported with their own tests but never flagged; self-preference is the test of favouritism.
BIAS_PROBES = ("position", "length", "style", "self-preference")


@dataclass(frozen=True)
class Audit(Result):
    """One row per finding: ``probe``, ``subject`` (judge, variant, feature …), the standard
    estimate columns, ``p_holm`` (Holm over every bias test of the audit: position, length,
    style, self-preference) and ``flagged``. Intra-model departures, consistency and
    calibration are reported with their own p-values but not flagged (``p_holm`` is nan).
    ``probes`` holds each probe's full result; ``skipped`` says why a probe did not run;
    ``warnings`` keeps what the probes warned about."""

    table: pl.DataFrame
    probes: dict[str, BiasProbe]
    skipped: dict[str, str]
    run_info: RunInfo
    confidence_level: float
    warnings: tuple[str, ...] = field(default_factory=tuple)
    title: str = "judge bias audit"

    @property
    def flagged(self) -> pl.DataFrame:
        """The findings whose bias test survives the Holm correction."""
        return self.table.filter(pl.col("flagged"))

    def summary(self) -> str:
        body = table_text(self.table.drop("finding"), title=self.title)
        lines = ["findings:"] + [f"- [{r['probe']}] {r['finding']}" for r in self.table.iter_rows(named=True)]
        lines += [f"skipped {k}: {v}" for k, v in self.skipped.items()]
        lines += [f"warning {w}" for w in dict.fromkeys(self.warnings)]
        return body + "\n" + "\n".join(lines)

    def chart(self) -> Any:
        """The effect charts of the probes that ran, stacked."""
        import altair as alt

        return alt.vconcat(*[p.chart() for p in self.probes.values()])


def _subject(table: pl.DataFrame) -> list[str]:
    keys = [c for c in table.columns[: table.columns.index("effect")]]
    if not keys:
        return ["all"] * table.height
    return [" · ".join(str(v) for v in row) for row in table.select(keys).iter_rows()]


@validate_params({"n_resamples": [N_RESAMPLES], "confidence_level": [LEVEL], "rng": ["rng"]})
def audit(
    judgments: Judgments,
    *,
    reference: str | None = None,
    families: Mapping[str, str] | Callable[[str], str | None] | None = None,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    rng: Any = None,
) -> Audit:
    """Run every bias probe that the columns of ``judgments`` allow.

    Position (``shown_first``), length (``len_a``/``len_b`` or ``length``), style (response texts
    or lengths), self-preference (judges and models of known families: ``families=``, else the
    known providers of :mod:`metaeval.bias.families`), intra-model bias and calibration (a
    ``reference`` judge: humans or gold, found automatically), consistency (``rep``). A probe
    that cannot run is listed in ``skipped`` with the reason. The position, length, style and
    self-preference tests are Holm-adjusted together and ``flagged`` when the adjusted p-value
    is below 1 − ``confidence_level``; their false-positive rates and interval coverage are
    checked on simulated nulls by :func:`metaeval.bias.study.calibration_study`.

    Parameters
    ----------
    judgments : Judgments
        Pairwise verdicts or pointwise scores, with whatever columns the probes use.
    reference : str, optional
        The reference judge (or prefix, e.g. ``"human"``) for self-preference, intra-model bias,
        position accuracy and calibration. Default: found automatically (a judge called gold or
        human); without one, the probes that need it are skipped.
    families : mapping or callable, optional
        Name → family for models and judges (see :func:`metaeval.bias.families.resolve_families`).
        Default: the known providers.
    n_resamples : int, default 1000
        Bootstrap resamples for the probes that bootstrap (style, consistency, calibration).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Of every interval; a finding is flagged when its Holm-adjusted p-value is below
        1 − ``confidence_level``.
    rng : int, numpy.random.Generator or None
        Seed for the bootstraps; the same seed gives the same audit.

    Returns
    -------
    Audit
        ``table``: one row per finding (``probe``, ``subject``, ``estimate``, ``ci_low``,
        ``ci_high``, ``pvalue``, ``p_holm``, ``flagged``, ``finding``); ``probes`` (each probe's full
        :class:`BiasProbe`), ``skipped`` (probe → reason), ``warnings``; ``flagged`` lists the
        findings that survive the Holm correction.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import bias
    >>> sim = metaeval.simulate.pairwise(n_models=4, n_items=120, judges=("judge-atlas", "judge-cirrus"),
    ...                                  n_humans=1, position_bias=1.0, both_orders=True, rng=5)
    >>> res = bias.audit(sim.judgments, n_resamples=100, rng=0)
    >>> sorted(res.probes)
    ['intra-model', 'length', 'position', 'self-preference', 'style']
    >>> bool(res.table.filter(pl.col("probe") == "position")["flagged"].all())
    True
    """
    judgments = as_judgments(judgments)

    if not isinstance(judgments, Judgments):
        raise MetaevalError(f"`audit` needs a metaeval `Judgments` table; got {type(judgments).__name__}")
    gen, seed = as_generator(rng)
    if reference is not None:
        reference_members(judgments.judges, reference)  # a reference that names no judge: say so first
    reference = reference if reference is not None else auto_reference(judgments.judges)
    steps: list[tuple[str, Callable[[], BiasProbe | list[BiasProbe]]]] = []
    lvl = {"confidence_level": confidence_level}
    if judgments.kind == "pairwise":
        steps.append(("position", lambda: position_bias(judgments, reference=reference, **lvl)))
    steps.append(("length", lambda: length_bias(judgments, **lvl)))
    if judgments.kind == "pairwise":
        steps.append(("style", lambda: style_bias(judgments, **lvl)))
    steps.append(("self-preference", lambda: self_preference(judgments, families=families, reference=reference,
                                                             **lvl)))
    if reference is not None:
        steps.append(("intra-model", lambda: intra_model_bias(judgments, reference, families=families, **lvl)))
    steps.append(("consistency", lambda: self_consistency(judgments, n_resamples=n_resamples, rng=gen, **lvl)))
    if judgments.kind == "pointwise" and reference is not None:
        def run_calibration() -> list[BiasProbe]:
            members = reference_members(judgments.judges, reference)
            names = [j for j in judgments.judges if j not in members]
            return [calibration(judgments, j, reference, n_resamples=n_resamples, rng=gen, **lvl) for j in names]
        steps.append(("calibration", run_calibration))
    probes: dict[str, BiasProbe] = {}
    skipped: dict[str, str] = {}
    seen: list[str] = []
    with task("bias audit", len(steps)) as shown:
        for name, step in steps:
            shown.update(f"bias audit: {name}")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    out = step()
                except MetaevalError as exc:
                    skipped[name] = str(exc)
                    out = None
            shown.advance()
            seen += [f"{name}: {str(w.message).removeprefix(name + ': ')}" for w in caught]
            if out is None:
                continue
            if isinstance(out, list) and not out:
                skipped[name] = "no judge to probe (every judge is the reference)"
                continue
            if isinstance(out, list):
                tables = [p.table for p in out]
                merged = BiasProbe(out[0].probe, out[0].effect, out[0].null,
                                   pl.concat(tables, how="diagonal_relaxed"), confidence_level, out[0].run_info, {}, ())
                probes[name] = merged
            else:
                probes[name] = out
    rows = []
    for name, res in probes.items():
        t = res.table
        rows.append(pl.DataFrame({"probe": [name] * t.height, "subject": _subject(t)})
                    .hstack(t.select(list(STANDARD)).with_columns(pl.col("n").cast(pl.Int64))))
    if not rows:
        raise MetaevalError("no bias probe could run on this table: " +
                            "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    table = pl.concat(rows, how="vertical_relaxed")
    p = table["pvalue"].to_numpy().astype(float)
    is_bias = table["probe"].is_in(list(BIAS_PROBES)).to_numpy() & np.isfinite(p)
    holm = np.full(len(p), np.nan)
    if is_bias.any():
        holm[is_bias] = adjust_pvalues(p[is_bias], "holm")
    alpha = 1 - confidence_level
    table = table.with_columns(pl.Series("p_holm", holm), pl.Series("flagged", is_bias & (holm < alpha)))
    table = table.select(["probe", "subject", *[c for c in STANDARD if c != "finding"], "p_holm", "flagged",
                          "finding"])
    run = RunInfo("bias_audit", {"reference": reference, "n_resamples": n_resamples, "probes": list(probes)}, seed,
                  judgments.fingerprint, len(judgments.items), len(judgments))
    return Audit(table, probes, skipped, run, confidence_level, tuple(seen))
