"""MT-Bench (FastChat ``llm_judge``) judgment files, JSON Lines.

Pairwise files (``gpt-4_pair.jsonl``) hold one line per (question, model pair, turn) with
two games: ``g1`` shows ``model_1`` first and ``g2`` shows ``model_2`` first, and both
winners are already written in model terms (``model_1`` / ``model_2`` / ``tie``). Each game
becomes one row with ``shown_first`` set (``a`` for g1, ``b`` for g2). Lines with a single
``winner`` (human judgments, or pairs derived from single scores) become one row.
Verdicts FastChat could not parse (``error``) are left out and counted.

Single-answer files (``gpt-4_single.jsonl``) become pointwise rows; FastChat writes a
score of -1 when it could not parse the grade: those are left out and counted.

``judge`` ``["gpt-4", "pair-v2"]`` becomes ``judge="gpt-4"`` and ``variant="pair-v2"``
(the prompt template, which also tells turn 1 from turn 2).
"""

from __future__ import annotations

import math
from typing import Any

from metaeval.errors import ImportFormatError
from metaeval.io._common import PathLike, iter_jsonl, require, to_judgments
from metaeval.tables import Judgments

__all__ = ["read_mt_bench"]

_WINNER = {"model_1": "a", "model_2": "b", "tie": "tie", "model_a": "a", "model_b": "b",
           "tie (bothbad)": "tie"}
_TEXT = {"g1_user_prompt", "g2_user_prompt", "g1_judgment", "g2_judgment", "user_prompt", "judgment"}


def _judge(obj: dict[str, Any], path: PathLike, line: int) -> tuple[str, str | None]:
    judge = require(obj, "judge", path, line)
    if isinstance(judge, (list, tuple)) and judge:
        return str(judge[0]), (str(judge[1]) if len(judge) > 1 else None)
    if isinstance(judge, str):
        return judge, None
    raise ImportFormatError(f"`judge` must be a name or [name, template]; got {judge!r}", path=str(path), line=line,
                            field="judge")


def read_mt_bench(path: PathLike) -> Judgments:
    """Read an MT-Bench judgment JSONL file (pairwise or single-answer grading)."""
    pair_rows: list[dict[str, Any]] = []
    single_rows: list[dict[str, Any]] = []
    pair_lines: list[int] = []
    single_lines: list[int] = []
    prov: dict[str, Any] = {"format": "mt_bench", "files": str(path)}
    n_lines = 0
    errors: list[int] = []
    bad_scores: list[int] = []
    for line, obj in iter_jsonl(path):
        n_lines += 1
        qid = require(obj, "question_id", path, line)
        judge, template = _judge(obj, path, line)
        extra_base = {k: v for k, v in obj.items()
                      if k not in {"question_id", "judge", "model", "score", "model_1", "model_2", "model_a",
                                   "model_b", "g1_winner", "g2_winner", "winner"} | _TEXT}
        extra_base = {k: (v if isinstance(v, (str, int, float, bool)) or v is None else str(v))
                      for k, v in extra_base.items()}
        if "model" in obj and "score" in obj:
            score = obj["score"]
            if not isinstance(score, (int, float)) or isinstance(score, bool) or not math.isfinite(score):
                raise ImportFormatError(f"`score` must be a finite number; got {score!r}", path=str(path), line=line,
                                        field="score")
            if score == -1:  # FastChat's mark for a score it could not parse: an abstention
                bad_scores.append(line)
                single_rows.append({"item": str(qid), "judge": judge, "variant": template, "model": obj["model"],
                                    "score": None, "missing_reason": "FastChat could not parse a score (-1)",
                                    "judgment": obj.get("judgment"), **extra_base})
                single_lines.append(line)
                continue
            single_rows.append({"item": str(qid), "judge": judge, "variant": template, "model": obj["model"],
                                "score": float(score), "judgment": obj.get("judgment"), **extra_base})
            single_lines.append(line)
            continue
        a = obj.get("model_1", obj.get("model_a"))
        b = obj.get("model_2", obj.get("model_b"))
        if a is None or b is None:
            raise ImportFormatError("a pairwise line needs `model_1` and `model_2` (or `model_a`, `model_b`); "
                                    f"a single-answer line needs `model` and `score`; got keys {sorted(obj)}",
                                    path=str(path), line=line)
        games: list[tuple[str, str | None]]
        if "g1_winner" in obj or "g2_winner" in obj:
            games = [("g1", "a"), ("g2", "b")]
        elif "winner" in obj:
            games = [("", None)]
        else:
            raise ImportFormatError("a pairwise line needs `g1_winner` and `g2_winner`, or `winner`",
                                    path=str(path), line=line)
        for game, first in games:
            key = f"{game}_winner" if game else "winner"
            winner = require(obj, key, path, line)
            if winner not in _WINNER:
                if str(winner).lower() in {"error", "inconsistent"}:
                    errors.append(line)
                    pair_rows.append({"item": str(qid), "judge": judge, "variant": template, "model_a": a,
                                      "model_b": b, "outcome": None, "shown_first": first,
                                      "missing_reason": f"FastChat could not parse a verdict ({winner!r})",
                                      **extra_base})
                    pair_lines.append(line)
                    continue
                raise ImportFormatError(
                    f"must be one of {', '.join(sorted(_WINNER))} or 'error'; got {winner!r}",
                    path=str(path), line=line, field=key,
                )
            row = {"item": str(qid), "judge": judge, "variant": template, "model_a": a, "model_b": b,
                   "outcome": _WINNER[winner], "shown_first": first, **extra_base}
            if winner == "tie (bothbad)":
                row["bothbad"] = True
            if game:
                row["judgment"] = obj.get(f"{game}_judgment")
            pair_rows.append(row)
            pair_lines.append(line)
    prov["rows_read"] = n_lines
    if pair_rows and single_rows:
        raise ImportFormatError("the file mixes pairwise and single-answer judgments; split it into two files",
                                path=str(path))
    if errors or bad_scores:  # kept as abstentions, with their reason
        prov["abstentions"] = len(errors) + len(bad_scores)
    if pair_rows:
        return to_judgments(pair_rows, kind="pairwise", path=path, provenance=prov, lines=pair_lines)
    return to_judgments(single_rows, kind="pointwise", path=path, provenance=prov, lines=single_lines)
