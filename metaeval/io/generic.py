"""Generic CSV / TSV / Parquet / JSON Lines tables with a column mapping.

>>> import metaeval, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "votes.csv")
>>> _ = open(path, "w").write("qid,rater,left,right,verdict\\n1,ann,x,y,A>B\\n2,ann,x,y,B>A\\n")
>>> j = metaeval.read(path, item="qid", judge="rater", model_a="left", model_b="right",
...                   outcome="verdict", values={"outcome": {"A>B": "a", "B>A": "b"}})
>>> j.frame["outcome"].to_list()
['a', 'b']
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import polars as pl

from metaeval.errors import ImportFormatError, MetaevalError, MetaevalWarning, ParameterError, warn
from metaeval.io._common import PathLike, check_file, decode_utf8, iter_jsonl, to_judgments, utf8_error_line
from metaeval.tables import COLUMNS, Judgments, Kind, _canonical_schema

__all__ = ["read_frame", "read_frame_numbered", "read_table"]

TableFormat = Literal["csv", "tsv", "parquet", "jsonl", "json"]
_STRING_COLUMNS = [c for c, spec in COLUMNS.items() if spec.dtype == pl.String]


ShortRows = Literal["error", "missing"]


def read_frame(path: PathLike, *, format: TableFormat, string_columns: list[str] | None = None,
               short_rows: ShortRows = "error", index_column: str | None = None) -> pl.DataFrame:
    """Read a file into a polars DataFrame, with metaeval errors for bad files.

    ``string_columns`` are read as text (ids such as ``007`` keep their leading zeros).
    ``short_rows`` is what a CSV row with fewer fields than the header means (see
    :func:`read_frame_numbered`), and ``index_column`` the name an unnamed first column gets.
    """
    return read_frame_numbered(path, format=format, string_columns=string_columns, short_rows=short_rows,
                               index_column=index_column)[0]


def read_frame_numbered(path: PathLike, *, format: TableFormat, string_columns: list[str] | None = None,
                        short_rows: ShortRows = "error", index_column: str | None = None
                        ) -> tuple[pl.DataFrame, str, int | list[int]]:
    """:func:`read_frame`, and how messages name its rows: ``(frame, noun, numbers)`` where row *i*
    is ``{noun} {numbers + i}`` or ``{noun} {numbers[i]}`` — the line of a CSV or JSON Lines file
    where it starts (quoted CSV cells and blank JSON lines can make the two differ), a Parquet or
    JSON table's row or record index.

    A CSV row with more fields than the header is an error naming its line. A row with fewer is
    one too (polars would fill the missing cells with nulls without a word), unless
    ``short_rows="missing"``: then its last cells are missing values, with one
    :class:`~metaeval.errors.MetaevalWarning` naming the lines. Spreadsheets that export a sparse
    table often leave trailing empty cells out; a table of judgments with a short row is more
    likely cut off, so only the leaderboard reader passes ``"missing"``.

    A header cell without a name is an error, except the first one when ``index_column`` is given:
    pandas' ``DataFrame.to_csv`` writes the index as an unnamed first column (AlpacaEval's
    leaderboards name their models there), and it is read as ``index_column``.
    """
    p = check_file(path)
    overrides = {c: pl.String for c in (string_columns or [])}
    noun, numbers = "row", 0
    numbered: int | list[int] = 0
    try:
        if format in ("csv", "tsv"):
            with p.open("rb") as fh:
                header = fh.readline()
            text = decode_utf8(header, p).strip("\r\n")
            sep = _separator(text, format)
            head_cols = [c.strip().strip('"') for c in text.split(sep)]
            renamed = index_column is not None and len(head_cols) > 1 and head_cols[0] == ""
            if renamed:
                head_cols[0] = str(index_column)
            _check_header(head_cols, p, sep)
            ov = {("" if renamed and c == index_column else c): t for c, t in overrides.items() if c in head_cols}
            try:
                frame = pl.read_csv(p, separator=sep, schema_overrides=ov, infer_schema_length=10000)
            except pl.exceptions.PolarsError:
                ragged = _ragged_line(p, sep, len(head_cols))
                if ragged is not None:
                    raise ragged from None
                raise
            if renamed and frame.width and frame.columns[0] == "":
                frame = frame.rename({"": str(index_column)})
            # the frame's width, not the first line's fields: a quoted header cell may span lines
            noun, numbered = "line", _csv_line_numbers(p, sep, frame.width, frame, short_rows=short_rows)
        elif format == "parquet":
            frame = pl.read_parquet(p)
        elif format == "jsonl":
            frame, numbered = _read_jsonl_frame(p)
            noun = "line"
        elif format == "json":
            data = json.loads(decode_utf8(p.read_bytes(), p))
            if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()):
                frame = pl.DataFrame(data, strict=False)
            elif isinstance(data, list) and all(isinstance(r, dict) for r in data):
                frame = pl.DataFrame(data, infer_schema_length=None, strict=False)
                noun = "record"
            else:
                raise ImportFormatError("a JSON table must be a list of objects or an object of columns", path=str(p))
        else:
            raise ParameterError(f"`format` must be one of csv, tsv, parquet, jsonl, json; got {format!r}")
    except ImportFormatError:
        raise
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=str(p), line=exc.lineno) from None
    except pl.exceptions.PolarsError as exc:
        if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            err = utf8_error_line(p)
            if err is not None:
                raise err from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportFormatError(f"cannot be read as {format}: {first}", path=str(p)) from None
    for c in frame.columns:
        if c in overrides and frame.schema[c] != pl.String and frame.schema[c] != pl.Null:
            frame = frame.with_columns(pl.col(c).cast(pl.String))
    return frame, noun, numbered if numbered else numbers


def _separator(header: str, format: str) -> str:
    r"""The field separator: a tab for TSV; for a ``.csv`` file a comma, unless its header has none
    and is split by one of ``;``, a tab or ``|`` (spreadsheets in many locales write ``;``).

    >>> _separator("item;judge;score", "csv"), _separator("item,judge", "csv"), _separator("a b", "tsv")
    (';', ',', '\t')
    """
    if format == "tsv":
        return "\t"
    if "," not in header:
        found = [s for s in (";", "\t", "|") if s in header]
        if len(found) == 1:
            return found[0]
    return ","


def _check_header(columns: list[str], path: Path, sep: str = ",") -> None:
    """A header that names a column twice or leaves a name empty is an error (polars would rename
    the copy and the table would lose it into ``extra``); a one-column header that holds another
    separator gets a hint."""
    if len(columns) == 1:
        others = [name for s, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars"), (",", "commas"))
                  if s != sep and s in columns[0]]
        if others:
            raise ImportFormatError(f"the header is one column {columns[0]!r}, split by {others[0]}: the file seems "
                                    "to use another separator than the one its name implies (a .csv is split by "
                                    "commas, or by the one of ';', tab, '|' its header holds; a .tsv by tabs); "
                                    "re-save it or rename it", path=str(path), line=1)
    seen: dict[str, int] = {}
    for i, c in enumerate(columns, 1):
        if c in seen:
            raise ImportFormatError(f"column {c!r} appears twice in the header (columns {seen[c]} and {i}): "
                                    "name each column once", path=str(path), line=1, field=c)
        seen[c] = i
    empty = [i for i, c in enumerate(columns, 1) if c == ""]
    if empty and len(columns) > 1:
        raise ImportFormatError(f"column {empty[0]} of the header has no name: name every column", path=str(path),
                                line=1)


def _csv_line_numbers(path: Path, sep: str, n_fields: int, frame: pl.DataFrame, *,
                      short_rows: ShortRows = "error") -> int | list[int]:
    """The line on which each data row starts: ``2`` (row *i* is on line *i* + 2) when no cell
    spans lines, else the list. A row whose number of fields differs from the header's is an
    error naming its line (a blank line is a row of nulls, as polars reads it); with
    ``short_rows="missing"`` a row with fewer fields is kept (polars read its last cells as
    missing) and the lines are named in one warning.

    The file is scanned again (with :mod:`csv`, ~4 µs a row) only when the frame shows that it
    may be needed: a null in the last column (a short row leaves one) or a text cell holding a
    line break.
    """
    import csv

    n_rows = frame.height
    last = frame.columns[-1] if frame.width else None
    short = last is not None and frame[last].null_count() > 0
    text = [c for c, t in frame.schema.items() if t == pl.String]
    broken = bool(text) and bool(frame.select(pl.any_horizontal(
        [pl.col(c).str.contains("\n|\r", literal=False).any() for c in text])).item())
    if not short and not broken:
        return 2

    starts: list[int] = []
    shorts: list[int] = []
    multiline = False
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=sep)
        start, header = 1, True
        for row in reader:
            if not header:
                if row and len(row) < n_fields and short_rows == "missing":
                    shorts.append(start)
                elif row and len(row) != n_fields:
                    fewer = "fewer" if len(row) < n_fields else "more"
                    raise ImportFormatError(f"{len(row)} fields where the header has {n_fields} ({fewer} cells than "
                                            "columns: a ragged row)", path=str(path), line=start)
                starts.append(start)
                multiline = multiline or reader.line_num != start
            header = False
            start = reader.line_num + 1
    if shorts:
        lines = ", ".join(map(str, shorts[:5])) + (f" and {len(shorts) - 5} more" if len(shorts) > 5 else "")
        warn(f"{path}: {len(shorts)} row{'s' if len(shorts) > 1 else ''} with fewer cells than the header's "
             f"{n_fields} (line{'s' if len(shorts) > 1 else ''} {lines}); their last cells are read as missing",
             MetaevalWarning)
    if not multiline and (not starts or starts[0] == 2):
        return 2
    return starts if len(starts) == n_rows else 2


def _ragged_line(path: Path, sep: str, n_fields: int) -> ImportFormatError | None:
    """The first line whose number of fields differs from the header's, as an error naming it."""
    import csv

    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=sep)
        for row in reader:
            if reader.line_num == 1 or not row:
                continue
            if len(row) != n_fields:
                fewer = "fewer" if len(row) < n_fields else "more"
                return ImportFormatError(f"{len(row)} fields where the header has {n_fields} ({fewer} cells than "
                                         "columns: a ragged row)", path=str(path), line=reader.line_num)
    return None


