"""The judgments table and the labelled intermediates that feed the numeric kernels.

One tidy long table of judgments, backed by polars and validated once at the door:
one row is one verdict by one judge (human or model) on one item. A table is either
*pointwise* (``model`` + ``score`` or ``label``) or *pairwise* (``model_a``, ``model_b``,
``outcome``). The columns (:data:`COLUMNS` holds their types; ``*`` marks the required ones):
==================  =========  =========  ==========================================================
column              type       kind       meaning
==================  =========  =========  ==========================================================
``item`` *          str        both       the prompt / question id (the cluster for resampling)
``judge`` *         str        both       who judged: ``human:<id>``, a judge model, a metric
``model`` *         str        pointwise  the system whose output was judged
``score``           f64        pointwise  the grade (numeric or ordinal codes)
``label``           str        pointwise  a categorical verdict (``score`` or ``label`` is required)
``length``          int        pointwise  output length in characters
``model_a`` *       str        pairwise   the first system compared
``model_b`` *       str        pairwise   the second system compared
``outcome`` *       enum       pairwise   the verdict: ``a``, ``b`` or ``tie``
``p_a``             f64        pairwise   probability that ``a`` is preferred (graded annotators)
``shown_first``     enum       pairwise   which output the judge saw first, ``a`` or ``b`` (position bias)
``len_a``           int        pairwise   length of a's output (characters)
``len_b``           int        pairwise   length of b's output (characters)
``rep``             int        both       repeat / seed / epoch (0 when absent)
``variant``         str        both       prompt template or perturbation
``task``            str        both       benchmark or category
``cost``            f64        both       price of the verdict (jury budgets)
``missing_reason``  str        both       why a verdict is missing (an abstention)
``extra``           struct     both       every other column an importer found, kept intact
==================  =========  =========  ==========================================================

A row without a verdict (no ``outcome``; no ``score`` or ``label``) is an abstention: it stays
in the table (:attr:`Judgments.abstentions`) and the judge metrics count it by their ``missing=``
policy. Parquet is the on-disk format (``extra`` survives it); CSV is an export.

Smaller labelled intermediates are built from it by explicit methods:
:meth:`Judgments.pairwise_counts` (:class:`PairwiseCounts`), :meth:`Judgments.to_pairwise`,
:meth:`Judgments.score_matrix` (:class:`ScoreMatrix`) and :meth:`ScoreMatrix.to_profile`
(:class:`Profile`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from metaeval._files import atomic_path
from metaeval._numeric import MAX_ABS_SCORE, MAX_COUNT
from metaeval._validate import Interval, Options, validate_params
from metaeval._version import __version__
from metaeval.errors import (
    DataDroppedWarning,
    InsufficientDataError,
    MetaevalError,
    MissingVerdictWarning,
    ParameterError,
    SchemaError,
    warn,
)
from metaeval.results import Result, RunInfo

__all__ = [
    "COLUMNS",
    "OUTCOMES",
    "Battles",
    "Judgments",
    "PairwiseCounts",
    "Profile",
    "ScoreMatrix",
    "as_judgments",
    "auto_reference",
    "canonical",
    "column_or_extra",
    "common_baseline",
    "majority",
    "model_codes",
    "outcome_score",
    "preference",
    "reference_members",
    "split_kinds",
]

Kind = Literal["pointwise", "pairwise"]
OUTCOMES: tuple[str, str, str] = ("a", "b", "tie")
OUTCOME_DTYPE = pl.Enum(list(OUTCOMES))
SIDE_DTYPE = pl.Enum(["a", "b"])


@dataclass(frozen=True)
class _Column:
    dtype: Any
    kinds: tuple[str, ...]
    required: bool = False
    doc: str = ""


#: The canonical columns: dtype, the kinds that use them, whether required.
COLUMNS: dict[str, _Column] = {
    "item": _Column(pl.String, ("pointwise", "pairwise"), True, "prompt / question id (resampling cluster)"),
    "judge": _Column(pl.String, ("pointwise", "pairwise"), True, "who judged: human:<id>, a judge model, a metric"),
    "model": _Column(pl.String, ("pointwise",), True, "the system whose output was judged"),
    "score": _Column(pl.Float64, ("pointwise",), False, "the grade"),
    "label": _Column(pl.String, ("pointwise",), False, "a categorical verdict"),
    "length": _Column(pl.Int64, ("pointwise",), False, "output length in characters"),
    "model_a": _Column(pl.String, ("pairwise",), True, "first system compared"),
    "model_b": _Column(pl.String, ("pairwise",), True, "second system compared"),
    "outcome": _Column(OUTCOME_DTYPE, ("pairwise",), True, "verdict: a, b or tie"),
    "p_a": _Column(pl.Float64, ("pairwise",), False, "probability that a is preferred"),
    "shown_first": _Column(SIDE_DTYPE, ("pairwise",), False, "which output the judge saw first"),
    "len_a": _Column(pl.Int64, ("pairwise",), False, "length of a's output"),
    "len_b": _Column(pl.Int64, ("pairwise",), False, "length of b's output"),
    "rep": _Column(pl.Int64, ("pointwise", "pairwise"), False, "repeat / seed / epoch"),
    "variant": _Column(pl.String, ("pointwise", "pairwise"), False, "prompt template or perturbation"),
    "task": _Column(pl.String, ("pointwise", "pairwise"), False, "benchmark or category"),
    "cost": _Column(pl.Float64, ("pointwise", "pairwise"), False, "price of the verdict"),
    "missing_reason": _Column(pl.String, ("pointwise", "pairwise"), False,
                              "why a verdict is missing (an abstention: no outcome / score / label)"),
}
_KEY_COLUMNS = {
    "pointwise": ("item", "judge", "model", "rep", "variant", "task"),
    "pairwise": ("item", "judge", "model_a", "model_b", "rep", "variant", "task", "shown_first"),
}
_MAX_EXAMPLES = 3
_MISSING_TEXT = ["", "na", "n/a", "null", "none"]  # text that means "no value" in a numeric column


def _first_rows(frame: pl.DataFrame, mask: pl.Expr) -> list[int]:
    return frame.with_row_index("__row").filter(mask).head(_MAX_EXAMPLES)["__row"].to_list()


RowNumbers = int | Sequence[int]


def _row_number(row: int, offset: RowNumbers) -> int:
    """The number a message gives row ``row``: ``row + offset``, or ``offset[row]`` when ``offset``
    lists each row's number (the line of a JSON Lines file each record came from)."""
    return row + offset if isinstance(offset, int) else int(offset[row])


def _rows_list(rows: Sequence[int], noun: str = "row", offset: RowNumbers = 0) -> str:
    """``row 3`` or ``rows 3, 7, 9`` (``line`` for files, counted from ``offset``)."""
    shown = ", ".join(str(_row_number(r, offset)) for r in rows)
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{noun} {shown}" if len(rows) == 1 else f"{plural} {shown}"


def _rows_text(rows: Sequence[int], count: int, noun: str = "row", offset: RowNumbers = 0) -> str:
    if count == 1:
        return _rows_list(rows[:1], noun, offset)
    return f"{count} rows (first: {_rows_list(rows, noun, offset)})"


def _as_frame(data: Any) -> pl.DataFrame:
    frame = frame_input(data)
    if frame is not None:
        return frame
    if isinstance(data, Mapping):
        try:
            return pl.DataFrame(dict(data), strict=False)
        except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MetaevalError(f"the columns of `data` do not make a table: {first}") from None
    raise ParameterError(
        f"`data` must be a polars DataFrame, a pandas DataFrame or a mapping of columns; got {type(data).__name__}"
    )


def frame_input(data: Any) -> pl.DataFrame | None:
    """A polars DataFrame / LazyFrame or a pandas DataFrame as a polars DataFrame; None for
    anything else (a path, a metaeval table)."""
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        try:
            return data.collect()
        except pl.exceptions.PolarsError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MetaevalError(f"the polars LazyFrame cannot be computed: {first}") from None
    if type(data).__module__.split(".")[0] == "pandas":
        if not hasattr(data, "columns") or getattr(data, "ndim", 2) != 2:
            raise MetaevalError(f"a pandas {type(data).__name__} is not a table; pass a DataFrame")
        try:
            return pl.from_pandas(data)
        except Exception as exc:  # pyarrow / object columns polars cannot take
            raise MetaevalError(f"the pandas DataFrame cannot be converted to polars: {exc}") from None
    return None


