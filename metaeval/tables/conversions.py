"""The conversions every analysis shares, and nowhere else: a verdict as a preference
(:func:`preference`, :func:`outcome_score`), a pair's orientation (:func:`canonical`), the majority
verdict (:func:`majority`), the common baseline (:func:`common_baseline`), the abstention policies
(:data:`MISSING_POLICIES`, :func:`check_missing`), the units verdicts are compared on
(:data:`UNIT_KEYS`, :func:`broadcast_units`), names as codes (:func:`model_codes`) and the
resolution of a reference (:func:`reference_members`, :func:`auto_reference`,
:func:`column_or_extra`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from metaeval.errors import MetaevalError, ParameterError


# ----------------------------------------------------------------------------- pairwise helpers
def preference(frame: pl.DataFrame) -> np.ndarray:
    """P(a preferred) of each pairwise verdict: ``p_a`` where given, else 1 / 0 / ½ from the outcome.

    Parameters
    ----------
    frame : polars.DataFrame
        Pairwise verdicts: an ``outcome`` column (``"a"``, ``"b"`` or ``"tie"``) and, optionally, ``p_a``.

    Returns
    -------
    numpy.ndarray
        One float per row: ``p_a`` where it is not missing, else 1.0, 0.0 or 0.5 from the outcome.

    Examples
    --------
    >>> f = pl.DataFrame({"outcome": ["a", "b", "tie", "a"], "p_a": [None, None, None, 0.7]})
    >>> preference(f).tolist()
    [1.0, 0.0, 0.5, 0.7]
    """
    y = frame["outcome"].cast(pl.String).replace_strict({"a": 1.0, "b": 0.0, "tie": 0.5},
                                                        return_dtype=pl.Float64).to_numpy()
    if "p_a" in frame.columns:
        p = frame["p_a"].cast(pl.Float64).to_numpy()
        y = np.where(np.isnan(p), y, p)
    return y


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Put every pair in a fixed order (model_a < model_b), flipping outcome, p_a, shown_first and lengths.

    Parameters
    ----------
    frame : polars.DataFrame
        Pairwise verdicts with ``model_a``, ``model_b`` and ``outcome``; ``shown_first``, ``p_a`` and
        ``len_a`` with ``len_b`` are flipped too where present.

    Returns
    -------
    polars.DataFrame
        The same rows with ``model_a`` < ``model_b`` (``outcome`` and ``shown_first`` as strings).

    Examples
    --------
    >>> f = pl.DataFrame({"model_a": ["y", "a"], "model_b": ["x", "b"], "outcome": ["a", "a"]})
    >>> canonical(f).rows()
    [('x', 'y', 'b'), ('a', 'b', 'a')]
    """
    swap = pl.col("model_a") > pl.col("model_b")
    flip_ab = {"a": "b", "b": "a"}
    cols = [
        pl.when(swap).then(pl.col("model_b")).otherwise(pl.col("model_a")).alias("model_a"),
        pl.when(swap).then(pl.col("model_a")).otherwise(pl.col("model_b")).alias("model_b"),
        pl.when(swap).then(pl.col("outcome").cast(pl.String).replace(flip_ab))
        .otherwise(pl.col("outcome").cast(pl.String)).alias("outcome"),
    ]
    if "shown_first" in frame.columns:
        cols.append(pl.when(swap).then(pl.col("shown_first").cast(pl.String).replace(flip_ab))
                    .otherwise(pl.col("shown_first").cast(pl.String)).alias("shown_first"))
    if "p_a" in frame.columns:
        cols.append(pl.when(swap).then(1 - pl.col("p_a")).otherwise(pl.col("p_a")).alias("p_a"))
    if "len_a" in frame.columns and "len_b" in frame.columns:
        cols += [pl.when(swap).then(pl.col("len_b")).otherwise(pl.col("len_a")).alias("len_a"),
                 pl.when(swap).then(pl.col("len_a")).otherwise(pl.col("len_b")).alias("len_b")]
    return frame.with_columns(cols)


def majority(frame: pl.DataFrame, keys: Sequence[str], column: str, *, split: Any = None) -> tuple[pl.DataFrame, int]:
    """The most frequent value of ``column`` in each group of ``keys``, and how many groups had no
    single most frequent value: those get ``split`` (a tie, say), or are left out when it is None.

    Parameters
    ----------
    frame : polars.DataFrame
        The rows to vote over.
    keys : sequence of str
        The columns that define a group.
    column : str
        The column whose most frequent value is taken in each group.
    split : Any, default None
        The value given to a group with no single most frequent value; None leaves such groups out.

    Returns
    -------
    tuple of (polars.DataFrame, int)
        One row per group kept (``keys`` and ``column``), and the number of groups with no single most
        frequent value (counted whether or not they are kept).

    Examples
    --------
    >>> f = pl.DataFrame({"u": [1, 1, 2, 2, 2], "v": ["a", "b", "a", "a", "b"]})
    >>> out, n_split = majority(f, ["u"], "v", split="tie")
    >>> out.sort("u")["v"].to_list(), n_split
    (['tie', 'a'], 1)
    """
    keys = list(keys)
    votes = frame.group_by([*keys, column], maintain_order=True).agg(pl.len().alias("__n"))
    top = votes.filter(pl.col("__n") == pl.col("__n").max().over(keys))
    agg = top.group_by(keys, maintain_order=True).agg(pl.col(column).first(), pl.len().alias("__k"))
    n_split = int((agg["__k"] > 1).sum())
    if split is None:
        agg = agg.filter(pl.col("__k") == 1)
    else:
        agg = agg.with_columns(pl.when(pl.col("__k") > 1).then(pl.lit(split)).otherwise(pl.col(column)).alias(column))
    return agg.drop("__k"), n_split


