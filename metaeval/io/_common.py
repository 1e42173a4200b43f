"""Shared helpers for the importers: file checks, strict UTF-8, JSON with line numbers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from metaeval._files import check_file, decode_utf8
from metaeval.errors import DataDroppedWarning, ImportFormatError, warn
from metaeval.tables import Judgments, Kind

PathLike = str | os.PathLike[str]

__all__ = [
    "PathLike",
    "check_file",
    "decode_utf8",
    "dropped",
    "iter_jsonl",
    "jsonable_text",
    "load_json",
    "rep_for_repeats",
    "require",
    "to_judgments",
    "utf8_error_line",
]


def utf8_error_line(path: PathLike) -> ImportFormatError | None:
    """Find the first invalid UTF-8 sequence of a file (used after a CSV reader failed)."""
    data = Path(path).read_bytes()
    try:
        decode_utf8(data, path)
    except ImportFormatError as exc:
        return exc
    return None


def load_json(path: PathLike) -> Any:
    """Parse a JSON document, naming line and column on failure."""
    p = check_file(path)
    text = decode_utf8(p.read_bytes(), p)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=str(p), line=exc.lineno) from None


def iter_jsonl(path: PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line of a JSON Lines file."""
    p = check_file(path)
    text = decode_utf8(p.read_bytes(), p)
    lines = text.splitlines()
    seen = False
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            truncated = " (the line looks truncated)" if i == len(lines) and not text.endswith("\n") else ""
            raise ImportFormatError(f"invalid JSON: {exc.msg} (column {exc.colno}){truncated}", path=str(p),
                                    line=i) from None
        if not isinstance(obj, dict):
            raise ImportFormatError(f"each line must be a JSON object; got {type(obj).__name__}", path=str(p), line=i)
        seen = True
        yield i, obj
    if not seen:
        raise ImportFormatError("the file holds no JSON objects", path=str(p))


def require(obj: Mapping[str, Any], key: str, path: PathLike, line: int | None, what: str = "") -> Any:
    """``obj[key]``, or an :class:`ImportFormatError` naming the file, line and field."""
    if key not in obj or obj[key] is None:
        raise ImportFormatError(f"required field is missing{what}", path=str(path), line=line, field=key)
    return obj[key]


def dropped(provenance: dict[str, Any], reason: str, count: int, example: str | None = None) -> None:
    """Record (and warn about) rows left out at import."""
    if not count:
        return
    provenance.setdefault("dropped", {})[reason] = count
    ex = f" (first: {example})" if example else ""
    warn(f"left out {count} rows: {reason}{ex}", DataDroppedWarning, stacklevel=4)


def jsonable_text(value: Any) -> str | None:
    """Compact JSON text for nested values kept in ``extra``."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def to_judgments(
    records: Sequence[Mapping[str, Any]] | pl.DataFrame,
    *,
    kind: Kind | None,
    path: PathLike | Sequence[PathLike],
    provenance: dict[str, Any],
    row_noun: str = "record",
    row_offset: int | Sequence[int] = 0,
    lines: Sequence[int] | None = None,
) -> Judgments:
    """Build a validated table, naming the file in any schema error.

    ``lines`` gives the line of the file each record came from: schema errors then name those
    lines (``line 12``) instead of record indices.
    """
    if lines is not None:
        row_noun, row_offset = "line", list(lines)
    if isinstance(records, pl.DataFrame):
        frame = records
    else:
        if not records:
            raise ImportFormatError("no judgments were found", path=str(path))
        frame = pl.DataFrame(list(records), infer_schema_length=None, strict=False)
    source = str(path) if isinstance(path, (str, os.PathLike)) else ", ".join(str(p) for p in path)
    return Judgments(frame, kind=kind, provenance=provenance, source=source, row_noun=row_noun,
                     row_offset=row_offset)


def rep_for_repeats(frame: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Number repeated verdicts on the same key 0, 1, … in file order (column ``rep``)."""
    present = [k for k in keys if k in frame.columns]
    return frame.with_columns(pl.int_range(pl.len()).over(present).cast(pl.Int64).alias("rep"))