@validate_params({"kind": [Options(str, ("pointwise", "pairwise")), None]})
def as_judgments(data: Any, *, kind: Kind | None = None) -> Any:
    """The one door by which every public function takes a table: a polars DataFrame or
    LazyFrame or a pandas DataFrame becomes a validated :class:`Judgments` (as
    ``metaeval.read(frame)`` reads it: errors name ``<DataFrame>`` and its row, counted from 1);
    anything else (a ``Judgments``, ``PairwiseCounts``, ``ScoreMatrix`` …) is returned unchanged
    for the function's own checks.

    Examples
    --------
    >>> import polars as pl
    >>> j = as_judgments(pl.DataFrame({"item": ["q1", "q2"], "judge": ["h", "h"], "model": ["x", "x"],
    ...                                "score": [1.0, 2.0]}))
    >>> j.kind, j.provenance["format"]
    ('pointwise', 'dataframe')
    """
    frame = frame_input(data)
    if frame is None:
        return data
    return Judgments(frame, kind=kind, source="<DataFrame>", row_noun="row", row_offset=1,
                     provenance={"format": "dataframe", "files": "<DataFrame>", "rows_read": frame.height})


def _infer_kind(frame: pl.DataFrame) -> tuple[Kind | None, int, int]:
    """Return (kind, n pointwise rows, n pairwise rows) from the columns present."""
    cols = set(frame.columns)
    has_point = "model" in cols
    has_pair = "model_a" in cols or "model_b" in cols or "outcome" in cols
    if has_point and not has_pair:
        return "pointwise", frame.height, 0
    if has_pair and not has_point:
        return "pairwise", 0, frame.height
    if not has_point and not has_pair:
        return None, 0, 0
    pair_expr = pl.lit(False)
    for c in ("model_a", "model_b", "outcome"):
        if c in cols:
            pair_expr = pair_expr | pl.col(c).is_not_null()
    counts = frame.select(
        (pl.col("model").is_not_null() & ~pair_expr).sum().alias("point"),
        pair_expr.sum().alias("pair"),
    )
    n_point, n_pair = int(counts["point"][0]), int(counts["pair"][0])
    if n_pair == 0:
        return "pointwise", n_point, 0
    if n_point == 0:
        return "pairwise", 0, n_pair
    return None, n_point, n_pair


def split_kinds(data: Any) -> tuple[Judgments | None, Judgments | None]:
    """Split a table that mixes pointwise and pairwise rows into two validated tables.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"item": ["q1", "q1"], "judge": ["j", "j"], "model": ["m", None],
    ...                    "score": [3.0, None], "model_a": [None, "m"], "model_b": [None, "n"],
    ...                    "outcome": [None, "a"]})
    >>> point, pair = split_kinds(df)
    >>> len(point), len(pair)
    (1, 1)
    """
    frame = _as_frame(data)
    pair_cols = [c for c in ("model_a", "model_b", "outcome") if c in frame.columns]
    if not pair_cols:
        return Judgments(frame), None
    is_pair = pl.any_horizontal([pl.col(c).is_not_null() for c in pair_cols])
    point = frame.filter(~is_pair).drop(pair_cols + [c for c in ("p_a", "shown_first", "len_a", "len_b")
                                                     if c in frame.columns])
    pair = frame.filter(is_pair).drop([c for c in ("model", "score", "label", "length") if c in frame.columns])
    return (Judgments(point) if point.height else None, Judgments(pair) if pair.height else None)


def _normalise_enum(
    frame: pl.DataFrame, name: str, dtype: Any, problems: list[str], row_noun: str, row_offset: RowNumbers
) -> pl.DataFrame:
    """Cast a label column to its enum, accepting any case and surrounding spaces.

    Works on the few distinct values rather than on every row; unknown labels become a
    problem (and the column is left as text).
    """
    allowed = OUTCOMES if dtype == OUTCOME_DTYPE else ("a", "b")
    text = frame[name].cast(pl.String)
    direct = text.cast(dtype, strict=False)
    if direct.null_count() == text.null_count():  # fast path: the labels are already canonical
        return frame.with_columns(direct.alias(name))
    distinct = text.drop_nulls().unique(maintain_order=True).to_list()
    mapping = {u: u.strip().lower() for u in distinct}
    bad = [u for u, v in mapping.items() if v not in allowed]
    if bad:
        mask = text.is_in(bad).fill_null(False)
        rows = mask.arg_true().head(_MAX_EXAMPLES).to_list()
        first = text[rows[0]]
        problems.append(
            f"column `{name}` must be one of {', '.join(repr(a) for a in allowed)}; got {first!r} in "
            f"{_rows_text(rows, int(mask.sum()), row_noun, row_offset)}"
        )
        return frame.with_columns(text.alias(name))
    if all(u == v for u, v in mapping.items()):
        return frame.with_columns(text.cast(dtype).alias(name))
    return frame.with_columns(text.replace_strict(mapping, return_dtype=dtype).alias(name))


