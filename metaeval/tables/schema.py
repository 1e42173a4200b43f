"""The schema of the judgments table: its columns, their types and the kinds that use them, and the
validation that turns a frame into the canonical one (every problem named by column and row).

:data:`COLUMNS` is the data model's reference (the column table of :mod:`metaeval.tables`);
:func:`_validate` is what :class:`~metaeval.tables.Judgments` runs at the door.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from metaeval._numeric import MAX_ABS_SCORE
from metaeval.errors import DataDroppedWarning, MetaevalError, ParameterError, SchemaError, warn

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
    frame, kind, row_offset = _resolve_kind(frame, kind, source, row_offset)
    frame = _check_columns(frame, kind, problems)
    if problems:
        raise SchemaError(problems, source=source)
    frame = _gather_extra(frame, kind)
    frame, casts = _cast_columns(frame, kind, problems, row_noun, row_offset)
    work = frame.with_columns(**{f"__c_{n}": e for n, e in casts.items()}) if casts else frame
    checks = _value_checks(frame, kind, casts)
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
    _check_duplicates(frame, kind, problems, row_noun, row_offset)
    if problems:
        raise SchemaError(problems, source=source)
    order = [c for c in COLUMNS if c in frame.columns] + (["extra"] if "extra" in frame.columns else [])
    return frame.select(order), kind


def _resolve_kind(frame: pl.DataFrame, kind: Kind | None, source: str | None,
                  row_offset: RowNumbers) -> tuple[pl.DataFrame, Kind, RowNumbers]:
    """The table's kind: ``kind``, or inferred from the columns; a table that mixes both kinds is an
    error without ``kind``, and keeps the rows of ``kind`` (with a warning) with it."""
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
    return frame, kind, row_offset


def _check_columns(frame: pl.DataFrame, kind: Kind, problems: list[str]) -> pl.DataFrame:
    """The frame without the other kind's columns; a problem for each such column that holds
    values, for each required column that is missing, and for a pointwise table without a verdict."""
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
    return frame


def _gather_extra(frame: pl.DataFrame, kind: Kind) -> pl.DataFrame:
    """Unknown columns go to the struct column `extra`, never dropped."""
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
    return frame


def _cast_columns(frame: pl.DataFrame, kind: Kind, problems: list[str], row_noun: str,
                  row_offset: RowNumbers) -> tuple[pl.DataFrame, dict[str, pl.Expr]]:
    """The casts of every known column whose type differs (to compute next to the original, so the
    values that did not survive can be counted); label columns are cast to their enums here."""
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
    return frame, casts


def _value_checks(frame: pl.DataFrame, kind: Kind, casts: dict[str, pl.Expr]) -> list[tuple[str, pl.Expr, str]]:
    """(column, rows that fail, what the column must be) for every check of the values: the casts
    that lost a value, missing keys, and each column's range."""

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
    return checks


def _check_duplicates(frame: pl.DataFrame, kind: Kind, problems: list[str], row_noun: str,
                      row_offset: RowNumbers) -> None:
    """A problem when rows repeat the same key columns (item, judge, model(s), rep, …)."""
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