def _stored_provenance(meta: Mapping[str, str]) -> dict[str, Any]:
    """The provenance a metaeval Parquet file recorded (``metaeval.provenance``, JSON), or {}."""
    text = meta.get("metaeval.provenance")
    if not text:
        return {}
    try:
        stored = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return {}
    return stored if isinstance(stored, dict) else {}


def _parquet_provenance(stored: Mapping[str, Any], path: Path, rows: int) -> dict[str, Any]:
    """Provenance of a table read back from Parquet: what was recorded when it was written (rows
    dropped, abstentions, the original format and files …), then this file as the source."""
    prov = {k: v for k, v in stored.items() if k not in ("format", "files", "rows_read", "validation", "detected")}
    if stored.get("format") or stored.get("files"):
        prov["exported_from"] = " ".join(str(stored[k]) for k in ("format", "files") if stored.get(k))
    prov.update({"format": "parquet", "files": str(path), "rows_read": rows})
    return prov


def _read_metaeval_parquet(path: PathLike, kind: Kind | None) -> Judgments | None:
    """A Parquet file written by metaeval (:meth:`Judgments.write_parquet`), validated in full.

    The recorded fingerprint is an unkeyed content hash: anyone can write a matching one, so it
    proves nothing about the rows. Every row is validated as any other table (on a million rows
    this costs about as much as reading the file); the fingerprint only says whether the content is
    the one metaeval wrote (``provenance["validation"]``). Returns None (the caller reads the file
    as a generic table) when the file carries no metaeval metadata or its columns are not the
    canonical ones.
    """

    p = check_file(path)
    try:
        meta = pl.read_parquet_metadata(p)
    except pl.exceptions.PolarsError:
        return None
    recorded_kind, fingerprint = meta.get("metaeval.kind"), meta.get("metaeval.fingerprint")
    if recorded_kind not in ("pointwise", "pairwise") or kind not in (None, recorded_kind):
        return None
    try:
        frame = pl.read_parquet(p)
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportFormatError(f"cannot be read as parquet: {first}", path=str(p)) from None
    if frame.height == 0 or not _canonical_schema(frame, recorded_kind):  # type: ignore[arg-type]
        return None
    prov = _parquet_provenance(_stored_provenance(meta), p, frame.height)
    j = Judgments(frame, kind=recorded_kind, provenance=prov, source=str(p))  # type: ignore[arg-type]
    prov = j.provenance
    prov["validation"] = ("every row validated; fingerprint verified" if fingerprint == j.fingerprint
                          else "every row validated; the content differs from what metaeval wrote")
    return j


