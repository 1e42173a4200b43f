"""PoLL's intra-model bias per judge: on each evaluated model's outputs, how far the judge's
accuracy departs from its accuracy on the other models, and which way its scores lean.

The lean (the score shift) is one statistic with one home, :func:`metaeval.bias.intra_model_bias`;
:func:`intra_model_bias` here composes it with the accuracy gap and the flags of a jury's choice."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
import polars as pl

from metaeval._random import as_generator
from metaeval._validate import LEVEL, Interval, validate_params
from metaeval.bias.families import family_function
from metaeval.bias.self_preference import intra_model_bias as score_shift
from metaeval.errors import InsufficientDataError, MetaevalError
from metaeval.juries._data import as_categories, verdicts
from metaeval.results import Result, RunInfo
from metaeval.stats.resampling import DEFAULT_N_RESAMPLES, bootstrap_pvalue, cluster_weights, percentile_interval
from metaeval.tables import Judgments, as_judgments, reference_members

__all__ = ["IntraModel", "intra_model_bias"]


@dataclass(frozen=True)
class IntraModel(Result):
    """One row per judge and evaluated model: the judge's accuracy on that model's outputs, on
    the others', the gap with a cluster-bootstrap interval, and (where the reference gives
    scores or verdicts to compare) the score shift of :func:`metaeval.bias.intra_model_bias`.
    ``flags`` names judges that favour their own family or are less accurate on it."""

    table: pl.DataFrame
    flags: tuple[str, ...]
    notes: tuple[str, ...]
    run_info: RunInfo
    title: str = "intra-model bias per judge (PoLL)"

    def summary(self) -> str:
        text = super().summary()
        extra = [f"flag: {f}" for f in self.flags] + [f"note: {n}" for n in self.notes]
        return text + ("\n" + "\n".join(extra) if extra else "")


@validate_params({
    "n_resamples": [Interval(Integral, 0, None, closed="left")],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
})
def intra_model_bias(
    judgments: Judgments,
    reference: str = "human",
    *,
    judges: Sequence[str] | None = None,
    families: Mapping[str, str] | Callable[[str], str | None] | None = None,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    rng: Any = None,
) -> IntraModel:
    """PoLL's per-model view of each judge: accuracy on a model's outputs against the others', and the score shift.

    Per judge and evaluated model: accuracy on the model's outputs (pointwise: the units of
    that model; pairwise: the battles it takes part in) minus accuracy on the other models'
    outputs, with a percentile-bootstrap interval over items and a bootstrap p-value; and the
    score shift (the judge's score of the model minus the reference's, relative to the other
    models), which is :func:`metaeval.bias.intra_model_bias`'s estimate, interval and p-value as
    that function reports them: this function computes no score shift of its own. A judge is
    flagged when it scores its own family significantly higher than the reference does, or is
    significantly less accurate on it.

    Parameters
    ----------
    judgments : Judgments
        Verdicts or scores by the model judges and the reference.
    reference : str, default "human"
        The reference judge, or a prefix whose judges form a consensus.
    judges : sequence of str, optional
        The judges to assess. Default: every judge but the reference.
    families : mapping or callable, optional
        Name → family for judges and models. Default: the known providers of
        :mod:`metaeval.bias.families`.
    n_resamples : int, default 1000
        Bootstrap resamples over items. Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the intervals; flags use the level 1 − ``confidence_level``.
    rng : int, numpy.random.Generator or None
        Seed for the bootstrap.

    Returns
    -------
    IntraModel
        ``table``: one row per judge × model (accuracy on the model, on the others, the gap with
        interval and p-value, the score shift, ``own_family``); ``flags`` (one sentence per flagged
        judge) and ``notes``.

    Notes
    -----
    Verga et al. (2024) read this table for judges that rate their own family's outputs higher than
    other judges do. ``own_family`` (and so the flags) groups names by ``families`` or, by default, by
    :func:`metaeval.bias.families.family_of`'s prefix (``judge-atlas`` and ``atlas-1`` are one family),
    where :func:`metaeval.bias.intra_model_bias` uses the known providers only; pass ``families=`` to
    make the two agree. An accuracy gap is in accuracy points; a gap on one model alone, without a
    matching score shift, more often reflects that model's outputs being harder to judge than
    favouritism.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import juries
    >>> sim = metaeval.simulate.pairwise(n_models=4, n_items=150, judges=("judge-atlas",), n_humans=3,
    ...                                  self_preference=2.0, rng=3)
    >>> res = juries.intra_model_bias(sim.judgments, "human", n_resamples=200, rng=0)
    >>> any("judge-atlas" in f for f in res.flags)
    True
    """
    judgments = as_judgments(judgments)
    gen, seed = as_generator(rng)
    fam = family_function(families)
    members = reference_members(judgments.judges, reference)
    names = list(judges) if judges is not None else [j for j in judgments.judges if j not in members]
    unknown = [j for j in names if j not in judgments.judges]
    if unknown:
        raise MetaevalError(f"unknown judge {unknown[0]!r}; the table has {', '.join(judgments.judges)}")
    level = confidence_level
    table = _accuracy_gaps(judgments, reference, names, fam, n_resamples, level, gen)
    notes: list[str] = []
    # The score shift is the one statistic of :func:`metaeval.bias.intra_model_bias`, joined in as it reports it.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shift = score_shift(judgments, reference, families=families, confidence_level=level).table
        shift = shift.select("judge", "model", pl.col("estimate").alias("score_shift"),
                             pl.col("ci_low").alias("shift_ci_low"), pl.col("ci_high").alias("shift_ci_high"),
                             pl.col("pvalue").alias("shift_pvalue"))
        table = table.join(shift, on=["judge", "model"], how="left", maintain_order="left")
    except MetaevalError as exc:
        notes.append(f"no score shift: {exc}")
    flags = []
    alpha = 1 - level
    for r in table.filter(pl.col("own_family")).iter_rows(named=True):
        if r.get("score_shift") is not None and np.isfinite(r.get("shift_pvalue") or np.nan) \
                and r["shift_pvalue"] < alpha and r["score_shift"] > 0:
            flags.append(f"{r['judge']} favours its own family's {r['model']}: score shift {r['score_shift']:+.3f} "
                         f"[{r['shift_ci_low']:+.3f}, {r['shift_ci_high']:+.3f}] vs the reference")
        if np.isfinite(r["gap_pvalue"]) and r["gap_pvalue"] < alpha and r["accuracy_gap"] < 0:
            flags.append(f"{r['judge']} is less accurate on its own family's {r['model']}: "
                         f"{r['accuracy']:.3f} vs {r['accuracy_others']:.3f} on the others")
    run = RunInfo("juries.intra_model_bias", {"reference": reference, "n_resamples": n_resamples,
                                              "confidence_level": level}, seed, judgments.fingerprint,
                  len(judgments.items), len(judgments))
    return IntraModel(table.sort("judge", "model"), tuple(flags), tuple(notes), run)


def _accuracy_gaps(judgments: Judgments, reference: str, names: Sequence[str], fam: Callable[[str], str | None],
                   n_resamples: int, level: float, gen: np.random.Generator) -> pl.DataFrame:
    """Per judge and evaluated model: the judge's accuracy against ``reference`` on the model's outputs
    (pointwise: its units; pairwise: the battles it takes part in) and on the other models' outputs, the gap
    with a percentile-bootstrap interval over items (weights drawn per judge, in the order of ``names``) and a
    bootstrap p-value; ``own_family`` by ``fam``."""
    rows: list[dict[str, Any]] = []
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = as_categories(verdicts(judgments, reference, judges=[name]))
        right = (v.values[:, 0] == v.reference).astype(float)
        if v.kind == "pairwise":
            side_a = v.units["model_a"].to_numpy().astype(str)
            side_b = v.units["model_b"].to_numpy().astype(str)
            models = sorted(set(side_a) | set(side_b))
        else:
            if "model" not in v.units.columns:
                raise MetaevalError("a pointwise table needs `model` for intra-model bias")
            side_a = side_b = v.units["model"].to_numpy().astype(str)
            models = sorted(set(side_a))
        W = cluster_weights(v.n_items, n_resamples, gen) if n_resamples > 0 else None
        for m in models:
            on = (side_a == m) | (side_b == m)
            if on.all() or not on.any():
                continue
            s = np.stack([np.add.reduceat(x, v.starts) for x in (on * 1.0, on * right, ~on * 1.0, ~on * right)])
            acc_m, acc_r = s[1].sum() / s[0].sum(), s[3].sum() / s[2].sum()
            lo = hi = p = float("nan")
            if W is not None:
                t = W @ s.T
                with np.errstate(invalid="ignore", divide="ignore"):
                    d = t[:, 1] / t[:, 0] - t[:, 3] / t[:, 2]
                lo, hi = percentile_interval(d, level, axis=None)
                p = bootstrap_pvalue(d)
            jf = fam(name)
            rows.append({"judge": name, "model": m, "own_family": bool(jf is not None and fam(m) == jf),
                         "accuracy": float(acc_m), "accuracy_others": float(acc_r),
                         "accuracy_gap": float(acc_m - acc_r),
                         "gap_ci_low": lo, "gap_ci_high": hi, "gap_pvalue": p, "n_units": int(on.sum())})
    if not rows:
        raise InsufficientDataError("no judge rated outputs of more than one model alongside the reference")
    return pl.DataFrame(rows)