def _validate(
    frame: pl.DataFrame, kind: Kind | None, source: str | None, row_noun: str = "row", row_offset: RowNumbers = 0
) -> tuple[pl.DataFrame, Kind]:
    """Check and cast a frame; rows in messages are named ``{row_noun} {index + row_offset}`` (or
    ``{row_noun} {row_offset[index]}`` when ``row_offset`` numbers each row)."""
    if not isinstance(row_offset, int) and len(row_offset) != frame.height:
        raise MetaevalError(f"`row_offset` numbers {len(row_offset)} rows; the table has {frame.height}")
    problems: list[str] = []
    if frame.height == 0:
        raise SchemaError(["the table has no rows"], source=source)
    dup_cols = [c for c in set(frame.columns) if list(frame.columns).count(c) > 1]
    if dup_cols:
        raise SchemaError([f"column `{c}` appears more than once" for c in sorted(dup_cols)], source=source)

    inferred, n_point, n_pair = _infer_kind(frame)
    if kind is None:
        if inferred is None and (n_point or n_pair):
            raise SchemaError(
                [
                    f"the table mixes {n_point} pointwise rows (`model`) and {n_pair} pairwise rows "
                    "(`model_a`, `model_b`, `outcome`); pass `kind='pointwise'` or `kind='pairwise'` "
                    "to keep one kind, or split it with `metaeval.tables.split_kinds`"
                ],
                source=source,
            )
        if inferred is None:
            raise SchemaError(
                [
                    "cannot tell pointwise from pairwise: the table needs `model` (pointwise) or "
                    f"`model_a`, `model_b`, `outcome` (pairwise); got columns {sorted(frame.columns)}"
                ],
                source=source,
            )
        kind = inferred
    elif kind not in ("pointwise", "pairwise"):
        raise ParameterError(f"`kind` must be 'pointwise' or 'pairwise'; got {kind!r}")
    elif inferred is None and (n_point and n_pair):
        keep = (
            pl.col("model").is_not_null()
            if kind == "pointwise"
            else pl.any_horizontal([pl.col(c).is_not_null() for c in ("model_a", "model_b", "outcome")
                                    if c in frame.columns])
        )
        if kind == "pointwise":
            keep = keep & ~pl.any_horizontal([pl.col(c).is_not_null() for c in ("model_a", "model_b", "outcome")
                                               if c in frame.columns])
        dropped = n_pair if kind == "pointwise" else n_point
        if not isinstance(row_offset, int):
            kept = frame.select(keep.fill_null(False)).to_series().to_numpy()
            row_offset = np.asarray(row_offset)[kept].tolist()
        frame = frame.filter(keep)
        warn(f"kept the {kind} rows and dropped {dropped} rows of the other kind, as `kind` asked",
             DataDroppedWarning)

    other = "pairwise" if kind == "pointwise" else "pointwise"
    other_only = [c for c, spec in COLUMNS.items() if spec.kinds == (other,) and c in frame.columns]
    if other_only:
        nonnull = frame.select([pl.col(c).is_not_null().sum() for c in other_only]).row(0)
        used = [c for c, n in zip(other_only, nonnull, strict=True) if n]
        if used:
            problems.append(f"columns {', '.join(f'`{c}`' for c in used)} belong to {other} tables, "
                            f"but this table is {kind}")
        frame = frame.drop(other_only)

    for name, spec in COLUMNS.items():
        if kind in spec.kinds and spec.required and name not in frame.columns:
            problems.append(f"required column `{name}` is missing (columns present: {sorted(frame.columns)})")
    if kind == "pointwise" and "score" not in frame.columns and "label" not in frame.columns:
        problems.append("a pointwise table needs a `score` or a `label` column; neither is present")
    if problems:
        raise SchemaError(problems, source=source)

    # Unknown columns go to `extra`, never dropped.
    known = {c for c, spec in COLUMNS.items() if kind in spec.kinds}
    unknown = [c for c in frame.columns if c not in known and c != "extra"]
    if unknown:
        fields = [pl.col(c) for c in unknown]
        if "extra" in frame.columns and frame.schema["extra"] == pl.Struct:
            extra_type: Any = frame.schema["extra"]
            fields = [pl.col("extra").struct.field(f.name) for f in extra_type.fields] + fields
        elif "extra" in frame.columns:
            fields = [pl.col("extra").alias("extra"), *fields]
        frame = frame.with_columns(pl.struct(fields).alias("extra")).drop(unknown)
    elif "extra" in frame.columns and frame.schema["extra"] != pl.Struct:
        frame = frame.with_columns(pl.struct(pl.col("extra").alias("extra")).alias("extra"))

    # Cast every known column whose type differs next to the original, counting values that
    # did not survive the cast. Columns already of the right type are checked in place.
    casts: dict[str, pl.Expr] = {}
    for name in frame.columns:
        column = COLUMNS.get(name)
        if column is None or kind not in column.kinds:
            continue
        spec = column
        col, dtype = pl.col(name), frame.schema[name]
        if dtype == spec.dtype:
            continue
        if dtype.is_nested() or dtype == pl.Object:  # a list or an object where a value belongs: every one is bad
            casts[name] = pl.lit(None, dtype=pl.String if spec.dtype in (OUTCOME_DTYPE, SIDE_DTYPE) else spec.dtype)
        elif spec.dtype in (OUTCOME_DTYPE, SIDE_DTYPE):
            frame = _normalise_enum(frame, name, spec.dtype, problems, row_noun, row_offset)
            continue
        elif spec.dtype == pl.Int64 and dtype.is_float():
            casts[name] = pl.when(col == col.round()).then(col).otherwise(None).cast(pl.Int64, strict=False)
        elif spec.dtype in (pl.Float64, pl.Int64) and dtype == pl.String:
            stripped = col.str.strip_chars()
            casts[name] = (pl.when(stripped.str.to_lowercase().is_in(_MISSING_TEXT)).then(None)
                           .otherwise(stripped).cast(spec.dtype, strict=False))
        else:
            casts[name] = col.cast(spec.dtype, strict=False)
    work = frame.with_columns(**{f"__c_{n}": e for n, e in casts.items()}) if casts else frame

    def new(name: str) -> pl.Expr:
        return pl.col(f"__c_{name}") if name in casts else pl.col(name)

    def missing(name: str) -> pl.Expr:
        """No value given: the column is absent, the cell is null, or its text means missing (NA …)."""
        if name not in frame.columns:
            return pl.lit(True)
        col = pl.col(name)
        if frame.schema[name] == pl.String:
            return col.is_null() | col.str.strip_chars().str.to_lowercase().is_in(_MISSING_TEXT)
        return col.is_null()

    checks: list[tuple[str, pl.Expr, str]] = []
    for name in casts:
        spec = COLUMNS[name]
        bad = new(name).is_null() & ~missing(name)
        what = {pl.Float64: "numeric", pl.Int64: "an integer", pl.String: "text",
                OUTCOME_DTYPE: "one of 'a', 'b', 'tie'", SIDE_DTYPE: "one of 'a', 'b'"}.get(spec.dtype, str(spec.dtype))
        checks.append((name, bad, f"must be {what}"))
    for name in ("item", "judge", "model", "model_a", "model_b"):
        if name in frame.columns and COLUMNS[name].required:
            checks.append((name, pl.col(name).is_null(), "must not be missing"))
    if kind == "pointwise":
        if "score" in frame.columns:
            checks.append(("score", new("score").is_infinite(), "must be finite"))
            # see metaeval._numeric: beyond ±1e100 a value is not a score, and statistics of it overflow
            checks.append(("score", new("score").is_finite() & (new("score").abs() > MAX_ABS_SCORE),
                           "must lie within ±1e100 (larger values are not scores: their squares overflow float64)"))
    else:
        checks.append(("model_b", new("model_a") == new("model_b"), "must differ from `model_a`"))
        if "p_a" in frame.columns:
            checks.append(("p_a", ~new("p_a").is_between(0.0, 1.0) | new("p_a").is_nan(), "must lie in [0, 1]"))
            checks.append(("outcome", pl.col("outcome").is_null() & new("p_a").is_not_null(),
                           "must be given where `p_a` is (a row without an outcome is an abstention)"))
    for name in ("length", "len_a", "len_b"):
        if name in frame.columns:
            checks.append((name, new(name) < 0, "must not be negative"))
    if "cost" in frame.columns:
        checks.append(("cost", (new("cost") < 0) | new("cost").is_nan() | new("cost").is_infinite(),
                       "must be finite and not negative"))
        checks.append(("cost", new("cost").is_finite() & (new("cost") > MAX_ABS_SCORE),
                       "must be at most 1e100 (larger values are not prices: their sums and squares overflow)"))

    counts = work.select(
        [expr.fill_null(False).sum().alias(f"c{i}") for i, (_, expr, _) in enumerate(checks)]
    ).row(0)
    for (name, expr, what), count in zip(checks, counts, strict=True):
        if not count:
            continue
        rows = _first_rows(work, expr.fill_null(False))
        if "missing" in what or "given" in what:
            got = "missing in "
        else:
            value = frame[name][rows[0]]
            got = f"got {value.to_list() if isinstance(value, pl.Series) else value!r} in "
        problems.append(f"column `{name}` {what}; {got}{_rows_text(rows, int(count), row_noun, row_offset)}")
    if casts:
        frame = work.drop(list(casts)).rename({f"__c_{n}": n for n in casts})
    if kind == "pointwise" and "score" in frame.columns and frame.schema["score"] == pl.Float64:
        frame = frame.with_columns(pl.col("score").fill_nan(None))  # NaN is pandas' missing value: an abstention

    if "rep" not in frame.columns:
        frame = frame.with_columns(rep=pl.lit(0, dtype=pl.Int64))
    elif frame["rep"].null_count():
        frame = frame.with_columns(pl.col("rep").fill_null(0))
    keys = [k for k in _KEY_COLUMNS[kind] if k in frame.columns]
    # Fast path: distinct row hashes prove there are no duplicates; otherwise check exactly.
    if frame.select(keys).hash_rows(seed=0).n_unique() < frame.height:
        dup = frame.select(pl.struct(keys).is_duplicated().alias("d"))["d"]
        n_dup = int(dup.sum())
        if n_dup:
            rows = dup.arg_true().head(_MAX_EXAMPLES).to_list()
            problems.append(
                f"{n_dup} rows repeat the same ({', '.join(keys)}); tell repeats apart with `rep` "
                f"(first: {_rows_list(rows, row_noun, row_offset)})"
            )
    if problems:
        raise SchemaError(problems, source=source)
    order = [c for c in COLUMNS if c in frame.columns] + (["extra"] if "extra" in frame.columns else [])
    return frame.select(order), kind


def _has_verdict(frame: pl.DataFrame, kind: Kind) -> pl.Expr:
    """Whether a row carries a verdict: an outcome (pairwise), a score or a label (pointwise)."""
    if kind == "pairwise":
        return pl.col("outcome").is_not_null()
    cols = [c for c in ("score", "label") if c in frame.columns]
    return pl.any_horizontal([pl.col(c).is_not_null() for c in cols]) if cols else pl.lit(False)


