"""lm-evaluation-harness output: ``--log_samples`` JSON Lines and the results JSON.

Sample files (``samples_<task>_<timestamp>.jsonl``) have one line per document with the
per-item metric values as top-level keys (``"acc": 1.0``); ``metrics`` lists them. Each
metric value becomes one pointwise row: ``item`` = ``doc_id``, ``judge`` = the metric,
``variant`` = the filter (``none``, ``strict-match`` …), ``task`` = the task (from the file
name unless given), ``model`` = the model (given, or read from a ``results_*.json`` beside
the file). The document, target and responses are kept in ``extra`` as JSON text.

The results JSON (``results_<timestamp>.json``) holds aggregated metrics with
``"acc,none"`` keys: it is a leaderboard row and is read by
:func:`metaeval.io.read_leaderboard`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from metaeval.errors import ImportFormatError
from metaeval.io._common import PathLike, iter_jsonl, jsonable_text, load_json, to_judgments
from metaeval.tables import Judgments, ScoreMatrix

__all__ = ["model_from_results", "read_lm_eval_results", "read_lm_eval_samples"]

_SAMPLE_NAME = re.compile(r"^samples_(?P<task>.+?)_(?P<stamp>\d{4}-\d{2}-\d{2}T[\d\-.:]+)\.jsonl$")
_META_KEYS = {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics", "doc_hash",
              "prompt_hash", "target_hash"}


def model_from_results(results: dict[str, Any]) -> str | None:
    """The model name recorded in a results JSON (``model_name`` or ``pretrained=`` in ``model_args``)."""
    name = results.get("model_name")
    if name:
        return str(name)
    args = (results.get("config") or {}).get("model_args")
    if isinstance(args, str):
        m = re.search(r"(?:pretrained|model|engine)=([^,]+)", args)
        if m:
            return m.group(1)
    if isinstance(args, dict):
        for key in ("pretrained", "model", "engine"):
            if args.get(key):
                return str(args[key])
    return None


def read_lm_eval_samples(path: PathLike, *, model: str | None = None, task: str | None = None) -> Judgments:
    """Read a ``--log_samples`` file into pointwise per-item metric values."""
    p = Path(path)
    m = _SAMPLE_NAME.match(p.name)
    task = task or (m.group("task") if m else None)
    if task is None:
        raise ImportFormatError("cannot tell the task from the file name (samples_<task>_<time>.jsonl); pass `task=`",
                                path=str(p))
    if model is None:
        for res in sorted(p.parent.glob("results_*.json")):
            model = model_from_results(load_json(res))
            if model:
                break
    if model is None:
        raise ImportFormatError("no model name: pass `model=` or keep the results_*.json beside the samples",
                                path=str(p))
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    n = 0
    for line, obj in iter_jsonl(p):
        n += 1
        if "doc_id" not in obj:
            raise ImportFormatError("required field is missing", path=str(p), line=line, field="doc_id")
        metrics = obj.get("metrics")
        if metrics is None:
            metrics = [k for k, v in obj.items() if k not in _META_KEYS and isinstance(v, (int, float, bool))]
        if not metrics:
            raise ImportFormatError("the line has no metric values", path=str(p), line=line, field="metrics")
        kept = ("target", "filtered_resps", "doc_hash", "doc", "resps", "arguments", "prompt_hash", "target_hash")
        extra: dict[str, str | None] = {k: jsonable_text(obj.get(k)) for k in kept if k in obj}
        extra.update({k: jsonable_text(v) for k, v in obj.items()
                      if k not in _META_KEYS and k not in metrics})
        for metric in metrics:
            if metric not in obj:
                raise ImportFormatError(f"`metrics` lists {metric!r} but the line has no such key", path=str(p),
                                        line=line, field=metric)
            value = obj[metric]
            if isinstance(value, bool):
                value = float(value)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ImportFormatError(f"the metric value must be a finite number; got {value!r}", path=str(p),
                                        line=line, field=metric)
            rows.append({"item": str(obj["doc_id"]), "judge": metric, "model": model, "score": float(value),
                         "task": task, "variant": obj.get("filter"), **extra})
            lines.append(line)
    prov = {"format": "lm_eval_samples", "files": str(p), "rows_read": n}
    return to_judgments(rows, kind="pointwise", path=p, provenance=prov, lines=lines)


def read_lm_eval_results(paths: list[PathLike], *, metric: str | None = None) -> ScoreMatrix:
    """Read one or more results JSON files into a models × tasks :class:`ScoreMatrix`.

    ``metric`` (e.g. ``"acc,none"``) picks the value per task; by default the first metric
    of each task that is not a standard error or alias.
    """
    table: dict[str, dict[str, float]] = {}
    for path in paths:
        res = load_json(path)
        if not isinstance(res, dict) or not isinstance(res.get("results"), dict):
            raise ImportFormatError("not an lm-eval results file: no `results` object", path=str(path),
                                    field="results")
        model = model_from_results(res) or Path(path).parent.name
        if model in table:
            raise ImportFormatError(f"model {model!r} appears in two results files", path=str(path))
        row: dict[str, float] = {}
        for task, metrics in res["results"].items():
            if not isinstance(metrics, dict):
                raise ImportFormatError(f"results of task {task!r} must be an object", path=str(path), field=task)
            keys = [k for k in metrics if "_stderr" not in k and k != "alias"
                    and isinstance(metrics[k], (int, float)) and not isinstance(metrics[k], bool)]
            key = metric if metric is not None else (keys[0] if keys else None)
            if key is None or key not in metrics:
                continue
            value = metrics[key]
            row[task if metric is not None else f"{task}:{key}"] = (
                float(value) if isinstance(value, (int, float)) else float("nan"))
        table[model] = row
    models = tuple(table)
    tasks = tuple(sorted({t for r in table.values() for t in r}))
    if not tasks:
        if metric is not None:
            raise ImportFormatError(f"no task reports the metric {metric!r}", path=str(paths[0]))
        first = next(((t, k, v) for r in (load_json(q) for q in paths[:1]) for t, ms in r["results"].items()
                      for k, v in ms.items() if "_stderr" not in k and k != "alias"), None)
        got = f"; got {first[2]!r} for task {first[0]!r}" if first else ""
        raise ImportFormatError(f"no task reports a numeric metric{got}", path=str(paths[0]),
                                field=first[1] if first else "results")
    scores = np.array([[table[m].get(t, np.nan) for t in tasks] for m in models])
    return ScoreMatrix(models, tasks, scores)
