"""inspect_ai evaluation logs, ``.eval`` (zip) and ``.json``, read with the standard library.

A ``.eval`` log is a zip archive with ``header.json`` (the ``eval`` spec: task, model …)
and one ``samples/<id>_epoch_<n>.json`` per sample and epoch; a ``.json`` log holds the
same under ``eval`` and ``samples``. Each score of each sample becomes a pointwise row:
``item`` = sample id, ``model`` = ``eval.model``, ``judge`` = the scorer (``scorer/key``
for dictionary values), ``rep`` = epoch, ``task`` = ``eval.task``. Inspect's letter grades
map to numbers as Inspect does (C = 1, I = 0, P = 0.5, N = 0); other text values go to
``label``. Answers and explanations are kept in ``extra``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from metaeval.errors import ImportFormatError
from metaeval.io._common import PathLike, check_file, decode_utf8, load_json, to_judgments
from metaeval.tables import Judgments

__all__ = ["read_inspect"]

_LETTERS = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0}
_TRUE = {"yes", "true", "correct"}
_FALSE = {"no", "false", "incorrect"}


def _score_value(value: Any) -> tuple[float | None, str | None]:
    if isinstance(value, bool):
        return float(value), None
    if isinstance(value, (int, float)):
        return float(value), None
    if isinstance(value, str):
        if value in _LETTERS:
            return _LETTERS[value], None
        low = value.strip().lower()
        if low in _TRUE:
            return 1.0, None
        if low in _FALSE:
            return 0.0, None
        try:
            return float(value), None
        except ValueError:
            return None, value
    return None, json.dumps(value)


def _rows_for_sample(sample: dict[str, Any], spec: dict[str, Any], path: Path, where: str) -> list[dict[str, Any]]:
    if "id" not in sample:
        raise ImportFormatError(f"a sample has no `id` ({where})", path=str(path), field="id")
    scores = sample.get("scores") or {}
    if not isinstance(scores, dict):
        raise ImportFormatError(f"`scores` must be an object ({where})", path=str(path), field="scores")
    rows = []
    for scorer, score in scores.items():
        value = score.get("value") if isinstance(score, dict) else score
        parts = value.items() if isinstance(value, dict) else [(None, value)]
        for key, v in parts:
            num, label = _score_value(v)
            rows.append({
                "item": str(sample["id"]),
                "judge": scorer if key is None else f"{scorer}/{key}",
                "model": spec.get("model"),
                "score": num,
                "label": label,
                "rep": int(sample.get("epoch", 1)),
                "task": spec.get("task"),
                "answer": score.get("answer") if isinstance(score, dict) else None,
                "explanation": score.get("explanation") if isinstance(score, dict) else None,
                "target": json.dumps(sample.get("target")) if sample.get("target") is not None else None,
            })
    return rows


def read_inspect(path: PathLike) -> Judgments:
    """Read an inspect_ai log (``.eval`` zip or ``.json``)."""
    p = check_file(path)
    rows: list[dict[str, Any]] = []
    if p.suffix.lower() == ".eval":
        if not zipfile.is_zipfile(p):
            raise ImportFormatError("not an inspect .eval log: the file is not a zip archive", path=str(p))
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
            header_name = "header.json" if "header.json" in names else "_journal/start.json"
            if header_name not in names:
                raise ImportFormatError("not an inspect .eval log: no header.json inside", path=str(p))
            header = _zip_json(zf, header_name, p)
            spec = header.get("eval") or {}
            sample_names = sorted(n for n in names if n.startswith("samples/") and n.endswith(".json"))
            if not sample_names:
                raise ImportFormatError("the log holds no samples (was it written with samples?)", path=str(p))
            for name in sample_names:
                rows.extend(_rows_for_sample(_zip_json(zf, name, p), spec, p, name))
    else:
        log = load_json(p)
        if not isinstance(log, dict) or "eval" not in log:
            raise ImportFormatError("not an inspect log: no `eval` object", path=str(p), field="eval")
        spec = log["eval"]
        samples = log.get("samples") or []
        if not samples:
            raise ImportFormatError("the log holds no samples", path=str(p), field="samples")
        for i, sample in enumerate(samples):
            rows.extend(_rows_for_sample(sample, spec, p, f"sample {i}"))
    if not rows:
        raise ImportFormatError("no scores were found in the samples", path=str(p))
    prov = {"format": "inspect", "files": str(p), "task": spec.get("task"), "model": spec.get("model")}
    if all(r["label"] is None for r in rows):
        for r in rows:
            del r["label"]
    return to_judgments(rows, kind="pointwise", path=p, provenance=prov)


def _zip_json(zf: zipfile.ZipFile, name: str, path: Path) -> Any:
    raw = zf.read(name)
    try:
        return json.loads(decode_utf8(raw, f"{path}!{name}"))
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"invalid JSON in {name}: {exc.msg}", path=str(path), line=exc.lineno) from None