def _split_abstentions(frame: pl.DataFrame, kind: Kind) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows with a verdict, rows without one)."""
    has = _has_verdict(frame, kind)
    if frame.select(has.all()).item():
        return frame, frame.clear()
    return frame.filter(has), frame.filter(~has)


def _canonical_schema(frame: pl.DataFrame, kind: Kind) -> bool:
    """Whether every column is a canonical column of ``kind`` with its final type."""
    for name, dtype in frame.schema.items():
        if name == "extra":
            if not isinstance(dtype, pl.Struct):
                return False
            continue
        spec = COLUMNS.get(name)
        if spec is None or kind not in spec.kinds or dtype != spec.dtype:
            return False
    return "rep" in frame.columns and frame["rep"].null_count() == 0


class Judgments:
    """A validated table of judgments (pointwise or pairwise).

    Parameters
    ----------
    data
        A polars (or pandas) DataFrame, or a mapping of columns, in the long format described
        in :mod:`metaeval.tables` (the column table there; :data:`COLUMNS`). Columns metaeval
        does not know are kept in the ``extra`` struct.
    kind
        ``"pointwise"`` or ``"pairwise"``; inferred from the columns when omitted. A table
        that mixes both kinds raises :class:`~metaeval.errors.SchemaError` unless ``kind``
        says which rows to keep.
    provenance
        Where the table came from (set by the importers): format, files, rows dropped.
    source, row_noun, row_offset
        How error messages name the input and its rows (importers say ``line 5`` of a file;
        tables say ``row 3``, counting from 0): row *i* is ``row_offset + i``, or
        ``row_offset[i]`` when it is a sequence (the line each record of a JSON Lines file
        came from).

    Raises
    ------
    SchemaError
        Listing every problem at once: missing columns, bad values, duplicate rows.

    Notes
    -----
    A row without a verdict (no ``outcome``; no ``score`` or ``label``) is an *abstention*: a
    judge that failed to give a parseable verdict. It stays in the table (:attr:`abstentions`,
    with its ``missing_reason`` where known) and every judge metric counts it by its
    ``missing=`` policy; analyses of the verdicts themselves (rankings, win rates) use
    :attr:`frame`, which holds the rows with a verdict.

    Examples
    --------
    >>> from metaeval import Judgments
    >>> j = Judgments({"item": ["q1", "q1", "q2"], "judge": ["gpt-4"] * 3,
    ...                "model_a": ["x", "x", "y"], "model_b": ["y", "z", "z"],
    ...                "outcome": ["a", "tie", "b"]})
    >>> j.kind, len(j), j.models
    ('pairwise', 3, ('x', 'y', 'z'))
    >>> j.pairwise_counts().wins.tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """

    __slots__ = ("_abstentions", "_cache", "_frame", "_kind", "provenance")

    def __init__(
        self,
        data: Any,
        *,
        kind: Kind | None = None,
        provenance: Mapping[str, Any] | None = None,
        source: str | None = None,
        row_noun: str = "row",
        row_offset: RowNumbers = 0,
    ) -> None:
        frame, kind = _validate(_as_frame(data), kind, source, row_noun, row_offset)
        self._frame, self._abstentions = _split_abstentions(frame, kind)
        self._kind: Kind = kind
        self.provenance: dict[str, Any] = dict(provenance or {})
        self._cache: dict[str, Any] = {}
        if self._frame.height == 0:
            raise SchemaError([f"every one of the {frame.height} rows lacks a verdict (`outcome`, or `score` / "
                               "`label`)"], source=source)
        self._warn_abstentions()

    def _warn_abstentions(self) -> None:
        n = self._abstentions.height
        if n:
            warn(f"{n} of {n + self._frame.height} rows have no verdict: they are kept as abstentions "
                 "(`.abstentions`); judge metrics count them by their `missing=` policy, rankings and win rates "
                 "leave them out", MissingVerdictWarning, stacklevel=4)

    @classmethod
    def _trusted(cls, frame: pl.DataFrame, kind: Kind, provenance: Mapping[str, Any] | None = None,
                 abstentions: pl.DataFrame | None = None) -> Judgments:
        obj = cls.__new__(cls)
        if abstentions is None:
            obj._frame, obj._abstentions = _split_abstentions(frame, kind)
        else:
            obj._frame, obj._abstentions = frame, abstentions
        obj._kind = kind
        obj.provenance = dict(provenance or {})
        obj._cache = {}
        return obj

    # ------------------------------------------------------------------ basics
    @property
    def frame(self) -> pl.DataFrame:
        """The validated rows that carry a verdict, as a polars DataFrame (read-only by convention)."""
        return self._frame

    @property
    def abstentions(self) -> pl.DataFrame:
        """The rows without a verdict (a judge's missing or unparseable answer), same columns as
        :attr:`frame`; empty when every row has a verdict."""
        return self._abstentions

    @property
    def n_abstentions(self) -> int:
        """How many rows lack a verdict."""
        return self._abstentions.height

    def all_rows(self) -> pl.DataFrame:
        """Every row: the verdicts, then the abstentions."""
        if self._abstentions.height == 0:
            return self._frame
        return pl.concat([self._frame, self._abstentions], how="vertical_relaxed")

    @property
    def kind(self) -> Kind:
        """``"pointwise"`` or ``"pairwise"``."""
        return self._kind

    def __len__(self) -> int:
        return self._frame.height

    def _unique(self, *cols: str) -> tuple[str, ...]:
        key = "u:" + ",".join(cols)
        if key not in self._cache:
            present = [c for c in cols if c in self._frame.columns]
            if not present:
                self._cache[key] = ()
            else:
                s = pl.concat([self._frame[c].drop_nulls().unique() for c in present])
                self._cache[key] = tuple(sorted(s.unique().to_list()))
        return self._cache[key]

    @property
    def items(self) -> tuple[str, ...]:
        """Sorted distinct item ids."""
        return self._unique("item")

    @property
    def judges(self) -> tuple[str, ...]:
        """Sorted distinct judges."""
        return self._unique("judge")

    @property
    def models(self) -> tuple[str, ...]:
        """Sorted distinct models (both sides for pairwise tables)."""
        return self._unique("model") if self._kind == "pointwise" else self._unique("model_a", "model_b")

    @property
    def tasks(self) -> tuple[str, ...]:
        """Sorted distinct tasks (empty when there is no `task` column)."""
        return self._unique("task")

    @property
    def fingerprint(self) -> str:
        """A short hash of the table's content and types (stable within one polars version).

        Computed from 64-bit row hashes (summed, and summed with position weights, so that
        the row order counts), the row count and the schema.
        """
        if "fingerprint" not in self._cache:
            rows = self.all_rows()
            hashes = rows.hash_rows(seed=0).to_numpy()
            weights = np.arange(1, hashes.size + 1, dtype=np.uint64)
            with np.errstate(over="ignore"):
                total = int(hashes.sum(dtype=np.uint64))
                positional = int((hashes * weights).sum(dtype=np.uint64))
            h = hashlib.sha256(f"{rows.height}:{total}:{positional}".encode())
            h.update(",".join(f"{k}:{v}" for k, v in self._frame.schema.items()).encode())
            self._cache["fingerprint"] = h.hexdigest()[:16]
        return self._cache["fingerprint"]

    def __repr__(self) -> str:
        return (
            f"<Judgments {self._kind}: {len(self)} rows, {len(self.items)} items, "
            f"{len(self.models)} models, {len(self.judges)} judges>"
        )

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self._frame.head(10)._repr_html_()

    # ------------------------------------------------------------- selection
    def filter(self, *predicates: pl.Expr | Any, **constraints: Any) -> Judgments:
        """Rows matching polars predicates and ``column=value`` constraints.

        Examples
        --------
        >>> import polars as pl
        >>> from metaeval import simulate
        >>> j = simulate.pairwise(n_models=3, n_items=5, rng=0).judgments
        >>> j.filter(judge="judge-atlas").judges
        ('judge-atlas',)
        >>> len(j.filter(pl.col("outcome") == "a")) < len(j)
        True
        """
        for c in constraints:
            if c not in self._frame.columns:
                raise MetaevalError(f"cannot filter on `{c}`: the table has no such column")
        if not (predicates or constraints):
            return self
        out = self._frame.filter(*predicates, **constraints)
        if out.height == 0:
            raise InsufficientDataError("the filter left no rows")
        missing = self._abstentions.filter(*predicates, **constraints) if self._abstentions.height else \
            self._abstentions
        return Judgments._trusted(out, self._kind, self.provenance, abstentions=missing)

    # ---------------------------------------------------------- conversions
    def battles(self, cluster: str | None = None) -> Battles:
        """The pairwise table as integer codes: model indices, outcomes and (with ``cluster``, a
        column such as ``"item"`` or ``"judge"``) cluster codes, for kernels on arrays.

        >>> import metaeval
        >>> b = metaeval.simulate.pairwise(n_models=3, n_items=5, rng=0).judgments.battles("item")
        >>> len(b.models), b.n_clusters, sorted(set(b.oc.tolist())) <= [0, 1, 2]
        (3, 5, True)
        """
        if self.kind != "pairwise":
            raise MetaevalError("battles are the rows of a pairwise table; this table is pointwise")
        f = self.frame
        models = self.models
        ia, ib = model_codes(f["model_a"], models), model_codes(f["model_b"], models)
        oc = f["outcome"].to_physical().to_numpy().astype(np.int64)
        cl, n_cl = None, 0
        if cluster is not None:
            if cluster not in f.columns:
                raise MetaevalError(f"cannot cluster on `{cluster}`: the table has no such column")
            text = f[cluster].cast(pl.String).fill_null("<missing>")
            cl = text.cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)
            n_cl = int(cl.max()) + 1 if len(cl) else 0
            labels = np.empty(n_cl, dtype=object)
            labels[cl] = text.to_numpy()
            return Battles(models, ia, ib, oc, cl, n_cl, labels)
        return Battles(models, ia, ib, oc, cl, n_cl)

    @validate_params({"weighted": ["boolean"]})
    def pairwise_counts(self, *, weighted: bool = False) -> PairwiseCounts:
        """Aggregate a pairwise table into labelled win and tie counts.

        Parameters
        ----------
        weighted
            Use the preference probability ``p_a`` (when present) instead of the hard
            outcome: a verdict adds ``p_a`` to a's wins and ``1 - p_a`` to b's, no ties.

        Returns
        -------
        PairwiseCounts
            ``wins[i, j]`` counts the times model ``i`` beat model ``j``; ``ties[i, j]`` the ties.
        """
        if self._kind != "pairwise":
            raise MetaevalError("`pairwise_counts` needs a pairwise table; use `to_pairwise()` on pointwise scores")
        models = self.models
        m = len(models)
        enum = pl.Enum(list(models))
        f = self._frame
        if weighted and "p_a" in f.columns:
            p = pl.col("p_a").fill_null(
                pl.when(pl.col("outcome") == "a").then(1.0).when(pl.col("outcome") == "b").then(0.0).otherwise(0.5)
            )
            agg = (
                f.group_by("model_a", "model_b", maintain_order=True)
                .agg(p.sum().alias("wa"), (1 - p).sum().alias("wb"))
                .with_columns(
                    pl.col("model_a").cast(enum).to_physical().alias("ia"),
                    pl.col("model_b").cast(enum).to_physical().alias("ib"),
                )
            )
            ia, ib = agg["ia"].to_numpy(), agg["ib"].to_numpy()
            wins = np.zeros((m, m))
            np.add.at(wins, (ia, ib), agg["wa"].to_numpy())
            np.add.at(wins, (ib, ia), agg["wb"].to_numpy())
            return PairwiseCounts(models, wins, np.zeros((m, m)))
        agg = f.group_by("model_a", "model_b", "outcome", maintain_order=True).len()
        ia = agg["model_a"].cast(enum).to_physical().to_numpy().astype(np.int64)
        ib = agg["model_b"].cast(enum).to_physical().to_numpy().astype(np.int64)
        oc = agg["outcome"].to_physical().to_numpy().astype(np.int64)
        n = agg["len"].to_numpy().astype(float)
        cube = np.zeros((m, m, 3))
        np.add.at(cube, (ia, ib, oc), n)
        wins = cube[:, :, 0] + cube[:, :, 1].T
        ties = cube[:, :, 2] + cube[:, :, 2].T
        return PairwiseCounts(models, wins, ties)

    def baseline_scores(self, baseline: str | None = None) -> Judgments:
        """A pairwise table in which every verdict involves one common ``baseline`` (AlpacaEval's design)
        as pointwise scores: each model's score on an item is its preference against the baseline there
        (``p_a`` where given, else win 1, tie ½, loss 0), keeping the judge, repeat, variant and task.

        Examples
        --------
        >>> from metaeval import Judgments
        >>> j = Judgments({"item": ["q1", "q1", "q2"], "judge": ["g"] * 3, "model_a": ["base"] * 3,
        ...                "model_b": ["x", "y", "x"], "outcome": ["b", "tie", "a"]})
        >>> j.baseline_scores().frame.select("item", "model", "score").sort("item", "model").rows()
        [('q1', 'x', 1.0), ('q1', 'y', 0.5), ('q2', 'x', 0.0)]
        """
        if self._kind != "pairwise":
            raise MetaevalError("`baseline_scores` needs a pairwise table")
        f = self._frame
        base = common_baseline(f, baseline)
        f = f.filter((pl.col("model_a") == base) | (pl.col("model_b") == base))
        base_is_a = f["model_a"] == base
        y = preference(f)
        keep = [c for c in ("item", "judge", "rep", "variant", "task") if c in f.columns]
        out = f.select(keep).with_columns(
            pl.Series("model", np.where(base_is_a.to_numpy(), f["model_b"].to_numpy(), f["model_a"].to_numpy())),
            pl.Series("score", np.where(base_is_a.to_numpy(), 1 - y, y)))
        prov = dict(self.provenance, baseline=base, scores=f"preference against {base}")
        return Judgments(out, kind="pointwise", provenance=prov)

    @validate_params({"higher_is_better": ["boolean"], "tie_tolerance": [Interval(Real, 0, None, closed="left")]})
    def to_pairwise(
        self,
        *,
        higher_is_better: bool = True,
        tie_tolerance: float = 0.0,
        by: Sequence[str] = ("item", "judge", "rep", "variant", "task"),
    ) -> Judgments:
        """Derive pairwise preferences from pointwise scores of the same item and judge.

        Two rows are paired when they agree on every column of ``by`` that the table has
        (item, judge, repeat, variant, task). Scores within ``tie_tolerance`` are a tie.

        Examples
        --------
        >>> from metaeval import Judgments
        >>> j = Judgments({"item": ["q1"] * 3, "judge": ["h"] * 3, "model": ["x", "y", "z"],
        ...                "score": [3.0, 1.0, 3.0]})
        >>> j.to_pairwise().frame.select("model_a", "model_b", "outcome").rows()
        [('x', 'y', 'a'), ('x', 'z', 'tie'), ('y', 'z', 'b')]
        """
        if self._kind != "pointwise":
            raise MetaevalError("`to_pairwise` needs a pointwise table; this one is already pairwise")
        if "score" not in self._frame.columns:
            raise MetaevalError("`to_pairwise` needs numeric `score` values; this table has only `label`")
        if tie_tolerance < 0:
            raise ParameterError(f"`tie_tolerance` must not be negative; got {tie_tolerance!r}")
        keys = [k for k in by if k in self._frame.columns]
        if "item" not in keys:
            raise ParameterError("`by` must include `item`: pairs are formed within an item")
        side_cols = ["model", "score"] + (["length"] if "length" in self._frame.columns else [])
        base = self._frame.select(keys + side_cols).filter(pl.col("score").is_not_null())
        left = base.rename({"model": "model_a", "score": "score_a", "length": "len_a"}, strict=False)
        right = base.rename({"model": "model_b", "score": "score_b", "length": "len_b"}, strict=False)
        pairs = (left.join(right, on=keys, nulls_equal=True, maintain_order="left")
                 .filter(pl.col("model_a") < pl.col("model_b")))
        if pairs.height == 0:
            raise InsufficientDataError(
                "no two models were scored on the same item by the same judge; nothing to pair"
            )
        diff = (pl.col("score_a") - pl.col("score_b")) * (1.0 if higher_is_better else -1.0)
        pairs = pairs.with_columns(
            outcome=pl.when(diff > tie_tolerance).then(pl.lit("a")).when(diff < -tie_tolerance)
            .then(pl.lit("b")).otherwise(pl.lit("tie")),
            extra=pl.struct("score_a", "score_b"),
        ).drop("score_a", "score_b").sort([*keys, "model_a", "model_b"], nulls_last=True)
        prov = dict(self.provenance, derived="to_pairwise", tie_tolerance=tie_tolerance,
                    higher_is_better=higher_is_better)
        return Judgments(pairs, kind="pairwise", provenance=prov)

    @validate_params({"agg": [Options(str, ("mean", "median", "sum"))], "higher_is_better": ["boolean"]})
    def score_matrix(self, *, by: str = "task", agg: Literal["mean", "median", "sum"] = "mean",
                     higher_is_better: bool = True) -> ScoreMatrix:
        """Models × ``by`` (task, judge, variant…) table of aggregated pointwise scores.

        Cells without any score are ``nan``. Without a ``by`` column there is a single
        column named ``"all"``.
        """
        if self._kind != "pointwise" or "score" not in self._frame.columns:
            raise MetaevalError("`score_matrix` needs a pointwise table with numeric `score`")
        f = self._frame.filter(pl.col("score").is_not_null())
        col = pl.col(by).fill_null("all") if by in f.columns else pl.lit("all")
        aggs = {"mean": pl.col("score").mean(), "median": pl.col("score").median(), "sum": pl.col("score").sum()}
        if agg not in aggs:
            raise ParameterError(f"`agg` must be one of {sorted(aggs)}; got {agg!r}")
        long = (f.with_columns(col.alias("__by")).group_by("model", "__by", maintain_order=True)
                .agg(aggs[agg].alias("v")))
        models = tuple(sorted(long["model"].unique().to_list()))
        tasks = tuple(sorted(long["__by"].unique().to_list()))
        mi = {m: i for i, m in enumerate(models)}
        ti = {t: i for i, t in enumerate(tasks)}
        scores = np.full((len(models), len(tasks)), np.nan)
        rows = np.array([mi[m] for m in long["model"].to_list()], dtype=np.int64)
        cols = np.array([ti[t] for t in long["__by"].to_list()], dtype=np.int64)
        scores[rows, cols] = long["v"].to_numpy()
        return ScoreMatrix(models, tasks, scores, np.full(len(tasks), higher_is_better))

    # ----------------------------------------------------------------- I/O
    def write_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Write the table to Parquet atomically (temp file, then rename); returns the path.

        The file records the table's kind, fingerprint and provenance (rows dropped at import,
        abstentions, the original format and files): reading it back restores the provenance,
        validates every row (a fingerprint can be forged) and says whether the content is the one
        written (``provenance["validation"]``).
        """

        path = Path(path)
        import json

        meta = {"metaeval.kind": self._kind, "metaeval.fingerprint": self.fingerprint,
                "metaeval.version": __version__,
                "metaeval.provenance": json.dumps(self.provenance, default=str, sort_keys=True)}
        with atomic_path(path) as tmp:
            self.all_rows().write_parquet(tmp, metadata=meta)
        return path

    def write_csv(self, path: str | os.PathLike[str]) -> Path:
        """Export to CSV atomically. ``extra`` is written as a JSON string column."""

        path = Path(path)
        out = self.all_rows()
        if "extra" in out.columns:
            out = out.with_columns(pl.col("extra").struct.json_encode())
        with atomic_path(path) as tmp:
            out.write_csv(tmp)
        return path

    def info(self) -> TableInfo:
        """What is in the table: items, models, judges, kinds, missing values, repeats."""
        f = self._frame
        rows: list[tuple[str, str]] = [
            ("kind", self._kind),
            ("rows", str(f.height)),
            ("items", str(len(self.items))),
            ("models", str(len(self.models))),
            ("judges", str(len(self.judges))),
            ("human judges", str(sum(j.startswith("human") for j in self.judges))),
        ]
        if "task" in f.columns:
            rows.append(("tasks", str(len(self.tasks))))
        if "variant" in f.columns:
            rows.append(("variants", str(f["variant"].n_unique())))
        rows.append(("distinct `rep` values", str(int(f["rep"].n_unique()))))
        if self._kind == "pairwise":
            oc = f["outcome"].value_counts()
            for o in OUTCOMES:
                n = oc.filter(pl.col("outcome") == o)["count"]
                rows.append((f"outcome {o}", str(int(n[0]) if len(n) else 0)))
            if "shown_first" in f.columns:
                rows.append(("with presentation order", str(int(f["shown_first"].is_not_null().sum()))))
        else:
            if "score" in f.columns:
                s = f["score"].drop_nulls()
                if len(s):
                    rows.append(("score range", f"{float(s.min()):g} .. {float(s.max()):g}"))  # type: ignore[arg-type]
                    rows.append(("distinct scores", str(s.n_unique())))
            if "label" in f.columns:
                rows.append(("distinct labels", str(f["label"].n_unique())))
        for c in f.columns:
            if c in ("extra", "missing_reason"):
                continue
            n_null = f[c].null_count()
            if n_null:
                rows.append((f"missing `{c}`", str(n_null)))
        if self.n_abstentions:
            per = self._abstentions.group_by("judge", maintain_order=True).len().sort("len", descending=True)
            rows.append(("abstentions (no verdict)", str(self.n_abstentions)))
            rows.append(("abstentions by judge", ", ".join(f"{j} {n}" for j, n in per.iter_rows())))
            if "missing_reason" in self._abstentions.columns:
                reasons = self._abstentions["missing_reason"].drop_nulls().value_counts(sort=True).head(3)
                if reasons.height:
                    rows.append(("abstention reasons", ", ".join(f"{r} ({n})" for r, n in reasons.iter_rows())))
        if "extra" in f.columns:
            extra_type: Any = f.schema["extra"]
            rows.append(("extra fields", ", ".join(fl.name for fl in extra_type.fields)))
        for k, v in self.provenance.items():
            if isinstance(v, (str, int, float)):
                rows.append((f"source {k}", str(v)))
        run = RunInfo("info", fingerprint=self.fingerprint, n_items=len(self.items), n_judgments=f.height)
        return TableInfo(tuple(rows), self.models, self.judges, run)


@dataclass(frozen=True)
class TableInfo(Result):
    """The answer of :meth:`Judgments.info`: a list of (property, value) rows."""

    rows: tuple[tuple[str, str], ...]
    models: tuple[str, ...]
    judges: tuple[str, ...]
    run_info: RunInfo
    title: str = "table overview"

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({"property": [r[0] for r in self.rows], "value": [r[1] for r in self.rows]})

    def summary(self) -> str:
        return super().summary() + "\nmodels: " + ", ".join(self.models) + "\njudges: " + ", ".join(self.judges)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "rows": dict(self.rows), "models": list(self.models),
                "judges": list(self.judges), "run_info": self.run_info.to_dict()}


def _labels(values: Iterable[Any], what: str) -> tuple[str, ...]:
    labels = tuple(str(v) for v in values)
    if len(set(labels)) != len(labels):
        dup = sorted({x for x in labels if labels.count(x) > 1})
        raise MetaevalError(f"`{what}` must be distinct; got {dup[0]!r} more than once")
    return labels


@dataclass(frozen=True)
class PairwiseCounts:
    """Labelled m × m win and tie counts.

    ``wins[i, j]`` is the (possibly fractional) number of times model ``i`` beat model
    ``j``; ``ties[i, j] == ties[j, i]`` the ties between them.

    Examples
    --------
    >>> import numpy as np
    >>> pc = PairwiseCounts(("x", "y"), np.array([[0, 3], [1, 0]]), np.zeros((2, 2)))
    >>> pc.n_comparisons.tolist()
    [[0.0, 4.0], [4.0, 0.0]]
    >>> pc.is_connected()
    True
    """

    models: tuple[str, ...]
    wins: np.ndarray
    ties: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def __post_init__(self) -> None:
        models = _labels(self.models, "models")
        m = len(models)
        wins = np.asarray(self.wins, dtype=float)
        ties = np.asarray(self.ties, dtype=float) if np.size(self.ties) else np.zeros((m, m))
        for name, arr in (("wins", wins), ("ties", ties)):
            if arr.shape != (m, m):
                raise MetaevalError(f"`{name}` must be {m} x {m} to match `models`; got shape {arr.shape}")
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise MetaevalError(f"`{name}` must hold finite, non-negative counts")
            if np.any(arr > MAX_COUNT):
                r, c = np.argwhere(arr > MAX_COUNT)[0]
                raise MetaevalError(f"`{name}` must hold counts of at most 1e15 (more comparisons than that is not a "
                                    f"count); got {arr[r, c]:g} for {models[r]!r} against {models[c]!r}")
            if np.any(np.diag(arr) != 0):
                raise MetaevalError(f"`{name}` must have a zero diagonal: a model is not compared with itself")
        if not np.allclose(ties, ties.T):
            raise ParameterError("`ties` must be symmetric")
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "wins", wins)
        object.__setattr__(self, "ties", ties)
        wins.setflags(write=False)
        ties.setflags(write=False)

    @property
    def n_models(self) -> int:
        return len(self.models)

    @property
    def n_comparisons(self) -> np.ndarray:
        """Symmetric matrix of the number of comparisons of each pair."""
        return self.wins + self.wins.T + self.ties

    @property
    def total(self) -> float:
        """Total number of comparisons."""
        return float(np.triu(self.n_comparisons, 1).sum())

    @validate_params({"tie_value": [Interval(Real, 0, 1, closed="both")]})
    def win_rates(self, *, tie_value: float = 0.5) -> np.ndarray:
        """``(wins + tie_value * ties) / n`` per pair, ``nan`` where a pair never met."""
        n = self.n_comparisons
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (self.wins + tie_value * self.ties) / n
        r[n == 0] = np.nan
        return r

    @validate_params({"strong": ["boolean"]})
    def components(self, *, strong: bool = True) -> list[tuple[str, ...]]:
        """Connected components of the comparison graph (strongly connected by default:
        an edge i → j exists when i beat or tied j at least once)."""
        from scipy.sparse.csgraph import connected_components

        adj = (self.wins + self.ties) > 0
        n, labels = connected_components(adj, directed=True, connection="strong" if strong else "weak")
        return [tuple(self.models[i] for i in np.flatnonzero(labels == k)) for k in range(n)]

    @validate_params({"strong": ["boolean"]})
    def is_connected(self, *, strong: bool = True) -> bool:
        """Whether maximum-likelihood ratings are identified (strong) or the graph is in one piece (weak)."""
        return len(self.components(strong=strong)) == 1

    def to_polars(self) -> pl.DataFrame:
        """One row per compared pair (i < j): wins of each side, ties, total."""
        i, j = np.triu_indices(self.n_models, 1)
        n = self.n_comparisons[i, j]
        keep = n > 0
        i, j = i[keep], j[keep]
        return pl.DataFrame(
            {
                "model_a": [self.models[k] for k in i],
                "model_b": [self.models[k] for k in j],
                "wins_a": self.wins[i, j],
                "wins_b": self.wins[j, i],
                "ties": self.ties[i, j],
                "n": self.n_comparisons[i, j],
            }
        )

    def subset(self, models: Sequence[str]) -> PairwiseCounts:
        """Counts restricted to ``models`` (in the given order)."""
        idx = [self._index(m) for m in models]
        ix = np.ix_(idx, idx)
        return PairwiseCounts(tuple(models), self.wins[ix], self.ties[ix])

    def _index(self, model: str) -> int:
        try:
            return self.models.index(model)
        except ValueError:
            raise MetaevalError(f"unknown model {model!r}; known: {', '.join(self.models)}") from None


