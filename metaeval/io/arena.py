"""Chatbot Arena battles (``clean_battle_*.json``: a JSON list, or JSON Lines).

Each battle has ``model_a``, ``model_b`` and ``winner`` ∈ ``model_a`` / ``model_b`` /
``tie`` / ``tie (bothbad)`` (a tie, flagged ``bothbad`` in ``extra``). ``question_id``
becomes ``item`` (a battle without one gets ``battle-<n>``), the voter (``judge``) becomes
``human:<voter>`` (judges whose name says they are models, such as ``gpt4_pair``, keep their
name), and battles repeated by the same voter on the same item and pair are numbered with
``rep``. Everything else (``language``, ``turn``, ``anony``, ``tstamp``…) goes to ``extra``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from metaeval.errors import ImportFormatError
from metaeval.io._common import PathLike, iter_jsonl, jsonable_text, load_json, rep_for_repeats, to_judgments
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
    """Read Chatbot Arena battles."""
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
