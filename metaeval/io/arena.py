"""Chatbot Arena battles (``clean_battle_*.json``: a JSON list, or JSON Lines), and battle logs
in the same columns as a Parquet, CSV or TSV table (as :func:`metaeval.battles.scan` reads them).

Each battle has ``model_a``, ``model_b`` and ``winner`` ∈ ``model_a`` / ``model_b`` /
``tie`` / ``tie (bothbad)`` (a tie, flagged ``bothbad`` in ``extra``). ``question_id``
becomes ``item`` (a battle without one gets ``battle-<n>``), the voter (``judge``) becomes
``human:<voter>`` (judges whose name says they are models, such as ``gpt4_pair``, keep their
name), and battles repeated by the same voter on the same item and pair are numbered with
``rep``. Everything else (``language``, ``turn``, ``anony``, ``tstamp``…) goes to ``extra``.
A table is read with column expressions, not row by row, so a log of millions of battles reads in
seconds, and gives the same table as the JSON Lines of the same battles.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from metaeval.errors import ImportFormatError
from metaeval.io._common import PathLike, iter_jsonl, jsonable_text, load_json, rep_for_repeats, to_judgments
from metaeval.io.generic import read_frame_numbered
from metaeval.tables import Judgments

__all__ = ["read_arena"]

_WINNER = {"model_a": "a", "model_b": "b", "tie": "tie", "tie (bothbad)": "tie"}
_MODEL_JUDGE_HINTS = ("gpt", "claude", "gemini", "llama", "judge")


def _voter(name: Any) -> str:
    text = str(name)
    if text.startswith("human:") or any(h in text.lower() for h in _MODEL_JUDGE_HINTS):
        return text
    return f"human:{text}"


def read_arena(path: PathLike) -> Judgments:
    """Read Chatbot Arena battles: a JSON list or JSON Lines of battles, or a Parquet / CSV / TSV
    battle log with columns ``model_a``, ``model_b``, ``winner`` (and optionally
    ``question_id``, ``judge`` and any others, kept in ``extra``).

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    Judgments
        A pairwise table: one row per battle.

    Examples
    --------
    >>> from metaeval import datasets
    >>> j = read_arena(datasets.path("arena_battles.parquet"))
    >>> j.frame.height, sorted(j.models)[:2]
    (900, ['atlas-1', 'borealis-1'])
    """
    suffix = str(path).lower().rsplit(".", 1)[-1]
    if suffix in ("parquet", "pq", "csv", "tsv"):
        return _read_arena_table(path, "parquet" if suffix in ("parquet", "pq") else suffix)
    if str(path).lower().endswith((".jsonl", ".ndjson")):
        records = [(line, obj) for line, obj in iter_jsonl(path)]
    else:
        data = load_json(path)
        if isinstance(data, dict) and "model_a" in data and isinstance(data["model_a"], dict):
            # pandas' default to_json orient="columns": {"model_a": {"0": …}, …}
            keys = list(data["model_a"])
            data = [{c: data[c].get(k) for c in data} for k in keys]
        if not isinstance(data, list):
            raise ImportFormatError("Arena battles must be a JSON list of battles", path=str(path))
        records = [(i, obj) for i, obj in enumerate(data)]
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    jsonl = str(path).lower().endswith((".jsonl", ".ndjson"))
    noun = "line" if jsonl else "battle"
    for where, obj in records:
        # JSON Lines name the line (`line=`); a JSON list names the battle's index in the list
        line, at = (where, "") if jsonl else (None, f" (battle {where})")
        if not isinstance(obj, dict):
            raise ImportFormatError(f"each battle must be an object; got {type(obj).__name__}{at}", path=str(path),
                                    line=line)
        for key in ("model_a", "model_b", "winner"):
            if obj.get(key) is None:
                raise ImportFormatError(f"required field is missing{at}", path=str(path), line=line, field=key)
        for key in ("model_a", "model_b"):
            if not isinstance(obj[key], (str, int)) or isinstance(obj[key], bool):
                raise ImportFormatError(f"a model name must be text; got {type(obj[key]).__name__} "
                                        f"{jsonable_text(obj[key])!r}{at}", path=str(path), line=line, field=key)
        winner = obj["winner"]
        if not isinstance(winner, str) or winner not in _WINNER:
            raise ImportFormatError(
                f"must be one of {', '.join(repr(w) for w in _WINNER)}; got {winner!r}{at}",
                path=str(path), line=line, field="winner",
            )
        numbers.append(where)
        row = {
            "item": str(obj["question_id"]) if obj.get("question_id") is not None else f"battle-{where}",
            "judge": _voter(obj.get("judge", "anonymous")),
            "model_a": str(obj["model_a"]),
            "model_b": str(obj["model_b"]),
            "outcome": _WINNER[winner],
            "bothbad": winner == "tie (bothbad)",
        }
        for k, v in obj.items():
            if k not in {"question_id", "judge", "model_a", "model_b", "winner"}:
                row[k] = v if isinstance(v, (str, int, float, bool)) or v is None else jsonable_text(v)
        rows.append(row)
    if not rows:
        raise ImportFormatError("no battles were found", path=str(path))
    frame = pl.DataFrame(rows, infer_schema_length=None, strict=False)
    frame = rep_for_repeats(frame, ["item", "judge", "model_a", "model_b"])
    prov = {"format": "arena", "files": str(path), "rows_read": len(rows)}
    return to_judgments(frame, kind="pairwise", path=path, provenance=prov, row_noun=noun, row_offset=numbers)


_TEXT_TYPES = (pl.String, pl.Categorical, pl.Enum)


def _read_arena_table(path: PathLike, format: str) -> Judgments:
    """A battle log as a table (Parquet, CSV, TSV): the same rules as the JSON path, as column
    expressions. Errors name the row (Parquet, 0-based as in the JSON list) or the line (CSV)."""
    text_cols = ["model_a", "model_b", "winner", "question_id", "judge"]
    # CSV cells are read as text (ids such as 007 keep their zeros); Parquet keeps its types, checked below
    frame, noun, numbers = read_frame_numbered(path, format=format,  # type: ignore[arg-type]
                                               string_columns=text_cols if format != "parquet" else None)
    frame = frame.with_row_index("__row")

    def where(i: int) -> tuple[int | None, str]:
        n = numbers[i] if isinstance(numbers, list) else numbers + i
        return (n, "") if noun == "line" else (None, f" (row {n})")

    for key in ("model_a", "model_b", "winner"):
        if key not in frame.columns:
            raise ImportFormatError(f"a battle log needs the columns model_a, model_b and winner; this one has "
                                    f"{', '.join(c for c in frame.columns if c != '__row')}", path=str(path),
                                    field=key)
        missing = frame.filter(pl.col(key).is_null() | (pl.col(key).cast(pl.String).str.strip_chars() == ""))
        if missing.height:
            line, at = where(int(missing["__row"][0]))
            more = f"; {missing.height} such rows" if missing.height > 1 else ""
            raise ImportFormatError(f"required field is missing{at}{more}", path=str(path), line=line, field=key)
    for key in ("model_a", "model_b"):
        dtype = frame.schema[key]
        if not (isinstance(dtype, _TEXT_TYPES) or dtype == pl.String or dtype.is_integer()):
            line, at = where(0)
            raise ImportFormatError(f"a model name must be text; got a column of {dtype}{at}", path=str(path),
                                    line=line, field=key)
    winner = pl.col("winner").cast(pl.String)
    bad = frame.filter(~winner.is_in(list(_WINNER)))
    if bad.height:
        line, at = where(int(bad["__row"][0]))
        more = f"; {bad.height} such rows" if bad.height > 1 else ""
        raise ImportFormatError(f"must be one of {', '.join(repr(w) for w in _WINNER)}; got "
                                f"{bad['winner'].cast(pl.String)[0]!r}{at}{more}", path=str(path), line=line,
                                field="winner")
    item = (pl.col("question_id").cast(pl.String) if "question_id" in frame.columns
            else pl.lit(None, dtype=pl.String))
    item = pl.when(item.is_null()).then(pl.lit("battle-") + pl.col("__row").cast(pl.String)).otherwise(item)
    # the JSON path's voter rule (`_voter`), applied once per distinct voter, not once per battle
    voters = frame["judge"].cast(pl.String).fill_null("anonymous") if "judge" in frame.columns else None
    judge = (pl.lit(_voter("anonymous")) if voters is None else
             pl.lit(voters).replace_strict({v: _voter(v) for v in voters.unique().to_list()}, return_dtype=pl.String))
    extra = [c for c in frame.columns if c not in {"__row", "question_id", "judge", "model_a", "model_b", "winner"}]
    nested = [c for c in extra if frame.schema[c].is_nested()]
    out = frame.select(
        item.alias("item"), judge.alias("judge"),
        pl.col("model_a").cast(pl.String), pl.col("model_b").cast(pl.String),
        winner.replace_strict(_WINNER, return_dtype=pl.String).alias("outcome"),
        (winner == "tie (bothbad)").alias("bothbad"),
        *[pl.col(c) for c in extra if c not in nested],
        *[pl.Series(c, [jsonable_text(v) for v in frame[c].to_list()], dtype=pl.String) for c in nested],
    )
    if not out.height:
        raise ImportFormatError("no battles were found", path=str(path))
    out = rep_for_repeats(out, ["item", "judge", "model_a", "model_b"])
    prov = {"format": "arena", "files": str(path), "rows_read": out.height}
    return to_judgments(out, kind="pairwise", path=path, provenance=prov, row_noun=noun, row_offset=numbers)