def common_baseline(frame: pl.DataFrame, baseline: str | None) -> str:
    """The model that takes part in every pairwise verdict (AlpacaEval's design), or a check that
    the named ``baseline`` is in the table.

    Parameters
    ----------
    frame : polars.DataFrame
        Pairwise verdicts with ``model_a`` and ``model_b``.
    baseline : str or None
        The baseline model to check; None finds the model that is in every row.

    Returns
    -------
    str
        The baseline model. A :class:`~metaeval.errors.MetaevalError` is raised when no model is in
        every row (``baseline`` None) or the named one is not in the table.

    Examples
    --------
    >>> f = pl.DataFrame({"model_a": ["gpt4", "llama", "gpt4"], "model_b": ["mistral", "gpt4", "qwen"]})
    >>> common_baseline(f, None)
    'gpt4'
    """
    n = frame.height
    counts = pl.concat([frame["model_a"], frame["model_b"]]).value_counts(sort=True)
    if baseline is None:
        top = counts.row(0)
        if top[1] < n:
            raise MetaevalError("`baseline` was not given and no model is in every comparison; the most frequent is "
                                f"{top[0]!r} ({top[1]} of {n} rows) — pass `baseline=`")
        return str(top[0])
    if baseline not in set(counts[counts.columns[0]].to_list()):
        raise MetaevalError(f"baseline {baseline!r} is not in `model_a` or `model_b`")
    return baseline


#: How to count a judge's abstention (a row without a verdict) in a judge metric: leave it out, count it
#: as a verdict of its own that is never right (published judge studies' convention), or as a tie.
MISSING_POLICIES: tuple[str, ...] = ("drop", "wrong", "tie")
#: The category an abstention gets under ``missing="wrong"``: it equals no real verdict.
ABSTAINED = "(no verdict)"


def check_missing(missing: str) -> None:
    """A clear error for an unknown ``missing=`` policy."""
    if missing not in MISSING_POLICIES:
        raise ParameterError(f"`missing` must be 'drop', 'wrong' or 'tie'; got {missing!r}")


#: The columns that name what a verdict is about (its unit), per kind; ``item`` and the models
#: are always given, the others may be null where a judge did not record them.
UNIT_KEYS: dict[str, tuple[str, ...]] = {
    "pointwise": ("item", "model", "variant", "task", "rep"),
    "pairwise": ("item", "model_a", "model_b", "variant", "task", "rep", "shown_first"),
}