def _read_jsonl_frame(p: Path) -> tuple[pl.DataFrame, list[int]]:
    lines, records = [], []
    for line, obj in iter_jsonl(p):
        lines.append(line)
        records.append(obj)
    return pl.DataFrame(records, infer_schema_length=None, strict=False), lines


def _format_from_suffix(path: PathLike) -> TableFormat | None:
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
            ".ndjson": "jsonl", ".json": "json"}.get(suffix)  # type: ignore[return-value]


def apply_mapping(
    frame: pl.DataFrame,
    *,
    columns: Mapping[str, str] | None,
    values: Mapping[str, Mapping[Any, Any]] | None,
    constants: Mapping[str, Any] | None,
    path: PathLike,
) -> pl.DataFrame:
    """Rename source columns to canonical ones, map values, add constant columns."""
    columns = dict(columns or {})
    for canonical in columns:
        if canonical not in COLUMNS and canonical != "extra":
            raise MetaevalError(
                f"cannot map to `{canonical}`: not a metaeval column (known: {', '.join(COLUMNS)})"
            )
    missing = [src for src in columns.values() if src not in frame.columns]
    if missing:
        raise ImportFormatError(
            f"mapped column {missing[0]!r} is not in the file (columns: {', '.join(frame.columns)})",
            path=str(path), field=missing[0],
        )
    clash = [c for c in columns if c in frame.columns and c not in columns.values()]
    if clash:
        # The canonical name is taken by another source column: keep that one in `extra`.
        frame = frame.rename({c: f"{c}_original" for c in clash})
    frame = frame.rename({src: canon for canon, src in columns.items() if src != canon})
    for col, mapping in (values or {}).items():
        if col not in frame.columns:
            raise MetaevalError(f"`values` maps column `{col}`, which the table does not have")
        keys = list(mapping)
        src = pl.col(col)
        if frame.schema[col] != pl.String and all(isinstance(k, str) for k in keys):
            src = src.cast(pl.String)
        frame = frame.with_columns(src.replace(mapping).alias(col))
    for col, value in (constants or {}).items():
        if col in frame.columns:
            raise MetaevalError(f"`constants` sets `{col}`, but the file already has that column")
        frame = frame.with_columns(pl.lit(value).alias(col))
    return frame