@dataclass(frozen=True)
class ScoreMatrix:
    """Models × tasks scores (a leaderboard), ``nan`` where a score is missing.

    Parameters
    ----------
    models, tasks
        Row and column labels.
    scores
        ``len(models) x len(tasks)`` array.
    higher_is_better
        One flag per task (or one for all).
    weights
        One weight per task (default 1); e.g. ½ for each half of a split ``a/b`` cell.
    notes
        What the reader should know about where the scores came from (e.g. what
        :func:`~metaeval.io.read_leaderboard` left out or split); kept by :meth:`dropna` and
        :meth:`head`.

    Examples
    --------
    >>> import numpy as np
    >>> sm = ScoreMatrix(("x", "y"), ("t1", "t2"), np.array([[1.0, 0.2], [2.0, 0.1]]), [True, False])
    >>> sm.to_profile().ranks.tolist()
    [[2.0, 1.0], [2.0, 1.0]]
    """

    models: tuple[str, ...]
    tasks: tuple[str, ...]
    scores: np.ndarray
    higher_is_better: np.ndarray | Sequence[bool] | bool = True
    weights: np.ndarray | Sequence[float] | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", tuple(self.notes))
        models = _labels(self.models, "models")
        tasks = _labels(self.tasks, "tasks")
        scores = np.array(self.scores, dtype=float)
        if scores.shape != (len(models), len(tasks)):
            raise ParameterError(
                f"`scores` must be {len(models)} x {len(tasks)} (models x tasks); got shape {scores.shape}"
            )
        if np.any(np.isinf(scores)):
            r, c = np.argwhere(np.isinf(scores))[0]
            raise ParameterError(f"`scores` must be finite or nan; got inf for model {models[r]!r}, task {tasks[c]!r}")
        with np.errstate(invalid="ignore"):
            huge = np.abs(scores) > MAX_ABS_SCORE
        if np.any(huge):  # see metaeval._numeric
            r, c = np.argwhere(huge)[0]
            raise ParameterError("`scores` must lie within ±1e100 (larger values are not scores: their squares "
                                f"overflow float64); got {scores[r, c]:g} for model {models[r]!r}, task {tasks[c]!r}")
        hib = np.broadcast_to(np.asarray(self.higher_is_better, dtype=bool), (len(tasks),)).copy()
        w = np.ones(len(tasks)) if self.weights is None else np.asarray(self.weights, dtype=float)
        if w.shape != (len(tasks),) or np.any(~np.isfinite(w)) or np.any(w < 0):
            raise ParameterError(f"`weights` must be {len(tasks)} finite non-negative numbers; got {w!r}")
        for arr in (scores, hib, w):
            arr.setflags(write=False)
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "tasks", tasks)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "higher_is_better", hib)
        object.__setattr__(self, "weights", w)

    @property
    def shape(self) -> tuple[int, int]:
        return self.scores.shape

    @property
    def n_missing(self) -> int:
        return int(np.isnan(self.scores).sum())

    def oriented(self) -> np.ndarray:
        """Scores with lower-is-better tasks negated, so larger is always better."""
        return np.where(np.asarray(self.higher_is_better)[None, :], self.scores, -self.scores)

    @validate_params({"how": [Options(str, ("models", "tasks"))]})
    def dropna(self, *, how: Literal["models", "tasks"] = "models") -> ScoreMatrix:
        """Drop models (rows) or tasks (columns) with any missing score."""
        miss = np.isnan(self.scores)
        if how == "models":
            keep = ~miss.any(axis=1)
            if not keep.any():
                raise InsufficientDataError("every model has a missing score; nothing is left")
            return ScoreMatrix(tuple(np.array(self.models)[keep]), self.tasks, self.scores[keep],
                               self.higher_is_better, self.weights, self.notes)
        keep = ~miss.any(axis=0)
        if not keep.any():
            raise InsufficientDataError("every task has a missing score; nothing is left")
        return ScoreMatrix(self.models, tuple(np.array(self.tasks)[keep]), self.scores[:, keep],
                           np.asarray(self.higher_is_better)[keep], np.asarray(self.weights)[keep], self.notes)

    @validate_params({"n": [Interval(Integral, 0, None, closed="left")]})
    def head(self, n: int) -> ScoreMatrix:
        """The first ``n`` models, in the stored order."""
        return ScoreMatrix(self.models[:n], self.tasks, self.scores[:n], self.higher_is_better, self.weights,
                           self.notes)

    def to_polars(self) -> pl.DataFrame:
        """Wide table: a ``model`` column and one column per task."""
        data: dict[str, Any] = {"model": list(self.models)}
        for k, t in enumerate(self.tasks):
            data[t] = self.scores[:, k]
        return pl.DataFrame(data)

    def to_profile(self) -> Profile:
        """Each task becomes a voter ranking the models (1 = best, ties share the best rank,
        missing scores unranked), weighted by the task's weight."""
        from scipy.stats import rankdata

        o = self.oriented()
        missing = np.isnan(o)
        if not missing.any():  # one vectorised call
            ranks = rankdata(-o, method="min", axis=0).T.astype(float)
        else:
            ranks = np.full((len(self.tasks), len(self.models)), np.nan)
            for k in np.flatnonzero(~missing.all(axis=0)):
                ok = ~missing[:, k]
                ranks[k, ok] = rankdata(-o[ok, k], method="min")
        return Profile(self.models, ranks, voters=self.tasks, weights=np.asarray(self.weights))