def broadcast_units(frame: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Give every row a complete unit key: a row with a null in some key column applies to every
    unit that matches it on the key columns it does have.

    A reference recorded once per item and pair (no ``shown_first``, no ``variant``) is compared
    with the judge's verdict in each presentation order and under each prompt variant; a judge that
    recorded the order but not the variant is compared on every variant, and so on. Rows whose keys
    match no more complete unit are kept as they are. Columns of ``keys`` that are never null, or
    always null, are left alone.

    Examples
    --------
    >>> f = pl.DataFrame({"item": ["q1", "q1", "q1"], "judge": ["gpt", "gpt", "gold"],
    ...                   "shown_first": ["a", "b", None], "outcome": ["a", "b", "a"]})
    >>> out = broadcast_units(f, ["item", "shown_first"]).sort("judge", "shown_first")
    >>> out.select("judge", "shown_first").rows()
    [('gold', 'a'), ('gold', 'b'), ('gpt', 'a'), ('gpt', 'b')]
    """
    keys = [k for k in keys if k in frame.columns]
    partial = [k for k in keys if 0 < frame[k].null_count() < frame.height]
    if not partial:
        return frame
    fixed = [k for k in keys if k not in partial]
    bit = {k: 1 << i for i, k in enumerate(partial)}
    pattern = pl.sum_horizontal([pl.col(k).is_not_null().cast(pl.Int64) * b for k, b in bit.items()])
    work = frame.with_columns(pattern.alias("__pat"))
    patterns = sorted(work["__pat"].unique().to_list(), key=lambda p: -bin(p).count("1"))
    for p in patterns:
        has = [k for k in partial if p & bit[k]]
        lacks = [k for k in partial if not p & bit[k]]
        if not lacks:
            continue
        rows = work.filter(pl.col("__pat") == p)
        targets = (work.filter((pl.col("__pat") & p) == p, pl.col("__pat") != p)
                   .select(*fixed, *partial, "__pat").unique(maintain_order=True))
        if targets.height == 0:
            continue
        expanded = rows.drop(*lacks, "__pat").join(targets, on=[*fixed, *has], how="left", nulls_equal=True,
                                                   maintain_order="left")
        expanded = expanded.with_columns(pl.col("__pat").fill_null(p)).select(work.columns)
        work = pl.concat([work.filter(pl.col("__pat") != p), expanded], how="vertical_relaxed")
    return work.drop("__pat")


# ----------------------------------------------------------------- reference resolution
def column_or_extra(frame: pl.DataFrame, name: str) -> pl.Series | None:
    """A column of the frame, or a field of its ``extra`` struct, or None.

    Parameters
    ----------
    frame : polars.DataFrame
        The table.
    name : str
        The column, or the field of the ``extra`` struct column, to look up.

    Returns
    -------
    polars.Series or None
        The column (preferred) or the ``extra`` field, or None when neither exists.

    Examples
    --------
    >>> f = pl.DataFrame({"item": ["q1"], "extra": [{"domain": "math"}]})
    >>> column_or_extra(f, "domain").to_list(), column_or_extra(f, "missing")
    (['math'], None)
    """
    if name in frame.columns:
        return frame[name]
    if "extra" in frame.columns and isinstance(frame.schema["extra"], pl.Struct):
        fields = [f.name for f in frame.schema["extra"].fields]
        if name in fields:
            return frame["extra"].struct.field(name)
    return None


def reference_members(judges: Sequence[str], reference: str) -> list[str]:
    """The judges that make up ``reference``: that judge, or every ``<reference>:<id>`` judge.

    Parameters
    ----------
    judges : sequence of str
        The judges of the table.
    reference : str
        The reference judge, or the prefix of the ``<reference>:<id>`` judges.

    Returns
    -------
    list of str
        The matching judges, in the order of ``judges``; none is a :class:`~metaeval.errors.MetaevalError`.

    Examples
    --------
    >>> reference_members(["gpt4", "human:1", "human:2"], "human")
    ['human:1', 'human:2']
    """
    members = [j for j in judges if j == reference or j.startswith(reference + ":")]
    if not members:
        raise MetaevalError(f"`reference` names no judge: no judge is {reference!r} or starts with "
                            f"{reference + ':'!r}; judges: {', '.join(sorted(judges))}")
    return members


def auto_reference(judges: Sequence[str]) -> str | None:
    """``"human"``, ``"gold"`` or ``"reference"`` when the table has such judges, else None.

    Parameters
    ----------
    judges : sequence of str
        The judges of the table.

    Returns
    -------
    str or None
        The first of ``"human"``, ``"gold"``, ``"reference"`` that is a judge or the prefix of a
        ``<name>:<id>`` judge, else None.

    Examples
    --------
    >>> auto_reference(["gpt4", "gold"]), auto_reference(["gpt4", "human:7"]), auto_reference(["gpt4"])
    ('gold', 'human', None)
    """
    for name in ("human", "gold", "reference"):
        if any(j == name or j.startswith(name + ":") for j in judges):
            return name
    return None


def outcome_score(oc: np.ndarray) -> np.ndarray:
    """Outcome codes (0: a won, 1: b won, 2: tie) as side a's point: 1, 0 or ½.

    Parameters
    ----------
    oc : numpy.ndarray
        Outcome codes: 0 (a won), 1 (b won), 2 (tie).

    Returns
    -------
    numpy.ndarray
        Side a's point per code (float): 1.0, 0.0 or 0.5.

    Examples
    --------
    >>> outcome_score(np.array([0, 1, 2])).tolist()
    [1.0, 0.0, 0.5]
    """
    return np.where(oc == 0, 1.0, np.where(oc == 1, 0.0, 0.5))


def model_codes(series: pl.Series, models: Sequence[str]) -> np.ndarray:
    """Each name's index in ``models`` (int64); a name not among them is an error.

    Parameters
    ----------
    series : polars.Series
        Model names.
    models : sequence of str
        The models, in code order.

    Returns
    -------
    numpy.ndarray
        Each name's index in ``models`` (int64); a name not among them is a
        :class:`~metaeval.errors.MetaevalError`.

    Examples
    --------
    >>> model_codes(pl.Series(["b", "a", "b"]), ["a", "b"]).tolist()
    [1, 0, 1]
    """
    try:
        return series.cast(pl.String).cast(pl.Enum(list(models))).to_physical().to_numpy().astype(np.int64)
    except pl.exceptions.InvalidOperationError:
        unknown = sorted(set(series.cast(pl.String).drop_nulls().to_list()) - set(models))
        raise MetaevalError(f"{len(unknown)} name(s) are not among the models, e.g. {unknown[:3]}") from None
