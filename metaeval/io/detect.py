"""Which importer reads a file: :func:`detect_format`, from its suffix and its first record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from metaeval.errors import ImportFormatError
from metaeval.io._common import PathLike, check_file

__all__ = ["FORMATS", "detect_format"]

FORMATS = ("csv", "tsv", "parquet", "jsonl", "json", "alpaca_eval", "mt_bench", "arena", "lm_eval", "inspect", "helm")


def _battle_log(columns: set[str]) -> bool:
    """Columns of an arena-style battle log (``model_a``, ``model_b``, ``winner``), not of metaeval's
    own pairwise table (which says ``outcome``)."""
    return {"model_a", "model_b", "winner"} <= columns and "outcome" not in columns


def _first_json_object(path: Path) -> dict[str, Any] | None:
    with path.open("rb") as fh:
        for raw in fh:
            if raw.strip():
                try:
                    obj = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    return None
                return obj if isinstance(obj, dict) else None
    return None


def _json_head(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def detect_format(path: PathLike) -> tuple[str, str]:
    """Return ``(format, reason)`` for a file, from its suffix and its first record.

    Parameters
    ----------
    path : str or os.PathLike
        The file (it must exist and be readable).

    Returns
    -------
    tuple of (str, str)
        The format (one that :func:`metaeval.read` takes as ``format=``, or ``"csv"``, ``"tsv"``,
        ``"jsonl"``, ``"json"`` and ``"parquet"`` for a generic table) and why it was chosen.

    Raises
    ------
    ImportFormatError
        When the suffix names no format metaeval reads, or the file is an lm-eval results file
        (read those with :func:`metaeval.read_leaderboard`).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "battles.jsonl")
    >>> _ = open(path, "w").write('{"model_a": "x", "model_b": "y", "winner": "model_a"}\\n')
    >>> detect_format(path)
    ('arena', 'fields model_a, model_b, winner')
    """
    p = check_file(path)
    suffix = p.suffix.lower()
    if suffix == ".eval":
        return "inspect", "suffix .eval (inspect_ai log archive)"
    if suffix in (".parquet", ".pq"):
        try:
            names = {c.lower() for c in pl.read_parquet_schema(p)}
        except (pl.exceptions.PolarsError, OSError):
            names = set()  # not a readable Parquet file: the generic reader says why
        if _battle_log(names):
            return "arena", "columns model_a, model_b, winner (a battle log)"
        return "parquet", "suffix .parquet"
    if suffix in (".csv", ".tsv"):
        with p.open("rb") as fh:
            header = fh.readline().decode("utf-8", errors="replace").strip().lower()
        cols = {c.strip().strip('"') for c in header.split("\t" if suffix == ".tsv" else ",")}
        if {"generator_1", "generator_2", "preference"} <= cols:
            return "alpaca_eval", "columns generator_1, generator_2, preference"
        if _battle_log(cols):
            return "arena", "columns model_a, model_b, winner (a battle log)"
        return suffix[1:], f"suffix {suffix}"
    if suffix in (".jsonl", ".ndjson"):
        obj = _first_json_object(p)
        if obj is None:
            return "jsonl", "suffix .jsonl"
        keys = set(obj)
        if {"g1_winner", "g2_winner"} & keys or ({"question_id", "model", "score", "judge"} <= keys):
            return "mt_bench", "fields question_id, judge and g1_winner / score"
        if {"model_1", "model_2", "winner"} <= keys:
            return "mt_bench", "fields model_1, model_2, winner"
        if "doc_id" in keys and ({"resps", "filtered_resps", "doc", "metrics"} & keys):
            return "lm_eval", "fields doc_id, resps / metrics"
        if {"model_a", "model_b", "winner"} <= keys:
            return "arena", "fields model_a, model_b, winner"
        if {"generator_1", "generator_2", "preference"} <= keys:
            return "alpaca_eval", "fields generator_1, generator_2, preference"
        return "jsonl", "suffix .jsonl"
    if suffix == ".json":
        data = _json_head(p)
        if isinstance(data, dict):
            if "eval" in data and ("samples" in data or "status" in data):
                return "inspect", "fields eval, samples (inspect_ai log)"
            if "results" in data and ("config" in data or "versions" in data):
                raise ImportFormatError(
                    "this is an lm-eval results file (aggregated metrics): read it with `read_leaderboard`",
                    path=str(p))
            if "model_a" in data and "winner" in data:
                return "arena", "columns model_a, winner"
        if isinstance(data, list) and data and isinstance(data[0], dict):
            keys = set(data[0])
            if {"generator_1", "generator_2", "preference"} <= keys:
                return "alpaca_eval", "fields generator_1, generator_2, preference"
            if {"model_a", "model_b", "winner"} <= keys:
                return "arena", "fields model_a, model_b, winner"
            if {"instance_id", "stats"} <= keys:
                return "helm", "fields instance_id, stats"
        return "json", "suffix .json"
    raise ImportFormatError(f"cannot tell the format of a {suffix or 'suffix-less'} file; pass `format=` "
                            f"(one of {', '.join(FORMATS)})", path=str(p))
