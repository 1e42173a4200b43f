"""One verdict per unit from a panel of judges: the panel becomes a judge of its own."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from metaeval._random import as_generator
from metaeval._validate import Options, validate_params
from metaeval.errors import MetaevalError, MissingVerdictWarning, ParameterError
from metaeval.juries import _kernels as kern
from metaeval.juries._data import Value
from metaeval.juries.panels import Weighting, check_rule, prepare, vote_weights
from metaeval.tables import ABSTAINED, Judgments, as_judgments

__all__ = ["pool"]


@validate_params({
    "rule": [Options(str, ("majority", "weighted", "probability", "mean", "median"))],
    "tie": [Options(str, ("tie", "chair", "random"))],
    "weighting": [Options(str, ("accuracy", "log_odds"))],
    "value": [Options(str, ("auto", "score", "label"))],
    "missing": [Options(str, ("drop", "wrong", "tie"))],
    "rng": ["rng"],
})
def pool(
    judgments: Judgments,
    judges: Sequence[str],
    *,
    rule: kern.Rule = "majority",
    tie: kern.Tie = "chair",
    weights: Mapping[str, float] | None = None,
    reference: str | None = None,
    weighting: Weighting = "accuracy",
    value: Value = "auto",
    name: str | None = None,
    missing: str = "drop",
    rng: Any = None,
) -> Judgments:
    """Pool the verdicts of ``judges`` into one verdict per unit, added to the table as a new judge.

    The new judge is called ``jury(A+B+C)`` unless ``name`` is given. Units that some member did
    not rate are left out of the panel's verdicts (counted in a warning). Rules and tie handling as
    in :func:`evaluate_panels`; ``rule="weighted"`` takes explicit ``weights`` (judge → weight) or,
    with a ``reference``, each judge's agreement with it on the same units — for an honest score of
    a weighted panel use :func:`evaluate_panels`, which learns the weights on items it then leaves
    out. The panel's ``cost`` is the sum of its members' costs where the table has them.

    Parameters
    ----------
    judgments : Judgments
        Verdicts or scores of the members.
    judges : sequence of str
        The members, in chair order (the first breaks ties with ``tie="chair"``).
    rule : {"majority", "weighted", "probability", "mean", "median"}, default "majority"
        How the verdicts are pooled: majority vote, weighted vote, mean P(a preferred) (pairwise),
        or the mean / median of scores.
    tie : {"chair", "random", "tie"}, default "chair"
        How a split vote is broken.
    weights : mapping of str to float, optional
        Vote weights for ``rule="weighted"``.
    reference : str, optional
        For ``rule="weighted"`` without ``weights``: the judge whose agreement sets the weights.
    weighting : {"accuracy", "log_odds"}, default "accuracy"
        How agreement with ``reference`` becomes a weight.
    value : {"auto", "score", "label"}, default "auto"
        Which verdict to pool.
    name : str, optional
        The new judge's name.
    missing : {"drop", "wrong", "tie"}, default "drop"
        What a member's abstention counts as (as in :func:`evaluate_panels`): ``"drop"`` leaves the
        unit out; with ``"wrong"`` a panel verdict of "no verdict" is written as an abstention.
    rng : int, numpy.random.Generator or None
        Seed for ``tie="random"``.

    Returns
    -------
    Judgments
        The input table with the panel's verdicts added as one more judge.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import juries
    >>> sim = metaeval.simulate.jury(n_items=200, accuracies=(0.8, 0.7, 0.7), rng=0)
    >>> j = juries.pool(sim.judgments, ["judge-1", "judge-2", "judge-3"], name="jury")
    >>> "jury" in j.judges
    True
    """
    judgments = as_judgments(judgments)
    check_rule(rule, tie)
    gen, _ = as_generator(rng)
    judges = list(judges)
    if len(judges) < 1:
        raise ParameterError("`judges` must name at least one judge")
    if rule == "weighted" and weights is None and reference is None:
        raise MetaevalError("`rule='weighted'` needs `weights` (judge → weight) or a `reference` to learn them from")
    v = prepare(judgments, reference, judges=judges, rule=rule, value=value, cost="cost", price=None,  # type: ignore[arg-type]
                tokens="tokens", families=None, missing=missing)
    w = None
    if rule == "weighted":
        if weights is not None:
            missing = [j for j in judges if j not in weights]
            if missing:
                raise MetaevalError(f"`weights` has no weight for judge {missing[0]!r}")
            w = np.array([float(weights[j]) for j in v.judges])
        else:
            w = vote_weights(v, weighting)
    idx = kern.panel_index([tuple(range(len(v.judges)))])
    pooled = kern.pool(v.values, idx, rule, n_categories=v.n_categories, tie=tie,
                    tie_code=2 if v.kind == "pairwise" else None, weights=w, prob=v.prob, rng=gen)[0]
    label = name or f"jury({'+'.join(v.judges)})"
    if label in judgments.judges:
        raise MetaevalError(f"the table already has a judge named {label!r}; pass another `name`")
    out = v.units.with_columns(pl.lit(label).alias("judge"))
    f = judgments.frame
    scores = judgments.kind == "pointwise" and (value == "score" or (
        value == "auto" and "score" in f.columns and f["score"].null_count() < f.height))
    labels = [None if lab == ABSTAINED else lab for lab in (v.labels or ())]
    if v.numeric:
        out = out.with_columns(pl.Series("score", pooled.astype(float)))
    elif v.kind == "pairwise":
        out = out.with_columns(pl.Series("outcome", [labels[int(c)] for c in pooled], dtype=pl.String))
    elif scores:  # integer scores put to a vote
        out = out.with_columns(pl.Series("score", [float(labels[int(c)]) for c in pooled]))
    else:
        out = out.with_columns(pl.Series("label", [labels[int(c)] for c in pooled], dtype=pl.String))
    if any(lab is None for lab in labels):
        verdict = "outcome" if v.kind == "pairwise" else "label"
        out = out.with_columns(pl.when(pl.col(verdict).is_null()).then(pl.lit("the panel gave no verdict"))
                               .alias("missing_reason"))
    if np.all(np.isfinite(v.unit_cost)) and v.cost_source.startswith("mean"):
        out = out.with_columns(pl.lit(float(v.unit_cost.sum())).alias("cost"))
    frame = pl.concat([judgments.all_rows(), out], how="diagonal_relaxed")
    with warnings.catch_warnings():  # abstentions already announced with the input table
        warnings.simplefilter("ignore", MissingVerdictWarning)
        return Judgments(frame, kind=judgments.kind, provenance=judgments.provenance)