@dataclass(frozen=True)
class Profile:
    """Rankings of candidates by voters, for social choice.

    ``ranks[v, c]`` is the rank voter ``v`` gives candidate ``c`` (1 = best; equal ranks
    are ties; ``nan`` = not ranked).

    Examples
    --------
    >>> p = Profile.from_orders([["x", "y", "z"], ["y", "x", "z"]])
    >>> p.ranks.tolist()
    [[1.0, 2.0, 3.0], [2.0, 1.0, 3.0]]
    """

    candidates: tuple[str, ...]
    ranks: np.ndarray
    voters: tuple[str, ...] | None = None
    weights: np.ndarray | Sequence[float] | None = None

    def __post_init__(self) -> None:
        cands = _labels(self.candidates, "candidates")
        ranks = np.array(self.ranks, dtype=float)
        if ranks.ndim != 2 or ranks.shape[1] != len(cands):
            raise ParameterError(f"`ranks` must be voters x {len(cands)} candidates; got shape {ranks.shape}")
        ok = ~np.isnan(ranks)
        if np.any(ranks[ok] < 1):
            raise ParameterError("`ranks` must be 1 (best) or larger")
        voters = _labels(self.voters, "voters") if self.voters is not None else tuple(
            f"voter {i}" for i in range(ranks.shape[0]))
        if len(voters) != ranks.shape[0]:
            raise ParameterError(f"`voters` must have {ranks.shape[0]} labels; got {len(voters)}")
        w = np.ones(ranks.shape[0]) if self.weights is None else np.asarray(self.weights, dtype=float)
        if w.shape != (ranks.shape[0],) or np.any(w < 0) or not np.all(np.isfinite(w)):
            raise ParameterError(f"`weights` must be {ranks.shape[0]} finite non-negative numbers")
        ranks.setflags(write=False)
        w.setflags(write=False)
        object.__setattr__(self, "candidates", cands)
        object.__setattr__(self, "ranks", ranks)
        object.__setattr__(self, "voters", voters)
        object.__setattr__(self, "weights", w)

    @classmethod
    def from_orders(cls, orders: Sequence[Sequence[str]], *, weights: Sequence[float] | None = None) -> Profile:
        """Build from best-first orders (candidates missing from an order are unranked)."""
        cands = sorted({c for o in orders for c in o})
        idx = {c: i for i, c in enumerate(cands)}
        ranks = np.full((len(orders), len(cands)), np.nan)
        for v, order in enumerate(orders):
            if len(set(order)) != len(order):
                raise MetaevalError(f"order {v} names a candidate twice: {list(order)}")
            for r, c in enumerate(order, start=1):
                ranks[v, idx[c]] = r
        return cls(tuple(cands), ranks, weights=weights)

    @property
    def n_voters(self) -> int:
        return self.ranks.shape[0]

    def to_polars(self) -> pl.DataFrame:
        """Long table: voter, weight, candidate, rank."""
        v, c = np.meshgrid(np.arange(self.n_voters), np.arange(len(self.candidates)), indexing="ij")
        return pl.DataFrame(
            {
                "voter": [self.voters[i] for i in v.ravel()],  # type: ignore[index]
                "weight": np.asarray(self.weights)[v.ravel()],
                "candidate": [self.candidates[i] for i in c.ravel()],
                "rank": self.ranks.ravel(),
            }
        )