def read_table(
    path: PathLike,
    *,
    format: TableFormat | None = None,
    columns: Mapping[str, str] | None = None,
    values: Mapping[str, Mapping[Any, Any]] | None = None,
    constants: Mapping[str, Any] | None = None,
    kind: Kind | None = None,
) -> Judgments:
    """Read a generic table of judgments.

    Parameters
    ----------
    path
        A ``.csv``, ``.tsv``, ``.parquet``, ``.jsonl`` or ``.json`` file.
    format
        Overrides the format implied by the suffix.
    columns
        Canonical name → column in the file, e.g. ``{"item": "question_id"}``.
    values
        Per canonical column, a map of file values to metaeval values, e.g.
        ``{"outcome": {"A>B": "a", "B>A": "b", "A=B": "tie"}}``.
    constants
        Columns to add with one value, e.g. ``{"judge": "gpt-4"}``.
    kind
        ``"pointwise"`` or ``"pairwise"`` (inferred when omitted).
    """
    fmt = format or _format_from_suffix(path)
    if fmt is None:
        raise ImportFormatError("cannot tell the format from the suffix; pass `format=`", path=str(path))
    if fmt == "parquet" and not (columns or values or constants):
        verified = _read_metaeval_parquet(path, kind)
        if verified is not None:
            return verified
    src_strings = [columns.get(c, c) if columns else c for c in _STRING_COLUMNS]
    frame, noun, numbers = read_frame_numbered(path, format=fmt, string_columns=src_strings)
    frame = apply_mapping(frame, columns=columns, values=values, constants=constants, path=path)
    prov = {"format": fmt, "files": str(path), "rows_read": frame.height}
    if fmt == "parquet":
        try:
            stored = _stored_provenance(pl.read_parquet_metadata(os.fspath(path)))
        except pl.exceptions.PolarsError:
            stored = {}
        prov = _parquet_provenance(stored, Path(path), frame.height)
    return to_judgments(frame, kind=kind, path=path, provenance=prov, row_noun=noun, row_offset=numbers)