# ----------------------------------------------------------------------------- pairwise helpers
def preference(frame: pl.DataFrame) -> np.ndarray:
    """P(a preferred) of each pairwise verdict: ``p_a`` where given, else 1 / 0 / ½ from the outcome."""
    y = frame["outcome"].cast(pl.String).replace_strict({"a": 1.0, "b": 0.0, "tie": 0.5},
                                                        return_dtype=pl.Float64).to_numpy()
    if "p_a" in frame.columns:
        p = frame["p_a"].cast(pl.Float64).to_numpy()
        y = np.where(np.isnan(p), y, p)
    return y


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Put every pair in a fixed order (model_a < model_b), flipping outcome, p_a, shown_first and lengths."""
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
    the named ``baseline`` is in the table."""
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
    """A column of the frame, or a field of its ``extra`` struct, or None."""
    if name in frame.columns:
        return frame[name]
    if "extra" in frame.columns and isinstance(frame.schema["extra"], pl.Struct):
        fields = [f.name for f in frame.schema["extra"].fields]
        if name in fields:
            return frame["extra"].struct.field(name)
    return None


def reference_members(judges: Sequence[str], reference: str) -> list[str]:
    """The judges that make up ``reference``: that judge, or every ``<reference>:<id>`` judge."""
    members = [j for j in judges if j == reference or j.startswith(reference + ":")]
    if not members:
        raise MetaevalError(f"`reference` names no judge: no judge is {reference!r} or starts with "
                            f"{reference + ':'!r}; judges: {', '.join(sorted(judges))}")
    return members


def auto_reference(judges: Sequence[str]) -> str | None:
    """``"human"``, ``"gold"`` or ``"reference"`` when the table has such judges, else None."""
    for name in ("human", "gold", "reference"):
        if any(j == name or j.startswith(name + ":") for j in judges):
            return name
    return None


# ------------------------------------------------------------------------------ battles
@dataclass(frozen=True)
class Battles:
    """A pairwise table as integer codes (:meth:`Judgments.battles`): the models (sorted), each
    battle's model indices ``ia`` / ``ib``, its outcome ``oc`` (0: a won, 1: b won, 2: tie) and,
    when asked for, its cluster code (``n_clusters`` distinct) and each code's cluster id
    (``cluster_labels``: the text the Poisson bootstrap's weights are keyed on)."""

    models: tuple[str, ...]
    ia: np.ndarray
    ib: np.ndarray
    oc: np.ndarray
    cluster: np.ndarray | None
    n_clusters: int
    cluster_labels: np.ndarray | None = None

    @property
    def score(self) -> np.ndarray:
        """Side a's point per battle: 1 for a win, 0 for a loss, ½ for a tie."""
        return outcome_score(self.oc)


def outcome_score(oc: np.ndarray) -> np.ndarray:
    """Outcome codes (0: a won, 1: b won, 2: tie) as side a's point: 1, 0 or ½.

    >>> outcome_score(np.array([0, 1, 2])).tolist()
    [1.0, 0.0, 0.5]
    """
    return np.where(oc == 0, 1.0, np.where(oc == 1, 0.0, 0.5))


def model_codes(series: pl.Series, models: Sequence[str]) -> np.ndarray:
    """Each name's index in ``models`` (int64); a name not among them is an error.

    >>> model_codes(pl.Series(["b", "a", "b"]), ["a", "b"]).tolist()
    [1, 0, 1]
    """
    try:
        return series.cast(pl.String).cast(pl.Enum(list(models))).to_physical().to_numpy().astype(np.int64)
    except pl.exceptions.InvalidOperationError:
        unknown = sorted(set(series.cast(pl.String).drop_nulls().to_list()) - set(models))
        raise MetaevalError(f"{len(unknown)} name(s) are not among the models, e.g. {unknown[:3]}") from None
